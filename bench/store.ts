// The embedded store's write path alone: pick_user_on_seat / kick_user_off_seat through the engine
// (no HTTP), on the SQLite store beside the memory store (no persistence) in the same process, in
// alternating slices. What SQLite adds per command is the cost of durability: the batch's rows,
// their COMMIT and the checkpoints. CPU is the process's (every thread), per command.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBus } from '../src/adapters/local-bus.js';
import { MemoryStore } from '../src/adapters/memory/store.js';
import { SqliteStore } from '../src/adapters/sqlite/store.js';
import { Engine } from '../src/core/engine.js';
import type { Actor } from '../src/core/model.js';
import type { Store } from '../src/core/ports/store.js';
import { SHAPES, type RoomShape } from './admin.js';
import { alternate, pooledOps, type OpsFigures, type OpsSlice } from './lib/slices.js';

const APP = 1400000001;
const ADMIN: Actor = { kind: 'admin', userId: 'administrator' };
const LANES = 50;
const SLICES = 6;
const SLICE_MS = 1000;

interface Target {
  name: string;
  engine: Engine;
  store: Store;
  /** The memory store's outbox is its heap: emptied after each slice (see slice). */
  pruneAfter: boolean;
}


export interface StoreResult {
  shape: RoomShape;
  memory: OpsFigures;
  sqlite: OpsFigures;
}

async function target(name: string, store: Store, shape: RoomShape, pruneAfter: boolean): Promise<Target> {
  const engine = new Engine(store, new LocalBus());
  for (let r = 0; r < shape.rooms; r++) {
    const roomId = `bench-store-${r}`;
    await engine.execute(APP, ADMIN, { type: 'createRoom', roomId, ownerId: 'owner', isSeatEnabled: true, maxSeatCount: shape.seats });
    for (let k = r; k < LANES; k += shape.rooms) {
      await engine.execute(APP, { kind: 'user', userId: `m${k}` }, { type: 'enterRoom', roomId, clientIp: '127.0.0.1', connId: `c${k}` });
    }
  }
  return { name, engine, store, pruneAfter };
}

/** Lane k picks its member onto its seat and kicks it off, again and again, for `ms`. */
async function slice(t: Target, shape: RoomShape, ms: number): Promise<OpsSlice> {
  const t0 = performance.now();
  const end = t0 + ms;
  const cpu0 = process.cpuUsage();
  let commands = 0;
  await Promise.all(
    Array.from({ length: LANES }, async (_, k) => {
      const roomId = `bench-store-${k % shape.rooms}`;
      const userId = `m${k}`;
      const index = Math.floor(k / shape.rooms);
      while (performance.now() < end) {
        await t.engine.execute(APP, ADMIN, { type: 'pickOnSeat', roomId, userId, index });
        await t.engine.execute(APP, ADMIN, { type: 'kickOffSeat', roomId, userId, data: 'time is up' });
        commands += 2;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const out = { ops: commands, ms: performance.now() - t0, cpuUs: cpu.user + cpu.system };
  // Outside the measurement: a growing heap would slow both stores' collections.
  if (t.pruneAfter) await t.store.pruneOutbox(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  return out;
}

export async function storeBench(shape: RoomShape): Promise<StoreResult> {
  const dir = mkdtempSync(join(tmpdir(), 'rostrum-bench-store-'));
  const sqlite = new SqliteStore(dir);
  try {
    const targets = [await target('memory', new MemoryStore(), shape, true), await target('sqlite', sqlite, shape, false)];
    const slices = await alternate(targets, { slices: SLICES, warmup: (t) => slice(t, shape, SLICE_MS) }, (t) => slice(t, shape, SLICE_MS));
    return { shape, memory: pooledOps('memory store (no persistence)', slices[0]), sqlite: pooledOps('SQLite store', slices[1]) };
  } finally {
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printStore(r: StoreResult): void {
  console.log(
    '\nstore: pick/kick through the engine, no HTTP, %d lanes, %d room(s) of %d seats, %d x %ds per store in alternating slices',
    LANES,
    r.shape.rooms,
    r.shape.seats,
    SLICES,
    SLICE_MS / 1000,
  );
  console.log('  %s  %s  %s', 'store'.padEnd(32), 'commands/s'.padStart(10), 'CPU µs/command'.padStart(14));
  for (const f of [r.memory, r.sqlite]) console.log('  %s  %s  %s', f.name.padEnd(32), f.perSecond.toFixed(0).padStart(10), f.cpuPerOp.toFixed(1).padStart(14));
  console.log('  durability costs %s µs CPU a command (no goal: where the admin benchmark\'s SQLite time goes)', (r.sqlite.cpuPerOp - r.memory.cpuPerOp).toFixed(1));
}


