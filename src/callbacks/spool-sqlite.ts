// The callback spool of the SQLite store: its own database file (callbacks.sqlite) beside the
// store's in the data directory, with its own connection. A file of its own because the store's
// connection holds a write transaction open across an event-loop turn (group commit): a second
// writer on that file would wait on it synchronously. The CLI (`rostrum webhooks`) opens the
// same file while the server runs; WAL lets both in, busy_timeout covers their short writes.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { prepareDataDir, privateFile } from '../adapters/sqlite/data-dir.js';
import type { AppId } from '../core/model.js';
import type { StoredCallbackConfig } from './commands.js';
import { BULK_PAGE, MAX_ERROR_LENGTH, configState, resendOrder, type CallbackSpool, type Delivery, type NewDelivery, type SpoolCounts, type StoredConfigState } from './spool.js';

export const CALLBACK_SPOOL_FILE = 'callbacks.sqlite';
const SPOOL_VERSION = 2;

export const CALLBACK_TABLES = `
CREATE TABLE IF NOT EXISTS callback_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, app_id INTEGER NOT NULL,
  room_id TEXT NOT NULL, seq INTEGER NOT NULL, command TEXT NOT NULL, body TEXT NOT NULL,
  created_at INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '', failed_at INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS callback_deliveries_app ON callback_deliveries (app_id, state, id);
CREATE TABLE IF NOT EXISTS callback_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/**
 * Version 2: given-up rows by the time they were given up, for the retention (pruneFailed).
 * Partial: a pending row, the relay's hot path, is not in it.
 */
export const CALLBACK_FAILED_INDEX = `
CREATE INDEX IF NOT EXISTS callback_deliveries_failed_at ON callback_deliveries (failed_at) WHERE state = 'failed';
`;

interface Row {
  id: number;
  event_id: string;
  app_id: number;
  room_id: string;
  seq: number;
  command: string;
  body: string;
  created_at: number;
  state: 'pending' | 'failed';
  attempts: number;
  last_error: string;
  failed_at: number;
}

function toDelivery(r: Row): Delivery {
  return {
    id: r.id,
    eventId: r.event_id,
    appId: r.app_id,
    roomId: r.room_id,
    seq: r.seq,
    command: r.command,
    body: r.body,
    createdAt: r.created_at,
    state: r.state,
    attempts: r.attempts,
    lastError: r.last_error,
    failedAt: r.failed_at,
  };
}

export class SqliteSpool implements CallbackSpool {
  private readonly db: Database.Database;
  private readonly s;

  constructor(dataDir: string) {
    prepareDataDir(dataDir);
    const file = join(dataDir, CALLBACK_SPOOL_FILE);
    privateFile(file);
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SPOOL_VERSION) throw new Error(`${CALLBACK_SPOOL_FILE} has schema version ${version}, newer than this release's (${SPOOL_VERSION})`);
    if (version < SPOOL_VERSION) {
      this.db.transaction(() => {
        this.db.exec(CALLBACK_TABLES);
        this.db.exec(CALLBACK_FAILED_INDEX);
        this.db.pragma(`user_version = ${SPOOL_VERSION}`);
      }).immediate();
    }
    const p = (sql: string) => this.db.prepare(sql);
    this.s = {
      get: p('SELECT value FROM callback_state WHERE key = ?').pluck(),
      put: p('INSERT INTO callback_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      del: p('DELETE FROM callback_state WHERE key = ?'),
      configs: p("SELECT key, value FROM callback_state WHERE key LIKE 'config:%'"),
      insert: p(
        'INSERT INTO callback_deliveries (event_id, app_id, room_id, seq, command, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING',
      ),
      pending: p("SELECT * FROM callback_deliveries WHERE app_id = ? AND state = 'pending' AND id > ? ORDER BY id LIMIT ?"),
      apps: p("SELECT DISTINCT app_id FROM callback_deliveries WHERE state = 'pending'").pluck(),
      delivered: p('DELETE FROM callback_deliveries WHERE id = ?'),
      // A batch in one statement (ids as a JSON array): about half the cost of one per id.
      deliveredMany: p('DELETE FROM callback_deliveries WHERE id IN (SELECT value FROM json_each(?))'),
      fail: p("UPDATE callback_deliveries SET state = 'failed', attempts = ?, last_error = ?, failed_at = ? WHERE id = ? AND state = 'pending'"),
      failedAll: p("SELECT * FROM callback_deliveries WHERE state = 'failed' AND id > ? ORDER BY id LIMIT ?"),
      failedApp: p("SELECT * FROM callback_deliveries WHERE state = 'failed' AND app_id = ? AND id > ? ORDER BY id LIMIT ?"),
      failedPage: p("SELECT * FROM callback_deliveries WHERE id > @after AND state = 'failed' AND (@app IS NULL OR app_id = @app) ORDER BY id LIMIT @limit"),
      byId: p('SELECT * FROM callback_deliveries WHERE id = ?'),
      requeue: p(
        "INSERT INTO callback_deliveries (event_id, app_id, room_id, seq, command, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      discardIds: p("DELETE FROM callback_deliveries WHERE state = 'failed' AND (@app IS NULL OR app_id = @app) AND id IN (SELECT value FROM json_each(@ids))"),
      // The next page by the primary key from a cursor: one pass over the spool, however long.
      discardPage: p(
        "DELETE FROM callback_deliveries WHERE id IN (SELECT id FROM callback_deliveries WHERE id > @after AND state = 'failed' AND (@app IS NULL OR app_id = @app) ORDER BY id LIMIT @limit) RETURNING id",
      ).pluck(),
      pruneFailed: p(
        "DELETE FROM callback_deliveries WHERE id IN (SELECT id FROM callback_deliveries WHERE state = 'failed' AND failed_at < ? ORDER BY failed_at LIMIT ?)",
      ),
      counts: p('SELECT app_id, state, count(*) AS n FROM callback_deliveries GROUP BY app_id, state'),
    };
  }

  async cursor(): Promise<string> {
    return (this.s.get.get('cursor') as string | undefined) ?? '';
  }

  async enqueue(from: string, deliveries: NewDelivery[], cursor: string): Promise<boolean> {
    return this.db.transaction(() => {
      const now = (this.s.get.get('cursor') as string | undefined) ?? '';
      if (now !== from) return false;
      for (const d of deliveries) this.s.insert.run(d.eventId, d.appId, d.roomId, d.seq, d.command, d.body, d.createdAt);
      this.s.put.run('cursor', cursor);
      return true;
    }).immediate();
  }

  async pending(appId: AppId, afterId: number, limit: number): Promise<Delivery[]> {
    return (this.s.pending.all(appId, afterId, limit) as Row[]).map(toDelivery);
  }

  async appsWithPending(): Promise<AppId[]> {
    return this.s.apps.all() as number[];
  }

  async delivered(ids: number[]): Promise<void> {
    if (ids.length > 0) this.s.deliveredMany.run(JSON.stringify(ids));
  }

  async fail(id: number, attempts: number, lastError: string, at: number): Promise<void> {
    this.s.fail.run(attempts, lastError.slice(0, MAX_ERROR_LENGTH), at, id);
  }

  async failed(appId: AppId | null, limit: number, afterId = 0): Promise<Delivery[]> {
    const rows = appId === null ? this.s.failedAll.all(afterId, limit) : this.s.failedApp.all(appId, afterId, limit);
    return (rows as Row[]).map(toDelivery);
  }

  async retry(ids: number[] | 'all', appId: AppId | null, now: number): Promise<number> {
    const requeue = (rows: (Row | undefined)[]) => {
      let n = 0;
      for (const r of rows) {
        if (!r || r.state !== 'failed' || (appId !== null && r.app_id !== appId)) continue;
        this.s.delivered.run(r.id);
        this.s.requeue.run(r.event_id, r.app_id, r.room_id, r.seq, r.command, r.body, now);
        n++;
      }
      return n;
    };
    if (ids !== 'all') return this.db.transaction(() => requeue(resendOrder(ids).map((id) => this.s.byId.get(id) as Row | undefined))).immediate();
    // Page by page in spool order (re-sent rows are pending: no page sees them again).
    let n = 0;
    for (let after = 0; ; ) {
      const page = this.db.transaction(() => {
        const rows = this.s.failedPage.all({ app: appId, after, limit: BULK_PAGE }) as Row[];
        requeue(rows);
        return rows;
      }).immediate();
      n += page.length;
      if (page.length < BULK_PAGE) return n;
      after = page[page.length - 1].id;
      await new Promise((r) => setImmediate(r));
    }
  }

  async discard(ids: number[] | 'all', appId: AppId | null): Promise<number> {
    if (ids !== 'all') return this.s.discardIds.run({ app: appId, ids: JSON.stringify(ids) }).changes;
    let n = 0;
    for (let after = 0; ; ) {
      const gone = this.s.discardPage.all({ app: appId, after, limit: BULK_PAGE }) as number[];
      n += gone.length;
      if (gone.length < BULK_PAGE) return n;
      after = Math.max(...gone);
      await new Promise((r) => setImmediate(r));
    }
  }

  async pruneFailed(beforeMs: number, limit: number): Promise<number> {
    if (limit <= 0) return 0;
    return this.s.pruneFailed.run(beforeMs, limit).changes;
  }

  async counts(): Promise<SpoolCounts[]> {
    const by = new Map<AppId, SpoolCounts>();
    for (const r of this.s.counts.all() as { app_id: number; state: 'pending' | 'failed'; n: number }[]) {
      let c = by.get(r.app_id);
      if (!c) by.set(r.app_id, (c = { appId: r.app_id, pending: 0, failed: 0 }));
      c[r.state] = r.n;
    }
    return [...by.values()];
  }

  async getConfig(appId: AppId): Promise<StoredCallbackConfig | null> {
    const v = this.s.get.get(`config:${appId}`) as string | undefined;
    return v === undefined ? null : (JSON.parse(v) as StoredCallbackConfig);
  }

  async setConfig(appId: AppId, config: StoredCallbackConfig | null): Promise<void> {
    if (config) this.s.put.run(`config:${appId}`, JSON.stringify(config));
    else this.s.del.run(`config:${appId}`);
  }

  async setConfigIf(appId: AppId, config: StoredCallbackConfig, when: readonly StoredConfigState[]): Promise<boolean> {
    const key = `config:${appId}`;
    // Immediate: the write lock from the read on, so another process's write cannot come between.
    return this.db
      .transaction(() => {
        const v = this.s.get.get(key) as string | undefined;
        if (!when.includes(configState(v === undefined ? null : (JSON.parse(v) as StoredCallbackConfig)))) return false;
        this.s.put.run(key, JSON.stringify(config));
        return true;
      })
      .immediate();
  }

  async allConfigs(): Promise<Map<AppId, StoredCallbackConfig>> {
    const out = new Map<AppId, StoredCallbackConfig>();
    for (const r of this.s.configs.all() as { key: string; value: string }[]) out.set(Number(r.key.slice(7)), JSON.parse(r.value));
    return out;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
