// Node liveness over a real Redis (short timings): which node ids are dead, one evictor per dead
// node, nothing while Redis is away or just back.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { NodeLiveness, type LivenessDeps } from '../src/adapters/redis/liveness.js';
import { RedisBus } from '../src/adapters/redis/bus.js';
import { parseRedisUrl } from '../src/adapters/redis/client.js';
import type { RoomEvent } from '../src/core/events.js';
import { dropPrefix, freshPrefixUrl, redisSkip } from './contract/redis-support.js';
import { OwnRedis, redisServerSkip, tcpProxy } from './cluster-support.js';
import { hostname } from 'node:os';
import { startServer } from '../src/server.js';
import { APP, tempDir } from './support/harness.js';

const skip = await redisSkip();

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const FAST = { heartbeatMs: 100, ttlMs: 400, sweepMs: 60_000, settleMs: 0 };

/** Deps whose store says members are connected through `nodes`; records evictions. */
function deps(nodes: string[]): LivenessDeps & { evicted: string[] } {
  const evicted: string[] = [];
  return { evicted, connectedNodes: async () => nodes, evict: async (id) => (evicted.push(id), 1) };
}

describe('node liveness', { skip }, () => {
  const urls: string[] = [];
  const opened: NodeLiveness[] = [];
  const start = async (url: string, id: string, d: LivenessDeps, t: object = FAST) => {
    const l = await NodeLiveness.start(url, id, d, t);
    opened.push(l);
    return l;
  };
  after(async () => {
    for (const l of opened) await l.close();
    for (const u of urls) await dropPrefix(u);
  });

  it('evicts the nodes whose key is gone, never itself or a live one, each by one node only', async () => {
    const url = freshPrefixUrl();
    urls.push(url);
    await start(url, 'alive', deps([]));
    const d1 = deps(['alive', 'dead', 'w1', 'w2']);
    const d2 = deps(['alive', 'dead', 'w1', 'w2']);
    const w1 = await start(url, 'w1', d1);
    const w2 = await start(url, 'w2', d2);
    const [e1, e2] = await Promise.all([w1.sweep(), w2.sweep()]);
    assert.deepEqual([...e1, ...e2], ['dead'], 'one of them evicts it');
    assert.deepEqual([...d1.evicted, ...d2.evicted], ['dead']);
  });

  it('a node closed normally removes its key: the others may evict what it left', async () => {
    const url = freshPrefixUrl();
    urls.push(url);
    const gone = await start(url, 'gone', deps([]));
    const d = deps(['gone']);
    const w = await start(url, 'w', d);
    assert.deepEqual(await w.sweep(), [], 'alive: kept');
    await gone.close();
    assert.deepEqual(await w.sweep(), ['gone']);
  });

  it('a node that stops renewing (killed) is dead after the TTL', async () => {
    const url = freshPrefixUrl();
    urls.push(url);
    const { url: bare, prefix } = parseRedisUrl(url);
    const r = new Redis(bare);
    try {
      await r.set(`${prefix}:node:frozen`, '1', 'PX', 300);
      const d = deps(['frozen']);
      const w = await start(url, 'w', d);
      assert.deepEqual(await w.sweep(), []);
      const end = Date.now() + 5000;
      while ((await r.exists(`${prefix}:node:frozen`)) === 1 && Date.now() < end) await new Promise((res) => setTimeout(res, 20));
      assert.deepEqual(await w.sweep(), ['frozen']);
    } finally {
      r.disconnect();
    }
  });

  it('does not sweep until connected for settleMs', async () => {
    const url = freshPrefixUrl();
    urls.push(url);
    const d = deps(['dead']);
    const w = await start(url, 'w', d, { ...FAST, settleMs: 60_000 });
    assert.deepEqual(await w.sweep(), []);
    assert.deepEqual(d.evicted, []);
  });

  it('never evicts while its Redis is away', { skip: redisServerSkip() }, async () => {
    const own = await OwnRedis.start();
    try {
      const d = deps(['dead']);
      const w = await start(own.url, 'w', d);
      await own.stop();
      // Sweeps for a while as the client notices the loss and retries.
      const end = Date.now() + 1500;
      while (Date.now() < end) {
        assert.deepEqual(await w.sweep(), []);
        await new Promise((res) => setTimeout(res, 20));
        if (d.evicted.length > 0) break;
      }
      assert.deepEqual(d.evicted, []);
    } finally {
      await own.stop();
    }
  });
});

describe('Redis bus: one message per turn', { skip }, () => {
  it('the events published in one turn travel as one Redis message', async () => {
    const url = freshPrefixUrl();
    const { url: bare, prefix } = parseRedisUrl(url);
    const spy = new Redis(bare);
    const bus = await RedisBus.open(url, 'n1');
    try {
      const messages: string[] = [];
      spy.on('message', (_ch, m: string) => messages.push(m));
      await spy.subscribe(`${prefix}:events`);
      const ev = (seq: number): RoomEvent => ({ appId: 1, roomId: 'r', seq, at: seq, type: 'seatListChanged', actor: 'a', data: { seats: [] } });
      for (let i = 1; i <= 50; i++) bus.publish(ev(i));
      await new Promise((r) => setTimeout(r, 20));
      bus.publish(ev(51));
      const end = Date.now() + 3000;
      while (messages.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      assert.equal(messages.length, 2);
      assert.deepEqual(JSON.parse(messages[0]).e.map((e: RoomEvent) => e.seq), Array.from({ length: 50 }, (_, i) => i + 1));
      assert.equal(JSON.parse(messages[0]).n, 'n1', 'tagged with the node id');
      assert.deepEqual(JSON.parse(messages[1]).e.map((e: RoomEvent) => e.seq), [51]);
      assert.equal(bus.stats.sent, 51);
    } finally {
      spy.disconnect();
      await bus.close();
      await dropPrefix(url);
    }
  });
});

describe('a server on a Redis bus', { skip }, () => {
  it('takes the host name and a random suffix as node id when given none; keeps its key while it runs', async () => {
    const url = freshPrefixUrl();
    const { url: bare, prefix } = parseRedisUrl(url);
    const r = new Redis(bare);
    const server = await startServer({ port: 0, store: 'memory', bus: url, apps: [APP], logger: false, dataDir: tempDir() });
    try {
      const host = hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 48);
      assert.match(server.nodeId, new RegExp(`^${host.replace(/[.]/g, '\\.')}-[0-9a-f]{8}$`));
      assert.equal(await r.exists(`${prefix}:node:${server.nodeId}`), 1);
      const ready = await fetch(`${server.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(server.bus.ready?.(), true);
    } finally {
      await server.close();
    }
    assert.equal(await r.exists(`${prefix}:node:${server.nodeId}`), 0, 'removed on a normal stop');
    r.disconnect();
    await dropPrefix(url);
  });

  it('fences itself after a TTL without a renewal; back once one gets through and no eviction of it is running', async (t) => {
    const url = freshPrefixUrl();
    const { url: bare, prefix } = parseRedisUrl(url);
    const proxy = await tcpProxy(Number(new URL(bare).port || 6379));
    const viaProxy = new URL(url);
    viaProxy.port = String(proxy.port);
    const changes: { fenced: boolean; at: number }[] = [];
    const l = await NodeLiveness.start(viaProxy.toString(), 'cut', { ...deps([]), onFence: (fenced: boolean) => changes.push({ fenced, at: Date.now() }) }, FAST);
    t.after(async () => {
      await l.close();
      await proxy.close();
      await dropPrefix(url);
    });
    await new Promise((r) => setTimeout(r, 3 * FAST.heartbeatMs));
    assert.equal(changes.length, 0, 'renewing: not fenced');

    const cutAt = Date.now();
    await proxy.cut();
    await until('the node to fence itself', () => changes.length === 1);
    assert.equal(changes[0].fenced, true);
    assert.equal(l.fenced, true);
    // Its last renewal went out at most one heartbeat before the cut.
    assert.ok(changes[0].at - cutAt >= FAST.ttlMs - FAST.heartbeatMs, `fenced ${changes[0].at - cutAt} ms after the cut`);

    // Another node is evicting it (its lock): the node stays fenced until the lock is gone.
    const r = new Redis(bare);
    const lockMs = 1500;
    await r.set(`${prefix}:evict:cut`, 'other', 'PX', lockMs);
    const lockedAt = Date.now();
    await proxy.restore();
    await until('the node to serve again', () => changes.length === 2, 10_000);
    r.disconnect();
    assert.equal(changes[1].fenced, false);
    assert.equal(l.fenced, false);
    assert.ok(changes[1].at >= lockedAt + lockMs - 50, 'not while the eviction lock was held');
  });

  it('with no sign of eviction in the store (Redis down for everyone) it keeps serving; fences once one shows', async (t) => {
    const url = freshPrefixUrl();
    const { url: bare } = parseRedisUrl(url);
    const proxy = await tcpProxy(Number(new URL(bare).port || 6379));
    const viaProxy = new URL(url);
    viaProxy.port = String(proxy.port);
    let evictedInStore = false;
    const changes: boolean[] = [];
    const l = await NodeLiveness.start(
      viaProxy.toString(),
      'alone',
      { ...deps([]), onFence: (fenced: boolean) => changes.push(fenced), evictionSeen: async () => evictedInStore },
      FAST,
    );
    t.after(async () => {
      await l.close();
      await proxy.close();
      await dropPrefix(url);
    });
    await proxy.cut();
    await new Promise((r) => setTimeout(r, 4 * FAST.ttlMs));
    assert.deepEqual(changes, [], 'past the TTL, but nobody evicted its members: it keeps serving');
    evictedInStore = true;
    await until('the node to fence itself', () => changes.length === 1);
    assert.equal(l.fenced, true);
  });
});
