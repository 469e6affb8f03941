// Every realtime op over a real socket, and the events each one pushes to the room.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { asAdmin, startTestServer, type TestServer } from './support/harness.js';
import { RawClient, createRoom, memberIds } from './realtime-support.js';

let s: TestServer;

before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});

test('enterRoom answers with a snapshot; the room sees memberEntered; exitRoom -> memberLeft', async () => {
  await createRoom(s, 'ops-enter', { seats: 2 });
  const owner = await RawClient.connect(s, 'owner', 'ops-enter');
  const bob = await RawClient.connect(s, 'bob');
  const data = await bob.ok('enterRoom', { roomId: 'ops-enter', nick: 'Bob', avatar: 'https://a/b.png', userType: 'student', customInfo: 'x' });
  assert.equal(data.room.roomId, 'ops-enter');
  assert.equal(data.room.password, undefined);
  assert.equal(data.seats.length, 2);
  assert.equal(data.memberCount, 2);
  assert.deepEqual(data.member, { userId: 'bob', role: 'Member', nameCard: 'Bob', avatar: 'https://a/b.png', userType: 'student', marks: [], customInfo: 'x' });
  assert.equal(data.muted, false);
  assert.deepEqual(Object.keys(data).sort(), ['member', 'memberCount', 'muted', 'room', 'seats', 'seq']);

  const entered = await owner.take('memberEntered');
  assert.equal(entered.roomId, 'ops-enter');
  assert.equal(typeof entered.seq, 'number');
  assert.equal(entered.member.userId, 'bob');
  assert.equal(entered.memberCount, 2);
  assert.deepEqual(await bob.drain(), [], 'a member is not told of its own entry');
  assert.deepEqual(await memberIds(s, 'ops-enter'), ['bob', 'owner']);

  // Entering again with another nick updates the profile, and the room is told; the same one, nothing.
  await bob.ok('enterRoom', { roomId: 'ops-enter', nick: 'Bobby' });
  const changed = await owner.take('memberInfoChanged');
  assert.deepEqual([changed.member.nameCard, changed.member.avatar, changed.roleChanged], ['Bobby', 'https://a/b.png', false]);
  assert.equal((await bob.take('memberInfoChanged')).member.nameCard, 'Bobby', 'bob is told too, as of any profile change');
  await bob.ok('enterRoom', { roomId: 'ops-enter', nick: 'Bobby' });
  await owner.sync();
  assert.deepEqual(owner.events.splice(0).map((e) => e.event), []);

  assert.deepEqual(await bob.ok('exitRoom', { roomId: 'ops-enter' }), {});
  const left = await owner.take('memberLeft');
  assert.deepEqual([left.userId, left.reason, left.memberCount], ['bob', 'leave', 1]);
  assert.deepEqual(await memberIds(s, 'ops-enter'), ['owner']);
  await bob.fails('takeSeat', { roomId: 'ops-enter' }, 100005);
  owner.close();
  bob.close();
});

test('takeSeat / leaveSeat push seatListChanged to everyone', async () => {
  await createRoom(s, 'ops-seat', { seats: 3 });
  const owner = await RawClient.connect(s, 'owner', 'ops-seat');
  const bob = await RawClient.connect(s, 'bob', 'ops-seat');
  await owner.take('memberEntered');

  const { seat } = await bob.ok('takeSeat', { roomId: 'ops-seat', index: 2 });
  assert.deepEqual(seat, { index: 2, userId: 'bob', locked: false, videoDisabled: false, audioDisabled: false });
  for (const c of [owner, bob]) {
    const e = await c.take('seatListChanged');
    assert.equal(e.seats[2].userId, 'bob');
  }
  assert.deepEqual(await bob.ok('leaveSeat', { roomId: 'ops-seat' }), {});
  for (const c of [owner, bob]) assert.equal((await c.take('seatListChanged')).seats[2].userId, null);

  // No index: the first free seat.
  assert.equal((await owner.ok('takeSeat', { roomId: 'ops-seat' })).seat.index, 0);
  owner.close();
  bob.close();
});

test('sendMessage: every member (the sender too) gets messageReceived', async () => {
  await createRoom(s, 'ops-chat');
  const owner = await RawClient.connect(s, 'owner', 'ops-chat');
  const bob = await RawClient.connect(s, 'bob', 'ops-chat', { nick: 'Bob' });
  const { msgId } = await bob.ok('sendMessage', { roomId: 'ops-chat', text: 'hello 👋' });
  assert.match(msgId, /^[0-9a-f-]{36}$/);
  for (const c of [owner, bob]) {
    const m = await c.take('messageReceived');
    assert.deepEqual([m.msgId, m.from, m.nick, m.text, m.admin], [msgId, 'bob', 'Bob', 'hello 👋', false]);
  }
  // The app's server can speak too.
  await asAdmin(s, { type: 'sendAdminMessage', roomId: 'ops-chat', text: 'notice', nick: 'System', avatar: '' });
  const m = await bob.take('messageReceived');
  assert.deepEqual([m.from, m.nick, m.admin], ['administrator', 'System', true]);
  owner.close();
  bob.close();
});

test('kickOffSeat: the member is told with the data, the room sees the seat empty', async () => {
  await createRoom(s, 'ops-kickoff');
  const owner = await RawClient.connect(s, 'owner', 'ops-kickoff');
  const bob = await RawClient.connect(s, 'bob', 'ops-kickoff');
  await bob.ok('takeSeat', { roomId: 'ops-kickoff', index: 1 });
  await owner.drain();
  await bob.drain();

  assert.deepEqual(await owner.ok('kickOffSeat', { roomId: 'ops-kickoff', userId: 'bob', data: 'time over' }), {});
  const k = await bob.take('kickedOffSeat');
  assert.deepEqual([k.roomId, k.userId, k.index, k.data, k.reason], ['ops-kickoff', 'bob', 1, 'time over', 'kicked']);
  assert.equal((await bob.take('seatListChanged')).seats[1].userId, null);
  assert.deepEqual(await owner.drain(), ['seatListChanged'], 'kickedOffSeat goes to the member only');
  assert.deepEqual(await memberIds(s, 'ops-kickoff'), ['bob', 'owner'], 'still in the room');
  owner.close();
  bob.close();
});

test('kickOut: the member is told and leaves; the room sees memberLeft; it may come back', async () => {
  await createRoom(s, 'ops-kickout');
  const owner = await RawClient.connect(s, 'owner', 'ops-kickout');
  const bob = await RawClient.connect(s, 'bob', 'ops-kickout');
  const carol = await RawClient.connect(s, 'carol', 'ops-kickout');
  await bob.ok('takeSeat', { roomId: 'ops-kickout', index: 0 });
  await owner.drain();
  await bob.drain();
  await carol.drain();

  assert.deepEqual(await owner.ok('kickOut', { roomId: 'ops-kickout', userId: 'bob', reason: 'spam' }), {});
  const k = await bob.take('kickedOutOfRoom');
  assert.deepEqual([k.userId, k.kind, k.reason, k.until], ['bob', 'kicked', 'spam', null]);
  assert.deepEqual(await bob.drain(), [], 'nothing more from the room once out');
  await bob.fails('sendMessage', { roomId: 'ops-kickout', text: 'hi' }, 100005);
  assert.equal((await carol.take('seatListChanged')).seats[0].userId, null, 'its seat is freed');
  const left = await carol.take('memberLeft');
  assert.deepEqual([left.userId, left.reason], ['bob', 'kicked']);
  assert.deepEqual(await memberIds(s, 'ops-kickout'), ['carol', 'owner']);

  await bob.ok('enterRoom', { roomId: 'ops-kickout' });
  assert.deepEqual(await memberIds(s, 'ops-kickout'), ['bob', 'carol', 'owner']);
  for (const c of [owner, bob, carol]) c.close();
});

test('lockSeat: locks, sets the occupant\'s audio/video flags, takes the occupant off first', async () => {
  await createRoom(s, 'ops-lock');
  const owner = await RawClient.connect(s, 'owner', 'ops-lock');
  const bob = await RawClient.connect(s, 'bob', 'ops-lock');

  const locked = await owner.ok('lockSeat', { roomId: 'ops-lock', index: 3, locked: true });
  assert.deepEqual(locked.seat, { index: 3, userId: null, locked: true, videoDisabled: false, audioDisabled: false });
  assert.equal((await bob.take('seatListChanged')).seats[3].locked, true);

  await bob.ok('takeSeat', { roomId: 'ops-lock', index: 1 });
  const flags = await owner.ok('lockSeat', { roomId: 'ops-lock', index: 1, audioDisabled: true, videoDisabled: true });
  assert.deepEqual(flags.seat, { index: 1, userId: 'bob', locked: false, videoDisabled: true, audioDisabled: true });
  await bob.drain();

  await owner.ok('lockSeat', { roomId: 'ops-lock', index: 1, locked: true });
  const k = await bob.take('kickedOffSeat');
  assert.deepEqual([k.index, k.reason], [1, 'seatLocked']);
  const seats = (await bob.take('seatListChanged', (e) => e.seats[1].locked)).seats;
  assert.deepEqual(seats[1], { index: 1, userId: null, locked: true, videoDisabled: false, audioDisabled: false });
  owner.close();
  bob.close();
});

test('seat applications: requestSeat, cancel, approve, reject, listSeatRequests', async () => {
  await createRoom(s, 'ops-apply', { takeSeatMode: 'ApplyToTake' });
  const owner = await RawClient.connect(s, 'owner', 'ops-apply');
  const bob = await RawClient.connect(s, 'bob', 'ops-apply');
  const carol = await RawClient.connect(s, 'carol', 'ops-apply');
  await owner.drain();

  // takeSeat and requestSeat both apply for a plain member in an ApplyToTake room.
  const first = await bob.ok('takeSeat', { roomId: 'ops-apply', index: 2 });
  assert.deepEqual(Object.keys(first), ['requestId']);
  const received = await owner.take('seatRequestReceived');
  assert.deepEqual([received.request.id, received.request.userId, received.request.kind, received.request.index], [first.requestId, 'bob', 'apply', 2]);
  assert.deepEqual(await carol.drain(), [], 'applications go to the owner and admins only');
  assert.deepEqual((await bob.ok('listSeatRequests', { roomId: 'ops-apply' })).requests.map((r: any) => r.id), [first.requestId]);

  assert.deepEqual(await bob.ok('cancelSeatRequest', { roomId: 'ops-apply', requestId: first.requestId }), {});
  assert.equal((await owner.take('seatRequestCancelled')).request.id, first.requestId);

  const second = await bob.ok('requestSeat', { roomId: 'ops-apply', index: 1 });
  const fromCarol = await carol.ok('requestSeat', { roomId: 'ops-apply' });
  await owner.take('seatRequestReceived');
  await owner.take('seatRequestReceived');
  const all = await owner.ok('listSeatRequests', { roomId: 'ops-apply' });
  assert.deepEqual(all.requests.map((r: any) => r.userId).sort(), ['bob', 'carol']);
  assert.deepEqual((await carol.ok('listSeatRequests', { roomId: 'ops-apply' })).requests.map((r: any) => r.userId), ['carol'], 'a member sees its own');

  assert.deepEqual(await owner.ok('approveSeatRequest', { roomId: 'ops-apply', requestId: second.requestId }), {});
  assert.equal((await bob.take('seatRequestApproved')).request.id, second.requestId);
  assert.equal((await bob.take('seatListChanged')).seats[1].userId, 'bob');
  assert.equal((await owner.take('seatRequestApproved')).request.userId, 'bob');

  assert.deepEqual(await owner.ok('rejectSeatRequest', { roomId: 'ops-apply', requestId: fromCarol.requestId }), {});
  assert.equal((await carol.take('seatRequestRejected')).request.id, fromCarol.requestId);
  assert.deepEqual((await owner.ok('listSeatRequests', { roomId: 'ops-apply' })).requests, []);

  // The owner needs no approval.
  assert.equal((await owner.ok('requestSeat', { roomId: 'ops-apply', index: 0 })).seat.userId, 'owner');
  for (const c of [owner, bob, carol]) c.close();
});

test('seat invitations: inviteToSeat, accept, reject', async () => {
  await createRoom(s, 'ops-invite');
  const owner = await RawClient.connect(s, 'owner', 'ops-invite');
  const bob = await RawClient.connect(s, 'bob', 'ops-invite');
  const carol = await RawClient.connect(s, 'carol', 'ops-invite');
  await owner.drain();

  const { requestId } = await owner.ok('inviteToSeat', { roomId: 'ops-invite', userId: 'bob', index: 3 });
  const inv = await bob.take('seatInvitationReceived');
  assert.deepEqual([inv.request.id, inv.request.kind, inv.request.actor, inv.request.index], [requestId, 'invite', 'owner', 3]);
  assert.deepEqual(await carol.drain(), [], 'the invitation goes to the invitee only');

  assert.deepEqual(await bob.ok('acceptSeatInvitation', { roomId: 'ops-invite', requestId }), {});
  assert.equal((await bob.take('seatInvitationAccepted')).request.id, requestId);
  assert.equal((await owner.take('seatInvitationAccepted')).request.userId, 'bob');
  assert.equal((await carol.take('seatListChanged')).seats[3].userId, 'bob');

  const second = await owner.ok('inviteToSeat', { roomId: 'ops-invite', userId: 'carol' });
  await carol.take('seatInvitationReceived');
  assert.deepEqual(await carol.ok('rejectSeatInvitation', { roomId: 'ops-invite', requestId: second.requestId }), {});
  assert.equal((await owner.take('seatInvitationRejected')).request.userId, 'carol');
  assert.equal((await carol.take('seatInvitationRejected')).request.id, second.requestId);
  for (const c of [owner, bob, carol]) c.close();
});

test('kickUser type userId: out, and refused until the entry is lifted (Polyv origin)', async () => {
  await createRoom(s, 'ops-kickuser');
  const owner = await RawClient.connect(s, 'owner', 'ops-kickuser');
  const bob = await RawClient.connect(s, 'bob', 'ops-kickuser');

  assert.deepEqual(await owner.ok('kickUser', { roomId: 'ops-kickuser', userId: 'bob', type: 'userId', reason: 'rude' }), {});
  const k = await bob.take('kickedOutOfRoom');
  assert.deepEqual([k.kind, k.reason, k.until], ['banned', 'rude', null]);
  assert.deepEqual(await memberIds(s, 'ops-kickuser'), ['owner']);
  await bob.fails('enterRoom', { roomId: 'ops-kickuser' }, 110003);

  const { entries } = await asAdmin(s, { type: 'listDeny', roomId: 'ops-kickuser' });
  assert.deepEqual(entries.map((e) => [e.subjectType, e.subject, e.origin, e.expiresAt]), [['userId', 'bob', 'polyv', null]]);
  await asAdmin(s, { type: 'liftDeny', targets: [{ roomId: 'ops-kickuser', subjectType: 'userId', subject: 'bob' }] });
  await bob.ok('enterRoom', { roomId: 'ops-kickuser' });
  owner.close();
  bob.close();
});

test('kickUser type ip: everyone from that IP is out and refused (the kicker stays)', async () => {
  await createRoom(s, 'ops-kickip');
  const owner = await RawClient.connect(s, 'owner', 'ops-kickip');
  const bob = await RawClient.connect(s, 'bob', 'ops-kickip');

  await owner.ok('kickUser', { roomId: 'ops-kickip', userId: 'bob', type: 'ip' });
  assert.equal((await bob.take('kickedOutOfRoom')).kind, 'banned');
  assert.deepEqual(await memberIds(s, 'ops-kickip'), ['owner']);
  const dave = await RawClient.connect(s, 'dave');
  await dave.fails('enterRoom', { roomId: 'ops-kickip' }, 110004);
  const { entries } = await asAdmin(s, { type: 'listDeny', roomId: 'ops-kickip' });
  assert.deepEqual(entries.map((e) => [e.subjectType, e.subject, e.origin]), [['ip', '127.0.0.1', 'polyv']]);
  for (const c of [owner, bob, dave]) c.close();
});

test('ping answers pong with the server time', async () => {
  const c = await RawClient.connect(s, 'pinger');
  const before = Date.now();
  const data = await c.ok('ping');
  assert.equal(data.pong, true);
  assert.ok(data.time >= before && data.time <= Date.now());
  // String ids are echoed too.
  assert.deepEqual(await c.send({ id: 'abc', op: 'ping' }).then((r) => [r.id, r.code]), ['abc', 0]);
  c.close();
});

test('admin changes reach members: roomInfoChanged, memberInfoChanged (role), ownerChanged', async () => {
  await createRoom(s, 'ops-admin');
  const owner = await RawClient.connect(s, 'owner', 'ops-admin');
  const bob = await RawClient.connect(s, 'bob', 'ops-admin');
  const carol = await RawClient.connect(s, 'carol', 'ops-admin');
  await carol.ok('takeSeat', { roomId: 'ops-admin', index: 0 });
  for (const c of [owner, bob, carol]) await c.drain();

  let r = await s.tencent('room_engine_http_srv/update_room_info', { RoomInfo: { RoomId: 'ops-admin', RoomName: 'Renamed', CustomInfo: 'c' } });
  assert.equal(r.ErrorCode, 0, r.ErrorInfo);
  const info = await bob.take('roomInfoChanged');
  assert.deepEqual([info.room.name, info.room.customInfo, info.room.password], ['Renamed', 'c', undefined]);

  // A member may not moderate until made an admin.
  await bob.fails('kickOffSeat', { roomId: 'ops-admin', userId: 'carol' }, 100006);
  r = await s.tencent('room_engine_http_srv/update_room_member_info', { RoomId: 'ops-admin', MemberInfo: { Member_Account: 'bob', Role: 'Admin' } });
  assert.equal(r.ErrorCode, 0, r.ErrorInfo);
  const changed = await bob.take('memberInfoChanged');
  assert.deepEqual([changed.member.userId, changed.member.role, changed.roleChanged], ['bob', 'Admin', true]);
  await bob.ok('kickOffSeat', { roomId: 'ops-admin', userId: 'carol', data: 'admin now' });
  assert.equal((await carol.take('kickedOffSeat')).data, 'admin now');

  r = await s.tencent('room_engine_http_srv/change_room_owner', { RoomId: 'ops-admin', From_Account: 'owner', NewOwner_Account: 'carol' });
  assert.equal(r.ErrorCode, 0, r.ErrorInfo);
  for (const c of [owner, bob, carol]) {
    const e = await c.take('ownerChanged');
    assert.deepEqual([e.from, e.to, e.room.ownerId], ['owner', 'carol', 'carol']);
  }
  await carol.ok('kickOut', { roomId: 'ops-admin', userId: 'owner' });
  assert.equal((await owner.take('kickedOutOfRoom')).kind, 'kicked');
  for (const c of [owner, bob, carol]) c.close();
});

test('muteChanged: the member is told; its messages are refused until unmuted', async () => {
  await createRoom(s, 'ops-mute');
  const owner = await RawClient.connect(s, 'owner', 'ops-mute');
  const bob = await RawClient.connect(s, 'bob', 'ops-mute');
  const target = { roomId: 'ops-mute', subjectType: 'userId' as const, subjects: ['bob'] };
  await owner.drain();

  await asAdmin(s, { type: 'setMuted', ...target, muted: true, origin: 'tencent' });
  const m = await bob.take('muteChanged');
  assert.deepEqual([m.userId, m.muted, m.by], ['bob', true, 'userId']);
  assert.deepEqual(await owner.drain(), [], 'told to the muted member only');
  await bob.fails('sendMessage', { roomId: 'ops-mute', text: 'hi' }, 110005);

  // Entering again reports the mute in the snapshot.
  assert.equal((await bob.ok('enterRoom', { roomId: 'ops-mute' })).muted, true);

  await asAdmin(s, { type: 'setMuted', ...target, muted: false, origin: 'tencent' });
  assert.equal((await bob.take('muteChanged')).muted, false);
  await bob.ok('sendMessage', { roomId: 'ops-mute', text: 'hi' });
  owner.close();
  bob.close();
});
