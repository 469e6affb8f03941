// Admin REST API: alternating pick_user_on_seat / kick_user_off_seat against Rostrum, beside a
// baseline measured in the same run, all servers up at once and measured in alternating slices.
//  - closed loop: autocannon at 50 connections (throughput);
//  - open loop: a paced driver at a fixed offered load (latency when the server is not saturated).
// Rostrum on SQLite is compared with a bare Fastify JSON route; Rostrum on PostgreSQL with a bare
// Fastify route running one PostgreSQL transaction per request (bench/bare-pg-main.ts).
import { availableParallelism } from 'node:os';
import autocannon from 'autocannon';
import { sleep, startChild, summarize, type Child, type Stalls } from './lib/child.js';
import { benchSchema, checkDatabase, dropSchemas, storeUrl } from './lib/pg.js';
import { alternate, pairedRatio, rounds, type PairedRatio } from './lib/slices.js';
import { adminQuery, benchApp, tencent, tencentOk } from './lib/tencent.js';
import type { App } from '../src/core/model.js';
import type { HttpStep, RunResult } from './paced-main.js';

const CONNECTIONS = 50;
const WARMUP_S = 2;
/** Rounds of alternation (BENCH_ROUNDS overrides). */
const SLICES = rounds(7);
const SLICE_S = 2;
/** The fixed offered load of the open-loop measurement, requests/s. */
export const OPEN_LOOP_RATE = 2_000;
const OK = '"ErrorCode":0,';

/**
 * How the 50 connections' members and seats are laid out: connection k works on member m<k>, in
 * room k % rooms, on seat floor(k / rooms). One room of 50 seats is the stress case (every change
 * carries a 50-seat list); 50 rooms of 8 seats is the typical shape of voice rooms.
 */
export interface RoomShape {
  rooms: number;
  seats: number;
}
export const SHAPES: RoomShape[] = [
  { rooms: 50, seats: 8 },
  { rooms: 1, seats: 50 },
];
const roomOf = (shape: RoomShape, k: number) => `bench-admin-${k % shape.rooms}`;
const seatOf = (shape: RoomShape, k: number) => Math.floor(k / shape.rooms);

export interface HttpFigures {
  reqPerSec: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Server CPU time (user + system, all threads) per request, µs: less sensitive to other load than req/s. */
  cpuPerRequest: number;
  /** The load generator's CPU per request (µs): it runs in this process, on the same cores. */
  driverCpuPerRequest: number;
  /** Responses without ErrorCode 0 (every body is checked) and the first of them. */
  failures: number;
  firstFailure?: string;
}

export interface OpenLoopFigures {
  rate: number;
  completed: number;
  p50: number;
  p99: number;
  max: number;
  /** Slots that never got sent because the server fell that far behind. */
  backlog: number;
  failures: number;
  firstFailure?: string;
  driverDelayP99: number;
  /** The server's own event-loop delay and GC pauses during the measured runs (worst run). */
  server: Stalls;
}

export type Baseline = 'bare-http' | 'bare-pg';
const BASELINE_NAMES: Record<Baseline, string> = {
  'bare-http': 'bare Fastify JSON POST',
  'bare-pg': 'bare Fastify + pg transaction',
};

export interface AdminOptions {
  /** Rostrum's store: 'sqlite' (default) or 'postgres' (a fresh schema in PG_URL). */
  store?: 'sqlite' | 'postgres';
  /** The first is the goal's; the others are shown for context. None: callbacks on beside off alone. */
  baselines: Baseline[];
  /** Rounds of alternation (default 7, or BENCH_ROUNDS). */
  rounds?: number;
  /** Also measure at a fixed offered load (Rostrum and the first baseline). */
  openLoop?: boolean;
  /** Also measure Rostrum with callbacks on (a signing receiver on loopback) beside it. */
  callbacks?: boolean;
  /**
   * Also measure Rostrum on the memory store (nothing durable) beside it: what the HTTP layer,
   * the dialect and the core cost without the store's writes.
   */
  memoryStore?: boolean;
  cpuProf?: string;
}

export interface CallbacksFigures {
  figures: HttpFigures;
  /** Callbacks-on req/s over callbacks-off: pooled over the slices, and round by round (the goal's). */
  ratio: number;
  paired: PairedRatio;
  goal: number;
  met: boolean;
  /** Accepted by the receiver by the end, and left in the spool then. */
  accepted: number;
  unverified: number;
  pending: number;
  failed: number;
  /** Mean time the relay took to send what was left after a slice ended (ms). */
  drainMs: number;
  /** Server CPU per request counting the relay's sending after the slices too (µs). */
  cpuWithDrain: number;
  /** The receiver's CPU per callback it accepted (µs): it shares the machine with the server. */
  receiverCpu: number;
  /**
   * The best ratio this machine allows even if the relay cost nothing: callbacks off, the server
   * and the load generator use the cores; on, the receiver's CPU per request joins them.
   */
  ceiling: number;
}

export interface AdminResult {
  shape: RoomShape;
  store: 'sqlite' | 'postgres';
  rounds: number;
  rostrum: HttpFigures;
  baselines: { name: string; figures: HttpFigures }[];
  /** Rostrum's req/s over the first baseline's, when there is one: pooled, and round by round (the goal's). */
  closedLoop?: { ratio: number; paired: PairedRatio; goal: number; met: boolean };
  openLoop?: { rostrum: OpenLoopFigures; baseline: OpenLoopFigures; baselineName: string; met: boolean };
  callbacks?: CallbacksFigures;
  /** Rostrum on the memory store, and its req/s over the first baseline's, round by round. */
  memory?: { figures: HttpFigures; ratio: number; paired: PairedRatio };
}

export interface Slice {
  requests: number;
  seconds: number;
  latencies: number[];
  non2xx: number;
  errors: number;
  timeouts: number;
  cpu: number;
  driverCpu: number;
  failures: number;
  firstFailure?: string;
}

/** A server under test and the work its connections do (one lane per connection). */
export interface Target {
  name: string;
  server: Child;
  lanes: HttpStep[][];
  /** Runs after every measured run (Rostrum: everyone off their seat). */
  after?: () => Promise<void>;
}

/** The 50 lanes: connection k picks its member onto its seat, then kicks it off, and again. */
export function adminLanes(app: App, shape: RoomShape): HttpStep[][] {
  const query = adminQuery(app);
  return Array.from({ length: CONNECTIONS }, (_, k) => [
    {
      tag: 'pick',
      path: `/v4/room_engine_http_mic/pick_user_on_seat?${query}`,
      body: JSON.stringify({ RoomId: roomOf(shape, k), Member_Account: `m${k}`, Index: seatOf(shape, k) }),
    },
    {
      tag: 'kick',
      path: `/v4/room_engine_http_mic/kick_user_off_seat?${query}`,
      body: JSON.stringify({ RoomId: roomOf(shape, k), Member_Account: `m${k}`, Data: 'time is up' }),
    },
  ]);
}

/** Creates the shape's rooms and enters the 50 members through the core. */
export async function prepareRooms(server: Child, app: App, shape: RoomShape): Promise<void> {
  const port = server.ready.port as number;
  for (let room = 0; room < shape.rooms; room++) {
    const RoomId = roomOf(shape, room);
    await tencentOk(port, app, 'room_engine_http_srv/create_room', {
      RoomInfo: { RoomId, RoomType: 'Live', IsSeatEnabled: true, MaxSeatCount: shape.seats },
    });
    const userIds = Array.from({ length: CONNECTIONS }, (_, k) => `m${k}`).filter((_, k) => k % shape.rooms === room);
    await server.call('enter', { roomId: RoomId, userIds });
  }
}

/**
 * Takes everyone off their seat: a closed-loop run ends with some connections between pick and
 * kick. Requests autocannon abandoned at the end may still be running in the server (on
 * PostgreSQL for a while), so this repeats until the seats stay empty.
 */
async function clearSeats(port: number, app: App, shape: RoomShape): Promise<void> {
  for (let calm = 0, round = 0; calm < 2; round++) {
    if (round > 50) throw new Error('seats do not stay empty after a run');
    let occupied = 0;
    for (let room = 0; room < shape.rooms; room++) {
      const RoomId = roomOf(shape, room);
      const r = await tencentOk(port, app, 'room_engine_http_mic/get_seat_list', { RoomId });
      for (const s of r.Response.SeatList as { Member_Account?: string }[]) {
        if (s.Member_Account) {
          occupied++;
          // May already be off (an abandoned kick landing meanwhile): the next round looks again.
          await tencent(port, app, 'room_engine_http_mic/kick_user_off_seat', { RoomId, Member_Account: s.Member_Account, Data: 'reset' });
        }
      }
    }
    calm = occupied === 0 ? calm + 1 : 0;
    if (calm === 1) await sleep(100);
  }
}

/** A Rostrum target on a server whose rooms are prepared. */
export function rostrumTarget(name: string, server: Child, app: App, shape: RoomShape): Target {
  return { name, server, lanes: adminLanes(app, shape), after: () => clearSeats(server.ready.port as number, app, shape) };
}

/** One closed-loop autocannon run; latencies are taken from every response (ms, sub-ms precision). */
export async function cannon(t: Target, seconds: number): Promise<Slice> {
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  const check = (status: number, body: string) => {
    if (status !== 200 || !body.includes(OK)) {
      failures++;
      firstFailure ??= `${status} ${body.slice(0, 300)}`;
    }
  };
  let next = 0;
  const cpuBefore = await t.server.call<number>('cpu');
  const driverBefore = process.cpuUsage();
  const instance = autocannon({
    url: `http://127.0.0.1:${t.server.ready.port}`,
    connections: CONNECTIONS,
    duration: seconds,
    setupClient(client) {
      const lane = t.lanes[next++ % t.lanes.length];
      client.setRequests(lane.map((s) => ({ method: 'POST', path: s.path, headers: { 'content-type': 'application/json' }, body: s.body, onResponse: check })));
    },
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const r = await instance;
  const driver = process.cpuUsage(driverBefore);
  const cpu = (await t.server.call<number>('cpu')) - cpuBefore;
  await t.after?.();
  return { requests: r.requests.total, seconds: r.duration, latencies, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, cpu, driverCpu: driver.user + driver.system, failures, firstFailure };
}

/** A slice's requests per second. */
export const rate = (s: Slice) => s.requests / s.seconds;

export function figures(slices: Slice[]): HttpFigures {
  const sum = (f: (s: Slice) => number) => slices.reduce((a, s) => a + f(s), 0);
  const lat = summarize(slices.flatMap((s) => s.latencies));
  const requests = sum((s) => s.requests);
  return {
    reqPerSec: requests / sum((s) => s.seconds),
    p50: lat.p50,
    p99: lat.p99,
    requests,
    non2xx: sum((s) => s.non2xx),
    errors: sum((s) => s.errors),
    timeouts: sum((s) => s.timeouts),
    cpuPerRequest: sum((s) => s.cpu) / requests,
    driverCpuPerRequest: sum((s) => s.driverCpu) / requests,
    failures: sum((s) => s.failures),
    firstFailure: slices.find((s) => s.firstFailure)?.firstFailure,
  };
}

/** One open-loop run of the paced driver against the target. */
async function paced(driver: Child, t: Target, seconds: number, record: boolean): Promise<RunResult & { server: Stalls }> {
  await driver.call('setup', { port: t.server.ready.port, lanes: t.lanes.map((http) => ({ http })), expect: OK });
  await t.server.call('stalls');
  const run = await driver.call<RunResult>('run', { ratePerSecond: OPEN_LOOP_RATE, durationMs: seconds * 1000, record });
  return { ...run, server: await t.server.call<Stalls>('stalls') };
}

function openFigures(runs: (RunResult & { server: Stalls })[]): OpenLoopFigures {
  const lat = summarize(runs.flatMap((r) => Object.values(r.latencies).flat()));
  const worst = (f: (s: Stalls) => number) => Math.max(...runs.map((r) => f(r.server)));
  return {
    rate: OPEN_LOOP_RATE,
    completed: runs.reduce((a, r) => a + r.completed, 0),
    p50: lat.p50,
    p99: lat.p99,
    max: lat.max,
    backlog: runs.reduce((a, r) => a + r.backlog, 0),
    failures: runs.reduce((a, r) => a + r.failures, 0),
    firstFailure: runs.find((r) => r.firstFailure)?.firstFailure,
    driverDelayP99: Math.max(...runs.map((r) => r.driverDelay.p99)),
    server: {
      loopDelayP99: worst((s) => s.loopDelayP99),
      loopDelayMax: worst((s) => s.loopDelayMax),
      gcCount: runs.reduce((a, r) => a + r.server.gcCount, 0),
      gcMs: runs.reduce((a, r) => a + r.server.gcMs, 0),
      gcMaxMs: worst((s) => s.gcMaxMs),
    },
  };
}

export async function adminBench(shape: RoomShape, opts: AdminOptions): Promise<AdminResult> {
  const store = opts.store ?? 'sqlite';
  const app = benchApp();
  const schemas: string[] = [];
  const children: Child[] = [];
  try {
    if (store === 'postgres') await checkDatabase();
    const rostrumSchema = store === 'postgres' ? benchSchema() : '';
    if (rostrumSchema) schemas.push(rostrumSchema);
    const baselines: Target[] = [];
    const lanes = adminLanes(app, shape);
    for (const b of opts.baselines) {
      const env: Record<string, string> = {};
      if (b === 'bare-pg') {
        env.BENCH_PG_SCHEMA = benchSchema();
        env.BENCH_PG_POOL = '10'; // PostgresStore's default pool size
        schemas.push(env.BENCH_PG_SCHEMA);
      }
      const child = await startChild(b, `bench/${b}-main.ts`, { env });
      children.push(child);
      // The baselines get the same requests: bare-pg locks the same rows Rostrum does.
      baselines.push({ name: BASELINE_NAMES[b], server: child, lanes });
    }
    /** A Rostrum server of the app with its rooms ready, as a target named `name`. */
    const startRostrum = async (name: string, child: string, storeSpec: string, env: Record<string, string> = {}, profDir?: string) => {
      const started = await startChild(child, 'bench/server-main.ts', {
        env: { BENCH_APP: JSON.stringify(app), BENCH_STORE: storeSpec, ...env },
        nodeFlags: profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
      });
      children.push(started);
      await prepareRooms(started, app, shape);
      return rostrumTarget(name, started, app, shape);
    };
    const rostrum = await startRostrum(`Rostrum pick/kick (${store})`, 'rostrum', rostrumSchema ? storeUrl(rostrumSchema) : 'sqlite', {}, opts.cpuProf);
    const server = rostrum.server;
    const memory = opts.memoryStore ? await startRostrum('Rostrum, memory store (not durable)', 'rostrum-memory', 'memory', {}, opts.cpuProf && `${opts.cpuProf}/memory`) : undefined;

    let withCallbacks: Target | undefined;
    const drainMs: number[] = [];
    let drainCpu = 0;
    let receiverStart = { cpu: 0, accepted: 0 };
    let receiver: Child | undefined;
    if (opts.callbacks) {
      const token = 'bench-callback-token';
      receiver = await startChild('callback-receiver', 'bench/callback-receiver-main.ts', { env: { BENCH_CALLBACK_TOKEN: token } });
      children.push(receiver);
      const cbSchema = store === 'postgres' ? benchSchema() : '';
      if (cbSchema) schemas.push(cbSchema);
      const target = await startRostrum(
        `Rostrum, callbacks on (${store})`,
        'rostrum-callbacks',
        cbSchema ? storeUrl(cbSchema) : 'sqlite',
        { BENCH_CALLBACK_URL: `http://127.0.0.1:${receiver.ready.port}/callback`, BENCH_CALLBACK_TOKEN: token },
        opts.cpuProf && `${opts.cpuProf}/callbacks`,
      );
      const cbServer = target.server;
      // The relay may still be sending when a slice ends: it finishes before the next slice, whose
      // server would otherwise share the machine with it.
      withCallbacks = {
        ...target,
        after: async () => {
          await target.after!();
          const cpu = await cbServer.call<number>('cpu');
          drainMs.push(await cbServer.call<number>('callbacksDrained'));
          drainCpu += (await cbServer.call<number>('cpu')) - cpu;
        },
      };
    }

    const targets = [rostrum, ...baselines, ...(memory ? [memory] : []), ...(withCallbacks ? [withCallbacks] : [])];
    const warmup = async (t: Target) => {
      await cannon(t, WARMUP_S);
      if (t !== withCallbacks || !receiver) return;
      // From here on the receiver works only for the measured slices (and their drains).
      drainMs.length = 0;
      drainCpu = 0;
      const counts = await receiver.call<{ accepted: number }>('counts');
      receiverStart = { cpu: await receiver.call<number>('cpu'), accepted: counts.accepted };
    };
    const rounds = opts.rounds ?? SLICES;
    const slices = await alternate(targets, { slices: rounds, warmup }, (t) => cannon(t, SLICE_S));
    const r = figures(slices[0]);
    const bs = baselines.map((b, i) => ({ name: b.name, figures: figures(slices[i + 1]) }));
    let callbacks: CallbacksFigures | undefined;
    if (withCallbacks && receiver) {
      const cf = figures(slices[targets.length - 1]);
      const spool = await withCallbacks.server.call<{ pending: number; failed: number }>('callbacks');
      const counts = await receiver.call<{ accepted: number; unverified: number }>('counts');
      const ratio = cf.reqPerSec / r.reqPerSec;
      const paired = pairedRatio(slices[targets.length - 1].map(rate), slices[0].map(rate));
      const drain = drainMs.reduce((a, b) => a + b, 0) / Math.max(1, drainMs.length);
      const cpuWithDrain = cf.cpuPerRequest + drainCpu / cf.requests;
      const receiverUsed = (await receiver.call<number>('cpu')) - receiverStart.cpu;
      const receiverCpu = receiverUsed / Math.max(1, counts.accepted - receiverStart.accepted);
      // Callbacks off, each request costs the cores the server's and the load generator's CPU; on, the receiver's too.
      const perRequest = r.cpuPerRequest + r.driverCpuPerRequest + receiverUsed / cf.requests;
      const ceiling = Math.min(1, (availableParallelism() * 1e6) / perRequest / r.reqPerSec);
      callbacks = { figures: cf, ratio, paired, goal: 0.8, met: paired.median >= 0.8 && cf.failures === 0, ...counts, ...spool, drainMs: drain, cpuWithDrain, receiverCpu, ceiling };
    }
    let closedLoop: AdminResult['closedLoop'];
    if (bs.length > 0) {
      const paired = pairedRatio(slices[0].map(rate), slices[1].map(rate));
      const goal = store === 'postgres' ? 0.6 : 0.5;
      closedLoop = { ratio: r.reqPerSec / bs[0].figures.reqPerSec, paired, goal, met: paired.median >= goal && r.failures === 0 };
    }
    let memoryFigures: AdminResult['memory'];
    if (memory) {
      const at = targets.indexOf(memory);
      const mf = figures(slices[at]);
      memoryFigures = { figures: mf, ratio: mf.reqPerSec / bs[0].figures.reqPerSec, paired: pairedRatio(slices[at].map(rate), slices[1].map(rate)) };
    }

    let openLoop: AdminResult['openLoop'];
    if (opts.openLoop) {
      const driver = await startChild('paced-driver', 'bench/paced-main.ts');
      children.push(driver);
      const pair = [rostrum, baselines[0]];
      const runs = await alternate(
        pair,
        { slices: rounds, warmup: (t) => paced(driver, t, WARMUP_S, false) },
        async (t) => {
          const run = await paced(driver, t, SLICE_S, true);
          await t.after?.();
          return run;
        },
      );
      const ro = openFigures(runs[0]);
      const bo = openFigures(runs[1]);
      openLoop = { rostrum: ro, baseline: bo, baselineName: baselines[0].name, met: ro.p99 <= 5 && ro.p99 <= 2 * bo.p99 && ro.failures === 0 };
    }

    // A last check through the API that the room is as expected.
    const seats = await tencent(server.ready.port as number, app, 'room_engine_http_mic/get_seat_list', { RoomId: roomOf(shape, 0) });
    if (seats.ErrorCode !== 0 || seats.Response.SeatList.length !== shape.seats) throw new Error('seat list is not as expected after the run');

    return { shape, store, rounds, rostrum: r, baselines: bs, closedLoop, openLoop, callbacks, memory: memoryFigures };
  } finally {
    for (const c of children.reverse()) await c.stop();
    if (schemas.length) await dropSchemas(schemas);
  }
}

const f = (x: number, d = 2) => x.toFixed(d);

export function printHttpRow(name: string, x: HttpFigures): void {
  console.log('  %s  %s  %s  %s  %s', name.padEnd(34), f(x.reqPerSec, 0).padStart(9), f(x.p50).padStart(7), f(x.p99).padStart(7), f(x.cpuPerRequest, 1).padStart(14));
}
export function printHttpHeader(): void {
  console.log('  %s  %s  %s  %s  %s', 'server'.padEnd(34), 'req/s'.padStart(9), 'p50 ms'.padStart(7), 'p99 ms'.padStart(7), 'server CPU µs/req');
}
/** A ratio as the goals read it: the median of the rounds, an interval for it, and the pooled figure. */
export function ratioText(pooled: number, p: PairedRatio): string {
  const pct = (x: number) => `${f(x * 100, 1)}%`;
  return `${pct(p.median)} (median of ${p.pairs} rounds, ${f(p.confidence * 100, 0)}% interval ${pct(p.low)}-${pct(p.high)}; pooled ${pct(pooled)})`;
}
/**
 * Met or not by the median; and whether the run decides it: with the goal inside the median's
 * interval, the machine's noise could put the true median on either side (more rounds narrow it).
 */
export function verdict(met: boolean, p: PairedRatio, goal: number): string {
  const undecided = p.low < goal && goal < p.high;
  return `${met ? 'met' : 'NOT met'}${undecided ? ' (the goal lies inside the interval: this run does not decide it)' : ''}`;
}
export function printChecks(name: string, x: HttpFigures): void {
  console.log('  %s: %d requests, ErrorCode not 0: %d, non-2xx %d, errors %d, timeouts %d', name, x.requests, x.failures, x.non2xx, x.errors, x.timeouts);
  if (x.firstFailure) console.log('    first failure: %s', x.firstFailure);
}

export function printAdmin(r: AdminResult): void {
  console.log(
    '\nadmin (%s): pick_user_on_seat / kick_user_off_seat, %d connections, %d room(s) of %d seats, %d x %ds per server in alternating slices after %ds warm-up',
    r.store,
    CONNECTIONS,
    r.shape.rooms,
    r.shape.seats,
    r.rounds,
    SLICE_S,
    WARMUP_S,
  );
  printHttpHeader();
  for (const b of r.baselines) printHttpRow(b.name, b.figures);
  printHttpRow(`Rostrum pick/kick (${r.store})`, r.rostrum);
  const cl = r.closedLoop;
  if (cl) console.log('  closed loop: %s of %s req/s (goal >= %d%%): %s', ratioText(cl.ratio, cl.paired), r.baselines[0].name, cl.goal * 100, verdict(cl.met, cl.paired, cl.goal));
  if (r.memory) {
    printHttpRow('Rostrum, memory store (not durable)', r.memory.figures);
    console.log('  without a durable store: %s of %s req/s (what HTTP, the dialect and the core allow)', ratioText(r.memory.ratio, r.memory.paired), r.baselines[0].name);
  }
  if (r.callbacks) {
    const c = r.callbacks;
    printHttpRow(`Rostrum, callbacks on (${r.store})`, c.figures);
    console.log('  callbacks on: %s of callbacks off (goal >= %d%%): %s', ratioText(c.ratio, c.paired), c.goal * 100, verdict(c.met, c.paired, c.goal));
    console.log('    receiver accepted %d callbacks (signature failures %d); in the spool at the end: %d pending, %d given up', c.accepted, c.unverified, c.pending, c.failed);
    console.log('    after each slice the relay took %s ms on average to send what was left (waited for before the next slice)', f(c.drainMs, 0));
    console.log('    server CPU with that sending counted: %s µs/req; the receiver (same machine) used %s µs per callback', f(c.cpuWithDrain, 1), f(c.receiverCpu, 1));
    console.log(
      '    ceiling on this machine if the relay cost nothing: %s%% (callbacks off, server %s + load generator %s µs/req; the receiver adds its own on %d cores)',
      f(c.ceiling * 100, 1),
      f(r.rostrum.cpuPerRequest, 1),
      f(r.rostrum.driverCpuPerRequest, 1),
      availableParallelism(),
    );
  }
  printChecks('Rostrum', r.rostrum);
  if (r.callbacks) printChecks('Rostrum, callbacks on', r.callbacks.figures);
  if (r.memory) printChecks('Rostrum, memory store', r.memory.figures);
  for (const b of r.baselines) printChecks(b.name, b.figures);
  if (r.openLoop) {
    const o = r.openLoop;
    console.log('  open loop at %d req/s (latency from the scheduled send time), %d x %ds per server:', OPEN_LOOP_RATE, r.rounds, SLICE_S);
    const row = (name: string, x: OpenLoopFigures) =>
      console.log('    %s  p50 %s  p99 %s  max %s ms  (%d done, backlog %d, failures %d, driver loop delay p99 %s ms)', name.padEnd(34), f(x.p50), f(x.p99), f(x.max, 1), x.completed, x.backlog, x.failures, f(x.driverDelayP99, 1));
    row(o.baselineName, o.baseline);
    row(`Rostrum (${r.store})`, o.rostrum);
    const st = (name: string, x: Stalls) =>
      console.log('    %s  server loop delay p99 %s max %s ms; GC %d pauses, %s ms in all, longest %s ms', name.padEnd(34), f(x.loopDelayP99, 1), f(x.loopDelayMax, 1), x.gcCount, f(x.gcMs, 0), f(x.gcMaxMs, 1));
    st(o.baselineName, o.baseline.server);
    st(`Rostrum (${r.store})`, o.rostrum.server);
    console.log('    goal p99 <= 5 ms and <= 2x the baseline p99 (%s ms): %s', f(2 * o.baseline.p99), o.met ? 'met' : 'NOT met');
    if (o.rostrum.firstFailure) console.log('    first failure: %s', o.rostrum.firstFailure);
  }
}
