// Durability: every write the Tencent dialect acknowledged survives `kill -9` of the real
// `rostrum serve` process and is there after a restart on the same store (the data directory,
// or the PostgreSQL schema under ROSTRUM_TEST_STORE).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { APP, tempData, tencentCall, type TestData } from './support/harness.js';
import { crash, killServers, serve, stop, writeConfig } from './support/process.js';

const datas: TestData[] = [];

after(async () => {
  killServers();
  for (const data of datas) await data.remove();
});

function ok(r: { ErrorCode: number; ErrorInfo: string }): void {
  assert.equal(r.ErrorCode, 0, r.ErrorInfo);
}

describe('durability across kill -9', () => {
  it('keeps every acknowledged write', async () => {
    const data = tempData('rostrum-durable-');
    datas.push(data);
    const config = writeConfig(data, { apps: [{ sdkAppId: APP.sdkAppId, secretKey: APP.secretKey, admins: APP.admins, rateLimit: { perCommandPerSecond: 0 } }] });

    const first = await serve(data, config);
    const call = (url: string, path: string, body: unknown) => tencentCall(url, path, body);
    ok(await call(first.url, 'room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'keep', RoomType: 'Conference', IsSeatEnabled: true, MaxSeatCount: 4 } }));
    ok(await call(first.url, 'room_engine_http_srv/update_room_info', { RoomInfo: { RoomId: 'keep', RoomName: 'renamed', CustomInfo: '持久', IsMessageDisabled: true } }));
    ok(await call(first.url, 'room_engine_http_srv/ban_room_member', { RoomId: 'keep', MemberList_Account: ['troll1', 'troll2'], Reason: 'spam', Duration: 3600 }));
    ok(await call(first.url, 'room_engine_http_mic/lock_seat', { RoomId: 'keep', Index: 2, ForbidTaken: true }));
    ok(await call(first.url, 'room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'gone', RoomType: 'Conference' } }));
    ok(await call(first.url, 'room_engine_http_srv/destroy_room', { RoomId: 'gone' }));
    // A burst of concurrent writes, and the crash right after the last acknowledgement.
    const burst = Array.from({ length: 40 }, (_, i) => `burst-${i}`);
    const replies = await Promise.all(burst.map((id) => call(first.url, 'room_engine_http_srv/create_room', { RoomInfo: { RoomId: id, RoomType: 'Conference' } })));
    ok(await call(first.url, 'room_engine_http_srv/unban_room_member', { RoomId: 'keep', MemberList_Account: ['troll2'] }));
    await crash(first);
    for (const r of replies) ok(r);

    const second = await serve(data, config);
    try {
      const info = await call(second.url, 'room_engine_http_srv/get_room_info', { RoomId: 'keep' });
      ok(info);
      assert.equal(info.Response.RoomInfo.RoomName, 'renamed');
      assert.equal(info.Response.RoomInfo.CustomInfo, '持久');
      assert.equal(info.Response.RoomInfo.IsMessageDisabled, true);
      const bans = await call(second.url, 'room_engine_http_srv/get_banned_member_list', { RoomId: 'keep' });
      assert.deepEqual(bans.Response.BannedAccountList.map((b: { Member_Account: string }) => b.Member_Account), ['troll1']);
      const seats = await call(second.url, 'room_engine_http_mic/get_seat_list', { RoomId: 'keep' });
      assert.deepEqual(seats.Response.SeatList.map((x: { IsTakenDisabled: boolean }) => x.IsTakenDisabled), [false, false, true, false]);
      assert.equal((await call(second.url, 'room_engine_http_srv/get_room_info', { RoomId: 'gone' })).ErrorCode, 100004);
      for (const id of burst) ok(await call(second.url, 'room_engine_http_srv/get_room_info', { RoomId: id }));
      // And the restarted server keeps working: a write, another crash, still there.
      ok(await call(second.url, 'room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'after-restart', RoomType: 'Conference' } }));
    } finally {
      await crash(second);
    }
    const third = await serve(data, config);
    try {
      ok(await call(third.url, 'room_engine_http_srv/get_room_info', { RoomId: 'after-restart' }));
    } finally {
      await stop(third);
    }
  });
});
