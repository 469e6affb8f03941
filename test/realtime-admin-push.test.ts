// Admin actions through the Tencent REST dialect reach the connected clients over the bus, and
// get_room_member_list shows exactly the members connected.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './support/harness.js';
import { RawClient, createRoom, eventually, memberIds, seatOf } from './realtime-support.js';

let s: TestServer;

before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});

async function ok(path: string, body: unknown): Promise<void> {
  const r = await s.tencent(path, body);
  assert.equal(r.ErrorCode, 0, `${path}: ${r.ErrorInfo}`);
}

test('kick_user_off_seat: the member gets kickedOffSeat with Data, the room the new seat list', async () => {
  await createRoom(s, 'push-off');
  const bob = await RawClient.connect(s, 'bob', 'push-off');
  const carol = await RawClient.connect(s, 'carol', 'push-off');
  await ok('room_engine_http_mic/pick_user_on_seat', { RoomId: 'push-off', Member_Account: 'bob', Index: 1 });
  assert.equal((await bob.take('seatListChanged')).seats[1].userId, 'bob');
  await carol.drain();

  await ok('room_engine_http_mic/kick_user_off_seat', { RoomId: 'push-off', Member_Account: 'bob', Data: 'time over' });
  const k = await bob.take('kickedOffSeat');
  assert.deepEqual([k.roomId, k.userId, k.index, k.data], ['push-off', 'bob', 1, 'time over']);
  assert.equal((await bob.take('seatListChanged')).seats[1].userId, null);
  assert.equal((await carol.take('seatListChanged')).seats[1].userId, null);
  assert.deepEqual(await carol.drain(), []);
  bob.close();
  carol.close();
});

test('kick_user_out: kickedOutOfRoom, the member is gone, its later frames are refused', async () => {
  await createRoom(s, 'push-out');
  const bob = await RawClient.connect(s, 'bob', 'push-out');
  const carol = await RawClient.connect(s, 'carol', 'push-out');
  await ok('room_engine_http_srv/kick_user_out', { RoomId: 'push-out', MemberList_Account: ['bob'], Reason: 'you are kicked' });
  const k = await bob.take('kickedOutOfRoom');
  assert.deepEqual([k.kind, k.reason], ['kicked', 'you are kicked']);
  assert.deepEqual((await carol.take('memberLeft')).userId, 'bob');
  assert.deepEqual(await memberIds(s, 'push-out'), ['carol']);
  await bob.fails('sendMessage', { roomId: 'push-out', text: 'still here?' }, 100005);
  // Its socket is still open; closing it later must not disturb anything.
  bob.close();
  await bob.closed;
  await carol.sync();
  assert.deepEqual(await memberIds(s, 'push-out'), ['carol']);
  carol.close();
});

test('ban_room_member: kickedOutOfRoom banned; refused until the ban is lifted', async () => {
  await createRoom(s, 'push-ban');
  const bob = await RawClient.connect(s, 'bob', 'push-ban');
  await ok('room_engine_http_srv/ban_room_member', { RoomId: 'push-ban', MemberList_Account: ['bob'], Reason: 'flood', Duration: 3600 });
  const k = await bob.take('kickedOutOfRoom');
  assert.deepEqual([k.kind, k.reason], ['banned', 'flood']);
  assert.ok(k.until > Date.now() + 3500_000 && k.until <= Date.now() + 3600_000);
  assert.deepEqual(await memberIds(s, 'push-ban'), []);
  await bob.fails('enterRoom', { roomId: 'push-ban' }, 110003);

  await ok('room_engine_http_srv/unban_room_member', { RoomId: 'push-ban', MemberList_Account: ['bob'] });
  await bob.ok('enterRoom', { roomId: 'push-ban' });
  assert.deepEqual(await memberIds(s, 'push-ban'), ['bob']);
  bob.close();
});

test('a ban ends by itself when its Duration is over', async () => {
  await createRoom(s, 'push-timed');
  const bob = await RawClient.connect(s, 'bob', 'push-timed');
  await ok('room_engine_http_srv/ban_room_member', { RoomId: 'push-timed', MemberList_Account: ['bob'], Reason: 'cool off', Duration: 1 });
  await bob.take('kickedOutOfRoom');
  await bob.fails('enterRoom', { roomId: 'push-timed' }, 110003);
  await eventually(async () => (await bob.req('enterRoom', { roomId: 'push-timed' })).code === 0, 3000, 'the ban to end');
  bob.close();
});

test('destroy_room: everyone gets roomDismissed and is out', async () => {
  await createRoom(s, 'push-destroy');
  const owner = await RawClient.connect(s, 'owner', 'push-destroy');
  const bob = await RawClient.connect(s, 'bob', 'push-destroy');
  await ok('room_engine_http_srv/destroy_room', { RoomId: 'push-destroy' });
  for (const c of [owner, bob]) {
    assert.equal((await c.take('roomDismissed')).roomId, 'push-destroy');
    await c.fails('sendMessage', { roomId: 'push-destroy', text: 'x' }, 100005);
    await c.fails('enterRoom', { roomId: 'push-destroy' }, 100004);
  }
  // A room of the same id made later starts empty, and old sockets closing changes nothing.
  await createRoom(s, 'push-destroy');
  owner.close();
  bob.close();
  await Promise.all([owner.closed, bob.closed]);
  assert.deepEqual(await memberIds(s, 'push-destroy'), []);
});

test('lock_seat on an occupied seat takes the occupant off first', async () => {
  await createRoom(s, 'push-lock');
  const bob = await RawClient.connect(s, 'bob', 'push-lock');
  await bob.ok('takeSeat', { roomId: 'push-lock', index: 2 });
  await bob.drain();
  await ok('room_engine_http_mic/lock_seat', { RoomId: 'push-lock', Index: 2, ForbidTaken: true });
  const k = await bob.take('kickedOffSeat');
  assert.deepEqual([k.index, k.reason], [2, 'seatLocked']);
  const last = await bob.take('seatListChanged', (e) => e.seats[2].locked);
  assert.deepEqual([last.seats[2].userId, last.seats[2].locked], [null, true]);
  await bob.fails('takeSeat', { roomId: 'push-lock', index: 2 }, 100200);
  bob.close();
});

test('update_room_info: roomInfoChanged', async () => {
  await createRoom(s, 'push-info');
  const bob = await RawClient.connect(s, 'bob', 'push-info');
  await ok('room_engine_http_srv/update_room_info', { RoomInfo: { RoomId: 'push-info', IsMessageDisabled: true, MaxMemberCount: 50 } });
  const e = await bob.take('roomInfoChanged');
  assert.deepEqual([e.room.isMessageDisabled, e.room.maxMemberCount, e.room.memberCount], [true, 50, 1]);
  await bob.fails('sendMessage', { roomId: 'push-info', text: 'x' }, 110006);
  bob.close();
});

test('get_room_member_list shows exactly the connected members', async () => {
  await createRoom(s, 'push-list');
  const clients = await Promise.all(['u1', 'u2', 'u3', 'u4'].map((u) => RawClient.connect(s, u, 'push-list')));
  assert.deepEqual(await memberIds(s, 'push-list'), ['u1', 'u2', 'u3', 'u4']);
  await clients[1].ok('takeSeat', { roomId: 'push-list', index: 0 });

  clients[1].close(); // a clean close
  clients[2].ws.terminate(); // a dropped one
  await eventually(async () => (await memberIds(s, 'push-list')).join() === 'u1,u4', 3000, 'the closed members to leave');
  assert.equal(await seatOf(s, 'push-list', 0), undefined, 'a member that disconnects leaves its seat');
  const left = [await clients[0].take('memberLeft'), await clients[0].take('memberLeft')];
  assert.deepEqual(left.map((e) => [e.userId, e.reason]).sort(), [['u2', 'disconnected'], ['u3', 'disconnected']]);
  clients[0].close();
  clients[3].close();
});
