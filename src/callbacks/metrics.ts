// Callback metrics on the server's registry (GET /metrics), labelled by app.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AppId } from '../core/model.js';
import type { SpoolCounts } from './spool.js';

/** What the relay records: the metrics below, or a worker thread's tally posted to them. */
export interface RelayMetrics {
  queued: { inc(labels: { app: string }): void };
  delivered: { inc(labels: { app: string }): void };
  retried: { inc(labels: { app: string }): void };
  failed: { inc(labels: { app: string }): void };
  lag: { observe(labels: { app: string }, seconds: number): void };
}

export interface CallbackMetrics {
  /** Restarts of the relay's thread after it died (SQLite). */
  relayRestarts: Counter;
  queued: Counter<'app'>;
  delivered: Counter<'app'>;
  retried: Counter<'app'>;
  failed: Counter<'app'>;
  lag: Histogram<'app'>;
}

export function callbackMetrics(registry: Registry, counts: () => Promise<SpoolCounts[]>, sending: () => AppId[] = () => []): CallbackMetrics {
  const registers = [registry];
  new Gauge({
    name: 'rostrum_callbacks_spooled',
    help: 'Callbacks in the spool, by app and state (pending, failed = given up)',
    labelNames: ['app', 'state'],
    registers,
    async collect() {
      this.reset();
      for (const c of await counts()) {
        this.set({ app: String(c.appId), state: 'pending' }, c.pending);
        this.set({ app: String(c.appId), state: 'failed' }, c.failed);
      }
    },
  });
  new Gauge({
    name: 'rostrum_callbacks_sending',
    help: "1 for each app whose callbacks this node sends (several nodes: one node per app, under a lease)",
    labelNames: ['app'],
    registers,
    collect() {
      this.reset();
      for (const appId of sending()) this.set({ app: String(appId) }, 1);
    },
  });
  return {
    relayRestarts: new Counter({
      name: 'rostrum_callbacks_relay_restarts_total',
      help: "Times the callback relay's thread died and was started again (SQLite; deliveries carry on from the spool)",
      registers,
    }),
    queued: new Counter({ name: 'rostrum_callbacks_queued_total', help: 'Callbacks spooled from the outbox, by app', labelNames: ['app'], registers }),
    delivered: new Counter({ name: 'rostrum_callbacks_delivered_total', help: 'Callbacks the receiver accepted, by app', labelNames: ['app'], registers }),
    retried: new Counter({ name: 'rostrum_callbacks_retried_total', help: 'Failed delivery attempts that will be retried, by app', labelNames: ['app'], registers }),
    failed: new Counter({ name: 'rostrum_callbacks_failed_total', help: 'Callbacks given up (kept; re-send with rostrum webhooks retry or drop with rostrum webhooks discard), by app', labelNames: ['app'], registers }),
    lag: new Histogram({
      name: 'rostrum_callbacks_delivery_lag_seconds',
      help: 'From the event to its accepted delivery, by app',
      labelNames: ['app'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
      registers,
    }),
  };
}
