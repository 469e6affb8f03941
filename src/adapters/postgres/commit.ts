// A unit's last statement and its COMMIT in one round trip. pg sends one statement at a time
// and waits for its answer, so "statement, then COMMIT" costs two round trips, both while the
// unit holds its room locks. One simple-protocol query carries both instead: `EXECUTE` of the
// statement (prepared once per connection at the SQL level, so the server still plans it once)
// with its values as literals, then `COMMIT`. An error in the statement skips the COMMIT and
// leaves the transaction aborted, for the caller's ROLLBACK, as it would on its own.
import type pg from 'pg';
import type { Stmt } from './sql.js';

export interface Deferred {
  stmt: Stmt;
  /** Numbers and strings only (the JSON the deferred statements take). */
  values: (number | string)[];
}

/**
 * A string as an SQL literal, whatever standard_conforming_strings says: E'' with backslashes
 * and quotes doubled. The values are JSON text, which never holds a raw NUL. (pg's escapeLiteral
 * builds the result a character at a time: ~150 µs for a 4 KB state, against ~1 µs here.)
 */
export function literal(s: string): string {
  return s.includes('\\') ? `E'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'` : `'${s.replace(/'/g, "''")}'`;
}

/** The SQL-level prepared statements of each connection (by client: a new connection is a new client). */
const prepared = new WeakMap<pg.ClientBase, Set<string>>();

export async function commitWith(client: pg.ClientBase, last: Deferred | null): Promise<void> {
  if (last === null) {
    await client.query('COMMIT');
    return;
  }
  // Apart from the protocol-level names pg gives the same statements (one namespace per session).
  const name = `${last.stmt.name}_c`;
  let names = prepared.get(client);
  if (!names) prepared.set(client, (names = new Set()));
  if (!names.has(name)) {
    await client.query(`PREPARE ${name} AS ${last.stmt.text}`);
    names.add(name);
  }
  const args = last.values.map((v) => (typeof v === 'number' ? String(v) : literal(v)));
  await client.query(`EXECUTE ${name}(${args.join(', ')}); COMMIT`);
}
