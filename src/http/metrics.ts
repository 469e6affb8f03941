// Prometheus metrics, one registry per server instance (GET /metrics).
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Bus } from '../core/ports/bus.js';

export function registerMetrics(http: FastifyInstance, bus: Bus, connectionCount: () => number): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'rostrum_' });
  const events = new Counter({
    name: 'rostrum_events_total',
    help: 'Domain events committed, by type',
    labelNames: ['type'],
    registers: [registry],
  });
  bus.subscribe((e) => events.inc({ type: e.type }));
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
