// A join storm of modest size: entries batched into few store units, every acknowledged entry
// in the store, /healthz answering during the storm, and entries mixed with chat in one batch.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_STORE, asAdmin, startTestServer, type TestServer } from './support/harness.js';
import { RawClient, closeClients, createRoom, memberIds } from './realtime-support.js';

let s: TestServer;
before(async () => {
  s = await startTestServer({ realtime: { messagesPerSecond: 0 } });
});
after(async () => {
  await closeClients();
  await s.close();
});

// PostgreSQL entries cost several round trips each, queued behind one another in the room: a
// smaller storm keeps every reply within the test client's 5 s.
const STORM = TEST_STORE ? 120 : 300;

test(`${STORM} clients entering at once, with 500 deny entries: few units, all in, /healthz answers`, async () => {
  await createRoom(s, 'storm', { maxMembers: 1000 });
  for (let i = 0; i < 500; i += 20) {
    const userIds = Array.from({ length: 20 }, (_, k) => `denied${i + k}`);
    await asAdmin(s, { type: 'banUsers', roomId: '', userIds, durationSec: null, reason: 'x', origin: 'tencent' });
  }
  const users = Array.from({ length: STORM }, (_, i) => `st${i}`);
  const clients: RawClient[] = [];
  for (let i = 0; i < users.length; i += 100) clients.push(...(await Promise.all(users.slice(i, i + 100).map((u) => RawClient.open(s, u)))));
  const unitsBefore = s.server.engine.batches.units;
  const health = (async () => {
    const t = Date.now();
    const r = await fetch(`${s.url}/healthz`);
    return { status: r.status, ms: Date.now() - t };
  })();
  const replies = await Promise.all(clients.map((c) => c.req('enterRoom', { roomId: 'storm' })));
  const units = s.server.engine.batches.units - unitsBefore;
  assert.deepEqual([...new Set(replies.map((r) => r.code))], [0]);
  assert.ok(units < STORM / 3, `${units} store units for ${STORM} entries`);
  assert.equal((await health).status, 200);
  assert.equal((await asAdmin(s, { type: 'getRoomInfo', roomId: 'storm' })).memberCount, STORM);
  // A denied user is still refused in the storm's wake.
  const denied = await RawClient.open(s, 'denied7');
  await denied.fails('enterRoom', { roomId: 'storm' }, 110003);
  for (const c of [...clients, denied]) c.close();
});

test('clients that leave while their entries wait in a storm never stay in the room', async () => {
  await createRoom(s, 'leavers', { maxMembers: 1000 });
  // More entries at once than the gateway runs together (op-slots.ts): the last ones wait for a
  // slot while the leavers' sockets close. Their leaving must still come after their entries.
  const stayers = await Promise.all(Array.from({ length: STORM }, (_, i) => RawClient.open(s, `stay${i}`)));
  const leavers = await Promise.all(Array.from({ length: 40 }, (_, i) => RawClient.open(s, `leave${i}`)));
  const replies = Promise.all(stayers.map((c) => c.req('enterRoom', { roomId: 'leavers' })));
  for (const c of leavers) {
    c.ws.send(JSON.stringify({ id: 1, op: 'enterRoom', roomId: 'leavers' }));
    c.close();
  }
  assert.deepEqual([...new Set((await replies).map((r) => r.code))], [0]);
  await Promise.all(leavers.map((c) => c.closed));
  // Every stayer is in (each was answered 0), so a count above theirs is a leaver left inside.
  const count = async () => (await asAdmin(s, { type: 'getRoomInfo', roomId: 'leavers' })).memberCount;
  for (let i = 0; i < 100 && (await count()) !== STORM; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await count(), STORM);
  for (const c of stayers) c.close();
});

test('entries and messages to one room in one turn share a batch and all succeed', async () => {
  await createRoom(s, 'mixed');
  const talkers = await Promise.all(['t1', 't2'].map((u) => RawClient.connect(s, u, 'mixed')));
  const comers = await Promise.all(['c1', 'c2', 'c3'].map((u) => RawClient.open(s, u)));
  const replies = await Promise.all([
    talkers[0].req('sendMessage', { roomId: 'mixed', text: 'hi' }),
    ...comers.map((c) => c.req('enterRoom', { roomId: 'mixed' })),
    talkers[1].req('sendMessage', { roomId: 'mixed', text: 'hey' }),
  ]);
  assert.deepEqual(replies.map((r) => r.code), [0, 0, 0, 0, 0]);
  assert.deepEqual(await memberIds(s, 'mixed'), ['c1', 'c2', 'c3', 't1', 't2']);
  for (const c of [...talkers, ...comers]) c.close();
});
