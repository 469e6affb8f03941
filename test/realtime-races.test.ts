// Races around reconnects: a resume while the room keeps changing, a resume around the seat
// grace's end, a ban racing a resume, one user entering from two sockets at once, and resumes
// with seqs that are not the room's. Each client's stream is checked against the room's full
// history (the store's outbox): every event meant for it, once, in seq order, and its final view
// equal to the room's true state. Runs on SQLite, or PostgreSQL with ROSTRUM_TEST_STORE.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { APP, asAdmin, startTestServer, type TestServer } from './support/harness.js';
import { RawClient, assertGraceOutcome, assertOrdered, closeClients, createRoom, eventually, memberIds, sleep, type Frame } from './realtime-support.js';

const GRACE_SECONDS = 0.6;

let s: TestServer;
before(async () => {
  s = await startTestServer({ realtime: { seatGraceSeconds: GRACE_SECONDS, resumeWindowSeconds: 60, messagesPerSecond: 0 } });
});
after(async () => {
  await closeClients();
  await s.close();
});

/** The room's whole event history, as the store's outbox keeps it. */
async function history(roomId: string) {
  return s.server.store.roomEvents(APP.sdkAppId, roomId, 0, 100_000);
}

/** Whether a plain member `userId` (in the room throughout, resuming, below the audience threshold) gets `e`. */
function meantFor(e: { type: string; to?: string[]; data: any }, userId: string): boolean {
  if (e.type === 'denyChanged' || e.type === 'memberReplaced' || e.type === 'kickedOutOfRoom') return false;
  if (e.to && !e.to.includes(userId)) return false;
  // Its own entries and leaves (a resume after its grace ended) are its earlier connections'.
  if (e.type === 'memberEntered' && e.data.member.userId === userId) return false;
  if (e.type === 'memberLeft' && e.data.userId === userId) return false;
  return true;
}

/** The connection ids through which `userId` is in `roomId` on the server. */
function connsOf(userId: string, roomId: string): string[] {
  return s.server.realtime.listConnections().filter((c) => c.userId === userId && c.rooms.includes(roomId)).map((c) => c.id);
}

/** Seqs strictly increasing (each event once, in order) after `from`; returns the seqs. */
const say = (roomId: string, text: string) => asAdmin(s, { type: 'sendAdminMessage', roomId, text, nick: 'host', avatar: '' });

test('resumes racing seat changes and chat: each resumed stream is the room\'s history, once, in order, no gap', async () => {
  const roomId = 'race-resume';
  await createRoom(s, roomId, { seats: 6, maxMembers: 100 });
  const users = ['ra', 'rb', 'rc', 'rd'];
  /** Each user's whole stream: events on every socket it had, in arrival order. */
  const streams = new Map<string, Frame[]>(users.map((u) => [u, []]));
  const snapshot = new Map<string, number>();
  const live = new Map<string, RawClient>();
  for (const u of users) {
    const c = await RawClient.connect(s, u);
    const data = await c.ok('enterRoom', { roomId });
    snapshot.set(u, data.seq);
    live.set(u, c);
  }
  const talker = await RawClient.connect(s, 'talker', roomId);
  const seater = await RawClient.connect(s, 'seater', roomId);

  let stop = false;
  const producers = [
    (async () => {
      for (let n = 0; !stop; n++) await say(roomId, `admin ${n}`);
    })(),
    (async () => {
      for (let n = 0; !stop; n++) await asAdmin(s, { type: 'lockSeat', roomId, index: 5, locked: n % 2 === 0 });
    })(),
    (async () => {
      for (let n = 0; !stop; n++) await talker.ok('sendMessage', { roomId, text: `talk ${n}` });
    })(),
    (async () => {
      for (let n = 0; !stop; n++) {
        await seater.ok('takeSeat', { roomId, index: n % 4 }).catch(() => undefined);
        await seater.req('leaveSeat', { roomId });
      }
    })(),
  ];

  // Each user drops and resumes three times while the producers run.
  await Promise.all(
    users.map(async (u, i) => {
      for (let round = 0; round < 3; round++) {
        await sleep(20 + ((i * 7 + round * 13) % 40));
        const old = live.get(u)!;
        const [connId] = connsOf(u, roomId);
        s.server.realtime.terminate(connId);
        await old.closed;
        const got = old.events.splice(0);
        streams.get(u)!.push(...got);
        const stream = streams.get(u)!;
        const lastSeq = stream.length > 0 ? stream[stream.length - 1].seq : snapshot.get(u)!;
        const again = await RawClient.connect(s, u);
        const data = await again.ok('enterRoom', { roomId, lastSeq: Math.max(lastSeq, snapshot.get(u)!) });
        assert.equal(data.recovered, true, `${u} round ${round}`);
        live.set(u, again);
      }
    }),
  );
  stop = true;
  await Promise.all(producers);
  await say(roomId, 'the end');
  for (const u of users) {
    const c = live.get(u)!;
    await eventually(() => c.events.some((e) => e.text === 'the end'), 5000, `${u} gets the last message`);
    streams.get(u)!.push(...c.events.splice(0));
  }

  const all = await history(roomId);
  const seats = await asAdmin(s, { type: 'getSeats', roomId });
  for (const u of users) {
    const stream = streams.get(u)!.filter((e) => e.roomId === roomId);
    const got = assertOrdered(u, stream, snapshot.get(u)!);
    const expected = all.filter((e) => e.seq > snapshot.get(u)! && meantFor(e, u)).map((e) => e.seq);
    const missing = all.filter((e) => expected.includes(e.seq) && !got.includes(e.seq)).map((e) => `${e.seq} ${e.type} ${JSON.stringify(e.data).slice(0, 80)}`);
    const extra = got.filter((q) => !expected.includes(q));
    assert.deepEqual(got, expected, `${u}: the stream is the room's history after its snapshot; missing ${missing.join('; ')}; extra ${extra.join(', ')}`);
    const lastSeats = [...stream].reverse().find((e) => e.event === 'seatListChanged');
    assert.deepEqual(lastSeats?.seats, seats, `${u}: final seats`);
  }
  assert.deepEqual(await memberIds(s, roomId), ['ra', 'rb', 'rc', 'rd', 'seater', 'talker']);
  for (const c of [...live.values(), talker, seater]) c.close();
});

test('resumes around the seat grace\'s end: the seat is kept without a leave, or freed with the events that say so', async () => {
  const roomId = 'race-grace';
  const users = Array.from({ length: 8 }, (_, i) => `rg${i}`);
  await createRoom(s, roomId, { seats: users.length, maxMembers: 100 });
  const watcher = await RawClient.connect(s, 'watcher', roomId);
  const clients: RawClient[] = [];
  for (const [i, u] of users.entries()) {
    const c = await RawClient.connect(s, u, roomId);
    await c.ok('takeSeat', { roomId, index: i });
    clients.push(c);
  }
  await watcher.sync();
  const watcherFrom = Math.max(...watcher.events.map((e) => e.seq));
  watcher.events.splice(0);
  const lastSeqs = new Map<string, number>();
  for (const c of clients) {
    await c.sync();
    lastSeqs.set(c.userId, Math.max(...c.events.map((e) => e.seq)));
  }
  // All drop at once; each comes back between 80 ms before and 80 ms after its grace ends.
  for (const u of users) s.server.realtime.terminate(connsOf(u, roomId)[0]);
  const dropped = Date.now();
  const outcomes = await Promise.all(
    users.map(async (u, i) => {
      await sleep(Math.max(0, dropped + GRACE_SECONDS * 1000 - 80 + i * 23 - Date.now()));
      const c = await RawClient.open(s, u);
      const data = await c.ok('enterRoom', { roomId, lastSeq: lastSeqs.get(u) });
      return { u, i, c, data };
    }),
  );
  await sleep(100);
  await say(roomId, 'settled');
  await eventually(() => watcher.events.some((e) => e.text === 'settled'), 5000, 'the watcher gets the last message');
  const seats = await asAdmin(s, { type: 'getSeats', roomId });
  const events = watcher.events.filter((e) => e.roomId === roomId);
  assertOrdered('watcher', events, watcherFrom);
  let kept = 0;
  for (const { u, i, c, data } of outcomes) {
    assert.equal(data.recovered, true, u);
    if (assertGraceOutcome(events, u, data.seats[i].userId === u, seats[i].userId)) kept++;
    // Its own view: the snapshot plus what followed ends at the room's seats.
    await eventually(() => c.events.some((e) => e.text === 'settled'), 5000, `${u} gets the last message`);
    const own = c.events.filter((e) => e.roomId === roomId);
    assertOrdered(u, own, lastSeqs.get(u)!);
    assert.ok(!own.some((e) => e.event === 'memberLeft' && e.userId === u), `${u} is not told of its own old connection's leave`);
    assert.ok(!own.some((e) => e.event === 'memberEntered' && e.member.userId === u), `${u} is not told of its own entry (it has the reply)`);
    const lastSeats = [...own].reverse().find((e) => e.event === 'seatListChanged');
    assert.deepEqual(lastSeats && lastSeats.seq > data.seq ? lastSeats.seats : data.seats, seats, `${u}: final seats`);
  }
  const lastSeats = [...events].reverse().find((e) => e.event === 'seatListChanged');
  assert.deepEqual(lastSeats?.seats, seats, 'watcher: final seats');
  assert.deepEqual(await memberIds(s, roomId), [...users, 'watcher'].sort());
  if (process.env.RACE_DEBUG) console.log({ kept, of: users.length });
  for (const { c } of outcomes) c.close();
  watcher.close();
});

test('one user entering from two sockets at once, one of them resuming: exactly one is in, and its close takes the member out', async () => {
  const roomId = 'race-twice';
  await createRoom(s, roomId, { maxMembers: 100 });
  const watcher = await RawClient.connect(s, 'watcher2', roomId);
  for (let i = 0; i < 6; i++) await say(roomId, `past ${i}`);
  const { seq, room } = await asAdmin(s, { type: 'getRoomInfo', roomId }).then(async (r) => ({ seq: (await history(roomId)).at(-1)!.seq, room: r }));
  const users = Array.from({ length: 12 }, (_, i) => `tw${i}`);
  const pairs = await Promise.all(users.map(async (u) => [await RawClient.connect(s, u), await RawClient.connect(s, u)] as const));
  // One socket resumes (its catch-up read from the store takes a moment), the other enters
  // plainly, 0..5 ms apart either way.
  const replies = await Promise.all(
    pairs.map(async ([a, b], i) => {
      const resume = { roomId, lastSeq: seq - 3, createTime: room.createTime };
      const delay = i % 6;
      const [ra, rb] = await Promise.all([
        (i % 2 === 0 ? sleep(delay) : Promise.resolve()).then(() => a.req('enterRoom', resume)),
        (i % 2 === 1 ? sleep(delay) : Promise.resolve()).then(() => b.req('enterRoom', { roomId })),
      ]);
      return [ra, rb];
    }),
  );
  for (const [ra, rb] of replies) assert.deepEqual([ra.code, rb.code], [0, 0]);
  await sleep(100);
  for (const [i, u] of users.entries()) {
    const [a, b] = pairs[i];
    await a.sync();
    await b.sync();
    const member = await asAdmin(s, { type: 'getMember', roomId, userId: u });
    const conns = connsOf(u, roomId);
    assert.equal(conns.length, 1, `${u}: in through exactly one connection (${conns.join(', ')}), the member's ${member.connId}`);
    assert.equal(conns[0], member.connId, `${u}: the connection in is the one the member is through`);
    // The other socket was told it is out, and its ops say so.
    const replaced = [a, b].filter((c) => c.events.some((e) => e.event === 'memberReplaced'));
    assert.equal(replaced.length, 1, `${u}: one socket told it was replaced`);
    await replaced[0].fails('sendMessage', { roomId, text: 'still in?' }, 100005);
    const inside = replaced[0] === a ? b : a;
    await inside.ok('sendMessage', { roomId, text: `${u} here` });
  }
  // Each user closes the socket it is in through: the member leaves at once.
  for (const [i, u] of users.entries()) {
    const [a, b] = pairs[i];
    const inside = a.events.some((e) => e.event === 'memberReplaced') ? b : a;
    inside.close();
  }
  await eventually(async () => (await memberIds(s, roomId)).every((m) => !m.startsWith('tw')), 5000, 'every tw* member gone');
  for (const [a, b] of pairs) {
    a.close();
    b.close();
  }
  watcher.close();
});

test('the audience threshold crossed up and down while members come and go: counts end true, exact events all arrive', async () => {
  const t = await startTestServer({ realtime: { audienceThreshold: 3, memberCountIntervalMs: 120, messagesPerSecond: 0 } });
  try {
    const roomId = 'race-audience';
    await createRoom(t, roomId, { owner: 'own', seats: 4, maxMembers: 100 });
    const own = await RawClient.connect(t, 'own');
    const ownFrom = (await own.ok('enterRoom', { roomId })).seq;
    const obs = await RawClient.connect(t, 'obs');
    const obsFrom = (await obs.ok('enterRoom', { roomId })).seq;
    const comers = await Promise.all(Array.from({ length: 6 }, (_, i) => RawClient.connect(t, `au${i}`)));
    /** The member count a client shows: that of the last count-bearing frame it got (as the client applies them). */
    const shownCount = (c: RawClient, snapshotCount: number) =>
      c.events.filter((e) => e.roomId === roomId && typeof e.memberCount === 'number').reduce((_, e) => e.memberCount as number, snapshotCount);
    for (let round = 0; round < 4; round++) {
      // Up past the threshold, and down again below it, within one count interval; a seat, a mute
      // and a kick go along.
      const n = 3 + (round % 3);
      await Promise.all(comers.slice(0, n).map((c) => c.ok('enterRoom', { roomId })));
      await Promise.all([
        comers[0].ok('takeSeat', { roomId, index: round % 4 }),
        asAdmin(t, { type: 'setMuted', roomId, subjectType: 'userId', subjects: ['obs'], muted: round % 2 === 0, origin: 'tencent' }),
        own.ok('kickOut', { roomId, userId: comers[1].userId }),
        ...comers.slice(2, n).map((c, i) => sleep(i * 3).then(() => c.ok('exitRoom', { roomId }))),
      ]);
      await comers[0].ok('exitRoom', { roomId });
      await sleep(round % 2 === 0 ? 10 : 200);
    }
    await sleep(300); // any count update due is out
    await own.sync();
    await obs.sync();
    const info = await asAdmin(t, { type: 'getRoomInfo', roomId });
    assert.equal(info.memberCount, 2);
    assert.equal(shownCount(own, 2), info.memberCount, 'own shows the true member count');
    assert.equal(shownCount(obs, 2), info.memberCount, 'obs shows the true member count');
    // The exact events: every seat change and obs's every mute change, once, in order.
    const all = await t.server.store.roomEvents(APP.sdkAppId, roomId, 0, 10_000);
    for (const [c, from] of [[own, ownFrom], [obs, obsFrom]] as const) {
      const exact = c.events.filter((e) => e.event !== 'memberCountChanged');
      assertOrdered(c.userId, exact, from);
      const got = exact.filter((e) => e.event === 'seatListChanged' || e.event === 'muteChanged').map((e) => e.seq);
      const expected = all
        .filter((e) => e.seq > from && (e.type === 'seatListChanged' || (e.type === 'muteChanged' && (!e.to || e.to.includes(c.userId)))))
        .map((e) => e.seq);
      assert.deepEqual(got, expected, `${c.userId}: every seat and mute event`);
    }
    assert.equal(obs.events.filter((e) => e.event === 'muteChanged').length, 4);
    for (const c of [own, obs, ...comers]) c.close();
  } finally {
    await t.close();
  }
});

test('a ban or kick racing the banned user\'s resume: refused, or told and removed; never inside', async () => {
  const roomId = 'race-ban-resume';
  await createRoom(s, roomId, { owner: 'boss', seats: 4, maxMembers: 100 });
  const boss = await RawClient.connect(s, 'boss', roomId);
  const users = Array.from({ length: 12 }, (_, i) => `bn${i}`);
  const last = new Map<string, number>();
  for (const u of users) {
    const c = await RawClient.connect(s, u);
    last.set(u, (await c.ok('enterRoom', { roomId })).seq);
    s.server.realtime.terminate(connsOf(u, roomId)[0]);
    await c.closed;
  }
  // Every one is within its seat grace: it resumes while it is banned (Tencent ban_room_member),
  // kicked Polyv-style (the owner's kickUser) or kicked out (may come back: then it may be in).
  const kinds = ['tencent-ban', 'polyv-kick', 'kick-out'] as const;
  const outcomes = await Promise.all(
    users.map(async (u, i) => {
      const kind = kinds[i % 3];
      const c = await RawClient.open(s, u);
      const moderate = async () => {
        await sleep(i % 4);
        if (kind === 'tencent-ban') {
          const r = await s.tencent('room_engine_http_srv/ban_room_member', { RoomId: roomId, MemberList_Account: [u], Reason: 'race', Duration: 600 });
          assert.equal(r.ErrorCode, 0, r.ErrorInfo);
        } else if (kind === 'polyv-kick') {
          const r = await boss.req('kickUser', { roomId, userId: u, type: 'userId' });
          // The member may be between its old connection's leave and its new entry: not in.
          assert.ok(r.code === 0 || r.code === 100005, `${u}: kickUser ${r.code} ${r.message}`);
        } else {
          const r = await boss.req('kickOut', { roomId, userId: u });
          assert.ok(r.code === 0 || r.code === 100005, `${u}: kickOut ${r.code} ${r.message}`);
        }
      };
      const [entry] = await Promise.all([c.req('enterRoom', { roomId, lastSeq: last.get(u) }), moderate()]);
      return { u, kind, c, entry };
    }),
  );
  await sleep(50);
  for (const { u, kind, c, entry } of outcomes) {
    await c.sync();
    if (entry.code !== 0) {
      // Banned: refused at the door. Kicked out while away (before the resume): the resume is
      // refused and its entry taken back.
      assert.equal(entry.code, kind === 'kick-out' ? 110015 : 110003, `${u} (${kind}): ${entry.code} ${entry.message}`);
      assert.equal(connsOf(u, roomId).length, 0, `${u} (${kind}): refused but inside`);
      assert.ok(!(await memberIds(s, roomId)).includes(u), `${u} (${kind}): refused but a member`);
      continue;
    }
    const kicked = c.events.filter((e) => e.event === 'kickedOutOfRoom' && e.roomId === roomId);
    const inside = connsOf(u, roomId).length > 0;
    if (kind === 'kick-out' && kicked.length === 0) {
      // The kick found it away (between its old connection's leave and its new entry): it is in.
      assert.ok(inside, `${u}: neither kicked nor in`);
      await c.ok('sendMessage', { roomId, text: 'back' });
      continue;
    }
    assert.equal(kicked.length, 1, `${u} (${kind}): in after its entry (${entry.data.seq}) but never told it is out`);
    assert.ok(kicked[0].seq > entry.data.seq, `${u}: the removal comes after its snapshot`);
    assert.ok(!inside, `${u}: still registered in the room`);
    await c.fails('sendMessage', { roomId, text: 'still here?' }, 100005);
  }
  const members = await memberIds(s, roomId);
  for (const { u, kind } of outcomes) {
    if (kind !== 'kick-out') assert.ok(!members.includes(u), `${u} (${kind}) is a member`);
    else assert.equal(members.includes(u), connsOf(u, roomId).length > 0, `${u}: member exactly when connected in`);
  }
  for (const { c } of outcomes) c.close();
  boss.close();
});

test('resumes with seqs that are not the room\'s: refused as invalid, or a fresh snapshot with nothing replayed', async () => {
  await createRoom(s, 'race-seq-a');
  // createTime is in seconds: room b is created in a later one, so the two are told apart.
  await sleep(1000 - (Date.now() % 1000) + 20);
  await createRoom(s, 'race-seq-b');
  for (let i = 0; i < 3; i++) await say('race-seq-a', `a${i}`);
  for (let i = 0; i < 5; i++) await say('race-seq-b', `b${i}`);
  const watcher = await RawClient.connect(s, 'watcher3', 'race-seq-b');
  const c = await RawClient.connect(s, 'odd');
  for (const lastSeq of [-1, 1.5, '3', null]) await c.fails('enterRoom', { roomId: 'race-seq-b', lastSeq }, 100002);
  await c.fails('enterRoom', { roomId: 'race-seq-b', lastSeq: 1, createTime: -5 }, 100002);
  assert.deepEqual(await memberIds(s, 'race-seq-b'), ['watcher3'], 'a refused entry leaves nothing behind');
  // From the future (however far): a fresh snapshot, nothing replayed.
  for (const lastSeq of [1_000_000, Number.MAX_SAFE_INTEGER + 2]) {
    const future = await c.ok('enterRoom', { roomId: 'race-seq-b', lastSeq });
    assert.equal(future.recovered, false);
    assert.deepEqual(await c.drain(), []);
    await c.ok('exitRoom', { roomId: 'race-seq-b' });
    await c.drain();
  }
  // Room a's seq and createTime (a client mixing its rooms up): the seq is within b's, so only
  // the createTime tells the rooms apart; a fresh snapshot of b, none of b's events replayed.
  const a = await asAdmin(s, { type: 'getRoomInfo', roomId: 'race-seq-a' });
  const b = await asAdmin(s, { type: 'getRoomInfo', roomId: 'race-seq-b' });
  assert.notEqual(a.createTime, b.createTime);
  const mixed = await c.ok('enterRoom', { roomId: 'race-seq-b', lastSeq: 2, createTime: a.createTime });
  assert.equal(mixed.recovered, false);
  assert.deepEqual(await c.drain(), []);
  // Its view from here is b's: what comes next is b's, once.
  await say('race-seq-b', 'b-next');
  const next = await c.take('messageReceived');
  assert.equal(next.text, 'b-next');
  assert.ok(next.seq > mixed.seq, 'after the snapshot');
  // lastSeq 0 (a client that had seen nothing): the whole history, each once, in order.
  const z = await RawClient.connect(s, 'zero');
  const zero = await z.ok('enterRoom', { roomId: 'race-seq-b', lastSeq: 0, createTime: b.createTime });
  assert.equal(zero.recovered, true);
  await z.sync();
  const all = (await history('race-seq-b')).filter((e) => e.seq <= zero.seq && meantFor(e, 'zero'));
  assert.equal(all.at(-1)!.seq, zero.seq - 1, 'its own entry is not among them');
  assert.deepEqual(z.events.map((e) => e.seq), all.map((e) => e.seq), JSON.stringify({ zero: zero.seq, got: z.events.map((e) => [e.seq, e.event, e.userId ?? e.member?.userId ?? e.text]) }));
  for (const x of [c, z, watcher]) x.close();
});
