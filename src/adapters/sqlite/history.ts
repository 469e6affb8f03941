// Chat history for the SQLite store: on disk only. A committed unit's changes are written into
// the open batch; readers see appended rows up to the last committed batch's id.
import type Database from 'better-sqlite3';
import type { AppId, ChatMessage } from '../../core/model.js';
import type { HistoryQuery } from '../../core/ports/store.js';
import type { History, HistoryChange } from '../memory/history.js';

export class SqliteHistory implements History {
  /** Rows up to this id are committed. */
  committedId: number;
  /** The last id written in the open batch. */
  writtenId = 0;
  private readonly s;

  constructor(db: Database.Database) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insert: p('INSERT OR IGNORE INTO messages (app_id, room_id, msg_id, seq, at, message) VALUES (?, ?, ?, ?, ?, ?)'),
      delete: p('DELETE FROM messages WHERE app_id = ? AND room_id = ? AND msg_id = ?'),
      clear: p('DELETE FROM messages WHERE app_id = ? AND room_id = ?'),
      page: p(
        `SELECT message FROM messages WHERE app_id = ? AND room_id = ? AND seq < ? AND at >= ? AND at <= ? AND id <= ?
         ORDER BY seq DESC LIMIT ? OFFSET ?`,
      ),
      // Every room of the app (walks the messages_at index), past a key (at, room_id, seq, msg_id):
      // see MessageKey. TEXT compares as BINARY, UTF-8 bytes: code point order.
      appPage: p(
        `SELECT message FROM messages WHERE app_id = ? AND seq < ? AND at >= ? AND at <= ? AND id <= ?
         AND (at, room_id, seq, msg_id) > (?, ?, ?, ?)
         ORDER BY at, room_id, seq, msg_id LIMIT ? OFFSET ?`,
      ),
      // Ordered by (at, id) so SQLite walks the messages_at index.
      prune: p('DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE at < ? AND id <= ? ORDER BY at, id LIMIT ?)'),
      maxId: p('SELECT coalesce(max(id), 0) FROM messages').pluck(),
      held: p('SELECT msg_id FROM messages WHERE app_id = ? AND room_id = ? AND msg_id IN (SELECT value FROM json_each(?)) AND id <= ?').pluck(),
    };
    this.committedId = this.s.maxId.get() as number;
  }

  /** Writes into the open batch (the caller's transaction). */
  apply(changes: HistoryChange[]): void {
    for (const c of changes) {
      if (c.kind === 'append') {
        for (const m of c.messages) {
          const r = this.s.insert.run(c.appId, m.roomId, m.id, m.seq, m.at, JSON.stringify(m));
          if (r.changes > 0) this.writtenId = Number(r.lastInsertRowid);
        }
      } else if (c.kind === 'delete') {
        for (const id of c.ids) this.s.delete.run(c.appId, c.roomId, id);
      } else {
        this.s.clear.run(c.appId, c.roomId);
      }
    }
  }

  /** The open batch committed. */
  committed(): void {
    if (this.writtenId > this.committedId) this.committedId = this.writtenId;
  }

  /** The open batch rolled back. */
  discard(): void {
    this.writtenId = this.committedId;
  }

  page(appId: AppId, roomId: string, q: HistoryQuery): ChatMessage[] {
    const before = q.beforeSeq ?? Number.MAX_SAFE_INTEGER;
    const until = q.untilAt ?? Number.MAX_SAFE_INTEGER;
    const page = [Math.max(0, q.limit), Math.max(0, q.offset ?? 0)];
    // No key: before every record (at is never negative).
    const a = q.after;
    const after = a ? [a.at, a.roomId, a.seq, a.id] : [-1, '', -1, ''];
    const rows = (
      roomId === ''
        ? this.s.appPage.all(appId, before, q.sinceAt, until, this.committedId, ...after, ...page)
        : this.s.page.all(appId, roomId, before, q.sinceAt, until, this.committedId, ...page)
    ) as { message: string }[];
    return rows.map((r) => JSON.parse(r.message) as ChatMessage);
  }

  held(appId: AppId, roomId: string, ids: string[]): string[] {
    return this.s.held.all(appId, roomId, JSON.stringify(ids), this.committedId) as string[];
  }

  /** Runs inside a batch (the store's inBatch). */
  prune(beforeMs: number, limit: number): number {
    return this.s.prune.run(beforeMs, this.committedId, limit).changes;
  }
}
