// Fast core tests: the engine over the in-memory store and the local bus, no HTTP.
import { Engine } from '../../src/core/engine.js';
import type { RoomEvent } from '../../src/core/events.js';
import type { Actor } from '../../src/core/model.js';
import type { Store } from '../../src/core/ports/store.js';
import { LocalBus } from '../../src/adapters/local-bus.js';
import { MemoryStore } from '../../src/adapters/memory/store.js';

export const APP_ID = 1400000001;
export const ADMIN: Actor = { kind: 'admin', userId: 'administrator' };
export const user = (userId: string): Actor => ({ kind: 'user', userId });

export interface CoreFixture {
  engine: Engine;
  store: Store;
  /** Every published event, in publish order. */
  events: RoomEvent[];
  /** Creates a room with seats and puts these users in it. */
  room(roomId: string, members?: string[], opts?: { seats?: number; clientIp?: (userId: string) => string }): Promise<void>;
}

export function core(store: Store = new MemoryStore(), clock: () => number = Date.now): CoreFixture {
  const bus = new LocalBus();
  const events: RoomEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const engine = new Engine(store, bus, clock);
  return {
    engine,
    store,
    events,
    async room(roomId, members = [], opts = {}) {
      await engine.execute(APP_ID, ADMIN, { type: 'createRoom', roomId, ownerId: 'owner', isSeatEnabled: true, maxSeatCount: opts.seats ?? 8 });
      for (const m of members) {
        await engine.execute(APP_ID, user(m), { type: 'enterRoom', roomId, clientIp: opts.clientIp?.(m) ?? '127.0.0.1', connId: `c-${m}` });
      }
    },
  };
}
