// Polyv chat history endpoints over real HTTP, signed as Polyv's SDKs sign: a channel's history
// by time range (get-history-page), the account's records by cursor (get-speak-list), and deleting
// (delChat, remove-contents, cleanChat) — which reaches connected WebSocket clients (raw frames and
// the TypeScript client) and which history forgets, over HTTP and the realtime `history` op.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/core/engine.js';
import { APP, startTestServer, tempData, type TestServer } from './support/harness.js';
import { assertError, ok, polyvClient } from './support/polyv.js';
import { RawClient, client, closeClients, createRoom, sleep } from './realtime-support.js';

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

const HISTORY = '/live/v3/channel/chat/get-history-page';
const SPEAK = '/live/v3/user/chat/get-speak-list';
const DEL = (channelId: string) => `/live/v2/chat/${channelId}/delChat`;
const CLEAN = (channelId: string) => `/live/v2/chat/${channelId}/cleanChat`;
const REMOVE = '/live/v3/channel/chat/remove-contents';

/** Polyv's day and time parameters are China Standard Time (UTC+8). */
const cst = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
const cstDay = (ms: number) => cst(ms).slice(0, 10);
const DAY = 24 * 3600_000;

/** The whole test's window, as get-history-page takes it. */
function window(fromMs: number) {
  return { startDay: cst(fromMs - 2000), endDay: cst(Date.now() + 2000) };
}

async function say(c: RawClient, roomId: string, text: string): Promise<string> {
  return (await c.ok('sendMessage', { roomId, text })).msgId;
}

test('get-history-page: a channel\'s chat in a time range, newest first, numbered pages; documented errors', async () => {
  const start = Date.now();
  await createRoom(s, 'hist1');
  const alice = await RawClient.connect(s, 'alice', 'hist1', { nick: 'Alice', avatar: 'https://example.com/a.png' });
  const one = await say(alice, 'hist1', 'one');
  const two = await say(alice, 'hist1', 'two');
  const admin = ok(await polyv('/live/v3/channel/chat/send-admin-msg', { channelId: 'hist1', msg: 'three', pic: 'https://example.com/p.png', nickName: 'Host' }));

  for (const [style, method] of [['php', 'POST'], ['java', 'POST'], ['ts', 'GET']] as const) {
    const page = ok(await polyv(HISTORY, { channelId: 'hist1', ...window(start) }, { style, method }));
    assert.deepEqual(page.map((m: any) => m.content), ['three', 'two', 'one'], style);
  }
  const [a, , m1] = ok(await polyv(HISTORY, { channelId: 'hist1', ...window(start) }));
  assert.deepEqual(m1, {
    id: one, content: 'one', image: '', msgType: '', roomId: 'hist1', sessionId: '', sourceType: 'public', status: 'pass',
    time: m1.time, userType: 'student',
    user: { nick: 'Alice', pic: 'https://example.com/a.png', userId: 'alice', userType: 'student', actor: '', roomId: 'hist1', channelId: 'hist1' },
  });
  assert.ok(m1.time >= start - 1000 && m1.time <= Date.now(), 'time is the 13-digit ms it was sent');
  assert.deepEqual([a.id, a.userType, a.user.nick, a.user.pic], [admin, 'manager', 'Host', 'https://example.com/p.png']);

  // Days alone cover whole days; pages are numbered.
  const days = { startDay: cstDay(start - DAY), endDay: cstDay(Date.now() + DAY) };
  assert.equal(ok(await polyv(HISTORY, { channelId: 'hist1', ...days })).length, 3);
  assert.deepEqual(ok(await polyv(HISTORY, { channelId: 'hist1', ...days, page: 2, pageSize: 2 })).map((m: any) => m.id), [one]);
  assert.deepEqual(ok(await polyv(HISTORY, { channelId: 'hist1', ...days, page: 3, pageSize: 2 })), []);
  assert.deepEqual(ok(await polyv(HISTORY, { channelId: 'hist1', ...days, page: 1, pageSize: 1 })).map((m: any) => m.id), [admin]);
  // Outside the range, nothing; two is inside a range of its own second.
  assert.deepEqual(ok(await polyv(HISTORY, { channelId: 'hist1', startDay: cstDay(Date.now() + DAY), endDay: cstDay(Date.now() + 2 * DAY) })), []);
  // Over 1000 a page: no contents (Polyv's documented behaviour); held messages and admin private chat: none kept.
  assert.deepEqual(ok(await polyv(HISTORY, { channelId: 'hist1', ...days, pageSize: 1001 })), []);
  assert.deepEqual(ok(await polyv(HISTORY, { channelId: 'hist1', ...days, status: 'censor' })), []);
  assert.deepEqual(ok(await polyv(HISTORY, { channelId: 'hist1', ...days, source: 'extend' })), []);
  assert.equal(ok(await polyv(HISTORY, { channelId: 'hist1', ...days, status: 'pass', source: 'public', hasTotal: 'N', userType: 'student' })).length, 3);
  assert.ok(two);

  assertError(await polyv(HISTORY, { channelId: 'hist1', endDay: days.endDay }), 400, 'param should not be empty: startDay');
  assertError(await polyv(HISTORY, { channelId: 'hist1', startDay: days.startDay }), 400, 'param should not be empty: endDay');
  assertError(await polyv(HISTORY, days), 400, 'param should not be empty: channelId');
  for (const bad of ['2024/01/01', '2024-02-30', '2024-01-01 25:00:00', '2024-01-01T10:00:00', 'yesterday']) {
    assertError(await polyv(HISTORY, { channelId: 'hist1', startDay: bad, endDay: days.endDay }), 400, 'param validate error');
  }
  assertError(await polyv(HISTORY, { channelId: 'hist1', ...days, page: 0 }), 400, 'number range error');
  assertError(await polyv(HISTORY, { channelId: 'hist1', ...days, pageSize: 0 }), 400, 'number range error');
  assertError(await polyv(HISTORY, { channelId: 'hist1', ...days, page: 'x' }), 400, 'param is not digit: page');
  assertError(await polyv(HISTORY, { channelId: 'hist1', ...days, status: 'delete' }), 400, 'param validate error');
  assertError(await polyv(HISTORY, { channelId: 'hist1', ...days, source: 'private' }), 400, 'param validate error');
  assertError(await polyv(HISTORY, { channelId: 'hist1', ...days, hasTotal: 'yes' }), 400, 'param is not boolean (Y / N)');
  assertError(await polyv(HISTORY, { channelId: 'nowhere', ...days }), 404, 'channel not found.');
  assertError(await polyv(HISTORY, { channelId: 'hist1', ...days }, { sign: 'F'.repeat(32) }), 403, 'invalid signature.');
  alice.close();
});

test('delChat, remove-contents, cleanChat: connected clients are told, and history forgets the messages', async () => {
  const start = Date.now();
  await createRoom(s, 'hist2', { owner: 'owner' });
  const alice = await RawClient.connect(s, 'alice2', 'hist2');
  const bob = client(s, 'bob2');
  await bob.connect();
  await bob.enterRoom({ roomId: 'hist2' });
  const told: any[] = [];
  bob.on('messagesDeleted', (e) => told.push(e));
  bob.on('chatCleared', (e) => told.push({ cleared: e.roomId }));
  const ids = [];
  for (const text of ['m1', 'm2', 'm3', 'm4']) ids.push(await say(alice, 'hist2', text));
  const history = async () => ok(await polyv(HISTORY, { channelId: 'hist2', ...window(start) })).map((m: any) => m.content);
  const realtimeHistory = async () => (await alice.ok('history', { roomId: 'hist2' })).messages.map((m: any) => m.text);
  assert.deepEqual(await history(), ['m4', 'm3', 'm2', 'm1']);

  // delChat: by the id history gives, as the Java SDK sends it (form body).
  assert.equal(ok(await polyv(DEL('hist2'), { id: ids[0] }, { style: 'java' })), 'success');
  assert.deepEqual((await alice.take('messagesDeleted')).msgIds, [ids[0]]);
  assert.deepEqual(await history(), ['m4', 'm3', 'm2']);
  assert.deepEqual(await realtimeHistory(), ['m4', 'm3', 'm2']);

  // remove-contents: several ids; unknown ones are skipped and it still succeeds.
  assert.equal(ok(await polyv(REMOVE, { channelId: 'hist2', ids: `${ids[1]},no-such-id, ${ids[2]}` }, { style: 'ts' })), 'remove chat contents success');
  assert.deepEqual((await alice.take('messagesDeleted')).msgIds, [ids[1], 'no-such-id', ids[2]]);
  assert.deepEqual(await history(), ['m4']);
  assert.deepEqual(await realtimeHistory(), ['m4']);

  // cleanChat: GET as the TypeScript SDK calls it, POST as documented.
  assert.equal(ok(await polyv(CLEAN('hist2'), {}, { method: 'GET', style: 'ts' })), true);
  await alice.take('chatCleared');
  assert.deepEqual(await history(), []);
  assert.deepEqual(await realtimeHistory(), []);
  assert.equal(ok(await polyv(CLEAN('hist2'), {}, { style: 'java' })), true);
  await alice.take('chatCleared');

  // The TypeScript client got the same, in order.
  const deadline = Date.now() + 5000;
  while (told.length < 4 && Date.now() < deadline) await sleep(20);
  assert.deepEqual(told.map((e) => e.msgIds ?? e.cleared), [[ids[0]], [ids[1], 'no-such-id', ids[2]], 'hist2', 'hist2']);

  // Chat goes on after a clean.
  const later = await say(alice, 'hist2', 'after');
  assert.deepEqual(await history(), ['after']);

  assertError(await polyv(DEL('hist2'), {}), 400, 'param should not be empty: id');
  assertError(await polyv(DEL('nowhere'), { id: later }), 404, 'channel not found.');
  assertError(await polyv(DEL('hist2'), { id: later }, { sign: 'F'.repeat(32) }), 403, 'invalid signature.');
  assertError(await polyv(REMOVE, { ids: later }), 400, 'param should not be empty: channelId');
  assertError(await polyv(REMOVE, { channelId: 'hist2' }), 400, 'param should not be empty: ids');
  assertError(await polyv(REMOVE, { channelId: 'hist2', ids: ' , ' }), 400, 'param should not be empty: ids');
  assertError(await polyv(REMOVE, { channelId: 'hist2', ids: Array.from({ length: 101 }, (_, i) => `x${i}`).join(',') }), 400, 'param length is incorrect: ids');
  assertError(await polyv(REMOVE, { channelId: 'nowhere', ids: later }), 404, 'channel not found.');
  assertError(await polyv(REMOVE, { channelId: 'hist2', ids: later }, { sign: 'F'.repeat(32) }), 403, 'invalid signature.');
  assertError(await polyv(CLEAN('nowhere'), {}), 404, 'channel not found.');
  assertError(await polyv(CLEAN('hist2'), {}, { sign: 'F'.repeat(32) }), 403, 'invalid signature.');
  // Nothing refused was deleted, and nobody was told anything more.
  assert.deepEqual(await history(), ['after']);
  assert.ok(!(await alice.drain()).some((e) => e === 'messagesDeleted' || e === 'chatCleared'));
  alice.close();
});

test('get-speak-list: the account\'s chat records of every channel, oldest first, by cursor', async () => {
  await createRoom(s, 'speak1');
  await createRoom(s, 'speak2');
  const startTime = Date.now();
  const sent = [];
  for (const [roomId, content] of [['speak2', 's-a'], ['speak1', 's-b'], ['speak2', 's-c']]) {
    ok(await polyv('/live/v3/channel/chat/send', { channelId: roomId, content, role: 'ADMIN' }));
    sent.push([roomId, content]);
    await sleep(5); // distinct times: the order is by time
  }
  const endTime = Date.now();
  const range = { startTime, endTime };
  const first = ok(await polyv(SPEAK, { ...range, size: 2 }, { method: 'GET', style: 'ts' }));
  assert.equal(first.size, 2);
  assert.match(first.cursor, /^[\w-]+$/, 'an opaque cursor, URL-safe');
  assert.deepEqual(first.list.map((m: any) => [m.roomId, m.content]), sent.slice(0, 2));
  // A record as Polyv's page documents it: `user` is the sender as a JSON string, then clientIP,
  // msgType, userType, sessionId, quote and the account id.
  const [r0] = first.list;
  assert.deepEqual(r0, {
    id: r0.id, roomId: 'speak2', content: 's-a',
    user: JSON.stringify({ banned: false, channelId: 'speak2', clientIp: '', nick: '', pic: '', roomId: 'speak2', uid: '', userId: 'polyvapp1', userType: 'manager' }),
    image: '', time: r0.time, clientIP: '', msgType: null, userType: 'manager', sessionId: null, quote: null, accountId: '',
  });
  assert.deepEqual(Object.keys(r0), ['id', 'roomId', 'content', 'user', 'image', 'time', 'clientIP', 'msgType', 'userType', 'sessionId', 'quote', 'accountId']);
  assert.equal(typeof r0.time, 'number');
  const second = ok(await polyv(SPEAK, { ...range, size: 2, cursor: first.cursor }, { style: 'java' }));
  assert.deepEqual(second.list.map((m: any) => m.content), ['s-c']);
  const end = ok(await polyv(SPEAK, { ...range, size: 2, cursor: second.cursor }));
  assert.deepEqual([end.cursor, end.list], [second.cursor, []], 'at the end, the same cursor: to call again with later');
  // The cursor answered before this one (the number of records already read) is still taken.
  const legacy = ok(await polyv(SPEAK, { ...range, size: 2, cursor: '2' }));
  assert.deepEqual([legacy.cursor, legacy.list.map((m: any) => m.content)], [second.cursor, ['s-c']]);
  assert.deepEqual(ok(await polyv(SPEAK, { ...range, size: 2, cursor: '3' })), { cursor: '3', size: 2, list: [] });
  // Default size 10; no range = every record kept.
  assert.equal(ok(await polyv(SPEAK, range)).size, 10);
  assert.ok(ok(await polyv(SPEAK, {})).list.length >= 3);
  assert.deepEqual(ok(await polyv(SPEAK, { startTime: endTime + 1000, endTime: endTime + 2000 })).list, []);

  assertError(await polyv(SPEAK, { size: 0 }), 400, 'number range error');
  assertError(await polyv(SPEAK, { size: 1001 }), 400, 'number range error');
  // A cursor this endpoint did not answer.
  for (const cursor of ['abc', '6_2', first.cursor.slice(0, -2), Buffer.from('[1,"r",-1,"x"]').toString('base64url'), Buffer.from('{"at":1}').toString('base64url')]) {
    assertError(await polyv(SPEAK, { cursor }), 400, 'param validate error');
  }
  assertError(await polyv(SPEAK, { cursor: '1'.repeat(16) }), 400, 'param is not digit: cursor');
  assertError(await polyv(SPEAK, { startTime: 'yesterday' }), 400, 'param is not digit: startTime');
  assertError(await polyv(SPEAK, { startTime: Math.floor(startTime / 1000) }), 400, 'param validate error'); // seconds, not ms
  assertError(await polyv(SPEAK, {}, { sign: 'F'.repeat(32) }), 403, 'invalid signature.');
});

/** Every record from `cursor` on, a page of `size` at a time, `between` run after each page. */
async function speakOn(cursor: string | undefined, size: number, range: object, between: (page: any[]) => Promise<void> = async () => {}): Promise<any[]> {
  const read: any[] = [];
  for (let pages = 0; ; pages++) {
    assert.ok(pages < 100, 'the pages end');
    const page = ok(await polyv(SPEAK, { ...range, size, ...(cursor === undefined ? {} : { cursor }) }));
    if (page.list.length === 0) return read;
    read.push(...page.list);
    cursor = page.cursor;
    await between(page.list);
  }
}

test('get-speak-list: records deleted after they were read (delChat, remove-contents, cleanChat, the cursor\'s own) skip no unread record, repeat none', async () => {
  for (const r of ['spk-a', 'spk-b', 'spk-c']) await createRoom(s, r);
  const range = { startTime: Date.now() };
  const send = async (channelId: string, content: string) => ok(await polyv('/live/v3/channel/chat/send', { channelId, content, role: 'ADMIN' }));
  for (const [roomId, content] of [['spk-c', 'c1'], ['spk-c', 'c2'], ['spk-a', 'a1'], ['spk-b', 'b1'], ['spk-a', 'a2'], ['spk-b', 'b2'], ['spk-a', 'a3'], ['spk-b', 'b3'], ['spk-a', 'a4']]) {
    await send(roomId, content);
  }
  const all = (await speakOn(undefined, 1000, range)).map((m) => m.content);
  assert.deepEqual(all, ['c1', 'c2', 'a1', 'b1', 'a2', 'b2', 'a3', 'b3', 'a4']);
  let page = 0;
  const read = await speakOn(undefined, 2, range, async (list) => {
    page++;
    const ids = list.map((m) => m.id);
    // Page 1 (c1, c2): the whole channel is cleared. Page 2 (a1, b1): both deleted one by one,
    // the cursor's own record too. Page 3 (a2, b2): a2 removed; new chat arrives meanwhile.
    if (page === 1) assert.equal(ok(await polyv(CLEAN('spk-c'), {})), true);
    if (page === 2) for (const m of list) assert.equal(ok(await polyv(DEL(m.roomId), { id: m.id })), 'success');
    if (page === 3) {
      assert.equal(ok(await polyv(REMOVE, { channelId: 'spk-a', ids: ids[0] })), 'remove chat contents success');
      await send('spk-b', 'b4');
    }
  });
  assert.deepEqual(read.map((m) => m.content), [...all, 'b4'], 'every record read once, in order');
  // Read again from the start: what is left.
  assert.deepEqual((await speakOn(undefined, 3, range)).map((m) => m.content), ['b2', 'a3', 'b3', 'a4', 'b4']);
});

test('get-speak-list: records expiring by retention between two calls skip no unread record', async () => {
  // Kept 3 s; the first two records were written 2.5 s ago (by an engine on that clock), so they
  // expire between the first call and the next.
  const data = tempData();
  const own = await startTestServer({ data, chatRetentionHours: 3 / 3600 });
  try {
    const call = polyvClient(own);
    await createRoom(own, 'spk-r');
    const admin = { kind: 'admin', userId: APP.admins[0] } as const;
    const past = new Engine(own.server.store, own.server.bus, () => Date.now() - 2500);
    for (const text of ['old1', 'old2']) await past.execute(APP.sdkAppId, admin, { type: 'sendAdminMessage', roomId: 'spk-r', text, nick: '', avatar: '' });
    for (const content of ['n1', 'n2', 'n3', 'n4']) ok(await call('/live/v3/channel/chat/send', { channelId: 'spk-r', content, role: 'ADMIN' }));
    const first = ok(await call(SPEAK, { size: 2 }));
    assert.deepEqual(first.list.map((m: any) => m.content), ['old1', 'old2']);
    await sleep(800);
    assert.deepEqual(ok(await call(SPEAK, { size: 10 })).list.map((m: any) => m.content), ['n1', 'n2', 'n3', 'n4'], 'the first two expired');
    const read = [...first.list];
    for (let cursor = first.cursor; ; ) {
      const next = ok(await call(SPEAK, { size: 2, cursor }));
      if (next.list.length === 0) break;
      read.push(...next.list);
      cursor = next.cursor;
    }
    assert.deepEqual(read.map((m: any) => m.content), ['old1', 'old2', 'n1', 'n2', 'n3', 'n4']);
  } finally {
    await own.close();
    await data.remove();
  }
});
