// Prometheus metrics, one registry per server instance (GET /metrics).
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Bus } from '../core/ports/bus.js';

export function registerMetrics(http: FastifyInstance, bus: Bus, connectionCount: () => number): Registry {
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
  bus.subscribe((e) => byType.set(e.type, (byType.get(e.type) ?? 0) + 1));
  new Gauge({
    name: 'rostrum_realtime_connections',
    help: 'Open realtime (WebSocket) connections',
    registers: [registry],
    collect() {
      this.set(connectionCount());
    },
  });
  const requests = new Counter({
    name: 'rostrum_http_requests_total',
    help: 'HTTP requests answered, by route and status',
    labelNames: ['route', 'status'],
    registers: [registry],
  });
  http.addHook('onResponse', (req, reply, done) => {
    requests.inc({ route: req.routeOptions.url ?? 'unmatched', status: reply.statusCode });
    done();
  });
  http.get('/metrics', async (_req, reply) => reply.header('content-type', registry.contentType).send(await registry.metrics()));
  return registry;
}
