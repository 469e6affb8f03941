// Bad words that really work: Polyv's addBadWords (channel and account), the lists, delBanned
// type=badword and badword/delete over real HTTP; a message with a bad word never reaches the
// other members' WebSocket clients, the sender is told; the lists survive a restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '../src/core/model.js';
import { CODE } from '../src/realtime/protocol.js';
import { APP, OTHER_APP, startTestServer, tempData, type TestData, type TestServer } from './support/harness.js';
import { assertError, ok, polyvClient } from './support/polyv.js';
import { RawClient, createRoom } from './realtime-support.js';

const ACCOUNT = 'acct-1b448be323';
const APP_WITH_ACCOUNT: App = { ...APP, polyv: { ...APP.polyv!, userId: ACCOUNT } };

let data: TestData;
let s: TestServer;
let polyv: ReturnType<typeof polyvClient>;

async function start(): Promise<void> {
  s = await startTestServer({ data, apps: [APP_WITH_ACCOUNT, OTHER_APP], realtime: { messagesPerSecond: 0 } });
  // (no chat rate limit: one sender tries many words)
  polyv = polyvClient(s, { app: APP_WITH_ACCOUNT });
}

before(async () => {
  data = tempData();
  await start();
});
after(async () => {
  await s.close();
  await data.remove();
});

const ADD = (userId = ACCOUNT) => `/live/v2/chat/${userId}/addBadWords`;
const CHANNEL_LIST = '/live/v3/channel/badword/list';
const DEL_BANNED = (channelId: string) => `/live/v2/chat/${channelId}/delBanned`;
const ACCOUNT_LIST = '/live/v3/user/badword/list';
const ACCOUNT_DELETE = '/live/v3/user/badword/delete';

/** Sends `text` as `from`; returns the reply code and whether `listener` got the message. */
async function deliver(from: RawClient, listener: RawClient, roomId: string, text: string): Promise<{ code: number; delivered: boolean }> {
  const r = await from.req('sendMessage', { roomId, text });
  // A marker message after it: once the listener has the marker, it has everything sent before.
  const marker = `marker ${Math.random()}`;
  await from.ok('sendMessage', { roomId, text: marker });
  await listener.take('messageReceived', (f) => f.text === marker);
  const delivered = listener.events.some((f) => f.event === 'messageReceived' && f.text === text);
  listener.events.splice(0);
  return { code: r.code, delivered };
}

test('channel bad words: added as a JSON array, listed, screened (case-insensitive, anywhere), deleted', async () => {
  await createRoom(s, 'bw1');
  await createRoom(s, 'bw-other');
  const talker = await RawClient.connect(s, 'talker', 'bw1');
  const listener = await RawClient.connect(s, 'listener', 'bw1');
  const elsewhere = await RawClient.connect(s, 'elsewhere', 'bw-other');
  const elsewhereListener = await RawClient.connect(s, 'elsewhere-listener', 'bw-other');

  assert.deepEqual(ok(await polyv(ADD(), { channelId: 'bw1', words: JSON.stringify(['Spam', '坏词', 'spam']) }, { style: 'java' })), { userId: ACCOUNT, count: 2 });
  assert.deepEqual(ok(await polyv(ADD(), { channelId: 'bw1', words: JSON.stringify(['scam', '坏词']) }, { style: 'ts' })), { userId: ACCOUNT, count: 3 });
  assert.deepEqual(ok(await polyv(CHANNEL_LIST, { channelId: 'bw1', type: 'badword' }, { method: 'GET' })), ['Spam', '坏词', 'scam']);
  assert.deepEqual(ok(await polyv(CHANNEL_LIST, { channelId: 'bw1' }, { method: 'GET' })), ['Spam', '坏词', 'scam'], 'type defaults to badword');

  for (const text of ['buy SPAM now', '这是坏词吗', 'no-scam-here']) {
    assert.deepEqual(await deliver(talker, listener, 'bw1', text), { code: CODE.badWord, delivered: false }, text);
  }
  const told = await talker.req('sendMessage', { roomId: 'bw1', text: 'more spam' });
  assert.equal(told.code, CODE.badWord);
  assert.match(told.message, /prohibited word: Spam/, 'the sender is told which word');
  assert.deepEqual(await deliver(talker, listener, 'bw1', 'a clean message'), { code: 0, delivered: true });
  // Another room's members are not affected by this channel's list.
  assert.deepEqual(await deliver(elsewhere, elsewhereListener, 'bw-other', 'spam is fine here'), { code: 0, delivered: true });

  assert.equal(ok(await polyv(DEL_BANNED('bw1'), { type: 'badword', content: 'Spam,unknown' })), 'success');
  assert.deepEqual(ok(await polyv(CHANNEL_LIST, { channelId: 'bw1', type: 'badword' })), ['坏词', 'scam']);
  assert.deepEqual(await deliver(talker, listener, 'bw1', 'spam again'), { code: 0, delivered: true });
  assert.deepEqual(await deliver(talker, listener, 'bw1', 'a scam'), { code: CODE.badWord, delivered: false });
});

test('account bad words (channelId absent or -1): every channel, listed and deleted account-wide', async () => {
  await createRoom(s, 'bw2');
  await createRoom(s, 'bw3');
  const a = await RawClient.connect(s, 'a', 'bw2');
  const aListener = await RawClient.connect(s, 'a-listener', 'bw2');
  const b = await RawClient.connect(s, 'b', 'bw3');
  const bListener = await RawClient.connect(s, 'b-listener', 'bw3');

  assert.deepEqual(ok(await polyv(ADD(), { words: JSON.stringify(['forbidden']) })), { userId: ACCOUNT, count: 1 });
  assert.deepEqual(ok(await polyv(ADD(), { channelId: '-1', words: JSON.stringify(['verboten']) }, { style: 'java' })), { userId: ACCOUNT, count: 2 });
  assert.deepEqual(ok(await polyv(ACCOUNT_LIST, {}, { method: 'GET', style: 'ts' })), ['forbidden', 'verboten']);
  assert.deepEqual(ok(await polyv(CHANNEL_LIST, { channelId: 'bw2', type: 'badword' })), [], 'a channel lists its own words');

  assert.deepEqual(await deliver(a, aListener, 'bw2', 'FORBIDDEN fruit'), { code: CODE.badWord, delivered: false });
  assert.deepEqual(await deliver(b, bListener, 'bw3', 'ist verboten'), { code: CODE.badWord, delivered: false });

  assert.deepEqual(ok(await polyv(ACCOUNT_DELETE, { words: 'forbidden,nothing' })), ['verboten'], 'answers the words left');
  assert.deepEqual(await deliver(a, aListener, 'bw2', 'FORBIDDEN fruit'), { code: 0, delivered: true });
  assert.deepEqual(await deliver(b, bListener, 'bw3', 'ist verboten'), { code: CODE.badWord, delivered: false });

  // The other app has its own (empty) account list.
  assert.deepEqual(ok(await polyvClient(s, { app: OTHER_APP })(ACCOUNT_LIST, {})), []);
});

test('words with special characters are sent percent-encoded (Polyv: ["&#@"] is sent as ["%26%23%40"]) and kept decoded', async () => {
  await createRoom(s, 'bw-enc');
  const talker = await RawClient.connect(s, 'enc-talker', 'bw-enc');
  const listener = await RawClient.connect(s, 'enc-listener', 'bw-enc');
  assert.deepEqual(ok(await polyv(ADD(), { channelId: 'bw-enc', words: JSON.stringify(['%26%23%40', 'plain', '%E5%9D%8F']) }, { style: 'java' })), { userId: ACCOUNT, count: 3 });
  assert.deepEqual(ok(await polyv(CHANNEL_LIST, { channelId: 'bw-enc', type: 'badword' })), ['&#@', 'plain', '坏']);
  assert.deepEqual(await deliver(talker, listener, 'bw-enc', 'say &#@ now'), { code: CODE.badWord, delivered: false });
  assert.deepEqual(await deliver(talker, listener, 'bw-enc', 'say %26%23%40 now'), { code: 0, delivered: true });
  // A word that is not valid percent-encoding is refused, as a badly encoded custom message is.
  assertError(await polyv(ADD(), { channelId: 'bw-enc', words: JSON.stringify(['100%']) }), 400, 'param validate error');
  talker.close();
  listener.close();
});

test('a word is refused however its letters\' case is written, and as listed: İ, Kelvin and Ohm signs, ẞ, letters beyond the BMP (realtime and send-chat)', async () => {
  // Letters whose toLowerCase() a RegExp's non-unicode `i` flag does not undo (İ lower-cases to
  // two code units), or does not fold at all (outside the BMP).
  const words: Array<{ word: string; spellings: string[] }> = [
    { word: 'İblis', spellings: ['IBLIS', 'iblis', 'İBLIS'] },
    { word: '\u212Aelvin', spellings: ['KELVIN', 'kelvin', '\u212AELVIN'] },
    { word: '\u2126hm', spellings: ['ΩHM', 'ωhm', '\u2126HM'] },
    { word: 'STRA\u1E9EE', spellings: ['straße', 'Straße'] },
    { word: '\u{10400}\u{10401}', spellings: ['\u{10428}\u{10429}'] },
  ];
  await createRoom(s, 'bw-case');
  const talker = await RawClient.connect(s, 'case-talker', 'bw-case');
  const listener = await RawClient.connect(s, 'case-listener', 'bw-case');
  const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
  ok(await polyv(ADD(), { channelId: 'bw-case', words: JSON.stringify(words.map((w) => encodeURIComponent(w.word))) }, { style: 'java' }));
  assert.deepEqual(ok(await polyv(CHANNEL_LIST, { channelId: 'bw-case', type: 'badword' })), words.map((w) => w.word));
  for (const { word, spellings } of words) {
    for (const spelling of [word, ...spellings]) {
      const text = `say ${spelling} now`;
      // A member over the realtime API: refused 110012 and told the word as listed.
      const r = await talker.req('sendMessage', { roomId: 'bw-case', text });
      assert.equal(r.code, CODE.badWord, text);
      assert.equal(r.message, `the message contains a prohibited word: ${word}`);
      // The app's server in the member's name (send-chat).
      assertError(await polyv(`/live/v1/channelSetting/bw-case/send-chat`, { userId: 'case-talker', content: b64url(text) }), 500, 'access forbidden');
    }
  }
  // Nobody got any of them: once a clean message sent after them all has arrived, it was the only one.
  assert.equal(ok(await polyv(`/live/v1/channelSetting/bw-case/send-chat`, { userId: 'case-talker', content: b64url('clean') })), 'success');
  await listener.take('messageReceived', (f) => f.text === 'clean');
  assert.deepEqual(
    listener.events.filter((f) => f.event === 'messageReceived').map((f) => f.text),
    [],
  );
  assert.deepEqual(await deliver(talker, listener, 'bw-case', 'a clean message'), { code: 0, delivered: true });
  // Deleted in another case of its letters, the word is no longer refused.
  assert.equal(ok(await polyv(DEL_BANNED('bw-case'), { type: 'badword', content: 'IBLIS' })), 'success');
  assert.deepEqual(await deliver(talker, listener, 'bw-case', 'say İblis now'), { code: 0, delivered: true });
  talker.close();
  listener.close();
});

test('the lists survive a restart; messages are still screened after it', async () => {
  await createRoom(s, 'bw4');
  ok(await polyv(ADD(), { channelId: 'bw4', words: JSON.stringify(['durable']) }));
  await s.close();
  await start();
  assert.deepEqual(ok(await polyv(CHANNEL_LIST, { channelId: 'bw4', type: 'badword' })), ['durable']);
  assert.deepEqual(ok(await polyv(ACCOUNT_LIST, {})), ['verboten']);
  const t = await RawClient.connect(s, 't', 'bw4');
  const l = await RawClient.connect(s, 'l', 'bw4');
  assert.deepEqual(await deliver(t, l, 'bw4', 'so durable'), { code: CODE.badWord, delivered: false });
  assert.deepEqual(await deliver(t, l, 'bw4', 'ist verboten'), { code: CODE.badWord, delivered: false });
});

test('documented errors: parameters, account id, channel, signature', async () => {
  await createRoom(s, 'bw5');
  assertError(await polyv(ADD(), { channelId: 'bw5' }), 400, 'param should not be empty: words');
  assertError(await polyv(ADD(), { channelId: 'bw5', words: 'spam' }), 400, 'json format error');
  assertError(await polyv(ADD(), { channelId: 'bw5', words: '[1,2]' }), 400, 'json format error');
  assertError(await polyv(ADD(), { channelId: 'bw5', words: '["", " "]' }), 400, 'param should not be empty: words');
  assertError(await polyv(ADD(), { channelId: 'bw5', words: JSON.stringify(['x'.repeat(21)]) }), 400, 'param length is incorrect: words');
  assertError(await polyv(ADD('someone-else'), { channelId: 'bw5', words: '["a"]' }), 400, 'param validate error');
  assertError(await polyv(ADD(), { channelId: 'nowhere', words: '["a"]' }), 404, 'channel not found.');
  assertError(await polyv(ADD(), { channelId: 'bw5', words: '["a"]' }, { sign: '0'.repeat(32) }), 403, 'invalid signature.');
  assertError(await polyv(ACCOUNT_DELETE, {}), 400, 'param should not be empty: words');
  assertError(await polyv(DEL_BANNED('bw5'), { type: 'badword' }), 400, 'param should not be empty: content');
  assertError(await polyv(DEL_BANNED('nowhere'), { type: 'badword', content: 'a' }), 404, 'channel not found.');
  assertError(await polyv(CHANNEL_LIST, { channelId: 'nowhere', type: 'badword' }), 404, 'channel not found.');
  assertError(await polyv(CHANNEL_LIST, { channelId: 'bw5', type: 'word' }), 400, 'param validate error');
  // Without a configured account id, the path's id is not checked.
  assert.deepEqual(ok(await polyvClient(s, { app: OTHER_APP })(ADD('any-id'), { words: '["x"]' })), { userId: 'any-id', count: 1 });
});
