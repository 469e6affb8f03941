// The Store contract over the in-memory adapter, and what is the memory store's own.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/adapters/memory/store.js';
import { makeAgg, storeContract } from './store-contract.js';

storeContract('memory', async () => ({ store: new MemoryStore(), cleanup: async () => {} }));

describe('memory store: completion', () => {
  it("completes a turn's writes together once the turn is over, as the SQLite store's group commit does", async () => {
    const store = new MemoryStore();
    const order: string[] = [];
    setImmediate(() => order.push('turn over'));
    const writes = ['r1', 'r2', 'r3'].map((roomId) => store.write(1, (w) => w.insertRoom(makeAgg(1, roomId))).then(() => order.push(roomId)));
    await Promise.all(writes);
    assert.deepEqual(order, ['turn over', 'r1', 'r2', 'r3']);
    assert.equal((await store.read(1, (r) => r.room('r2')))?.room.roomId, 'r2');
  });
});
