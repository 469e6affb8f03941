// Snapshot + sequence consistency under races: a member's view is its enterRoom snapshot plus
// every event after it, none missing, none twice — events committed in the same batch as its
// entry included. Runs on SQLite, or PostgreSQL with ROSTRUM_TEST_STORE.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { asAdmin, startTestServer, type TestServer } from './support/harness.js';
import { RawClient, closeClients, createRoom, eventually, memberIds, sleep, type Frame } from './realtime-support.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await closeClients();
  await s.close();
});

/** Runs `fn` over `items`, `width` at a time. */
async function inWaves<T, R>(items: T[], width: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) out.push(...(await Promise.all(items.slice(i, i + width).map(fn))));
  return out;
}

/** Every event of `roomId` a client got, with strictly increasing seq (none twice, in order). */
function assertOrdered(c: RawClient, roomId: string, from: number): Frame[] {
  const events = c.events.filter((e) => e.roomId === roomId && e.event !== 'memberCountChanged');
  let last = from;
  for (const e of events) {
    assert.ok(e.seq > last, `${c.userId}: ${e.event} seq ${e.seq} after ${last}`);
    last = e.seq;
  }
  return events;
}

test('ban while entering x100: each is refused, or told and removed; none stays inside', async () => {
  await createRoom(s, 'race-ban', { maxMembers: 1000 });
  const users = Array.from({ length: 100 }, (_, i) => `rb${i}`);
  const clients = await inWaves(users, 25, (u) => RawClient.connect(s, u));
  // The ban goes out 0..4 ms after the entry, so that it lands before, beside and after it.
  const outcomes = await inWaves(clients, 20, async (c) => {
    const i = Number(c.userId.slice(2));
    const [entry] = await Promise.all([
      c.req('enterRoom', { roomId: 'race-ban' }),
      sleep(i % 5).then(() =>
        asAdmin(s, { type: 'banUsers', roomId: 'race-ban', userIds: [c.userId], durationSec: 3600, reason: 'race', origin: 'tencent' }),
      ),
    ]);
    return { c, entry };
  });
  let refused = 0;
  let told = 0;
  for (const { c, entry } of outcomes) {
    if (entry.code === 110003) {
      refused++;
      continue;
    }
    assert.equal(entry.code, 0, `${c.userId}: ${entry.code} ${entry.message}`);
    const kicked = await c.take('kickedOutOfRoom', (e) => e.roomId === 'race-ban', 10_000);
    assert.equal(kicked.kind, 'banned');
    assert.ok(kicked.seq > entry.data.seq, 'the ban comes after the snapshot');
    told++;
    // Out of the room on this connection too.
    await c.fails('sendMessage', { roomId: 'race-ban', text: 'still here?' }, 100005);
  }
  assert.equal(refused + told, 100);
  if (process.env.RACE_DEBUG) console.log({ refused, told });
  await eventually(async () => (await memberIds(s, 'race-ban')).every((m) => !m.startsWith('rb')), 10_000, 'no banned member left');
  for (const info of s.server.realtime.listConnections()) assert.ok(!info.rooms.includes('race-ban'), `${info.userId} still in`);
  for (const c of clients) c.close();
});

test('seat changes racing 200 entries: every client ends with the server\'s seat list, events in order and once', async () => {
  await createRoom(s, 'race-seats', { maxMembers: 1000, seats: 6 });
  const users = Array.from({ length: 200 }, (_, i) => `rs${i}`);
  const clients = await inWaves(users, 50, (u) => RawClient.connect(s, u));
  let stop = false;
  const toggles = (async () => {
    let n = 0;
    while (!stop) {
      const index = n % 6;
      await asAdmin(s, { type: 'lockSeat', roomId: 'race-seats', index, locked: n % 12 < 6 });
      n++;
    }
    return n;
  })();
  const entries = await inWaves(clients, 40, async (c) => ({ c, data: await c.ok('enterRoom', { roomId: 'race-seats' }) }));
  stop = true;
  const changes = await toggles;
  assert.ok(changes > 0);
  // One more change after every entry: all must see it.
  await asAdmin(s, { type: 'lockSeat', roomId: 'race-seats', index: 0, locked: false });
  const final = await asAdmin(s, { type: 'getSeats', roomId: 'race-seats' });
  let stale = 0;
  for (const { c, data } of entries) {
    await c.sync();
    const events = assertOrdered(c, 'race-seats', data.seq);
    let seats = data.seats;
    for (const e of events) if (e.event === 'seatListChanged') seats = e.seats;
    if (JSON.stringify(seats) !== JSON.stringify(final)) stale++;
  }
  assert.equal(stale, 0, `${stale} of 200 clients hold a stale seat list`);
  for (const c of clients) c.close();
});

test('join notifications: every member present sees every later entry exactly once', async () => {
  await createRoom(s, 'race-joins', { maxMembers: 1000 });
  const users = Array.from({ length: 60 }, (_, i) => `rj${i}`);
  const clients = await inWaves(users, 30, (u) => RawClient.connect(s, u));
  const entries = await Promise.all(clients.map(async (c) => ({ c, data: await c.ok('enterRoom', { roomId: 'race-joins' }) })));
  const bySeq = new Map(entries.map(({ c, data }) => [data.seq, c.userId]));
  for (const { c, data } of entries) {
    await c.sync();
    const got = assertOrdered(c, 'race-joins', data.seq).filter((e) => e.event === 'memberEntered').map((e) => e.member.userId);
    const expected = [...bySeq].filter(([seq]) => seq > data.seq).sort((a, b) => a[0] - b[0]).map(([, u]) => u);
    assert.deepEqual(got, expected, c.userId);
  }
  for (const c of clients) c.close();
});

test('entries overlapping for long while the room chats: every member gets every message after its snapshot, in order and once', async () => {
  await createRoom(s, 'race-long', { maxMembers: 2000 });
  const observer = await RawClient.connect(s, 'rl-observer', 'race-long');
  const say = (text: string) => asAdmin(s, { type: 'sendAdminMessage', roomId: 'race-long', text, nick: 'app', avatar: '' });
  const users = Array.from({ length: 200 }, (_, i) => `rl${i}`);
  const clients = await inWaves(users, 100, (u) => RawClient.connect(s, u));
  let stop = false;
  const chat = (async () => {
    let n = 0;
    while (!stop) await Promise.all(Array.from({ length: 50 }, () => say(`m${n++}`)));
    return n;
  })();
  // A steady number entering at once while the room keeps publishing: each admission picks its
  // few events out of a long log the entrants share.
  let next = 0;
  const entries: { c: RawClient; seq: number }[] = [];
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < clients.length) {
        const c = clients[next++];
        entries.push({ c, seq: (await c.ok('enterRoom', { roomId: 'race-long' })).seq });
      }
    }),
  );
  stop = true;
  assert.ok((await chat) > 0);
  await say('last');
  await observer.sync();
  await eventually(async () => observer.events.some((e) => e.event === 'messageReceived' && e.text === 'last'));
  const messages = observer.events.filter((e) => e.event === 'messageReceived').map((e) => e.seq as number);
  let wrong = 0;
  for (const { c, seq } of entries) {
    await c.sync();
    const got = assertOrdered(c, 'race-long', seq).filter((e) => e.event === 'messageReceived').map((e) => e.seq);
    if (JSON.stringify(got) !== JSON.stringify(messages.filter((m) => m > seq))) wrong++;
  }
  assert.equal(wrong, 0, `${wrong} of ${entries.length} members missed or repeated a message`);
  for (const c of [observer, ...clients]) c.close();
});
