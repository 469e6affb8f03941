// Tencent Room Engine room_engine_http_srv: the 12 room and member commands, end to end over
// HTTP against a real server and a real SQLite file. Members are put into rooms through the core
// (as the realtime gateway would do).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/core/engine.js';
import { RoomError } from '../src/core/errors.js';
import { APP, adminSig, asAdmin, enter, startTestServer, type TestServer } from './support/harness.js';
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

async function createRoom(roomId: string, extra: Record<string, unknown> = {}): Promise<void> {
  ok(await srv('create_room', { RoomInfo: { RoomId: roomId, RoomType: 'Conference', ...extra } }));
}

async function roomInfo(roomId: string): Promise<any> {
  const r = await srv('get_room_info', { RoomId: roomId });
  ok(r);
  return r.Response.RoomInfo;
}

async function members(roomId: string): Promise<any[]> {
  const r = await srv('get_room_member_list', { RoomId: roomId, Count: 100 });
  ok(r);
  return r.Response.MemberList;
}

async function memberIds(roomId: string): Promise<string[]> {
  return (await members(roomId)).map((m) => m.Member_Account);
}

async function banned(roomId: string, extra: Record<string, unknown> = {}): Promise<any> {
  const r = await srv('get_banned_member_list', { RoomId: roomId, ...extra });
  ok(r);
  return r.Response;
}

/** An engine on the same store whose clock runs `offsetMs` ahead (to see a ban run out). */
function engineAt(offsetMs: number): Engine {
  return new Engine(s.server.store, s.server.bus, () => Date.now() + offsetMs);
}

function isDenied(e: unknown): boolean {
  return e instanceof RoomError && e.kind === 'DeniedUser';
}

const ROOM_INFO_KEYS = [
  'CreateTime',
  'CustomInfo',
  'IsAudioDisabled',
  'IsCloudRecordingDisabled',
  'IsMessageDisabled',
  'IsPasswordEnabled',
  'IsScreenSharingDisabled',
  'IsSeatEnabled',
  'IsVideoDisabled',
  'MaxMemberCount',
  'MaxSeatCount',
  'MemberCount',
  'Owner_Account',
  'RoomId',
  'RoomName',
  'RoomStatus',
  'RoomType',
  'ScheduleEndTime',
  'ScheduleStartTime',
  'TakeSeatMode',
];

describe('create_room', () => {
  it('creates a room with documented defaults and answers with the bare envelope', async () => {
    const r = await srv('create_room', { RoomInfo: { RoomId: 'c-min', RoomType: 'Conference' } });
    ok(r);
    assert.deepEqual(Object.keys(r).sort(), ['ActionStatus', 'ErrorCode', 'ErrorInfo', 'RequestId']);
    const nowSec = Math.floor(Date.now() / 1000);
    const info = await roomInfo('c-min');
    assert.deepEqual(Object.keys(info).sort(), ROOM_INFO_KEYS);
    assert.equal(info.RoomName, 'c-min'); // default = RoomId
    assert.equal(info.Owner_Account, APP.admins[0]); // default = the caller
    assert.equal(info.MaxMemberCount, 10000);
    assert.equal(info.IsSeatEnabled, false);
    assert.equal(info.MaxSeatCount, 0);
    assert.equal(info.TakeSeatMode, 'None');
    assert.equal(info.RoomStatus, 'Running');
    assert.equal(info.MemberCount, 0);
    assert.equal(info.CustomInfo, '');
    assert.ok(Math.abs(info.CreateTime - nowSec) <= 2);
    assert.ok(Math.abs(info.ScheduleStartTime - nowSec) <= 2);
    assert.equal(info.ScheduleEndTime, info.ScheduleStartTime + 3600);
    const seats = await mic('get_seat_list', { RoomId: 'c-min' });
    ok(seats);
    assert.deepEqual(seats.Response.SeatList, []);
  });

  it('keeps every field of the documented sample', async () => {
    const sample = {
      RoomId: 'c-full',
      RoomName: 'room-name-test',
      RoomType: 'Conference',
      Owner_Account: 'user2',
      MaxMemberCount: 300,
      ScheduleStartTime: 1693271355,
      ScheduleEndTime: 1693272355,
      IsVideoDisabled: true,
      IsAudioDisabled: true,
      IsMessageDisabled: true,
      IsScreenSharingDisabled: true,
      IsCloudRecordingDisabled: true,
      CustomInfo: 'custom123',
      IsSeatEnabled: true,
      MaxSeatCount: 16,
      TakeSeatMode: 'ApplyToTake',
      IsPasswordEnabled: true,
      Password: '1234',
    };
    ok(await srv('create_room', { RoomInfo: sample, ScheduleInviteeList_Account: ['user1', 'user2', 'user3'] }));
    const info = await roomInfo('c-full');
    const { Password: _password, ...visible } = sample;
    for (const [k, v] of Object.entries(visible)) assert.deepEqual(info[k], v, k);
    assert.equal(info.Password, undefined, 'the password is never returned');
    assert.equal(info.RoomStatus, 'Running');
    const seats = await mic('get_seat_list', { RoomId: 'c-full' });
    assert.equal(seats.Response.SeatList.length, 16);
  });

  it('keeps a Live room type', async () => {
    ok(await srv('create_room', { RoomInfo: { RoomId: 'c-live', RoomType: 'Live' } }));
    assert.equal((await roomInfo('c-live')).RoomType, 'Live');
  });

  it('gives a seat-enabled room 8 seats when MaxSeatCount is not given', async () => {
    await createRoom('c-seats', { IsSeatEnabled: true });
    const info = await roomInfo('c-seats');
    assert.equal(info.MaxSeatCount, 8);
    assert.equal(info.TakeSeatMode, 'FreeToTake');
    const seats = (await mic('get_seat_list', { RoomId: 'c-seats' })).Response.SeatList;
    assert.deepEqual(seats.map((x: any) => x.Index), [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('shows a room scheduled in the future as NotStarted', async () => {
    const start = Math.floor(Date.now() / 1000) + 3600;
    await createRoom('c-later', { ScheduleStartTime: start });
    const info = await roomInfo('c-later');
    assert.equal(info.RoomStatus, 'NotStarted');
    assert.equal(info.ScheduleEndTime, start + 3600);
  });

  it('answers an existing RoomId as documented: 100012 within a second, then 100010 for its owner, 100003 for others', async () => {
    await createRoom('c-dup', { RoomName: 'first', Owner_Account: 'alice' });
    const again = (owner: string) => srv('create_room', { RoomInfo: { RoomId: 'c-dup', RoomType: 'Conference', RoomName: 'second', Owner_Account: owner } });
    failed(await again('alice'), 100012);
    failed(await again('bob'), 100012);
    // A room created two seconds ago (through the core, with a clock behind).
    await engineAt(-2000).execute(APP.sdkAppId, { kind: 'admin', userId: 'administrator' }, { type: 'createRoom', roomId: 'c-old', ownerId: 'alice' });
    const old = (owner?: string) => srv('create_room', { RoomInfo: { RoomId: 'c-old', RoomType: 'Conference', RoomName: 'second', Owner_Account: owner } });
    failed(await old('alice'), 100010);
    failed(await old('bob'), 100003);
    failed(await old(), 100003, undefined); // default owner: the calling identifier, not alice
    assert.equal((await roomInfo('c-dup')).RoomName, 'first');
    assert.equal((await roomInfo('c-old')).Owner_Account, 'alice');
  });

  it('measures RoomId in UTF-8 bytes, not characters', async () => {
    ok(await srv('create_room', { RoomInfo: { RoomId: 'é'.repeat(24), RoomType: 'Conference' } })); // 48 bytes
    ok(await srv('create_room', { RoomInfo: { RoomId: '中'.repeat(16), RoomType: 'Conference' } })); // 48 bytes
    ok(await srv('create_room', { RoomInfo: { RoomId: 'a'.repeat(48), RoomType: 'Conference' } }));
    for (const id of ['é'.repeat(25), '中'.repeat(17), 'a'.repeat(49), '😀'.repeat(13)]) {
      assert.ok(id.length <= 48 || id === 'a'.repeat(49));
      failed(await srv('create_room', { RoomInfo: { RoomId: id, RoomType: 'Conference' } }), 100002, 'RoomInfo.RoomId');
      failed(await srv('get_room_info', { RoomId: id }), 100002, 'RoomId');
    }
    failed(await srv('create_room', { RoomInfo: { RoomId: '', RoomType: 'Conference' } }), 100002, 'RoomInfo.RoomId');
  });

  it('refuses bad fields with 100002 naming the field, and creates nothing', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ RoomType: undefined }, 'RoomInfo.RoomType'],
      [{ RoomType: 7 }, 'RoomInfo.RoomType'], // an unknown RoomType string is 100015 (tencent-codes)
      [{ RoomName: 'n'.repeat(101) }, 'RoomInfo.RoomName'],
      [{ RoomName: '名'.repeat(34) }, 'RoomInfo.RoomName'], // 34 chars, 102 bytes
      [{ CustomInfo: 'c'.repeat(501) }, 'RoomInfo.CustomInfo'],
      [{ MaxMemberCount: 0 }, 'RoomInfo.MaxMemberCount'],
      [{ MaxMemberCount: 'many' }, 'RoomInfo.MaxMemberCount'],
      [{ IsSeatEnabled: true, MaxSeatCount: 0 }, 'RoomInfo.MaxSeatCount'],
      [{ IsSeatEnabled: true, MaxSeatCount: 1.5 }, 'RoomInfo.MaxSeatCount'],
      [{ IsSeatEnabled: 'yes' }, 'RoomInfo.IsSeatEnabled'],
      [{ TakeSeatMode: 'Anyone' }, 'RoomInfo.TakeSeatMode'],
      [{ ScheduleStartTime: 2000, ScheduleEndTime: 1000 }, 'RoomInfo.ScheduleEndTime'],
      [{ IsPasswordEnabled: true }, 'RoomInfo.Password'],
      [{ Owner_Account: 'o'.repeat(49) }, 'RoomInfo.Owner_Account'],
    ];
    for (const [extra, field] of cases) {
      const info = { RoomId: 'c-bad', RoomType: 'Conference', ...extra };
      for (const k of Object.keys(extra)) if (extra[k] === undefined) delete (info as Record<string, unknown>)[k];
      failed(await srv('create_room', { RoomInfo: info }), 100002, field);
    }
    failed(await srv('create_room', { RoomInfo: { RoomId: 'c-bad', RoomType: 'Conference' }, ScheduleInviteeList_Account: [''] }), 100002, 'ScheduleInviteeList_Account');
    failed(await srv('create_room', { RoomId: 'c-bad', RoomType: 'Conference' }), 100002, 'RoomInfo');
    failed(await srv('get_room_info', { RoomId: 'c-bad' }), 100004);
  });

  it('bounds ScheduleStartTime and ScheduleEndTime to unix seconds 0..2^32-1 (100002), and answers them as JSON integers', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ScheduleStartTime: 1, ScheduleEndTime: 1e308 }, 'RoomInfo.ScheduleEndTime'],
      [{ ScheduleStartTime: 1, ScheduleEndTime: 1e20 }, 'RoomInfo.ScheduleEndTime'], // over int64
      [{ ScheduleStartTime: 1e20 }, 'RoomInfo.ScheduleStartTime'],
      [{ ScheduleStartTime: 2 ** 32 }, 'RoomInfo.ScheduleStartTime'],
      [{ ScheduleStartTime: -1 }, 'RoomInfo.ScheduleStartTime'],
      [{ ScheduleStartTime: -1e20, ScheduleEndTime: 10 }, 'RoomInfo.ScheduleStartTime'],
    ];
    for (const [extra, field] of cases) {
      const r = await srv('create_room', { RoomInfo: { RoomId: 'c-sched', RoomType: 'Conference', ...extra } });
      failed(r, 100002, field);
      assert.match(r.ErrorInfo, /Expected integer to be (less|greater) or equal to (4294967295|0)$/);
    }
    failed(await srv('get_room_info', { RoomId: 'c-sched' }), 100004);
    // the bounds themselves are kept, and answered as integers on the wire
    await createRoom('c-sched', { ScheduleStartTime: 0, ScheduleEndTime: 2 ** 32 - 1 });
    const q = `sdkappid=${APP.sdkAppId}&identifier=${APP.admins[0]}&usersig=${encodeURIComponent(adminSig())}&random=1&contenttype=json`;
    const text = await (await fetch(`${s.url}/v4/room_engine_http_srv/get_room_info?${q}`, { method: 'POST', body: '{"RoomId":"c-sched"}' })).text();
    assert.match(text, /"ScheduleStartTime":0,"ScheduleEndTime":4294967295[,}]/);
  });

  it('accepts the longest allowed fields', async () => {
    await createRoom('c-long', { RoomName: 'n'.repeat(100), CustomInfo: '中'.repeat(166) }); // 498 bytes
    const info = await roomInfo('c-long');
    assert.equal(info.RoomName.length, 100);
    assert.equal(info.CustomInfo, '中'.repeat(166));
  });
});

describe('destroy_room', () => {
  it('destroys a room with its members, seats and bans', async () => {
    await createRoom('d1', { IsSeatEnabled: true, MaxSeatCount: 2 });
    await enter(s, 'd1', 'u1');
    ok(await mic('pick_user_on_seat', { RoomId: 'd1', Member_Account: 'u1', Index: 0 }));
    ok(await srv('ban_room_member', { RoomId: 'd1', MemberList_Account: ['bad'], Reason: 'x', Duration: 600 }));
    const r = await srv('destroy_room', { RoomId: 'd1' });
    ok(r);
    assert.equal(r.Response, undefined);
    failed(await srv('get_room_info', { RoomId: 'd1' }), 100004);
    failed(await mic('get_seat_list', { RoomId: 'd1' }), 100004);
    failed(await srv('destroy_room', { RoomId: 'd1' }), 100004);
    // A new room with the same id starts empty.
    await createRoom('d1');
    assert.equal((await roomInfo('d1')).MemberCount, 0);
    assert.deepEqual((await banned('d1')).BannedAccountList, []);
    await enter(s, 'd1', 'bad');
  });

  it('needs RoomId', async () => {
    failed(await srv('destroy_room', {}), 100002, 'RoomId');
    failed(await srv('destroy_room', { RoomId: 7 }), 100002, 'RoomId');
  });
});

describe('update_room_info', () => {
  it('changes the given fields only', async () => {
    await createRoom('u1', { IsSeatEnabled: true, MaxSeatCount: 4, RoomName: 'before', CustomInfo: 'keep' });
    const r = await srv('update_room_info', {
      RoomInfo: {
        RoomId: 'u1',
        RoomName: 'after',
        MaxMemberCount: 50,
        IsVideoDisabled: true,
        IsAudioDisabled: true,
        IsMessageDisabled: true,
        IsScreenSharingDisabled: true,
        IsCloudRecordingDisabled: true,
        TakeSeatMode: 'ApplyToTake',
      },
    });
    ok(r);
    assert.equal(r.Response, undefined);
    const info = await roomInfo('u1');
    assert.equal(info.RoomName, 'after');
    assert.equal(info.CustomInfo, 'keep');
    assert.equal(info.MaxMemberCount, 50);
    assert.equal(info.IsVideoDisabled, true);
    assert.equal(info.IsAudioDisabled, true);
    assert.equal(info.IsMessageDisabled, true);
    assert.equal(info.IsScreenSharingDisabled, true);
    assert.equal(info.IsCloudRecordingDisabled, true);
    assert.equal(info.TakeSeatMode, 'ApplyToTake');
    ok(await srv('update_room_info', { RoomInfo: { RoomId: 'u1', CustomInfo: '', IsPasswordEnabled: true, Password: 'pw' } }));
    const again = await roomInfo('u1');
    assert.equal(again.CustomInfo, '');
    assert.equal(again.IsPasswordEnabled, true);
    assert.equal(again.RoomName, 'after');
  });

  it('refuses bad fields and leaves the room unchanged', async () => {
    await createRoom('u2', { RoomName: 'same' });
    const before = await roomInfo('u2');
    const cases: [Record<string, unknown>, string, number][] = [
      [{ RoomName: 'n'.repeat(101) }, 'RoomInfo.RoomName', 100002],
      [{ CustomInfo: 'é'.repeat(251) }, 'RoomInfo.CustomInfo', 100002], // 502 bytes
      [{ MaxMemberCount: -1 }, 'RoomInfo.MaxMemberCount', 100002],
      [{ IsVideoDisabled: 'yes' }, 'RoomInfo.IsVideoDisabled', 100002],
      [{ IsPasswordEnabled: true }, 'RoomInfo.Password', 100002],
      [{ RoomName: 'x', TakeSeatMode: 'FreeToTake' }, '', 100211], // no seats in this room
    ];
    for (const [patch, field, code] of cases) {
      failed(await srv('update_room_info', { RoomInfo: { RoomId: 'u2', ...patch } }), code, field || undefined);
    }
    failed(await srv('update_room_info', { RoomInfo: { RoomName: 'x' } }), 100002, 'RoomInfo.RoomId');
    failed(await srv('update_room_info', { RoomInfo: { RoomId: 'u-none', RoomName: 'x' } }), 100004);
    assert.deepEqual(await roomInfo('u2'), before);
  });
});

describe('get_room_info', () => {
  it('answers with Response.RoomInfo and counts members', async () => {
    await createRoom('g1');
    await enter(s, 'g1', 'a');
    await enter(s, 'g1', 'b');
    const r = await srv('get_room_info', { RoomId: 'g1' });
    ok(r);
    assert.deepEqual(Object.keys(r.Response), ['RoomInfo']);
    assert.equal(r.Response.RoomInfo.MemberCount, 2);
    failed(await srv('get_room_info', { RoomId: 'g-none' }), 100004);
    failed(await srv('get_room_info', {}), 100002, 'RoomId');
  });
});

describe('get_room_member_list', () => {
  it('pages with Count and Next until Next is empty', async () => {
    await createRoom('m1');
    const ids = ['u01', 'u02', 'u03', 'u04', 'u05', 'u06', 'u07'];
    for (const id of [...ids].reverse()) await enter(s, 'm1', id);
    const seen: string[] = [];
    let next = '';
    const pages: number[] = [];
    do {
      const r = await srv('get_room_member_list', { RoomId: 'm1', Count: 3, Next: next });
      ok(r);
      assert.deepEqual(Object.keys(r.Response).sort(), ['MemberList', 'Next']);
      pages.push(r.Response.MemberList.length);
      seen.push(...r.Response.MemberList.map((m: any) => m.Member_Account));
      next = r.Response.Next;
    } while (next !== '');
    assert.deepEqual(pages, [3, 3, 1]);
    assert.deepEqual(seen, ids);
  });

  it('lists members in the documented shape, the owner as Owner', async () => {
    await createRoom('m2', { Owner_Account: 'boss' });
    await enter(s, 'm2', 'boss');
    await enter(s, 'm2', 'guest');
    const list = await members('m2');
    assert.deepEqual(list, [
      { Member_Account: 'boss', NameCard: '', Role: 'Owner', Marks: [], CustomInfo: '' },
      { Member_Account: 'guest', NameCard: '', Role: 'Member', Marks: [], CustomInfo: '' },
    ]);
  });

  it('returns 50 by default and at most 100 a page', async () => {
    await createRoom('m3', { MaxMemberCount: 1000 });
    for (let i = 0; i < 105; i++) await enter(s, 'm3', `user${String(i).padStart(3, '0')}`);
    const byDefault = await srv('get_room_member_list', { RoomId: 'm3' });
    assert.equal(byDefault.Response.MemberList.length, 50);
    assert.equal(byDefault.Response.Next, 'user049');
    const big = await srv('get_room_member_list', { RoomId: 'm3', Count: 1000 });
    assert.equal(big.Response.MemberList.length, 100);
    const rest = await srv('get_room_member_list', { RoomId: 'm3', Count: 1000, Next: big.Response.Next });
    assert.equal(rest.Response.MemberList.length, 5);
    assert.equal(rest.Response.Next, '');
  });

  it('refuses bad input', async () => {
    failed(await srv('get_room_member_list', { RoomId: 'm-none' }), 100004);
    failed(await srv('get_room_member_list', { RoomId: 'm1', Count: '3' }), 100002, 'Count');
    failed(await srv('get_room_member_list', { RoomId: 'm1', Next: 3 }), 100002, 'Next');
  });
});

describe('update_room_member_info', () => {
  it('sets NameCard, CustomInfo and the Admin/Member role', async () => {
    await createRoom('i1');
    await enter(s, 'i1', 'user4');
    const r = await srv('update_room_member_info', {
      RoomId: 'i1',
      MemberInfo: { Member_Account: 'user4', NameCard: 'jack', Role: 'Admin', CustomInfo: 'custom info' },
    });
    ok(r);
    assert.equal(r.Response, undefined);
    assert.deepEqual(await members('i1'), [
      { Member_Account: 'user4', NameCard: 'jack', Role: 'Admin', Marks: [], CustomInfo: 'custom info' },
    ]);
    ok(await srv('update_room_member_info', { RoomId: 'i1', MemberInfo: { Member_Account: 'user4', Role: 'Member' } }));
    assert.deepEqual(await members('i1'), [
      { Member_Account: 'user4', NameCard: 'jack', Role: 'Member', Marks: [], CustomInfo: 'custom info' },
    ]);
  });

  it('keeps the Admin role when the member leaves and comes back', async () => {
    await createRoom('i2');
    await enter(s, 'i2', 'helper');
    ok(await srv('update_room_member_info', { RoomId: 'i2', MemberInfo: { Member_Account: 'helper', Role: 'Admin' } }));
    ok(await srv('kick_user_out', { RoomId: 'i2', MemberList_Account: ['helper'], Reason: 'bye' }));
    await enter(s, 'i2', 'helper');
    assert.equal((await members('i2'))[0].Role, 'Admin');
  });

  it('refuses bad input and changes nothing', async () => {
    await createRoom('i3', { Owner_Account: 'own' });
    await enter(s, 'i3', 'own');
    await enter(s, 'i3', 'm');
    const before = await members('i3');
    const bad: [unknown, number, string?][] = [
      [{ Member_Account: 'm', NameCard: 'n'.repeat(33) }, 100002, 'MemberInfo.NameCard'],
      [{ Member_Account: 'm', NameCard: '名'.repeat(11) }, 100002, 'MemberInfo.NameCard'], // 33 bytes
      [{ Member_Account: 'm', CustomInfo: 'c'.repeat(61) }, 100002, 'MemberInfo.CustomInfo'],
      [{ Member_Account: 'm', CustomInfo: 'é'.repeat(31) }, 100002, 'MemberInfo.CustomInfo'], // 62 bytes
      [{ Member_Account: 'm', Role: 'Owner' }, 100002, 'MemberInfo.Role'],
      [{ Member_Account: 'own', Role: 'Member' }, 100002, 'MemberInfo.Role'], // the owner's role is not set here
      [{ NameCard: 'x' }, 100002, 'MemberInfo.Member_Account'],
      [{ Member_Account: 'ghost', NameCard: 'x' }, 100005],
    ];
    for (const [info, code, field] of bad) {
      failed(await srv('update_room_member_info', { RoomId: 'i3', MemberInfo: info }), code, field);
    }
    failed(await srv('update_room_member_info', { RoomId: 'i-none', MemberInfo: { Member_Account: 'm', NameCard: 'x' } }), 100004);
    assert.deepEqual(await members('i3'), before);
    ok(await srv('update_room_member_info', { RoomId: 'i3', MemberInfo: { Member_Account: 'm', NameCard: '名'.repeat(10), CustomInfo: 'é'.repeat(30) } }));
  });
});

describe('change_room_owner', () => {
  it('hands the room to a member', async () => {
    await createRoom('o1', { Owner_Account: 'user2' });
    await enter(s, 'o1', 'user2');
    await enter(s, 'o1', 'user4');
    ok(await srv('update_room_member_info', { RoomId: 'o1', MemberInfo: { Member_Account: 'user4', Role: 'Admin' } }));
    const r = await srv('change_room_owner', { RoomId: 'o1', From_Account: 'user2', NewOwner_Account: 'user4' });
    ok(r);
    assert.equal(r.Response, undefined);
    assert.equal((await roomInfo('o1')).Owner_Account, 'user4');
    const roles = Object.fromEntries((await members('o1')).map((m) => [m.Member_Account, m.Role]));
    assert.deepEqual(roles, { user2: 'Member', user4: 'Owner' });
  });

  it('refuses a wrong From_Account, a non-member and an unknown room', async () => {
    await createRoom('o2', { Owner_Account: 'own' });
    await enter(s, 'o2', 'own');
    await enter(s, 'o2', 'm');
    failed(await srv('change_room_owner', { RoomId: 'o2', From_Account: 'm', NewOwner_Account: 'm' }), 100002, 'From_Account');
    failed(await srv('change_room_owner', { RoomId: 'o2', From_Account: 'own', NewOwner_Account: 'ghost' }), 100005);
    failed(await srv('change_room_owner', { RoomId: 'o-none', From_Account: 'own', NewOwner_Account: 'm' }), 100004);
    failed(await srv('change_room_owner', { RoomId: 'o2', From_Account: 'own' }), 100002, 'NewOwner_Account');
    assert.equal((await roomInfo('o2')).Owner_Account, 'own');
  });
});

describe('mark_room_member', () => {
  const marksOf = async (roomId: string) =>
    Object.fromEntries((await members(roomId)).map((m) => [m.Member_Account, m.Marks]));

  it('sets and deletes marks', async () => {
    await createRoom('k1');
    await enter(s, 'k1', 'user2');
    await enter(s, 'k1', 'user3');
    const r = await srv('mark_room_member', { RoomId: 'k1', CommandType: 1, MemberList: [{ Member_Account: 'user2', Marks: [1003, 1000, 1002] }] });
    ok(r);
    assert.equal(r.Response, undefined);
    assert.deepEqual(await marksOf('k1'), { user2: [1000, 1002, 1003], user3: [] });
    ok(await srv('mark_room_member', { RoomId: 'k1', CommandType: 1, MemberList: [{ Member_Account: 'user2', Marks: [1004] }, { Member_Account: 'user3', Marks: [1000] }] }));
    assert.deepEqual(await marksOf('k1'), { user2: [1000, 1002, 1003, 1004], user3: [1000] });
    ok(await srv('mark_room_member', { RoomId: 'k1', CommandType: 2, MemberList: [{ Member_Account: 'user2', Marks: [1000, 1003] }] }));
    // CommandType is a String in the reference's table and an Integer in its sample: both work.
    ok(await srv('mark_room_member', { RoomId: 'k1', CommandType: '2', MemberList: [{ Member_Account: 'user3', Marks: [1000] }] }));
    assert.deepEqual(await marksOf('k1'), { user2: [1002, 1004], user3: [] });
    ok(await srv('mark_room_member', { RoomId: 'k1', CommandType: 1, MemberList: [{ Member_Account: 'user3', Marks: [2 ** 32 - 1] }] }));
    assert.deepEqual(await marksOf('k1'), { user2: [1002, 1004], user3: [4294967295] });
  });

  it('keeps marks while the member is present only', async () => {
    await createRoom('k3');
    await enter(s, 'k3', 'visitor');
    ok(await srv('mark_room_member', { RoomId: 'k3', CommandType: 1, MemberList: [{ Member_Account: 'visitor', Marks: [1000] }] }));
    ok(await srv('kick_user_out', { RoomId: 'k3', MemberList_Account: ['visitor'], Reason: '' }));
    await enter(s, 'k3', 'visitor');
    assert.deepEqual((await members('k3'))[0].Marks, []);
  });

  it('enforces the limits and changes nothing when it refuses', async () => {
    await createRoom('k2', { MaxMemberCount: 100 });
    const ids = Array.from({ length: 11 }, (_, i) => `mk${i}`);
    for (const id of ids) await enter(s, 'k2', id);
    const set = (list: unknown) => srv('mark_room_member', { RoomId: 'k2', CommandType: 1, MemberList: list });
    // 10 distinct marks in the room is the most.
    for (let i = 0; i < 10; i++) ok(await set([{ Member_Account: ids[i], Marks: [2000 + i] }]));
    const before = await marksOf('k2');
    failed(await set([{ Member_Account: ids[10], Marks: [2010] }]), 100009); // over the room's distinct marks
    ok(await set([{ Member_Account: ids[10], Marks: [2009] }])); // an existing mark is not a new one
    const afterOk = await marksOf('k2');
    failed(await set(ids.map((id) => ({ Member_Account: id, Marks: [2000] }))), 100002, 'MemberList'); // 11 members
    failed(await set([{ Member_Account: ids[0], Marks: [2000, 2001, 2002, 2003] }]), 100002, 'Marks'); // 4 marks
    failed(await set([{ Member_Account: ids[0], Marks: [999] }]), 100002, 'Marks');
    failed(await set([{ Member_Account: ids[0], Marks: [] }]), 100002, 'Marks');
    failed(await set([{ Member_Account: ids[0], Marks: [1000.5] }]), 100002, 'MemberList.0.Marks.0');
    // at most 2^32-1, answered back as a JSON integer (1e308 is not one a typed client reads)
    for (const mark of [2 ** 32, 1e20, 1e308]) failed(await set([{ Member_Account: ids[0], Marks: [mark] }]), 100002, 'MemberList.0.Marks.0');
    failed(await set([]), 100002, 'MemberList');
    failed(await set([{ Member_Account: ids[0], Marks: [2001] }, { Member_Account: ids[0], Marks: [2002] }]), 100002, 'MemberList');
    // All or nothing: a non-member in the list leaves the others unmarked too.
    failed(await set([{ Member_Account: ids[0], Marks: [2005] }, { Member_Account: 'ghost', Marks: [2005] }]), 100005);
    failed(await srv('mark_room_member', { RoomId: 'k2', CommandType: 3, MemberList: [{ Member_Account: ids[0], Marks: [2000] }] }), 100002, 'CommandType');
    failed(await srv('mark_room_member', { RoomId: 'k-none', CommandType: 1, MemberList: [{ Member_Account: ids[0], Marks: [2000] }] }), 100004);
    assert.deepEqual(await marksOf('k2'), afterOk);
    assert.notDeepEqual(before, afterOk);
  });
});

describe('ban_room_member / unban_room_member', () => {
  it('removes the member, frees their seat and refuses re-entry until the ban runs out', async () => {
    await createRoom('b1', { IsSeatEnabled: true, MaxSeatCount: 2 });
    await enter(s, 'b1', 'user1');
    await enter(s, 'b1', 'user2');
    ok(await mic('pick_user_on_seat', { RoomId: 'b1', Member_Account: 'user1', Index: 1 }));
    const r = await srv('ban_room_member', { RoomId: 'b1', MemberList_Account: ['user1'], Reason: 'spam', Duration: 3600 });
    ok(r);
    assert.equal(r.Response, undefined);
    assert.deepEqual(await memberIds('b1'), ['user2']);
    const seats = (await mic('get_seat_list', { RoomId: 'b1' })).Response.SeatList;
    assert.equal(seats[1].Member_Account, undefined);
    await assert.rejects(enter(s, 'b1', 'user1'), isDenied);
    const user1 = { kind: 'user', userId: 'user1' } as const;
    const enterB1 = { type: 'enterRoom', roomId: 'b1', clientIp: '127.0.0.1', connId: '' } as const;
    await assert.rejects(engineAt(3599_000).execute(APP.sdkAppId, user1, enterB1), isDenied);
    // Once Duration has passed the user may come back.
    await engineAt(3601_000).execute(APP.sdkAppId, user1, enterB1);
    assert.deepEqual(await memberIds('b1'), ['user1', 'user2']);
  });

  it('bans users who are not in the room (pre-emptive ban) and lifts bans with unban', async () => {
    await createRoom('b2');
    ok(await srv('ban_room_member', { RoomId: 'b2', MemberList_Account: ['later1', 'later2'], Reason: '', Duration: 60 }));
    await assert.rejects(enter(s, 'b2', 'later1'), isDenied);
    const r = await srv('unban_room_member', { RoomId: 'b2', MemberList_Account: ['later1', 'never-banned'] });
    ok(r);
    assert.equal(r.Response, undefined);
    await enter(s, 'b2', 'later1');
    await assert.rejects(enter(s, 'b2', 'later2'), isDenied);
    assert.deepEqual((await banned('b2')).BannedAccountList.map((b: any) => b.Member_Account), ['later2']);
  });

  it('a second ban replaces the first, its Duration counting from now', async () => {
    await createRoom('b5');
    const t0 = Math.floor(Date.now() / 1000);
    ok(await srv('ban_room_member', { RoomId: 'b5', MemberList_Account: ['again'], Reason: '', Duration: 3600 }));
    ok(await srv('ban_room_member', { RoomId: 'b5', MemberList_Account: ['again'], Reason: '', Duration: 60 }));
    const list = (await banned('b5')).BannedAccountList;
    assert.equal(list.length, 1);
    assert.ok(Math.abs(list[0].BannedUntil - (t0 + 60)) <= 2);
  });

  it('unban lifts a ban made through another dialect too', async () => {
    await createRoom('b3');
    await asAdmin(s, { type: 'banUsers', roomId: 'b3', userIds: ['kicked'], durationSec: null, reason: 'polyv kick', origin: 'polyv' });
    await assert.rejects(enter(s, 'b3', 'kicked'), isDenied);
    ok(await srv('unban_room_member', { RoomId: 'b3', MemberList_Account: ['kicked'] }));
    await enter(s, 'b3', 'kicked');
  });

  it('refuses bad input without removing or banning anyone', async () => {
    await createRoom('b4');
    await enter(s, 'b4', 'stay');
    const ban = (body: Record<string, unknown>) =>
      srv('ban_room_member', { RoomId: 'b4', MemberList_Account: ['stay'], Reason: 'r', Duration: 60, ...body });
    const many = Array.from({ length: 21 }, (_, i) => `x${i}`);
    failed(await ban({ MemberList_Account: [...many.slice(1), 'stay'] }), 100002, 'MemberList_Account');
    failed(await ban({ MemberList_Account: [] }), 100002, 'MemberList_Account');
    failed(await ban({ MemberList_Account: [''] }), 100002, 'MemberList_Account');
    failed(await ban({ MemberList_Account: 'stay' }), 100002, 'MemberList_Account');
    failed(await ban({ Reason: 'r'.repeat(1001) }), 100002, 'Reason');
    failed(await ban({ Reason: '理'.repeat(334) }), 100002, 'Reason'); // 1002 bytes
    failed(await ban({ Reason: undefined }), 100002, 'Reason');
    failed(await ban({ Duration: 0 }), 100002, 'Duration');
    failed(await ban({ Duration: -60 }), 100002, 'Duration');
    failed(await ban({ Duration: 1.5 }), 100002, 'Duration');
    failed(await ban({ Duration: '60' }), 100002, 'Duration');
    failed(await ban({ Duration: 4294967296 }), 100002, 'Duration');
    failed(await ban({ Duration: undefined }), 100002, 'Duration');
    failed(await ban({ RoomId: 'b-none' }), 100004);
    // An empty RoomId must not reach the core's app-wide scope.
    failed(await ban({ RoomId: '' }), 100002, 'RoomId');
    failed(await srv('unban_room_member', { RoomId: '', MemberList_Account: ['stay'] }), 100002, 'RoomId');
    failed(await srv('get_banned_member_list', { RoomId: '' }), 100002, 'RoomId');
    assert.deepEqual(await memberIds('b4'), ['stay']);
    assert.deepEqual((await banned('b4', { IncludeAllOrigins: true })).BannedAccountList, []);
    ok(await ban({ MemberList_Account: many.slice(1), Reason: 'r'.repeat(1000), Duration: 4294967295 })); // 20 users: the most
    assert.equal((await banned('b4')).BannedAccountList.length, 20);

    failed(await srv('unban_room_member', { RoomId: 'b4', MemberList_Account: many }), 100002, 'MemberList_Account');
    failed(await srv('unban_room_member', { RoomId: 'b4', MemberList_Account: [] }), 100002, 'MemberList_Account');
    failed(await srv('unban_room_member', { RoomId: 'b-none', MemberList_Account: ['x1'] }), 100004);
    assert.equal((await banned('b4')).BannedAccountList.length, 20);
  });
});

describe('get_banned_member_list', () => {
  it('pages with Limit and Offset (or Next) and reports BannedUntil', async () => {
    await createRoom('l1');
    const t0 = Math.floor(Date.now() / 1000);
    ok(await srv('ban_room_member', { RoomId: 'l1', MemberList_Account: ['p1', 'p2'], Reason: '', Duration: 600 }));
    ok(await srv('ban_room_member', { RoomId: 'l1', MemberList_Account: ['p3', 'p4', 'p5'], Reason: '', Duration: 60 }));
    const first = await banned('l1', { Limit: 2, Offset: 0 });
    assert.deepEqual(Object.keys(first).sort(), ['BannedAccountList', 'NextOffset']);
    assert.deepEqual(first.BannedAccountList.map((b: any) => b.Member_Account), ['p1', 'p2']);
    assert.equal(first.NextOffset, 2);
    for (const b of first.BannedAccountList) {
      assert.deepEqual(Object.keys(b).sort(), ['BannedUntil', 'Member_Account']);
      assert.ok(Math.abs(b.BannedUntil - (t0 + 600)) <= 2, `BannedUntil ${b.BannedUntil}`);
    }
    const second = await banned('l1', { Limit: 2, Offset: first.NextOffset });
    assert.deepEqual(second.BannedAccountList.map((b: any) => b.Member_Account), ['p3', 'p4']);
    assert.equal(second.NextOffset, 4);
    assert.ok(Math.abs(second.BannedAccountList[0].BannedUntil - (t0 + 60)) <= 2);
    const last = await banned('l1', { Limit: 2, Offset: 4 });
    assert.deepEqual(last.BannedAccountList.map((b: any) => b.Member_Account), ['p5']);
    assert.equal(last.NextOffset, 0);
    // The reference's table names the cursor `Next` (a string): the same pages.
    assert.deepEqual(await banned('l1', { Limit: 2, Next: '2' }), second);
    assert.deepEqual(await banned('l1', { Limit: 2, Next: 2 }), second);
    assert.deepEqual(await banned('l1', { Limit: 2, Next: '' }), first);
    assert.deepEqual(await banned('l1', { Limit: 2, Offset: 2, Next: '4' }), second); // Offset wins
    const all = await banned('l1');
    assert.equal(all.BannedAccountList.length, 5);
    assert.equal(all.NextOffset, 0);
  });

  it('lists only its own bans unless IncludeAllOrigins, and never expired ones', async () => {
    await createRoom('l2');
    const admin = { kind: 'admin' as const, userId: 'administrator' };
    ok(await srv('ban_room_member', { RoomId: 'l2', MemberList_Account: ['t1'], Reason: '', Duration: 60 }));
    await asAdmin(s, { type: 'banUsers', roomId: 'l2', userIds: ['p1'], durationSec: null, reason: '', origin: 'polyv' });
    // Made two minutes ago for one minute: already over.
    await engineAt(-120_000).execute(APP.sdkAppId, admin, { type: 'banUsers', roomId: 'l2', userIds: ['old'], durationSec: 60, reason: '', origin: 'tencent' });
    await enter(s, 'l2', 'old');
    assert.deepEqual((await banned('l2')).BannedAccountList.map((b: any) => b.Member_Account), ['t1']);
    const all = (await banned('l2', { IncludeAllOrigins: true })).BannedAccountList;
    assert.deepEqual(all.map((b: any) => b.Member_Account), ['t1', 'p1']);
    assert.equal(all[1].BannedUntil, 0); // until lifted
  });

  it('refuses bad paging and unknown rooms', async () => {
    failed(await srv('get_banned_member_list', { RoomId: 'l1', Offset: -1 }), 100002, 'Offset');
    failed(await srv('get_banned_member_list', { RoomId: 'l1', Offset: 1e20 }), 100002, 'Offset');
    failed(await srv('get_banned_member_list', { RoomId: 'l1', Next: 'abc' }), 100002, 'Next');
    failed(await srv('get_banned_member_list', { RoomId: 'l1', Limit: 'ten' }), 100002, 'Limit');
    failed(await srv('get_banned_member_list', { RoomId: 'l-none' }), 100004);
  });
});

describe('kick_user_out', () => {
  it('removes members, who may come back', async () => {
    await createRoom('x1', { IsSeatEnabled: true, MaxSeatCount: 2 });
    for (const id of ['user1', 'user2', 'user3']) await enter(s, 'x1', id);
    ok(await mic('pick_user_on_seat', { RoomId: 'x1', Member_Account: 'user1', Index: 0 }));
    const told: any[] = [];
    const stop = s.server.bus.subscribe((e) => {
      if (e.roomId === 'x1' && e.type === 'kickedOutOfRoom') told.push(e);
    });
    const r = await srv('kick_user_out', { RoomId: 'x1', MemberList_Account: ['user1', 'user2'], Reason: 'you are kicked because of irregularities' });
    stop();
    ok(r);
    assert.equal(r.Response, undefined);
    assert.deepEqual(await memberIds('x1'), ['user3']);
    assert.equal((await mic('get_seat_list', { RoomId: 'x1' })).Response.SeatList[0].Member_Account, undefined);
    assert.deepEqual(told.map((e) => [e.to, e.data.reason]), [
      [['user1'], 'you are kicked because of irregularities'],
      [['user2'], 'you are kicked because of irregularities'],
    ]);
    await enter(s, 'x1', 'user1'); // a kick is not a ban
    assert.deepEqual((await banned('x1', { IncludeAllOrigins: true })).BannedAccountList, []);
  });

  it('is all or nothing: one non-member and nobody is removed', async () => {
    await createRoom('x2');
    for (const id of ['a', 'b']) await enter(s, 'x2', id);
    failed(await srv('kick_user_out', { RoomId: 'x2', MemberList_Account: ['a', 'ghost', 'b'], Reason: 'r' }), 100005);
    assert.deepEqual(await memberIds('x2'), ['a', 'b']);
    const many = Array.from({ length: 21 }, (_, i) => `k${i}`);
    failed(await srv('kick_user_out', { RoomId: 'x2', MemberList_Account: ['a', ...many.slice(1)], Reason: 'r' }), 100002, 'MemberList_Account');
    failed(await srv('kick_user_out', { RoomId: 'x2', MemberList_Account: [], Reason: 'r' }), 100002, 'MemberList_Account');
    failed(await srv('kick_user_out', { RoomId: 'x2', MemberList_Account: ['a'], Reason: 'r'.repeat(1001) }), 100002, 'Reason');
    failed(await srv('kick_user_out', { RoomId: 'x2', MemberList_Account: ['a'] }), 100002, 'Reason');
    failed(await srv('kick_user_out', { RoomId: 'x-none', MemberList_Account: ['a'], Reason: 'r' }), 100004);
    assert.deepEqual(await memberIds('x2'), ['a', 'b']);
  });
});
