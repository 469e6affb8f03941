// Test harness: a real Rostrum server on a loopback port with a fresh store: a SQLite data dir,
// or (ROSTRUM_TEST_STORE=postgres://…) a PostgreSQL schema of its own.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parseUrl } from '../../src/adapters/postgres/store.js';
import { genUserSig } from '../../src/auth/usersig.js';
import type { Command, ResultOf } from '../../src/core/commands.js';
import type { App } from '../../src/core/model.js';
import { startServer, type RostrumServer, type ServerOptions } from '../../src/server.js';

export const APP: App = {
  sdkAppId: 1400000001,
  secretKey: 'test-secret-key-1',
  admins: ['administrator'],
  rateLimit: { perCommandPerSecond: 0, perEndpointPerSecond: 0 },
  polyv: { appId: 'polyvapp1', appSecret: 'polyv-secret-1' },
};

export const OTHER_APP: App = {
  sdkAppId: 1400000002,
  secretKey: 'test-secret-key-2',
  admins: ['boss'],
  rateLimit: { perCommandPerSecond: 0, perEndpointPerSecond: 0 },
  polyv: { appId: 'polyvapp2', appSecret: 'polyv-secret-2' },
};

export function tempDir(prefix = 'rostrum-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The store the suite runs on (`store` of ServerOptions); unset = SQLite. */
export const TEST_STORE = process.env.ROSTRUM_TEST_STORE || undefined;

function isPostgres(store: string | undefined): store is string {
  return store !== undefined && /^postgres(ql)?:/i.test(store);
}

/** Where one test's state lives: a data dir and, on PostgreSQL, a schema no other test uses. */
export interface TestData {
  dataDir: string;
  /** For ServerOptions.store / `--store`; undefined = SQLite in dataDir. */
  store: string | undefined;
  /** Deletes the data dir and drops the schema. */
  remove(): Promise<void>;
}

/** A fresh, empty TestData. Servers started on the same one (restarts) see the same state. */
export function tempData(prefix?: string): TestData {
  const dataDir = tempDir(prefix);
  let store = TEST_STORE;
  if (isPostgres(store)) {
    // Test files run in parallel against one database: each store gets its own schema.
    const url = new URL(store);
    url.searchParams.set('schema', `t_${randomBytes(8).toString('hex')}`);
    // A command that locks a room after its unit took a transaction id fails (migrations.ts).
    url.searchParams.set('options', [url.searchParams.get('options'), '-c rostrum.check_lock_order=on'].filter(Boolean).join(' '));
    store = url.toString();
  }
  return {
    dataDir,
    store,
    async remove() {
      rmSync(dataDir, { recursive: true, force: true });
      if (isPostgres(store)) await dropSchema(store);
    },
  };
}

/** `rostrum serve` arguments for this TestData's store (none on SQLite: `--data` is enough). */
export function storeArgs(data: TestData): string[] {
  return data.store === undefined ? [] : ['--store', data.store];
}

async function dropSchema(store: string): Promise<void> {
  const { connectionString, schema } = parseUrl(store);
  if (schema === null) return;
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * A loopback port free right now, for child processes that need a concrete `--port`. It is picked
 * below the kernel's ephemeral range: a port from that range can be handed to another test's
 * `listen(0)` (or a client socket) between this probe and the child's bind, and the child's
 * readiness check would then reach that other server.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralPortsFrom();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = low > FIXED_PORTS_FROM + 1_000 ? FIXED_PORTS_FROM + Math.floor(Math.random() * (low - FIXED_PORTS_FROM)) : 0;
    const probe = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!bound) continue;
    const chosen = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    return chosen;
  }
  throw new Error('no free loopback port below the ephemeral range');
}

const FIXED_PORTS_FROM = 20_000;

/** The first port of the kernel's ephemeral range (Linux); elsewhere 0, which leaves no room below it. */
function ephemeralPortsFrom(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : 0;
  } catch {
    return 0; // not Linux
  }
}

export interface TestServer {
  server: RostrumServer;
  url: string;
  dataDir: string;
  /** POST a Tencent command as the app's admin; returns the parsed body. */
  tencent(path: string, body: unknown, opts?: TencentCallOptions): Promise<any>;
  close(): Promise<void>;
}

export interface TencentCallOptions {
  app?: App;
  identifier?: string;
  usersig?: string;
  /** Raw body text instead of JSON.stringify(body). */
  raw?: string;
  query?: string;
}

export function adminSig(app: App = APP, identifier = app.admins[0]): string {
  return genUserSig(app.sdkAppId, app.secretKey, identifier, 86400);
}

export async function tencentCall(url: string, path: string, body: unknown, opts: TencentCallOptions = {}): Promise<any> {
  const app = opts.app ?? APP;
  const identifier = opts.identifier ?? app.admins[0];
  const sig = opts.usersig ?? adminSig(app, identifier);
  const query = opts.query ?? `sdkappid=${app.sdkAppId}&identifier=${encodeURIComponent(identifier)}&usersig=${encodeURIComponent(sig)}&random=${Math.floor(Math.random() * 2 ** 32)}&contenttype=json`;
  const res = await fetch(`${url}/v4/${path}?${query}`, {
    method: 'POST',
    body: opts.raw ?? JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`HTTP ${res.status} for ${path}`);
  return res.json();
}

/**
 * A server on a fresh TestData (removed on close), or with `data` on that one (the caller removes
 * it: tests that restart a server on the same state).
 */
export async function startTestServer(
  opts: Partial<Omit<ServerOptions, 'dataDir' | 'store'>> & { data?: TestData } = {},
): Promise<TestServer> {
  const { data: given, ...rest } = opts;
  const data = given ?? tempData();
  let server: RostrumServer;
  try {
    // No seat grace unless a test asks: most tests expect a dropped member to leave at once.
    const realtime = { seatGraceSeconds: 0, ...rest.realtime };
    server = await startServer({ port: 0, apps: [APP, OTHER_APP], logger: false, ...rest, realtime, dataDir: data.dataDir, store: data.store });
  } catch (e) {
    if (!given) await data.remove();
    throw e;
  }
  return {
    server,
    url: server.url,
    dataDir: data.dataDir,
    tencent: (path, body, o) => tencentCall(server.url, path, body, o),
    async close() {
      await server.close();
      if (!given) await data.remove();
    },
  };
}

/** Runs a core command as the app's (first) admin, as the admin API would. */
export function asAdmin<C extends Command>(s: TestServer, cmd: C, app: App = APP): Promise<ResultOf<C>> {
  return s.server.engine.execute(app.sdkAppId, { kind: 'admin', userId: app.admins[0] }, cmd);
}

/** Runs a core command as a user acting for themselves, as the realtime gateway would. */
export function asUser<C extends Command>(s: TestServer, userId: string, cmd: C, app: App = APP): Promise<ResultOf<C>> {
  return s.server.engine.execute(app.sdkAppId, { kind: 'user', userId }, cmd);
}

/** Puts a member into a room through the core (as the realtime gateway would). */
export async function enter(s: TestServer, roomId: string, userId: string, extra: { clientIp?: string; connId?: string; app?: App } = {}) {
  const cmd = { type: 'enterRoom', roomId, clientIp: extra.clientIp ?? '127.0.0.1', connId: extra.connId ?? '' } as const;
  return asUser(s, userId, cmd, extra.app);
}
