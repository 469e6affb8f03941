// The moderation audit log of the SQLite store: on disk only, never loaded into memory (a log
// kept for months would fill the heap and slow every start). Written into the open batch
// transaction with the unit it belongs to; read on the same connection.
//
// Entry ids start with their time (the core's ids: base-36 ms padded to 9 characters), so a time
// bound is also an id bound: a page walks the (app_id, id) index from its newest end and stops at
// its `from`, and pruning walks the primary key from the oldest end and stops at its retention.
import type Database from 'better-sqlite3';
import type { AppId, AuditEntry } from '../../core/model.js';
import type { AuditQuery } from '../../core/ports/store.js';
import { toAudit, type AuditRow } from '../audit-row.js';
import type { AuditLog } from '../memory/audit-log.js';
import { MultiRowInsert } from './multi-row.js';

/** The smallest id of an entry at `ms` or later. */
const idAt = (ms: number) => Math.max(0, Math.floor(ms)).toString(36).padStart(9, '0');
/** Above every id. */
const ID_MAX = '\u{10ffff}';

export class SqliteAuditLog implements AuditLog {
  private readonly s;
  private readonly insert: MultiRowInsert;
  /** The open batch's entries, flat (12 values each): written together before its COMMIT. */
  private readonly pending: unknown[] = [];

  constructor(db: Database.Database) {
    const p = (sql: string) => db.prepare(sql);
    this.insert = new MultiRowInsert(
      db,
      'INSERT OR REPLACE INTO audit (id, app_id, at, room_id, actor, actor_kind, surface, action, target_type, target, reason, expires_at)',
      12,
    );
    this.s = {
      // A NULL filter matches everything.
      page: p(
        `SELECT * FROM audit WHERE app_id = ? AND id < ? AND id >= ? AND at < ? AND at >= ?
           AND (? IS NULL OR room_id = ?) AND (? IS NULL OR actor = ?) AND (? IS NULL OR target = ?) AND (? IS NULL OR action = ?)
         ORDER BY id DESC LIMIT ?`,
      ),
      prune: p('DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE id < ? AND at < ? ORDER BY id LIMIT ?)'),
    };
  }

  /** Joins the open batch; written by flush(). */
  append(appId: AppId, entries: AuditEntry[]): void {
    for (const a of entries) {
      this.pending.push(a.id, appId, a.at, a.roomId, a.actor, a.actorKind, a.surface, a.action, a.targetType, a.target, a.reason, a.expiresAt);
    }
  }

  /** Writes the batch's entries, in the open transaction. */
  flush(): void {
    this.insert.run(this.pending);
    this.pending.length = 0;
  }

  /** The batch was rolled back. */
  discard(): void {
    this.pending.length = 0;
  }

  page(appId: AppId, q: AuditQuery): AuditEntry[] {
    const to = q.to ?? Number.MAX_SAFE_INTEGER;
    const from = q.from ?? 0;
    const before = q.before || ID_MAX;
    const eq = (v: string | undefined) => [v ?? null, v ?? null];
    const rows = this.s.page.all(
      appId,
      q.to === undefined || idAt(to + 1) > before ? before : idAt(to + 1),
      idAt(from),
      to,
      from,
      ...eq(q.roomId),
      ...eq(q.actor),
      ...eq(q.target),
      ...eq(q.action),
      Math.max(0, q.limit),
    ) as AuditRow[];
    return rows.map(toAudit);
  }

  /** Runs inside a batch (the store's inBatch). */
  prune(beforeMs: number, limit: number): number {
    return this.s.prune.run(idAt(beforeMs + 1), beforeMs, Math.max(0, limit)).changes;
  }
}
