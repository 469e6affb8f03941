// Audience presence: above the threshold a room stops announcing each entry and exit and sends
// coalesced member counts instead; moderators page the member list; seat and kick events stay exact.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { asAdmin, startTestServer, type TestServer } from './support/harness.js';
import { RawClient, closeClients, createRoom, eventually, sleep } from './realtime-support.js';

let s: TestServer;
before(async () => {
  s = await startTestServer({ realtime: { audienceThreshold: 3, memberCountIntervalMs: 150 } });
});
after(async () => {
  await closeClients();
  await s.close();
});

test('at the threshold entries are announced; above it, coalesced counts at most once per interval', async () => {
  await createRoom(s, 'aud', { owner: 'own', seats: 2 });
  const own = await RawClient.connect(s, 'own', 'aud');
  const m1 = await RawClient.connect(s, 'm1', 'aud');
  const m2 = await RawClient.connect(s, 'm2', 'aud'); // count 3: still announced
  assert.deepEqual((await own.take('memberEntered', (e) => e.member.userId === 'm2')).memberCount, 3);
  await own.drain();
  await m1.drain();

  // Five more at once: no memberEntered; one or a few counts, the last one 8.
  const more = await Promise.all(['a1', 'a2', 'a3', 'a4', 'a5'].map((u) => RawClient.connect(s, u, 'aud')));
  await eventually(() => own.events.some((e) => e.event === 'memberCountChanged' && e.memberCount === 8), 5000, 'count 8');
  const seen = (await own.drain()).filter((e) => e !== 'memberCountChanged');
  assert.deepEqual(seen, [], 'no entry announced one by one');
  const counts = m1.events.filter((e) => e.event === 'memberCountChanged');
  assert.ok(counts.length >= 1 && counts.length <= 3, `${counts.length} count updates for 5 entries`);

  // Seats and kicks stay exact, to everyone concerned.
  await more[0].ok('takeSeat', { roomId: 'aud', index: 0 });
  assert.equal((await m2.take('seatListChanged')).seats[0].userId, 'a1');
  await own.ok('kickOut', { roomId: 'aud', userId: 'a2' });
  assert.equal((await more[1].take('kickedOutOfRoom')).kind, 'kicked');
  // An exit above the threshold: the member leaving gets its memberLeft, the room a count.
  const bye = await more[2].req('exitRoom', { roomId: 'aud' });
  assert.equal(bye.code, 0);
  assert.equal((await more[2].take('memberLeft')).userId, 'a3');
  await eventually(() => m1.events.some((e) => e.event === 'memberCountChanged' && e.memberCount === 6), 5000, 'count 6');
  assert.ok(!m1.events.some((e) => e.event === 'memberLeft' || e.event === 'memberEntered'));
  for (const c of [own, m1, m2, ...more]) c.close();
});

test('listMembers: moderators page the member list; plain members may not', async () => {
  await createRoom(s, 'aud-list', { owner: 'own' });
  const own = await RawClient.connect(s, 'own', 'aud-list');
  const users = ['u1', 'u2', 'u3', 'u4'];
  const cs = await Promise.all(users.map((u) => RawClient.connect(s, u, 'aud-list')));
  const p1 = await own.ok('listMembers', { roomId: 'aud-list', count: 2 });
  assert.deepEqual(p1.members.map((m: { userId: string }) => m.userId), ['own', 'u1']);
  assert.equal(p1.next, 'u1');
  assert.equal(p1.members[0].clientIp, undefined, 'no IPs');
  const p2 = await own.ok('listMembers', { roomId: 'aud-list', after: p1.next, count: 10 });
  assert.deepEqual(p2.members.map((m: { userId: string }) => m.userId), ['u2', 'u3', 'u4']);
  assert.equal(p2.next, '');
  await cs[0].fails('listMembers', { roomId: 'aud-list' }, 100006);
  await own.fails('listMembers', { roomId: 'aud-list', count: 0 }, 100002);
  // The app's admin still lists through the admin API (no role check for it).
  assert.equal((await asAdmin(s, { type: 'listMembers', roomId: 'aud-list', after: '', count: 10 })).members.length, 5);
  await sleep(0);
  for (const c of [own, ...cs]) c.close();
});
