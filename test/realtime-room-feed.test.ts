// The room feed alone, without sockets: connections entering one after the other while the room
// keeps publishing, many at once, for long enough that the log the entrants share is trimmed at
// its start. Each one gets exactly the events after its snapshot, in order, once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RoomEvent } from '../src/core/events.js';
import type { Connection } from '../src/realtime/connection.js';
import { RoomFeed, type FeedHooks } from '../src/realtime/room-feed.js';

interface FakeConn {
  id: string;
  userId: string;
  rooms: Set<string>;
  ended: boolean;
  got: number[];
}

function feedRecordingSeqs(): RoomFeed {
  const hooks: FeedHooks = {
    roomEvents: async () => assert.fail('no gap expected'),
    roomState: async () => assert.fail('no resync expected'),
    frame: (e) => Buffer.from(String(e.seq)),
    send: (conn, frame) => (conn as unknown as FakeConn).got.push(Number(frame.toString())),
    error: (err) => assert.fail(String(err)),
    audienceThreshold: 100,
    countChanged: () => {},
    countSettled: () => {},
    stale: () => assert.fail('nothing pruned'),
  };
  return new RoomFeed(1, 'r', hooks);
}

const lockChanged = (seq: number): RoomEvent => ({
  appId: 1,
  roomId: 'r',
  seq,
  type: 'seatLockChanged',
  at: seq,
  actor: 'admin',
  data: { index: 0, locked: seq % 2 === 0, videoDisabled: false, audioDisabled: false },
});

/**
 * `entrants` register one a step; each step the room publishes `perStep` events (pairs swapped
 * when `swapped`: a later commit's publish overtaking an earlier one's), and the entrant that
 * registered `inFlight` steps before is admitted. Its snapshot: two events before the newest
 * (`late`: its commit came just now), or where the room was when it registered.
 */
function overlappingEntries(opts: { entrants: number; inFlight: number; perStep: number; snapshot: 'late' | 'atRegistration'; swapped: boolean }): void {
  const feed = feedRecordingSeqs();
  let seq = 0;
  const conns: FakeConn[] = [];
  const entering: ReturnType<RoomFeed['enter']>[] = [];
  const registeredAt: number[] = [];
  const snapshots: number[] = [];
  const admit = (i: number) => {
    snapshots[i] = opts.snapshot === 'late' ? seq - 2 : registeredAt[i];
    assert.ok(feed.admit(entering[i], snapshots[i]), `conn ${i} admitted`);
  };
  const publish = (n: number) => {
    const seqs = Array.from({ length: n }, () => ++seq);
    if (opts.swapped) for (let k = 0; k + 1 < n; k += 2) [seqs[k], seqs[k + 1]] = [seqs[k + 1], seqs[k]];
    for (const s of seqs) feed.receive(lockChanged(s));
  };
  for (let i = 0; i < opts.entrants; i++) {
    const conn: FakeConn = { id: `c${i}`, userId: `u${i}`, rooms: new Set(['r']), ended: false, got: [] };
    conns.push(conn);
    entering.push(feed.enter(conn as unknown as Connection));
    registeredAt.push(seq);
    publish(opts.perStep);
    if (i >= opts.inFlight) admit(i - opts.inFlight);
  }
  for (let i = Math.max(0, opts.entrants - opts.inFlight); i < opts.entrants; i++) admit(i);
  publish(4);
  let wrong = 0;
  for (let i = 0; i < opts.entrants; i++) {
    const expected = Array.from({ length: seq - snapshots[i] }, (_, k) => snapshots[i] + 1 + k);
    if (JSON.stringify(conns[i].got) !== JSON.stringify(expected)) wrong++;
  }
  assert.equal(wrong, 0, `${wrong} of ${opts.entrants} connections missed, repeated or reordered an event`);
  assert.equal(feed.entering.size, 0);
}

test('entries overlapping for long while the room publishes: each gets the events after its snapshot, in order, once', () => {
  // 300 entering at once: the shared log grows past 1,024 and is trimmed as the oldest go.
  overlappingEntries({ entrants: 1_200, inFlight: 300, perStep: 5, snapshot: 'late', swapped: false });
});

test('admissions whose snapshot is as old as their registration, with publishes out of order: the same', () => {
  overlappingEntries({ entrants: 1_200, inFlight: 1, perStep: 6, snapshot: 'atRegistration', swapped: true });
  overlappingEntries({ entrants: 600, inFlight: 200, perStep: 6, snapshot: 'late', swapped: true });
});

/** A feed over a store holding `stored` (what a gap fill reads), recording every frame sent. */
function feedOverStore(stored: RoomEvent[], errors: string[] = []): RoomFeed {
  const hooks: FeedHooks = {
    roomEvents: async (_app, _room, afterSeq, limit) => stored.filter((e) => e.seq > afterSeq).slice(0, limit),
    roomState: async () => ({ seq: stored.length, life: 0 }),
    frame: (e) => Buffer.from(`${e.type === 'roomDismissed' ? 'dismissed@' : ''}${e.seq}`),
    send: (conn, frame) => (conn as unknown as { sent: string[] }).sent.push(frame.toString()),
    error: (err) => errors.push(String(err)),
    audienceThreshold: 100,
    countChanged: () => {},
    countSettled: () => {},
    stale: () => errors.push('stale'),
  };
  return new RoomFeed(1, 'r', hooks);
}

const conn = (id: string) => ({ id, userId: id, rooms: new Set(['r']), ended: false, sent: [] as string[] });
const asConn = (c: ReturnType<typeof conn>) => c as unknown as Connection;
const waitForFills = () => new Promise((resolve) => setTimeout(resolve, 150));

test('a later entry admitted first while nobody here is live, an event between the two snapshots still on its way: the earlier entrant gets it, in order, once', async () => {
  const stored = [1, 2, 3, 4, 5, 6, 7, 8].map(lockChanged);
  const feed = feedOverStore(stored);
  const c = conn('c');
  const b = conn('b');
  const enC = feed.enter(asConn(c)); // C's entry commits at 5 (a resume: its catch-up read takes a while)
  feed.receive(lockChanged(5));
  const enB = feed.enter(asConn(b)); // 6 commits on another node; B's entry commits at 7
  feed.receive(lockChanged(7));
  assert.ok(feed.admit(enB, 7)); // B first
  assert.ok(feed.admit(enC, 5)); // then C
  feed.receive(lockChanged(6)); // 6 arrives from the other node
  feed.receive(lockChanged(8));
  await waitForFills();
  feed.close();
  assert.deepEqual(b.sent, ['8']);
  assert.deepEqual(c.sent, ['6', '7', '8']);
});

test('the same with the event never arriving (the bus lost it): a gap fill reads it for the earlier entrant', async () => {
  const stored = [1, 2, 3, 4, 5, 6, 7, 8].map(lockChanged);
  const feed = feedOverStore(stored);
  const c = conn('c');
  const b = conn('b');
  const enC = feed.enter(asConn(c));
  feed.receive(lockChanged(5));
  const enB = feed.enter(asConn(b));
  feed.receive(lockChanged(7));
  assert.ok(feed.admit(enB, 7));
  assert.ok(feed.admit(enC, 5));
  feed.receive(lockChanged(8));
  await waitForFills();
  feed.close();
  assert.deepEqual(b.sent, ['8']);
  assert.deepEqual(c.sent, ['6', '7', '8']);
});

/** A small seeded generator, so that a failing case can be run again. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

/**
 * One room's life on one node of a cluster: commits publish in any order and late, some never
 * arrive (read back by gap fills), connections register, their entries commit later, and they
 * are admitted in any order once their reply is out. Every connection must get exactly the
 * events after its snapshot, in order, once.
 */
function randomEntries(seed: number): { check(): string | null; close(): void } {
  const rnd = prng(seed);
  const stored: RoomEvent[] = [];
  const feed = feedOverStore(stored);
  const inFlight: RoomEvent[] = [];
  const entrants: { c: ReturnType<typeof conn>; en: ReturnType<RoomFeed['enter']>; snapshot?: number; admitted?: boolean }[] = [];
  const commit = () => {
    const e = lockChanged(stored.length + 1);
    stored.push(e);
    if (rnd() > 0.1) inFlight.push(e); // else lost on the way
    const waiting = entrants.filter((x) => x.snapshot === undefined);
    if (waiting.length > 0 && rnd() < 0.5) waiting[Math.floor(rnd() * waiting.length)].snapshot = e.seq;
  };
  for (let step = 0; step < 60; step++) {
    const r = rnd();
    if (r < 0.35) commit();
    else if (r < 0.5) {
      const c = conn(`c${entrants.length}`);
      entrants.push({ c, en: feed.enter(asConn(c)) });
    } else if (r < 0.75) {
      const ready = entrants.filter((x) => x.snapshot !== undefined && !x.admitted);
      const x = ready[Math.floor(rnd() * ready.length)];
      if (x) {
        x.admitted = true;
        if (!feed.admit(x.en, x.snapshot!)) return { check: () => `seed ${seed}: ${x.c.id} not admitted`, close: () => feed.close() };
      }
    } else if (inFlight.length > 0) {
      feed.receive(inFlight.splice(Math.floor(rnd() * inFlight.length), 1)[0]);
    }
  }
  // Every entry commits and is admitted; what is on its way arrives; the room goes on (a last
  // event that arrives, so that a lost one before it is noticed).
  for (const x of entrants) x.snapshot ??= (commit(), stored.length);
  for (const x of entrants) if (!x.admitted) feed.admit(x.en, x.snapshot!);
  while (inFlight.length > 0) feed.receive(inFlight.splice(Math.floor(rnd() * inFlight.length), 1)[0]);
  const last = lockChanged(stored.length + 1);
  stored.push(last);
  feed.receive(last);
  // Gap fills run on timers: the check is made again until it holds or the test gives up.
  const check = () => {
    for (const x of entrants) {
      const expected = stored.filter((e) => e.seq > x.snapshot!).map((e) => String(e.seq));
      if (JSON.stringify(x.c.sent) !== JSON.stringify(expected)) {
        return `seed ${seed}: ${x.c.id} (snapshot ${x.snapshot}) got ${x.c.sent.join(',')}, expected ${expected.join(',')}`;
      }
    }
    return null;
  };
  return { check, close: () => feed.close() };
}

test('entries admitted in any order while publishes arrive late, out of order or not at all: each gets the events after its snapshot, in order, once', async () => {
  const runs = Array.from({ length: 3000 }, (_, i) => randomEntries(i + 1));
  // Once a run's check holds, later gap fills could only add events it must not get: checked again at the end.
  const deadline = Date.now() + 20_000;
  while (runs.some((r) => r.check() !== null) && Date.now() < deadline) await waitForFills();
  await waitForFills();
  for (const r of runs) r.close();
  const failures = runs.map((r) => r.check()).filter((f) => f !== null);
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of 3000 runs failed`);
});

test('an entry that committed just before the room was dismissed, admitted after the dismissal: it gets what came between and roomDismissed, and is out', () => {
  const feed = feedOverStore([]);
  const m = conn('m');
  const c = conn('c');
  assert.ok(feed.admit(feed.enter(asConn(m)), 4, [], 1));
  const en = feed.enter(asConn(c));
  feed.receive(lockChanged(5)); // C's entry
  feed.receive(lockChanged(6));
  feed.receive({ appId: 1, roomId: 'r', seq: 7, type: 'roomDismissed', at: 7, actor: 'admin', data: {} } as RoomEvent);
  assert.equal(feed.admit(en, 5, [], 1), false);
  assert.deepEqual(c.sent, ['6', 'dismissed@7']);
  assert.equal(c.rooms.has('r'), false);
  assert.deepEqual(m.sent, ['5', '6', 'dismissed@7']);
  // The room made again: C is not in it, and gets none of its events.
  const d = conn('d');
  assert.ok(feed.admit(feed.enter(asConn(d)), 1, [], 2));
  feed.receive(lockChanged(2));
  assert.deepEqual(c.sent, ['6', 'dismissed@7']);
  assert.deepEqual(d.sent, ['2']);
});

test('an entry registered before the dismissal but run in the room made again: admitted into the new life', () => {
  const feed = feedOverStore([]);
  const m = conn('m');
  const c = conn('c');
  assert.ok(feed.admit(feed.enter(asConn(m)), 4, [], 1));
  const en = feed.enter(asConn(c));
  feed.receive({ appId: 1, roomId: 'r', seq: 5, type: 'roomDismissed', at: 5, actor: 'admin', data: {} } as RoomEvent);
  feed.receive(lockChanged(1)); // the new life's roomCreated, then C's entry at 2
  feed.receive(lockChanged(2));
  assert.ok(feed.admit(en, 2, [], 2));
  feed.receive(lockChanged(3));
  assert.deepEqual(c.sent, ['3']);
  assert.equal(c.rooms.has('r'), true);
});
