// PostgreSQL for the benchmarks: each run works in schemas of its own, dropped at the end.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The database the PostgreSQL benchmarks use (BENCH_PG_URL overrides it). */
export const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh schema name: bench_<random>. */
export function benchSchema(): string {
  return `bench_${randomBytes(6).toString('hex')}`;
}

/** The store URL that puts Rostrum's tables in `schema`. */
export function storeUrl(schema: string): string {
  const u = new URL(PG_URL);
  u.searchParams.set('schema', schema);
  return u.toString();
}

export async function dropSchemas(schemas: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Fails early, with a clear message, when the database is not there. */
export async function checkDatabase(): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (e) {
    throw new Error(`PostgreSQL at ${PG_URL.replace(/:[^:@/]*@/, ':***@')} is not reachable (set BENCH_PG_URL): ${(e as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Grows a Rostrum schema whose rooms r0…r<seed-1> and app-wide deny entries b0…b<seed-1> were made
 * through the core, to `copies` times as many: copy k of room r<i> is r<k*seed+i> (its row and
 * its roomCreated event, renamed), likewise for the deny entries of b<i>. The copies are the
 * core's own rows under new names, so the core reads them like any other; the caller checks
 * that it does. Depends on the PostgreSQL adapter's tables (migration 1).
 */
export async function multiplySeed(schema: string, seed: number, copies: number): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path="${schema}"` });
  await client.connect();
  try {
    const name = (col: string, prefix: string) => `'${prefix}' || (g * ${seed} + substr(${col}, 2)::int)`;
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO rooms (app_id, room_id, state, member_count, seq)
       SELECT app_id, ${name('room_id', 'r')},
              jsonb_set(jsonb_set(state, '{room,roomId}', to_jsonb(${name('room_id', 'r')})), '{room,name}', to_jsonb(${name('room_id', 'r')})),
              member_count, seq
       FROM rooms, generate_series(1, $1::int) g WHERE room_id ~ '^r[0-9]+$' AND substr(room_id, 2)::int < $2`,
      [copies - 1, seed],
    );
    await client.query(
      `INSERT INTO outbox (app_id, room_id, seq, at, event)
       SELECT app_id, ${name('room_id', 'r')}, seq, at,
              jsonb_set(jsonb_set(jsonb_set(event, '{roomId}', to_jsonb(${name('room_id', 'r')})),
                '{data,room,roomId}', to_jsonb(${name('room_id', 'r')})), '{data,room,name}', to_jsonb(${name('room_id', 'r')}))
       FROM outbox, generate_series(1, $1::int) g
       WHERE event->>'type' = 'roomCreated' AND room_id ~ '^r[0-9]+$' AND substr(room_id, 2)::int < $2`,
      [copies - 1, seed],
    );
    await client.query(
      `INSERT INTO deny (id, app_id, room_id, subject_type, subject, origin, expires_at, reason, actor, created_at, snapshot)
       SELECT id || '-' || g, app_id, room_id, subject_type, ${name('subject', 'b')}, origin, expires_at, reason, actor, created_at,
              jsonb_set(snapshot, '{userId}', to_jsonb(${name('subject', 'b')}))
       FROM deny, generate_series(1, $1::int) g WHERE room_id = '' AND subject ~ '^b[0-9]+$' AND substr(subject, 2)::int < $2`,
      [copies - 1, seed],
    );
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    await client.end();
  }
}

/** Planner statistics for a Rostrum schema, as a database that grew over time has them. */
export async function analyze(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path="${schema}"` });
  await client.connect();
  try {
    await client.query('ANALYZE rooms, members, outbox, deny, mutes');
  } finally {
    await client.end();
  }
}
