// The Bus port's contract: every adapter (local, redis) runs these tests. Delivery may be
// asynchronous (another process in between), so assertions wait for what they expect. `cleanup()`
// must be safe to call after the test closed the bus itself.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RoomEvent } from '../../src/core/events.js';
import type { Bus } from '../../src/core/ports/bus.js';

export interface OpenedBus {
  bus: Bus;
  cleanup: () => Promise<void>;
}

const APP = 1400000001;

function event(seq: number, roomId = 'r1'): RoomEvent {
  return { appId: APP, roomId, seq, at: 1000 + seq, type: 'seatListChanged', actor: 'admin', data: { seats: [] } };
}

/** Waits until `check` passes (for adapters that deliver through another process). */
async function eventually(check: () => void, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      check();
      return;
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

const settle = () => new Promise((r) => setTimeout(r, 50));

export function busContract(name: string, open: () => Promise<OpenedBus>): void {
  const withBus = (body: (b: Bus) => Promise<void>) => async () => {
    const o = await open();
    try {
      await body(o.bus);
    } finally {
      await o.cleanup();
    }
  };

  describe(`Bus contract: ${name}`, () => {
    it('delivers events in publish order, whole', withBus(async (bus) => {
      const got: RoomEvent[] = [];
      bus.subscribe((e) => got.push(e));
      const sent = Array.from({ length: 50 }, (_, i) => event(i + 1, i % 2 ? 'r1' : 'r2'));
      for (const e of sent) bus.publish(e);
      await eventually(() => assert.equal(got.length, sent.length));
      assert.deepEqual(got, sent);
    }));

    it('every subscriber gets every event', withBus(async (bus) => {
      const a: number[] = [];
      const b: number[] = [];
      bus.subscribe((e) => a.push(e.seq));
      bus.subscribe((e) => b.push(e.seq));
      for (let i = 1; i <= 5; i++) bus.publish(event(i));
      await eventually(() => assert.deepEqual([a, b], [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5]]));
    }));

    it('an unsubscribed handler gets nothing more; the others carry on', withBus(async (bus) => {
      const a: number[] = [];
      const b: number[] = [];
      const offA = bus.subscribe((e) => a.push(e.seq));
      bus.subscribe((e) => b.push(e.seq));
      bus.publish(event(1));
      await eventually(() => assert.deepEqual([a, b], [[1], [1]]));
      offA();
      offA(); // twice is harmless
      bus.publish(event(2));
      await eventually(() => assert.deepEqual(b, [1, 2]));
      await settle();
      assert.deepEqual(a, [1]);
    }));

    it('close() stops delivery', async () => {
      const o = await open();
      try {
        const got: number[] = [];
        o.bus.subscribe((e) => got.push(e.seq));
        o.bus.publish(event(1));
        await eventually(() => assert.deepEqual(got, [1]));
        await o.bus.close();
        try {
          o.bus.publish(event(2));
        } catch {
          // a closed bus may refuse to publish
        }
        await settle();
        assert.deepEqual(got, [1]);
      } finally {
        await o.cleanup();
      }
    });
  });
}
