import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enter, startTestServer } from './support/harness.js';

test('create a room, seat a member, kick them off the seat', async () => {
  const s = await startTestServer();
  try {
    let r = await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'r1', RoomType: 'Conference', IsSeatEnabled: true, MaxSeatCount: 4 } });
    assert.equal(r.ErrorCode, 0);
    await enter(s, 'r1', 'user2');
    r = await s.tencent('room_engine_http_mic/pick_user_on_seat', { RoomId: 'r1', Member_Account: 'user2', Index: 1 });
    assert.equal(r.ErrorCode, 0, r.ErrorInfo);
    r = await s.tencent('room_engine_http_mic/get_seat_list', { RoomId: 'r1' });
    assert.equal(r.Response.SeatList[1].Member_Account, 'user2');
    r = await s.tencent('room_engine_http_mic/kick_user_off_seat', { RoomId: 'r1', Member_Account: 'user2', Data: 'time over' });
    assert.equal(r.ErrorCode, 0);
    r = await s.tencent('room_engine_http_mic/get_seat_list', { RoomId: 'r1' });
    assert.equal(r.Response.SeatList[1].Member_Account, undefined);
  } finally {
    await s.close();
  }
});
