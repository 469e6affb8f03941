// The real `rostrum serve` as a child process, for the durability tests: started on a TestData
// and a configuration file, killed with SIGKILL right after the acknowledgements, started again
// on the same store (the data directory, or the PostgreSQL schema under ROSTRUM_TEST_STORE).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP, storeArgs, type TestData } from './harness.js';

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
 * Starts `rostrum serve` and waits until it serves. Without `port` the kernel picks one, which the
 * server announces over the IPC channel, so no other server can take it first. Give the port of a
 * server that was killed to start its successor where its clients reconnect.
 */
export async function serve(data: TestData, config: string, opts: { port?: number; logLevel?: string } = {}): Promise<ServerProcess> {
  const args = ['serve', '--port', String(opts.port ?? 0), '--data', data.dataDir, ...storeArgs(data), '--config', config];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...cleanEnv(), ROSTRUM_LOG_LEVEL: opts.logLevel ?? 'warn' },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  running.add(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve(signal ?? code);
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rostrum did not become ready: ${stderr}`)), START_DEADLINE_MS);
    child.on('message', (m: { listening?: string }) => {
      if (typeof m?.listening !== 'string') return;
      clearTimeout(timer);
      resolve(m.listening);
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`rostrum exited early: ${stderr}`));
    });
  });
  child.disconnect();
  return { child, url, port: Number(new URL(url).port), exited };
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
