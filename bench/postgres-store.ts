// Round trips per command and throughput of PostgresStore under the core, against the bare
// transaction the brief measures it by (BEGIN; SELECT … FOR UPDATE; UPDATE; INSERT; COMMIT).
// Usage: node --import tsx bench/postgres-store.ts [seconds=5] [concurrency=32]
// Needs PostgreSQL (ROSTRUM_TEST_PG, default postgres://postgres@127.0.0.1:5432/test).
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { Engine } from '../src/core/engine.js';
import { LocalBus } from '../src/adapters/local-bus.js';
import { PostgresStore } from '../src/adapters/postgres/index.js';

const BASE = process.env.ROSTRUM_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const seconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 32);
const APP = 1400000001;
const admin = { kind: 'admin' as const, userId: 'administrator' };
const schema = `rostrum_bench_${randomBytes(4).toString('hex')}`;
const u = new URL(BASE);
u.searchParams.set('schema', schema);

// Counts statements sent on every pg client (one statement = one round trip: pg does not pipeline).
let statements = 0;
const origQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements++;
  return (origQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;

const store = await PostgresStore.open(u.toString(), { poolSize: concurrency });
const engine = new Engine(store, new LocalBus());
const rooms = Array.from({ length: concurrency }, (_, i) => `room${i}`);
for (const roomId of rooms) {
  await engine.execute(APP, admin, { type: 'createRoom', roomId, ownerId: 'owner', maxSeatCount: 8, isSeatEnabled: true, takeSeatMode: 'FreeToTake' } as never);
  await engine.execute(APP, { kind: 'user', userId: 'u1' }, { type: 'enterRoom', roomId, clientIp: '10.0.0.1', connId: 'n1:c1' } as never);
}

async function count(label: string, run: () => Promise<unknown>): Promise<void> {
  const before = statements;
  await run();
  console.log(`${label}: ${statements - before} round trips`);
}
await count('enterRoom', () => engine.execute(APP, { kind: 'user', userId: 'u2' }, { type: 'enterRoom', roomId: 'room0', clientIp: '10.0.0.2', connId: 'n1:c2' } as never));
await count('takeSeat', () => engine.execute(APP, { kind: 'user', userId: 'u1' }, { type: 'takeSeat', roomId: 'room0', index: 1 } as never));
await count('kickOffSeat', () => engine.execute(APP, admin, { type: 'kickOffSeat', roomId: 'room0', userId: 'u1', data: 'bye' } as never));
await count('getRoomInfo (read)', () => engine.execute(APP, admin, { type: 'getRoomInfo', roomId: 'room0' } as never));

async function loop(worker: (i: number) => Promise<void>): Promise<number> {
  let done = 0;
  const cpu0 = process.cpuUsage();
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      while (Date.now() < end) {
        await worker(i);
        done++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  console.log(`  ${done} iterations, this process: ${((cpu.user + cpu.system) / done).toFixed(0)} µs CPU each`);
  return done / seconds;
}

// Rostrum: take a seat then be kicked off it (two write commands per iteration, counted as two).
const rostrum = (await loop(async (i) => {
  await engine.execute(APP, { kind: 'user', userId: 'u1' }, { type: 'takeSeat', roomId: rooms[i], index: 2 } as never);
  await engine.execute(APP, admin, { type: 'kickOffSeat', roomId: rooms[i], userId: 'u1', data: 'bye' } as never);
})) * 2;

// The bare transaction, on its own pool and table in the same schema.
const bare = new pg.Pool({ connectionString: BASE, max: concurrency, options: `-c search_path=${schema}` });
await bare.query('CREATE TABLE bare_rooms (id text PRIMARY KEY, state jsonb NOT NULL, seq bigint NOT NULL)');
await bare.query('CREATE TABLE bare_outbox (id bigserial PRIMARY KEY, room_id text, seq bigint, event jsonb)');
for (const r of rooms) await bare.query(`INSERT INTO bare_rooms VALUES ($1, '{}', 0)`, [r]);
const bareRate = await loop(async (i) => {
  const c = await bare.connect();
  try {
    await c.query('BEGIN');
    const row = await c.query({ name: 'l', text: 'SELECT state, seq FROM bare_rooms WHERE id = $1 FOR UPDATE', values: [rooms[i]] });
    const seq = Number(row.rows[0].seq) + 1;
    await c.query({ name: 'u', text: 'UPDATE bare_rooms SET state = $2, seq = $3 WHERE id = $1', values: [rooms[i], row.rows[0].state, seq] });
    await c.query({ name: 'i', text: 'INSERT INTO bare_outbox (room_id, seq, event) VALUES ($1, $2, $3)', values: [rooms[i], seq, '{"type":"x"}'] });
    await c.query('COMMIT');
  } finally {
    c.release();
  }
});
console.log(`bare transaction: ${bareRate.toFixed(0)}/s; Rostrum write commands: ${rostrum.toFixed(0)}/s (${((rostrum / bareRate) * 100).toFixed(0)} %)`);

await bare.query(`DROP SCHEMA ${schema} CASCADE`);
await bare.end();
await store.close();
