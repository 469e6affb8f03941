// The real `rostrum serve` as a child process, for the durability tests: started on a TestData
// and a configuration file, killed with SIGKILL right after the acknowledgements, started again
// on the same store (the data directory, or the PostgreSQL schema under ROSTRUM_TEST_STORE).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { APP, freePort, storeArgs, type TestData } from './harness.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** How long a process may take to start on a loaded machine (tsx compiles at start). */
const START_DEADLINE_MS = 60_000;

const running = new Set<ChildProcess>();

/** Kills every server still running (call from `after`). */
export function killServers(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** The environment without ROSTRUM_* settings (the test's own store setting included). */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ROSTRUM_')));
}

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
 * Starts `rostrum serve` on `port` (default: a free one) and waits for /healthz. Give the port of
 * a server that was killed to start its successor where its clients reconnect.
 */
export async function serve(data: TestData, config: string, opts: { port?: number; logLevel?: string } = {}): Promise<ServerProcess> {
  const port = opts.port ?? (await freePort());
  const args = ['serve', '--port', String(port), '--data', data.dataDir, ...storeArgs(data), '--config', config];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...cleanEnv(), ROSTRUM_LOG_LEVEL: opts.logLevel ?? 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.add(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  let gone = false;
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      gone = true;
      running.delete(child);
      resolve(signal ?? code);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    if (gone) assert.fail(`rostrum exited early: ${stderr}`);
    if (Date.now() > deadline) assert.fail(`rostrum did not become ready: ${stderr}`);
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  return { child, url, port, exited };
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
