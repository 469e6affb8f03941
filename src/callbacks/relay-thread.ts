// The callback relay on a worker thread, seen from the main thread (SQLite store). Reading the
// outbox, building bodies, spooling and sending them were a third to a half of the main thread
// with callbacks on; on a worker they cost it a wake-up message per event-loop turn with commits.
// The worker (relay-worker.ts) opens its own connections: a read-only one to the store's outbox
// and one to the callback spool. The main thread keeps its own spool connection for the service
// (REST configuration, re-sends, counts); a change there is posted to the worker, which reloads.
// The worker posts back what the main thread shows: metrics, the outbox prune horizon, the apps
// it sends. If the worker dies, it is started again: the spool and its cursor are durable.
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { AppId } from '../core/model.js';
import type { FileCallbackConfig } from './commands.js';
import type { CallbackMetrics } from './metrics.js';
import type { RelayLog, RelayOptions } from './relay.js';

/** What the worker is started with. */
export interface RelayWorkerInit {
  dataDir: string;
  files: [AppId, FileCallbackConfig][];
  options: RelayOptions;
  /** The worker thread's nice value (Linux): 0 leaves it at the process's. */
  nice: number;
}

export type Kind = 'queued' | 'delivered' | 'retried' | 'failed';

/** Main thread -> worker. */
export type ToWorker = { t: 'wake' } | { t: 'changed' } | { t: 'idle'; id: number } | { t: 'close' };

/** Worker -> main thread. */
export type FromWorker =
  | { t: 'ready' }
  | { t: 'failed'; message: string }
  | { t: 'report'; counts: [Kind, string, number][]; lag: [string, number][]; horizon: number; sending: AppId[] }
  | { t: 'log'; level: 'warn' | 'error'; obj: object; msg: string }
  | { t: 'idle'; id: number; value: boolean }
  | { t: 'closed' };

/** The relay as the server sees it, wherever it runs. */
export interface RelayHandle {
  /** The outbox may drop events older than this (ms). */
  pruneHorizon(): number;
  /** The apps this node sends now. */
  sendingApps(): AppId[];
  /** Nothing queued, in flight or left to read (tests, shutdown). */
  idle(): Promise<boolean>;
  close(): Promise<void>;
}

const RESTART_MS = 1000;
/**
 * Wake-ups go at most this often: each one costs the main thread a message and the worker a
 * thread wake-up (4 % of the main thread in a join storm when posted every turn), and the
 * feeder gathers commits for 10 ms after one anyway.
 */
const WAKE_MS = 10;
const CLOSE_TIMEOUT_MS = 10_000;

// A worker's entry must be JavaScript; from TypeScript sources (tests, tsx) it registers tsx first.
const BOOT = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.entry);
})().catch((e) => setImmediate(() => { throw e; }));
`;

function bootData(init: RelayWorkerInit) {
  const fromSource = import.meta.url.endsWith('.ts');
  return {
    entry: new URL(fromSource ? './relay-worker.ts' : './relay-worker.js', import.meta.url).href,
    tsx: fromSource ? import.meta.resolve('tsx/esm/api') : '',
    init,
  };
}

export class RelayThread implements RelayHandle {
  private worker!: Worker;
  private horizon = 0;
  private sending: AppId[] = [];
  private readonly asked = new Map<number, (idle: boolean) => void>();
  private nextAsk = 1;
  private wakePending = false;
  private lastWake = 0;
  private alive = false;
  /** Whether a thread has run (started) once. */
  private ran = false;
  private closing = false;
  private closed_!: () => void;
  private readonly closed = new Promise<void>((r) => (this.closed_ = r));

  private constructor(
    private readonly init: RelayWorkerInit,
    private readonly metrics: CallbackMetrics,
    private readonly wanted: () => boolean,
    private readonly log?: RelayLog,
  ) {}

  /**
   * Starts the worker; resolves once its relay runs (rejects when it cannot start). `wanted`:
   * whether any app has callbacks now; when none does, commits send no wake-up (the relay only
   * follows the outbox head, once a second).
   */
  static async start(init: RelayWorkerInit, metrics: CallbackMetrics, wanted: () => boolean, log?: RelayLog): Promise<RelayThread> {
    const r = new RelayThread(init, metrics, wanted, log);
    await r.spawn();
    return r;
  }

  private spawn(): Promise<void> {
    return new Promise((resolve, reject) => {
      const w = new Worker(BOOT, { eval: true, workerData: bootData(this.init) });
      this.worker = w;
      this.alive = true;
      let started = false;
      w.on('message', (m: FromWorker) => {
        if (m.t === 'ready') {
          started = this.ran = true;
          resolve();
        } else if (m.t === 'failed') reject(new Error(`the callback relay could not start: ${m.message}`));
        else this.received(m);
      });
      w.on('error', (err) => {
        if (!started) reject(err);
        else this.log?.error({ err }, 'callbacks: the relay thread failed');
      });
      w.on('exit', () => {
        this.alive = false;
        for (const answer of this.asked.values()) answer(false);
        this.asked.clear();
        if (this.closing) return this.closed_();
        if (!started) reject(new Error('the callback relay thread exited while starting'));
        // The first start's failure is the server's (it does not start); after that, a thread
        // that dies, or fails to start again, is started again.
        if (!this.ran) return;
        this.log?.error({}, `callbacks: the relay thread stopped; starting it again in ${RESTART_MS} ms`);
        this.metrics.relayRestarts.inc();
        setTimeout(() => {
          if (!this.closing) this.spawn().catch((err) => this.log?.error({ err }, 'callbacks: starting the relay thread again failed'));
        }, RESTART_MS).unref();
      });
    });
  }

  private received(m: FromWorker): void {
    switch (m.t) {
      case 'report':
        for (const [kind, app, n] of m.counts) this.metrics[kind].inc({ app }, n);
        for (const [app, seconds] of m.lag) this.metrics.lag.observe({ app }, seconds);
        this.horizon = m.horizon;
        this.sending = m.sending;
        break;
      case 'log':
        this.log?.[m.level](m.obj, m.msg);
        break;
      case 'idle':
        this.asked.get(m.id)?.(m.value);
        this.asked.delete(m.id);
        break;
      case 'closed':
        break;
    }
  }

  private post(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  /** Events committed: a wake-up, at most one per WAKE_MS. */
  wake(): void {
    if (this.wakePending || this.closing || !this.wanted()) return;
    this.wakePending = true;
    const send = () => {
      this.wakePending = false;
      this.lastWake = performance.now();
      if (!this.closing) this.post({ t: 'wake' });
    };
    const wait = this.lastWake + WAKE_MS - performance.now();
    if (wait <= 0) setImmediate(send);
    else setTimeout(send, wait).unref();
  }

  /** A configuration changed or rows were re-sent here: the worker reloads and wakes. */
  changed(): void {
    if (!this.closing) this.post({ t: 'changed' });
  }

  pruneHorizon(): number {
    return this.horizon;
  }

  sendingApps(): AppId[] {
    return this.sending;
  }

  idle(): Promise<boolean> {
    if (this.closing) return Promise.resolve(true);
    const id = this.nextAsk++;
    return new Promise((resolve) => {
      this.asked.set(id, resolve);
      this.post({ t: 'idle', id });
    });
  }

  async close(): Promise<void> {
    if (this.closing) return this.closed;
    this.closing = true;
    if (!this.alive) return; // died, and not started again since
    this.post({ t: 'close' });
    const timer = setTimeout(() => void this.worker.terminate(), CLOSE_TIMEOUT_MS);
    await this.closed;
    clearTimeout(timer);
  }
}
