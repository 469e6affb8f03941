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

test('entries overlapping for long while the room publishes: each gets the events after its snapshot, in order, once', () => {
  const feed = feedRecordingSeqs();
  const ENTRANTS = 1_200;
  const IN_FLIGHT = 300; // entering at once: the log grows past 1,024 and is trimmed as the oldest go
  const PER_STEP = 5;
  let seq = 0;
  const conns: FakeConn[] = [];
  const entering: ReturnType<RoomFeed['enter']>[] = [];
  const snapshots: number[] = [];
  // Its entry committed just before the last two of the room's events: the rest since it
  // registered are in its snapshot.
  const admit = (i: number) => {
    snapshots[i] = seq - 2;
    assert.ok(feed.admit(entering[i], snapshots[i]), `conn ${i} admitted`);
  };
  for (let i = 0; i < ENTRANTS; i++) {
    const conn: FakeConn = { id: `c${i}`, userId: `u${i}`, rooms: new Set(['r']), ended: false, got: [] };
    conns.push(conn);
    entering.push(feed.enter(conn as unknown as Connection));
    for (let k = 0; k < PER_STEP; k++) feed.receive(lockChanged(++seq));
    if (i >= IN_FLIGHT) admit(i - IN_FLIGHT);
  }
  for (let i = ENTRANTS - IN_FLIGHT; i < ENTRANTS; i++) admit(i);
  for (let k = 0; k < 3; k++) feed.receive(lockChanged(++seq));
  let wrong = 0;
  for (let i = 0; i < ENTRANTS; i++) {
    const expected = Array.from({ length: seq - snapshots[i] }, (_, k) => snapshots[i] + 1 + k);
    if (JSON.stringify(conns[i].got) !== JSON.stringify(expected)) wrong++;
  }
  assert.equal(wrong, 0, `${wrong} of ${ENTRANTS} connections missed, repeated or reordered an event`);
  assert.equal(feed.entering.size, 0);
});
