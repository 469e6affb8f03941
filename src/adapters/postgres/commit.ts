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
  const args = last.values.map((v) => (typeof v === 'number' ? String(v) : client.escapeLiteral(v)));
  await client.query(`EXECUTE ${name}(${args.join(', ')}); COMMIT`);
}
