// A node stopped for a rolling restart (SIGTERM) hands its clients over: they are told to
// reconnect (1012) and their members keep their places for the seat grace, so a client that
// reconnects to another node resumes there with its seat; one that does not come back leaves
// when the grace ends, not at once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CLOSE } from '../src/realtime/protocol.js';
import { stop } from './support/cli.js';
import { Cluster, until, balancedClient, clusterSkip, type Node } from './cluster-support.js';
import { RawClient, createRoom, memberIds } from './realtime-support.js';

const skip = await clusterSkip();
const GRACE_SECONDS = 3;

describe('cluster: a node stopped for a rolling restart', { skip, timeout: 240_000 }, () => {
  let cluster: Cluster;
  let a: Node;
  let b: Node;
  const closers: (() => unknown)[] = [];

  before(async () => {
    cluster = new Cluster(undefined, { seatGraceSeconds: GRACE_SECONDS });
    a = await cluster.start('ha');
    b = await cluster.start('hb');
  });
  after(async () => {
    for (const close of closers) await close();
    await cluster?.cleanup();
  });

  it('hands its clients over: a reconnecting client keeps its seat on another node; one that does not leaves after the grace', async () => {
    await createRoom(a.s, 'h');
    const watcher = await RawClient.connect(b.s, 'watcher', 'h');
    closers.push(() => watcher.close());
    // A raw client on A that will not reconnect.
    const gone = await RawClient.connect(a.s, 'gone', 'h');
    await gone.ok('takeSeat', { roomId: 'h', index: 2 });

    const { client: zed, routeTo, closeCodes: disconnects, restored } = balancedClient(a, 'zed');
    closers.push(() => zed.close());
    await zed.connect();
    await zed.enterRoom({ roomId: 'h' });
    await zed.takeSeat({ roomId: 'h', index: 1 });

    routeTo(b);
    const stopping = stop(a.c);
    const stoppedAt = Date.now();
    // Out of the balancer at once, while it waits out the grace.
    await until('node A to say it is not ready', async () => (await fetch(`${a.url}/readyz`)).status === 503, 5_000);
    await until('zed to be back, on node B', () => restored.length === 1, 15_000);
    assert.equal(disconnects[0], CLOSE.serviceRestart);
    assert.equal(restored[0].recovered, true);
    await stopping;

    // zed kept its seat and never left; `gone` left only once the grace was over.
    const left = (userId: string) => watcher.events.find((f) => f.event === 'memberLeft' && f.userId === userId);
    await until('gone to leave', () => Boolean(left('gone')), 20_000);
    assert.ok(Date.now() - stoppedAt >= (GRACE_SECONDS - 0.5) * 1000, 'not before the grace ended');
    assert.equal(left('zed'), undefined, 'zed never left');
    assert.deepEqual(await memberIds(b.s, 'h'), ['watcher', 'zed']);
    const seats = await b.s.tencent('room_engine_http_mic/get_seat_list', { RoomId: 'h' });
    assert.equal(seats.Response.SeatList[1].Member_Account, 'zed', 'zed is still on its seat');
    assert.ok(!seats.Response.SeatList[2].Member_Account, "gone's seat is free");
    // And it is live on B (listening first: the event may come before the sender's reply).
    const texts: string[] = [];
    zed.on('messageReceived', (e) => texts.push((e as { text: string }).text));
    await watcher.ok('sendMessage', { roomId: 'h', text: 'hello' });
    await until('zed to get "hello"', () => texts.includes('hello'), 10_000);
  });
});
