// Test harness: a real Rostrum server on a loopback port with a fresh SQLite data dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { genUserSig } from '../../src/auth/usersig.js';
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

/** A loopback port free right now (for child processes that need a concrete --port). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
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

export async function startTestServer(opts: Partial<ServerOptions> = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDir();
  const server = await startServer({ port: 0, apps: [APP, OTHER_APP], logger: false, ...opts, dataDir });
  return {
    server,
    url: server.url,
    dataDir,
    tencent: (path, body, o) => tencentCall(server.url, path, body, o),
    async close() {
      await server.close();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Puts a member into a room through the core (as the realtime gateway would). */
export async function enter(s: TestServer, roomId: string, userId: string, extra: { clientIp?: string; connId?: string; app?: App } = {}) {
  return s.server.engine.enterRoom((extra.app ?? APP).sdkAppId, roomId, userId, {
    clientIp: extra.clientIp ?? '127.0.0.1',
    connId: extra.connId ?? '',
  });
}
