// Three real nodes sharing one PostgreSQL schema and one Redis prefix: what one node commits
// reaches the clients of the others, in each room's seq order, and the rules that span
// connections (one seat per winner, one connection per member) hold across nodes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, clusterSkip, type Node } from './cluster-support.js';
import { RawClient, createRoom, memberIds, type Frame } from './realtime-support.js';

const skip = await clusterSkip();

/** Seqs of the frames, for an order check. */
function assertIncreasing(frames: Frame[], what: string): void {
  for (let i = 1; i < frames.length; i++) {
    assert.ok(frames[i].seq > frames[i - 1].seq, `${what}: seq ${frames[i].seq} after ${frames[i - 1].seq} (${frames[i - 1].event} then ${frames[i].event})`);
  }
}

async function untilEvent(c: RawClient, event: string, filter: (f: Frame) => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!c.events.some((f) => f.event === event && filter(f))) {
    if (Date.now() > end) assert.fail(`${c.userId}: no ${event} matching; held: ${c.events.map((f) => f.event).join(', ')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('cluster: fan-out across nodes', { skip, timeout: 240_000 }, () => {
  let cluster: Cluster;
  let a: Node;
  let b: Node;
  let c: Node;
  const clients: RawClient[] = [];
  const connect = async (n: Node, userId: string, roomId: string) => {
    const cl = await RawClient.connect(n.s, userId, roomId);
    clients.push(cl);
    return cl;
  };

  before(async () => {
    cluster = new Cluster();
    // One first (it makes the schema), then the others at once.
    a = await cluster.start('na');
    [b, c] = await cluster.startAll(['nb', 'nc']);
  });
  after(async () => {
    for (const cl of clients) cl.close();
    await cluster?.cleanup();
  });

  it('an admin kick on node A reaches a client on node B, amid chat from node C, in seq order', async () => {
    await createRoom(a.s, 'kick');
    const bob = await connect(b, 'bob', 'kick');
    const carol = await connect(c, 'carol', 'kick');
    const pick = await a.s.tencent('room_engine_http_mic/pick_user_on_seat', { RoomId: 'kick', Member_Account: 'bob', Index: 1 });
    assert.equal(pick.ErrorCode, 0, pick.ErrorInfo);
    await untilEvent(bob, 'seatListChanged', (f) => f.seats[1].userId === 'bob');

    // Chat committed on node C while node A kicks: both reach bob on node B.
    const chat = Array.from({ length: 20 }, (_, i) => carol.ok('sendMessage', { roomId: 'kick', text: `m${i}` }));
    const kick = await a.s.tencent('room_engine_http_mic/kick_user_off_seat', { RoomId: 'kick', Member_Account: 'bob', Data: 'time over' });
    assert.equal(kick.ErrorCode, 0, kick.ErrorInfo);
    await Promise.all(chat);

    await untilEvent(bob, 'kickedOffSeat', () => true);
    await untilEvent(bob, 'seatListChanged', (f) => f.seats[1].userId === null);
    await untilEvent(bob, 'messageReceived', (f) => f.text === 'm19');
    const k = bob.events.find((f) => f.event === 'kickedOffSeat')!;
    assert.deepEqual([k.roomId, k.userId, k.index, k.data], ['kick', 'bob', 1, 'time over']);
    assertIncreasing(bob.events, 'bob on node B');
    assert.equal(bob.events.filter((f) => f.event === 'messageReceived').length, 20, 'each message once');
    // Node A, which committed the kick, and node C, which committed the chat, show carol the same.
    await untilEvent(carol, 'seatListChanged', (f) => f.seats[1].userId === null);
    assertIncreasing(carol.events, 'carol on node C');
  });

  it('clients on all nodes race for one seat: exactly one wins and every client ends on the same seat list', async () => {
    await createRoom(a.s, 'race', { seats: 4 });
    const nodes = [a, b, c];
    const racers: RawClient[] = [];
    for (let i = 0; i < 9; i++) racers.push(await connect(nodes[i % 3], `racer${i}`, 'race'));
    const replies = await Promise.all(racers.map((r) => r.req('takeSeat', { roomId: 'race', index: 2 })));
    const winners = replies.flatMap((r, i) => (r.code === 0 ? [racers[i].userId] : []));
    assert.equal(winners.length, 1, `one winner: ${JSON.stringify(replies.map((r) => r.code))}`);
    for (const r of replies) if (r.code !== 0) assert.equal(r.code, 100210, r.message);

    // Then everyone takes any seat at once: three seats left for eight.
    const rest = racers.filter((r) => r.userId !== winners[0]);
    const second = await Promise.all(rest.map((r) => r.req('takeSeat', { roomId: 'race' })));
    assert.equal(second.filter((r) => r.code === 0).length, 3, JSON.stringify(second.map((r) => r.code)));

    const list = await a.s.tencent('room_engine_http_mic/get_seat_list', { RoomId: 'race' });
    const stored = list.Response.SeatList.map((s: { Member_Account: string }) => s.Member_Account || null);
    assert.equal(stored[2], winners[0]);
    assert.equal(stored.filter(Boolean).length, 4);
    // Every client's last seat list is the stored one, whichever node it is on.
    const lastSeats = (cl: RawClient) => cl.events.filter((f) => f.event === 'seatListChanged').at(-1)?.seats.map((s: { userId: string | null }) => s.userId);
    const end = Date.now() + 10_000;
    while (!racers.every((r) => JSON.stringify(lastSeats(r)) === JSON.stringify(stored))) {
      if (Date.now() > end) assert.fail(`clients disagree: ${racers.map((r) => `${r.userId}=${JSON.stringify(lastSeats(r))}`).join(' ')}; stored ${JSON.stringify(stored)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const r of racers) assertIncreasing(r.events, r.userId);
  });

  it('the same user entering on node B replaces its connection on node A; the room lists it once', async () => {
    await createRoom(a.s, 'twice');
    const watcher = await connect(c, 'watcher', 'twice');
    const first = await connect(a, 'alice', 'twice');
    const second = await connect(b, 'alice', 'twice');
    await untilEvent(first, 'memberReplaced', () => true);
    const r = first.events.find((f) => f.event === 'memberReplaced')!;
    assert.equal(r.userId, 'alice');
    assert.deepEqual(await memberIds(a.s, 'twice'), ['alice', 'watcher']);
    // The old connection is out of the room; the new one is in and gets the room's events.
    await first.fails('sendMessage', { roomId: 'twice', text: 'old' }, 100005);
    await watcher.ok('sendMessage', { roomId: 'twice', text: 'hello' });
    await untilEvent(second, 'messageReceived', (f) => f.text === 'hello');
    await first.sync();
    assert.equal(first.events.filter((f) => f.event === 'messageReceived').length, 0, 'the replaced connection gets nothing more');
    assert.equal(second.events.filter((f) => f.event === 'memberReplaced').length, 0, 'the new connection is not told it was replaced');
    // The replaced connection's close changes nothing (it is not the member's any more).
    first.close();
    await first.closed;
    await watcher.sync();
    assert.deepEqual(await memberIds(a.s, 'twice'), ['alice', 'watcher']);
  });
});
