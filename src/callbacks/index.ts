// Wiring the callbacks into a server: the spool for the store in use, the service, the relay,
// the metrics. On SQLite the relay runs on a worker thread (relay-thread.ts), off the thread that
// serves requests; on PostgreSQL (whose reads wait on the network, not the CPU) and in memory it
// runs in the main thread.
import type { Registry } from 'prom-client';
import { parseStoreSpec } from '../config.js';
import type { AppId, App } from '../core/model.js';
import type { Bus } from '../core/ports/bus.js';
import type { Store } from '../core/ports/store.js';
import type { PrivateAddresses } from './address-policy.js';
import { fileTargets } from './commands.js';
import { callbackMetrics } from './metrics.js';
import { CallbackRelay, type CallbackOrder, type RelayLog, type RelayOptions } from './relay.js';
import { RelayThread, type RelayHandle } from './relay-thread.js';
import { CallbackService } from './service.js';
import { MemorySpool, type CallbackSpool } from './spool.js';
import { deliverySummary, type DeliverySummary } from './summary.js';

export interface CallbackOptions {
  /** Per delivery (ms); default 2000. */
  timeoutMs?: number;
  /** Give a delivery up after this many hours since its event; default 24. */
  giveUpHours?: number;
  /**
   * Given-up deliveries are removed this many days after they were given up (fractions allowed);
   * absent = kept until re-sent or discarded.
   */
  keepFailedDays?: number;
  /** How often the server removes them (ms); default 60000 (tests shorten it). */
  failedPruneIntervalMs?: number;
  /** Deliveries in flight per app (each in a different room, unless order is 'none'); default 8. */
  concurrency?: number;
  /**
   * 'room' (default): a room's deliveries go one at a time, in Seq order; 'none': in parallel too,
   * up to `concurrency` (for receivers that need no order or order by Seq themselves).
   */
  order?: CallbackOrder;
  /** First retry delay and cap (ms); defaults 500 and 60000 (tests shorten them). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /**
   * The relay thread's nice value on Linux with the SQLite store (0 to 19; default 10, 0 = the
   * server's own): under a burst that takes every core, requests go first and callbacks catch up.
   */
  relayNice?: number;
  /**
   * Whether deliveries may go to loopback, private, link-local and other internal addresses
   * (default 'allow'); 'deny' refuses them at delivery and refuses such URLs when configured.
   */
  privateAddresses?: PrivateAddresses;
}

export interface Callbacks {
  service: CallbackService;
  relay: RelayHandle;
  spool: CallbackSpool;
  /** The outbox may drop events older than this (ms). */
  pruneHorizon(): number;
  /** One app's deliveries at a glance (native API, console). */
  summary(appId: AppId): Promise<DeliverySummary>;
  close(): Promise<void>;
}

/** The spool beside the store the server options name (the CLI opens the same one). */
export async function openSpool(storeSpec: string | undefined, dataDir: string): Promise<CallbackSpool> {
  const spec = parseStoreSpec(storeSpec);
  switch (spec.kind) {
    case 'sqlite': {
      const { SqliteSpool } = await import('./spool-sqlite.js');
      return new SqliteSpool(dataDir);
    }
    case 'postgres': {
      const { PostgresSpool } = await import('./spool-postgres.js');
      return PostgresSpool.open(spec.url);
    }
    case 'memory':
      return new MemorySpool();
  }
}

export async function openCallbacks(deps: {
  opts: { store?: string; dataDir: string; callbacks?: CallbackOptions };
  store: Store;
  bus: Bus;
  apps: App[];
  registry: Registry;
  log?: RelayLog;
}): Promise<Callbacks> {
  const spool = await openSpool(deps.opts.store, deps.opts.dataDir);
  let relay: RelayHandle | undefined;
  let unsubscribe = () => {};
  try {
    const files = fileTargets(deps.apps);
    const o = deps.opts.callbacks ?? {};
    const service = new CallbackService(spool, files, o.privateAddresses);
    await service.load();
    const options: RelayOptions = {
      timeoutMs: o.timeoutMs,
      giveUpAfterMs: o.giveUpHours !== undefined ? o.giveUpHours * 3600_000 : undefined,
      concurrency: o.concurrency,
      order: o.order,
      backoffBaseMs: o.backoffBaseMs,
      backoffMaxMs: o.backoffMaxMs,
      privateAddresses: o.privateAddresses,
    };
    const metrics = callbackMetrics(
      deps.registry,
      () => spool.counts(),
      () => relay?.sendingApps() ?? [],
    );
    if (parseStoreSpec(deps.opts.store).kind === 'sqlite') {
      const nice = o.relayNice ?? 10;
      const thread = await RelayThread.start({ dataDir: deps.opts.dataDir, files: [...files], options, nice }, metrics, () => service.anyConfigured(), deps.log);
      relay = thread;
      service.onChange = () => thread.changed();
      unsubscribe = deps.bus.subscribe(() => thread.wake());
    } else {
      const inProcess = new CallbackRelay(deps.store, spool, deps.bus, service, options, metrics, deps.log);
      relay = inProcess;
      await inProcess.start();
    }
    const started = relay;
    return {
      service,
      relay: started,
      spool,
      pruneHorizon: () => started.pruneHorizon(),
      summary: (appId) => deliverySummary({ spool, service, metrics }, appId),
      async close() {
        unsubscribe();
        await started.close();
        await spool.close();
      },
    };
  } catch (e) {
    unsubscribe();
    await relay?.close().catch(() => {});
    await spool.close().catch(() => {});
    throw e;
  }
}
