// Admin REST throughput: alternating pick_user_on_seat / kick_user_off_seat against Rostrum, beside
// a bare Fastify JSON POST route, both driven by autocannon at 50 connections.
import autocannon from 'autocannon';
import { startChild, summarize, type Child } from './lib/child.js';
import { adminQuery, benchApp, tencent, tencentOk } from './lib/tencent.js';
import type { App } from '../src/core/types.js';

const CONNECTIONS = 50;
const WARMUP_S = 2;
const DURATION_S = 10;
const ROOM = 'bench-admin';

export interface HttpFigures {
  reqPerSec: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Server CPU time (user + system) per request, µs: less sensitive to other load than req/s. */
  cpuPerRequest: number;
}

export interface AdminResult {
  bare: HttpFigures;
  rostrum: HttpFigures & { nonZeroErrorCodes: number; sampled: number; sampleFailures: number; firstFailure?: string };
  ratio: number;
  met: boolean;
}

interface RunOptions {
  server: Child;
  duration: number;
  setupClient?: (client: autocannon.Client) => void;
  path?: string;
  body?: string;
}

/** One autocannon run; latencies are taken from every response (ms, sub-millisecond precision). */
async function cannon(o: RunOptions): Promise<HttpFigures> {
  const latencies: number[] = [];
  const cpuBefore = await o.server.call<number>('cpu');
  const instance = autocannon({
    url: `http://127.0.0.1:${o.server.ready.port}`,
    connections: CONNECTIONS,
    duration: o.duration,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    ...(o.path ? { requests: [{ method: 'POST', path: o.path, body: o.body }] } : {}),
    setupClient: o.setupClient,
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const r = await instance;
  const cpu = (await o.server.call<number>('cpu')) - cpuBefore;
  const lat = summarize(latencies);
  return {
    reqPerSec: r.requests.average,
    p50: lat.p50,
    p99: lat.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    cpuPerRequest: cpu / r.requests.total,
  };
}

async function runBare(): Promise<HttpFigures> {
  const bare = await startChild('bare-http', 'bench/bare-http-main.ts');
  try {
    const path = `/v4/room_engine_http_mic/pick_user_on_seat?${adminQuery(benchApp())}`;
    const body = JSON.stringify({ RoomId: ROOM, Member_Account: 'm0', Index: 0 });
    await cannon({ server: bare, duration: WARMUP_S, path, body });
    return await cannon({ server: bare, duration: DURATION_S, path, body });
  } finally {
    await bare.stop();
  }
}

/** Takes everyone off their seat so the next run starts from empty seats. */
async function clearSeats(port: number, app: App): Promise<void> {
  const r = await tencentOk(port, app, 'room_engine_http_mic/get_seat_list', { RoomId: ROOM });
  for (const s of r.Response.SeatList as { Member_Account?: string }[]) {
    if (s.Member_Account) {
      await tencentOk(port, app, 'room_engine_http_mic/kick_user_off_seat', { RoomId: ROOM, Member_Account: s.Member_Account, Data: 'reset' });
    }
  }
}

async function runRostrum(cpuProf?: string): Promise<AdminResult['rostrum']> {
  const app = benchApp();
  const server: Child = await startChild('rostrum', 'bench/server-main.ts', {
    env: { BENCH_APP: JSON.stringify(app) },
    nodeFlags: cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [],
  });
  try {
    const port = server.ready.port as number;
    await tencentOk(port, app, 'room_engine_http_srv/create_room', {
      RoomInfo: { RoomId: ROOM, RoomType: 'Live', IsSeatEnabled: true, MaxSeatCount: CONNECTIONS },
    });
    const members = Array.from({ length: CONNECTIONS }, (_, i) => `m${i}`);
    await server.call('enter', { roomId: ROOM, userIds: members });

    const query = adminQuery(app);
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
    const setupClient = (client: autocannon.Client) => {
      const k = next++ % CONNECTIONS;
      const headers = { 'content-type': 'application/json' };
      client.setRequests([
        {
          method: 'POST',
          path: `/v4/room_engine_http_mic/pick_user_on_seat?${query}`,
          headers,
          body: JSON.stringify({ RoomId: ROOM, Member_Account: members[k], Index: k }),
          onResponse: check,
        },
        {
          method: 'POST',
          path: `/v4/room_engine_http_mic/kick_user_off_seat?${query}`,
          headers,
          body: JSON.stringify({ RoomId: ROOM, Member_Account: members[k], Data: 'time is up' }),
          onResponse: check,
        },
      ]);
    };

    await cannon({ server, duration: WARMUP_S, setupClient });
    await clearSeats(port, app);
    nonZero = sampled = sampleFailures = seen = 0;
    firstFailure = undefined;
    next = 0;
    const figures = await cannon({ server, duration: DURATION_S, setupClient });
    await clearSeats(port, app);
    // A last check through the API that the room is as expected.
    const seats = await tencent(port, app, 'room_engine_http_mic/get_seat_list', { RoomId: ROOM });
    if (seats.ErrorCode !== 0 || seats.Response.SeatList.length !== CONNECTIONS) throw new Error('seat list is not as expected after the run');
    return { ...figures, nonZeroErrorCodes: nonZero, sampled, sampleFailures, firstFailure };
  } finally {
    await server.stop();
  }
}

export async function adminBench(opts: { cpuProf?: string } = {}): Promise<AdminResult> {
  const bare = await runBare();
  const rostrum = await runRostrum(opts.cpuProf);
  const ratio = rostrum.reqPerSec / bare.reqPerSec;
  return { bare, rostrum, ratio, met: ratio >= 0.5 && rostrum.p99 <= 5 && rostrum.nonZeroErrorCodes === 0 };
}

export function printAdmin(r: AdminResult): void {
  const f = (x: number, d = 2) => x.toFixed(d);
  console.log('\nadmin: pick_user_on_seat / kick_user_off_seat, 50 connections, %ds after %ds warm-up', DURATION_S, WARMUP_S);
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
