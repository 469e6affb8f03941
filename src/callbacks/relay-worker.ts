// The callback relay's worker thread (see relay-thread.ts): the relay itself, over the store's
// outbox read on a connection of its own and the callback spool, woken by the main thread.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteOutboxReader } from '../adapters/sqlite/outbox-reader.js';
import type { AppId } from '../core/model.js';
import type { RelayMetrics } from './metrics.js';
import { CallbackRelay, type RelayLog } from './relay.js';
import type { FromWorker, Kind, RelayWorkerInit, ToWorker } from './relay-thread.js';
import { CallbackService } from './service.js';
import { SqliteSpool } from './spool-sqlite.js';

const REPORT_MS = 100;
const port = parentPort!;
const init = (workerData as { init: RelayWorkerInit }).init;
const post = (m: FromWorker) => port.postMessage(m);

/**
 * Callbacks are background work: under a burst that takes every core, the admin API and the
 * gateway go first and the relay catches up from the spool after (idle cores it still gets in
 * full). Linux lets one thread of a process take a lower priority; elsewhere nothing changes.
 */
function lowerThreadPriority(nice: number): void {
  if (nice <= 0) return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, nice);
  } catch {
    // not Linux, or not allowed: the relay runs at the process's priority
  }
}
lowerThreadPriority(init.nice);

/** Metrics counted here and posted to the main thread's registry every REPORT_MS. */
class Tally implements RelayMetrics {
  private counts = new Map<string, [Kind, string, number]>();
  private lags: [string, number][] = [];
  readonly queued = this.counter('queued');
  readonly delivered = this.counter('delivered');
  readonly retried = this.counter('retried');
  readonly failed = this.counter('failed');
  readonly lag = { observe: (l: { app: string }, seconds: number) => void this.lags.push([l.app, seconds]) };

  private counter(kind: Kind) {
    return {
      inc: (l: { app: string }) => {
        const key = `${kind}\n${l.app}`;
        const c = this.counts.get(key);
        if (c) c[2]++;
        else this.counts.set(key, [kind, l.app, 1]);
      },
    };
  }

  get empty(): boolean {
    return this.counts.size === 0 && this.lags.length === 0;
  }

  take(): { counts: [Kind, string, number][]; lag: [string, number][] } {
    const out = { counts: [...this.counts.values()], lag: this.lags };
    this.counts = new Map();
    this.lags = [];
    return out;
  }
}

/** Errors go over as plain objects (an error may hold what cannot be posted, such as a socket). */
function postable(obj: object): object {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    out[k] = v instanceof Error ? { type: v.name, message: v.message, stack: v.stack, code: (v as { code?: unknown }).code } : v;
  }
  return out;
}

const log: RelayLog = {
  warn: (obj, msg) => post({ t: 'log', level: 'warn', obj: postable(obj), msg }),
  error: (obj, msg) => post({ t: 'log', level: 'error', obj: postable(obj), msg }),
};

async function main(): Promise<void> {
  const spool = new SqliteSpool(init.dataDir);
  const outbox = new SqliteOutboxReader(init.dataDir);
  const service = new CallbackService(spool, new Map(init.files));
  await service.load();
  const wakeups = new Set<() => void>();
  const tally = new Tally();
  const relay = new CallbackRelay(
    outbox,
    spool,
    { subscribe: (h) => (wakeups.add(h), () => void wakeups.delete(h)) },
    service,
    init.options,
    tally,
    log,
  );
  await relay.start();

  let last = { horizon: -1, sending: '' };
  const report = () => {
    const horizon = relay.pruneHorizon();
    const sending: AppId[] = relay.sendingApps();
    const key = sending.join(',');
    if (tally.empty && horizon === last.horizon && key === last.sending) return;
    last = { horizon, sending: key };
    post({ t: 'report', ...tally.take(), horizon, sending });
  };
  const timer = setInterval(report, REPORT_MS);

  port.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'wake':
        for (const h of wakeups) h();
        break;
      case 'changed':
        void service
          .load()
          .then(() => service.onChange())
          .catch((err) => log.error({ err }, 'callbacks: reloading the configuration failed'));
        break;
      case 'idle':
        void relay.idle().then((value) => {
          report(); // the metrics of what it did reach the registry before the answer
          post({ t: 'idle', id: m.id, value });
        });
        break;
      case 'close':
        clearInterval(timer);
        void relay
          .close()
          .then(async () => {
            report();
            await spool.close();
            outbox.close();
          })
          .catch((err) => log.error({ err }, 'callbacks: closing the relay failed'))
          .finally(() => {
            post({ t: 'closed' });
            port.close();
          });
        break;
    }
  });
  post({ t: 'ready' });
}

main().catch((e: unknown) => {
  post({ t: 'failed', message: e instanceof Error ? e.message : String(e) });
  port.close();
});
