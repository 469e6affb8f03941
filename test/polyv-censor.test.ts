// Pre-moderation over real HTTP and WebSocket: with a channel's censorship on, members' messages
// wait (the moderators and the sender see messageHeld) and reach the room only through
// message/audit; moderators' own messages are not held; switching it off lets chat flow again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CODE } from '../src/realtime/protocol.js';
import { startTestServer, tempData, type TestServer } from './support/harness.js';
import { assertError, ok, polyvClient } from './support/polyv.js';
import { RawClient, createRoom } from './realtime-support.js';

let s: TestServer;
let polyv: ReturnType<typeof polyvClient>;

before(async () => {
  s = await startTestServer();
  polyv = polyvClient(s);
});
after(() => s.close());

const CENSOR = '/live/v3/channel/chat/update-censor-enabled';
const AUDIT = '/live/v4/chat/message/audit';

test('censorship holds members\' messages until audited; only audit-passed ones are delivered', async () => {
  await createRoom(s, 'cz1', { owner: 'host' });
  const host = await RawClient.connect(s, 'host', 'cz1');
  const viewer = await RawClient.connect(s, 'viewer', 'cz1', { nick: 'Vee' });
  const listener = await RawClient.connect(s, 'listener', 'cz1');

  assert.equal(ok(await polyv(CENSOR, { channelId: 'cz1', enabled: 'Y' }, { style: 'java' })), true);
  const sent = await viewer.ok('sendMessage', { roomId: 'cz1', text: 'please review me' });
  assert.equal(sent.held, true);
  const rejected = await viewer.ok('sendMessage', { roomId: 'cz1', text: 'this one is rejected' });
  assert.equal(rejected.held, true);
  // The host (a moderator) and the sender see the held messages; the listener sees nothing.
  const held = await host.take('messageHeld', (f) => f.message.text === 'please review me');
  assert.deepEqual([held.message.msgId, held.message.from, held.message.nick], [sent.msgId, 'viewer', 'Vee']);
  await host.take('messageHeld', (f) => f.message.text === 'this one is rejected');
  await viewer.take('messageHeld', (f) => f.message.msgId === sent.msgId);
  // A moderator's own message is not held.
  const own = await host.ok('sendMessage', { roomId: 'cz1', text: 'host speaks' });
  assert.equal(own.held, undefined);
  await listener.take('messageReceived', (f) => f.text === 'host speaks');
  assert.ok(!listener.events.some((f) => f.event === 'messageReceived' || f.event === 'messageHeld'), 'nothing held reached the listener');

  // The app passes one of them (the JSON body is an array; the query is signed).
  const passed = ok(
    await polyv(
      AUDIT,
      { channelId: 'cz1' },
      { json: [{ msgId: sent.msgId, content: 'please review me', viewerId: 'viewer', nickName: 'Vee', avatar: 'https://example.com/v.png' }], style: 'ts' },
    ),
  );
  assert.deepEqual(passed, [{ id: sent.msgId, msgId: sent.msgId, status: true, msg: '' }]);
  const delivered = await listener.take('messageReceived', (f) => f.msgId === sent.msgId);
  assert.deepEqual([delivered.text, delivered.from, delivered.nick, delivered.avatar, delivered.admin], ['please review me', 'viewer', 'Vee', 'https://example.com/v.png', false]);
  await listener.sync();
  assert.ok(!listener.events.some((f) => f.text === 'this one is rejected'), 'the message not passed never arrives');

  // Bad words are refused before review.
  ok(await polyv('/live/v2/chat/any/addBadWords', { channelId: 'cz1', words: '["nasty"]' }));
  await viewer.fails('sendMessage', { roomId: 'cz1', text: 'nasty words' }, CODE.badWord);

  // Off again: chat flows.
  assert.equal(ok(await polyv(CENSOR, { channelId: 'cz1', enabled: 'N' })), false);
  const free = await viewer.ok('sendMessage', { roomId: 'cz1', text: 'free speech' });
  assert.equal(free.held, undefined);
  await listener.take('messageReceived', (f) => f.text === 'free speech');
});

test('documented errors of update-censor-enabled and message/audit', async () => {
  await createRoom(s, 'cz2');
  ok(await polyv(CENSOR, { channelId: 'cz2', enabled: 'Y' }));
  // Without `enabled`, the switch is turned over (Polyv: "不传时根据当前开关值进行开启/关闭").
  assert.equal(ok(await polyv(CENSOR, { channelId: 'cz2' })), false);
  assert.equal(ok(await polyv(CENSOR, { channelId: 'cz2', enabled: '' }, { style: 'java' })), true);
  assert.equal(ok(await polyv(CENSOR, { channelId: 'cz2' }, { method: 'GET', style: 'ts' })), false);
  assert.equal(ok(await polyv(CENSOR, { channelId: 'cz2', enabled: 'Y' })), true);
  assertError(await polyv(CENSOR, { enabled: 'Y' }), 400, 'param should not be empty: channelId');
  assertError(await polyv(CENSOR, { channelId: 'cz2', enabled: 'yes' }), 400, 'param is not boolean (Y / N)');
  assertError(await polyv(CENSOR, { channelId: 'nowhere', enabled: 'Y' }), 404, 'channel not found.');
  assertError(await polyv(CENSOR, { channelId: 'cz2', enabled: 'Y' }, { sign: 'A'.repeat(32) }), 403, 'invalid signature.');

  const item = { msgId: 'm1', content: 'text', viewerId: 'v1', nickName: 'n' };
  assertError(await polyv(AUDIT, {}, { json: [item] }), 400, 'param should not be empty: channelId');
  assertError(await polyv(AUDIT, { channelId: 'cz2' }, { json: item }), 400, 'json format error');
  assertError(await polyv(AUDIT, { channelId: 'cz2' }, { json: [] }), 400, 'param should not be empty: msgId');
  for (const field of ['msgId', 'content', 'viewerId', 'nickName'] as const) {
    const { [field]: _gone, ...rest } = item;
    assertError(await polyv(AUDIT, { channelId: 'cz2' }, { json: [rest] }), 400, `param should not be empty: ${field}`);
  }
  assertError(await polyv(AUDIT, { channelId: 'cz2' }, { json: [{ ...item, content: 7 }] }), 400, 'json format error');
  assertError(await polyv(AUDIT, { channelId: 'cz2' }, { json: [{ ...item, content: 'x'.repeat(2001) }] }), 400, 'param length is incorrect: content');
  assertError(await polyv(AUDIT, { channelId: 'nowhere' }, { json: [item] }), 404, 'channel not found.');
  assertError(await polyv(AUDIT, { channelId: 'cz2' }, { method: 'GET' }), 404, 'api not found.');
});

test('censorship is kept with the room: still on after a restart', async () => {
  const data = tempData();
  let t = await startTestServer({ data });
  try {
    await createRoom(t, 'cz3');
    ok(await polyvClient(t)(CENSOR, { channelId: 'cz3', enabled: 'Y' }));
    await t.close();
    t = await startTestServer({ data });
    const viewer = await RawClient.connect(t, 'v3', 'cz3');
    assert.equal((await viewer.ok('sendMessage', { roomId: 'cz3', text: 'held?' })).held, true);
    viewer.close();
  } finally {
    await t.close();
    await data.remove();
  }
});

test('message/audit retried, or naming a msgId twice, delivers the message once', async () => {
  await createRoom(s, 'cz3', { owner: 'host' });
  const listener = await RawClient.connect(s, 'listener', 'cz3');
  const item = (msgId: string, content: string) => ({ msgId, content, viewerId: 'viewer', nickName: 'Vee' });
  const audit = async (items: object[]) => ok(await polyv(AUDIT, { channelId: 'cz3' }, { json: items, style: 'ts' }));
  // One call naming m1 twice, with m2 between.
  const first = await audit([item('m1', 'first text'), item('m2', 'second'), item('m1', 'first text, again')]);
  assert.deepEqual(first.map((x: { msgId: string; status: boolean }) => [x.msgId, x.status]), [['m1', true], ['m2', true], ['m1', true]]);
  // The app got no answer in time and sends the call again: answered as before, nothing new.
  const again = await audit([item('m1', 'first text'), item('m2', 'second')]);
  assert.deepEqual(again.map((x: { msgId: string; status: boolean }) => [x.msgId, x.status]), [['m1', true], ['m2', true]]);
  await audit([item('m3', 'third')]);
  const third = await listener.take('messageReceived', (f) => f.msgId === 'm3'); // taken out of listener.events
  await listener.sync();
  const got = [...listener.events.filter((f) => f.event === 'messageReceived'), third].map((f) => [f.msgId, f.text]);
  assert.deepEqual(got, [['m1', 'first text'], ['m2', 'second'], ['m3', 'third']]);
  const history = await listener.ok('history', { roomId: 'cz3' });
  assert.deepEqual(history.messages.map((m: { id: string; text: string }) => [m.id, m.text]).reverse(), got);
});
