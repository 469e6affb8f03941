// Every way the gateway says no: authentication (close 4401), bad frames, admission codes,
// role refusals and the seat/chat rule codes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { genUserSig } from '../src/auth/usersig.js';
import { APP, OTHER_APP, asAdmin, startTestServer, type TestServer } from './support/harness.js';
import { MAX_PENDING_BYTES, MAX_PENDING_REQUESTS } from '../src/realtime/connection.js';
import { RawClient, authQuery, createRoom, eventually, memberIds, sig, sleep, wsUrl } from './realtime-support.js';

let s: TestServer;

before(async () => {
  s = await startTestServer();
  await createRoom(s, 'ref-main', { seats: 2 });
});
after(async () => {
  await s.close();
});

/** Connects with a raw query and returns how the server closed the socket. */
async function closeOf(query: string): Promise<{ code: number; reason: string }> {
  const ws = new WebSocket(wsUrl(s, query));
  ws.on('error', () => undefined);
  return new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

test('authentication failures: the upgrade is accepted, then closed with 4401 "<code> <message>"', async () => {
  const expired = genUserSig(APP.sdkAppId, APP.secretKey, 'bob', 60, Date.now() - 3600_000);
  const cases: [string, string, number][] = [
    ['unknown sdkappid', `sdkappid=999&userid=bob&usersig=${sig('bob')}`, 60006],
    ['non-numeric sdkappid', `sdkappid=abc&userid=bob&usersig=${sig('bob')}`, 60006],
    ['no sdkappid', `userid=bob&usersig=${sig('bob')}`, 60012],
    ['no userid', `sdkappid=${APP.sdkAppId}&usersig=${sig('bob')}`, 60002],
    ['no usersig', `sdkappid=${APP.sdkAppId}&userid=bob`, 60002],
    ['userid twice', `${authQuery('bob')}&userid=bob`, 60002],
    ['expired', authQuery('bob', APP, expired), 70001],
    ['malformed', authQuery('bob', APP, 'not-a-sig'), 70003],
    ['forged (wrong key)', authQuery('bob', APP, genUserSig(APP.sdkAppId, 'guessed-key', 'bob', 3600)), 70009],
    ['made for another user', authQuery('bob', APP, sig('alice')), 70013],
    ['made for another app', authQuery('bob', APP, sig('bob', OTHER_APP)), 70014],
  ];
  for (const [what, query, code] of cases) {
    const closed = await closeOf(query);
    assert.equal(closed.code, 4401, what);
    assert.match(closed.reason, new RegExp(`^${code} \\S`), `${what}: ${closed.reason}`);
  }
  assert.equal(s.server.realtime.connectionCount, 0);
});

test('other paths are not upgraded', async () => {
  const ws = new WebSocket(`${s.url.replace('http', 'ws')}/elsewhere?${authQuery('bob')}`);
  const err = await new Promise<Error>((resolve) => ws.on('error', resolve));
  assert.match(err.message, /404/);
});

test('apps are apart: a user of another app does not see this app\'s rooms', async () => {
  const ws = new WebSocket(wsUrl(s, authQuery('bob', OTHER_APP, sig('bob', OTHER_APP))));
  const c = new RawClient(ws, 'bob');
  await new Promise((r) => ws.once('open', r));
  await c.fails('enterRoom', { roomId: 'ref-main' }, 100004);
  c.close();
});

test('bad frames: not JSON, no id, no op, unknown op, binary, bad params, room not entered', async () => {
  const c = await RawClient.connect(s, 'framer');
  const orphan = async (raw: string | Buffer) => {
    const n = c.orphanReplies.length;
    c.ws.send(raw);
    await c.sync();
    assert.equal(c.orphanReplies.length, n + 1, `a reply to ${raw}`);
    return c.orphanReplies[n];
  };
  for (const raw of ['not json', '[1,2]', '"str"', 'null', '{"op":"ping"}', '{"id":{},"op":"ping"}', '{"id":"","op":"ping"}', `{"id":"${'x'.repeat(65)}","op":"ping"}`]) {
    const r = await orphan(raw);
    assert.deepEqual([r.id, r.code], [null, 110010], raw);
  }
  assert.equal((await orphan(Buffer.from('{"id":1,"op":"ping"}'))).code, 110010, 'binary frames are refused');

  assert.equal((await c.send({ id: 7 })).code, 110010);
  assert.deepEqual(await c.send({ id: 8, op: 'fly' }).then((r) => [r.id, r.code]), [8, 110009]);
  assert.equal((await c.send({ id: 9, op: 'toString' })).code, 110009);
  assert.equal((await c.send({ id: 10, op: 'constructor' })).code, 110009);

  assert.match(await c.fails('enterRoom', {}, 100002), /roomId/);
  assert.match(await c.fails('enterRoom', { roomId: 5 }, 100002), /roomId/);
  assert.match(await c.fails('enterRoom', { roomId: 'ref-main', nick: 'n'.repeat(33) }, 100002), /nameCard/);
  await c.fails('takeSeat', { roomId: 'ref-main', index: '1' }, 100002);
  await c.fails('takeSeat', { roomId: 'ref-main', index: -1 }, 100002);
  await c.fails('kickUser', { roomId: 'ref-main', userId: 'x', type: 'name' }, 100002);
  await c.fails('takeSeat', { roomId: 'ref-main' }, 100005);
  await c.fails('exitRoom', { roomId: 'ref-main' }, 100005);
  c.close();
});

test('a frame over 64 KiB closes the socket with 1009', async () => {
  const c = await RawClient.connect(s, 'big');
  c.ws.send(JSON.stringify({ id: 1, op: 'ping', pad: 'x'.repeat(70_000) }));
  assert.equal((await c.closed).code, 1009);
});

/**
 * Holds the store so that a connection's first request (an entry) waits and the rest queue
 * behind it: a unit holding the app lock exclusive, which enterRoom needs shared.
 */
async function holdStore(): Promise<() => Promise<void>> {
  let release!: () => void;
  let locked!: () => void;
  const holding = new Promise<void>((r) => (locked = r));
  const held = s.server.store.write(APP.sdkAppId, async (w) => {
    await w.lockApp('exclusive');
    locked();
    await new Promise<void>((r) => (release = r));
  });
  await holding;
  return async () => {
    release();
    await held;
  };
}

test('too many requests waiting on one connection are refused with 110011', async () => {
  const c = await RawClient.connect(s, 'flood');
  const release = await holdStore();
  const first = c.req('enterRoom', { roomId: 'ref-main' });
  let refusedSoFar = 0;
  const pings = Array.from({ length: 399 }, () =>
    c.req('ping').then((r) => {
      if (r.code === 110011) refusedSoFar++;
      return r;
    }),
  );
  const refused = 400 - MAX_PENDING_REQUESTS;
  await eventually(() => refusedSoFar === refused, 5000, 'the refusals');
  await release();
  assert.equal((await first).code, 0);
  const all = await Promise.all(pings);
  assert.equal(all.filter((r) => r.code === 0).length, MAX_PENDING_REQUESTS - 1);
  assert.deepEqual(all.slice(MAX_PENDING_REQUESTS - 1).map((r) => r.code), Array(refused).fill(110011));
  c.close();
});

test('too many bytes waiting on one connection are refused with 110011 too', async () => {
  const c = await RawClient.connect(s, 'flood-bytes');
  const release = await holdStore();
  const first = c.req('enterRoom', { roomId: 'ref-main' });
  // Pings padded to about 60 KiB each: the queue takes about MAX_PENDING_BYTES of them, not 256.
  const pad = 'x'.repeat(60 * 1024);
  const pings = Array.from({ length: 20 }, () => c.req('ping', { pad }));
  const answers = (async () => {
    const all: number[] = [];
    for (const p of pings) all.push((await p).code);
    return all;
  })();
  await sleep(300);
  await release();
  assert.equal((await first).code, 0);
  const codes = await answers;
  const taken = Math.floor((MAX_PENDING_BYTES - 1) / (pad.length + 40));
  assert.ok(codes.filter((x) => x === 0).length <= taken + 1, `accepted ${codes.filter((x) => x === 0).length} of 20`);
  assert.ok(codes.filter((x) => x === 110011).length >= 20 - taken - 1, `refused ${codes.filter((x) => x === 110011).length}`);
  // Once the queue drains, the connection takes requests again.
  assert.equal((await c.req('ping', { pad })).code, 0);
  c.close();
});

test('admission: no room, full, wrong password, denied by userId, denied by IP', async () => {
  await createRoom(s, 'ref-full', { maxMembers: 1 });
  await createRoom(s, 'ref-pw', { password: 'sesame' });
  await createRoom(s, 'ref-ban');
  await createRoom(s, 'ref-ipban');
  const bob = await RawClient.connect(s, 'bob');
  const carol = await RawClient.connect(s, 'carol');
  const owner = await RawClient.connect(s, 'owner');

  await bob.fails('enterRoom', { roomId: 'nope' }, 100004);

  await bob.ok('enterRoom', { roomId: 'ref-full' });
  assert.match(await carol.fails('enterRoom', { roomId: 'ref-full' }, 110001), /full/);
  await owner.ok('enterRoom', { roomId: 'ref-full' }); // the owner always fits

  await bob.fails('enterRoom', { roomId: 'ref-pw' }, 110002);
  await bob.fails('enterRoom', { roomId: 'ref-pw', password: 'open' }, 110002);
  await bob.ok('enterRoom', { roomId: 'ref-pw', password: 'sesame' });
  await owner.ok('enterRoom', { roomId: 'ref-pw' }); // the owner needs none

  const r = await s.tencent('room_engine_http_srv/ban_room_member', { RoomId: 'ref-ban', MemberList_Account: ['carol'], Reason: 'r', Duration: 600 });
  assert.equal(r.ErrorCode, 0, r.ErrorInfo);
  await carol.fails('enterRoom', { roomId: 'ref-ban' }, 110003);
  await bob.ok('enterRoom', { roomId: 'ref-ban' });

  await asAdmin(s, { type: 'banIp', roomId: 'ref-ipban', ip: '127.0.0.1', reason: 'r', origin: 'polyv' });
  await carol.fails('enterRoom', { roomId: 'ref-ipban' }, 110004);
  for (const c of [bob, carol, owner]) c.close();
});

test('role refusals: a plain member may not moderate (100006)', async () => {
  await createRoom(s, 'ref-roles', { takeSeatMode: 'ApplyToTake' });
  const owner = await RawClient.connect(s, 'owner', 'ref-roles');
  const bob = await RawClient.connect(s, 'bob', 'ref-roles');
  const carol = await RawClient.connect(s, 'carol', 'ref-roles');
  await owner.ok('takeSeat', { roomId: 'ref-roles', index: 0 });
  const { requestId } = await carol.ok('requestSeat', { roomId: 'ref-roles' });
  const roomId = 'ref-roles';

  await bob.fails('kickOffSeat', { roomId, userId: 'owner' }, 100006);
  await bob.fails('kickOut', { roomId, userId: 'carol' }, 100006);
  await bob.fails('lockSeat', { roomId, index: 1, locked: true }, 100006);
  await bob.fails('approveSeatRequest', { roomId, requestId }, 100006);
  await bob.fails('rejectSeatRequest', { roomId, requestId }, 100006);
  await bob.fails('cancelSeatRequest', { roomId, requestId }, 100006); // not its application
  await bob.fails('inviteToSeat', { roomId, userId: 'carol' }, 100006);
  await bob.fails('kickUser', { roomId, userId: 'carol', type: 'userId' }, 100006);
  await bob.fails('kickUser', { roomId, userId: 'carol', type: 'ip' }, 100006);
  await owner.fails('kickOut', { roomId, userId: 'owner' }, 100006); // not on itself

  // An admin may moderate members, not the owner.
  await s.tencent('room_engine_http_srv/update_room_member_info', { RoomId: roomId, MemberInfo: { Member_Account: 'bob', Role: 'Admin' } });
  await bob.fails('kickOffSeat', { roomId, userId: 'owner' }, 100006);
  // Nor by IP: the owner is in the room from carol's address (every client here is on loopback).
  await bob.fails('kickUser', { roomId, userId: 'carol', type: 'ip' }, 100006);
  assert.deepEqual(await memberIds(s, roomId), ['bob', 'carol', 'owner']);
  await bob.ok('rejectSeatRequest', { roomId, requestId });
  for (const c of [owner, bob, carol]) c.close();
});

test('seat and chat rule codes', async () => {
  await createRoom(s, 'ref-seats', { seats: 2, takeSeatMode: 'ApplyToTake' });
  await createRoom(s, 'ref-noseats', { seats: 0, messagesDisabled: true });
  const roomId = 'ref-seats';
  const owner = await RawClient.connect(s, 'owner', roomId);
  const bob = await RawClient.connect(s, 'bob', roomId);
  const carol = await RawClient.connect(s, 'carol', roomId);

  await owner.ok('takeSeat', { roomId, index: 0 });
  await owner.fails('takeSeat', { roomId, index: 1 }, 100203); // already on a seat
  await owner.ok('lockSeat', { roomId, index: 1, locked: true });
  const { requestId } = await owner.ok('inviteToSeat', { roomId, userId: 'bob', index: 1 });
  await bob.fails('acceptSeatInvitation', { roomId, requestId }, 100200); // seat locked
  await owner.ok('lockSeat', { roomId, index: 1, locked: false });
  await bob.ok('acceptSeatInvitation', { roomId, requestId }); // still pending after the refusal
  await owner.fails('inviteToSeat', { roomId, userId: 'bob' }, 100203);

  await owner.ok('leaveSeat', { roomId });
  await owner.fails('leaveSeat', { roomId }, 110008); // not on a seat
  await owner.fails('takeSeat', { roomId, index: 1 }, 100210); // bob's
  await owner.ok('lockSeat', { roomId, index: 0, locked: true });
  await owner.fails('takeSeat', { roomId }, 100205); // no free seat
  await owner.fails('takeSeat', { roomId, index: 2 }, 100002); // out of range

  await carol.ok('requestSeat', { roomId });
  await carol.fails('requestSeat', { roomId }, 100202); // already applied
  await owner.fails('approveSeatRequest', { roomId, requestId: 'no-such-request' }, 110007);
  await carol.fails('cancelSeatRequest', { roomId, requestId: 'no-such-request' }, 110007);
  await bob.fails('acceptSeatInvitation', { roomId, requestId: 'no-such-request' }, 110007);

  await bob.ok('enterRoom', { roomId: 'ref-noseats' });
  await bob.fails('takeSeat', { roomId: 'ref-noseats' }, 100211);
  await bob.fails('sendMessage', { roomId: 'ref-noseats', text: 'hi' }, 110006);
  await bob.fails('sendMessage', { roomId, text: '' }, 100002);
  await bob.fails('sendMessage', { roomId, text: 'x'.repeat(2001) }, 100002);
  for (const c of [owner, bob, carol]) c.close();
});
