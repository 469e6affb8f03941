// Connection-level behaviour: replacement, heartbeats, slow consumers, client IPs behind
// proxies, shutdown, and many clients racing for one seat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asAdmin, asUser, startTestServer, tempData } from './support/harness.js';
import { RawClient, createRoom, eventually, memberIds, seatOf, sleep } from './realtime-support.js';

test('the same user entering from a second connection replaces the first', async () => {
  const s = await startTestServer();
  try {
    await createRoom(s, 'rep');
    await createRoom(s, 'rep-other');
    const owner = await RawClient.connect(s, 'owner', 'rep');
    const first = await RawClient.connect(s, 'bob', 'rep');
    await first.ok('enterRoom', { roomId: 'rep-other' });
    await first.ok('takeSeat', { roomId: 'rep', index: 1 });
    const firstConnId = s.server.realtime.listConnections().find((c) => c.userId === 'bob')!.id;
    await owner.drain();
    await first.drain();

    const second = await RawClient.connect(s, 'bob');
    const data = await second.ok('enterRoom', { roomId: 'rep', nick: 'Bob 2' });
    assert.equal(data.memberCount, 2);
    assert.equal(data.seats[1].userId, 'bob', 'the seat stays the user\'s');

    const replaced = await first.take('memberReplaced');
    assert.deepEqual([replaced.roomId, replaced.userId, replaced.connId], ['rep', 'bob', firstConnId]);
    assert.deepEqual(await owner.drain(), ['memberInfoChanged'], 'the room sees no one enter or leave, only the new nick');
    await first.fails('sendMessage', { roomId: 'rep', text: 'x' }, 100005);
    await first.fails('exitRoom', { roomId: 'rep' }, 100005); // it is out already; the member stays
    assert.deepEqual(await memberIds(s, 'rep'), ['bob', 'owner']);
    await first.ok('sendMessage', { roomId: 'rep-other', text: 'still in the other room' });

    // Events of the room now go to the second connection only.
    await owner.ok('sendMessage', { roomId: 'rep', text: 'hello' });
    assert.equal((await second.take('messageReceived')).text, 'hello');
    assert.deepEqual(await first.drain(), ['messageReceived']); // its own, in rep-other

    // The first connection's close removes it from rep-other only.
    first.close();
    await first.closed;
    await eventually(async () => (await memberIds(s, 'rep-other')).length === 0, 3000, 'bob to leave rep-other');
    assert.deepEqual(await memberIds(s, 'rep'), ['bob', 'owner']);
    assert.equal(await seatOf(s, 'rep', 1), 'bob');
    await second.ok('leaveSeat', { roomId: 'rep' });
    owner.close();
    second.close();
  } finally {
    await s.close();
  }
});

test('heartbeats: a connection that stops answering pings leaves its rooms and seat in time', async () => {
  const s = await startTestServer({ realtime: { heartbeatSeconds: 1 } });
  try {
    await createRoom(s, 'hb');
    const healthy = await RawClient.connect(s, 'healthy', 'hb');
    const silent = await RawClient.open(s, 'silent', { autoPong: false });
    await silent.ok('enterRoom', { roomId: 'hb' });
    await silent.ok('takeSeat', { roomId: 'hb', index: 0 });
    const since = Date.now();

    const left = await healthy.take('memberLeft', (e) => e.userId === 'silent', 4000);
    const took = Date.now() - since;
    assert.equal(left.reason, 'disconnected');
    assert.ok(took <= 1500, `left after ${took} ms (heartbeat 1 s)`);
    assert.equal(await seatOf(s, 'hb', 0), undefined);
    const closed = await silent.closed;
    assert.ok([4000, 1006].includes(closed.code), `closed with ${closed.code}`);

    // The healthy one answers pings and stays.
    await sleep(1200);
    assert.deepEqual(await memberIds(s, 'hb'), ['healthy']);
    await healthy.sync();
    healthy.close();
  } finally {
    await s.close();
  }
});

test('a client that stops reading is dropped at the buffer limit; the others get every event', async () => {
  const s = await startTestServer({ realtime: { maxBufferedBytes: 64 * 1024 } });
  try {
    await createRoom(s, 'slow');
    const fast = await RawClient.connect(s, 'fast', 'slow');
    const slow = await RawClient.connect(s, 'slow', 'slow');
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();

    const text = 'x'.repeat(2000);
    let sent = 0;
    const slowConnected = () => s.server.realtime.listConnections().some((c) => c.userId === 'slow');
    while (slowConnected() && sent < 50_000) {
      await asUser(s, 'fast', { type: 'sendMessage', roomId: 'slow', text });
      // Client and server share this process: let the sockets move now and then.
      if (++sent % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    assert.ok(!slowConnected(), `still connected after ${sent} messages`);
    await eventually(async () => (await memberIds(s, 'slow')).join() === 'fast', 3000, 'the slow member to leave');

    await fast.sync();
    const got = fast.events.filter((e) => e.event === 'messageReceived').length;
    assert.equal(got, sent, 'the fast client got every message');
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await slow.closed;
    assert.ok([4008, 1006].includes(closed.code), `closed with ${closed.code}`);
    fast.close();
  } finally {
    await s.close();
  }
});

test('X-Forwarded-For gives the client IP only when trustProxy says so', async () => {
  const headers = { 'X-Forwarded-For': '203.0.113.7' };
  for (const [trustProxy, expected] of [
    [false, '127.0.0.1'],
    [['10.0.0.0/8'], '127.0.0.1'],
    [true, '203.0.113.7'],
    [['127.0.0.1'], '203.0.113.7'],
  ] as const) {
    const s = await startTestServer({ trustProxy: trustProxy as boolean | string[] });
    try {
      const c = await RawClient.open(s, 'bob', { headers });
      await c.sync();
      assert.equal(s.server.realtime.listConnections()[0].clientIp, expected, `trustProxy ${JSON.stringify(trustProxy)}`);
      c.close();
    } finally {
      await s.close();
    }
  }
});

test('behind a trusted proxy, an IP kick refuses that address only', async () => {
  const s = await startTestServer({ trustProxy: true });
  try {
    await createRoom(s, 'xff');
    const open = async (userId: string, ip: string) => {
      const c = await RawClient.open(s, userId, { headers: { 'X-Forwarded-For': ip } });
      await c.sync();
      return c;
    };
    const owner = await open('owner', '198.51.100.1');
    const bob = await open('bob', '198.51.100.2');
    const carol = await open('carol', '198.51.100.3');
    for (const c of [owner, bob, carol]) await c.ok('enterRoom', { roomId: 'xff' });
    assert.equal((await asAdmin(s, { type: 'getMember', roomId: 'xff', userId: 'bob' })).clientIp, '198.51.100.2');

    await owner.ok('kickUser', { roomId: 'xff', userId: 'bob', type: 'ip' });
    await bob.take('kickedOutOfRoom');
    assert.deepEqual(await memberIds(s, 'xff'), ['carol', 'owner']);
    const again = await open('bob2', '198.51.100.2');
    await again.fails('enterRoom', { roomId: 'xff' }, 110004);
    const other = await open('dave', '198.51.100.4');
    await other.ok('enterRoom', { roomId: 'xff' });
    for (const c of [owner, bob, carol, again, other]) c.close();
  } finally {
    await s.close();
  }
});

test('shutdown closes every socket with 1001 and its members leave', async () => {
  const data = tempData();
  try {
    const s = await startTestServer({ data, nodeId: 'n1' });
    await createRoom(s, 'bye');
    const clients = await Promise.all(['a', 'b', 'c'].map((u) => RawClient.connect(s, u, 'bye')));
    await clients[0].ok('takeSeat', { roomId: 'bye', index: 0 });
    const unauthenticated = await RawClient.open(s, 'x', { query: 'nothing=here' });
    await s.close();
    for (const c of clients) assert.deepEqual(await c.closed, { code: 1001, reason: 'server shutting down' });
    assert.equal((await unauthenticated.closed).code, 4401);

    // Another node on the same data: no ghost members are left behind.
    const next = await startTestServer({ data, nodeId: 'n2' });
    try {
      assert.deepEqual(await memberIds(next, 'bye'), []);
      assert.equal(await seatOf(next, 'bye', 0), undefined);
    } finally {
      await next.close();
    }
  } finally {
    await data.remove();
  }
});

test('race: 60 clients take one seat at once, exactly one wins', async () => {
  const s = await startTestServer();
  try {
    await createRoom(s, 'race', { seats: 1 });
    const clients = await Promise.all(Array.from({ length: 60 }, (_, i) => RawClient.connect(s, `racer${i}`, 'race')));
    const replies = await Promise.all(clients.map((c) => c.req('takeSeat', { roomId: 'race', index: 0 })));
    const winners = replies.flatMap((r, i) => (r.code === 0 ? [`racer${i}`] : []));
    assert.equal(winners.length, 1);
    assert.deepEqual(new Set(replies.filter((r) => r.code !== 0).map((r) => r.code)), new Set([100210]));
    assert.equal(await seatOf(s, 'race', 0), winners[0]);
    for (const c of clients) {
      const last = (await c.drain()).filter((e) => e === 'seatListChanged');
      assert.equal(last.length, 1, 'one seat change, seen by everyone');
    }
    for (const c of clients) c.close();
  } finally {
    await s.close();
  }
});

test('a user holds at most realtime.maxConnectionsPerUser connections on a node: the next is closed with 4011', async () => {
  const s = await startTestServer({ realtime: { maxConnectionsPerUser: 2 } });
  try {
    const first = await RawClient.connect(s, 'ivy');
    const second = await RawClient.connect(s, 'ivy');
    const third = await RawClient.open(s, 'ivy');
    const refused = await third.closed;
    assert.equal(refused.code, 4011);
    assert.match(refused.reason, /too many connections of this user \(2\)/);
    // Another user is not affected; a closed connection frees its place.
    const other = await RawClient.connect(s, 'jay');
    first.close();
    await first.closed;
    await eventually(() => s.server.realtime.listConnections().filter((c) => c.userId === 'ivy').length === 1, 2000, 'the close to be seen');
    const again = await RawClient.connect(s, 'ivy');
    for (const c of [second, other, again]) c.close();
  } finally {
    await s.close();
  }
});
