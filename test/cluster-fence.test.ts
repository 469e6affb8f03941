// A node cut off from Redis alone (the others still reach it) stops renewing its liveness key:
// after the key's time to live the other nodes evict its members. It must not keep serving its
// clients as if they were still in their rooms: once it has gone a TTL without a renewal it fences
// itself: its realtime connections are closed with 4010 (clients reconnect, to another node
// behind the balancer, and resume) and new upgrades get 503 until Redis is back.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { CLOSE } from '../src/client/index.js';
import { Cluster, until, balancedClient, clusterSkip, readyz, tcpProxy, type Node } from './cluster-support.js';
import { REDIS_URL } from './contract/redis-support.js';
import { RawClient, authQuery, createRoom, memberIds, wsUrl, type Frame } from './realtime-support.js';

const skip = await clusterSkip();

/** The HTTP status an upgrade to `node` gets (101 when accepted). */
function upgradeStatus(node: Node, userId: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(wsUrl(node.s, authQuery(userId)), { perMessageDeflate: false });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', () => resolve(0));
  });
}

describe('cluster: a node cut off from Redis alone', { skip, timeout: 240_000 }, () => {
  let cluster: Cluster;
  let proxy: Awaited<ReturnType<typeof tcpProxy>>;
  let a: Node;
  let c: Node;
  const closers: (() => unknown)[] = [];

  before(async () => {
    cluster = new Cluster();
    proxy = await tcpProxy(Number(new URL(REDIS_URL).port || 6379));
    a = await cluster.start('na');
    c = await cluster.start('nc', { redisPort: proxy.port });
  });
  after(async () => {
    for (const close of closers) await close();
    await cluster?.cleanup();
    await proxy?.close();
  });

  it('fences itself: its clients are closed with 4010 and reconnect elsewhere, upgrades get 503 until Redis is back', async (t) => {
    await createRoom(a.s, 'f');
    const watcher = await RawClient.connect(a.s, 'watcher', 'f');
    closers.push(() => watcher.close());
    const x = await RawClient.connect(c.s, 'x', 'f');
    closers.push(() => x.close());

    // A TypeScript client on node C; once C fences, its reconnects land on node A.
    const { client: zed, routeTo, closeCodes: drops, restored } = balancedClient(c, 'zed');
    closers.push(() => zed.close());
    const seen: Frame[] = [];
    zed.on('messageReceived', (e) => seen.push(e as Frame));
    await zed.connect();
    await zed.enterRoom({ roomId: 'f' });
    assert.deepEqual(await memberIds(a.s, 'f'), ['watcher', 'x', 'zed']);

    const cutAt = Date.now();
    await proxy.cut();
    routeTo(a);
    const closed = await Promise.race([x.closed, new Promise<null>((r) => setTimeout(() => r(null), 45_000))]);
    assert.ok(closed, 'the cut node closed its client');
    assert.equal(closed.code, CLOSE.fenced, closed.reason);
    t.diagnostic(`client of the cut node closed ${Date.now() - cutAt} ms after the cut`);
    assert.equal(await upgradeStatus(c, 'late'), 503, 'no new realtime connection while fenced');
    assert.equal((await readyz(c.url)).status, 503);

    // The other node evicts the cut node's members (its key expired)…
    const left = (userId: string) => watcher.events.find((f) => f.event === 'memberLeft' && f.userId === userId);
    await until('x to be evicted', () => Boolean(left('x')), 60_000);
    assert.equal(left('x')!.reason, 'expired');
    // …while the TypeScript client moved to node A and stays in the room.
    await until('zed to be back in the room on node A', () => restored.length >= 1, 30_000);
    assert.equal(drops[0], CLOSE.fenced);
    await watcher.ok('sendMessage', { roomId: 'f', text: 'after the move' });
    await until('zed to get the message', () => seen.some((e) => e.text === 'after the move'), 10_000);
    assert.deepEqual(await memberIds(a.s, 'f'), ['watcher', 'zed']);

    // Redis is back: the node takes realtime clients again.
    await proxy.restore();
    await until('node C to accept upgrades again', async () => (await upgradeStatus(c, 'late')) === 101, 60_000);
    const y = await RawClient.connect(c.s, 'y', 'f');
    closers.push(() => y.close());
    await watcher.ok('sendMessage', { roomId: 'f', text: 'to y' });
    await until('y on node C to get it', () => y.events.some((e) => e.text === 'to y'), 10_000);
  });
});
