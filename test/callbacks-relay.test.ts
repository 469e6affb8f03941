// The relay over the engine (memory store, local bus) and a real SQLite spool, to a real receiver:
// rows the feeder spools go to their sender without being read back, unless someone else spooled
// rows in between (another connection: the CLI's re-send, the main thread's service); then the
// sender reads the spool, and nothing is skipped.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LocalBus } from '../src/adapters/local-bus.js';
import { MemoryStore } from '../src/adapters/memory/store.js';
import { CallbackRelay } from '../src/callbacks/relay.js';
import { CallbackService } from '../src/callbacks/service.js';
import { SqliteSpool } from '../src/callbacks/spool-sqlite.js';
import { Engine } from '../src/core/engine.js';
import { ADMIN, APP_ID } from './core/support.js';
import { startReceiver, until, type Receiver } from './support/receiver.js';
import { withDataDir } from './support/sqlite-dir.js';

const receivers: Receiver[] = [];
after(async () => {
  for (const r of receivers) await r.close();
});

const OTHER_APP_ID = APP_ID + 1;

describe('callback relay', () => {
  it('spooled rows go straight to their sender; rows another connection spooled in between, for any app, are not skipped', async () => {
    await withDataDir(async (dir) => {
      const rx = await startReceiver();
      receivers.push(rx);
      const store = new MemoryStore();
      const bus = new LocalBus();
      const engine = new Engine(store, bus);
      const spool = new SqliteSpool(dir);
      const service = new CallbackService(spool, new Map([APP_ID, OTHER_APP_ID].map((app) => [app, { url: rx.url }])));
      await service.load();
      const relay = new CallbackRelay(store, spool, bus, service, { backoffBaseMs: 50 });
      await relay.start();
      const other = new SqliteSpool(dir);
      // Counts the senders' reads of the spool (the real spool's, counted on the way).
      let reads = 0;
      const pending = spool.pending.bind(spool);
      spool.pending = (...args) => (reads++, pending(...args));
      try {
        const created = () => new Set(rx.unique().map((b) => b.RoomInfo?.RoomId));
        const create = async (roomId: string, app = APP_ID) => {
          await engine.execute(app, ADMIN, { type: 'createRoom', roomId, ownerId: 'owner', isSeatEnabled: true, maxSeatCount: 2 });
          await until(() => created().has(roomId), `the callback for ${roomId}`);
        };
        /** Spools a row on another connection, as a re-send does (the cursor stays). */
        const spoolElsewhere = async (roomId: string, appId: number) => {
          const cursor = await other.cursor();
          const body = JSON.stringify({ CallbackCommand: 'Room.CallbackAfterCreateRoom', RoomInfo: { RoomId: roomId }, EventId: roomId, Seq: 1 });
          const ids = await other.enqueue(cursor, [{ eventId: roomId, appId, roomId, seq: 1, command: 'Room.CallbackAfterCreateRoom', body, createdAt: Date.now() }], cursor);
          assert.ok(ids && ids[0] > 0);
        };
        for (const id of ['a1', 'a2']) await create(id);
        await create('o1', OTHER_APP_ID);

        // One room at a time, each in a feed of its own: read back, each would cost a read; the
        // feeder's look for backlog (every fifth feed) still reads now and then.
        const readsBefore = reads;
        const later = Array.from({ length: 10 }, (_, i) => `b${i}`);
        for (const id of later) await create(id);
        assert.ok(reads - readsBefore <= 3, `${reads - readsBefore} reads of the spool for 10 feeds`);

        // A row of this app spooled elsewhere, then the feeder's next one: both arrive.
        await spoolElsewhere('resent', APP_ID);
        await create('a3');
        await until(() => created().has('resent'), 'the row spooled in between');
        // A row of the other app spooled elsewhere; the feeder then spools this app's row (the
        // gap shows there) and then the other app's: that one must not step over the row. (A few
        // times: the feeder's look for backlog, every fifth feed, would find the row anyway.)
        const rounds = ['c0', 'c1', 'c2', 'c3', 'c4'];
        for (const r of rounds) {
          await spoolElsewhere(`resent-${r}`, OTHER_APP_ID);
          await create(`a-${r}`);
          await create(`o-${r}`, OTHER_APP_ID);
        }
        await until(() => rounds.every((r) => created().has(`resent-${r}`)), "the other app's rows spooled in between");

        const expected = ['a1', 'a2', 'a3', ...later, 'o1', 'resent', ...rounds.flatMap((r) => [`a-${r}`, `o-${r}`, `resent-${r}`])];
        assert.deepEqual([...created()].sort(), expected.sort());
        assert.equal(rx.accepted.length, expected.length, 'each delivered once');
        // Delivered rows leave the spool in batches.
        await until(async () => (await spool.counts()).length === 0, 'the spool to empty');
      } finally {
        await relay.close();
        await other.close();
        await spool.close();
      }
    });
  });
});
