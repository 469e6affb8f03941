// Apps never see each other's data: the same RoomId in two apps is two rooms, and one app's
// admin cannot read or change the other's.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { genUserSig } from '../src/auth/usersig.js';
import { RoomError } from '../src/core/errors.js';
import { APP, OTHER_APP, enter, startTestServer, type TestServer } from './support/harness.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});

const asA = (path: string, body: unknown) => s.tencent(path, body, { app: APP });
const asB = (path: string, body: unknown) => s.tencent(path, body, { app: OTHER_APP });

/** Everything an admin can read about a room. */
async function snapshot(call: typeof asA, roomId: string) {
  const parts = await Promise.all([
    call('room_engine_http_srv/get_room_info', { RoomId: roomId }),
    call('room_engine_http_srv/get_room_member_list', { RoomId: roomId, Count: 100 }),
    call('room_engine_http_srv/get_banned_member_list', { RoomId: roomId, IncludeAllOrigins: true }),
    call('room_engine_http_mic/get_seat_list', { RoomId: roomId }),
  ]);
  for (const p of parts) assert.equal(p.ErrorCode, 0, p.ErrorInfo);
  return parts.map((p) => p.Response);
}

describe('isolation between apps', () => {
  it('keeps the same RoomId in two apps independent', async () => {
    const create = (call: typeof asA, name: string, seats: number) =>
      call('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'same', RoomType: 'Conference', RoomName: name, IsSeatEnabled: true, MaxSeatCount: seats } });
    assert.equal((await create(asA, 'in A', 2)).ErrorCode, 0);
    assert.equal((await create(asB, 'in B', 3)).ErrorCode, 0); // not 100003: a different app
    await enter(s, 'same', 'alice', { app: APP });
    await enter(s, 'same', 'bob', { app: OTHER_APP });

    const a = await asA('room_engine_http_srv/get_room_info', { RoomId: 'same' });
    const b = await asB('room_engine_http_srv/get_room_info', { RoomId: 'same' });
    assert.equal(a.Response.RoomInfo.RoomName, 'in A');
    assert.equal(b.Response.RoomInfo.RoomName, 'in B');
    assert.equal(a.Response.RoomInfo.MemberCount, 1);
    assert.equal(a.Response.RoomInfo.Owner_Account, 'administrator');
    assert.equal(b.Response.RoomInfo.Owner_Account, 'boss');

    // A member of B's room is not a member of A's.
    assert.equal((await asA('room_engine_http_mic/pick_user_on_seat', { RoomId: 'same', Member_Account: 'bob', Index: 0 })).ErrorCode, 100005);
    assert.equal((await asA('room_engine_http_srv/kick_user_out', { RoomId: 'same', MemberList_Account: ['bob'], Reason: '' })).ErrorCode, 100005);
    assert.equal((await asA('room_engine_http_mic/pick_user_on_seat', { RoomId: 'same', Member_Account: 'alice', Index: 0 })).ErrorCode, 0);
    assert.equal((await asB('room_engine_http_mic/pick_user_on_seat', { RoomId: 'same', Member_Account: 'bob', Index: 0 })).ErrorCode, 0);

    // A ban in A does not keep anyone out of B.
    assert.equal((await asA('room_engine_http_srv/ban_room_member', { RoomId: 'same', MemberList_Account: ['carol'], Reason: '', Duration: 600 })).ErrorCode, 0);
    await assert.rejects(enter(s, 'same', 'carol', { app: APP }), (e) => e instanceof RoomError && e.kind === 'DeniedUser');
    await enter(s, 'same', 'carol', { app: OTHER_APP });

    const bBefore = await snapshot(asB, 'same');
    // A changes and then destroys its room; B's room stays exactly as it was.
    assert.equal((await asA('room_engine_http_srv/update_room_info', { RoomInfo: { RoomId: 'same', RoomName: 'renamed' } })).ErrorCode, 0);
    assert.equal((await asA('room_engine_http_mic/lock_seat', { RoomId: 'same', Index: 0, ForbidTaken: true })).ErrorCode, 0);
    assert.equal((await asA('room_engine_http_srv/destroy_room', { RoomId: 'same' })).ErrorCode, 0);
    assert.deepEqual(await snapshot(asB, 'same'), bBefore);
    assert.equal((await asA('room_engine_http_srv/get_room_info', { RoomId: 'same' })).ErrorCode, 100004);
  });

  it("answers 100004 for every command on a room that exists only in the other app, and changes nothing", async () => {
    assert.equal((await asB('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'only-b', RoomType: 'Conference', IsSeatEnabled: true, MaxSeatCount: 2 } })).ErrorCode, 0);
    await enter(s, 'only-b', 'bob', { app: OTHER_APP });
    assert.equal((await asB('room_engine_http_mic/pick_user_on_seat', { RoomId: 'only-b', Member_Account: 'bob', Index: 0 })).ErrorCode, 0);
    const before = await snapshot(asB, 'only-b');
    const attempts: [string, unknown][] = [
      ['room_engine_http_srv/get_room_info', { RoomId: 'only-b' }],
      ['room_engine_http_srv/destroy_room', { RoomId: 'only-b' }],
      ['room_engine_http_srv/update_room_info', { RoomInfo: { RoomId: 'only-b', RoomName: 'mine now' } }],
      ['room_engine_http_srv/get_room_member_list', { RoomId: 'only-b' }],
      ['room_engine_http_srv/update_room_member_info', { RoomId: 'only-b', MemberInfo: { Member_Account: 'bob', Role: 'Admin' } }],
      ['room_engine_http_srv/change_room_owner', { RoomId: 'only-b', From_Account: 'boss', NewOwner_Account: 'bob' }],
      ['room_engine_http_srv/mark_room_member', { RoomId: 'only-b', CommandType: 1, MemberList: [{ Member_Account: 'bob', Marks: [1000] }] }],
      ['room_engine_http_srv/ban_room_member', { RoomId: 'only-b', MemberList_Account: ['bob'], Reason: '', Duration: 60 }],
      ['room_engine_http_srv/unban_room_member', { RoomId: 'only-b', MemberList_Account: ['bob'] }],
      ['room_engine_http_srv/get_banned_member_list', { RoomId: 'only-b' }],
      ['room_engine_http_srv/kick_user_out', { RoomId: 'only-b', MemberList_Account: ['bob'], Reason: '' }],
      ['room_engine_http_mic/get_seat_list', { RoomId: 'only-b' }],
      ['room_engine_http_mic/pick_user_on_seat', { RoomId: 'only-b', Member_Account: 'bob', Index: 1 }],
      ['room_engine_http_mic/kick_user_off_seat', { RoomId: 'only-b', Member_Account: 'bob', Data: '' }],
      ['room_engine_http_mic/lock_seat', { RoomId: 'only-b', Index: 0, ForbidTaken: true }],
      ['room_engine_http_mic/switch_seat', { RoomId: 'only-b', ToIndex: 1, Member_Account: 'bob' }],
      ['room_engine_http_mic/move_user_to_seat', { RoomId: 'only-b', SeatIndex: 1, Member_Account: 'bob', Policy: 1 }],
    ];
    for (const [path, body] of attempts) {
      const r = await asA(path, body);
      assert.equal(r.ErrorCode, 100004, `${path}: ${r.ErrorCode} ${r.ErrorInfo}`);
    }
    assert.deepEqual(await snapshot(asB, 'only-b'), before);
  });

  it("does not let A's admin in as B", async () => {
    const call = (identifier: string, usersig: string) =>
      s.tencent('room_engine_http_srv/get_room_info', { RoomId: 'only-b' }, { app: OTHER_APP, identifier, usersig });
    // A's own sig, presented to B's sdkappid.
    assert.equal((await call('administrator', genUserSig(APP.sdkAppId, APP.secretKey, 'administrator', 600))).ErrorCode, 70014);
    // A sig for B's sdkappid signed with A's key.
    assert.equal((await call('administrator', genUserSig(OTHER_APP.sdkAppId, APP.secretKey, 'administrator', 600))).ErrorCode, 70009);
    assert.equal((await call('boss', genUserSig(OTHER_APP.sdkAppId, APP.secretKey, 'boss', 600))).ErrorCode, 70009);
    // A valid sig for B, but 'administrator' is not one of B's admins.
    assert.equal((await call('administrator', genUserSig(OTHER_APP.sdkAppId, OTHER_APP.secretKey, 'administrator', 600))).ErrorCode, 60010);
    assert.equal((await call('boss', genUserSig(OTHER_APP.sdkAppId, OTHER_APP.secretKey, 'boss', 600))).ErrorCode, 0);
  });
});
