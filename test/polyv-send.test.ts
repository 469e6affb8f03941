// Polyv sending endpoints over real HTTP, signed as Polyv's SDKs sign, delivered to real
// WebSocket clients: the hidden admin message, send-chat as a user (URL-safe base64), custom
// messages (plain and URL-encoded) and emit-by-userId (chosen users only).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './support/harness.js';
import { assertError, ok, polyvClient } from './support/polyv.js';
import { RawClient, client, closeClients, createRoom } from './realtime-support.js';

let s: TestServer;
let polyv: ReturnType<typeof polyvClient>;

before(async () => {
  s = await startTestServer();
  polyv = polyvClient(s);
});
after(async () => {
  await closeClients();
  await s.close();
});

const SEND = '/live/v3/channel/chat/send';
const SEND_CHAT = (channelId: string) => `/live/v1/channelSetting/${channelId}/send-chat`;
const CUSTOM = '/live/v4/chat/send-custom-message';
const CUSTOM_ENCODE = '/live/v4/chat/send-custom-message/encode';
const CUSTOM_ENCODE_TS = '/live/v4/chat/send-custom-message-encode';
const EMIT = '/live/v5/chat/redirect/channel/emit-by-userId/post';

const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

test('chat/send: a message from the channel admin reaches every member; documented answer and errors', async () => {
  await createRoom(s, 'send1');
  const a = await RawClient.connect(s, 'alice', 'send1');
  const b = await RawClient.connect(s, 'bob', 'send1');
  for (const style of ['php', 'java', 'ts'] as const) {
    assert.equal(ok(await polyv(SEND, { channelId: 'send1', content: `hello ${style}`, role: 'ADMIN' }, { style })), 'The message send success!');
    for (const c of [a, b]) {
      const m = await c.take('messageReceived', (f) => f.text === `hello ${style}`);
      assert.equal(m.admin, true);
      assert.equal(m.from, 'polyvapp1');
    }
  }
  assertError(await polyv(SEND, { content: 'x', role: 'ADMIN' }), 400, 'param should not be empty: channelId');
  assertError(await polyv(SEND, { channelId: 'send1', role: 'ADMIN' }), 400, 'param should not be empty: content');
  assertError(await polyv(SEND, { channelId: 'send1', content: 'x' }), 400, 'param should not be empty: role');
  assertError(await polyv(SEND, { channelId: 'send1', content: 'x', role: 'TEACHER' }), 400, 'param validate error');
  assertError(await polyv(SEND, { channelId: 'nowhere', content: 'x', role: 'ADMIN' }), 404, 'channel not found.');
  assertError(await polyv(SEND, { channelId: 'send1', content: 'x'.repeat(2001), role: 'ADMIN' }), 400, 'param length is incorrect: content');
  assertError(await polyv(SEND, { channelId: 'send1', content: 'x', role: 'ADMIN' }, { sign: 'F'.repeat(32) }), 403, 'invalid signature.');
  assert.ok(!(await a.drain()).includes('messageReceived'), 'no refused message was delivered');
});

test('send-chat: content is URL-safe base64, shown as the user (their nick when present)', async () => {
  await createRoom(s, 'send2');
  const viewer = await RawClient.connect(s, 'viewer', 'send2');
  await RawClient.connect(s, 'speaker', 'send2', { nick: 'Speaker', avatar: 'https://example.com/s.png' });
  // "?>?>" encodes with '-' and '_' in URL-safe base64: the alphabet Polyv asks for.
  const text = '你好 ?>?> ~~';
  assert.match(b64url(text), /[-_]/);
  assert.equal(ok(await polyv(SEND_CHAT('send2'), { userId: 'speaker', content: b64url(text) }, { style: 'java' })), 'success');
  const m = await viewer.take('messageReceived', (f) => f.from === 'speaker');
  assert.deepEqual([m.text, m.nick, m.avatar, m.admin], [text, 'Speaker', 'https://example.com/s.png', false]);
  // A user who is not in the room, with an image only.
  assert.equal(ok(await polyv(SEND_CHAT('send2'), { userId: 'ghost', imgUrl: 'https://example.com/i.png' })), 'success');
  const img = await viewer.take('messageReceived', (f) => f.from === 'ghost');
  assert.deepEqual([img.text, img.imageUrl, img.nick], ['', 'https://example.com/i.png', '']);

  assertError(await polyv(SEND_CHAT('send2'), { content: b64url('x') }), 400, 'param should not be empty: userId');
  assertError(await polyv(SEND_CHAT('send2'), { userId: 'speaker' }), 400, 'param should not be empty: content');
  assertError(await polyv(SEND_CHAT('send2'), { userId: 'speaker', content: 'not base64!' }), 400, 'param validate error');
  assertError(await polyv(SEND_CHAT('send2'), { userId: 'speaker', content: Buffer.from([0xff, 0xfe]).toString('base64url') }), 400, 'param validate error');
  assertError(await polyv(SEND_CHAT('nowhere'), { userId: 'speaker', content: b64url('x') }), 404, 'channel not found.');
  assertError(await polyv(SEND_CHAT('send2'), { userId: 'speaker', content: b64url('x'.repeat(2001)) }), 400, 'param length is incorrect: content');
});

test('send-custom-message (GET) and /encode (POST): every member gets customMessageReceived through the TypeScript client', async () => {
  await createRoom(s, 'send3');
  const c = client(s, 'watcher');
  await c.connect();
  await c.enterRoom({ roomId: 'send3' });
  const got: any[] = [];
  c.on('customMessageReceived', (e) => got.push(e));

  assert.equal(ok(await polyv(CUSTOM, { channelId: 'send3', content: 'plain 100%', watchType: '2,4', important: 'true', joinHistoryList: 'false' }, { method: 'GET', style: 'ts' })), 'success');
  // Polyv's page: /encode takes content in URL-safe base64 (its example, joinHistoryList=0 in the query).
  assert.equal(ok(await polyv(CUSTOM_ENCODE, { channelId: 'send3', joinHistoryList: '0', content: '5ZCM5a2m5Lus77yM5pma5LiK5aW977yB6L-Z5piv5oiR5Lus55qE56ys5LiA5aCC6K--77yB' }, { style: 'java' })), 'success');
  // The TypeScript SDK's path (…-encode) takes it percent-encoded.
  assert.equal(ok(await polyv(CUSTOM_ENCODE_TS, { channelId: 'send3', content: encodeURIComponent('编码 & 100%') }, { method: 'GET', style: 'ts' })), 'success');
  // Polyv's GET example: joinHistoryList as 1/0; several watchTypes written together ("45").
  assert.equal(ok(await polyv(CUSTOM, { channelId: 'send3', content: '测试', joinHistoryList: '1', watchType: '45', important: 'N' }, { method: 'GET' })), 'success');
  const deadline = Date.now() + 5000;
  while (got.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(
    got.map((e) => [e.content, e.watchTypes, e.important, e.joinHistory, e.roomId]),
    [
      ['plain 100%', [2, 4], true, false, 'send3'],
      ['同学们，晚上好！这是我们的第一堂课！', [1], false, false, 'send3'],
      ['编码 & 100%', [1], false, true, 'send3'], // joinHistoryList defaults to 1 (Polyv's page)
      ['测试', [4, 5], false, true, 'send3'],
    ],
  );

  assertError(await polyv(CUSTOM, { content: 'x' }, { method: 'GET' }), 400, 'param should not be empty: channelId');
  assertError(await polyv(CUSTOM, { channelId: 'send3' }, { method: 'GET' }), 400, 'param should not be empty: content');
  assertError(await polyv(CUSTOM, { channelId: 'send3', content: 'x', watchType: '9' }, { method: 'GET' }), 400, 'param validate error');
  assertError(await polyv(CUSTOM, { channelId: 'send3', content: 'x', important: 'maybe' }, { method: 'GET' }), 400, 'param is not boolean (Y / N)');
  assertError(await polyv(CUSTOM, { channelId: 'send3', content: 'x'.repeat(1001) }, { method: 'GET' }), 400, 'param length is incorrect: content');
  // 1000 characters whatever their bytes (3,000 here), the most Polyv takes.
  assert.equal((await polyv(CUSTOM, { channelId: 'send3', content: '直'.repeat(1000) })).code, 200);
  assertError(await polyv(CUSTOM, { channelId: 'send3', content: '直'.repeat(1001) }), 400, 'param length is incorrect: content');
  // A parameter the core refuses is named as Polyv names it.
  assertError(await polyv(CUSTOM, { channelId: 'send3', imgUrl: `https://x/${'a'.repeat(2000)}` }), 400, 'param length is incorrect: imgUrl');
  assertError(await polyv(CUSTOM_ENCODE_TS, { channelId: 'send3', content: '%E4%ZZ' }), 400, 'param validate error');
  assertError(await polyv(CUSTOM_ENCODE, { channelId: 'send3', content: 'not base64!' }), 400, 'param validate error');
  assertError(await polyv(CUSTOM_ENCODE, { channelId: 'send3', content: 'eA'.repeat(751) }), 400, 'param length is incorrect: content');
  assertError(await polyv(CUSTOM, { channelId: 'send3', content: 'x', joinHistoryList: '2' }, { method: 'GET' }), 400, 'param is not boolean (Y / N)');
  assertError(await polyv(CUSTOM, { channelId: 'send3', content: 'x', watchType: '48' }, { method: 'GET' }), 400, 'param validate error');
  assertError(await polyv(CUSTOM, { channelId: 'nowhere', content: 'x' }, { method: 'GET' }), 404, 'channel not found.');
});

test('emit-by-userId: only the chosen users get the payload; JSON body, query-signed', async () => {
  await createRoom(s, 'send4');
  const chosen = await RawClient.connect(s, 'chosen', 'send4');
  const also = await RawClient.connect(s, 'also', 'send4');
  const left = await RawClient.connect(s, 'left-out', 'send4');
  for (const style of ['ts', 'java', 'php'] as const) {
    const payload = `{"kind":"coupon","style":"${style}"}`;
    assert.equal(ok(await polyv(EMIT, {}, { json: { roomId: 'send4', userIds: ['chosen', 'also', 'absent'], payload }, style })), 'success');
    for (const c of [chosen, also]) assert.equal((await c.take('directMessageReceived', (f) => f.payload === payload)).from, 'polyvapp1');
  }
  assert.ok(!(await left.drain()).includes('directMessageReceived'), 'a user not chosen got nothing');

  assertError(await polyv(EMIT, {}, { json: { userIds: ['chosen'], payload: 'p' } }), 400, 'param should not be empty: roomId');
  assertError(await polyv(EMIT, {}, { json: { roomId: 'send4', payload: 'p' } }), 400, 'param should not be empty: userIds');
  assertError(await polyv(EMIT, {}, { json: { roomId: 'send4', userIds: ['chosen'] } }), 400, 'param should not be empty: payload');
  assertError(await polyv(EMIT, {}, { json: { roomId: 'send4', userIds: 'chosen', payload: 'p' } }), 400, 'json format error');
  assertError(await polyv(EMIT, {}, { json: [1, 2] }), 400, 'json format error');
  assertError(await polyv(EMIT, {}, { rawBody: '{oops', contentType: 'application/json' }), 400, 'json format error');
  assertError(await polyv(EMIT, {}, { json: { roomId: 'send4', userIds: Array.from({ length: 2001 }, (_, i) => `u${i}`), payload: 'p' } }), 400, 'param length is incorrect: userIds');
  assertError(await polyv(EMIT, {}, { json: { roomId: 'nowhere', userIds: ['chosen'], payload: 'p' } }), 404, 'channel not found.');
  // The query is signed, the body is not (as the SDKs do): an unsigned query parameter is refused.
  assertError(await polyv(EMIT, {}, { json: { roomId: 'send4', userIds: ['chosen'], payload: 'p' }, unsigned: { extra: '1' } }), 403, 'invalid signature.');
});

test('emit-by-userId: a payload object nested over 100 levels is 400 param length is incorrect: payload, 100 levels go through', async () => {
  await createRoom(s, 'send5');
  const chosen = await RawClient.connect(s, 'chosen', 'send5');
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const emitRaw = (payload: string) =>
    polyv(EMIT, {}, { rawBody: `{"roomId":"send5","userIds":["chosen"],"payload":${payload}}`, contentType: 'application/json' });
  // ~10 KB of brackets, under the 16 KiB payload bound: refused as documented, not a server error
  assertError(await emitRaw(nested(5000)), 400, 'param length is incorrect: payload');
  assertError(await emitRaw(nested(101)), 400, 'param length is incorrect: payload');
  assertError(await emitRaw(`{"a":{"b":${nested(99)}}}`), 400, 'param length is incorrect: payload');
  assert.ok(!(await chosen.drain()).includes('directMessageReceived'), 'nothing refused was delivered');
  // 100 levels are a payload like any other, passed on as its JSON text
  assert.equal(ok(await emitRaw(nested(100))), 'success');
  assert.equal((await chosen.take('directMessageReceived')).payload, nested(100));
  // a string payload is text, whatever it holds
  assert.equal(ok(await emitRaw(JSON.stringify(nested(5000)))), 'success');
  assert.equal((await chosen.take('directMessageReceived')).payload, nested(5000));
});
