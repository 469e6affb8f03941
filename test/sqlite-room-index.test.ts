// The SQLite store's in-memory index of each room's recent events (catch-up after a reconnect).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RoomEventIndex } from '../src/adapters/sqlite/room-index.js';

const APP = 1400000001;

describe('RoomEventIndex', () => {
  it('answers the outbox ids after a seq, in seq order, at most as many as asked, per app and room', () => {
    const index = new RoomEventIndex(60_000);
    for (let seq = 1; seq <= 5; seq++) index.add(APP, 'r1', seq, 10 * seq);
    index.add(APP, 'r2', 1, 11);
    index.add(APP + 1, 'r1', 1, 12);
    assert.deepEqual(index.ids(APP, 'r1', 0, 10), [10, 20, 30, 40, 50]);
    assert.deepEqual(index.ids(APP, 'r1', 2, 2), [30, 40]);
    assert.deepEqual(index.ids(APP, 'r1', 5, 10), []);
    assert.deepEqual(index.ids(APP, 'r1', 1, 0), []);
    assert.deepEqual(index.ids(APP, 'r2', 0, 10), [11]);
    assert.deepEqual(index.ids(APP + 1, 'r1', 0, 10), [12]);
    assert.deepEqual(index.ids(APP, 'nope', 0, 10), []);
  });

  it('a seq that does not follow starts the room\'s new life: the earlier one is no longer read', () => {
    const index = new RoomEventIndex(60_000);
    for (let seq = 1; seq <= 3; seq++) index.add(APP, 'r1', seq, seq);
    index.add(APP, 'r1', 1, 7);
    index.add(APP, 'r1', 2, 8);
    assert.deepEqual(index.ids(APP, 'r1', 0, 10), [7, 8]);
  });

  it('drops the events committed before the window, room by room, and rooms left empty', () => {
    const index = new RoomEventIndex(10_000);
    const t0 = 1_000_000;
    index.add(APP, 'old', 1, 1);
    index.add(APP, 'busy', 1, 2);
    index.committed(t0, 2);
    index.add(APP, 'busy', 2, 3);
    index.committed(t0 + 5_000, 3);
    // Within the window: everything is kept.
    index.committed(t0 + 9_000, 3);
    assert.deepEqual(index.ids(APP, 'busy', 0, 10), [2, 3]);
    assert.equal(index.size, 2);
    // t0's commit left the window: its events go, the later one stays.
    index.add(APP, 'busy', 3, 4);
    index.committed(t0 + 12_000, 4);
    assert.deepEqual(index.ids(APP, 'old', 0, 10), []);
    assert.deepEqual(index.ids(APP, 'busy', 0, 10), [3, 4]);
    assert.equal(index.size, 1);
    // And later, all of it.
    index.committed(t0 + 40_000, 4);
    assert.equal(index.size, 0);
  });
});
