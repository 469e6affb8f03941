// Several real `rostrum serve` processes on loopback, sharing one fresh PostgreSQL schema and one
// Redis key prefix: a cluster for the multi-node tests (test/cluster-*.test.ts).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cli, cleanUp, listeningUrl, newDir, waitFor, type Cli } from './support/cli.js';
import { APP, freePort, tencentCall, type TestServer } from './support/harness.js';
import type { App } from '../src/core/model.js';
import WebSocket from 'ws';
import { RostrumClient } from '../src/client/index.js';
import { sig } from './realtime-support.js';
import { dropSchema, freshSchema, pgSkip, urlWithSchema } from './contract/postgres-support.js';
import { dropPrefix, freshPrefixUrl, redisSkip, REDIS_URL } from './contract/redis-support.js';

/** The skip message when PostgreSQL or Redis is missing (outside CI), else false. */
export async function clusterSkip(redisUrl = REDIS_URL): Promise<string | false> {
  return (await pgSkip()) || (await redisSkip(redisUrl));
}

/** `redis-server` on the PATH? (The Redis restart test runs its own.) */
export function redisServerSkip(): string | false {
  if (process.env.CI) return false;
  const r = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return r.status === 0 ? false : 'redis-server is not installed (runs always when CI is set)';
}

export interface Node {
  id: string;
  url: string;
  port: number;
  c: Cli;
  /** What the realtime-support helpers need of a server: its URL and Tencent calls. */
  s: TestServer;
}

export class Cluster {
  readonly store: string;
  readonly bus: string;
  readonly schema = freshSchema();
  private readonly config: string;
  readonly nodes: Node[] = [];

  /**
   * `realtime`: settings beside `messagesPerSecond: 0` (no chat limit unless a test sets one);
   * `apps`: the config's apps (default the test app alone); `extra`: other top-level settings.
   */
  constructor(redisBase = REDIS_URL, realtime: object = {}, apps: App[] = [APP], extra: object = {}) {
    this.store = urlWithSchema(this.schema);
    this.bus = freshPrefixUrl(redisBase);
    const dir = newDir();
    this.config = join(dir, 'config.json');
    writeFileSync(this.config, JSON.stringify({ ...extra, apps, realtime: { messagesPerSecond: 0, ...realtime } }));
  }

  /**
   * Starts a node and waits until it listens. `via` reaches the cluster's PostgreSQL or Redis through
   * another port (a proxy that a test can cut); the schema and prefix stay the cluster's.
   */
  async start(id: string, via: { pgPort?: number; redisPort?: number } = {}): Promise<Node> {
    const dir = newDir();
    const store = via.pgPort ? withPort(this.store, via.pgPort) : this.store;
    const bus = via.redisPort ? withPort(this.bus, via.redisPort) : this.bus;
    const c = cli(['serve', '--port', '0', '--data', dir, '--config', this.config, '--store', store, '--bus', bus, '--node-id', id]);
    const url = await listeningUrl(c);
    const port = Number(new URL(url).port);
    const s = { url, tencent: (path: string, body: unknown) => tencentCall(url, path, body) } as unknown as TestServer;
    const node = { id, url, port, c, s };
    this.nodes.push(node);
    return node;
  }

  /** Starts several nodes at once. */
  startAll(ids: string[]): Promise<Node[]> {
    return Promise.all(ids.map((id) => this.start(id)));
  }

  /** Stops every node (SIGKILL: their state is thrown away) and drops the schema and the keys. */
  async cleanup(): Promise<void> {
    await cleanUp();
    await Promise.all(this.nodes.map((n) => n.c.exited));
    await dropSchema(this.schema).catch(() => undefined);
    await dropPrefix(this.bus);
  }
}

function withPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}

/** A TCP proxy to 127.0.0.1:`target` that can be cut (connections dropped, new ones refused) and restored. */
export async function tcpProxy(target: number) {
  const sockets = new Set<Socket>();
  let server: Server;
  const port = await freePort();
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(target, '127.0.0.1');
        sockets.add(client).add(upstream);
        const drop = () => (client.destroy(), upstream.destroy(), sockets.delete(client), sockets.delete(upstream));
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', resolve);
    });
  await listen();
  const cut = async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  };
  return { port, cut, restore: listen, close: cut };
}

export async function readyz(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: await res.json() };
}

/** A Redis server of the test's own, on a free port, with no persistence: it can be stopped. */
export class OwnRedis {
  private child: ChildProcess | null = null;
  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<OwnRedis> {
    const r = new OwnRedis(await freePort());
    await r.restart();
    return r;
  }

  async restart(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    this.child = child;
    await waitFor(`redis-server on ${this.port}`, async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      return pingRedis(this.port);
    }, 20_000);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    this.child = null;
  }
}

async function pingRedis(port: number): Promise<boolean> {
  const { Socket } = await import('node:net');
  return new Promise((resolve) => {
    const sock = new Socket();
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('error', () => done(false));
    sock.connect(port, '127.0.0.1', () => sock.write('PING\r\n'));
    sock.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/**
 * A TypeScript client behind a pretend load balancer: it connects to `first`; after
 * `routeTo(node)` its reconnects land on that node.
 */
export function balancedClient(
  first: Node,
  userId: string,
): {
  client: RostrumClient;
  routeTo(node: Node): void;
  /** The close codes of its dropped connections, and its rooms' restorations, in order. */
  closeCodes: number[];
  restored: { recovered?: boolean; seq: number }[];
} {
  let target = first;
  class Routed extends WebSocket {
    constructor(url: string) {
      super(url.replace(/:\d+\/realtime/, `:${target.port}/realtime`), { perMessageDeflate: false });
    }
  }
  const client = new RostrumClient({
    url: first.url,
    sdkAppId: APP.sdkAppId,
    userId,
    userSig: sig(userId),
    requestTimeoutMs: 5000,
    reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    pingIntervalMs: 0,
    WebSocket: Routed as never,
  });
  const closeCodes: number[] = [];
  client.on('disconnected', ({ code }) => closeCodes.push(code));
  const restored: { recovered?: boolean; seq: number }[] = [];
  client.on('roomRestored', ({ data }) => restored.push(data as never));
  return { client, routeTo: (node) => (target = node), closeCodes, restored };
}

/** Waits until `check` holds (polling), failing with `what` after `timeoutMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export { sleep };
