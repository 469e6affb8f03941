// The real `rostrum` command as a child process, for end-to-end tests of the command line.
// Every wait is on a condition with a generous deadline: these tests run beside others on a
// loaded machine, where a process start can take many seconds.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort, storeArgs, tempData, tempDir, type TestData } from './harness.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** How long a process may take to start or stop on a loaded machine. */
export const DEADLINE_MS = 60_000;

const running = new Set<ChildProcess>();
const dirs: string[] = [];
const datas: TestData[] = [];

/** Kills what is still running and removes what was made (call from `after`). */
export async function cleanUp(): Promise<void> {
  for (const child of running) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  for (const data of datas) await data.remove();
}

export function newDir(): string {
  const dir = tempDir('rostrum-cli-');
  dirs.push(dir);
  return dir;
}

export function newData(): TestData {
  const data = tempData('rostrum-cli-');
  datas.push(data);
  return data;
}

export interface Cli {
  child: ChildProcess;
  output: { stdout: string; stderr: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a process with no ROSTRUM_* settings inherited from the environment but `extraEnv`. */
export function spawnCli(command: string, args: string[], extraEnv: Record<string, string> = {}): Cli {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ROSTRUM_')));
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...env, ROSTRUM_LOG_LEVEL: 'warn', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => (output.stdout += d));
  child.stderr!.on('data', (d) => (output.stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, output, exited };
}

/** `rostrum <args>` from the sources. */
export function cli(args: string[], extraEnv: Record<string, string> = {}): Cli {
  return spawnCli(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], extraEnv);
}

/** Waits until `check` holds (polling), failing with `what` after the deadline. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, deadlineMs = DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** Waits until /healthz answers 200 (fails if the process exits first). */
export async function waitReady(c: Cli, url: string): Promise<void> {
  let gone = false;
  void c.exited.then(() => (gone = true));
  await waitFor(`${url} to answer /healthz (stderr: ${c.output.stderr})`, async () => {
    if (gone) assert.fail(`rostrum exited early: ${c.output.stderr}`);
    try {
      return (await fetch(`${url}/healthz`)).status === 200;
    } catch {
      return false; // not listening yet
    }
  });
}

export async function serve(data: TestData, extra: string[] = [], env: Record<string, string> = {}): Promise<{ c: Cli; url: string; port: number }> {
  const port = await freePort();
  const c = cli(['serve', '--port', String(port), '--data', data.dataDir, ...storeArgs(data), ...extra], env);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(c, url);
  return { c, url, port };
}

/** Sends SIGTERM and checks the process exits by itself with code 0. */
export async function stop(c: Cli): Promise<void> {
  c.child.kill('SIGTERM');
  const { code, signal } = await c.exited;
  assert.equal(signal, null);
  assert.equal(code, 0, c.output.stderr);
}
