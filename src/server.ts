// Composition root: picks the store adapter, wires it with the bus, engine, dialects and
// realtime gateway into one server.
import Fastify, { type FastifyInstance } from 'fastify';
import { randomBytes, randomInt } from 'node:crypto';
import { LocalBus } from './adapters/local-bus.js';
import { AppRegistry, parseStoreSpec } from './config.js';
import { Engine } from './core/engine.js';
import type { App } from './core/model.js';
import type { Bus } from './core/ports/bus.js';
import type { Store } from './core/ports/store.js';
import { UserSigVerifier } from './auth/usersig.js';
import { RateLimiter } from './http/rate-limit.js';
import { registerMetrics } from './http/metrics.js';
import { tencentRoutes } from './dialects/tencent/routes.js';
import { polyvRoutes } from './dialects/polyv/routes.js';
import { RealtimeGateway } from './realtime/gateway.js';
import { RequestLogController, requestLog } from './http/request-log.js';

export interface ServerOptions {
  host?: string;
  port?: number;
  /** The SQLite store's directory (other stores do not use it). */
  dataDir: string;
  /**
   * Where state is kept: absent or 'sqlite' = SQLite in `dataDir`; a `postgres://` or
   * `postgresql://` URL = PostgreSQL (`?schema=name` puts the tables in their own schema);
   * 'memory' = in this process only, lost on exit (tests and benchmarks; not durable).
   */
  store?: string;
  /** The apps; none = a development app kept in the data dir. */
  apps?: App[];
  trustProxy?: boolean | string[];
  bodyLimit?: number;
  nodeId?: string;
  realtime?: {
    heartbeatSeconds?: number;
    maxBufferedBytes?: number;
    seatGraceSeconds?: number;
    resumeWindowSeconds?: number;
    audienceThreshold?: number;
    memberCountIntervalMs?: number;
    messagesPerSecond?: number;
  };
  /** Chat history retention, hours (default 168: a week). */
  chatRetentionHours?: number;
  outboxRetentionHours?: number;
  /** pino options, or false for no request logging (tests, benchmarks). */
  logger?: boolean | object;
}

export interface RostrumServer {
  url: string;
  port: number;
  http: FastifyInstance;
  engine: Engine;
  store: Store;
  bus: Bus;
  apps: AppRegistry;
  realtime: RealtimeGateway;
  /** Set when no apps were configured and the development app is in use. */
  devApp?: App;
  close(): Promise<void>;
}

const DEV_APP_KEY = 'devApp';

/** The store the options name. Adapters are loaded on demand: one deployment needs one. */
async function openStore(opts: ServerOptions): Promise<Store> {
  const spec = parseStoreSpec(opts.store);
  switch (spec.kind) {
    case 'sqlite': {
      const { SqliteStore } = await import('./adapters/sqlite/store.js');
      return new SqliteStore(opts.dataDir);
    }
    case 'postgres': {
      const { PostgresStore } = await import('./adapters/postgres/store.js');
      return PostgresStore.open(spec.url);
    }
    case 'memory': {
      const { MemoryStore } = await import('./adapters/memory/store.js');
      return new MemoryStore();
    }
  }
}

/** The development app: made once, then kept in the store. */
async function ensureDevApp(store: Store): Promise<App> {
  const saved = await store.getMeta(DEV_APP_KEY);
  if (saved) return JSON.parse(saved) as App;
  const app: App = {
    sdkAppId: 1400000000 + randomInt(0, 99_999_999),
    secretKey: randomBytes(32).toString('hex'),
    admins: ['administrator'],
    rateLimit: { perCommandPerSecond: 200, perEndpointPerSecond: 200 },
  };
  await store.setMeta(DEV_APP_KEY, JSON.stringify(app));
  return app;
}

export async function startServer(opts: ServerOptions): Promise<RostrumServer> {
  const store = await openStore(opts);
  try {
    return await serve(opts, store);
  } catch (e) {
    // A start that failed (port taken…) must not leave the store open: a pool keeps a process alive.
    await store.close().catch(() => undefined);
    throw e;
  }
}

async function serve(opts: ServerOptions, store: Store): Promise<RostrumServer> {
  const bus = new LocalBus();
  const engine = new Engine(store, bus);
  const devApp = opts.apps && opts.apps.length > 0 ? undefined : await ensureDevApp(store);
  const apps = new AppRegistry(devApp ? [devApp] : opts.apps!);
  const nodeId = opts.nodeId ?? 'node1';

  // Connections of an earlier run of this node are gone: their members leave now.
  await engine.evictConnections(`${nodeId}:`);

  const log = requestLog(opts.logger);
  const http = Fastify({
    logger: log.options,
    logController: new RequestLogController(),
    childLoggerFactory: log.childLoggerFactory,
    trustProxy: opts.trustProxy ?? false,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
  });
  const limiter = new RateLimiter();
  const verifier = new UserSigVerifier();
  const realtime = new RealtimeGateway({
    engine,
    bus,
    apps,
    verifier,
    nodeId,
    trustProxy: opts.trustProxy,
    heartbeatSeconds: opts.realtime?.heartbeatSeconds,
    maxBufferedBytes: opts.realtime?.maxBufferedBytes,
    store,
    seatGraceSeconds: opts.realtime?.seatGraceSeconds,
    resumeWindowSeconds: opts.realtime?.resumeWindowSeconds,
    audienceThreshold: opts.realtime?.audienceThreshold,
    memberCountIntervalMs: opts.realtime?.memberCountIntervalMs,
    messagesPerSecond: opts.realtime?.messagesPerSecond,
    log: http.log,
  });
  realtime.attach(http.server);
  registerMetrics(http, bus, () => realtime.connectionCount);

  http.get('/healthz', async (_req, reply) => {
    try {
      await store.getMeta(DEV_APP_KEY);
      return { status: 'ok' };
    } catch {
      return reply.code(503).send({ status: 'unavailable' });
    }
  });
  await http.register(async (scope) => tencentRoutes(scope, { engine, apps, limiter, verifier }));
  await http.register(async (scope) => polyvRoutes(scope, { engine, apps, limiter }));

  const retentionMs = (opts.outboxRetentionHours ?? 24) * 3600_000;
  // Prunes in small batches so a large backlog never blocks the event loop for long.
  const chatRetentionMs = (opts.chatRetentionHours ?? 168) * 3600_000;
  const prune = async () => {
    const before = Date.now() - retentionMs;
    while ((await store.pruneOutbox(before, 2000)) === 2000) await new Promise((r) => setImmediate(r));
    const chatBefore = Date.now() - chatRetentionMs;
    while ((await store.pruneMessages(chatBefore, 2000)) === 2000) await new Promise((r) => setImmediate(r));
  };
  const pruner = setInterval(() => prune().catch((err) => http.log.error({ err }, 'outbox prune failed')), 10_000);
  pruner.unref();

  await http.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8080 });
  const address = http.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 8080);
  const host = opts.host ?? '127.0.0.1';

  let closed = false;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    http,
    engine,
    store,
    bus,
    apps,
    realtime,
    devApp,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(pruner);
      await realtime.close();
      await http.close();
      await bus.close();
      await store.close();
      log.flush();
    },
  };
}
