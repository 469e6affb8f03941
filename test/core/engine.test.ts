// The engine's rules over the in-memory store: results, events and their sequence numbers,
// atomicity of failed commands, and races that must have one outcome.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRoomError } from '../../src/core/errors.js';
import { ADMIN, APP_ID, core, user } from './support.js';

const kinds = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e) => (isRoomError(e) ? e.kind : Promise.reject(e)),
  );

test('every room event carries the next sequence number of its room, with no gap', async () => {
  const f = core();
  await f.room('r1', ['a', 'b']);
  await f.room('r2', ['c']);
  await f.engine.execute(APP_ID, ADMIN, { type: 'pickOnSeat', roomId: 'r1', userId: 'a', index: 0 });
  await f.engine.execute(APP_ID, ADMIN, { type: 'kickOut', roomId: 'r1', userIds: ['a', 'b'], reason: 'bye' });
  for (const roomId of ['r1', 'r2']) {
    const seqs = f.events.filter((e) => e.roomId === roomId).map((e) => e.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `${roomId}: ${seqs}`);
  }
  const types = f.events.filter((e) => e.roomId === 'r1').map((e) => e.type);
  assert.deepEqual(types, [
    'roomCreated',
    'memberEntered',
    'memberEntered',
    'seatListChanged',
    'kickedOutOfRoom',
    'seatListChanged',
    'memberLeft',
    'kickedOutOfRoom',
    'memberLeft',
  ]);
});

test('the member count is kept with the room through entries, re-entries and removals', async () => {
  const f = core();
  await f.room('r', ['a', 'b', 'c']);
  const info = () => f.engine.execute(APP_ID, ADMIN, { type: 'getRoomInfo', roomId: 'r' });
  assert.equal((await info()).memberCount, 3);
  await f.engine.execute(APP_ID, user('a'), { type: 'enterRoom', roomId: 'r', clientIp: '127.0.0.1', connId: 'other' });
  assert.equal((await info()).memberCount, 3, 're-entry does not count twice');
  await f.engine.execute(APP_ID, user('b'), { type: 'leaveRoom', roomId: 'r' });
  await f.engine.execute(APP_ID, ADMIN, { type: 'banUsers', roomId: 'r', userIds: ['c'], durationSec: 60, reason: '', origin: 'tencent' });
  assert.equal((await info()).memberCount, 1);
});

test('a seat event shows the seats as they were when it happened', async () => {
  const f = core();
  await f.room('r', ['a', 'b']);
  await f.engine.execute(APP_ID, ADMIN, { type: 'pickOnSeat', roomId: 'r', userId: 'a', index: 0 });
  await f.engine.execute(APP_ID, ADMIN, { type: 'pickOnSeat', roomId: 'r', userId: 'b', index: 1 });
  f.events.length = 0;
  await f.engine.execute(APP_ID, ADMIN, { type: 'kickOut', roomId: 'r', userIds: ['a', 'b'], reason: '' });
  const lists = f.events.flatMap((e) => (e.type === 'seatListChanged' ? [e.data.seats.map((s) => s.userId)] : []));
  assert.deepEqual(lists.map((l) => l.slice(0, 2)), [
    [null, 'b'],
    [null, null],
  ]);
});

test('a failed command changes nothing and emits nothing', async () => {
  const f = core();
  await f.room('r', ['a']);
  await f.engine.execute(APP_ID, ADMIN, { type: 'pickOnSeat', roomId: 'r', userId: 'a', index: 0 });
  const before = f.events.length;
  // 'a' is removed first, then 'ghost' fails: all or nothing.
  assert.equal(await kinds(f.engine.execute(APP_ID, ADMIN, { type: 'kickOut', roomId: 'r', userIds: ['a', 'ghost'], reason: '' })), 'NotMember');
  assert.equal(f.events.length, before);
  const seats = await f.engine.execute(APP_ID, ADMIN, { type: 'getSeats', roomId: 'r' });
  assert.equal(seats[0].userId, 'a');
  assert.equal((await f.engine.execute(APP_ID, ADMIN, { type: 'getRoomInfo', roomId: 'r' })).memberCount, 1);
  // The next event continues the sequence where the committed ones left it.
  await f.engine.execute(APP_ID, user('a'), { type: 'leaveSeat', roomId: 'r' });
  const last = f.events.at(-1)!;
  assert.equal(last.seq, f.events.filter((e) => e.roomId === 'r').length);
});

test('100 concurrent picks onto one seat: exactly one wins', async () => {
  const f = core();
  const users = Array.from({ length: 100 }, (_, i) => `u${i}`);
  await f.room('r', users);
  const results = await Promise.all(
    users.map((u) => kinds(f.engine.execute(APP_ID, ADMIN, { type: 'pickOnSeat', roomId: 'r', userId: u, index: 3 }))),
  );
  assert.equal(results.filter((r) => r === 'ok').length, 1);
  assert.ok(results.every((r) => r === 'ok' || r === 'SeatOccupied'));
});

test('an app-wide ban racing entries: no banned user is left inside', async () => {
  const f = core();
  const rooms = ['r1', 'r2', 'r3'];
  for (const r of rooms) await f.room(r);
  const users = Array.from({ length: 30 }, (_, i) => `u${i}`);
  const entries = users.flatMap((u) =>
    rooms.map((roomId) => kinds(f.engine.execute(APP_ID, user(u), { type: 'enterRoom', roomId, clientIp: '10.0.0.1', connId: `c-${u}` }))),
  );
  const bans = users.map((u) => f.engine.execute(APP_ID, ADMIN, { type: 'banUsers', roomId: '', userIds: [u], durationSec: null, reason: '', origin: 'polyv' }));
  await Promise.all([...entries, ...bans]);
  for (const roomId of rooms) {
    const { members } = await f.engine.execute(APP_ID, ADMIN, { type: 'listMembers', roomId, after: '', count: 100 });
    assert.deepEqual(members.map((m) => m.userId), []);
  }
});

test('an IP ban in one room removes everyone there from that IP, and a member kept by others', async () => {
  const f = core();
  const ips: Record<string, string> = { a: '10.0.0.1', b: '10.0.0.1', c: '10.0.0.2' };
  await f.room('r', ['a', 'b', 'c'], { clientIp: (u) => ips[u] });
  await f.engine.execute(APP_ID, ADMIN, { type: 'banIpOf', roomId: 'r', userId: 'a', scope: 'room', reason: '', origin: 'polyv' });
  const { members } = await f.engine.execute(APP_ID, ADMIN, { type: 'listMembers', roomId: 'r', after: '', count: 100 });
  assert.deepEqual(members.map((m) => m.userId), ['c']);
  assert.equal(
    await kinds(f.engine.execute(APP_ID, user('d'), { type: 'enterRoom', roomId: 'r', clientIp: '10.0.0.1', connId: 'x' })),
    'DeniedIp',
  );
});

test('a room moderator kicks by IP only when it outranks everyone else in the room from that IP', async () => {
  const f = core();
  const ips: Record<string, string> = { owner: '10.0.0.1', mod: '10.0.0.9', a: '10.0.0.1', b: '10.0.0.2', c: '10.0.0.2' };
  await f.room('r', ['owner', 'mod', 'a', 'b', 'c'], { clientIp: (u) => ips[u] });
  await f.engine.execute(APP_ID, user('owner'), { type: 'updateMemberInfo', roomId: 'r', userId: 'mod', role: 'Admin' });
  // The owner is behind a's address: an admin may not remove it that way, and nothing changes.
  const refused = await f.engine.execute(APP_ID, user('mod'), { type: 'banIpOf', roomId: 'r', userId: 'a', scope: 'room', reason: '', origin: 'polyv' }).catch((e) => e);
  assert.ok(isRoomError(refused) && refused.kind === 'PermissionDenied', String(refused));
  assert.match(refused.message, /owner is in the room from the same IP/);
  const members = async () => (await f.engine.execute(APP_ID, ADMIN, { type: 'listMembers', roomId: 'r', after: '', count: 100 })).members.map((m) => m.userId);
  assert.deepEqual(await members(), ['a', 'b', 'c', 'mod', 'owner']);
  assert.deepEqual((await f.engine.execute(APP_ID, ADMIN, { type: 'listDeny', roomId: 'r' })).entries, []);
  // Members only behind b's address: both go.
  await f.engine.execute(APP_ID, user('mod'), { type: 'banIpOf', roomId: 'r', userId: 'b', scope: 'room', reason: '', origin: 'polyv' });
  assert.deepEqual(await members(), ['a', 'mod', 'owner']);
  // The owner outranks everyone: its kick of a goes through (the kicker itself stays).
  await f.engine.execute(APP_ID, user('owner'), { type: 'banIpOf', roomId: 'r', userId: 'a', scope: 'room', reason: '', origin: 'polyv' });
  assert.deepEqual(await members(), ['mod', 'owner']);
});

test('deny and mute checks find entries by subject among many', async () => {
  const f = core();
  await f.room('r');
  const many = Array.from({ length: 1000 }, (_, i) => `banned${i}`);
  for (let i = 0; i < many.length; i += 500) {
    await f.engine.execute(APP_ID, ADMIN, { type: 'banUsers', roomId: '', userIds: many.slice(i, i + 500), durationSec: null, reason: 'x', origin: 'polyv' });
  }
  assert.equal(await kinds(f.engine.execute(APP_ID, user('banned7'), { type: 'enterRoom', roomId: 'r', clientIp: '', connId: '' })), 'DeniedUser');
  assert.equal(await kinds(f.engine.execute(APP_ID, user('free'), { type: 'enterRoom', roomId: 'r', clientIp: '', connId: '' })), 'ok');
  await f.engine.execute(APP_ID, ADMIN, { type: 'setMuted', roomId: 'r', subjectType: 'userId', subjects: ['free'], muted: true, origin: 'tencent', durationSec: 1 });
  assert.equal(await kinds(f.engine.execute(APP_ID, user('free'), { type: 'sendMessage', roomId: 'r', text: 'hi' })), 'Muted');
});

test('expired entries stop applying', async () => {
  let now = 1_800_000_000_000;
  const f = core(undefined, () => now);
  await f.room('r');
  await f.engine.execute(APP_ID, ADMIN, { type: 'banUsers', roomId: 'r', userIds: ['a'], durationSec: 10, reason: '', origin: 'tencent' });
  assert.equal(await kinds(f.engine.execute(APP_ID, user('a'), { type: 'enterRoom', roomId: 'r', clientIp: '', connId: '' })), 'DeniedUser');
  now += 10_001;
  assert.equal(await kinds(f.engine.execute(APP_ID, user('a'), { type: 'enterRoom', roomId: 'r', clientIp: '', connId: '' })), 'ok');
});

test('apps never see each other', async () => {
  const f = core();
  await f.room('r', ['a']);
  assert.equal(await kinds(f.engine.execute(APP_ID + 1, ADMIN, { type: 'getRoomInfo', roomId: 'r' })), 'RoomNotFound');
  await f.engine.execute(APP_ID + 1, ADMIN, { type: 'createRoom', roomId: 'r' });
  await f.engine.execute(APP_ID + 1, ADMIN, { type: 'banUsers', roomId: '', userIds: ['a'], durationSec: null, reason: '', origin: 'polyv' });
  assert.equal((await f.engine.execute(APP_ID, ADMIN, { type: 'getRoomInfo', roomId: 'r' })).memberCount, 1);
});

test('a user acting through a connection is a member only through the one it entered by last', async () => {
  const f = core();
  await f.room('r', ['a']);
  const through = (connId: string) => ({ kind: 'user' as const, userId: 'a', connId });
  await f.engine.execute(APP_ID, user('a'), { type: 'enterRoom', roomId: 'r', clientIp: '127.0.0.1', connId: 'c2' });
  // The old connection (its node may not have heard of the replacement yet) is refused.
  assert.equal(await kinds(f.engine.execute(APP_ID, through('c-a'), { type: 'sendMessage', roomId: 'r', text: 'old' })), 'NotMember');
  assert.equal(await kinds(f.engine.execute(APP_ID, through('c-a'), { type: 'takeSeat', roomId: 'r', index: 0 })), 'NotMember');
  assert.equal(await kinds(f.engine.execute(APP_ID, through('c2'), { type: 'sendMessage', roomId: 'r', text: 'new' })), 'ok');
  // Without a connection (a server-side caller) the user is the member, as before.
  assert.equal(await kinds(f.engine.execute(APP_ID, user('a'), { type: 'sendMessage', roomId: 'r', text: 'server' })), 'ok');
  assert.deepEqual(f.events.filter((e) => e.type === 'messageReceived').map((e) => (e.data as { text: string }).text), ['new', 'server']);
});

test("app-wide events' seq increases though commands share a millisecond or the clock steps back", async () => {
  let now = 1_700_000_000_000;
  const f = core(undefined, () => now);
  const ban = (ip: string) => f.engine.execute(APP_ID, ADMIN, { type: 'banIp', roomId: '', ip, reason: 'x', origin: 'tencent' });
  await ban('203.0.113.1');
  await ban('203.0.113.2'); // the same millisecond
  now -= 5_000; // the clock set back
  await ban('203.0.113.3');
  await Promise.all([ban('203.0.113.4'), ban('203.0.113.5')]); // at once
  now += 60_000;
  await ban('203.0.113.6');
  const seqs = f.events.filter((e) => e.roomId === '').map((e) => e.seq);
  assert.equal(seqs.length, 6);
  assert.deepEqual(seqs.slice(0, 5), [1, 2, 3, 4, 5].map((i) => 1_700_000_000_000_000 + i - 1));
  assert.equal(seqs[5], now * 1000, 'back to the time once it is ahead');
});
