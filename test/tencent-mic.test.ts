// Tencent Room Engine room_engine_http_mic: the 6 seat commands, end to end over HTTP against a
// real server and a real SQLite file. Members are put into rooms through the core.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RoomEvent } from '../src/core/events.js';
import { enter, startTestServer, type TestServer } from './support/harness.js';
import { failed, ok, type Reply } from './support/tencent.js';

interface WireSeat {
  Index: number;
  Member_Account?: string;
  IsTakenDisabled: boolean;
  IsVideoDisabled: boolean;
  IsAudioDisabled: boolean;
}

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});

const srv = (command: string, body: unknown): Promise<Reply> => s.tencent(`room_engine_http_srv/${command}`, body);
const mic = (command: string, body: unknown): Promise<Reply> => s.tencent(`room_engine_http_mic/${command}`, body);

/** A room with `seatCount` seats and these members in it. */
async function seatRoom(roomId: string, seatCount: number, memberIds: string[]): Promise<void> {
  ok(await srv('create_room', { RoomInfo: { RoomId: roomId, RoomType: 'Conference', IsSeatEnabled: true, MaxSeatCount: seatCount } }));
  for (const id of memberIds) await enter(s, roomId, id);
}

async function seats(roomId: string): Promise<WireSeat[]> {
  const r = await mic('get_seat_list', { RoomId: roomId });
  ok(r);
  return r.Response.SeatList;
}

/** Seat index -> occupant ('' for empty), e.g. ['', 'u1', ''] */
async function occupants(roomId: string): Promise<string[]> {
  return (await seats(roomId)).map((x) => x.Member_Account ?? '');
}

async function memberIds(roomId: string): Promise<string[]> {
  const r = await srv('get_room_member_list', { RoomId: roomId, Count: 100 });
  ok(r);
  return r.Response.MemberList.map((m: any) => m.Member_Account);
}

const pick = (roomId: string, userId: string, index: number) => mic('pick_user_on_seat', { RoomId: roomId, Member_Account: userId, Index: index });

/** Collects the events of one room while `fn` runs. */
async function eventsDuring(roomId: string, fn: () => Promise<void>): Promise<RoomEvent[]> {
  const seen: RoomEvent[] = [];
  const stop = s.server.bus.subscribe((e) => {
    if (e.roomId === roomId) seen.push(e);
  });
  try {
    await fn();
  } finally {
    stop();
  }
  return seen;
}

describe('get_seat_list', () => {
  it('lists every seat in the documented shape, Member_Account only on taken seats', async () => {
    await seatRoom('s1', 3, ['user2']);
    ok(await pick('s1', 'user2', 0));
    const r = await mic('get_seat_list', { RoomId: 's1' });
    ok(r);
    assert.deepEqual(Object.keys(r.Response), ['SeatList']);
    assert.deepEqual(r.Response.SeatList, [
      { Index: 0, Member_Account: 'user2', IsTakenDisabled: false, IsVideoDisabled: false, IsAudioDisabled: false },
      { Index: 1, IsTakenDisabled: false, IsVideoDisabled: false, IsAudioDisabled: false },
      { Index: 2, IsTakenDisabled: false, IsVideoDisabled: false, IsAudioDisabled: false },
    ]);
    failed(await mic('get_seat_list', { RoomId: 's-none' }), 100004);
    failed(await mic('get_seat_list', {}), 100002, 'RoomId');
  });
});

describe('pick_user_on_seat', () => {
  it('puts a member on the seat', async () => {
    await seatRoom('p1', 4, ['user2']);
    const events = await eventsDuring('p1', async () => {
      const r = await pick('p1', 'user2', 1);
      ok(r);
      assert.equal(r.Response, undefined);
    });
    assert.deepEqual(await occupants('p1'), ['', 'user2', '', '']);
    assert.ok(events.some((e) => e.type === 'seatListChanged'));
  });

  it('answers each documented error and leaves the seats as they were', async () => {
    await seatRoom('p2', 4, ['a', 'b', 'c']);
    ok(await pick('p2', 'a', 0));
    ok(await mic('lock_seat', { RoomId: 'p2', Index: 3, ForbidTaken: true }));
    const before = await seats('p2');
    failed(await pick('p2', 'ghost', 1), 100005); // not a member
    failed(await pick('p2', 'b', 3), 100200); // seat locked
    failed(await pick('p2', 'a', 1), 100203); // already on a seat
    failed(await pick('p2', 'b', 0), 100210); // seat taken
    failed(await pick('p2', 'b', 4), 100002, 'Index'); // out of range
    failed(await pick('p2', 'b', -1), 100002, 'Index');
    failed(await pick('p2', 'b', 1.5), 100002, 'Index');
    failed(await mic('pick_user_on_seat', { RoomId: 'p2', Member_Account: 'b', Index: '1' }), 100002, 'Index');
    failed(await mic('pick_user_on_seat', { RoomId: 'p2', Index: 1 }), 100002, 'Member_Account');
    failed(await pick('p-none', 'b', 1), 100004);
    assert.deepEqual(await seats('p2'), before);
    ok(await srv('create_room', { RoomInfo: { RoomId: 'p-noseats', RoomType: 'Conference' } }));
    await enter(s, 'p-noseats', 'b');
    failed(await pick('p-noseats', 'b', 0), 100211); // the room has no seats
  });

  it('seats a member even when every other seat is taken (100205 needs "any seat", which pick never asks for)', async () => {
    await seatRoom('p3', 2, ['a', 'b', 'c']);
    ok(await pick('p3', 'a', 0));
    ok(await pick('p3', 'b', 1));
    failed(await pick('p3', 'c', 1), 100210);
  });
});

describe('kick_user_off_seat', () => {
  it('empties the seat, keeps the member in the room and tells them Data', async () => {
    await seatRoom('k1', 3, ['user2', 'user3']);
    ok(await pick('k1', 'user2', 2));
    ok(await mic('lock_seat', { RoomId: 'k1', Index: 2, ForbidAudio: true }));
    const events = await eventsDuring('k1', async () => {
      const r = await mic('kick_user_off_seat', { RoomId: 'k1', Member_Account: 'user2', Data: 'time over' });
      ok(r);
      assert.equal(r.Response, undefined);
    });
    assert.deepEqual(await occupants('k1'), ['', '', '']);
    assert.equal((await seats('k1'))[2].IsAudioDisabled, false, 'the seat flags leave with the user');
    assert.deepEqual(await memberIds('k1'), ['user2', 'user3']);
    const told = events.find((e) => e.type === 'kickedOffSeat');
    assert.ok(told);
    assert.deepEqual(told.to, ['user2']);
    assert.equal(told.data.data, 'time over');
    assert.ok(events.some((e) => e.type === 'seatListChanged'));
  });

  it('takes a missing Data as empty (public server helpers send {RoomId, Member_Account})', async () => {
    await seatRoom('k3', 2, ['helper']);
    ok(await pick('k3', 'helper', 1));
    const events = await eventsDuring('k3', async () => {
      ok(await mic('kick_user_off_seat', { RoomId: 'k3', Member_Account: 'helper' }));
    });
    assert.deepEqual(await occupants('k3'), ['', '']);
    assert.equal(events.find((e) => e.type === 'kickedOffSeat')?.data.data, '');
    failed(await mic('kick_user_off_seat', { RoomId: 'k3', Member_Account: 'helper', Data: 7 }), 100002, 'Data');
  });

  it('refuses a member not on a seat, a non-member, a bad Data and an unknown room', async () => {
    await seatRoom('k2', 2, ['on', 'off']);
    ok(await pick('k2', 'on', 0));
    failed(await mic('kick_user_off_seat', { RoomId: 'k2', Member_Account: 'off', Data: '' }), 100206);
    failed(await mic('kick_user_off_seat', { RoomId: 'k2', Member_Account: 'ghost', Data: '' }), 100005);
    failed(await mic('kick_user_off_seat', { RoomId: 'k2', Member_Account: 'on', Data: 'd'.repeat(1001) }), 100002, 'Data');
    failed(await mic('kick_user_off_seat', { RoomId: 'k-none', Member_Account: 'on', Data: '' }), 100004);
    assert.deepEqual(await occupants('k2'), ['on', '']);
  });
});

describe('lock_seat', () => {
  it('locks and unlocks an empty seat', async () => {
    await seatRoom('l1', 3, ['a']);
    const r = await mic('lock_seat', { RoomId: 'l1', Index: 1, ForbidTaken: true });
    ok(r);
    assert.equal(r.Response, undefined);
    assert.equal((await seats('l1'))[1].IsTakenDisabled, true);
    failed(await pick('l1', 'a', 1), 100200);
    ok(await mic('lock_seat', { RoomId: 'l1', Index: 1, ForbidTaken: false }));
    assert.equal((await seats('l1'))[1].IsTakenDisabled, false);
    ok(await pick('l1', 'a', 1));
  });

  it('takes the occupant off before locking an occupied seat', async () => {
    await seatRoom('l2', 2, ['sitter']);
    ok(await pick('l2', 'sitter', 0));
    const events = await eventsDuring('l2', async () => {
      ok(await mic('lock_seat', { RoomId: 'l2', Index: 0, ForbidTaken: true, ForbidVideo: true, ForbidAudio: true }));
    });
    assert.deepEqual((await seats('l2'))[0], { Index: 0, IsTakenDisabled: true, IsVideoDisabled: false, IsAudioDisabled: false });
    assert.deepEqual(await memberIds('l2'), ['sitter']);
    assert.deepEqual(events.find((e) => e.type === 'kickedOffSeat')?.to, ['sitter']);
  });

  it('binds ForbidVideo/ForbidAudio to the occupant, ignores them on empty or locked seats', async () => {
    await seatRoom('l3', 4, ['a', 'b']);
    ok(await pick('l3', 'a', 0));
    ok(await mic('lock_seat', { RoomId: 'l3', Index: 0, ForbidVideo: true, ForbidAudio: true }));
    assert.deepEqual((await seats('l3'))[0], { Index: 0, Member_Account: 'a', IsTakenDisabled: false, IsVideoDisabled: true, IsAudioDisabled: true });
    ok(await mic('lock_seat', { RoomId: 'l3', Index: 0, ForbidVideo: false }));
    assert.deepEqual((await seats('l3'))[0], { Index: 0, Member_Account: 'a', IsTakenDisabled: false, IsVideoDisabled: false, IsAudioDisabled: true });

    // Empty seat: success, nothing set.
    ok(await mic('lock_seat', { RoomId: 'l3', Index: 1, ForbidVideo: true, ForbidAudio: true }));
    assert.deepEqual((await seats('l3'))[1], { Index: 1, IsTakenDisabled: false, IsVideoDisabled: false, IsAudioDisabled: false });
    // Locked seat: success, nothing set.
    ok(await mic('lock_seat', { RoomId: 'l3', Index: 2, ForbidTaken: true }));
    ok(await mic('lock_seat', { RoomId: 'l3', Index: 2, ForbidVideo: true, ForbidAudio: true }));
    assert.deepEqual((await seats('l3'))[2], { Index: 2, IsTakenDisabled: true, IsVideoDisabled: false, IsAudioDisabled: false });

    // The flags move with the user...
    ok(await mic('switch_seat', { RoomId: 'l3', ToIndex: 3, Member_Account: 'a' }));
    const moved = await seats('l3');
    assert.deepEqual(moved[0], { Index: 0, IsTakenDisabled: false, IsVideoDisabled: false, IsAudioDisabled: false });
    assert.deepEqual(moved[3], { Index: 3, Member_Account: 'a', IsTakenDisabled: false, IsVideoDisabled: false, IsAudioDisabled: true });
    // ...and are reset when the user leaves the seat: whoever sits there next starts clean.
    ok(await mic('kick_user_off_seat', { RoomId: 'l3', Member_Account: 'a', Data: '' }));
    ok(await pick('l3', 'b', 3));
    assert.deepEqual((await seats('l3'))[3], { Index: 3, Member_Account: 'b', IsTakenDisabled: false, IsVideoDisabled: false, IsAudioDisabled: false });
    ok(await pick('l3', 'a', 0));
    assert.equal((await seats('l3'))[0].IsAudioDisabled, false);
  });

  it('resets the flags when the user leaves the room', async () => {
    await seatRoom('l4', 2, ['a']);
    ok(await pick('l4', 'a', 1));
    ok(await mic('lock_seat', { RoomId: 'l4', Index: 1, ForbidAudio: true }));
    ok(await srv('kick_user_out', { RoomId: 'l4', MemberList_Account: ['a'], Reason: '' }));
    assert.deepEqual((await seats('l4'))[1], { Index: 1, IsTakenDisabled: false, IsVideoDisabled: false, IsAudioDisabled: false });
  });

  it('refuses a bad Index, a room without seats and an unknown room', async () => {
    await seatRoom('l5', 2, []);
    const before = await seats('l5');
    failed(await mic('lock_seat', { RoomId: 'l5', Index: 2, ForbidTaken: true }), 100002, 'Index');
    failed(await mic('lock_seat', { RoomId: 'l5', Index: -1, ForbidTaken: true }), 100002, 'Index');
    failed(await mic('lock_seat', { RoomId: 'l5', ForbidTaken: true }), 100002, 'Index');
    failed(await mic('lock_seat', { RoomId: 'l5', Index: 0, ForbidTaken: 'yes' }), 100002, 'ForbidTaken');
    failed(await mic('lock_seat', { RoomId: 'l5', Index: 0, ForbidVideo: 1 }), 100002, 'ForbidVideo');
    failed(await mic('lock_seat', { RoomId: 'l-none', Index: 0, ForbidTaken: true }), 100004);
    assert.deepEqual(await seats('l5'), before);
    ok(await srv('create_room', { RoomInfo: { RoomId: 'l-noseats', RoomType: 'Conference' } }));
    failed(await mic('lock_seat', { RoomId: 'l-noseats', Index: 0, ForbidTaken: true }), 100211);
  });
});

describe('switch_seat', () => {
  it('moves a seated member to an empty seat', async () => {
    await seatRoom('w1', 3, ['user']);
    ok(await pick('w1', 'user', 0));
    const r = await mic('switch_seat', { RoomId: 'w1', ToIndex: 1, Member_Account: 'user' });
    ok(r);
    assert.equal(r.Response, undefined);
    assert.deepEqual(await occupants('w1'), ['', 'user', '']);
  });

  it('refuses a taken or locked seat, a member not on a seat, a non-member and a bad ToIndex', async () => {
    await seatRoom('w2', 4, ['a', 'b', 'c']);
    ok(await pick('w2', 'a', 0));
    ok(await pick('w2', 'b', 1));
    ok(await mic('lock_seat', { RoomId: 'w2', Index: 3, ForbidTaken: true }));
    const before = await seats('w2');
    const sw = (userId: string, toIndex: unknown) => mic('switch_seat', { RoomId: 'w2', ToIndex: toIndex, Member_Account: userId });
    failed(await sw('a', 1), 100210);
    failed(await sw('a', 3), 100200);
    failed(await sw('c', 2), 100206); // not on a seat
    failed(await sw('ghost', 2), 100005);
    failed(await sw('a', 4), 100002, 'ToIndex');
    failed(await sw('a', '2'), 100002, 'ToIndex');
    failed(await mic('switch_seat', { RoomId: 'w2', ToIndex: 2 }), 100002, 'Member_Account');
    failed(await mic('switch_seat', { RoomId: 'w-none', ToIndex: 2, Member_Account: 'a' }), 100004);
    assert.deepEqual(await seats('w2'), before);
  });
});

describe('move_user_to_seat', () => {
  const move = (roomId: string, userId: string, index: unknown, policy: unknown) =>
    mic('move_user_to_seat', { RoomId: roomId, SeatIndex: index, Member_Account: userId, Policy: policy });

  it('moves to an empty seat whatever the Policy', async () => {
    await seatRoom('v1', 4, ['user']);
    ok(await pick('v1', 'user', 0));
    for (const [policy, to] of [[0, 1], [1, 2], [2, 3]]) {
      const r = await move('v1', 'user', to, policy);
      ok(r);
      assert.equal(r.Response, undefined);
    }
    assert.deepEqual(await occupants('v1'), ['', '', '', 'user']);
  });

  it('Policy 0 refuses a taken seat', async () => {
    await seatRoom('v2', 2, ['a', 'b']);
    ok(await pick('v2', 'a', 0));
    ok(await pick('v2', 'b', 1));
    failed(await move('v2', 'a', 1, 0), 100210);
    assert.deepEqual(await occupants('v2'), ['a', 'b']);
  });

  it('Policy 1 takes the occupant off the seat (they stay in the room)', async () => {
    await seatRoom('v3', 3, ['a', 'b']);
    ok(await pick('v3', 'a', 0));
    ok(await pick('v3', 'b', 1));
    const events = await eventsDuring('v3', async () => ok(await move('v3', 'a', 1, 1)));
    assert.deepEqual(await occupants('v3'), ['', 'a', '']);
    assert.deepEqual(await memberIds('v3'), ['a', 'b']);
    assert.deepEqual(events.find((e) => e.type === 'kickedOffSeat')?.to, ['b']);
  });

  it('Policy 2 exchanges the two members, each keeping their own flags', async () => {
    await seatRoom('v4', 3, ['a', 'b']);
    ok(await pick('v4', 'a', 0));
    ok(await pick('v4', 'b', 2));
    ok(await mic('lock_seat', { RoomId: 'v4', Index: 0, ForbidVideo: true }));
    ok(await mic('lock_seat', { RoomId: 'v4', Index: 2, ForbidAudio: true }));
    ok(await move('v4', 'a', 2, 2));
    const after = await seats('v4');
    assert.deepEqual(after[0], { Index: 0, Member_Account: 'b', IsTakenDisabled: false, IsVideoDisabled: false, IsAudioDisabled: true });
    assert.deepEqual(after[2], { Index: 2, Member_Account: 'a', IsTakenDisabled: false, IsVideoDisabled: true, IsAudioDisabled: false });
  });

  it('refuses a bad Policy or SeatIndex, a locked seat, a member not on a seat and an unknown room', async () => {
    await seatRoom('v5', 3, ['a', 'b']);
    ok(await pick('v5', 'a', 0));
    ok(await mic('lock_seat', { RoomId: 'v5', Index: 2, ForbidTaken: true }));
    const before = await seats('v5');
    failed(await move('v5', 'a', 1, 3), 100002, 'Policy');
    failed(await move('v5', 'a', 1, '1'), 100002, 'Policy');
    failed(await mic('move_user_to_seat', { RoomId: 'v5', SeatIndex: 1, Member_Account: 'a' }), 100002, 'Policy');
    failed(await move('v5', 'a', 3, 0), 100002, 'SeatIndex');
    failed(await move('v5', 'a', 2, 1), 100200);
    failed(await move('v5', 'b', 1, 0), 100206); // not on a seat
    failed(await move('v5', 'ghost', 1, 0), 100005);
    failed(await move('v-none', 'a', 1, 0), 100004);
    assert.deepEqual(await seats('v5'), before);
  });
});
