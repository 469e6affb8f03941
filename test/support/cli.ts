// The real `rostrum` command as a child process, for end-to-end tests of the command line.
// Every wait is on a condition with a generous deadline: these tests run beside others on a
// loaded machine, where a process start can take many seconds.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { storeArgs, tempData, tempDir, type TestData } from './harness.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** How long a process may take to start or stop on a loaded machine. */
export const DEADLINE_MS = 60_000;

const running = new Set<ChildProcess>();
const dirs: string[] = [];
const datas: TestData[] = [];

/** Kills what is still running and removes what was made (call from `after`). */
export async function cleanUp(): Promise<void> {
  killRunning();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  for (const data of datas) await data.remove();
}

/** SIGKILL to every process still running. */
export function killRunning(): void {
  for (const child of running) child.kill('SIGKILL');
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
  /** Where a `serve` started by `cli` says it listens, over the IPC channel (see `listeningUrl`). */
  listening: Promise<string>;
}

/** Starts a process with no ROSTRUM_* settings inherited from the environment but `extraEnv`. */
export function spawnCli(command: string, args: string[], extraEnv: Record<string, string> = {}, ipc = false): Cli {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...cleanEnv(), ROSTRUM_LOG_LEVEL: 'warn', ...extraEnv },
    stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
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
  const listening = new Promise<string>((resolve) =>
    child.on('message', (m: { listening?: unknown }) => {
      if (typeof m?.listening !== 'string') return;
      child.disconnect();
      resolve(m.listening);
    }),
  );
  return { child, output, exited, listening };
}

/** The environment without ROSTRUM_* settings (the test's own store setting included). */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ROSTRUM_')));
}

/** `rostrum <args>` from the sources, with an IPC channel on which a `serve` says where it listens. */
export function cli(args: string[], extraEnv: Record<string, string> = {}): Cli {
  return spawnCli(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], extraEnv, true);
}

/**
 * The URL a `serve` from `cli` listens on, once it does (fails if the process exits first). With
 * `--port 0` the kernel picks the port, so no other test's server can take it first.
 */
export function listeningUrl(c: Cli): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rostrum did not start listening: ${c.output.stderr}`)), DEADLINE_MS);
    void c.listening.then((url) => (clearTimeout(timer), resolve(url)));
    void c.exited.then(() => (clearTimeout(timer), reject(new Error(`rostrum exited early: ${c.output.stderr}`))));
  });
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
  const c = cli(['serve', '--port', '0', '--data', data.dataDir, ...storeArgs(data), ...extra], env);
  const url = await listeningUrl(c);
  return { c, url, port: Number(new URL(url).port) };
}

/** Sends SIGTERM and checks the process exits by itself with code 0. */
export async function stop(c: Cli): Promise<void> {
  c.child.kill('SIGTERM');
  const { code, signal } = await c.exited;
  assert.equal(signal, null);
  assert.equal(code, 0, c.output.stderr);
}
