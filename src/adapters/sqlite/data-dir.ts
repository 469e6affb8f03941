// The data directory: made private (0700, its files 0600: it holds the apps' secrets), and
// locked by one process. The lock is an exclusive SQLite lock on a file of its own, held while
// the store is open: the operating system releases it when the process ends, however it ends,
// so a crashed server never leaves a stale lock behind.
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A problem the operator must fix before the server can start (printed as one line). */
export class DataDirError extends Error {}

const LOCK_FILE = 'rostrum.lock';

/** Whether a server has used `dir` as its data directory (it holds the lock file). */
export function isDataDir(dir: string): boolean {
  return existsSync(join(dir, LOCK_FILE));
}

/** Makes the directory (0700) if missing; refuses, with a clear message, one it cannot use. */
export function prepareDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new DataDirError(`cannot create data directory ${dir}: ${describe(e)}`);
  }
  if (!statSync(dir).isDirectory()) throw new DataDirError(`data directory ${dir} is not a directory`);
}

/** Creates `file` 0600 if missing, and takes group and other access away from an existing one. */
export function privateFile(file: string): void {
  try {
    closeSync(openSync(file, 'a', 0o600));
    chmodSync(file, 0o600);
  } catch (e) {
    throw new DataDirError(`cannot write ${basename(file)} in data directory ${dirname(file)}: ${describe(e)}`);
  }
}

/** Holds the directory's lock until release(); DataDirError when another process holds it. */
export function lockDataDir(dir: string): { release(): void } {
  const file = join(dir, LOCK_FILE);
  privateFile(file);
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    if ((e as { code?: string }).code === 'SQLITE_BUSY') {
      throw new DataDirError(`data directory ${dir} is in use by another rostrum process (one server per data directory)`);
    }
    throw new DataDirError(`cannot lock data directory ${dir}: ${describe(e)}`);
  }
  return {
    release() {
      try {
        db.exec('ROLLBACK');
      } finally {
        db.close();
      }
    },
  };
}

/** A file-system error as a short phrase: "permission denied", "no space left on the device". */
export function describe(e: unknown): string {
  const code = (e as { code?: string }).code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_READONLY':
      return 'permission denied';
    case 'ENOSPC':
    case 'SQLITE_FULL':
      return 'no space left on the device (disk full)';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'EROFS':
      return 'read-only file system';
    default:
      return (e as Error).message ?? String(e);
  }
}
