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

describe('callback relay', () => {
  it('spooled rows go straight to their sender, and a row spooled by another connection in between is not skipped', async () => {
    await withDataDir(async (dir) => {
      const rx = await startReceiver();
      receivers.push(rx);
      const store = new MemoryStore();
      const bus = new LocalBus();
      const engine = new Engine(store, bus);
      const spool = new SqliteSpool(dir);
      const service = new CallbackService(spool, new Map([[APP_ID, { url: rx.url }]]));
      await service.load();
      const relay = new CallbackRelay(store, spool, bus, service, { backoffBaseMs: 50 });
      await relay.start();
      const other = new SqliteSpool(dir);
      // Counts the sender's reads of the spool (the real spool's, counted on the way).
      let reads = 0;
      const pending = spool.pending.bind(spool);
      spool.pending = (...args) => (reads++, pending(...args));
      try {
        const create = (roomId: string) => engine.execute(APP_ID, ADMIN, { type: 'createRoom', roomId, ownerId: 'owner', isSeatEnabled: true, maxSeatCount: 2 });
        const created = () => new Set(rx.unique().map((b) => b.RoomInfo?.RoomId));
        for (const id of ['a1', 'a2', 'a3']) {
          await create(id);
          await until(() => created().has(id), `the callback for ${id}`);
        }
        // Another connection spools a row (as a re-send does), then the feeder spools the next
        // room's: its ids follow the other row's, so the sender must read the spool.
        const cursor = await other.cursor();
        const body = JSON.stringify({ CallbackCommand: 'Room.CallbackAfterCreateRoom', RoomInfo: { RoomId: 'resent' }, EventId: 'resent-1', Seq: 1 });
        const ids = await other.enqueue(cursor, [{ eventId: 'resent-1', appId: APP_ID, roomId: 'resent', seq: 1, command: 'Room.CallbackAfterCreateRoom', body, createdAt: Date.now() }], cursor);
        assert.ok(ids && ids[0] > 0);
        await create('a4');
        await until(() => created().has('a4') && created().has('resent'), 'both the next room and the row spooled in between', 10_000);
        // One room at a time, each in a feed of its own: read back, each would cost a read; the
        // feeder's look for backlog (every fifth feed) still reads now and then.
        const readsBefore = reads;
        const later = Array.from({ length: 10 }, (_, i) => `b${i}`);
        for (const id of later) {
          await create(id);
          await until(() => created().has(id), `the callback for ${id}`);
        }
        assert.ok(reads - readsBefore <= 3, `${reads - readsBefore} reads of the spool for 10 feeds`);
        assert.deepEqual([...created()].sort(), ['a1', 'a2', 'a3', 'a4', ...later, 'resent']);
        assert.equal(rx.accepted.length, 15, 'each delivered once');
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
