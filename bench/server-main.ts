// A Rostrum server for the benchmarks, in its own process, with the app from BENCH_APP (JSON).
//   BENCH_STORE: 'sqlite' (default; a fresh data dir, removed at the end), 'memory' or a
//                postgres:// URL (the runner makes and drops its schema);
//   BENCH_BUS:   a redis:// URL to join a cluster (with a postgres:// BENCH_STORE); BENCH_NODE_ID its id;
//   BENCH_LOG:   a pino level ('info' = what the CLI runs with, writing to stdout) or unset for
//                no request logging.
// Prints nothing else; tells the runner its port over IPC.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from '../src/core/commands.js';
import type { Actor, App } from '../src/core/model.js';
import { startServer } from '../src/server.js';
import { onAbort, serveParent } from './lib/child.js';

const benchApp = JSON.parse(process.env.BENCH_APP ?? '') as App;
// BENCH_CALLBACK_URL: the app's callbacks go there, signed with BENCH_CALLBACK_TOKEN.
const callbackUrl = process.env.BENCH_CALLBACK_URL;
const app: App = callbackUrl ? { ...benchApp, callback: { url: callbackUrl, token: process.env.BENCH_CALLBACK_TOKEN } } : benchApp;
const dataDir = mkdtempSync(join(tmpdir(), 'rostrum-bench-'));
onAbort(() => rmSync(dataDir, { recursive: true, force: true }));
const level = process.env.BENCH_LOG;
const server = await startServer({
  port: 0,
  dataDir,
  store: process.env.BENCH_STORE || 'sqlite',
  bus: process.env.BENCH_BUS || undefined,
  nodeId: process.env.BENCH_NODE_ID || undefined,
  apps: [app],
  logger: level ? { level } : false,
  // BENCH_REALTIME: realtime options as JSON (the live benchmark lifts the chat rate limit).
  realtime: process.env.BENCH_REALTIME ? JSON.parse(process.env.BENCH_REALTIME) : undefined,
  // BENCH_RELAY_NICE: the callback relay thread's nice value (callbacks.relayNice; default 10);
  // BENCH_CALLBACK_ORDER: callbacks.order ('room', the default, or 'none'); BENCH_CALLBACK_CONCURRENCY: callbacks.concurrency.
  callbacks: {
    relayNice: process.env.BENCH_RELAY_NICE ? Number(process.env.BENCH_RELAY_NICE) : undefined,
    concurrency: process.env.BENCH_CALLBACK_CONCURRENCY ? Number(process.env.BENCH_CALLBACK_CONCURRENCY) : undefined,
    order: (process.env.BENCH_CALLBACK_ORDER || undefined) as 'room' | 'none' | undefined,
  },
});
const admin: Actor = { kind: 'admin', userId: app.admins[0] };

/** Runs `make(i)` for i in [from, to) through the core, `parallel` at a time. */
async function inBatches(from: number, to: number, parallel: number, make: (i: number) => [Actor, Command]): Promise<void> {
  for (let i = from; i < to; i += parallel) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(to, i + parallel); j++) {
      const [actor, cmd] = make(j);
      batch.push(server.engine.execute(app.sdkAppId, actor, cmd));
    }
    await Promise.all(batch);
  }
}

serveParent(
  {
    /** Members enter through the core, as the realtime gateway would (with no connection). */
    async enter(msg: { roomId: string; userIds: string[] }) {
      await inBatches(0, msg.userIds.length, 200, (i) => [
        { kind: 'user', userId: msg.userIds[i] },
        { type: 'enterRoom', roomId: msg.roomId, clientIp: '127.0.0.1', connId: '' },
      ]);
    },
    /** Rooms `${prefix}${i}` for i in [from, to), with `seats` seats. */
    async createRooms(msg: { prefix: string; from: number; to: number; seats: number }) {
      await inBatches(msg.from, msg.to, 500, (i) => [
        admin,
        { type: 'createRoom', roomId: `${msg.prefix}${i}`, isSeatEnabled: true, maxSeatCount: msg.seats },
      ]);
    },
    /** App-wide bans of users `${prefix}${i}` for i in [from, to), `perCall` users per command. */
    async banUsers(msg: { prefix: string; from: number; to: number; perCall: number }) {
      const calls = Math.ceil((msg.to - msg.from) / msg.perCall);
      // App-wide bans take the app lock exclusively: they run one after the other anyway.
      await inBatches(0, calls, 1, (c) => {
        const first = msg.from + c * msg.perCall;
        const userIds = Array.from({ length: Math.min(msg.perCall, msg.to - first) }, (_, k) => `${msg.prefix}${first + k}`);
        return [admin, { type: 'banUsers', roomId: '', userIds, durationSec: null, reason: 'bench', origin: 'tencent' }];
      });
    },
    /** App-wide deny entries, as the core lists them. */
    async denyCount() {
      const r = await server.engine.execute(app.sdkAppId, admin, { type: 'listDeny', roomId: '', limit: 1 });
      return r.total;
    },
    /** Callbacks in the spool (pending, failed). */
    async callbacks() {
      const c = (await server.callbacks.service.counts()).find((x) => x.appId === app.sdkAppId);
      return { pending: c?.pending ?? 0, failed: c?.failed ?? 0 };
    },
    /** Waits until the callback relay has nothing left to send; how long that took (ms). */
    async callbacksDrained() {
      const start = performance.now();
      while (!(await server.callbacks.relay.idle())) {
        if (performance.now() - start > 120_000) throw new Error('the callback relay did not drain in 120 s');
        await new Promise((r) => setTimeout(r, 20));
      }
      return performance.now() - start;
    },
    /** Open realtime connections. */
    connections: () => server.realtime.connectionCount,
    async stop() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  },
  { port: server.port },
);
