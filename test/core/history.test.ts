// Fast core tests of the chat history commands: deleting and clearing emit messagesDeleted /
// chatCleared to the room, history pages by time range and number, and the app-wide read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, APP_ID, core, user } from './support.js';
import { MemoryStore } from '../../src/adapters/memory/store.js';
import { LocalBus } from '../../src/adapters/local-bus.js';
import { Engine } from '../../src/core/engine.js';
import type { ChatMessage } from '../../src/core/model.js';

test('deleteMessages emits messagesDeleted (ids once each), clearMessages chatCleared; history forgets them', async () => {
  let now = 1_700_000_000_000;
  const f = core(undefined, () => now);
  await f.room('h1', ['alice']);
  const ids: string[] = [];
  for (const text of ['a', 'b', 'c']) {
    now += 1000;
    ids.push((await f.engine.execute(APP_ID, user('alice'), { type: 'sendMessage', roomId: 'h1', text })).msgId);
  }
  await f.engine.execute(APP_ID, ADMIN, { type: 'deleteMessages', roomId: 'h1', msgIds: [ids[0], ids[0], 'unknown'] });
  const deleted = f.events.filter((e) => e.type === 'messagesDeleted');
  assert.deepEqual(deleted.map((e) => [e.roomId, e.data, e.to]), [['h1', { msgIds: [ids[0], 'unknown'] }, undefined]]);
  const page = await f.engine.execute(APP_ID, user('alice'), { type: 'listMessages', roomId: 'h1', count: 10 });
  assert.deepEqual(page.messages.map((m) => m.text), ['c', 'b']);

  // Time range (inclusive) and numbered pages, as the app reads them.
  const t2 = now - 1000;
  assert.deepEqual((await f.engine.execute(APP_ID, ADMIN, { type: 'listMessages', roomId: 'h1', count: 10, fromAt: t2, toAt: t2 })).messages.map((m) => m.text), ['b']);
  assert.deepEqual((await f.engine.execute(APP_ID, ADMIN, { type: 'listMessages', roomId: 'h1', count: 1, offset: 1 })).messages.map((m) => m.text), ['b']);
  await assert.rejects(f.engine.execute(APP_ID, ADMIN, { type: 'listMessages', roomId: 'h1', count: 1, offset: -1 }), { kind: 'InvalidParam' });

  await f.engine.execute(APP_ID, user('owner'), { type: 'clearMessages', roomId: 'h1' });
  assert.equal(f.events.filter((e) => e.type === 'chatCleared').length, 1);
  assert.deepEqual((await f.engine.execute(APP_ID, user('alice'), { type: 'listMessages', roomId: 'h1', count: 10 })).messages, []);
  // Members may not delete; nothing is emitted for a refused command.
  await assert.rejects(f.engine.execute(APP_ID, user('alice'), { type: 'clearMessages', roomId: 'h1' }), { kind: 'PermissionDenied' });
  assert.equal(f.events.filter((e) => e.type === 'chatCleared').length, 1);
});

test('listAppMessages: every room of the app, oldest first, in a time range; the app only', async () => {
  let now = 1_700_000_000_000;
  const f = core(undefined, () => now);
  await f.room('r1', ['u']);
  await f.room('r2', ['u']);
  for (const roomId of ['r2', 'r1', 'r2']) {
    now += 10;
    await f.engine.execute(APP_ID, user('u'), { type: 'sendMessage', roomId, text: `${roomId}@${now}` });
  }
  const all = await f.engine.execute(APP_ID, ADMIN, { type: 'listAppMessages', count: 10 });
  assert.deepEqual(all.map((m) => m.roomId), ['r2', 'r1', 'r2']);
  const later = await f.engine.execute(APP_ID, ADMIN, { type: 'listAppMessages', count: 10, fromAt: now - 10, offset: 1 });
  assert.deepEqual(later.map((m) => m.text), [`r2@${now}`]);
  await assert.rejects(f.engine.execute(APP_ID, user('owner'), { type: 'listAppMessages', count: 10 }), { kind: 'PermissionDenied' });
});

test('listAppMessages pages past the last record read (after): records deleted or expired since skip nothing', async () => {
  let now = 1_700_000_000_000;
  const store = new MemoryStore();
  const f = core(store, () => now);
  await f.room('r1', ['u']);
  await f.room('r2', ['u']);
  const ids: string[] = [];
  for (const roomId of ['r1', 'r2', 'r1', 'r2', 'r1', 'r2']) {
    now += 10;
    ids.push((await f.engine.execute(APP_ID, user('u'), { type: 'sendMessage', roomId, text: `${roomId}@${now}` })).msgId);
  }
  const key = (m: ChatMessage) => ({ at: m.at, roomId: m.roomId, seq: m.seq, id: m.id });
  const first = await f.engine.execute(APP_ID, ADMIN, { type: 'listAppMessages', count: 2 });
  assert.deepEqual(first.map((m) => m.id), ids.slice(0, 2));
  // Both records read are deleted: the next page is the third and fourth, not the fifth and sixth.
  await f.engine.execute(APP_ID, ADMIN, { type: 'deleteMessages', roomId: 'r1', msgIds: [ids[0]] });
  await f.engine.execute(APP_ID, ADMIN, { type: 'deleteMessages', roomId: 'r2', msgIds: [ids[1]] });
  const second = await f.engine.execute(APP_ID, ADMIN, { type: 'listAppMessages', count: 2, after: key(first[1]) });
  assert.deepEqual(second.map((m) => m.id), ids.slice(2, 4));
  // Retention: with the same records expired by a reader's clock, the same page.
  const keeping = new Engine(store, new LocalBus(), () => now, undefined, 25);
  assert.deepEqual((await keeping.execute(APP_ID, ADMIN, { type: 'listAppMessages', count: 10 })).map((m) => m.id), ids.slice(3), 'kept: the last 25 ms');
  assert.deepEqual((await keeping.execute(APP_ID, ADMIN, { type: 'listAppMessages', count: 2, after: key(second[0]) })).map((m) => m.id), ids.slice(3, 5));
  const last = await f.engine.execute(APP_ID, ADMIN, { type: 'listAppMessages', count: 2, after: key(second[1]) });
  assert.deepEqual(last.map((m) => m.id), ids.slice(4));
  assert.deepEqual(await f.engine.execute(APP_ID, ADMIN, { type: 'listAppMessages', count: 2, after: key(last[1]) }), []);
  for (const after of [{ at: -1, roomId: 'r1', seq: 0, id: 'x' }, { at: 0, roomId: 1, seq: 0, id: 'x' }, { at: 0, roomId: 'r1', seq: 0.5, id: 'x' }, null]) {
    await assert.rejects(f.engine.execute(APP_ID, ADMIN, { type: 'listAppMessages', count: 2, after: after as never }), { kind: 'InvalidParam' });
  }
});
