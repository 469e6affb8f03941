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
