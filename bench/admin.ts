// Admin REST throughput: alternating pick_user_on_seat / kick_user_off_seat against Rostrum, beside
// a bare Fastify JSON POST route, both driven by autocannon at 50 connections. Both servers are up
// at once and measured in alternating slices, so that other load on the machine hits both alike.
import autocannon from 'autocannon';
import { startChild, summarize, type Child } from './lib/child.js';
import { adminQuery, benchApp, tencent, tencentOk } from './lib/tencent.js';
import type { App } from '../src/core/model.js';

const CONNECTIONS = 50;
const WARMUP_S = 2;
const SLICES = 5;
const SLICE_S = 2;

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
}

export interface AdminResult {
  shape: RoomShape;
  bare: HttpFigures;
  rostrum: HttpFigures & { nonZeroErrorCodes: number; sampled: number; sampleFailures: number; firstFailure?: string };
  ratio: number;
  met: boolean;
}

interface Slice {
  requests: number;
  seconds: number;
  latencies: number[];
  non2xx: number;
  errors: number;
  timeouts: number;
  cpu: number;
}

interface Target {
  server: Child;
  setupClient?: (client: autocannon.Client) => void;
  path?: string;
  body?: string;
}

/** One autocannon run; latencies are taken from every response (ms, sub-millisecond precision). */
async function cannon(t: Target, seconds: number): Promise<Slice> {
  const latencies: number[] = [];
  const cpuBefore = await t.server.call<number>('cpu');
  const instance = autocannon({
    url: `http://127.0.0.1:${t.server.ready.port}`,
    connections: CONNECTIONS,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    ...(t.path ? { requests: [{ method: 'POST', path: t.path, body: t.body }] } : {}),
    setupClient: t.setupClient,
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const r = await instance;
  const cpu = (await t.server.call<number>('cpu')) - cpuBefore;
  return { requests: r.requests.total, seconds: r.duration, latencies, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, cpu };
}

function figures(slices: Slice[]): HttpFigures {
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
  };
}

/** Takes everyone off their seat so the next run starts from empty seats. */
async function clearSeats(port: number, app: App, shape: RoomShape): Promise<void> {
  for (let room = 0; room < shape.rooms; room++) {
    const RoomId = roomOf(shape, room);
    const r = await tencentOk(port, app, 'room_engine_http_mic/get_seat_list', { RoomId });
    for (const s of r.Response.SeatList as { Member_Account?: string }[]) {
      if (s.Member_Account) {
        await tencentOk(port, app, 'room_engine_http_mic/kick_user_off_seat', { RoomId, Member_Account: s.Member_Account, Data: 'reset' });
      }
    }
  }
}

export async function adminBench(shape: RoomShape, opts: { cpuProf?: string } = {}): Promise<AdminResult> {
  const app = benchApp();
  const bareServer = await startChild('bare-http', 'bench/bare-http-main.ts');
  const server = await startChild('rostrum', 'bench/server-main.ts', {
    env: { BENCH_APP: JSON.stringify(app) },
    nodeFlags: opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProf}`] : [],
  });
  try {
    const port = server.ready.port as number;
    const members = Array.from({ length: CONNECTIONS }, (_, i) => `m${i}`);
    for (let room = 0; room < shape.rooms; room++) {
      const RoomId = roomOf(shape, room);
      await tencentOk(port, app, 'room_engine_http_srv/create_room', {
        RoomInfo: { RoomId, RoomType: 'Live', IsSeatEnabled: true, MaxSeatCount: shape.seats },
      });
      await server.call('enter', { roomId: RoomId, userIds: members.filter((_, k) => k % shape.rooms === room) });
    }

    const query = adminQuery(app);
    const bare: Target = {
      server: bareServer,
      path: `/v4/room_engine_http_mic/pick_user_on_seat?${query}`,
      body: JSON.stringify({ RoomId: roomOf(shape, 0), Member_Account: 'm0', Index: 0 }),
    };

    let nonZero = 0;
    let sampled = 0;
    let sampleFailures = 0;
    let firstFailure: string | undefined;
    let seen = 0;
    const check = (status: number, body: string) => {
      // Every body: the envelope must say ErrorCode 0. Every 500th: parse it fully.
      if (status !== 200 || !body.includes('"ErrorCode":0,')) {
        nonZero++;
        firstFailure ??= `${status} ${body}`;
      }
      if (++seen % 500 === 0) {
        sampled++;
        const b = JSON.parse(body) as { ActionStatus?: string; ErrorCode?: number; RequestId?: string };
        if (b.ActionStatus !== 'OK' || b.ErrorCode !== 0 || typeof b.RequestId !== 'string') sampleFailures++;
      }
    };
    // Each connection has its own member and seat: pick, then kick, then pick again…
    let next = 0;
    const rostrum: Target = {
      server,
      setupClient(client) {
        const k = next++ % CONNECTIONS;
        const headers = { 'content-type': 'application/json' };
        client.setRequests([
          {
            method: 'POST',
            path: `/v4/room_engine_http_mic/pick_user_on_seat?${query}`,
            headers,
            body: JSON.stringify({ RoomId: roomOf(shape, k), Member_Account: members[k], Index: seatOf(shape, k) }),
            onResponse: check,
          },
          {
            method: 'POST',
            path: `/v4/room_engine_http_mic/kick_user_off_seat?${query}`,
            headers,
            body: JSON.stringify({ RoomId: roomOf(shape, k), Member_Account: members[k], Data: 'time is up' }),
            onResponse: check,
          },
        ]);
      },
    };
    // A run ends with some connections between their pick and their kick.
    const runRostrum = async (seconds: number) => {
      next = 0;
      const s = await cannon(rostrum, seconds);
      await clearSeats(port, app, shape);
      return s;
    };

    await cannon(bare, WARMUP_S);
    await runRostrum(WARMUP_S);
    nonZero = sampled = sampleFailures = seen = 0;
    firstFailure = undefined;
    const bareSlices: Slice[] = [];
    const rostrumSlices: Slice[] = [];
    for (let i = 0; i < SLICES; i++) {
      if (i % 2 === 0) {
        bareSlices.push(await cannon(bare, SLICE_S));
        rostrumSlices.push(await runRostrum(SLICE_S));
      } else {
        rostrumSlices.push(await runRostrum(SLICE_S));
        bareSlices.push(await cannon(bare, SLICE_S));
      }
    }
    // A last check through the API that the room is as expected.
    const seats = await tencent(port, app, 'room_engine_http_mic/get_seat_list', { RoomId: roomOf(shape, 0) });
    if (seats.ErrorCode !== 0 || seats.Response.SeatList.length !== shape.seats) throw new Error('seat list is not as expected after the run');

    const b = figures(bareSlices);
    const r = { ...figures(rostrumSlices), nonZeroErrorCodes: nonZero, sampled, sampleFailures, firstFailure };
    const ratio = r.reqPerSec / b.reqPerSec;
    return { shape, bare: b, rostrum: r, ratio, met: ratio >= 0.5 && r.p99 <= 5 && r.nonZeroErrorCodes === 0 };
  } finally {
    await server.stop();
    await bareServer.stop();
  }
}

export function printAdmin(r: AdminResult): void {
  const f = (x: number, d = 2) => x.toFixed(d);
  console.log(
    '\nadmin: pick_user_on_seat / kick_user_off_seat, %d connections, %d room(s) of %d seats, %d x %ds per server in alternating slices after %ds warm-up',
    CONNECTIONS,
    r.shape.rooms,
    r.shape.seats,
    SLICES,
    SLICE_S,
    WARMUP_S,
  );
  const row = (name: string, x: HttpFigures) =>
    console.log('  %s  %s  %s  %s  %s', name.padEnd(26), f(x.reqPerSec, 0).padStart(9), f(x.p50).padStart(7), f(x.p99).padStart(7), f(x.cpuPerRequest, 1).padStart(14));
  console.log('  %s  %s  %s  %s  %s', 'server'.padEnd(26), 'req/s'.padStart(9), 'p50 ms'.padStart(7), 'p99 ms'.padStart(7), 'server CPU µs/req');
  row('bare Fastify JSON POST', r.bare);
  row('Rostrum pick/kick', r.rostrum);
  console.log('  ratio %s%% of bare req/s (goal >= 50%%, p99 <= 5 ms): %s', f(r.ratio * 100, 1), r.met ? 'met' : 'NOT met');
  console.log(
    '  Rostrum: %d requests, non-zero ErrorCode %d, parsed samples %d (bad %d), non-2xx %d, errors %d, timeouts %d',
    r.rostrum.requests,
    r.rostrum.nonZeroErrorCodes,
    r.rostrum.sampled,
    r.rostrum.sampleFailures,
    r.rostrum.non2xx,
    r.rostrum.errors,
    r.rostrum.timeouts,
  );
  if (r.rostrum.firstFailure) console.log('  first failure: %s', r.rostrum.firstFailure.slice(0, 300));
  console.log('  bare: %d requests, non-2xx %d, errors %d, timeouts %d', r.bare.requests, r.bare.non2xx, r.bare.errors, r.bare.timeouts);
}
