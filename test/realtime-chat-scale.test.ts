// Chat at scale: a turn's messages to one room share one store unit, every member gets every
// message once and in order, each acknowledged message is in the history (paged by the
// `history` op), a refused message fails alone, and the per-user rate limit answers 110014.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { asAdmin, asUser, startTestServer, type TestServer } from './support/harness.js';
import { RawClient, closeClients, createRoom, eventually, sleep } from './realtime-support.js';

let s: TestServer;
before(async () => {
  s = await startTestServer({ realtime: { messagesPerSecond: 0 } });
});
after(async () => {
  await closeClients();
  await s.close();
});

test('40 members sending at once: few units, everyone gets all 40 once and in the same order, all in history', async () => {
  await createRoom(s, 'cs-burst', { owner: 'own' });
  const users = Array.from({ length: 40 }, (_, i) => `cb${i}`);
  const clients = await Promise.all(users.map((u) => RawClient.connect(s, u, 'cs-burst')));
  await Promise.all(clients.map((c) => c.drain()));
  const unitsBefore = s.server.engine.batches.units;
  const acks = await Promise.all(clients.map((c, i) => c.ok('sendMessage', { roomId: 'cs-burst', text: `hello ${i}` })));
  const units = s.server.engine.batches.units - unitsBefore;
  assert.ok(units < 40, `${units} units for 40 messages`);

  let order: string[] | undefined;
  for (const c of clients) {
    await eventually(() => c.events.filter((e) => e.event === 'messageReceived').length >= 40, 10_000, `${c.userId} gets 40`);
    await c.sync();
    const got = c.events.filter((e) => e.event === 'messageReceived');
    assert.equal(got.length, 40);
    const seqs = got.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in seq order');
    const ids = got.map((e) => e.msgId);
    order ??= ids;
    assert.deepEqual(ids, order, 'the same order for everyone');
  }
  // Every acknowledged message is in the history, newest first, paged.
  const all: any[] = [];
  let beforeSeq: number | undefined;
  for (let pages = 0; pages < 10; pages++) {
    const page = await clients[0].ok('history', { roomId: 'cs-burst', count: 15, ...(beforeSeq ? { beforeSeq } : {}) });
    all.push(...page.messages);
    if (page.next === 0) break;
    beforeSeq = page.next;
  }
  assert.equal(all.length, 40);
  assert.deepEqual(new Set(all.map((m) => m.id)), new Set(acks.map((a) => a.msgId)));
  assert.deepEqual(all.map((m) => m.id), [...order!].reverse());
  assert.equal(all.find((m) => m.id === acks[3].msgId).text, 'hello 3');
  for (const c of clients) c.close();
});

test('a muted sender in a batch fails alone; the others go', async () => {
  await createRoom(s, 'cs-mute');
  const [a, b, m] = await Promise.all(['ca', 'cb', 'cm'].map((u) => RawClient.connect(s, u, 'cs-mute')));
  await asAdmin(s, { type: 'setMuted', roomId: 'cs-mute', subjectType: 'userId', subjects: ['cm'], muted: true, origin: 'tencent' });
  const [ra, rm, rb] = await Promise.all([
    a.req('sendMessage', { roomId: 'cs-mute', text: 'a' }),
    m.req('sendMessage', { roomId: 'cs-mute', text: 'm' }),
    b.req('sendMessage', { roomId: 'cs-mute', text: 'b' }),
  ]);
  assert.equal(ra.code, 0);
  assert.equal(rb.code, 0);
  assert.equal(rm.code, 110005);
  const h = await a.ok('history', { roomId: 'cs-mute' });
  assert.deepEqual(h.messages.map((x: { text: string }) => x.text).sort(), ['a', 'b']);
  for (const c of [a, b, m]) c.close();
});

test('history: members only; moderators delete by id and clear; a room created again starts empty', async () => {
  await createRoom(s, 'cs-hist', { owner: 'own' });
  const own = await RawClient.connect(s, 'own', 'cs-hist');
  const mem = await RawClient.connect(s, 'mem', 'cs-hist');
  const ids = [];
  for (const text of ['one', 'two', 'three']) ids.push((await mem.ok('sendMessage', { roomId: 'cs-hist', text })).msgId);
  const admin = await asAdmin(s, { type: 'sendAdminMessage', roomId: 'cs-hist', text: 'notice', nick: 'Host', avatar: '' });
  const h = await mem.ok('history', { roomId: 'cs-hist' });
  assert.deepEqual(h.messages.map((x: any) => [x.text, x.admin]), [['notice', true], ['three', false], ['two', false], ['one', false]]);
  assert.equal(h.messages[0].id, admin.msgId);
  assert.equal(h.next, 0);
  await mem.fails('history', { roomId: 'cs-hist', count: 0 }, 100002);
  const stranger = await RawClient.connect(s, 'stranger');
  await stranger.fails('history', { roomId: 'cs-hist' }, 100005);

  await assert.rejects(asUser(s, 'mem', { type: 'deleteMessages', roomId: 'cs-hist', msgIds: [ids[0]] }), { kind: 'PermissionDenied' });
  await asUser(s, 'own', { type: 'deleteMessages', roomId: 'cs-hist', msgIds: [ids[1]] });
  assert.deepEqual((await mem.ok('history', { roomId: 'cs-hist' })).messages.map((x: any) => x.text), ['notice', 'three', 'one']);
  await asAdmin(s, { type: 'clearMessages', roomId: 'cs-hist' });
  assert.deepEqual((await own.ok('history', { roomId: 'cs-hist' })).messages, []);

  await own.ok('sendMessage', { roomId: 'cs-hist', text: 'last words' });
  await asAdmin(s, { type: 'destroyRoom', roomId: 'cs-hist' });
  await sleep(1100); // createTime has second precision
  await createRoom(s, 'cs-hist', { owner: 'own' });
  const again = await RawClient.connect(s, 'own2', 'cs-hist');
  assert.deepEqual((await again.ok('history', { roomId: 'cs-hist' })).messages, []);
  for (const c of [own, mem, stranger, again]) c.close();
});

test('per-user rate limit: over it, 110014 with a clear message; later allowed again', async () => {
  const t = await startTestServer({ realtime: { messagesPerSecond: 2 } });
  try {
    await createRoom(t, 'cs-rate');
    const c = await RawClient.connect(t, 'fast', 'cs-rate');
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push(await c.req('sendMessage', { roomId: 'cs-rate', text: `m${i}` }));
    const limited = replies.filter((r) => r.code === 110014);
    assert.ok(limited.length >= 1, 'a burst over the limit is refused');
    assert.match(limited[0].message, /too many messages/);
    assert.ok(replies.slice(0, 4).every((r) => r.code === 0), 'a burst of twice the rate goes');
    await sleep(700);
    assert.equal((await c.req('sendMessage', { roomId: 'cs-rate', text: 'later' })).code, 0);
    // Refused messages are not in the history.
    const h = await c.ok('history', { roomId: 'cs-rate' });
    assert.equal(h.messages.length, replies.filter((r) => r.code === 0).length + 1);
    c.close();
  } finally {
    await t.close();
  }
});
