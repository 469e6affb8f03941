// Text no store can keep, over real HTTP: a lone UTF-16 surrogate is a valid JSON escape
// ("x\ud800") but not text, and PostgreSQL refuses it (as it refuses NUL). Every store answers it
// alike, as a bad parameter in the surface's own envelope (Tencent 100002, Polyv 400), and keeps
// nothing. Run on each store (ROSTRUM_TEST_STORE).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminSig, asAdmin, startTestServer, type TestServer } from './support/harness.js';
import { assertError, createRoom, ok as polyvOk, polyvClient } from './support/polyv.js';
import { failed, ok } from './support/tencent.js';

let s: TestServer;
let polyv: ReturnType<typeof polyvClient>;
before(async () => {
  s = await startTestServer();
  polyv = polyvClient(s);
  await createRoom(s, 'c1');
});
after(() => s.close());

const KICK = '/live/v4/chat/channel/forbid/kick-users';
const LIST = '/live/v3/channel/chat/list-kicked';

/** A JSON body as written (the escapes stay escapes: JSON.stringify would write a lone one the same way). */
const tencentRaw = (path: string, raw: string) => s.tencent(`room_engine_http_srv/${path}`, null, { raw });

// A lone high, a lone low, a pair reversed, and a lone high at the very end.
const LONE = ['x\\ud800', '\\udc00x', '\\udc00\\ud800', 'ok\\ud83d'];

test('Tencent create_room: a lone surrogate in RoomName is 100002 naming RoomInfo.RoomName, and no room is made', async () => {
  for (const [i, name] of LONE.entries()) {
    const r = await tencentRaw('create_room', `{"RoomInfo":{"RoomId":"ls${i}","RoomType":"Conference","RoomName":"${name}"}}`);
    failed(r, 100002, 'RoomInfo.RoomName');
    assert.match(r.ErrorInfo, /unpaired UTF-16 surrogate/);
    failed(await s.tencent('room_engine_http_srv/get_room_info', { RoomId: `ls${i}` }), 100004);
  }
  // a pair (an emoji written as escapes) is text like any other
  ok(await tencentRaw('create_room', '{"RoomInfo":{"RoomId":"pair","RoomType":"Conference","RoomName":"x\\ud83d\\ude00"}}'));
  const info = await s.tencent('room_engine_http_srv/get_room_info', { RoomId: 'pair' });
  ok(info);
  assert.equal(info.Response.RoomInfo.RoomName, 'x\u{1f600}');
});

test('Tencent: a NUL is still refused the same way, with its own reason', async () => {
  const r = await tencentRaw('create_room', '{"RoomInfo":{"RoomId":"nul","RoomType":"Conference","RoomName":"x\\u0000"}}');
  failed(r, 100002, 'RoomInfo.RoomName');
  assert.match(r.ErrorInfo, /NUL/);
});

test('Tencent ban_room_member: a lone surrogate in Reason is 100002 naming Reason, and nobody is banned', async () => {
  const r = await tencentRaw('ban_room_member', '{"RoomId":"c1","MemberList_Account":["b1"],"Reason":"r\\ud800","Duration":60}');
  failed(r, 100002, 'Reason');
  // in an account id too (a nested string: the list's items)
  failed(await tencentRaw('ban_room_member', '{"RoomId":"c1","MemberList_Account":["b\\udfff"],"Reason":"r","Duration":60}'), 100002, 'MemberList_Account');
  const list = await s.tencent('room_engine_http_srv/get_banned_member_list', { RoomId: 'c1', IncludeAllOrigins: true });
  ok(list);
  assert.deepEqual(list.Response.BannedAccountList, []);
});

test('Tencent: every text field of every command answers 100002 naming its own wire field', async () => {
  // JSON.stringify writes the lone surrogate as the escape "\ud800", as any JSON encoder does.
  const L = 'x\ud800';
  const cases: [string, unknown, string][] = [
    ['create_room', { RoomInfo: { RoomId: L, RoomType: 'Live' } }, 'RoomInfo.RoomId'],
    ['create_room', { RoomInfo: { RoomId: 'w', RoomType: 'Live', Owner_Account: L } }, 'RoomInfo.Owner_Account'],
    ['create_room', { RoomInfo: { RoomId: 'w', RoomType: 'Live', CustomInfo: L } }, 'RoomInfo.CustomInfo'],
    ['create_room', { RoomInfo: { RoomId: 'w', RoomType: 'Live', Password: L } }, 'RoomInfo.Password'],
    ['create_room', { RoomInfo: { RoomId: 'w', RoomType: 'Live' }, ScheduleInviteeList_Account: ['a', L] }, 'ScheduleInviteeList_Account'],
    ['update_room_info', { RoomInfo: { RoomId: 'c1', RoomName: L } }, 'RoomInfo'],
    ['destroy_room', { RoomId: L }, 'RoomId'],
    ['get_room_info', { RoomId: L }, 'RoomId'],
    ['get_room_member_list', { RoomId: 'c1', Next: L }, 'Next'],
    ['update_room_member_info', { RoomId: 'c1', MemberInfo: { Member_Account: L } }, 'MemberInfo.Member_Account'],
    ['update_room_member_info', { RoomId: 'c1', MemberInfo: { Member_Account: 'm', NameCard: L } }, 'MemberInfo.NameCard'],
    ['update_room_member_info', { RoomId: 'c1', MemberInfo: { Member_Account: 'm', CustomInfo: L } }, 'MemberInfo.CustomInfo'],
    ['change_room_owner', { RoomId: 'c1', From_Account: L, NewOwner_Account: 'b' }, 'From_Account'],
    ['change_room_owner', { RoomId: 'c1', From_Account: 'a', NewOwner_Account: L }, 'NewOwner_Account'],
    ['mark_room_member', { RoomId: 'c1', CommandType: 1, MemberList: [{ Member_Account: L, Marks: [1] }] }, 'MemberList'],
    ['unban_room_member', { RoomId: 'c1', MemberList_Account: [L] }, 'MemberList_Account'],
    ['mute_room_member', { RoomId: 'c1', MemberList_Account: [L], MuteTime: 60 }, 'MemberList_Account'],
    ['kick_user_out', { RoomId: 'c1', MemberList_Account: ['a'], Reason: L }, 'Reason'],
  ];
  for (const [path, body, field] of cases) {
    failed(await s.tencent(`room_engine_http_srv/${path}`, body), 100002, field);
  }
  const mic = (path: string, body: unknown) => s.tencent(`room_engine_http_mic/${path}`, body);
  failed(await mic('pick_user_on_seat', { RoomId: 'c1', Member_Account: L, Index: 0 }), 100002, 'Member_Account');
  failed(await mic('kick_user_off_seat', { RoomId: 'c1', Member_Account: 'a', Data: L }), 100002, 'Data');
  failed(await mic('move_user_to_seat', { RoomId: 'c1', Member_Account: L, SeatIndex: 0, Policy: 0 }), 100002, 'Member_Account');
});

test('Tencent set_callback: a lone surrogate or a NUL in Url is 100002 naming Url, and nothing is configured', async () => {
  for (const url of ['http://example.com/a\ud800', 'http://example.com/a\u0000']) {
    failed(await s.tencent('room_config/set_callback', { Url: url, CallbackCommandList: [] }), 100002, 'Url');
    failed(await s.tencent('room_config/get_callback', {}), 100301);
  }
});

test('native API callbacks/config: a lone surrogate or a NUL in url is invalid_param naming url; later changes still work', async () => {
  const post = async (path: string, body: string) => {
    const r = await fetch(`${s.url}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${adminSig()}`, 'content-type': 'application/json' }, body });
    return { status: r.status, body: await r.json() };
  };
  // As written: the escape stays an escape on the wire.
  for (const url of ['http://example.com/a\\ud800', 'http://example.com/a\\udc00b', 'http://example.com/a\\u0000', 'http://example.com/\\u0000?x=1']) {
    const r = await post('/callbacks/config', `{"url":"${url}"}`);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'invalid_param', JSON.stringify(r.body));
    assert.equal(r.body.error.field, 'url');
    assert.match(r.body.error.message, /NUL|unpaired UTF-16 surrogate/);
  }
  const config = async () => (await (await fetch(`${s.url}/api/v1/callbacks/config`, { headers: { authorization: `Bearer ${adminSig()}` } })).json()).config;
  assert.equal(await config(), null, 'nothing was configured');
  // The configuration can still be set, replaced and deleted.
  for (const url of ['http://example.com/one', 'http://example.com/two']) {
    const r = await post('/callbacks/config', JSON.stringify({ url }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await config()).url, url);
  }
  assert.equal((await post('/callbacks/config/delete', '{}')).status, 200);
  assert.equal(await config(), null);
});

test('Polyv kick-users: a lone surrogate in nickNames is 400 naming nickNames, and nobody is kicked', async () => {
  const a = await polyv(KICK, { channelId: 'c1' }, { rawBody: '{"viewerIds":["v1"],"nickNames":["n\\udc00"]}', contentType: 'application/json' });
  assertError(a, 400, 'param length is incorrect: nickNames');
  assertError(
    await polyv(KICK, { channelId: 'c1' }, { rawBody: '{"viewerIds":["v\\ud800"],"nickNames":["n"]}', contentType: 'application/json' }),
    400,
    'param length is incorrect: viewerIds',
  );
  assert.deepEqual(polyvOk(await polyv(LIST, { channelId: 'c1', includeAllOrigins: 'Y' })), []);
});

test('the core refuses a lone surrogate in nested strings as it does a NUL (a message-audit item, a deny target)', async () => {
  await asAdmin(s, { type: 'setCensorEnabled', roomId: 'c1', enabled: true });
  for (const bad of ['\ud800', '\u0000']) {
    const audit = asAdmin(s, { type: 'auditMessages', roomId: 'c1', messages: [{ msgId: 'm1', userId: 'u1', nick: `n${bad}`, avatar: '', text: 'hi' }] });
    await assert.rejects(audit, { kind: 'InvalidParam', field: 'messages' });
    const lift = asAdmin(s, { type: 'liftDeny', targets: [{ roomId: 'c1', subjectType: 'userId', subject: `u${bad}` }] });
    await assert.rejects(lift, { kind: 'InvalidParam', field: 'targets' });
  }
});
