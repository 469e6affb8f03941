// Latency as the data grows: two Rostrum servers on the same store kind, one holding the smallest
// size (1,000 rooms, 10 app-wide deny entries) and one the largest (100,000 rooms, 100,000
// entries), measured in alternating slices at a light fixed load (open loop), so that the only
// difference between the two is the amount of data. Measured on each server at once:
//  - admin commands: pick_user_on_seat / kick_user_off_seat through the Tencent REST API;
//  - entering a room: `enterRoom` (then `exitRoom`) over the realtime WebSocket, the path a
//    user's entry takes, which checks the user and their IP against the deny entries.
// The measured rooms are spread over the whole range of room ids. Populating goes through the
// core in the server process (createRoom in parallel batches, app-wide banUsers of 1,000 users).
import { WebSocket } from 'ws';
import { startChild, summarize, type Child } from './lib/child.js';
import { analyze, benchSchema, checkDatabase, dropSchemas, multiplySeed, storeUrl } from './lib/pg.js';
import { alternate } from './lib/slices.js';
import { adminQuery, benchApp, realtimeUrl, tencentOk } from './lib/tencent.js';
import type { App } from '../src/core/model.js';
import type { LaneSpec, RunResult } from './paced-main.js';

export interface Size {
  rooms: number;
  denied: number;
}
export const SMALL: Size = { rooms: 1_000, denied: 10 };
export const LARGE: Size = { rooms: 100_000, denied: 100_000 };
const ADMIN_LANES = 16; // members, each in its own room, picked and kicked
const ENTER_LANES = 16; // users, each entering and leaving ROOMS_PER_ENTER_LANE rooms in turn
const ROOMS_PER_ENTER_LANE = 4;
/** Steps per second over all lanes (half admin, half enter/exit): light load, no queueing. */
const RATE = 400;
const WARMUP_MS = 2_000;
const SLICES = 4;
const SLICE_MS = 2_000;

type Stats = { n: number; p50: number; p99: number; max: number; mean: number };

export interface GrowthFigures {
  size: Size;
  populateSeconds: number;
  admin: Stats;
  enter: Stats;
  failures: number;
  firstFailure?: string;
}

export interface GrowthResult {
  store: 'sqlite' | 'postgres';
  small: GrowthFigures;
  large: GrowthFigures;
  adminRatio: number;
  enterRatio: number;
  met: boolean;
}

/** n room numbers spread evenly over [0, rooms). */
const spread = (rooms: number, n: number) => Array.from({ length: n }, (_, k) => Math.floor(((k + 0.5) * rooms) / n));

/**
 * On PostgreSQL the core creates about 400 rooms/s and bans about 1,000 users/s on this machine:
 * 100,000 of each would take minutes. There the core makes the first SEED rooms and entries and
 * SQL copies them (lib/pg.ts multiplySeed); the checks in growthBench read the copies through the core.
 */
const SEED = 1_000;

/** Fills a server to `size` (through the core, see SEED); returns the seconds it took. */
async function populate(server: Child, size: Size, schema: string | null): Promise<number> {
  const t0 = performance.now();
  const seeded = schema !== null && size.rooms > SEED;
  const rooms = seeded ? SEED : size.rooms;
  const denied = seeded ? SEED : size.denied;
  await server.call('createRooms', { prefix: 'r', from: 0, to: rooms, seats: 8 });
  await server.call('banUsers', { prefix: 'b', from: 0, to: denied, perCall: 1000 });
  if (seeded) {
    if (size.rooms !== size.denied || size.rooms % SEED !== 0) throw new Error('the seeded size must be a multiple of SEED rooms and entries');
    await multiplySeed(schema, SEED, size.rooms / SEED);
  }
  // Both sizes alike: without it the small schema has no statistics and the large one does.
  if (schema !== null) await analyze(schema);
  return (performance.now() - t0) / 1000;
}

/** One op over a fresh socket; resolves with the reply's code. */
function wsOnce(url: string, frame: Record<string, unknown>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ id: 1, ...frame })));
    ws.on('message', (data: Buffer) => {
      const reply = JSON.parse(data.toString()) as { id?: number; code: number };
      if (reply.id !== 1) return;
      ws.close();
      resolve(reply.code);
    });
  });
}

/** The lanes of one server: admin lanes in their rooms, enter lanes over the realtime gateway. */
async function lanesFor(server: Child, app: App, size: Size): Promise<LaneSpec[]> {
  const port = server.ready.port as number;
  const query = adminQuery(app);
  const adminRooms = spread(size.rooms, ADMIN_LANES).map((n) => `r${n}`);
  for (const [k, roomId] of adminRooms.entries()) await server.call('enter', { roomId, userIds: [`m${k}`] });
  const lanes: LaneSpec[] = adminRooms.map((RoomId, k) => ({
    http: [
      { tag: 'pick', path: `/v4/room_engine_http_mic/pick_user_on_seat?${query}`, body: JSON.stringify({ RoomId, Member_Account: `m${k}`, Index: 0 }) },
      { tag: 'kick', path: `/v4/room_engine_http_mic/kick_user_off_seat?${query}`, body: JSON.stringify({ RoomId, Member_Account: `m${k}`, Data: 'time is up' }) },
    ],
  }));
  const enterRooms = spread(size.rooms, ENTER_LANES * ROOMS_PER_ENTER_LANE).map((n) => `r${n}`);
  for (let k = 0; k < ENTER_LANES; k++) {
    const rooms = enterRooms.slice(k * ROOMS_PER_ENTER_LANE, (k + 1) * ROOMS_PER_ENTER_LANE);
    lanes.push({
      ws: realtimeUrl(port, app, `u${k}`),
      steps: rooms.flatMap((roomId) => [
        { tag: 'enter', frame: { op: 'enterRoom', roomId } },
        { tag: 'exit', frame: { op: 'exitRoom', roomId } },
      ]),
    });
  }
  return lanes;
}

export async function growthBench(store: 'sqlite' | 'postgres'): Promise<GrowthResult> {
  const app = benchApp();
  const schemas: string[] = [];
  const children: Child[] = [];
  try {
    if (store === 'postgres') await checkDatabase();
    const startServer = async (name: string) => {
      const schema = store === 'postgres' ? benchSchema() : null;
      if (schema) schemas.push(schema);
      const c = await startChild(name, 'bench/server-main.ts', { env: { BENCH_APP: JSON.stringify(app), BENCH_STORE: schema ? storeUrl(schema) : 'sqlite' } });
      children.push(c);
      return { server: c, schema };
    };
    const s = await startServer('rostrum-small');
    const l = await startServer('rostrum-large');
    const [small, large] = [s.server, l.server];
    const [smallSeconds, largeSeconds] = await Promise.all([populate(small, SMALL, s.schema), populate(large, LARGE, l.schema)]);

    // The entries are there, and a denied user is refused on the path being measured.
    for (const [server, size] of [[small, SMALL], [large, LARGE]] as const) {
      const n = await server.call<number>('denyCount');
      if (n !== size.denied) throw new Error(`expected ${size.denied} deny entries, found ${n}`);
      const code = await wsOnce(realtimeUrl(server.ready.port as number, app, `b${size.denied - 1}`), { op: 'enterRoom', roomId: 'r0' });
      if (code === 0) throw new Error('a denied user entered');
      await tencentOk(server.ready.port as number, app, 'room_engine_http_srv/get_room_info', { RoomId: `r${size.rooms - 1}` });
    }

    const targets: { size: Size; driver: Child }[] = [];
    for (const [server, size] of [[small, SMALL], [large, LARGE]] as const) {
      const driver = await startChild('paced-driver', 'bench/paced-main.ts');
      children.push(driver);
      await driver.call('setup', { port: server.ready.port, lanes: await lanesFor(server, app, size), expect: '"ErrorCode":0,' });
      targets.push({ size, driver });
    }
    const runs = await alternate(
      targets,
      { slices: SLICES, warmup: (t) => t.driver.call('run', { ratePerSecond: RATE, durationMs: WARMUP_MS, record: false }) },
      (t) => t.driver.call<RunResult>('run', { ratePerSecond: RATE, durationMs: SLICE_MS, record: true }),
    );
    const figs = (i: number, populateSeconds: number): GrowthFigures => {
      const rs = runs[i];
      const of = (...tags: string[]) => summarize(rs.flatMap((r) => tags.flatMap((t) => r.latencies[t] ?? [])));
      return {
        size: targets[i].size,
        populateSeconds,
        admin: of('pick', 'kick'),
        enter: of('enter'),
        failures: rs.reduce((a, r) => a + r.failures, 0),
        firstFailure: rs.find((r) => r.firstFailure)?.firstFailure,
      };
    };
    const sf = figs(0, smallSeconds);
    const lf = figs(1, largeSeconds);
    const adminRatio = lf.admin.p50 / sf.admin.p50;
    const enterRatio = lf.enter.p50 / sf.enter.p50;
    return { store, small: sf, large: lf, adminRatio, enterRatio, met: adminRatio <= 1.5 && enterRatio <= 1.5 && sf.failures + lf.failures === 0 };
  } finally {
    for (const c of children.reverse()) await c.stop();
    if (schemas.length) await dropSchemas(schemas);
  }
}

export function printGrowth(r: GrowthResult): void {
  const f = (x: number, d = 2) => x.toFixed(d);
  console.log(
    '\ngrowth (%s): %d-%d rooms, %d-%d app-wide deny entries; %d steps/s (pick/kick over REST, enterRoom/exitRoom over WebSocket), %d x %ds per server in alternating slices after %ds warm-up',
    r.store,
    SMALL.rooms,
    LARGE.rooms,
    SMALL.denied,
    LARGE.denied,
    RATE,
    SLICES,
    SLICE_MS / 1000,
    WARMUP_MS / 1000,
  );
  for (const g of [r.small, r.large]) {
    console.log(
      '  %s rooms, %s denied (filled in %ss): admin p50 %s p99 %s ms (n %d) | enterRoom p50 %s p99 %s ms (n %d)%s',
      String(g.size.rooms).padStart(6),
      String(g.size.denied).padStart(6),
      f(g.populateSeconds, 1),
      f(g.admin.p50),
      f(g.admin.p99),
      g.admin.n,
      f(g.enter.p50),
      f(g.enter.p99),
      g.enter.n,
      g.failures ? `, failures ${g.failures}: ${g.firstFailure}` : '',
    );
  }
  console.log('  largest / smallest p50: admin %sx, enterRoom %sx (goal <= 1.5x): %s', f(r.adminRatio), f(r.enterRatio), r.met ? 'met' : 'NOT met');
}
