// Child processes for the benchmarks: each runs one TypeScript entry point through tsx and talks
// to the runner over Node's IPC channel ({id, op, ...} -> {id, ok, result | error}).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { PerformanceObserver, monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export interface Child {
  name: string;
  proc: ChildProcess;
  /** What the child sent with its `ready` message (e.g. its port). */
  ready: Record<string, any>;
  call<T = any>(op: string, args?: Record<string, unknown>): Promise<T>;
  /** Unsolicited messages from the child ({type: ...}). */
  onMessage(handler: (msg: any) => void): void;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

/** The runner is exiting without having stopped them: children clean up on SIGTERM and exit. */
function killAll(): void {
  for (const p of running) p.kill('SIGTERM');
  running.clear();
}
let hooked = false;

/** In the runner (not in children, which import this module too): never leave a child behind. */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

let fdLimits: { soft: number; hard: number } | undefined;

/** The shell's open-file limits (soft, hard). */
export function openFileLimits(): { soft: number; hard: number } {
  if (!fdLimits) {
    const out = spawnSync('sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' }).stdout.trim().split('\n');
    const num = (s: string | undefined) => (s === undefined || s === 'unlimited' ? Infinity : Number(s));
    fdLimits = { soft: num(out[0]), hard: num(out[1]) };
  }
  return fdLimits;
}

export interface StartOptions {
  args?: string[];
  env?: Record<string, string>;
  /** Extra node flags, e.g. --expose-gc or --cpu-prof. */
  nodeFlags?: string[];
  /** Open files the child needs; the soft limit is raised up to the hard one when lower. */
  files?: number;
  /** The child's stdout goes to this file (as a service's would), not to the runner's. */
  stdout?: string;
}

export async function startChild(name: string, script: string, opts: StartOptions = {}): Promise<Child> {
  hookExit();
  const nodeArgs = [...(opts.nodeFlags ?? []), '--import', 'tsx', script, ...(opts.args ?? [])];
  const env = { ...process.env, ...opts.env };
  const out = opts.stdout !== undefined ? openSync(opts.stdout, 'a') : 'inherit';
  const stdio: ['ignore', number | 'inherit', 'inherit', 'ipc'] = ['ignore', out, 'inherit', 'ipc'];
  const limits = openFileLimits();
  let proc: ChildProcess;
  if (opts.files !== undefined && limits.soft < opts.files) {
    const n = Number.isFinite(limits.hard) ? Math.min(limits.hard, opts.files) : opts.files;
    const quoted = [process.execPath, ...nodeArgs].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    proc = spawn('sh', ['-c', `ulimit -n ${n} && exec ${quoted}`], { stdio, env });
  } else {
    proc = spawn(process.execPath, nodeArgs, { stdio, env });
  }
  if (typeof out === 'number') closeSync(out); // the child has its own copy
  running.add(proc);

  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const listeners: ((msg: any) => void)[] = [];
  let nextId = 1;
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) =>
    proc.once('exit', (code, signal) => {
      exited = true;
      running.delete(proc);
      for (const p of pending.values()) p.reject(new Error(`${name} exited (${code ?? signal})`));
      pending.clear();
      resolve();
    }),
  );

  const ready = await new Promise<Record<string, any>>((resolve, reject) => {
    proc.once('exit', (code, signal) => reject(new Error(`${name} exited before it was ready (${code ?? signal})`)));
    proc.on('message', (msg: any) => {
      if (msg?.type === 'ready') return resolve(msg);
      if (typeof msg?.id === 'number') {
        const p = pending.get(msg.id);
        if (!p) return;
        pending.delete(msg.id);
        const r = msg as Reply;
        if (r.ok) p.resolve(r.result);
        else p.reject(new Error(`${name}: ${r.error}`));
        return;
      }
      for (const l of listeners) l(msg);
    });
  });

  const child: Child = {
    name,
    proc,
    ready,
    call(op, args = {}) {
      if (exited) return Promise.reject(new Error(`${name} has exited`));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        proc.send({ id, op, ...args });
      });
    },
    onMessage(handler) {
      listeners.push(handler);
    },
    async stop() {
      if (exited) return;
      try {
        await Promise.race([child.call('stop'), exitedPromise, sleep(10_000)]);
      } catch {
        // it exited while answering
      }
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
  return child;
}

export type Handlers = Record<string, (msg: any) => unknown>;

/** What stalled this process's event loop since the last `stalls` call (started by the first). */
export interface Stalls {
  loopDelayP99: number;
  loopDelayMax: number;
  gcCount: number;
  gcMs: number;
  gcMaxMs: number;
}
let loop: IntervalHistogram | undefined;
let gc = { count: 0, ms: 0, max: 0 };

function stalls(): Stalls {
  if (!loop) {
    loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        gc.count++;
        gc.ms += e.duration;
        gc.max = Math.max(gc.max, e.duration);
      }
    }).observe({ entryTypes: ['gc'] });
  }
  const out = { loopDelayP99: loop.percentile(99) / 1e6, loopDelayMax: loop.max / 1e6, gcCount: gc.count, gcMs: gc.ms, gcMaxMs: gc.max };
  loop.reset();
  gc = { count: 0, ms: 0, max: 0 };
  return out;
}

const builtins: Handlers = {
  /** CPU time used so far by this process (user + system), µs. */
  cpu: () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  },
  stalls,
  /** Memory after full GCs (when node runs with --expose-gc). */
  memory: () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc) for (let i = 0; i < 3; i++) gc();
    return { ...process.memoryUsage(), gcExposed: gc !== undefined };
  },
};

const cleanups: (() => void)[] = [];

/** Runs `fn` (synchronous) if the child has to exit without a `stop`. */
export function onAbort(fn: () => void): void {
  cleanups.push(fn);
}

function abort(): never {
  for (const fn of cleanups.splice(0)) {
    try {
      fn();
    } catch {
      // exiting anyway
    }
  }
  process.exit(1);
}

/** The child's side: answers the runner's calls and says it is ready. `stop` exits after answering. */
export function serveParent(handlers: Handlers, ready: Record<string, unknown>): void {
  process.on('disconnect', abort); // the runner is gone
  process.on('SIGTERM', abort);
  process.on('message', async (msg: any) => {
    if (typeof msg?.id !== 'number') return;
    try {
      const h = handlers[msg.op] ?? builtins[msg.op];
      if (!h) throw new Error(`unknown op ${msg.op}`);
      const result = await h(msg);
      process.send!({ id: msg.id, ok: true, result: result ?? null });
      if (msg.op === 'stop') setImmediate(() => process.exit(0));
    } catch (e) {
      process.send!({ id: msg.id, ok: false, error: (e as Error).stack ?? String(e) });
    }
  });
  process.send!({ type: 'ready', ...ready });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Sorted-sample percentile (p in 0..100). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summarize(samples: number[]): { n: number; p50: number; p99: number; max: number; mean: number } {
  const s = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of s) sum += v;
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s.length ? s[s.length - 1] : NaN, mean: s.length ? sum / s.length : NaN };
}
