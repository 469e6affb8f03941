// The Bus port's contract: every adapter (local, redis) runs these tests. Delivery may be
// asynchronous (another process in between), so assertions wait for what they expect. `cleanup()`
// must be safe to call after the test closed the bus itself.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RoomEvent } from '../../src/core/events.js';
import type { Bus } from '../../src/core/ports/bus.js';

export interface OpenedBus {
  bus: Bus;
  /** A shared bus: another node's bus on the same transport (the cross-node tests run with it). */
  peer?: Bus;
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

export function busContract(name: string, open: () => Promise<OpenedBus>, opts: { shared?: boolean; skip?: string | false } = {}): void {
  const withBus = (body: (b: Bus) => Promise<void>) => async () => {
    const o = await open();
    try {
      await body(o.bus);
    } finally {
      await o.cleanup();
    }
  };
  const withPeers = (body: (a: Bus, b: Bus) => Promise<void>) => async () => {
    const o = await open();
    try {
      assert.ok(o.peer, 'a shared bus opens a peer');
      await body(o.bus, o.peer);
    } finally {
      await o.cleanup();
    }
  };

  describe(`Bus contract: ${name}`, { skip: opts.skip }, () => {
    it('delivers to this node\'s subscribers synchronously, in the publish call', withBus(async (bus) => {
      const got: number[] = [];
      bus.subscribe((e, remote) => {
        assert.ok(!remote, 'a local event is not remote');
        got.push(e.seq);
      });
      bus.publish(event(1));
      assert.deepEqual(got, [1]);
    }));

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

    if (!opts.shared) return;

    it('a shared bus: another node gets every event, whole and in publish order, marked remote', withPeers(async (a, b) => {
      const got: RoomEvent[] = [];
      const flags: boolean[] = [];
      b.subscribe((e, remote) => {
        got.push(e);
        flags.push(remote === true);
      });
      const sent = Array.from({ length: 200 }, (_, i) => event(i + 1, `r${i % 3}`));
      // Over several turns, as commits come: some events in one turn, some alone.
      for (let i = 0; i < sent.length; i++) {
        a.publish(sent[i]);
        if (i % 7 === 0) await new Promise((r) => setImmediate(r));
      }
      await eventually(() => assert.equal(got.length, sent.length));
      assert.deepEqual(got, sent);
      assert.ok(flags.every(Boolean));
    }));

    it('a shared bus: both directions; a node never gets its own events twice', withPeers(async (a, b) => {
      const atA: string[] = [];
      const atB: string[] = [];
      a.subscribe((e) => atA.push(`${e.roomId}/${e.seq}`));
      b.subscribe((e) => atB.push(`${e.roomId}/${e.seq}`));
      for (let i = 1; i <= 10; i++) a.publish(event(i, 'fromA'));
      for (let i = 1; i <= 10; i++) b.publish(event(i, 'fromB'));
      const all = (room: string) => Array.from({ length: 10 }, (_, i) => `${room}/${i + 1}`);
      await eventually(() => {
        assert.deepEqual(atA.filter((x) => x.startsWith('fromB')), all('fromB'));
        assert.deepEqual(atB.filter((x) => x.startsWith('fromA')), all('fromA'));
      });
      // A marker after everything: once it crossed, any echo of the first ones would have too.
      a.publish(event(99, 'marker'));
      b.publish(event(99, 'marker'));
      await eventually(() => {
        assert.equal(atA.filter((x) => x === 'marker/99').length, 2);
        assert.equal(atB.filter((x) => x === 'marker/99').length, 2);
      });
      await settle();
      assert.deepEqual(atA.filter((x) => x.startsWith('fromA')), all('fromA'), 'own events once');
      assert.deepEqual(atB.filter((x) => x.startsWith('fromB')), all('fromB'), 'own events once');
    }));

    it('a shared bus: ready() says it is connected', withPeers(async (a, b) => {
      assert.equal(a.ready?.(), true);
      assert.equal(b.ready?.(), true);
    }));
  });
}
