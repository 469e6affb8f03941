// Polyv kicks over real HTTP: kick-users (channel and app-wide), list-kicked, del-kicked,
// unkick-users, forbid/list, IP denies, and agreement with the Tencent dialect.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RoomEvent } from '../src/core/events.js';
import { APP, asAdmin, asUser, enter, startTestServer, type TestServer } from './support/harness.js';
import { assertError, createRoom, ok, polyvClient } from './support/polyv.js';

let s: TestServer;
let polyv: ReturnType<typeof polyvClient>;
const events: RoomEvent[] = [];

const KICK = '/live/v4/chat/channel/forbid/kick-users';
const UNKICK = '/live/v4/chat/channel/forbid/unkick-users';
const KICK_ALL = '/live/v4/chat/forbid/kick-users';
const UNKICK_ALL = '/live/v4/chat/forbid/unkick-users';
const LIST = '/live/v3/channel/chat/list-kicked';
const DEL = '/live/v3/channel/chat/del-kicked';
const FORBID_LIST = '/live/v4/chat/forbid/list';

before(async () => {
  s = await startTestServer();
  polyv = polyvClient(s);
  s.server.bus.subscribe((e) => events.push(e));
});
after(() => s.close());

/** Enters through the core with a full profile, as a realtime client would. */
function enterAs(roomId: string, userId: string, clientIp: string, extra: { nick?: string; avatar?: string; userType?: string; connId?: string } = {}) {
  return asUser(s, userId, { type: 'enterRoom', roomId, clientIp, connId: extra.connId ?? `conn-${userId}`, ...extra });
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { kind?: string }).kind ?? String(e);
  }
  return 'entered';
}

async function tencentMembers(roomId: string): Promise<string[]> {
  const r = await s.tencent('room_engine_http_srv/get_room_member_list', { RoomId: roomId });
  assert.equal(r.ErrorCode, 0, r.ErrorInfo);
  return r.Response.MemberList.map((m: { Member_Account: string }) => m.Member_Account).sort();
}

test('kick by userId: removed at once, told, listed, refused on re-entry until del-kicked', async () => {
  await createRoom(s, '329298');
  await enterAs('329298', '1562134139532', '61.144.144.182', { nick: '123', avatar: '//livestatic.videocc.net/assets/wimages/missing_face.png', userType: 'student', connId: 'dvaQMR0iTWv2TYumAABO' });
  await enterAs('329298', 'stays', '61.144.144.183');
  const before = events.length;

  assert.equal(ok(await polyv(KICK, { channelId: '329298' }, { json: { viewerIds: ['1562134139532'], nickNames: ['123'] } })), 'SUCCESS');

  // gone, as the Tencent dialect sees it too; the member's client was told
  assert.deepEqual(await tencentMembers('329298'), ['stays']);
  const kicked = events.slice(before).find((e) => e.type === 'kickedOutOfRoom');
  assert.deepEqual(kicked?.to, ['1562134139532']);
  assert.equal(kicked?.data.connId, 'dvaQMR0iTWv2TYumAABO');

  // list-kicked: the seed page's shape, from the member as they were
  const entry = {
    banned: false,
    channelId: '329298',
    clientIp: '61.144.144.182',
    nick: '123',
    pic: '//livestatic.videocc.net/assets/wimages/missing_face.png',
    roomId: '329298',
    type: 'userId',
    uid: 'dvaQMR0iTWv2TYumAABO',
    userId: '1562134139532',
    userType: 'student',
  };
  for (const method of ['GET', 'POST'] as const) {
    const data = ok(await polyv(LIST, { channelId: '329298' }, { method }));
    assert.deepEqual(data, [entry]);
    assert.deepEqual(Object.keys(data[0]), Object.keys(entry)); // the documented field order
  }

  // re-entry refused, with a clear reason
  assert.equal(await refusal(enterAs('329298', '1562134139532', '10.0.0.9')), 'DeniedUser');

  // del-kicked answers the entries it removed, then the user may come back
  assert.deepEqual(ok(await polyv(DEL, { roomId: '329298', value: '1562134139532', type: 'userId' })), [entry]);
  assert.deepEqual(ok(await polyv(LIST, { channelId: '329298' })), []);
  assert.deepEqual(ok(await polyv(DEL, { roomId: '329298', value: '1562134139532', type: 'userId' })), []);
  await enterAs('329298', '1562134139532', '61.144.144.182');
  assert.deepEqual(await tencentMembers('329298'), ['1562134139532', 'stays']);
});

test('kicking someone who is not in the room keeps the given nickName; kicking twice keeps one entry', async () => {
  await createRoom(s, 'absent');
  // a viewer listed twice is kicked once, and the next viewer keeps their own nickName
  ok(await polyv(KICK, { channelId: 'absent' }, { json: { viewerIds: ['ghost', 'ghost', 'ghost2'], nickNames: ['Ghost', 'Ghost', 'Ghost 2'] } }));
  ok(await polyv(KICK, { channelId: 'absent' }, { json: { viewerIds: ['ghost'], nickNames: ['Ghost'] } }));
  // Refused by the core (a NUL): named as Polyv names the parameter.
  assertError(await polyv(KICK, { channelId: 'absent' }, { json: { viewerIds: ['ghost'], nickNames: ['Gh\u0000ost'] } }), 400, 'param length is incorrect: nickNames');
  const list = ok(await polyv(LIST, { channelId: 'absent' }));
  assert.deepEqual(
    list.map((e: { userId: string; nick: string; clientIp: string; uid: string }) => [e.userId, e.nick, e.clientIp, e.uid]).sort(),
    [['ghost', 'Ghost', '', ''], ['ghost2', 'Ghost 2', '', '']],
  );
  assert.equal(await refusal(enterAs('absent', 'ghost', '10.0.0.1')), 'DeniedUser');
  // v4 unkick lifts the channel kick
  assert.equal(ok(await polyv(UNKICK, { channelId: 'absent' }, { json: { viewerIds: ['ghost', 'ghost2'], nickNames: ['Ghost', 'Ghost 2'] } })), 'SUCCESS');
  assert.deepEqual(ok(await polyv(LIST, { channelId: 'absent' })), []);
  await enterAs('absent', 'ghost', '10.0.0.1');
});

test('an IP deny refuses every user from that IP, until del-kicked type ip', async () => {
  await createRoom(s, 'iproom');
  await enterAs('iproom', 'ip-a', '127.0.0.5', { nick: 'A', userType: 'viewer', connId: 'ca' });
  await enterAs('iproom', 'ip-b', '127.0.0.5', { nick: 'B', connId: 'cb' });
  await enterAs('iproom', 'ip-c', '127.0.0.6', { nick: 'C' });
  // IP kicks come from a moderator's socket (the realtime kickUser op, type ip): through the core
  await asAdmin(s, { type: 'banIpOf', roomId: 'iproom', userId: 'ip-a', scope: 'room', reason: '', origin: 'polyv' });

  assert.deepEqual(await tencentMembers('iproom'), ['ip-c']);
  const entry = {
    banned: false,
    channelId: 'iproom',
    clientIp: '127.0.0.5',
    nick: 'A',
    pic: '//livestatic.videocc.net/assets/wimages/missing_face.png', // Polyv's default avatar
    roomId: 'iproom',
    type: 'ip',
    uid: 'ca',
    userId: 'ip-a',
    userType: 'viewer',
  };
  assert.deepEqual(ok(await polyv(LIST, { channelId: 'iproom' })), [entry]);
  assert.equal(await refusal(enterAs('iproom', 'ip-a', '127.0.0.5')), 'DeniedIp');
  assert.equal(await refusal(enterAs('iproom', 'someone-new', '127.0.0.5')), 'DeniedIp');
  await enterAs('iproom', 'ip-a-elsewhere', '127.0.0.7');

  // del-kicked by userId does not lift an IP entry; by ip does
  assert.deepEqual(ok(await polyv(DEL, { roomId: 'iproom', value: 'ip-a', type: 'userId' })), []);
  assert.deepEqual(ok(await polyv(DEL, { roomId: 'iproom', value: '127.0.0.5', type: 'ip' })), [entry]);
  await enterAs('iproom', 'ip-a', '127.0.0.5');
  await enterAs('iproom', 'ip-b', '127.0.0.5');
  assert.deepEqual(await tencentMembers('iproom'), ['ip-a', 'ip-a-elsewhere', 'ip-b', 'ip-c']);
});

test('app-wide kick: removed from every room of the app, refused everywhere, listed on forbid/list', async () => {
  await createRoom(s, 'wide-1');
  await createRoom(s, 'wide-2');
  // the nick shown is the member's own when they were present (nickNames serves absent users)
  await enterAs('wide-1', 'roamer', '127.0.0.8', { nick: 'Roamer' });
  await enterAs('wide-2', 'roamer', '127.0.0.8', { nick: 'Roamer' });
  await enter(s, 'wide-2', 'bystander');

  const t0 = Date.now();
  assert.equal(ok(await polyv(KICK_ALL, {}, { json: { viewerIds: ['roamer'], nickNames: ['Given'] } })), 'SUCCESS');
  assert.deepEqual(await tencentMembers('wide-1'), []);
  assert.deepEqual(await tencentMembers('wide-2'), ['bystander']);
  await createRoom(s, 'wide-3');
  for (const room of ['wide-1', 'wide-2', 'wide-3']) assert.equal(await refusal(enterAs(room, 'roamer', '127.0.0.8')), 'DeniedUser');

  const forbid = ok(await polyv(FORBID_LIST, {}, { method: 'GET' }));
  assert.equal(forbid.totalItems, 1);
  assert.deepEqual({ ...forbid, contents: undefined }, { pageNumber: 1, pageSize: 10, totalItems: 1, contents: undefined });
  const [row] = forbid.contents;
  assert.deepEqual({ ...row, operationTime: 0 }, { nickName: 'Roamer', viewerId: 'roamer', banned: 'N', kicked: 'Y', operationTime: 0 });
  assert.ok(row.operationTime >= t0 - 1000 && row.operationTime <= Date.now() + 1000, 'operationTime is a 13-digit ms time');

  // channel lists and channel deletes are per channel: the app-wide entry is not theirs
  assert.deepEqual(ok(await polyv(LIST, { channelId: 'wide-1' })), []);
  assert.deepEqual(ok(await polyv(DEL, { roomId: 'wide-1', value: 'roamer', type: 'userId' })), []);
  assert.equal(await refusal(enterAs('wide-1', 'roamer', '127.0.0.8')), 'DeniedUser');

  assert.equal(ok(await polyv(UNKICK_ALL, {}, { json: { viewerIds: ['roamer'], nickNames: ['Roamer'] } })), 'SUCCESS');
  assert.deepEqual(ok(await polyv(FORBID_LIST)).contents, []);
  for (const room of ['wide-1', 'wide-2', 'wide-3']) await enterAs(room, 'roamer', '127.0.0.8');
});

test('forbid/list: filters, paging, chat bans, parameter errors', async () => {
  for (const [id, nick] of [['f1', 'Fa'], ['f2', 'Fb'], ['f3', 'Fc']]) {
    ok(await polyv(KICK_ALL, {}, { json: { viewerIds: [id], nickNames: [nick] } }));
  }
  ok(await polyv('/live/v3/user/chat/banned-user/update', { viewerIds: JSON.stringify(['f2', 'f4']), banned: 'Y' }));
  const all = ok(await polyv(FORBID_LIST, { pageSize: 10 }));
  assert.equal(all.totalItems, 4);
  type Row = { viewerId: string; kicked: string; banned: string; operationTime: number };
  assert.deepEqual(all.contents.map((r: Row) => `${r.viewerId}:${r.kicked}${r.banned}`).sort(), ['f1:YN', 'f2:YY', 'f3:YN', 'f4:NY']);
  // latest operation first (ties by viewerId): f2 and f4 were chat-banned last
  const order = [...all.contents].sort((a: Row, b: Row) => b.operationTime - a.operationTime || (a.viewerId < b.viewerId ? -1 : 1));
  assert.deepEqual(all.contents, order);
  assert.deepEqual(all.contents.slice(0, 2).map((r: Row) => r.viewerId).sort(), ['f2', 'f4']);
  assert.deepEqual(ok(await polyv(FORBID_LIST, { pageNumber: 2, pageSize: 3 })).contents, all.contents.slice(3));
  assert.deepEqual(ok(await polyv(FORBID_LIST, { pageNumber: 3, pageSize: 3 })).contents, []);
  assert.deepEqual(ok(await polyv(FORBID_LIST, { viewerId: 'f3' })).contents.map((r: { nickName: string }) => r.nickName), ['Fc']);
  assert.deepEqual(ok(await polyv(FORBID_LIST, { nickName: 'Fa' })).contents.map((r: { viewerId: string }) => r.viewerId), ['f1']);
  assertError(await polyv(FORBID_LIST, { pageSize: 1001 }), 400, 'number range error');
  assertError(await polyv(FORBID_LIST, { pageNumber: 0 }), 400, 'number range error');
  assertError(await polyv(FORBID_LIST, { pageNumber: 'x' }), 400, 'param is not digit: pageNumber');
  assertError(await polyv(FORBID_LIST, { pageSize: '-1' }), 400, 'param is not digit: pageSize');
  ok(await polyv(UNKICK_ALL, {}, { json: { viewerIds: ['f1', 'f2', 'f3'] } }));
  ok(await polyv('/live/v3/user/chat/banned-user/update', { viewerIds: JSON.stringify(['f2', 'f4']), banned: 'N' }));
  assert.deepEqual(ok(await polyv(FORBID_LIST)).contents, []);
});

test('Tencent bans and Polyv kicks: both dialects agree about who is denied', async () => {
  await createRoom(s, 'both');
  await enter(s, 'both', 'by-tencent', { clientIp: '127.0.0.9' });
  await enter(s, 'both', 'by-polyv', { clientIp: '127.0.0.10' });
  const r = await s.tencent('room_engine_http_srv/ban_room_member', { RoomId: 'both', MemberList_Account: ['by-tencent'], Reason: 'spam', Duration: 3600 });
  assert.equal(r.ErrorCode, 0, r.ErrorInfo);
  ok(await polyv(KICK, { channelId: 'both' }, { json: { viewerIds: ['by-polyv'], nickNames: ['P'] } }));
  assert.deepEqual(await tencentMembers('both'), []);

  const polyvList = async (all: boolean) =>
    ok(await polyv(LIST, { channelId: 'both', ...(all ? { includeAllOrigins: 'Y' } : {}) })).map((e: { userId: string }) => e.userId).sort();
  const tencentList = async (all: boolean) => {
    const t = await s.tencent('room_engine_http_srv/get_banned_member_list', { RoomId: 'both', IncludeAllOrigins: all });
    assert.equal(t.ErrorCode, 0, t.ErrorInfo);
    return t.Response.BannedAccountList.map((b: { Member_Account: string; BannedUntil: number }) => `${b.Member_Account}:${b.BannedUntil === 0 ? 'lifted-only' : 'timed'}`).sort();
  };
  // each list shows its own dialect's entries by default, and every entry on request
  assert.deepEqual(await polyvList(false), ['by-polyv']);
  assert.deepEqual(await polyvList(true), ['by-polyv', 'by-tencent']);
  assert.deepEqual(await tencentList(false), ['by-tencent:timed']);
  assert.deepEqual(await tencentList(true), ['by-polyv:lifted-only', 'by-tencent:timed']);

  // lifting works across dialects
  const t = await s.tencent('room_engine_http_srv/unban_room_member', { RoomId: 'both', MemberList_Account: ['by-polyv'] });
  assert.equal(t.ErrorCode, 0, t.ErrorInfo);
  assert.deepEqual(await polyvList(true), ['by-tencent']);
  const removed = ok(await polyv(DEL, { roomId: 'both', value: 'by-tencent', type: 'userId' }));
  assert.deepEqual(removed.map((e: { userId: string; clientIp: string; type: string }) => [e.userId, e.clientIp, e.type]), [['by-tencent', '127.0.0.9', 'userId']]);
  assert.deepEqual(await tencentList(true), []);
  await enter(s, 'both', 'by-tencent');
  await enter(s, 'both', 'by-polyv');
  assert.deepEqual(await tencentMembers('both'), ['by-polyv', 'by-tencent']);
});

test('kick, list and delete errors; a refused kick changes nothing', async () => {
  await createRoom(s, 'errs');
  assertError(await polyv(DEL, { value: 'u', type: 'userId' }), 400, 'param should not be empty: roomId');
  assertError(await polyv(DEL, { roomId: 'errs', type: 'userId' }), 400, 'param should not be empty: value');
  assertError(await polyv(DEL, { roomId: 'errs', value: 'u' }), 400, 'param should not be empty: type');
  assertError(await polyv(DEL, { roomId: 'errs', value: 'u', type: 'nick' }), 400, 'param validate error');
  assertError(await polyv(DEL, { roomId: 'nowhere', value: 'u', type: 'userId' }), 404, 'channel not found.');
  assertError(await polyv(LIST, {}), 400, 'param should not be empty: channelId');
  assertError(await polyv(LIST, { channelId: 'nowhere' }), 404, 'channel not found.');
  assertError(await polyv(LIST, { channelId: 'x'.repeat(49) }), 404, 'channel not found.');
  assertError(await polyv(LIST, { channelId: 'errs', includeAllOrigins: 'yes' }), 400, 'param is not boolean (Y / N)');
  assertError(await polyv(KICK, {}, { json: { viewerIds: ['u'], nickNames: ['U'] } }), 400, 'param should not be empty: channelId');
  assertError(await polyv(KICK, { channelId: 'nowhere' }, { json: { viewerIds: ['u'], nickNames: ['U'] } }), 404, 'channel not found.');
  assertError(await polyv(UNKICK, { channelId: 'nowhere' }, { json: { viewerIds: ['u'] } }), 404, 'channel not found.');

  // 21 viewers in one channel call: over the limit, and nobody is kicked
  await enter(s, 'errs', 'v0');
  const many = Array.from({ length: 21 }, (_, i) => `v${i}`);
  assertError(await polyv(KICK, { channelId: 'errs' }, { json: { viewerIds: many, nickNames: many } }), 400, 'param length is incorrect: viewerIds');
  assertError(await polyv(KICK, { channelId: 'errs' }, { json: { viewerIds: ['x'.repeat(49)], nickNames: ['X'] } }), 400, 'param length is incorrect: viewerIds');
  assert.deepEqual(ok(await polyv(LIST, { channelId: 'errs' })), []);
  assert.deepEqual(await tencentMembers('errs'), ['v0']);
});
