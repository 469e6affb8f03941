// The callback spool on PostgreSQL: tables beside the store's (migration step "callback
// tables"), on a small pool of its own so deliveries never take the connections commands need.
// Several nodes may share one database: the cursor is moved with a compare-and-set in the same
// transaction as the rows it spools, so two feeders never spool a page twice. Leases (one feeder,
// one sender per app) are session advisory locks on one connection per process: PostgreSQL drops
// them with the connection, so when a node dies another takes over (see relay.ts). The commit that
// spools rows notifies the apps on a channel every node listens to, so their sender wakes at once.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { connectionSettings } from '../adapters/postgres/store.js';
import { quoteIdent } from '../adapters/postgres/migrations.js';
import type { AppId } from '../core/model.js';
import type { StoredCallbackConfig } from './commands.js';
export { CALLBACK_TABLES_PG } from './tables-postgres.js';
import { BULK_PAGE, MAX_ERROR_LENGTH, type CallbackSpool, type Delivery, type NewDelivery, type SpoolCounts, type SpoolLeases, type StoredConfigState } from './spool.js';


interface Row {
  id: string;
  event_id: string;
  app_id: string;
  room_id: string;
  seq: string;
  command: string;
  body: string;
  created_at: string;
  state: 'pending' | 'failed';
  attempts: number;
  last_error: string;
  failed_at: string;
}

function toDelivery(r: Row): Delivery {
  return {
    id: Number(r.id),
    eventId: r.event_id,
    appId: Number(r.app_id),
    roomId: r.room_id,
    seq: Number(r.seq),
    command: r.command,
    body: r.body,
    createdAt: Number(r.created_at),
    state: r.state,
    attempts: r.attempts,
    lastError: r.last_error,
    failedAt: Number(r.failed_at),
  };
}

const COLS = 'id, event_id, app_id, room_id, seq, command, body, created_at, state, attempts, last_error, failed_at';

/** The failed rows a re-send or discard names: $1 the app (null = any), $2 the ids (null = all). */
const CHOSEN = "state = 'failed' AND ($1::bigint IS NULL OR app_id = $1) AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))";

/** Session advisory locks on one dedicated connection (see SpoolLeases). */
class PostgresLeases implements SpoolLeases {
  private conn: pg.Client | null = null;
  /** Gives the current connection up (its leases with it). */
  private drop: (() => void) | null = null;
  private connecting: Promise<pg.Client | null> | null = null;
  private feeding = false;
  private readonly apps = new Set<AppId>();
  private closed = false;
  onLost: () => void = () => {};
  onSpooled: (apps: AppId[]) => void = () => {};

  constructor(
    private readonly clientConfig: pg.ClientConfig,
    /** Lock names start with it (one namespace per schema). */
    private readonly ns: string,
    readonly channel: string,
    private readonly appName: string,
  ) {}

  private client(): Promise<pg.Client | null> {
    if (this.conn) return Promise.resolve(this.conn);
    if (this.closed) return Promise.resolve(null);
    this.connecting ??= this.connect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async connect(): Promise<pg.Client | null> {
    // A partition without a reset must not keep leases for long: the server probes this session
    // (gone after ~25 s without an answer, its locks freed), and this side gives a lease query
    // 10 s before it drops the connection itself (and with it every lease).
    const keepalives = '-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3';
    const c = new pg.Client({
      ...this.clientConfig,
      application_name: this.appName,
      options: [this.clientConfig.options, keepalives].filter(Boolean).join(' '),
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      statement_timeout: 5_000,
      query_timeout: 10_000,
    });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.query(`LISTEN ${quoteIdent(this.channel)}`);
    } catch {
      await c.end().catch(() => {});
      return null;
    }
    if (this.closed) {
      await c.end().catch(() => {});
      return null;
    }
    c.on('notification', (n) => {
      if (n.channel !== this.channel || !n.payload) return;
      this.onSpooled(n.payload.split(',').map(Number));
    });
    // The locks go with the connection: every lease is lost at once, and said so.
    let gone = false;
    const lost = () => {
      if (gone) return;
      gone = true;
      c.end().catch(() => {});
      if (this.conn !== c) return; // closing, or an older connection
      this.conn = null;
      this.drop = null;
      this.feeding = false;
      this.apps.clear();
      if (!this.closed) this.onLost();
    };
    c.on('error', lost);
    c.on('end', lost);
    this.conn = c;
    this.drop = lost;
    return c;
  }

  /** A failed lease query (timed out, connection broken) ends the connection: its leases are in doubt. */
  private broken(c: pg.Client): void {
    if (this.conn === c) this.drop?.();
  }

  private async tryLock(name: string): Promise<boolean> {
    const c = await this.client();
    if (!c) return false;
    try {
      const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [name]);
      return r.rows[0].ok && this.conn === c;
    } catch {
      this.broken(c);
      return false;
    }
  }

  async lead(): Promise<boolean> {
    if (this.feeding && this.conn) return true;
    this.feeding = await this.tryLock(this.ns);
    return this.feeding;
  }

  async leaseApp(appId: AppId): Promise<boolean> {
    if (this.apps.has(appId) && this.conn) return true;
    if (!(await this.tryLock(`${this.ns}:app:${appId}`))) return false;
    this.apps.add(appId);
    return true;
  }

  async releaseApp(appId: AppId): Promise<void> {
    if (!this.apps.delete(appId)) return;
    await this.conn?.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [`${this.ns}:app:${appId}`]).catch(() => {});
  }

  async nodes(): Promise<number> {
    const c = await this.client();
    if (!c) return 1;
    try {
      const r = await c.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [this.appName]);
      return Math.max(1, Number(r.rows[0].n));
    } catch {
      this.broken(c);
      return 1;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connecting;
    const c = this.conn;
    this.conn = null;
    await c?.end().catch(() => {});
  }
}

export class PostgresSpool implements CallbackSpool {
  private constructor(
    readonly pool: pg.Pool,
    readonly leases: PostgresLeases,
  ) {}

  /** Opens a pool on the store's URL (its schema); the store has already run the migrations. */
  static open(url: string, poolSize = 3): PostgresSpool {
    const { connectionString, schema, options } = connectionSettings(url);
    const clientConfig: pg.ClientConfig = {
      connectionString,
      connectionTimeoutMillis: 5_000,
      statement_timeout: 15_000,
      idle_in_transaction_session_timeout: 60_000,
      application_name: 'rostrum-callbacks',
      options,
    };
    const pool = new pg.Pool({ ...clientConfig, max: poolSize, idleTimeoutMillis: 30_000 });
    pool.on('error', () => {});
    pool.on('connect', (c) => c.on('error', () => {}));
    // One namespace of locks, channel and lease connections per schema (clusters may share a database).
    const tag = createHash('sha256').update(schema ?? '').digest('hex').slice(0, 12);
    const leases = new PostgresLeases(clientConfig, `rostrum.callbacks:${schema ?? ''}`, `rostrum_callbacks_${tag}`, `rostrum-leases-${tag}`);
    return new PostgresSpool(pool, leases);
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      c.release();
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      c.release(true);
      throw e;
    }
  }

  async cursor(): Promise<string> {
    const r = await this.pool.query<{ value: string }>("SELECT value FROM callback_state WHERE key = 'cursor'");
    return r.rows[0]?.value ?? '';
  }

  async enqueue(from: string, deliveries: NewDelivery[], cursor: string): Promise<boolean> {
    return this.tx(async (c) => {
      await c.query("INSERT INTO callback_state (key, value) VALUES ('cursor', '') ON CONFLICT (key) DO NOTHING");
      const now = (await c.query<{ value: string }>("SELECT value FROM callback_state WHERE key = 'cursor' FOR UPDATE")).rows[0].value;
      if (now !== from) return false;
      if (deliveries.length > 0) {
        const rows = deliveries.map((d) => ({
          event_id: d.eventId,
          app_id: d.appId,
          room_id: d.roomId,
          seq: d.seq,
          command: d.command,
          body: d.body,
          created_at: d.createdAt,
        }));
        await c.query(
          `INSERT INTO callback_deliveries (event_id, app_id, room_id, seq, command, body, created_at)
           SELECT event_id, app_id, room_id, seq, command, body, created_at FROM jsonb_to_recordset($1::jsonb)
             AS x(event_id text, app_id bigint, room_id text, seq bigint, command text, body text, created_at bigint)
           ON CONFLICT (event_id) DO NOTHING`,
          [JSON.stringify(rows)],
        );
      }
      await c.query("UPDATE callback_state SET value = $1 WHERE key = 'cursor'", [cursor]);
      // Delivered at commit to every node listening: the node sending an app wakes its sender.
      const apps = [...new Set(deliveries.map((d) => d.appId))];
      if (apps.length > 0) await c.query('SELECT pg_notify($1, $2)', [this.leases.channel, apps.join(',')]);
      return true;
    });
  }

  async pending(appId: AppId, afterId: number, limit: number): Promise<Delivery[]> {
    const r = await this.pool.query<Row>(
      `SELECT ${COLS} FROM callback_deliveries WHERE app_id = $1 AND state = 'pending' AND id > $2 ORDER BY id LIMIT $3`,
      [appId, afterId, limit],
    );
    return r.rows.map(toDelivery);
  }

  async appsWithPending(): Promise<AppId[]> {
    // A skip scan over the (app_id, state, id) index: one probe per app, however long the backlog
    // (every node asks every few seconds to share the apps out).
    const r = await this.pool.query<{ app_id: string }>(
      `WITH RECURSIVE a AS (
         (SELECT app_id FROM callback_deliveries WHERE state = 'pending' ORDER BY app_id LIMIT 1)
         UNION ALL
         SELECT (SELECT d.app_id FROM callback_deliveries d WHERE d.state = 'pending' AND d.app_id > a.app_id ORDER BY d.app_id LIMIT 1)
           FROM a WHERE a.app_id IS NOT NULL)
       SELECT app_id FROM a WHERE app_id IS NOT NULL`,
    );
    return r.rows.map((x) => Number(x.app_id));
  }

  async delivered(ids: number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.pool.query('DELETE FROM callback_deliveries WHERE id = ANY($1::bigint[])', [ids]);
  }

  async fail(id: number, attempts: number, lastError: string, at: number): Promise<void> {
    await this.pool.query("UPDATE callback_deliveries SET state = 'failed', attempts = $1, last_error = $2, failed_at = $3 WHERE id = $4 AND state = 'pending'", [
      attempts,
      lastError.slice(0, MAX_ERROR_LENGTH),
      at,
      id,
    ]);
  }

  async failed(appId: AppId | null, limit: number, afterId = 0): Promise<Delivery[]> {
    const r = await this.pool.query<Row>(
      `SELECT ${COLS} FROM callback_deliveries WHERE state = 'failed' AND ($1::bigint IS NULL OR app_id = $1) AND id > $3 ORDER BY id LIMIT $2`,
      [appId, limit, afterId],
    );
    return r.rows.map(toDelivery);
  }

  async retry(ids: number[] | 'all', appId: AppId | null, now: number): Promise<number> {
    return this.tx(async (c) => {
      const r = await c.query(
        `WITH gone AS (
           DELETE FROM callback_deliveries WHERE ${CHOSEN}
           RETURNING id, event_id, app_id, room_id, seq, command, body)
         INSERT INTO callback_deliveries (event_id, app_id, room_id, seq, command, body, created_at)
         SELECT event_id, app_id, room_id, seq, command, body, $3 FROM gone ORDER BY id`,
        [appId, ids === 'all' ? null : ids, now],
      );
      return r.rowCount ?? 0;
    });
  }

  async discard(ids: number[] | 'all', appId: AppId | null): Promise<number> {
    if (ids !== 'all') return (await this.pool.query(`DELETE FROM callback_deliveries WHERE ${CHOSEN}`, [appId, ids])).rowCount ?? 0;
    let n = 0;
    for (let after = 0; ; ) {
      const r = await this.pool.query<{ n: string; last: string | null }>(
        `WITH gone AS (
           DELETE FROM callback_deliveries WHERE id IN (SELECT id FROM callback_deliveries WHERE ${CHOSEN} AND id > $3 ORDER BY id LIMIT $4)
           RETURNING id)
         SELECT count(*) AS n, max(id) AS last FROM gone`,
        [appId, null, after, BULK_PAGE],
      );
      n += Number(r.rows[0].n);
      if (Number(r.rows[0].n) < BULK_PAGE) return n;
      after = Number(r.rows[0].last);
    }
  }

  async pruneFailed(beforeMs: number, limit: number): Promise<number> {
    if (limit <= 0) return 0;
    // Idempotent: any node may run it, two at once only delete each row once. The ids as an
    // array: the rows are then found by the key, never by a scan of a long pending backlog.
    const r = await this.pool.query(
      "DELETE FROM callback_deliveries WHERE id = ANY(ARRAY(SELECT id FROM callback_deliveries WHERE state = 'failed' AND failed_at < $1 ORDER BY failed_at LIMIT $2))",
      [beforeMs, limit],
    );
    return r.rowCount ?? 0;
  }

  async counts(): Promise<SpoolCounts[]> {
    const r = await this.pool.query<{ app_id: string; state: 'pending' | 'failed'; n: string }>(
      'SELECT app_id, state, count(*) AS n FROM callback_deliveries GROUP BY app_id, state',
    );
    const by = new Map<AppId, SpoolCounts>();
    for (const x of r.rows) {
      const appId = Number(x.app_id);
      let c = by.get(appId);
      if (!c) by.set(appId, (c = { appId, pending: 0, failed: 0 }));
      c[x.state] = Number(x.n);
    }
    return [...by.values()];
  }

  async getConfig(appId: AppId): Promise<StoredCallbackConfig | null> {
    const r = await this.pool.query<{ value: string }>('SELECT value FROM callback_state WHERE key = $1', [`config:${appId}`]);
    return r.rows[0] ? (JSON.parse(r.rows[0].value) as StoredCallbackConfig) : null;
  }

  async setConfig(appId: AppId, config: StoredCallbackConfig | null): Promise<void> {
    if (config) {
      await this.pool.query('INSERT INTO callback_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [
        `config:${appId}`,
        JSON.stringify(config),
      ]);
    } else {
      await this.pool.query('DELETE FROM callback_state WHERE key = $1', [`config:${appId}`]);
    }
  }

  async setConfigIf(appId: AppId, config: StoredCallbackConfig, when: readonly StoredConfigState[]): Promise<boolean> {
    const kinds = when.filter((w) => w !== 'none');
    const args = [`config:${appId}`, JSON.stringify(config), kinds];
    // One statement: a row another transaction is writing is waited for, and the condition is
    // checked on what it committed (an insert racing this one counts as there).
    const r = when.includes('none')
      ? await this.pool.query(
          `INSERT INTO callback_state (key, value) VALUES ($1, $2)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE (callback_state.value::jsonb ->> 'kind') = ANY($3::text[])
           RETURNING 1`,
          args,
        )
      : await this.pool.query(`UPDATE callback_state SET value = $2 WHERE key = $1 AND (value::jsonb ->> 'kind') = ANY($3::text[]) RETURNING 1`, args);
    return r.rowCount === 1;
  }

  async allConfigs(): Promise<Map<AppId, StoredCallbackConfig>> {
    const r = await this.pool.query<{ key: string; value: string }>("SELECT key, value FROM callback_state WHERE key LIKE 'config:%'");
    return new Map(r.rows.map((x) => [Number(x.key.slice(7)), JSON.parse(x.value) as StoredCallbackConfig]));
  }

  async close(): Promise<void> {
    await this.leases.close();
    await this.pool.end().catch(() => {});
  }
}
