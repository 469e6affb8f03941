// PostgresStore: the Store port on PostgreSQL, for running several Rostrum processes on shared
// state. The room row is the lock (SELECT … FOR UPDATE); a command is one READ COMMITTED
// transaction; events go to the outbox in that same transaction.
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { RoomEvent } from '../../core/events.js';
import type { AppId } from '../../core/model.js';
import { RoomError } from '../../core/errors.js';
import type { ConnectedMember, OutboxPage, Store, StoreReader, StoreWriter } from '../../core/ports/store.js';
import { Unit } from './unit.js';
import { migrate, quoteIdent } from './migrations.js';
import { outboxHead, pruneOutbox, readOutbox, roomEvents } from './outbox.js';
import { pruneMessages } from './history.js';
import { TYPES, likePrefix } from './rows.js';
import { SQL } from './sql.js';
import { AUDIT_PRUNE } from './audit.js';
import { PgReader, PgWriter, execOn, type Exec } from './writer.js';

export interface PostgresStoreOptions {
  poolSize?: number;
  /** Server-side limit per statement (ms); a stuck lock wait ends in an error, not a hang. */
  statementTimeoutMs?: number;
  /**
   * How long to wait for a connection (ms), from the server or from a busy pool. A burst on one
   * room queues here while each unit waits its turn on the room's row: the default (30 s, the
   * statement timeout's order) lets a burst drain instead of answering internal errors.
   */
  connectionTimeoutMs?: number;
  /** How long readOutbox waits for events held behind an older running transaction (ms). */
  outboxWaitMs?: number;
  /** Shown in pg_stat_activity (e.g. the node's name); default 'rostrum'. */
  applicationName?: string;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const RETRYABLE = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected
const MAX_ATTEMPTS = 5;

export interface ParsedUrl {
  connectionString: string;
  schema: string | null;
  /** Extra server options from the URL's own `options` parameter, kept beside ours. */
  options: string | null;
}

/** Takes Rostrum's `schema=` (and any `options=`) out of the URL before pg sees it. */
export function parseUrl(url: string): ParsedUrl {
  const u = new URL(url);
  const schema = u.searchParams.get('schema');
  const options = u.searchParams.get('options');
  u.searchParams.delete('schema');
  u.searchParams.delete('options');
  if (schema !== null && !SCHEMA_NAME.test(schema)) {
    throw new Error(`invalid schema name ${JSON.stringify(schema)}: letters, digits and _ only, at most 63`);
  }
  return { connectionString: u.toString(), schema, options };
}

/**
 * What every pool on a store URL connects with: the URL without Rostrum's own parameters, and
 * the server options (the URL's own, plus the schema as the search path).
 */
export function connectionSettings(url: string): { connectionString: string; schema: string | null; options: string | undefined } {
  const { connectionString, schema, options } = parseUrl(url);
  const serverOptions = [options, schema !== null ? `-c search_path=${quoteIdent(schema)}` : null].filter(Boolean).join(' ');
  return { connectionString, schema, options: serverOptions || undefined };
}

/** A 32-bit key derived from a string (advisory lock keys). */
function key32(s: string): number {
  return createHash('sha256').update(s).digest().readInt32BE(0);
}

/**
 * The connection lost, timed out or never made: it must not be reused (nor asked to roll back).
 * Not a rule's refusal (a RoomError) or an SQL error: those roll back and the connection goes
 * back to the pool. A client-side failure is a socket error (ECONNRESET, …) or pg's own (the
 * connection terminated, the query timed out), which carry no SQLSTATE.
 */
function isConnectionError(e: unknown): boolean {
  if (e instanceof RoomError) return false;
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string') return code.startsWith('08') || code.startsWith('57P') || code.startsWith('E');
  return e instanceof Error && /terminated|timeout|not queryable|connection/i.test(e.message);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class PostgresStore implements Store {
  private readonly exec: Exec;

  private constructor(
    private readonly pool: pg.Pool,
    readonly schema: string | null,
    /**
     * The advisory lock class of app locks. Derived from the schema, so stores in different
     * schemas of one database (tests, several deployments) do not share app locks; the
     * migration lock uses the one-bigint form, which never collides with the two-int form.
     */
    private readonly appLockClass: number,
    private readonly outboxWaitMs: number,
  ) {
    this.exec = execOn(pool);
  }

  static async open(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const { connectionString, schema, options } = connectionSettings(url);
    const statementTimeout = opts.statementTimeoutMs ?? 15_000;
    const max = opts.poolSize ?? 10;
    const pool = new pg.Pool({
      connectionString,
      max,
      connectionTimeoutMillis: opts.connectionTimeoutMs ?? 30_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: statementTimeout,
      // A client-side bound too: a connection that silently stopped answering (network gone)
      // gets no server-side timeout.
      query_timeout: statementTimeout + 5_000,
      // A unit left open holds room locks and the outbox horizon; the server ends it.
      idle_in_transaction_session_timeout: 60_000,
      application_name: opts.applicationName ?? 'rostrum',
      options,
      types: TYPES,
    });
    // A connection dropping (server restart, network) must not crash the process: the query in
    // flight (if any) fails and the next write gets a fresh connection.
    pool.on('error', () => {});
    pool.on('connect', (c) => c.on('error', () => {}));
    try {
      const client = await pool.connect();
      try {
        await migrate(client, schema);
        client.release();
      } catch (e) {
        client.release(true);
        throw e;
      }
    } catch (e) {
      await pool.end().catch(() => {});
      throw e;
    }
    return new PostgresStore(pool, schema, key32(`rostrum.app:${schema ?? ''}`), opts.outboxWaitMs ?? 1_000);
  }

  async write<T>(appId: AppId, fn: (w: StoreWriter) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(appId, fn);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (attempt >= MAX_ATTEMPTS || !code || !RETRYABLE.has(code)) throw e;
        // Jittered backoff so the units that collided do not collide again in step.
        await sleep(Math.random() * 5 * 2 ** attempt);
      }
    }
  }

  private async attempt<T>(appId: AppId, fn: (w: StoreWriter) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      // READ COMMITTED, whatever the server default; BEGIN goes with the unit's first statement.
      const unit = new Unit(client);
      const w = new PgWriter(unit.exec, appId, this.appLockClass, unit);
      let result: T;
      try {
        result = await fn(w);
        await unit.commit(await w.beforeCommit());
      } catch (e) {
        if (isConnectionError(e)) broken = true;
        else await unit.rollback().catch(() => (broken = true));
        throw e;
      }
      return result;
    } catch (e) {
      if (isConnectionError(e)) broken = true;
      throw e;
    } finally {
      client.release(broken);
    }
  }

  async read<T>(appId: AppId, fn: (r: StoreReader) => Promise<T>): Promise<T> {
    return fn(new PgReader(this.exec, appId));
  }

  async connectedMembers(prefix: string): Promise<ConnectedMember[]> {
    // Unnamed on purpose: the planner sees the pattern's value and can turn the prefix into an
    // index range (a generic plan for a parameter pattern could not).
    const r = await this.exec<{ app_id: number; room_id: string; user_id: string; conn_id: string }>(
      "SELECT app_id, room_id, user_id, conn_id FROM members WHERE conn_id <> '' AND conn_id LIKE $1 ORDER BY app_id, room_id, user_id",
      [likePrefix(prefix)],
    );
    return r.rows.map((row) => ({ appId: row.app_id, roomId: row.room_id, userId: row.user_id, connId: row.conn_id }));
  }

  async connectedNodes(): Promise<string[]> {
    // A loose index scan on members_conn: one index probe per node, not one row per member.
    // From a node's first connId, the next node's starts at or after `<node>;` (';' follows ':'),
    // and everything skipped in between starts with `<node>:`. `~>=~` and `~<~` are the
    // operators of the index's text_pattern_ops (byte order).
    const r = await this.exec<{ node: string }>(CONNECTED_NODES, []);
    return r.rows.map((row) => row.node);
  }

  readOutbox(cursor: string, limit: number): Promise<OutboxPage> {
    return readOutbox(this.exec, cursor, limit, this.outboxWaitMs);
  }

  outboxHead(): Promise<string> {
    return outboxHead(this.exec, this.outboxWaitMs);
  }

  pruneOutbox(beforeMs: number, limit: number): Promise<number> {
    return pruneOutbox(this.exec, beforeMs, limit);
  }

  async pruneAudit(beforeMs: number, limit: number): Promise<number> {
    if (limit <= 0) return 0;
    return (await this.exec(AUDIT_PRUNE, [beforeMs, limit])).rowCount ?? 0;
  }

  roomEvents(appId: AppId, roomId: string, afterSeq: number, limit: number): Promise<RoomEvent[]> {
    return roomEvents(this.exec, appId, roomId, afterSeq, limit);
  }

  pruneMessages(beforeMs: number, limit: number): Promise<number> {
    return pruneMessages(this.exec, beforeMs, limit);
  }

  async pruneEntries(beforeMs: number, limit: number): Promise<number> {
    if (limit <= 0) return 0;
    const deny = (await this.exec(SQL.denyPrune, [beforeMs, limit])).rowCount ?? 0;
    if (deny >= limit) return deny;
    return deny + ((await this.exec(SQL.mutePrune, [beforeMs, limit - deny])).rowCount ?? 0);
  }

  async getMeta(key: string): Promise<string | null> {
    const r = await this.exec<{ value: string }>(SQL.metaGet, [key]);
    return r.rows.length ? r.rows[0].value : null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.exec(SQL.metaSet, [key, value]);
  }

  private nextNoncePrune = 0;

  async claimNonce(scope: string, nonce: string, expiresAt: number, now: number): Promise<boolean> {
    if (now >= this.nextNoncePrune) {
      this.nextNoncePrune = now + 60_000;
      await this.exec(SQL.noncePrune, [now]);
    }
    return (await this.exec(SQL.nonceClaim, [scope, nonce, expiresAt, now])).rows.length === 1;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

const CONNECTED_NODES = `
WITH RECURSIVE nodes(node) AS (
  (SELECT split_part(conn_id, ':', 1) FROM members
    WHERE conn_id <> '' AND strpos(conn_id, ':') > 1 ORDER BY conn_id USING ~<~ LIMIT 1)
  UNION ALL
  SELECT (SELECT split_part(m.conn_id, ':', 1) FROM members m
    WHERE m.conn_id <> '' AND strpos(m.conn_id, ':') > 1 AND m.conn_id ~>=~ (nodes.node || ';')
    ORDER BY m.conn_id USING ~<~ LIMIT 1)
  FROM nodes WHERE nodes.node IS NOT NULL
)
SELECT node FROM nodes WHERE node IS NOT NULL`;
