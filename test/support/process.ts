// The real `rostrum serve` as a child process, for the durability tests: started on a TestData
// and a configuration file, killed with SIGKILL right after the acknowledgements, started again
// on the same store (the data directory, or the PostgreSQL schema under ROSTRUM_TEST_STORE).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { APP, storeArgs, type TestData } from './harness.js';
import { cli, killRunning, listeningUrl } from './cli.js';

export { cleanEnv, ROOT } from './cli.js';

/** Kills every server still running (call from `after`). */
export const killServers = killRunning;

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  port: number;
  exited: Promise<NodeJS.Signals | number | null>;
}

/** Writes `config` as the data directory's config.json; returns its path. */
export function writeConfig(data: TestData, config: object): string {
  const path = join(data.dataDir, 'config.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/** The test app with every rate limit lifted, so that a burst is all answered. */
export function unlimitedConfig(): object {
  return {
    apps: [{ sdkAppId: APP.sdkAppId, secretKey: APP.secretKey, admins: APP.admins, rateLimit: { perCommandPerSecond: 0, perEndpointPerSecond: 0 }, polyv: APP.polyv }],
    realtime: { messagesPerSecond: 0 },
  };
}

/**
 * Starts `rostrum serve` and waits until it serves. Without `port` the kernel picks one. Give the
 * port of a server that was killed to start its successor where its clients reconnect.
 */
export async function serve(data: TestData, config: string, opts: { port?: number; logLevel?: string } = {}): Promise<ServerProcess> {
  const c = cli(['serve', '--port', String(opts.port ?? 0), '--data', data.dataDir, ...storeArgs(data), '--config', config], { ROSTRUM_LOG_LEVEL: opts.logLevel ?? 'warn' });
  const url = await listeningUrl(c);
  return { child: c.child, url, port: Number(new URL(url).port), exited: c.exited.then(({ code, signal }) => signal ?? code) };
}

/** kill -9, and waits for the process to be gone. */
export async function crash(p: ServerProcess): Promise<void> {
  p.child.kill('SIGKILL');
  assert.equal(await p.exited, 'SIGKILL');
}

/** SIGTERM, and checks the process exits by itself with code 0. */
export async function stop(p: ServerProcess): Promise<void> {
  p.child.kill('SIGTERM');
  assert.equal(await p.exited, 0);
}
