// A data directory of the SQLite store for one test, and a raw connection to its database (to
// look at rows on disk, or to make the database look as an older release left it).
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs the body with a fresh directory, removed after. */
export async function withDataDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rostrum-sqlite-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function rawDb(dir: string): Database.Database {
  return new Database(join(dir, 'rostrum.sqlite'));
}
