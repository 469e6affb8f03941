// Members' chat into one room through the engine (no WebSocket), on each store in the same process,
// in alternating slices: the memory store (no persistence), SQLite, and PostgreSQL (a fresh schema
// in BENCH_PG_URL). A room's messages are checked (member, mutes, bad words) and written in
// batches under the room's lock; on PostgreSQL every read in a batch is a round trip while the
// room is held, so this is where that shows. CPU is the process's (every thread), per message.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBus } from '../src/adapters/local-bus.js';
import { MemoryStore } from '../src/adapters/memory/store.js';
import { PostgresStore } from '../src/adapters/postgres/store.js';
import { SqliteStore } from '../src/adapters/sqlite/store.js';
import { Engine } from '../src/core/engine.js';
import type { Store } from '../src/core/ports/store.js';
import { benchSchema, checkDatabase, dropSchemas, storeUrl } from './lib/pg.js';
import { alternate, pooledOps, type OpsFigures, type OpsSlice } from './lib/slices.js';

const APP = 1400000001;
const SENDERS = 64;
const SLICES = 5;
const SLICE_MS = 1000;

interface Target {
  name: string;
  engine: Engine;
  store: Store;
}


async function target(name: string, store: Store): Promise<Target> {
  const engine = new Engine(store, new LocalBus());
  await engine.execute(APP, { kind: 'admin', userId: 'administrator' }, { type: 'createRoom', roomId: 'chat', ownerId: 'owner' });
  for (let k = 0; k < SENDERS; k++) {
    await engine.execute(APP, { kind: 'user', userId: `m${k}` }, { type: 'enterRoom', roomId: 'chat', clientIp: `10.0.0.${k + 1}`, connId: `c${k}` });
  }
  return { name, engine, store };
}

/** Every sender sends its next message as soon as the last one is answered, for `ms`. */
async function slice(t: Target, ms: number): Promise<OpsSlice> {
  const t0 = performance.now();
  const end = t0 + ms;
  const cpu0 = process.cpuUsage();
  let messages = 0;
  await Promise.all(
    Array.from({ length: SENDERS }, async (_, k) => {
      const actor = { kind: 'user', userId: `m${k}`, connId: `c${k}` } as const;
      while (performance.now() < end) {
        await t.engine.execute(APP, actor, { type: 'sendMessage', roomId: 'chat', text: 'what time does the next session start?' });
        messages++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const out = { ops: messages, ms: performance.now() - t0, cpuUs: cpu.user + cpu.system };
  // Outside the measurement: a growing outbox or history would slow the later slices.
  await t.store.pruneOutbox(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  await t.store.pruneMessages(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  return out;
}

export async function chatStoreBench(): Promise<OpsFigures[]> {
  await checkDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'rostrum-bench-chat-'));
  const schema = benchSchema();
  const stores: [string, Store][] = [
    ['memory store (no persistence)', new MemoryStore()],
    ['SQLite store', new SqliteStore(dir)],
    ['PostgreSQL store', await PostgresStore.open(storeUrl(schema))],
  ];
  try {
    const targets = [];
    for (const [name, store] of stores) targets.push(await target(name, store));
    const slices = await alternate(targets, { slices: SLICES, warmup: (t) => slice(t, SLICE_MS) }, (t) => slice(t, SLICE_MS));
    return targets.map((t, i) => pooledOps(t.name, slices[i]));
  } finally {
    for (const [, store] of stores) await store.close();
    rmSync(dir, { recursive: true, force: true });
    await dropSchemas([schema]);
  }
}

export function printChatStore(r: OpsFigures[]): void {
  console.log('\nchat-store: members\' chat into one room through the engine, no WebSocket, %d senders, %d x %ds per store in alternating slices', SENDERS, SLICES, SLICE_MS / 1000);
  console.log('  %s  %s  %s', 'store'.padEnd(32), 'messages/s'.padStart(10), 'CPU µs/message'.padStart(14));
  for (const f of r) console.log('  %s  %s  %s', f.name.padEnd(32), f.perSecond.toFixed(0).padStart(10), f.cpuPerOp.toFixed(1).padStart(14));
  console.log('  (no goal: what a room\'s chat costs on each store; the PostgreSQL server\'s own CPU is not counted)');
}
