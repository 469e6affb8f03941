// The callbacks on the wire, as Tencent documents them: the request target byte for byte (the
// configured URL's own query kept as is, Tencent's parameters added at its end in Tencent's
// order, Sign before RequestTime) and every field of the six Room Engine bodies with its type.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { APP, OTHER_APP, enter, asUser, startTestServer } from './support/harness.js';
import { ok } from './support/tencent.js';
import { receiversClosedAfter, until } from './support/receiver.js';
import { signOf } from '../src/callbacks/sign.js';

const TOKEN = 'wire-token';
const receiver = receiversClosedAfter();

/** The configured URL's own query: an encoded slash and tilde, a bare key, an encoded space. */
const OWN_QUERY = 'key=a%2Fb~&flag&sp=x%20y';

/** What Tencent adds for `command`, signed with TOKEN at the delivery's own RequestTime. */
function tencentQuery(command: string, query: URLSearchParams): string {
  const t = query.get('RequestTime') ?? '';
  assert.match(t, /^\d{10}$/);
  return `SdkAppid=${APP.sdkAppId}&CallbackCommand=${command}&contenttype=json&ClientIP=&OptPlatform=RESTAPI&Sign=${signOf(TOKEN, t)}&RequestTime=${t}`;
}

describe('callbacks on the wire', () => {
  it('keeps the configured query byte for byte and adds SdkAppid … OptPlatform, Sign, RequestTime in that order', async () => {
    const rx = await receiver(TOKEN);
    const s = await startTestServer({ apps: [{ ...APP, callback: { url: `${rx.url}?${OWN_QUERY}#ignored`, token: TOKEN } }, OTHER_APP] });
    try {
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'w1', RoomType: 'Conference' } }));
      await until(() => rx.accepted.length >= 1, 'the create callback');
      const got = rx.accepted[0];
      assert.ok(got.verified, 'signature verifies');
      assert.equal(got.target, `/callback?${OWN_QUERY}&${tencentQuery('Room.CallbackAfterCreateRoom', got.query)}`);

      // A URL set over REST keeps its query too (signed with the file's token, which stays).
      const rest = await receiver(TOKEN);
      ok(await s.tencent('room_config/set_callback', { Url: `${rest.url}?${OWN_QUERY}`, CallbackCommandList: ['Room.CallbackAfterDestroyRoom'] }));
      const cfg = await s.tencent('room_config/get_callback', {});
      assert.equal(cfg.Response.Url, `${rest.url}?${OWN_QUERY}`, 'get_callback shows the Url as set');
      ok(await s.tencent('room_engine_http_srv/destroy_room', { RoomId: 'w1' }));
      await until(() => rest.accepted.length >= 1, 'the destroy callback');
      assert.equal(rest.accepted[0].target, `/callback?${OWN_QUERY}&${tencentQuery('Room.CallbackAfterDestroyRoom', rest.accepted[0].query)}`);
      // A URL ending in "?" gets no stray separator.
      ok(await s.tencent('room_config/update_callback', { Url: `${rest.url}?`, CallbackCommandList: ['Room.CallbackAfterCreateRoom'] }));
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'w2', RoomType: 'Conference' } }));
      await until(() => rest.accepted.length >= 2, 'the second create callback');
      assert.equal(rest.accepted[1].target, `/callback?${tencentQuery('Room.CallbackAfterCreateRoom', rest.accepted[1].query)}`);
      assert.ok(rest.accepted.every((r) => r.verified));
    } finally {
      await s.close();
    }
  });

  it('sends the six Room Engine bodies with Tencent’s fields, in Tencent’s order, with Tencent’s types', async () => {
    const rx = await receiver();
    const s = await startTestServer({ apps: [{ ...APP, callback: { url: rx.url } }, OTHER_APP] });
    try {
      const t0 = Date.now();
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'w1', RoomType: 'Conference', IsSeatEnabled: true, MaxSeatCount: 2, CustomInfo: 'c' } }));
      ok(await s.tencent('room_engine_http_srv/update_room_info', { RoomInfo: { RoomId: 'w1', RoomName: 'renamed' } }));
      await enter(s, 'w1', 'alice');
      await enter(s, 'w1', 'bob');
      ok(await s.tencent('room_engine_http_mic/pick_user_on_seat', { RoomId: 'w1', Member_Account: 'alice', Index: 1 }));
      ok(await s.tencent('room_engine_http_srv/kick_user_out', { RoomId: 'w1', MemberList_Account: ['bob'], Reason: 'r' }));
      await asUser(s, 'alice', { type: 'leaveRoom', roomId: 'w1' } as never);
      ok(await s.tencent('room_engine_http_mic/lock_seat', { RoomId: 'w1', Index: 0, ForbidTaken: true }));
      await enter(s, 'w1', 'carol');
      ok(await s.tencent('room_engine_http_srv/change_room_owner', { RoomId: 'w1', From_Account: 'administrator', NewOwner_Account: 'carol' }));
      ok(await s.tencent('room_engine_http_srv/destroy_room', { RoomId: 'w1' }));
      await until(() => rx.accepted.some((r) => r.body.CallbackCommand === 'Room.CallbackAfterDestroyRoom'), 'the destroy callback');

      const first = (command: string) => {
        const r = rx.accepted.find((x) => x.body.CallbackCommand === command);
        assert.ok(r, `no ${command}`);
        assert.equal(r.query.get('CallbackCommand'), command);
        assert.ok(Number.isInteger(r.body.EventTime) && r.body.EventTime >= t0 && r.body.EventTime <= Date.now(), 'EventTime: an integer, ms');
        return r.body;
      };
      /** Keys in order, and each value's JSON type. */
      const shape = (o: Record<string, unknown>) => Object.entries(o).map(([k, v]) => `${k}:${Array.isArray(v) ? 'array' : typeof v}`);
      const tail = ['EventTime:number', 'EventId:string', 'Seq:number'];

      const create = first('Room.CallbackAfterCreateRoom');
      assert.deepEqual(shape(create), ['CallbackCommand:string', 'Operator_Account:string', 'RoomInfo:object', 'ScheduleInviteeList_Account:array', ...tail]);
      assert.deepEqual(shape(create.RoomInfo), [
        'RoomId:string', 'RoomName:string', 'RoomType:string', 'Owner_Account:string', 'MaxMemberCount:number', 'MaxSeatCount:number',
        'IsVideoDisabled:boolean', 'IsAudioDisabled:boolean', 'IsMessageDisabled:boolean', 'IsScreenSharingDisabled:boolean',
        'IsCloudRecordingDisabled:boolean', 'CustomInfo:string', 'ScheduleStartTime:number', 'ScheduleEndTime:number', 'RoomStatus:string',
        'IsSeatEnabled:boolean', 'TakeSeatMode:string', 'CreateTime:number',
      ]);
      assert.ok(create.RoomInfo.CreateTime < 1e10, 'CreateTime in seconds');

      const update = first('Room.CallbackAfterUpdateRoomInfo');
      assert.deepEqual(shape(update), ['CallbackCommand:string', 'Operator_Account:string', 'RoomInfo:object', ...tail]);
      assert.deepEqual(shape(update.RoomInfo), [
        'RoomId:string', 'RoomName:string', 'Owner_Account:string', 'TakeSeatMode:string', 'MaxMemberCount:number', 'IsVideoDisabled:boolean',
        'IsAudioDisabled:boolean', 'IsMessageDisabled:boolean', 'IsScreenSharingDisabled:boolean', 'IsCloudRecordingDisabled:boolean', 'CustomInfo:string',
      ]);
      assert.equal(update.RoomInfo.RoomName, 'renamed');
      // A new owner is a change of the room info's Owner_Account.
      const updates = rx.accepted.map((x) => x.body).filter((b) => b.CallbackCommand === 'Room.CallbackAfterUpdateRoomInfo');
      assert.deepEqual(updates.map((b) => [b.RoomInfo.Owner_Account, b.RoomInfo.RoomName]), [['administrator', 'renamed'], ['carol', 'renamed']]);

      const entered = first('Room.CallbackAfterMemberEnter');
      assert.deepEqual(shape(entered), [
        'CallbackCommand:string', 'Operator_Account:string', 'RoomId:string', 'MemberCount:number', 'Type:string', 'MemberList_Account:array', ...tail,
      ]);
      assert.equal(entered.Type, 'Enter');

      const leaves = rx.accepted.filter((x) => x.body.CallbackCommand === 'Room.CallbackAfterMemberLeave').map((x) => x.body);
      for (const l of leaves) {
        assert.deepEqual(shape(l), [
          'CallbackCommand:string', 'Operator_Account:string', 'RoomId:string', 'MemberCount:number', 'Type:string', 'MemberList_Account:array',
          'Reason:string', ...tail,
        ]);
      }
      const kicked = leaves.find((l) => l.MemberList_Account[0] === 'bob');
      assert.deepEqual([kicked.Type, kicked.Operator_Account], ['Kicked', 'administrator']);
      const left = leaves.find((l) => l.MemberList_Account[0] === 'alice');
      assert.deepEqual([left.Type, left.Operator_Account], ['Leave', 'alice']);

      const seats = first('Mic.CallbackAfterSeatInfoChanged');
      assert.deepEqual(shape(seats), ['CallbackCommand:string', 'Operator_Account:string', 'RoomId:string', 'SeatList:array', ...tail]);
      assert.deepEqual(seats.SeatList.map(shape), [
        ['Index:number', 'IsTakenDisabled:boolean', 'IsVideoDisabled:boolean', 'IsAudioDisabled:boolean'],
        ['Index:number', 'Member_Account:string', 'IsTakenDisabled:boolean', 'IsVideoDisabled:boolean', 'IsAudioDisabled:boolean'],
      ]);

      // Locking a seat is one of Tencent's scenarios for the seat callback.
      const locked = rx.accepted.map((x) => x.body).filter((b) => b.CallbackCommand === 'Mic.CallbackAfterSeatInfoChanged').at(-1);
      assert.deepEqual(locked.SeatList.map((x: { IsTakenDisabled: boolean }) => x.IsTakenDisabled), [true, false]);
      // Destroying the room sends no leave for the member it had (docs/webhooks.md).
      assert.equal(leaves.filter((l) => l.MemberList_Account[0] === 'carol').length, 0);

      const destroy = first('Room.CallbackAfterDestroyRoom');
      assert.deepEqual(shape(destroy), ['CallbackCommand:string', 'Operator_Account:string', 'RoomId:string', ...tail]);
    } finally {
      await s.close();
    }
  });
});
