// Many rows of one table in a few INSERTs: 32, 16, … rows per statement, each size prepared once.
// A row costs about a third less than in a statement of its own (one bind, step and reset for all).
import type Database from 'better-sqlite3';

const MAX_ROWS = 32;

export class MultiRowInsert {
  private readonly bySize = new Map<number, Database.Statement>();
  private readonly placeholders: string;

  /** `head` up to VALUES, `columns` values a row, `tail` after the rows (ON CONFLICT …). */
  constructor(
    private readonly db: Database.Database,
    private readonly head: string,
    private readonly columns: number,
    private readonly tail = '',
  ) {
    this.placeholders = `(${Array(columns).fill('?').join(', ')})`;
  }

  /** Inserts the rows, in order (`values` flat, `columns` a row); the last one's rowid, 0 when none. */
  run(values: unknown[]): number {
    const n = this.columns;
    let last = 0;
    for (let at = 0; at < values.length; ) {
      let rows = MAX_ROWS;
      while (rows * n > values.length - at) rows >>= 1;
      last = Number(this.statement(rows).run(values.slice(at, at + rows * n)).lastInsertRowid);
      at += rows * n;
    }
    return last;
  }

  private statement(rows: number): Database.Statement {
    let s = this.bySize.get(rows);
    if (!s) {
      s = this.db.prepare(`${this.head} VALUES ${Array(rows).fill(this.placeholders).join(', ')} ${this.tail}`);
      this.bySize.set(rows, s);
    }
    return s;
  }
}
