// Composition root: picks the store adapter, wires it with the bus, engine, dialects and
// realtime gateway into one server.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { randomBytes, randomInt } from 'node:crypto';
import { hostname } from 'node:os';
import { LocalBus } from './adapters/local-bus.js';
import { AppRegistry, parseBusSpec, parseStoreSpec } from './config.js';
import { Engine } from './core/engine.js';
import type { App } from './core/model.js';
import type { Bus } from './core/ports/bus.js';
import type { Limits } from './core/ports/limits.js';
import { LocalLimits } from './core/local-limits.js';
import type { Store } from './core/ports/store.js';
import { UserSigVerifier } from './auth/usersig.js';
import { RateLimiter } from './http/rate-limit.js';
import { registerMetrics } from './http/metrics.js';
import { tencentRoutes } from './dialects/tencent/routes.js';
import { polyvRoutes } from './dialects/polyv/routes.js';
import { RealtimeGateway, membershipKey } from './realtime/gateway.js';
import { RequestLogController, requestLog } from './http/request-log.js';
import { frameworkError, notFound, rootError } from './http/prefix-routing.js';
import { clientErrorHandler } from './http/client-errors.js';
import { openCallbacks, type Callbacks, type CallbackOptions } from './callbacks/index.js';
import { API_PREFIX, apiRoutes } from './api/plugin.js';
import { pruneInPages } from './retention.js';
import { consoleAuth, consoleRoutes } from './console/routes.js';
import { MemorySessionStore, Sessions, SignInThrottle, type SessionStore } from './console/sessions.js';

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
  /**
   * How committed events reach the realtime gateways: absent or 'local' = this process only;
   * a `redis://` URL = every node sharing that Redis (with a shared PostgreSQL store).
   */
  bus?: string;
  /** The apps; none = a development app kept in the data dir. */
  apps?: App[];
  trustProxy?: boolean | string[];
  bodyLimit?: number;
  /**
   * This process's id among the nodes; unique per node, and stable across its restarts (a restart
   * then clears its old connections at once). Default `node1`; with a Redis bus, the host name
   * and a random suffix (unique, but not stable: a dead run's members wait for the liveness sweep).
   */
  nodeId?: string;
  realtime?: {
    heartbeatSeconds?: number;
    maxBufferedBytes?: number;
    seatGraceSeconds?: number;
    resumeWindowSeconds?: number;
    audienceThreshold?: number;
    memberCountIntervalMs?: number;
    messagesPerSecond?: number;
    maxConnectionsPerUser?: number;
  };
  /** Chat history retention, hours (default 168: a week). */
  chatRetentionHours?: number;
  outboxRetentionHours?: number;
  /** HTTP timeouts, seconds (defaults: headers 10, request 30, keep-alive 5); see README. */
  timeouts?: { headersSeconds?: number; requestSeconds?: number; keepAliveSeconds?: number };
  /** Callback delivery settings (per-app targets are in `apps[].callback`). */
  callbacks?: CallbackOptions;
  /** Audit log retention, days (default 90). */
  auditRetentionDays?: number;
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
  /** This node's id (the prefix of its connection ids). */
  nodeId: string;
  apps: AppRegistry;
  realtime: RealtimeGateway;
  /** The callback relay and its service (configuration, failed deliveries, re-sends). */
  callbacks: Callbacks;
  /** Set when no apps were configured and the development app is in use. */
  devApp?: App;
  close(): Promise<void>;
}

const DEV_APP_KEY = 'devApp';
const READY_KEY = 'readyProbe';
const READY_TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The store the options name. Adapters are loaded on demand: one deployment needs one. */
async function openStore(opts: ServerOptions): Promise<Store> {
  const spec = parseStoreSpec(opts.store);
  switch (spec.kind) {
    case 'sqlite': {
      const { SqliteStore } = await import('./adapters/sqlite/store.js');
      // Catch-up after a reconnect reads a room's events of the resume window only.
      return new SqliteStore(opts.dataDir, { resumeWindowSeconds: opts.realtime?.resumeWindowSeconds });
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

/** What a cluster node runs beside its bus: node liveness (see adapters/redis/liveness.ts). */
interface Cluster {
  start(engine: Engine, store: Store, log: FastifyBaseLogger, realtime: RealtimeGateway): Promise<Liveness>;
}

interface Liveness {
  /** Cut off from the cluster: its liveness key may have expired (see docs/scaling.md). */
  readonly fenced: boolean;
  close(): Promise<void>;
}

/**
 * What the `bus` setting decides: how events reach the realtime clients, where the limits and
 * console sessions are counted and kept, and (on Redis) node liveness. One process alone: all in
 * memory. A cluster: all through the same Redis (each adapter on its own connection, loaded only
 * when asked for).
 */
interface Shared {
  bus: Bus;
  limits: Limits;
  sessions: SessionStore;
  cluster?: Cluster;
  close(): Promise<void>;
}

async function openShared(opts: ServerOptions, nodeId: string): Promise<Shared> {
  const spec = parseBusSpec(opts.bus);
  if (spec.kind === 'local') {
    const limits = new LocalLimits();
    const bus = new LocalBus();
    return { bus, limits, sessions: new MemorySessionStore(), close: async () => (await bus.close(), await limits.close()) };
  }
  const [{ RedisBus }, { NodeLiveness }, { RedisLimits }, { RedisSessionStore }] = await Promise.all([
    import('./adapters/redis/bus.js'),
    import('./adapters/redis/liveness.js'),
    import('./adapters/redis/limits.js'),
    import('./adapters/redis/console-sessions.js'),
  ]);
  const bus = await RedisBus.open(spec.url, nodeId);
  let limits: Limits | undefined;
  try {
    limits = await RedisLimits.open(spec.url);
    const sessions = await RedisSessionStore.open(spec.url);
    const opened = limits;
    const cluster: Cluster = {
      start: (engine, store, log, realtime) =>
        NodeLiveness.start(spec.url, nodeId, {
          connectedNodes: () => store.connectedNodes(),
          evict: (id) => engine.evictConnections(`${id}:`),
          onFence: (fenced) => (fenced ? realtime.fence() : realtime.unfence()),
          evictionSeen: async () => {
            const held = realtime.heldMemberships();
            if (held.size === 0) return false;
            const stored = new Set((await store.connectedMembers(`${nodeId}:`)).map((m) => membershipKey(m.appId, m.roomId, m.connId)));
            // Only those held before the read: one entering meanwhile is not evidence.
            for (const key of held) if (!stored.has(key) && realtime.heldMemberships().has(key)) return true;
            return false;
          },
          log,
        }),
    };
    return { bus, limits, sessions, cluster, close: async () => (await bus.close(), await opened.close(), sessions.close()) };
  } catch (e) {
    await limits?.close().catch(() => undefined);
    await bus.close().catch(() => undefined);
    throw e;
  }
}

/** A node id unique among the nodes when none is given: the host name and a random suffix. */
export function defaultNodeId(): string {
  const host = hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 48) || 'node';
  return `${host}-${randomBytes(4).toString('hex')}`;
}

function devPolyv(): NonNullable<App['polyv']> {
  return { appId: `dev${randomBytes(5).toString('hex')}`, appSecret: randomBytes(16).toString('hex') };
}

/** Node's HTTP server settings for the configured timeouts (ms). */
function httpTimeouts(t: ServerOptions['timeouts'] = {}) {
  const requestTimeout = Math.round((t.requestSeconds ?? 30) * 1000);
  const headersTimeout = Math.min(Math.round((t.headersSeconds ?? 10) * 1000), requestTimeout);
  return {
    requestTimeout,
    keepAliveTimeout: Math.round((t.keepAliveSeconds ?? 5) * 1000),
    // How often Node looks for connections past their header or request time.
    http: { headersTimeout, connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(headersTimeout / 4))) },
  };
}

/** The development app: made once, then kept in the store. */
async function ensureDevApp(store: Store): Promise<App> {
  const saved = await store.getMeta(DEV_APP_KEY);
  if (saved) {
    const app = JSON.parse(saved) as App;
    if (app.polyv) return app;
    // Kept by an earlier release without Polyv credentials: given them now, once.
    const withPolyv = { ...app, polyv: devPolyv() };
    await store.setMeta(DEV_APP_KEY, JSON.stringify(withPolyv));
    return withPolyv;
  }
  const app: App = {
    sdkAppId: 1400000000 + randomInt(0, 99_999_999),
    secretKey: randomBytes(32).toString('hex'),
    admins: ['administrator'],
    rateLimit: { perCommandPerSecond: 200, perEndpointPerSecond: 200 },
    polyv: devPolyv(),
  };
  await store.setMeta(DEV_APP_KEY, JSON.stringify(app));
  return app;
}

/**
 * A retention setting (any positive number of hours or days) in whole milliseconds, at least 1:
 * the cutoffs made from it are compared with integer columns (PostgreSQL's bigint refuses 1.5).
 */
function wholeMs(amount: number, unitMs: number): number {
  return Math.max(1, Math.round(amount * unitMs));
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
  const nodeId = opts.nodeId ?? (parseBusSpec(opts.bus).kind === 'local' ? 'node1' : defaultNodeId());
  const shared = await openShared(opts, nodeId);
  try {
    return await serveOn(opts, store, nodeId, shared);
  } catch (e) {
    await shared.close().catch(() => undefined);
    throw e;
  }
}

async function serveOn(
  opts: ServerOptions,
  store: Store,
  nodeId: string,
  shared: Shared,
): Promise<RostrumServer> {
  const { bus, cluster, limits } = shared;
  const chatRetentionMs = wholeMs(opts.chatRetentionHours ?? 168, 3600_000);
  const engine = new Engine(store, bus, Date.now, limits, chatRetentionMs);
  const devApp = opts.apps && opts.apps.length > 0 ? undefined : await ensureDevApp(store);
  const apps = new AppRegistry(devApp ? [devApp] : opts.apps!);

  // Connections of an earlier run of this node are gone: their members leave now.
  await engine.evictConnections(`${nodeId}:`);

  const log = requestLog(opts.logger);
  const http = Fastify({
    logger: log.options,
    logController: new RequestLogController(log.requestLine),
    childLoggerFactory: log.childLoggerFactory,
    trustProxy: opts.trustProxy ?? false,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    frameworkErrors: frameworkError,
    clientErrorHandler,
    ...httpTimeouts(opts.timeouts),
  });
  http.setNotFoundHandler(notFound);
  http.setErrorHandler(rootError);
  const limiter = new RateLimiter(limits);
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
    maxConnectionsPerUser: opts.realtime?.maxConnectionsPerUser,
    limits,
    handoverOnClose: cluster !== undefined,
    log: http.log,
  });
  realtime.attach(http.server);
  const registry = registerMetrics(http, bus, () => realtime.connectionCount, realtime.fills);
  const callbacks = await openCallbacks({ opts, store, bus, apps: apps.all(), registry, log: http.log });

  http.get('/healthz', async (_req, reply) => {
    try {
      await store.getMeta(DEV_APP_KEY);
      return { status: 'ok' };
    } catch {
      return reply.code(503).send({ status: 'unavailable' });
    }
  });
  // Readiness: the store takes a write now (a small meta row) and its last commit did not fail;
  // on a cluster, the bus to the other nodes is connected.
  let closed = false;
  http.get('/readyz', async (_req, reply) => {
    if (closed) return reply.code(503).send({ status: 'unavailable', reason: 'shutting down' });
    if (bus.ready && !bus.ready()) return reply.code(503).send({ status: 'unavailable', reason: 'the bus is not connected' });
    if (liveness?.fenced) return reply.code(503).send({ status: 'unavailable', reason: 'this node is fenced off the cluster' });
    try {
      if (store.writeFailing) throw new Error('the last commit failed');
      await withTimeout(store.setMeta(READY_KEY, String(Date.now())), READY_TIMEOUT_MS);
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'unavailable', reason: 'the store cannot write' });
    }
  });
  await http.register(async (scope) => tencentRoutes(scope, { engine, apps, limiter, verifier, callbacks: callbacks.service }));
  await http.register(async (scope) => polyvRoutes(scope, { engine, apps, limiter, store }));
  const sessions = new Sessions(shared.sessions);
  const extraAuth = consoleAuth(apps, sessions);
  await http.register(async (scope) => apiRoutes(scope, { engine, apps, limiter, verifier, extraAuth, callbacks }), { prefix: API_PREFIX });
  await http.register(async (scope) => consoleRoutes(scope, { engine, apps, verifier, bus, sessions, throttle: new SignInThrottle(limits), callbacks }));

  const retentionMs = wholeMs(opts.outboxRetentionHours ?? 24, 3600_000);
  // Prunes in small batches so a large backlog never blocks the event loop for long.
  const prune = async () => {
    // Never past what the callback relay has spooled (see docs/webhooks.md, retention).
    const before = Math.min(Date.now() - retentionMs, callbacks.pruneHorizon());
    await pruneInPages((limit) => store.pruneOutbox(before, limit));
    const chatBefore = Date.now() - chatRetentionMs;
    await pruneInPages((limit) => store.pruneMessages(chatBefore, limit));
    // Timed bans and mutes that ended a minute ago or more (no longer applied nor listed): a
    // command that read its clock just before an end still finds the entry.
    const endedBefore = Date.now() - 60_000;
    await pruneInPages((limit) => store.pruneEntries(endedBefore, limit));
  };
  const pruner = setInterval(() => prune().catch((err) => http.log.error({ err }, 'outbox prune failed')), 10_000);
  pruner.unref();
  const auditRetentionMs = wholeMs(opts.auditRetentionDays ?? 90, 86400_000);
  const pruneAudit = async () => {
    const before = Date.now() - auditRetentionMs;
    await pruneInPages((limit) => store.pruneAudit(before, limit));
  };
  const auditPruner = setInterval(() => pruneAudit().catch((err) => http.log.error({ err }, 'audit prune failed')), 60_000);
  auditPruner.unref();
  // Given-up callbacks past callbacks.keepFailedDays (opt-in): on a cluster every node runs it,
  // the DELETE is idempotent.
  const keepFailedDays = opts.callbacks?.keepFailedDays;
  const failedPruner =
    keepFailedDays === undefined
      ? undefined
      : setInterval(async () => {
          try {
            const before = Date.now() - wholeMs(keepFailedDays, 86400_000);
            const removed = await pruneInPages((limit) => callbacks.spool.pruneFailed(before, limit));
            if (removed > 0) http.log.info({ removed, keepFailedDays }, 'given-up callback deliveries removed');
          } catch (err) {
            http.log.error({ err }, 'given-up callback prune failed');
          }
        }, opts.callbacks?.failedPruneIntervalMs ?? 60_000);
  failedPruner?.unref();

  let liveness: Liveness | undefined;
  try {
    // Before listening: this node's key is set before any client can connect through it.
    liveness = await cluster?.start(engine, store, http.log, realtime);
    await http.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8080 });
  } catch (e) {
    await liveness?.close();
    await realtime.close();
    await callbacks.close();
    throw e; // the caller closes what is shared
  }
  const address = http.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 8080);
  const host = opts.host ?? '127.0.0.1';

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    http,
    engine,
    store,
    bus,
    nodeId,
    apps,
    realtime,
    callbacks,
    devApp,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(pruner);
      clearInterval(auditPruner);
      clearInterval(failedPruner);
      await realtime.close();
      // After the gateway: its members have left; the key goes so no one waits for its TTL.
      await liveness?.close();
      await http.close();
      await callbacks.close();
      await shared.close();
      await store.close();
      log.flush();
    },
  };
}
