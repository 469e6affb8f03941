// Seats packed on disk by the SQLite store (src/adapters/sqlite/packed.ts): room rows and
// seatListChanged events are stored small and read back whole, and rows written before seats
// were packed are read as they are.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteStore } from '../src/adapters/sqlite/store.js';
import { SqliteOutboxReader } from '../src/adapters/sqlite/outbox-reader.js';
import { eventText, parseEvent, parseRoom, roomStateText } from '../src/adapters/sqlite/packed.js';
import type { RoomEvent } from '../src/core/events.js';
import type { RoomAggregate, Seat } from '../src/core/model.js';
import { makeAgg } from './contract/store-contract.js';
import { rawDb, withDataDir } from './support/sqlite-dir.js';

const APP = 1400000001;

function seats(n: number): Seat[] {
  return Array.from({ length: n }, (_, index) => ({
    index,
    userId: index % 3 === 0 ? `user-${index}` : null,
    locked: index % 2 === 1,
    videoDisabled: index % 4 === 2,
    audioDisabled: index % 5 === 4,
  }));
}

// Recent: a restarted store serves catch-up for its resume window only.
const NOW = Date.now();

function seatEvent(seq: number, list: Seat[]): RoomEvent {
  return { appId: APP, roomId: 'r1', seq, at: NOW + seq, type: 'seatListChanged', actor: 'admin', data: { seats: list } };
}

/** An aggregate through its state and settings rows. */
const roundTrip = (agg: RoomAggregate) => parseRoom(roomStateText(agg), JSON.stringify(agg.room));

describe('SQLite store: seats packed on disk', () => {
  it('stores a room\'s seats and a seatListChanged event small, and reads every field back', () =>
    withDataDir(async (dir) => {
      const agg = { ...makeAgg(APP, 'r1', 50), seats: seats(50) };
      const event = seatEvent(1, seats(50));
      const s = new SqliteStore(dir);
      await s.write(APP, async (w) => {
        await w.insertRoom(agg);
        await w.appendEvents([event]);
      });
      assert.deepEqual(await s.roomEvents(APP, 'r1', 0, 10), [event]);
      await s.close();

      const db = rawDb(dir);
      const state = db.prepare('SELECT state FROM rooms').pluck().get() as string;
      const text = db.prepare('SELECT event FROM outbox').pluck().get() as string;
      db.close();
      const objectsLength = JSON.stringify(agg.seats).length;
      assert.ok(state.length < JSON.stringify(agg).length - objectsLength / 2, `room row of ${state.length} B`);
      assert.ok(text.length < JSON.stringify(event).length - objectsLength / 2, `event of ${text.length} B`);

      const again = new SqliteStore(dir);
      try {
        assert.deepEqual(await again.read(APP, (r) => r.room('r1')), agg);
        assert.deepEqual((await again.readOutbox('', 10)).events, [event]);
        assert.deepEqual(await again.roomEvents(APP, 'r1', 0, 10), [event]);
      } finally {
        await again.close();
      }
      const reader = new SqliteOutboxReader(dir); // the callback relay thread's view
      try {
        assert.deepEqual((await reader.readOutbox('', 10)).events, [event]);
      } finally {
        reader.close();
      }
    }));

  it('reads rows written with seat objects, and with the settings inside (before version 6), as they are', () =>
    withDataDir(async (dir) => {
      const agg = { ...makeAgg(APP, 'r1', 4), seats: seats(4) };
      const event = seatEvent(1, seats(4));
      await new SqliteStore(dir).close(); // the schema
      const db = rawDb(dir);
      db.prepare('INSERT INTO rooms (app_id, room_id, state) VALUES (?, ?, ?)').run(APP, 'r1', JSON.stringify(agg));
      db.prepare('INSERT INTO outbox (app_id, room_id, seq, at, event) VALUES (?, ?, ?, ?, ?)').run(APP, 'r1', 1, event.at, JSON.stringify(event));
      db.close();
      const s = new SqliteStore(dir);
      try {
        assert.deepEqual(await s.read(APP, (r) => r.room('r1')), agg);
        assert.deepEqual((await s.readOutbox('', 10)).events, [event]);
      } finally {
        await s.close();
      }
    }));

  it('keeps seat objects whose index is not their position, and empty seat lists', () => {
    const odd = { ...makeAgg(APP, 'r1', 2), seats: [seats(3)[2], seats(3)[0]] };
    assert.deepEqual(roundTrip(odd), odd);
    const none = { ...makeAgg(APP, 'r1', 0), seats: [] };
    assert.deepEqual(roundTrip(none), none);
    const event = seatEvent(2, []);
    assert.deepEqual(parseEvent(JSON.stringify(event)), event);
    // User ids are any string: quotes, escapes, a replacement pattern, the packed form's own text.
    const names = ['a"b', 'back\\slash', '$&$1$$', '"seats":0', '"data":0', '[null,0]', 'é😀'];
    const tricky: Seat[] = seats(names.length).map((s, i) => ({ ...s, userId: names[i] }));
    const base = makeAgg(APP, 'r1', names.length);
    const agg = { ...base, room: { ...base.room, name: '"seats":0' }, seats: tricky };
    assert.deepEqual(roundTrip(agg), agg);
    for (const actor of ['"seats":0', '"data":0', '"data":0}']) {
      const named = { ...seatEvent(3, tricky), actor };
      assert.deepEqual(parseEvent(eventText(named)), named);
    }
    // A seat's packed text is made once and reused: a list sharing seats with another reads back alike.
    const changed = [...tricky];
    changed[1] = { ...changed[1], userId: null, locked: true };
    assert.deepEqual(parseEvent(eventText(seatEvent(4, changed))), seatEvent(4, changed));
    assert.deepEqual(parseEvent(eventText(seatEvent(5, tricky))), seatEvent(5, tricky));
  });
});
