// The SQLite store's outbox pages, as the store reads them and as another thread (the callback
// relay's worker) reads them on a read-only connection of its own. A connection sees only
// committed rows, and the store's one writer hands out outbox ids in commit order, so reading by
// id with a cursor never skips an event. The cursor is the store's own (the last id read), so
// the relay keeps its place across a switch.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { OutboxPage } from '../../core/ports/store.js';
import { parseEvent } from './packed.js';

/** The outbox id after which a cursor reads ('' = from the start). */
export function cursorId(cursor: string): number {
  if (!/^\d*$/.test(cursor)) throw new Error(`bad outbox cursor: ${cursor}`);
  return cursor === '' ? 0 : Number(cursor);
}

/** A page of outbox rows (id order), its cursor the last id read, or `cursor` when none. */
export function outboxPage(rows: { id: number; event: string }[], cursor: string): OutboxPage {
  return {
    events: rows.map((r) => parseEvent(r.event)),
    cursor: rows.length > 0 ? String(rows[rows.length - 1].id) : cursor,
    texts: rows.map((r) => r.event),
  };
}

export class SqliteOutboxReader {
  private readonly db: Database.Database;
  private readonly s;

  constructor(dataDir: string) {
    this.db = new Database(join(dataDir, 'rostrum.sqlite'), { readonly: true, fileMustExist: true });
    this.s = {
      read: this.db.prepare('SELECT id, event FROM outbox WHERE id > ? ORDER BY id LIMIT ?'),
      head: this.db.prepare('SELECT coalesce(max(id), 0) FROM outbox').pluck(),
    };
  }

  async readOutbox(cursor: string, limit: number): Promise<OutboxPage> {
    return outboxPage(this.s.read.all(cursorId(cursor), Math.max(0, limit)) as { id: number; event: string }[], cursor);
  }

  async outboxHead(): Promise<string> {
    return String(this.s.head.get() as number);
  }

  close(): void {
    this.db.close();
  }
}
