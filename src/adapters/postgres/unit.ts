// A unit of work's transaction on one connection, with BEGIN sent along with the unit's first
// statement and COMMIT along with its last. pg sends one statement at a time and waits for its
// answer, so "BEGIN, statement" and "statement, COMMIT" would cost a round trip each, the second
// while the unit holds its room locks. One simple-protocol query carries both instead: `EXECUTE`
// of the statement (prepared once per connection at the SQL level, so the server still plans it
// once) with its values as literals. An error in the statement skips what follows it and leaves
// the transaction aborted, for the caller's ROLLBACK, as it would on its own.
import type pg from 'pg';
import type { Stmt } from './sql.js';
import { execOn, type Exec } from './writer.js';

const BEGIN = 'BEGIN ISOLATION LEVEL READ COMMITTED';

export interface Deferred {
  stmt: Stmt;
  /** Numbers and strings only (the JSON the deferred statements take). */
  values: (number | string)[];
}

/**
 * A string as an SQL literal, whatever standard_conforming_strings says: E'' with backslashes
 * and quotes doubled. The values are JSON text, ids and numbers, never a raw NUL. (pg's
 * escapeLiteral builds the result a character at a time: ~150 µs for a 4 KB state, ~1 µs here.)
 */
export function literal(s: string): string {
  return s.includes('\\') ? `E'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'` : `'${s.replace(/'/g, "''")}'`;
}

/** The values as literals (untyped: each takes its parameter's type), or null when one is not a string, number or null. */
function literals(values: unknown[]): string[] | null {
  const out: string[] = [];
  for (const v of values) {
    if (typeof v === 'string') out.push(literal(v));
    else if (typeof v === 'number') out.push(`'${v}'`);
    else if (v === null) out.push('NULL');
    else return null;
  }
  return out;
}

/** The SQL-level prepared statements of each connection (by client: a new connection is a new client). */
const prepared = new WeakMap<pg.PoolClient, Set<string>>();

export class Unit {
  private begun = false;
  /** Queries sent on the connection so far (tests count a unit's round trips with it). */
  roundTrips = 0;
  private readonly direct: Exec;

  constructor(private readonly client: pg.PoolClient) {
    this.direct = execOn(client);
  }

  /** Runs a statement of the unit: the first one carries the BEGIN (when its values allow). */
  readonly exec: Exec = async (stmt, values) => {
    this.roundTrips++;
    if (this.begun) return this.direct(stmt, values);
    const args = typeof stmt === 'string' ? null : literals(values);
    if (args === null) {
      this.begun = true;
      this.roundTrips++;
      await this.client.query(BEGIN);
      return this.direct(stmt, values);
    }
    return this.inline(stmt as Stmt, args, '');
  };

  /** Commits, with the unit's last statement when it was kept for this (see PgWriter.beforeCommit). */
  async commit(last: Deferred | null): Promise<void> {
    if (last !== null) await this.inline(last.stmt, literals(last.values)!, '; COMMIT');
    else if (this.begun) await this.client.query('COMMIT');
  }

  async rollback(): Promise<void> {
    if (this.begun) await this.client.query('ROLLBACK');
  }

  private async inline(stmt: Stmt, args: string[], after: string): Promise<pg.QueryResult> {
    // Apart from the protocol-level names pg gives the same statements (one namespace per session).
    const name = `${stmt.name}_c`;
    let names = prepared.get(this.client);
    if (!names) prepared.set(this.client, (names = new Set()));
    if (!names.has(name)) {
      this.roundTrips++;
      await this.client.query(`PREPARE ${name} AS ${stmt.text}`);
      names.add(name);
    }
    const before = this.begun ? '' : `${BEGIN}; `;
    this.begun = true;
    const r = (await this.client.query(`${before}EXECUTE ${name}(${args.join(', ')})${after}`)) as pg.QueryResult | pg.QueryResult[];
    // One result per statement of the query: the EXECUTE's is the one after the BEGIN, if any.
    return Array.isArray(r) ? r[before ? 1 : 0] : r;
  }
}
