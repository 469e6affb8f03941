// Nothing accumulates per room, connection, user or IP once that thing is gone. A live platform
// runs for weeks: rooms are created and dismissed all day, phones connect and drop, users come
// and go. Many cycles of that run against a real server (real WebSocket clients, distinct users,
// IPs and UserSigs each cycle); then the server's per-key structures are back to their baseline,
// and no metric has a label per room or user. Structures bounded by time or by a cap (not by
// their owner's going) are checked against their bound.
//
// The sizes are read from the server's objects (private fields reached by name: `field` fails
// the test when one is renamed, so a refactor cannot make a check vacuous).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UserSigVerifier, genUserSig } from '../src/auth/usersig.js';
import { cachedBadWordLists } from '../src/core/bad-words.js';
import { LocalLimits } from '../src/core/local-limits.js';
import { MemoryStore } from '../src/adapters/memory/store.js';
import { dropPrefix, freshPrefixUrl, redisSkip } from './contract/redis-support.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { APP, OTHER_APP, asAdmin, startTestServer, type TestServer } from './support/harness.js';
import { RawClient, authQuery, createRoom, eventually } from './realtime-support.js';

function field(obj: unknown, name: string): any {
  assert.ok(obj !== null && typeof obj === 'object' && name in obj, `no field ${name} on ${(obj as object)?.constructor?.name}`);
  return (obj as Record<string, unknown>)[name];
}

function size(obj: unknown, name: string): number {
  const v = field(obj, name);
  assert.ok(v instanceof Map || v instanceof Set, `${name} is not a Map or Set`);
  return v.size;
}

/** The sizes of the per-key structures of the server (those of the store when it keeps them in memory). */
function sizes(s: TestServer): Record<string, number> {
  const { realtime, engine, store } = s.server;
  const out: Record<string, number> = {
    'gateway.connections': size(realtime, 'connections'),
    'gateway.sockets': size(realtime, 'sockets'),
    'gateway.feeds': size(realtime, 'feeds'),
    'gateway.counts': size(realtime, 'counts'),
    'gateway.graceWaits': size(realtime, 'graceWaits'),
    'gateway.leaving': size(realtime, 'leaving'),
    'gateway.countFanout': field(field(realtime, 'countFanout'), 'jobs').length,
    'gateway.upgrades': field(field(realtime, 'upgrades'), 'jobs').length,
    'batcher.rooms': size(engine.batches, 'rooms'),
    'badWords.compiled': cachedBadWordLists(APP.sdkAppId),
    'bus.handlers': size(s.server.bus, 'handlers'),
  };
  // The shared (Redis) limits count in Redis, and in this process while Redis is away.
  const limits = field(realtime, 'limits');
  const local = limits instanceof LocalLimits ? limits : field(limits, 'local');
  assert.ok(local instanceof LocalLimits);
  out['limits.failures'] = size(local, 'failures');
  if (store instanceof MemoryStore) {
    // An app's state and locks are made by its first write (a warm-up cycle has made them).
    const app = field(field(store, 'state'), 'apps').get(APP.sdkAppId);
    for (const name of ['members', 'userRooms', 'ipRooms', 'badWords']) out[`store.${name}`] = size(app, name);
    out['store.deny'] = app.deny.size;
    out['store.mute'] = app.mute.size;
    out['store.rooms'] = app.rooms.size;
    out['store.sortedRoomIds'] = app.rooms.sortedIds.length;
    out['store.roomLocks'] = size(field(store, 'locks').get(APP.sdkAppId), 'rooms');
    if ('settingsWritten' in store) out['store.settingsWritten'] = size(store, 'settingsWritten');
  }
  return out;
}

/**
 * One cycle: a room is created (with its own bad-word list), its owner and four users enter over
 * WebSocket (each from an address and with a UserSig of its own; one drops and resumes with
 * another), take seats, chat (a message
 * with the bad word is refused), are kicked off a seat, kicked out and (when the room is to be
 * dismissed) banned by user id and by IP; then every socket goes (close frames and dropped
 * networks) and the room is dismissed (before or after they go) or left empty.
 */
async function cycle(s: TestServer, run: number, tag: string, dismiss: boolean): Promise<void> {
  const roomId = `churn-${run}-${tag}`;
  const owner = `owner-${run}-${tag}`;
  const n = tag === 'warm' ? 250 : Number(tag);
  await createRoom(s, roomId, { owner, seats: 4 });
  await asAdmin(s, { type: 'addBadWords', scope: roomId, words: [`badword${tag}`] });
  const ip = (k: number) => (k % 2 === 0 ? `203.0.${n}.${k + 1}` : `2001:db8:${n.toString(16)}::${k + 1}`);
  const open = async (userId: string, k: number, resume: object = {}) => {
    const usersig = genUserSig(APP.sdkAppId, APP.secretKey, userId, 3600 + n * 10 + k + (Object.keys(resume).length > 0 ? 5 : 0));
    const c = await RawClient.open(s, userId, { query: authQuery(userId, APP, usersig), headers: { 'x-forwarded-for': ip(k) } });
    const entered = await c.ok('enterRoom', { roomId, nick: userId, ...resume });
    return Object.assign(c, { entered });
  };
  const ownerC = await open(owner, 0);
  const users = [0, 1, 2, 3].map((k) => `user-${run}-${tag}-${k}`);
  const cs = await Promise.all(users.map((u, k) => open(u, k + 1)));
  // A phone drops and comes back with a new UserSig, resuming from its last seq.
  const dropped = cs[3];
  dropped.ws.terminate();
  await dropped.closed;
  cs[3] = await open(users[3], 4, { lastSeq: dropped.entered.seq, createTime: dropped.entered.room.createTime });
  await Promise.all(cs.slice(0, 3).map((c) => c.ok('takeSeat', { roomId })));
  await Promise.all(cs.map((c, k) => c.ok('sendMessage', { roomId, text: `hello ${tag}.${k}` })));
  await cs[0].fails('sendMessage', { roomId, text: `a badword${tag} here` }, 110012);
  await ownerC.ok('kickOffSeat', { roomId, userId: users[0] });
  await ownerC.ok('kickOut', { roomId, userId: users[1] });
  if (dismiss) {
    // Bans by user and by IP: entries of the room, which go with it.
    await ownerC.ok('kickUser', { roomId, userId: users[2], type: 'userId' });
    await ownerC.ok('kickUser', { roomId, userId: users[3], type: 'ip' });
  }
  const destroy = async () => {
    const r = await s.tencent('room_engine_http_srv/destroy_room', { RoomId: roomId });
    assert.equal(r.ErrorCode, 0, r.ErrorInfo);
  };
  // Half the dismissals come while the members are still connected (they get roomDismissed).
  const early = dismiss && n % 4 === 0;
  if (early) {
    await destroy();
    await Promise.all([ownerC, cs[0]].map((c) => c.take('roomDismissed')));
  }
  const all = [ownerC, ...cs];
  all.forEach((c, k) => (k % 2 === 0 ? c.close() : c.ws.terminate()));
  await Promise.all(all.map((c) => c.closed));
  if (dismiss && !early) await destroy();
}

/** Waits until the gateway has no connection and no leave running, and the room is empty. */
async function settled(s: TestServer, roomId: string): Promise<void> {
  await eventually(() => s.server.realtime.connectionCount === 0 && size(s.server.realtime, 'leaving') === 0, 5000, 'the last leave');
  await eventually(async () => {
    const r = await s.tencent('room_engine_http_srv/get_room_member_list', { RoomId: roomId });
    return r.ErrorCode !== 0 || r.Response.MemberList.length === 0;
  }, 5000, `room ${roomId} to empty`);
}

/** `cycles` cycles after a warm-up; then the structures are at their baseline but for the rooms kept. */
async function churn(s: TestServer, cycles: number): Promise<void> {
  // Room ids of their own: the compiled bad-word lists are cached per process, not per server.
  const run = ++runs;
  // Warm-up: the app's state exists, every route used below has answered once.
  await cycle(s, run, 'warm', true);
  await settled(s, `churn-${run}-warm`);
  const baseline = sizes(s);
  const metricsBefore = await (await fetch(`${s.url}/metrics`)).text();

  for (let i = 0; i < cycles; i++) await cycle(s, run, String(i), i % 2 === 0);
  await settled(s, `churn-${run}-${cycles - 1}`);

  const now = sizes(s);
  const expected: Record<string, number> = { ...baseline };
  // What stays is the kept rooms themselves (data of live rooms): their row, settings and list.
  for (const k of ['store.rooms', 'store.sortedRoomIds', 'store.settingsWritten', 'store.badWords', 'badWords.compiled']) {
    if (k in expected) expected[k] += cycles / 2; // the rooms emptied, not dismissed (every other cycle)
  }
  assert.deepEqual(now, expected, 'per-key structures after the churn (actual vs baseline)');

  // No metric grew a label per room, user or IP.
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  for (const needle of ['churn-', 'owner-', 'user-', '203.0.', '2001:db8']) {
    assert.ok(!metrics.includes(needle), `a metric is labelled with ${needle}`);
  }
  // Series by name and labels, a histogram's buckets, sum and count as one: the same as before
  // but for a few label values first seen since (a status, a reason), never one per cycle.
  const series = (text: string) =>
    new Set(
      text
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'))
        .map((l) => l.slice(0, l.lastIndexOf(' ')).replace(/_(bucket|sum|count)(?=\{|$)/, '').replace(/le="[^"]*",?|,le="[^"]*"/, '')),
    );
  const before = series(metricsBefore);
  const added = [...series(metrics)].filter((x) => !before.has(x));
  assert.ok(added.length < 10, `${added.length} series added in ${cycles} cycles: ${added.join(', ')}`);
}

let runs = 0;
const CYCLES = 60;

describe('memory under churn', () => {
  let s: TestServer;
  let rx: Receiver;

  before(async () => {
    // Every event of the churn goes out as a callback too (the relay settles afterwards).
    rx = await startReceiver();
    // Behind a trusted proxy: each cycle's clients come from addresses of their own. A short
    // seat grace (dropped members wait, then leave) and a low audience threshold (rooms announce
    // coalesced member counts) put those paths' timers and maps through the churn too.
    s = await startTestServer({
      apps: [{ ...APP, callback: { url: rx.url } }, OTHER_APP],
      callbacks: { backoffBaseMs: 50, backoffMaxMs: 400 },
      trustProxy: true,
      realtime: { seatGraceSeconds: 0.05, audienceThreshold: 3, memberCountIntervalMs: 20, messagesPerSecond: 1000 },
    });
  });

  after(async () => {
    await s.close();
    await rx.close();
  });

  it('rooms created, entered, moderated, left and dismissed leave nothing behind', async () => {
    await churn(s, CYCLES);
    // The callback relay delivered them all: nothing waits in its window or in flight.
    await eventually(() => s.server.callbacks.relay.idle(), 10_000, 'the callback relay to settle');
    assert.ok(rx.unique().some((b) => b.CallbackCommand === 'Room.CallbackAfterDestroyRoom'), 'dismissals were called back');
  });
});

describe('memory under churn, with the Redis bus and limits', async () => {
  const skip = await redisSkip();
  let s: TestServer;
  let bus: string;

  before(async () => {
    if (skip) return;
    bus = freshPrefixUrl();
    s = await startTestServer({ bus, trustProxy: true, realtime: { seatGraceSeconds: 0, messagesPerSecond: 1000 } });
  });

  after(async () => {
    if (skip) return;
    await s.close();
    await dropPrefix(bus);
  });

  it('rooms created, entered, moderated, left and dismissed leave nothing behind', { skip }, async () => {
    await churn(s, CYCLES / 2);
  });
});

describe('bounded by time or by a cap', () => {
  it('chat buckets of users gone quiet are forgotten', () => {
    const limits = new LocalLimits();
    for (let u = 0; u < 1000; u++) assert.equal(limits.chat(`1\nu${u}`, 5, 10, 1000), true);
    assert.equal(size(limits, 'buckets'), 1000);
    // Past the sweep interval and the refill: one more message finds only its own bucket.
    limits.chat('1\nlast', 5, 10, 20_000);
    assert.equal(size(limits, 'buckets'), 1);
  });

  it('failed password attempts are forgotten after their window', () => {
    const limits = new LocalLimits();
    for (let u = 0; u < 1000; u++) limits.attemptFailed([`1\nroom\nu${u}`], 5, 60_000, 1000);
    assert.equal(size(limits, 'failures'), 1000);
    limits.attemptFailed(['1\nroom\nlast'], 5, 60_000, 62_000);
    assert.equal(size(limits, 'failures'), 1);
  });

  it('rate windows hold only the current second', () => {
    const limits = new LocalLimits();
    for (let k = 0; k < 1000; k++) limits.rate(`1\ncmd${k}`, 10, 1000);
    assert.equal(size(limits, 'counts'), 1000);
    limits.rate('1\nlast', 10, 2000);
    assert.equal(size(limits, 'counts'), 1);
  });

  it('replay nonces are forgotten once expired', async () => {
    const store = new MemoryStore();
    for (let k = 0; k < 1000; k++) assert.equal(await store.claimNonce('polyv', `n${k}`, 1000 + 60_000, 1000), true);
    assert.equal(size(store, 'nonces'), 1000);
    assert.equal(await store.claimNonce('polyv', 'last', 200_000, 120_000), true);
    assert.equal(size(store, 'nonces'), 1);
  });

  it('the UserSig cache holds at most its cap', () => {
    const v = new UserSigVerifier(100);
    for (let u = 0; u < 1000; u++) v.verify(genUserSig(APP.sdkAppId, APP.secretKey, `u${u}`, 3600), APP.sdkAppId, `u${u}`, APP.secretKey);
    assert.ok(size(v, 'cache') <= 100, `cache holds ${size(v, 'cache')}`);
  });
});
