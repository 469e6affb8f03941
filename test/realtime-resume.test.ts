// Catch-up after a reconnect: the seat grace keeps a dropped member in, and `enterRoom` with
// `lastSeq` replays exactly the events it missed, or says `recovered: false` when they are gone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { asAdmin, startTestServer, type TestServer } from './support/harness.js';
import { RawClient, client, closeClients, createRoom, eventually, memberIds, seatOf, sleep } from './realtime-support.js';

let s: TestServer;
before(async () => {
  s = await startTestServer({ realtime: { seatGraceSeconds: 3, resumeWindowSeconds: 60 } });
});
after(async () => {
  await closeClients();
  await s.close();
});

function connOf(userId: string, roomId: string): string {
  const conns = s.server.realtime.listConnections().filter((c) => c.userId === userId && c.rooms.includes(roomId));
  assert.equal(conns.length, 1, `${userId} is in ${roomId} through one connection`);
  return conns[0].id;
}

const say = (roomId: string, text: string) => asAdmin(s, { type: 'sendAdminMessage', roomId, text, nick: 'host', avatar: '' });

test('drop, events meanwhile, reconnect with lastSeq: exactly the missed events, in order; the seat is kept', async () => {
  await createRoom(s, 'rs-catch', { seats: 4 });
  const bob = await RawClient.connect(s, 'bob', 'rs-catch');
  const ann = await RawClient.connect(s, 'ann', 'rs-catch');
  await ann.ok('takeSeat', { roomId: 'rs-catch', index: 1 });
  await say('rs-catch', 'before');
  const before = await ann.take('messageReceived', (e) => e.text === 'before');
  await ann.sync();
  const last = Math.max(before.seq, ...ann.events.splice(0).map((e) => e.seq));

  await bob.drain();
  s.server.realtime.terminate(connOf('ann', 'rs-catch'));
  await ann.closed;
  for (const text of ['m1', 'm2', 'm3']) await say('rs-catch', text);
  await asAdmin(s, { type: 'lockSeat', roomId: 'rs-catch', index: 3, locked: true });
  await asAdmin(s, { type: 'kickOffSeat', roomId: 'rs-catch', userId: 'bob', data: '' }).catch(() => undefined); // bob is on no seat: refused, no event

  const again = await RawClient.connect(s, 'ann');
  const data = await again.ok('enterRoom', { roomId: 'rs-catch', lastSeq: last });
  assert.equal(data.recovered, true);
  assert.equal(data.seats[1].userId, 'ann', 'the seat was kept through the grace');
  await again.sync();
  const replay = again.events.splice(0);
  assert.deepEqual(
    replay.map((e) => (e.event === 'messageReceived' ? e.text : e.event)),
    ['m1', 'm2', 'm3', 'seatListChanged'],
  );
  const seqs = replay.map((e) => e.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  assert.ok(seqs.every((q) => q > last && q <= data.seq));

  // The room saw no leave and no entry of ann.
  assert.deepEqual(
    (await bob.drain()).filter((e) => e === 'memberLeft' || e === 'memberEntered'),
    [],
  );
  // Live again: later events come once, after the snapshot.
  await say('rs-catch', 'after');
  const after1 = await again.take('messageReceived');
  assert.equal(after1.text, 'after');
  assert.ok(after1.seq > data.seq);
  again.close();
  bob.close();
});

test('past the resume window: recovered false, no replay, a fresh snapshot', async () => {
  const t = await startTestServer({ realtime: { seatGraceSeconds: 5, resumeWindowSeconds: 0.3 } });
  try {
    await createRoom(t, 'rs-old');
    const ann = await RawClient.connect(t, 'ann');
    const entered = await ann.ok('enterRoom', { roomId: 'rs-old' });
    t.server.realtime.terminate(t.server.realtime.listConnections().find((c) => c.userId === 'ann')!.id);
    await ann.closed;
    await asAdmin(t, { type: 'sendAdminMessage', roomId: 'rs-old', text: 'gone', nick: '', avatar: '' });
    await sleep(500);
    const again = await RawClient.connect(t, 'ann');
    const data = await again.ok('enterRoom', { roomId: 'rs-old', lastSeq: entered.seq });
    assert.equal(data.recovered, false);
    assert.deepEqual(await again.drain(), []);
    again.close();
  } finally {
    await t.close();
  }
});

test('a lastSeq ahead of the room (another life of it) is not recovered', async () => {
  await createRoom(s, 'rs-ahead');
  const ann = await RawClient.connect(s, 'ann');
  const data = await ann.ok('enterRoom', { roomId: 'rs-ahead', lastSeq: 10_000 });
  assert.equal(data.recovered, false);
  await ann.fails('enterRoom', { roomId: 'rs-ahead', lastSeq: -1 }, 100002);
  ann.close();
});

test('past the seat grace the dropped member leaves (disconnected) and its seat is freed', async () => {
  await createRoom(s, 'rs-grace', { seats: 2 });
  const bob = await RawClient.connect(s, 'bob', 'rs-grace');
  const ann = await RawClient.connect(s, 'ann', 'rs-grace');
  await ann.ok('takeSeat', { roomId: 'rs-grace', index: 0 });
  s.server.realtime.terminate(connOf('ann', 'rs-grace'));
  await sleep(1000);
  assert.deepEqual(await memberIds(s, 'rs-grace'), ['ann', 'bob'], 'still in during the grace');
  const left = await bob.take('memberLeft', (e) => e.userId === 'ann', 10_000);
  assert.equal(left.reason, 'disconnected');
  assert.equal(await seatOf(s, 'rs-grace', 0), undefined);
  // A client's own close (a close frame, with or without a code) leaves at once.
  const cal = await RawClient.connect(s, 'cal', 'rs-grace');
  cal.close();
  await bob.take('memberLeft', (e) => e.userId === 'cal', 2000);
  // But 4000 is a client giving up a socket it cannot hear from (the TypeScript client, after an
  // unanswered ping): a drop, so the member keeps its seat for the grace and resumes.
  const eve = await RawClient.connect(s, 'eve', 'rs-grace');
  await eve.ok('takeSeat', { roomId: 'rs-grace', index: 1 });
  eve.close(4000);
  await eve.closed;
  await sleep(500);
  assert.equal(await seatOf(s, 'rs-grace', 1), 'eve', 'the seat is kept through the grace');
  const again = await RawClient.connect(s, 'eve');
  const resumed = await again.ok('enterRoom', { roomId: 'rs-grace' });
  assert.equal(resumed.seats[1].userId, 'eve');
  await bob.sync();
  assert.ok(!bob.events.some((e) => e.event === 'memberLeft' && e.userId === 'eve'), 'eve never left');
  again.close();
  bob.close();
});

test('the TypeScript client resumes by itself: missed messages once, in order, seat kept', async () => {
  await createRoom(s, 'rs-client', { seats: 2 });
  const c = client(s, 'dan');
  await c.connect();
  await c.enterRoom({ roomId: 'rs-client' });
  await c.takeSeat({ roomId: 'rs-client', index: 1 });
  const texts: string[] = [];
  c.on('messageReceived', (e) => texts.push(e.text));
  await say('rs-client', 'one');
  await eventually(() => texts.length === 1);

  const restored = c.once('roomRestored', () => true, 10_000);
  s.server.realtime.terminate(connOf('dan', 'rs-client'));
  // Sent while it is away (the client reconnects within ms: some may be live, none twice).
  for (const text of ['two', 'three', 'four']) await say('rs-client', text);
  const r = await restored;
  assert.equal(r.data.recovered, true);
  assert.equal(r.data.seats[1].userId, 'dan');
  await say('rs-client', 'five');
  await eventually(() => texts.length >= 5, 5000, 'five messages');
  await sleep(100);
  assert.deepEqual(texts, ['one', 'two', 'three', 'four', 'five']);
  await c.close();
});

test('the room was dismissed and created again while the client was away: its resume is a fresh snapshot, not the new room\'s events', async () => {
  await createRoom(s, 'rs-life');
  // Reconnects 2 to 4 s after the drop: time for the room to end and start again meanwhile.
  const c = client(s, 'eve', { reconnect: { initialDelayMs: 4000, maxDelayMs: 4000 } });
  await c.connect();
  const first = await c.enterRoom({ roomId: 'rs-life' });
  const texts: string[] = [];
  c.on('messageReceived', (e) => texts.push(e.text));
  await say('rs-life', 'old life');
  await eventually(() => texts.length === 1);

  const restored = c.once('roomRestored', () => true, 15_000);
  s.server.realtime.terminate(connOf('eve', 'rs-life'));
  await asAdmin(s, { type: 'destroyRoom', roomId: 'rs-life' });
  // createTime is in seconds: the new room is created in a later one.
  await sleep(1000 - (Date.now() % 1000) + 20);
  await createRoom(s, 'rs-life');
  // Its seq goes past the client's last one, so its events would pass for the missed ones.
  for (let i = 1; i <= 6; i++) await say('rs-life', `new life ${i}`);
  const r = await restored;
  assert.notEqual(r.data.room.createTime, first.room.createTime);
  assert.equal(r.data.recovered, false, 'a fresh snapshot');
  await sleep(100);
  assert.deepEqual(texts, ['old life'], 'no event of the new room replayed as missed');
  await c.close();
});

test('kicked out while away: the resume is refused (110015) and taken back; entering anew comes back', async () => {
  await createRoom(s, 'rs-kicked', { seats: 2 });
  const bob = await RawClient.connect(s, 'bob', 'rs-kicked');
  const fay = await RawClient.connect(s, 'fay');
  const entered = await fay.ok('enterRoom', { roomId: 'rs-kicked' });
  await fay.ok('takeSeat', { roomId: 'rs-kicked', index: 0 });
  s.server.realtime.terminate(connOf('fay', 'rs-kicked'));
  await fay.closed;
  await asAdmin(s, { type: 'kickOut', roomId: 'rs-kicked', userIds: ['fay'], reason: 'spam' });

  const again = await RawClient.connect(s, 'fay');
  await again.fails('enterRoom', { roomId: 'rs-kicked', lastSeq: entered.seq }, 110015);
  assert.deepEqual(await memberIds(s, 'rs-kicked'), ['bob'], 'the resume did not put fay back');
  assert.equal(await seatOf(s, 'rs-kicked', 0), undefined);
  assert.deepEqual(await again.drain(), [], 'no event of the room reached the refused resume');
  // A kick does not ban: entering without lastSeq comes back.
  await again.ok('enterRoom', { roomId: 'rs-kicked' });
  assert.deepEqual(await memberIds(s, 'rs-kicked'), ['bob', 'fay']);
  again.close();
  bob.close();
});

test('the TypeScript client kicked out while away loses the room as kicked, and does not come back', async () => {
  await createRoom(s, 'rs-client-kick');
  // Its first reconnect comes 1–2 s after the drop: the kick lands while it is away.
  const c = client(s, 'gus', { reconnect: { initialDelayMs: 2000, maxDelayMs: 2000 } });
  await c.connect();
  await c.enterRoom({ roomId: 'rs-client-kick' });
  const lost = c.once('roomLost', () => true, 10_000);
  let reconnected = false;
  c.on('connected', (e) => (reconnected ||= e.reconnected));
  s.server.realtime.terminate(connOf('gus', 'rs-client-kick'));
  await asAdmin(s, { type: 'kickOut', roomId: 'rs-client-kick', userIds: ['gus'], reason: 'bye' });
  assert.equal(reconnected, false, 'the kick came while the client was away');
  const r = await lost;
  assert.equal(r.reason, 'kicked');
  assert.equal(r.code, 110015);
  assert.match(r.message, /bye/);
  await sleep(200);
  assert.deepEqual(await memberIds(s, 'rs-client-kick'), []);
  await c.close();
});

test('a kick the user has come back from since (on another connection) does not refuse a later resume', async () => {
  await createRoom(s, 'rs-kick-back');
  const hal = await RawClient.connect(s, 'hal');
  const entered = await hal.ok('enterRoom', { roomId: 'rs-kick-back' });
  s.server.realtime.terminate(connOf('hal', 'rs-kick-back'));
  await hal.closed;
  await asAdmin(s, { type: 'kickOut', roomId: 'rs-kick-back', userIds: ['hal'], reason: 'once' });
  // Back in on a second device, then out again by itself.
  const tablet = await RawClient.connect(s, 'hal');
  await tablet.ok('enterRoom', { roomId: 'rs-kick-back' });
  await tablet.ok('exitRoom', { roomId: 'rs-kick-back' });
  const again = await RawClient.connect(s, 'hal');
  const data = await again.ok('enterRoom', { roomId: 'rs-kick-back', lastSeq: entered.seq });
  assert.equal(data.recovered, true);
  assert.deepEqual(await memberIds(s, 'rs-kick-back'), ['hal']);
  for (const c of [tablet, again]) c.close();
});
