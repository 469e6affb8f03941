// A node killed with SIGKILL says goodbye to no one: its members stay in the store until another
// node sees its liveness key expire and makes them leave (reason expired), well within 60 s.
// A TypeScript client of the dead node reconnects to another node and catches up.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, until, balancedClient, clusterSkip, type Node } from './cluster-support.js';
import { RawClient, createRoom, memberIds, type Frame } from './realtime-support.js';

const skip = await clusterSkip();

describe('cluster: a killed node', { skip, timeout: 240_000 }, () => {
  let cluster: Cluster;
  let a: Node;
  let b: Node;
  const closers: (() => unknown)[] = [];

  before(async () => {
    cluster = new Cluster();
    a = await cluster.start('na');
    b = await cluster.start('nb');
  });
  after(async () => {
    for (const close of closers) await close();
    await cluster?.cleanup();
  });

  it('its members leave (expired) within 60 s; its client reconnects to another node and catches up', async (t) => {
    await createRoom(a.s, 'k');
    const watcher = await RawClient.connect(b.s, 'watcher', 'k');
    closers.push(() => watcher.close());
    const x = await RawClient.connect(a.s, 'x', 'k');
    const y = await RawClient.connect(a.s, 'y', 'k');
    await x.ok('takeSeat', { roomId: 'k', index: 1 });

    // A TypeScript client on node A; once A is gone its reconnects land on node B (as behind a
    // load balancer).
    const { client: zed, routeTo, restored } = balancedClient(a, 'zed');
    closers.push(() => zed.close());
    const seen: Frame[] = [];
    zed.on('messageReceived', (e) => seen.push(e as Frame));
    await zed.connect();
    await zed.enterRoom({ roomId: 'k' });
    await watcher.ok('sendMessage', { roomId: 'k', text: 'before' });
    await until('zed to get "before"', () => seen.some((e) => e.text === 'before'), 10_000);
    assert.deepEqual(await memberIds(b.s, 'k'), ['watcher', 'x', 'y', 'zed']);

    routeTo(b);
    const killedAt = Date.now();
    a.c.child.kill('SIGKILL');
    await a.c.exited;
    // Events zed misses while it has no node: they come back to it on the other node.
    for (const text of ['while-away-1', 'while-away-2']) await watcher.ok('sendMessage', { roomId: 'k', text });

    await until('zed to reconnect to node B and catch up', () => seen.some((e) => e.text === 'while-away-2'), 20_000);
    assert.equal(restored.length, 1);
    assert.equal(restored[0].recovered, true, 'the missed events were replayed, not a fresh snapshot');
    assert.deepEqual(
      seen.map((e) => e.text),
      ['before', 'while-away-1', 'while-away-2'],
      'each message once, in order',
    );

    // The dead node's members leave: the watcher is told, with reason expired.
    const left = (userId: string) => watcher.events.find((f) => f.event === 'memberLeft' && f.userId === userId);
    await until('x and y to leave', () => Boolean(left('x') && left('y')), 60_000);
    const removedMs = Date.now() - killedAt;
    t.diagnostic(`members of the killed node removed ${removedMs} ms after kill -9`);
    assert.ok(removedMs < 60_000);
    assert.equal(left('x')!.reason, 'expired');
    assert.equal(left('y')!.reason, 'expired');
    assert.deepEqual(await memberIds(b.s, 'k'), ['watcher', 'zed'], 'zed moved, so it stays');
    const seats = await b.s.tencent('room_engine_http_mic/get_seat_list', { RoomId: 'k' });
    assert.ok(!seats.Response.SeatList[1].Member_Account, "x's seat is free");
    // zed, live on node B, saw them go too.
    await watcher.ok('sendMessage', { roomId: 'k', text: 'after' });
    await until('zed to get "after"', () => seen.some((e) => e.text === 'after'), 10_000);
    void x;
    void y;
  });
});
