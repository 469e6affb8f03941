// Shared by the PostgreSQL test files: the server URL, whether to run, and throwaway schemas.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_URL = process.env.ROSTRUM_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Can we reach the server? One short connection attempt. */
export async function pgReachable(url = PG_URL): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

/**
 * The node:test `skip` value: a message when PostgreSQL is unreachable outside CI, false
 * otherwise. In CI the tests always run, so a missing server fails them instead of hiding.
 */
export async function pgSkip(): Promise<string | false> {
  if (process.env.CI) return false;
  return (await pgReachable()) ? false : `PostgreSQL unreachable at ${PG_URL} (set ROSTRUM_TEST_PG; runs always when CI is set)`;
}

export function freshSchema(): string {
  return `rostrum_t_${randomBytes(6).toString('hex')}`;
}

export function urlWithSchema(schema: string, base = PG_URL): string {
  const u = new URL(base);
  u.searchParams.set('schema', schema);
  return u.toString();
}

/** A plain client on the test database, for setup, inspection and dropping schemas. */
export async function adminClient(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  c.on('error', () => {});
  await c.connect();
  return c;
}

export async function dropSchema(schema: string): Promise<void> {
  const c = await adminClient();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}
