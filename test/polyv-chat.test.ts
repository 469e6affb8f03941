// Polyv chat bans over real HTTP (by userId, by IP, app-wide), the admin message and the online count.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RoomEvent } from '../src/core/events.js';
import { APP, asAdmin, asUser, startTestServer, type TestServer } from './support/harness.js';
import { assertError, createRoom, ok, polyvClient } from './support/polyv.js';

let s: TestServer;
let polyv: ReturnType<typeof polyvClient>;
const events: RoomEvent[] = [];

const BAN = '/live/v3/channel/chat/banned-user';
const BANNED_LIST = '/live/v3/channel/chat/get-banned-list';
const ADMIN_MSG = '/live/v3/channel/chat/send-admin-msg';
const COUNT = '/live/v3/channel/chat/count-online-user';

before(async () => {
  s = await startTestServer();
  polyv = polyvClient(s);
  s.server.bus.subscribe((e) => events.push(e));
});
after(() => s.close());

function enterAs(roomId: string, userId: string, clientIp: string) {
  return asUser(s, userId, { type: 'enterRoom', roomId, clientIp, connId: `conn-${userId}` });
}

/** What a member's chat message gets: 'sent' or the core's refusal. */
async function say(roomId: string, userId: string): Promise<string> {
  try {
    await asUser(s, userId, { type: 'sendMessage', roomId, text: 'hello' });
    return 'sent';
  } catch (e) {
    return (e as { kind?: string }).kind ?? String(e);
  }
}

/** The muteChanged events (user -> muted) since `from`. */
function muteEvents(from: number): string[] {
  return events
    .slice(from)
    .filter((e) => e.type === 'muteChanged')
    .map((e) => `${e.to?.join(',')}:${e.data.muted}:${e.data.by}`);
}

test('chat ban by userId: the member stays, is told, cannot speak until unbanned', async () => {
  await createRoom(s, 'chat1');
  await enterAs('chat1', 'talker', '127.0.0.5');
  await enterAs('chat1', 'other', '127.0.0.6');
  let mark = events.length;

  assert.equal(ok(await polyv(BAN, { channelId: 'chat1', userIds: 'talker,absent', toBanned: 'Y' })), 'SUCCESS');
  assert.deepEqual(muteEvents(mark), ['talker:true:userId']); // only present members are told
  assert.equal(await say('chat1', 'talker'), 'Muted');
  assert.equal(await say('chat1', 'other'), 'sent');
  assert.equal(ok(await polyv(COUNT, { channelId: 'chat1' })), 2); // still in the room
  assert.deepEqual(ok(await polyv(BANNED_LIST, { channelId: 'chat1', type: 'userId' }, { method: 'GET' })).sort(), ['absent', 'talker']);
  assert.deepEqual(ok(await polyv(BANNED_LIST, { channelId: 'chat1', type: 'ip' })), []);

  // the kicked list tells whether a kicked user is chat-banned
  ok(await polyv('/live/v4/chat/channel/forbid/kick-users', { channelId: 'chat1' }, { json: { viewerIds: ['absent', 'other'], nickNames: ['A', 'O'] } }));
  const kicked = ok(await polyv('/live/v3/channel/chat/list-kicked', { channelId: 'chat1' }));
  assert.deepEqual(kicked.map((e: { userId: string; banned: boolean }) => `${e.userId}:${e.banned}`).sort(), ['absent:true', 'other:false']);
  ok(await polyv('/live/v4/chat/channel/forbid/unkick-users', { channelId: 'chat1' }, { json: { viewerIds: ['absent', 'other'] } }));

  // toBanned defaults to Y; N lifts and tells the member
  mark = events.length;
  ok(await polyv(BAN, { channelId: 'chat1', userIds: 'talker', toBanned: 'N' }));
  assert.deepEqual(muteEvents(mark), ['talker:false:userId']);
  assert.equal(await say('chat1', 'talker'), 'sent');
  ok(await polyv(BAN, { channelId: 'chat1', userIds: ' talker , ' }));
  assert.equal(await say('chat1', 'talker'), 'Muted');
  ok(await polyv(BAN, { channelId: 'chat1', userIds: 'talker,absent', toBanned: 'N' }));
  assert.deepEqual(ok(await polyv(BANNED_LIST, { channelId: 'chat1', type: 'userId' })), []);
});

test('chat ban by IP: addBannedIP answers every banned IP of the channel; delBanned lifts', async () => {
  await createRoom(s, 'chat2');
  await enterAs('chat2', 'same-ip-1', '127.0.0.5');
  await enterAs('chat2', 'same-ip-2', '127.0.0.5');
  await enterAs('chat2', 'other-ip', '127.0.0.7');
  const mark = events.length;

  assert.deepEqual(ok(await polyv('/live/v2/chat/chat2/addBannedIP', { ip: '127.0.0.5' })), ['127.0.0.5']);
  assert.deepEqual(muteEvents(mark).sort(), ['same-ip-1:true:ip', 'same-ip-2:true:ip']);
  assert.equal(await say('chat2', 'same-ip-1'), 'Muted');
  assert.equal(await say('chat2', 'same-ip-2'), 'Muted');
  assert.equal(await say('chat2', 'other-ip'), 'sent');
  assert.equal(ok(await polyv(COUNT, { channelId: 'chat2' })), 3);
  // banning again does not duplicate; a second IP is added
  assert.deepEqual(ok(await polyv('/live/v2/chat/chat2/addBannedIP', { ip: '127.0.0.5' }, { style: 'java' })), ['127.0.0.5']);
  assert.deepEqual(ok(await polyv('/live/v2/chat/chat2/addBannedIP', { ip: '::1' })).sort(), ['127.0.0.5', '::1']);
  assert.deepEqual(ok(await polyv(BANNED_LIST, { channelId: 'chat2', type: 'ip' })).sort(), ['127.0.0.5', '::1']);
  assert.deepEqual(ok(await polyv('/live/v3/channel/badword/list', { channelId: 'chat2', type: 'ip' }, { method: 'GET' })).sort(), ['127.0.0.5', '::1']);
  assert.deepEqual(ok(await polyv('/live/v3/channel/badword/list', { channelId: 'chat2' })), []);

  // a kicked entry from a chat-banned IP says banned
  await asAdmin(s, { type: 'banIpOf', roomId: 'chat2', userId: 'same-ip-1', scope: 'room', reason: '', origin: 'polyv' });
  const [entry] = ok(await polyv('/live/v3/channel/chat/list-kicked', { channelId: 'chat2' }));
  assert.deepEqual([entry.type, entry.clientIp, entry.banned], ['ip', '127.0.0.5', true]);
  ok(await polyv('/live/v3/channel/chat/del-kicked', { roomId: 'chat2', value: '127.0.0.5', type: 'ip' }));
  await enterAs('chat2', 'same-ip-1', '127.0.0.5');

  // delBanned type ip (comma-separated) lifts; the members are told
  const mark2 = events.length;
  assert.equal(ok(await polyv('/live/v2/chat/chat2/delBanned', { type: 'ip', content: '127.0.0.5,::1' })), 'success');
  assert.deepEqual(muteEvents(mark2).sort(), ['same-ip-1:false:ip']);
  assert.equal(await say('chat2', 'same-ip-1'), 'sent');
  assert.deepEqual(ok(await polyv(BANNED_LIST, { channelId: 'chat2', type: 'ip' })), []);
  // badword: Rostrum keeps no bad-word list, so there is nothing to delete
  assert.equal(ok(await polyv('/live/v2/chat/chat2/delBanned', { type: 'badword', content: 'spam' })), 'success');
});

test('chat ban errors', async () => {
  await createRoom(s, 'chat3');
  assertError(await polyv(BAN, { userIds: 'u' }), 400, 'param should not be empty: channelId');
  assertError(await polyv(BAN, { channelId: 'chat3' }), 400, 'param should not be empty: userIds');
  assertError(await polyv(BAN, { channelId: 'chat3', userIds: ' , ' }), 400, 'param should not be empty: userIds');
  assertError(await polyv(BAN, { channelId: 'chat3', userIds: 'u', toBanned: 'yes' }), 400, 'param is not boolean (Y / N)');
  assertError(await polyv(BAN, { channelId: 'nowhere', userIds: 'u' }), 404, 'channel not found.');
  assertError(await polyv(BAN, { channelId: 'chat3', userIds: `ok,${'x'.repeat(65)}` }), 400, 'param length is incorrect: userIds');
  assert.deepEqual(ok(await polyv(BANNED_LIST, { channelId: 'chat3', type: 'userId' })), []); // nothing half-done
  assertError(await polyv(BANNED_LIST, { channelId: 'chat3' }), 400, 'param should not be empty: type');
  assertError(await polyv(BANNED_LIST, { channelId: 'chat3', type: 'badword' }), 400, 'param validate error');
  assertError(await polyv(BANNED_LIST, { channelId: 'chat3', type: 'ip', toGetSubRooms: 'yes' }), 400, 'param is not digit: toGetSubRooms');
  assertError(await polyv(BANNED_LIST, { channelId: 'nowhere', type: 'ip' }), 404, 'channel not found.');
  assertError(await polyv('/live/v2/chat/chat3/addBannedIP', {}), 400, 'param should not be empty: ip');
  assertError(await polyv('/live/v2/chat/chat3/addBannedIP', { ip: 'not-an-ip' }), 400, 'param validate error');
  assertError(await polyv('/live/v2/chat/nowhere/addBannedIP', { ip: '127.0.0.5' }), 404, 'channel not found.');
  assertError(await polyv('/live/v2/chat/chat3/delBanned', { content: '127.0.0.5' }), 400, 'param should not be empty: type');
  assertError(await polyv('/live/v2/chat/chat3/delBanned', { type: 'word', content: 'x' }), 400, 'param validate error');
  assertError(await polyv('/live/v2/chat/chat3/delBanned', { type: 'ip' }), 400, 'param should not be empty: content');
  assertError(await polyv('/live/v2/chat/nowhere/delBanned', { type: 'ip', content: '127.0.0.5' }), 404, 'channel not found.');
  assertError(await polyv('/live/v2/chat/nowhere/delBanned', { type: 'badword', content: 'x' }), 404, 'channel not found.');
  assertError(await polyv('/live/v3/channel/badword/list', { channelId: 'nowhere' }), 404, 'channel not found.');
});

test('app-wide chat ban: muted in every room, listed page by page', async () => {
  await createRoom(s, 'app-a');
  await createRoom(s, 'app-b');
  await enterAs('app-a', 'loud', '127.0.0.11');
  await enterAs('app-b', 'loud', '127.0.0.11');
  const mark = events.length;
  const UPDATE = '/live/v3/user/chat/banned-user/update';
  const LIST = '/live/v3/user/chat/banned-user/list';
  assert.equal(ok(await polyv(UPDATE, { viewerIds: JSON.stringify(['loud', 'quiet', 'calm']), banned: 'Y' })), 'SUCCESS');
  // One app-wide record per subject (to no one: for callbacks), then each room's member told.
  assert.deepEqual(muteEvents(mark), [':true:userId', 'loud:true:userId', 'loud:true:userId', ':true:userId', ':true:userId']);
  const appWide = events.slice(mark).filter((e) => e.type === 'muteChanged' && e.roomId === '');
  assert.deepEqual(appWide.map((e) => e.type === 'muteChanged' && e.data.subject), ['loud', 'quiet', 'calm']);
  assert.equal(await say('app-a', 'loud'), 'Muted');
  assert.equal(await say('app-b', 'loud'), 'Muted');
  const page1 = ok(await polyv(LIST, { page: 1, size: 2 }, { method: 'GET' }));
  const page2 = ok(await polyv(LIST, { page: 2, size: 2 }));
  assert.deepEqual([page1.pageNumber, page1.pageSize, page1.totalItems, page1.contents.length], [1, 2, 3, 2]);
  assert.deepEqual([...page1.contents, ...page2.contents].sort(), ['calm', 'loud', 'quiet']);
  // the channel's own list holds the channel's entries only
  assert.deepEqual(ok(await polyv(BANNED_LIST, { channelId: 'app-a', type: 'userId' })), []);

  assertError(await polyv(UPDATE, { viewerIds: 'loud', banned: 'Y' }), 400, 'json format error');
  assertError(await polyv(UPDATE, { viewerIds: '[1,2]', banned: 'Y' }), 400, 'json format error');
  assertError(await polyv(UPDATE, { viewerIds: '[]', banned: 'Y' }), 400, 'param should not be empty: viewerIds');
  assertError(await polyv(UPDATE, { viewerIds: '["loud"]' }), 400, 'param should not be empty: banned');
  assertError(await polyv(UPDATE, { viewerIds: '["loud"]', banned: 'x' }), 400, 'param is not boolean (Y / N)');
  assertError(await polyv(LIST, { size: 1001 }), 400, 'number range error');

  ok(await polyv(UPDATE, { viewerIds: JSON.stringify(['loud', 'quiet', 'calm']), banned: 'N' }));
  assert.equal(await say('app-a', 'loud'), 'sent');
  assert.equal(ok(await polyv(LIST)).totalItems, 0);
});

test('send-admin-msg reaches the room as messageReceived; the answer carries the message id', async () => {
  await createRoom(s, 'msgroom');
  await enterAs('msgroom', 'listener', '127.0.0.5');
  const mark = events.length;
  const msgId = ok(await polyv(ADMIN_MSG, { channelId: 'msgroom', msg: 'Welcome, everyone', pic: 'https://example.com/a.png', nickName: '管理员ABCDEFGHIJ', actor: '主持人', apiVersion: '3.2' }));
  assert.equal(typeof msgId, 'string');
  const received = events.slice(mark).filter((e) => e.type === 'messageReceived');
  assert.equal(received.length, 1);
  assert.equal(received[0].roomId, 'msgroom');
  assert.equal(received[0].to, undefined); // everyone in the room
  assert.deepEqual(
    { ...received[0].data, from: undefined },
    { msgId, from: undefined, nick: '管理员ABCDE', avatar: 'https://example.com/a.png', text: 'Welcome, everyone', imageUrl: '', admin: true },
  );

  // an image alone is enough; apiVersion 3.1 (the Java SDK's default) answers {msgId}
  const v31 = ok(await polyv(ADMIN_MSG, { channelId: 'msgroom', imgUrl: 'https://example.com/i.png', pic: 'p', nickName: 'Host', apiVersion: '3.1' }, { style: 'java' }));
  assert.deepEqual(Object.keys(v31), ['msgId']);
  const messages = events.filter((e) => e.type === 'messageReceived'); // narrows the payload
  assert.equal(messages.filter((e) => e.data.msgId === v31.msgId)[0].data.imageUrl, 'https://example.com/i.png');

  assertError(await polyv(ADMIN_MSG, { msg: 'x', pic: 'p', nickName: 'n' }), 400, 'param should not be empty: channelId');
  assertError(await polyv(ADMIN_MSG, { channelId: 'msgroom', pic: 'p', nickName: 'n' }), 400, 'param should not be empty: msg');
  assertError(await polyv(ADMIN_MSG, { channelId: 'msgroom', msg: 'x', nickName: 'n' }), 400, 'param should not be empty: pic');
  assertError(await polyv(ADMIN_MSG, { channelId: 'msgroom', msg: 'x', pic: 'p' }), 400, 'param should not be empty: nickName');
  assertError(await polyv(ADMIN_MSG, { channelId: 'nowhere', msg: 'x', pic: 'p', nickName: 'n' }), 404, 'channel not found.');
  assertError(await polyv(ADMIN_MSG, { channelId: 'msgroom', msg: 'x'.repeat(2001), pic: 'p', nickName: 'n' }, { style: 'java' }), 400, 'param length is incorrect: msg');
});

test('count-online-user follows the room', async () => {
  await createRoom(s, 'countroom');
  assert.equal(ok(await polyv(COUNT, { channelId: 'countroom' }, { method: 'GET' })), 0);
  await enterAs('countroom', 'c1', '127.0.0.5');
  await enterAs('countroom', 'c2', '127.0.0.5');
  assert.equal(ok(await polyv(COUNT, { channelId: 'countroom' })), 2);
  ok(await polyv('/live/v4/chat/channel/forbid/kick-users', { channelId: 'countroom' }, { json: { viewerIds: ['c1'], nickNames: ['C'] } }));
  assert.equal(ok(await polyv(COUNT, { channelId: 'countroom' }, { style: 'ts' })), 1);
});
