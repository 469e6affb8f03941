// Prometheus metrics, one registry per server instance (GET /metrics).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Bus } from '../core/ports/bus.js';

export function registerMetrics(
  http: FastifyInstance,
  bus: Bus,
  connectionCount: () => number,
  fills?: { readonly gap: number; readonly resync: number },
): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'rostrum_' });
  // Counted in a plain map on the event path and handed to the counter when scraped: a labelled
  // inc per event costs more than the rest of the subscriber's work.
  const byType = new Map<string, number>();
  new Counter({
    name: 'rostrum_events_total',
    help: 'Domain events committed, by type',
    labelNames: ['type'],
    registers: [registry],
    collect() {
      for (const [type, n] of byType) this.inc({ type }, n);
      byType.clear();
    },
  });
  // This node's commits only: on a shared bus every node sees every node's events.
  bus.subscribe((e, remote) => {
    if (!remote) byType.set(e.type, (byType.get(e.type) ?? 0) + 1);
  });
  const stats = bus.stats;
  if (stats) {
    for (const [key, help] of [
      ['sent', 'Events sent to the other nodes over the shared bus'],
      ['dropped', 'Events not sent to the other nodes (the bus was away; they catch up from the store)'],
      ['received', 'Events received from the other nodes'],
    ] as const) {
      new Counter({
        name: `rostrum_bus_events_${key}_total`,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(stats[key]);
        },
      });
    }
  }
  if (bus.ready) {
    const ready = bus.ready.bind(bus);
    new Gauge({
      name: 'rostrum_bus_connected',
      help: '1 while the shared bus is connected',
      registers: [registry],
      collect() {
        this.set(ready() ? 1 : 0);
      },
    });
  }
  if (fills) {
    new Counter({
      name: 'rostrum_realtime_gap_fills_total',
      help: "Store reads to fill a hole in a room's events: gap = an event came ahead of an earlier one (another node's) that did not follow within 25 ms; resync = after the bus was away",
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ reason: 'gap' }, fills.gap);
        this.inc({ reason: 'resync' }, fills.resync);
      },
    });
  }
  new Gauge({
    name: 'rostrum_realtime_connections',
    help: 'Open realtime (WebSocket) connections',
    registers: [registry],
    collect() {
      this.set(connectionCount());
    },
  });
  // Counted per route in plain maps (totals), handed to the counter when scraped: a labelled inc() and
  // request.routeOptions (an object built per access) cost measurable CPU on every request.
  const answered = new Map<string, Map<number, number>>();
  const countFor = (route: string) => {
    let byStatus = answered.get(route);
    if (!byStatus) answered.set(route, (byStatus = new Map()));
    return (status: number) => byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  };
  new Counter({
    name: 'rostrum_http_requests_total',
    help: 'HTTP requests answered, by route and status',
    labelNames: ['route', 'status'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [route, byStatus] of answered) for (const [status, n] of byStatus) this.inc({ route, status }, n);
    },
  });
  http.addHook('onRoute', (route) => {
    const count = countFor(route.url);
    const hook = (_req: FastifyRequest, reply: FastifyReply, done: () => void) => {
      count(reply.statusCode);
      done();
    };
    route.onResponse = route.onResponse === undefined ? [hook] : [...[route.onResponse].flat(), hook];
  });
  const unmatched = countFor('unmatched');
  http.addHook('onResponse', (req, reply, done) => {
    if (req.is404) unmatched(reply.statusCode);
    done();
  });
  http.get('/metrics', async (_req, reply) => reply.header('content-type', registry.contentType).send(await registry.metrics()));
  return registry;
}
