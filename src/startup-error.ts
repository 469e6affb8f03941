// What stopped the server from starting, as the one line an operator reads (exit code 2): the
// port is taken, the data directory is unusable or locked, the disk is full, the store is down.
import { DataDirError, describe } from './adapters/sqlite/data-dir.js';

export interface StartupSettings {
  host: string;
  port: number;
  dataDir: string;
}

export function startupMessage(e: unknown, s: StartupSettings): string {
  if (e instanceof DataDirError) return e.message;
  const err = e as { code?: string; message?: string; syscall?: string };
  switch (err.code) {
    case 'EADDRINUSE':
      return `port ${s.port} on ${s.host} is already in use (another server, or an earlier rostrum still running)`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${s.host}: no such address on this machine`;
    case 'EACCES':
      if (err.syscall === 'listen') return `not allowed to listen on port ${s.port} (ports below 1024 need privileges)`;
      return `cannot use data directory ${s.dataDir}: ${describe(e)}`;
    case 'ENOSPC':
    case 'SQLITE_FULL':
    case 'EROFS':
    case 'EPERM':
      return `cannot write to data directory ${s.dataDir}: ${describe(e)}`;
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'ETIMEDOUT':
      return `cannot reach the store: ${err.message}`;
    default:
      return `cannot start: ${(err.message ?? String(e)).split('\n')[0]}`;
  }
}
