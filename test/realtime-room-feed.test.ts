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
