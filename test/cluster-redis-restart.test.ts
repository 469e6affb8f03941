// Redis goes away and comes back (a Redis of this test's own, restarted empty): the nodes report
// not ready meanwhile but keep serving their own clients; afterwards events cross nodes again and
// what crossed no node meanwhile is caught up from the store, without restarting a process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, until, OwnRedis, readyz, redisServerSkip, type Node } from './cluster-support.js';
import { adminClient, pgSkip } from './contract/postgres-support.js';
import { RawClient, createRoom, type Frame } from './realtime-support.js';

const skip = (await pgSkip()) || redisServerSkip();

const texts = (c: RawClient) => c.events.filter((f) => f.event === 'messageReceived').map((f: Frame) => f.text as string);

function assertIncreasing(frames: Frame[], what: string): void {
  for (let i = 1; i < frames.length; i++) assert.ok(frames[i].seq > frames[i - 1].seq, `${what}: seq ${frames[i].seq} after ${frames[i - 1].seq}`);
}

describe('cluster: Redis restarts', { skip, timeout: 240_000 }, () => {
  let redis: OwnRedis;
  let cluster: Cluster;
  let a: Node;
  let b: Node;
  const clients: RawClient[] = [];

  before(async () => {
    redis = await OwnRedis.start();
    cluster = new Cluster(redis.url);
    a = await cluster.start('na');
    b = await cluster.start('nb');
  });
  after(async () => {
    for (const c of clients) c.close();
    await cluster?.cleanup();
    await redis?.stop();
  });

  it('not ready while Redis is down, serving its own clients; events cross again and missed ones catch up after', async () => {
    await createRoom(a.s, 'rr');
    await createRoom(a.s, 'rs');
    const alice = await RawClient.connect(a.s, 'alice', 'rr');
    await alice.ok('enterRoom', { roomId: 'rs' });
    const carol = await RawClient.connect(a.s, 'carol', 'rr');
    const bob = await RawClient.connect(b.s, 'bob', 'rr');
    await bob.ok('enterRoom', { roomId: 'rs' });
    clients.push(alice, carol, bob);
    assert.equal((await readyz(a.url)).status, 200);
    await alice.ok('sendMessage', { roomId: 'rr', text: 'a1' });
    await until('bob to get a1', () => texts(bob).includes('a1'));

    await redis.stop();
    for (const n of [a, b]) {
      await until(`${n.id} to report not ready`, async () => (await readyz(n.url)).status === 503);
      assert.deepEqual((await readyz(n.url)).body, { status: 'unavailable', reason: 'the bus is not connected' });
      assert.equal((await fetch(`${n.url}/healthz`)).status, 200, 'still alive');
    }
    // Each node serves its own clients: commands succeed, and the node's own clients see them.
    // The last event of a room is the one a node cannot learn of by a later one (a gap):
    // rr's on node A, rs's on node B.
    await alice.ok('sendMessage', { roomId: 'rr', text: 'a2' });
    await bob.ok('sendMessage', { roomId: 'rs', text: 'b1' });
    await until('carol to get a2', () => texts(carol).includes('a2'));
    await until('bob to get his own b1', () => texts(bob).includes('b1'));
    await new Promise((r) => setTimeout(r, 300));
    await bob.sync();
    await alice.sync();
    assert.ok(!texts(bob).includes('a2'), 'a2 did not cross: the bus is down');
    assert.ok(!texts(alice).includes('b1'), 'b1 did not cross: the bus is down');

    await redis.restart();
    for (const n of [a, b]) await until(`${n.id} to be ready again`, async () => (await readyz(n.url)).status === 200);
    // What crossed no node meanwhile is caught up from the store…
    await until('bob to catch up a2', () => texts(bob).includes('a2'));
    await until('alice to catch up b1', () => texts(alice).includes('b1'));
    // …and new events cross again.
    await bob.ok('sendMessage', { roomId: 'rr', text: 'b2' });
    await alice.ok('sendMessage', { roomId: 'rs', text: 'a3' });
    await until('everyone to get b2 (and alice and bob a3)', () => [alice, bob, carol].every((c) => texts(c).includes('b2')) && texts(alice).includes('a3') && texts(bob).includes('a3'));
    await carol.sync();
    assert.deepEqual(texts(carol), ['a1', 'a2', 'b2']);
    for (const c of [alice, bob]) assert.deepEqual([...texts(c)].sort(), ['a1', 'a2', 'a3', 'b1', 'b2'], `${c.userId}: each message once`);
    for (const c of [alice, bob, carol]) {
      for (const room of ['rr', 'rs']) assertIncreasing(c.events.filter((f) => f.roomId === room), `${c.userId} in ${room}`);
    }
    for (const c of [alice, bob, carol]) assert.ok(!c.events.some((f) => f.event === 'memberLeft'), `${c.userId} saw no one leave`);

    // The outage in the metrics: each node dropped the event it could not send.
    for (const n of [a, b]) {
      const text = await (await fetch(`${n.url}/metrics`)).text();
      const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
      assert.equal(value('rostrum_bus_connected'), 1, n.id);
      assert.ok(value('rostrum_bus_events_dropped_total') >= 1, `${n.id} dropped: ${value('rostrum_bus_events_dropped_total')}`);
      assert.ok(value('rostrum_bus_events_sent_total') >= 2, n.id);
      assert.ok(value('rostrum_bus_events_received_total') >= 2, n.id);
      // The rooms held here read what they missed from the store once the bus was back.
      const fills = (reason: string) => Number(new RegExp(`^rostrum_realtime_gap_fills_total\\{reason="${reason}"\\} (\\S+)$`, 'm').exec(text)?.[1]);
      assert.ok(fills('resync') >= 1, `${n.id} resync reads: ${fills('resync')}`);
      assert.ok(fills('gap') >= 0, `${n.id} gap fills: ${fills('gap')}`);
    }
  });

  it('events missed meanwhile and no longer stored: the connection is closed with 4009; entering again gives a fresh snapshot', async () => {
    await createRoom(a.s, 'gone');
    const dave = await RawClient.connect(a.s, 'dave', 'gone');
    const erin = await RawClient.connect(b.s, 'erin', 'gone');
    clients.push(dave, erin);
    const daveSeq = (await dave.ok('enterRoom', { roomId: 'gone' })).seq as number;

    await redis.stop();
    await until('node B to report not ready', async () => (await readyz(b.url)).status === 503);
    await erin.ok('sendMessage', { roomId: 'gone', text: 'e1' });
    await erin.ok('sendMessage', { roomId: 'gone', text: 'e2' });
    await until('erin to get e1', () => texts(erin).includes('e1'));
    const e1 = erin.events.find((f) => f.text === 'e1')!;
    // As retention would have it: e1 is gone from the outbox, e2 is still there.
    const pg = await adminClient();
    try {
      const r = await pg.query(`DELETE FROM "${cluster.schema}".outbox WHERE room_id = 'gone' AND seq = $1`, [e1.seq]);
      assert.equal(r.rowCount, 1);
    } finally {
      await pg.end();
    }

    await redis.restart();
    const closed = await dave.closed;
    assert.equal(closed.code, 4009, closed.reason);
    assert.ok(!texts(dave).includes('e2'), 'no event past the hole');
    const again = await RawClient.connect(a.s, 'dave');
    clients.push(again);
    const data = await again.ok('enterRoom', { roomId: 'gone', lastSeq: daveSeq });
    assert.equal(data.recovered, false, 'a fresh snapshot');
    assert.ok(data.seq >= e1.seq + 1);
  });

  /** `c`'s close, or null if it stays open `ms` (each test's outage must stay under the 15 s TTL). */
  const closedWithin = (c: RawClient, ms = 30_000) =>
    Promise.race([c.closed, new Promise<null>((r) => setTimeout(() => r(null), ms))]);

  it('every event missed meanwhile is no longer stored: 4009 too, though there is no later event to reveal the hole', async () => {
    for (const n of [a, b]) await until(`${n.id} to be ready after the last restart`, async () => (await readyz(n.url)).status === 200);
    await createRoom(a.s, 'tail');
    const frank = await RawClient.connect(a.s, 'frank', 'tail');
    const gina = await RawClient.connect(b.s, 'gina', 'tail');
    clients.push(frank, gina);
    await until('frank to see gina enter', () => frank.events.some((f) => f.event === 'memberEntered' && f.member?.userId === 'gina'));

    await redis.stop();
    await until('node B to report not ready', async () => (await readyz(b.url)).status === 503);
    await gina.ok('sendMessage', { roomId: 'tail', text: 't1' });
    await gina.ok('sendMessage', { roomId: 'tail', text: 't2' });
    await until('gina to get t2', () => texts(gina).includes('t2'));
    const t1 = gina.events.find((f) => f.text === 't1')!;
    // As retention would have it: the whole tail frank missed is gone from the outbox.
    const pg = await adminClient();
    try {
      const r = await pg.query(`DELETE FROM "${cluster.schema}".outbox WHERE room_id = 'tail' AND seq >= $1`, [t1.seq]);
      assert.equal(r.rowCount, 2);
    } finally {
      await pg.end();
    }

    await redis.restart();
    const closed = await closedWithin(frank);
    assert.ok(closed, 'frank was told');
    assert.equal(closed.code, 4009, closed.reason);
    assert.deepEqual(texts(frank), [], 'nothing of the lost tail');
  });

  it('the room was dismissed and created again meanwhile: 4009, and nothing of the new room as if it were the old one', async () => {
    for (const n of [a, b]) await until(`${n.id} to be ready after the last restart`, async () => (await readyz(n.url)).status === 200);
    await createRoom(a.s, 'life');
    const hank = await RawClient.connect(a.s, 'hank', 'life');
    const ivy = await RawClient.connect(b.s, 'ivy', 'life');
    clients.push(hank, ivy);
    await hank.ok('sendMessage', { roomId: 'life', text: 'old life' });
    await until('ivy to get it', () => texts(ivy).includes('old life'));

    await redis.stop();
    await until('node B to report not ready', async () => (await readyz(b.url)).status === 503);
    const dismissed = await b.s.tencent('room_engine_http_srv/destroy_room', { RoomId: 'life' });
    assert.equal(dismissed.ErrorCode, 0, JSON.stringify(dismissed));
    await createRoom(b.s, 'life');
    // The new life runs past hank's seq, so its events would look like the ones he missed.
    const jo = await RawClient.connect(b.s, 'jo', 'life');
    clients.push(jo);
    for (let i = 1; i <= 6; i++) await jo.ok('sendMessage', { roomId: 'life', text: `new life ${i}` });
    await until('jo to get the last', () => texts(jo).includes('new life 6'));

    await redis.restart();
    const closed = await closedWithin(hank);
    assert.ok(closed, 'hank was told');
    assert.equal(closed.code, 4009, closed.reason);
    assert.deepEqual(texts(hank), ['old life'], 'nothing of the new life as if it were the old one');
  });
});
