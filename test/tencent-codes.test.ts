// Tencent Room Engine: the specific 100xxx codes of the Room Engine code table (room type, mark
// limit, not on a seat) and error texts that name the field the caller sent. End to end over HTTP
// against a real server and store.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { enter, startTestServer, type TestServer } from './support/harness.js';
import { failed, ok, type Reply } from './support/tencent.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});

const srv = (command: string, body: unknown): Promise<Reply> => s.tencent(`room_engine_http_srv/${command}`, body);
const mic = (command: string, body: unknown): Promise<Reply> => s.tencent(`room_engine_http_mic/${command}`, body);

describe('100015: invalid room type', () => {
  it('answers create_room with an unknown RoomType 100015 and creates nothing', async () => {
    for (const RoomType of ['Meeting', 'conference', 'LIVE', '']) {
      failed(await srv('create_room', { RoomInfo: { RoomId: 't-type', RoomType } }), 100015);
    }
    failed(await srv('get_room_info', { RoomId: 't-type' }), 100004);
    // A missing or non-string RoomType is a malformed request, not a room type.
    failed(await srv('create_room', { RoomInfo: { RoomId: 't-type' } }), 100002, 'RoomInfo.RoomType');
    failed(await srv('create_room', { RoomInfo: { RoomId: 't-type', RoomType: 1 } }), 100002, 'RoomInfo.RoomType');
    ok(await srv('create_room', { RoomInfo: { RoomId: 't-type', RoomType: 'Conference' } }));
  });
});

describe('100009: too many marks in the room', () => {
  it('answers a set that would make an 11th distinct mark 100009, the per-call limits stay 100002', async () => {
    ok(await srv('create_room', { RoomInfo: { RoomId: 't-marks', RoomType: 'Conference' } }));
    await enter(s, 't-marks', 'm1');
    const set = (Marks: number[]) => srv('mark_room_member', { RoomId: 't-marks', CommandType: 1, MemberList: [{ Member_Account: 'm1', Marks }] });
    for (let i = 0; i < 10; i += 2) ok(await set([3000 + i, 3001 + i]));
    failed(await set([3010]), 100009);
    failed(await set([3000, 3001, 3002, 3003]), 100002, 'Marks');
    ok(await set([3009]));
  });
});

describe('100206: not on a seat', () => {
  it('answers kick_user_off_seat, switch_seat and move_user_to_seat of a seatless member 100206', async () => {
    ok(await srv('create_room', { RoomInfo: { RoomId: 't-seat', RoomType: 'Conference', IsSeatEnabled: true, MaxSeatCount: 3 } }));
    await enter(s, 't-seat', 'standing');
    failed(await mic('kick_user_off_seat', { RoomId: 't-seat', Member_Account: 'standing', Data: '' }), 100206);
    failed(await mic('switch_seat', { RoomId: 't-seat', Member_Account: 'standing', ToIndex: 1 }), 100206);
    for (const Policy of [0, 1, 2]) {
      failed(await mic('move_user_to_seat', { RoomId: 't-seat', Member_Account: 'standing', SeatIndex: 1, Policy }), 100206);
    }
    // Not in the room at all is still 100005.
    failed(await mic('kick_user_off_seat', { RoomId: 't-seat', Member_Account: 'ghost', Data: '' }), 100005);
    const seats = await mic('get_seat_list', { RoomId: 't-seat' });
    ok(seats);
    assert.ok(seats.Response.SeatList.every((x: any) => x.Member_Account === undefined));
  });
});

describe('ErrorInfo names the field the caller sent', () => {
  it('get_banned_member_list: a bad Next is reported as Next, a bad Offset as Offset', async () => {
    ok(await srv('create_room', { RoomInfo: { RoomId: 't-next', RoomType: 'Conference' } }));
    failed(await srv('get_banned_member_list', { RoomId: 't-next', Next: 'abc' }), 100002, 'Next');
    failed(await srv('get_banned_member_list', { RoomId: 't-next', Next: -1 }), 100002, 'Next');
    failed(await srv('get_banned_member_list', { RoomId: 't-next', Next: '0x10' }), 100002, 'Next');
    failed(await srv('get_banned_member_list', { RoomId: 't-next', Next: '1e2' }), 100002, 'Next');
    ok(await srv('get_banned_member_list', { RoomId: 't-next', Next: '3' }));
    failed(await srv('get_banned_member_list', { RoomId: 't-next', Offset: -1 }), 100002, 'Offset');
    failed(await srv('get_banned_member_list', { RoomId: 't-next', Offset: -1, Next: '2' }), 100002, 'Offset');
  });
});
