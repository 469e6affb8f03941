// Realtime gateway benchmarks, each beside a bare `ws` server measured in the same run:
//  a. fan-out of seatListChanged to 1,000 and 10,000 members of one room (deliveries/s);
//  b. kick -> kickedOffSeat latency at a paced 1,000 kicks/s;
//  c. server RSS per idle connection with 10,000 connections.
// Servers and clients run in separate child processes.
import { startChild, sleep, type Child } from './lib/child.js';
import { benchApp, tencent, tencentOk } from './lib/tencent.js';
import type { App } from '../src/core/types.js';

const FANOUT_WARMUP_MS = 2_000;
const FANOUT_MS = 8_000;
const KICK_RATE = 1_000;
const KICK_WARMUP_MS = 2_000;
const KICK_MS = 10_000;
const KICK_ROOMS = 16;
const SEATS = 8; // the default seat count; seatListChanged carries all of them
/** Members on the stage, entered through the core with no connection: the triggers seat them. */
const SPEAKERS = ['speaker0', 'speaker1'];

export interface FanoutFigures {
  clients: number;
  deliveriesPerSec: number;
  eventsPerSec: number;
  frameBytes: number;
  lost: number;
  connectMs: number;
  triggerErrors: number;
}

export interface LatencyFigures {
  kicks: number;
  perSecond: number;
  event: { n: number; p50: number; p99: number; max: number; mean: number };
  rest: { n: number; p50: number; p99: number; max: number; mean: number };
  starved: number;
  errors: number;
  firstError?: string;
}

export interface MemoryFigures {
  connections: number;
  rssBefore: number;
  rssAfter: number;
  /** Bytes per connection: RSS (end - before) / n, the second half's RSS growth, JS heap growth. */
  perConnection: number;
  marginalPerConnection: number;
  heapPerConnection: number;
  gcExposed: boolean;
}

export interface RealtimeResult {
  fanout: { rostrum: FanoutFigures; bare: FanoutFigures; ratio: number; met: boolean }[];
  kick: { rostrum: LatencyFigures; bare: LatencyFigures; met: boolean };
  memory: { rostrum: MemoryFigures; bare: MemoryFigures; met: boolean };
}

/** Child processes with this many open files: a socket per connection plus some. */
const filesFor = (connections: number) => connections + 1_000;

let cpuProf: string | undefined = process.env.BENCH_CPU_PROF;

async function startRostrum(app: App, connections: number): Promise<Child> {
  return startChild('rostrum', 'bench/server-main.ts', {
    env: { BENCH_APP: JSON.stringify(app) },
    nodeFlags: ['--expose-gc', ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [])],
    files: filesFor(connections),
  });
}

async function startBare(connections: number): Promise<Child> {
  return startChild('bare-ws', 'bench/bare-ws-main.ts', { nodeFlags: ['--expose-gc'], files: filesFor(connections) });
}

async function startClients(connections: number): Promise<Child> {
  return startChild('ws-clients', 'bench/ws-clients-main.ts', { files: filesFor(connections) });
}

/**
 * Connects `n` clients in two halves. With `memory`, reads the server's RSS after full GCs before,
 * at half and at the end: per connection = (end - before) / n; the second half alone gives the
 * marginal cost, which is not flattered by heap pages freed earlier and reused.
 */
async function connectAll(
  server: Child,
  n: number,
  memory: boolean,
  connect: (from: number, to: number) => Promise<number>,
): Promise<{ connectMs: number; mem?: MemoryFigures }> {
  const settled = async () => {
    await sleep(300);
    return server.call('memory');
  };
  const m0 = memory ? await settled() : undefined;
  const half = Math.floor(n / 2);
  let connectMs = await connect(0, half);
  const m1 = memory ? await settled() : undefined;
  connectMs += await connect(half, n);
  const open = await server.call<number>('connections');
  if (open !== n) throw new Error(`${server.name}: ${open} connections open, expected ${n}`);
  if (!memory) return { connectMs };
  const m2 = await settled();
  return {
    connectMs,
    mem: {
      connections: n,
      rssBefore: m0.rss,
      rssAfter: m2.rss,
      heapPerConnection: (m2.heapUsed - m0.heapUsed) / n,
      perConnection: (m2.rss - m0.rss) / n,
      marginalPerConnection: (m2.rss - m1.rss) / (n - half),
      gcExposed: m2.gcExposed,
    },
  };
}

/**
 * Drives `trigger` (one seatListChanged to every client per call) as fast as the clients keep
 * up, with at most `window` events not yet received by everyone, and counts deliveries.
 */
async function driveFanout(clients: Child, n: number, trigger: () => Promise<void>): Promise<{ perSec: number; eventsPerSec: number; lost: number }> {
  let received = 0;
  let wake: (() => void) | undefined;
  clients.onMessage((m) => {
    if (m?.type === 'count') {
      received = m.received as number;
      wake?.();
    }
  });
  await clients.call('reset');
  received = 0;
  const window = Math.max(4, Math.ceil(20_000 / n));
  const maxInFlight = 2; // at most SPEAKERS.length
  let sent = 0;
  let inFlight = 0;
  let failure: unknown;
  const start = performance.now();
  const warmEnd = start + FANOUT_WARMUP_MS;
  const end = warmEnd + FANOUT_MS;
  let mark: { t: number; received: number; sent: number } | undefined;
  while (performance.now() < end && failure === undefined) {
    if (!mark && performance.now() >= warmEnd) mark = { t: performance.now(), received, sent };
    if (inFlight < maxInFlight && sent - received / n < window) {
      sent++;
      inFlight++;
      trigger().then(
        () => {
          inFlight--;
          wake?.();
        },
        (e) => (failure = e),
      );
      continue;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    wake = undefined;
  }
  if (failure !== undefined) throw failure;
  const t = performance.now();
  const delivered = received - mark!.received;
  const events = sent - mark!.sent;
  // Let the last events arrive, then count what never did.
  const drainEnd = performance.now() + 5_000;
  while (inFlight > 0 || (received < sent * n && performance.now() < drainEnd)) await sleep(20);
  return { perSec: delivered / ((t - mark!.t) / 1000), eventsPerSec: events / ((t - mark!.t) / 1000), lost: sent * n - received };
}

export async function fanoutRostrum(n: number, memory: boolean): Promise<{ fan: FanoutFigures; mem?: MemoryFigures }> {
  const app = benchApp();
  const server = await startRostrum(app, n);
  const clients = await startClients(n);
  try {
    const port = server.ready.port as number;
    const roomId = `fan${n}`;
    await tencentOk(port, app, 'room_engine_http_srv/create_room', {
      RoomInfo: { RoomId: roomId, RoomType: 'Live', IsSeatEnabled: true, MaxSeatCount: SEATS, MaxMemberCount: n + 10 },
    });
    // Entered through the core first, so that the clients' enterRoom is a re-entry and is not
    // announced to everyone already in (a fresh entry sends memberEntered to every member).
    const userIds = Array.from({ length: n }, (_, i) => `u${i}`);
    await server.call('enter', { roomId, userIds: [...SPEAKERS, ...userIds] });
    const { connectMs, mem } = await connectAll(server, n, memory, async (from, to) => {
      const r = await clients.call('connect', { kind: 'rostrum', port, sdkAppId: app.sdkAppId, secretKey: app.secretKey, roomId, userIds: userIds.slice(from, to) });
      return r.ms as number;
    });
    // One speaker per trigger in flight, each alternating pick and kick on its own seat.
    const idle = SPEAKERS.map((userId, index) => ({ userId, index, seated: false }));
    let triggerErrors = 0;
    const trigger = async () => {
      const s = idle.shift()!;
      const r = s.seated
        ? await tencent(port, app, 'room_engine_http_mic/kick_user_off_seat', { RoomId: roomId, Member_Account: s.userId, Data: '' })
        : await tencent(port, app, 'room_engine_http_mic/pick_user_on_seat', { RoomId: roomId, Member_Account: s.userId, Index: s.index });
      if (r.ErrorCode !== 0) triggerErrors++;
      s.seated = !s.seated;
      idle.push(s);
    };
    const run = await driveFanout(clients, n, trigger);
    const stats = await clients.call('stats');
    return {
      fan: { clients: n, deliveriesPerSec: run.perSec, eventsPerSec: run.eventsPerSec, frameBytes: stats.frameBytes, lost: run.lost, connectMs, triggerErrors },
      mem,
    };
  } finally {
    // The server first: it drops every connection before their members leave, so the leaves
    // are not announced to the thousands still connected.
    await server.stop();
    await clients.stop();
  }
}

export async function fanoutBare(n: number, frameBytes: number, memory: boolean): Promise<{ fan: FanoutFigures; mem?: MemoryFigures }> {
  const server = await startBare(n);
  const clients = await startClients(n);
  try {
    const port = server.ready.port as number;
    const { connectMs, mem } = await connectAll(server, n, memory, async (from, to) => {
      const r = await clients.call('connect', { kind: 'bare', port, count: to - from });
      return r.ms as number;
    });
    const trigger = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/broadcast?bytes=${frameBytes}`, { method: 'POST' });
      await res.text();
      if (res.status !== 200) throw new Error(`broadcast: HTTP ${res.status}`);
    };
    const run = await driveFanout(clients, n, trigger);
    const stats = await clients.call('stats');
    return {
      fan: { clients: n, deliveriesPerSec: run.perSec, eventsPerSec: run.eventsPerSec, frameBytes: stats.frameBytes, lost: run.lost, connectMs, triggerErrors: 0 },
      mem,
    };
  } finally {
    await server.stop();
    await clients.stop();
  }
}

export async function kickLatency(): Promise<RealtimeResult['kick']> {
  const rooms = Array.from({ length: KICK_ROOMS }, (_, i) => `kick${i}`);
  const common = { rooms, seatsPerRoom: 4, ratePerSecond: KICK_RATE, warmupMs: KICK_WARMUP_MS, durationMs: KICK_MS };

  const app = benchApp();
  const server = await startRostrum(app, 100);
  const driver = await startChild('kick-driver', 'bench/kick-main.ts');
  let rostrum: LatencyFigures;
  try {
    const port = server.ready.port as number;
    for (const roomId of rooms) {
      await tencentOk(port, app, 'room_engine_http_srv/create_room', { RoomInfo: { RoomId: roomId, RoomType: 'Live', IsSeatEnabled: true, MaxSeatCount: 4 } });
    }
    rostrum = await driver.call('run', { kind: 'rostrum', port, sdkAppId: app.sdkAppId, secretKey: app.secretKey, adminId: app.admins[0], ...common });
  } finally {
    await server.stop();
    await driver.stop();
  }

  const bareServer = await startBare(100);
  const bareDriver = await startChild('kick-driver', 'bench/kick-main.ts');
  let bare: LatencyFigures;
  try {
    bare = await bareDriver.call('run', { kind: 'bare', port: bareServer.ready.port, ...common });
  } finally {
    await bareServer.stop();
    await bareDriver.stop();
  }
  return { rostrum, bare, met: rostrum.event.p99 <= 5 && rostrum.errors === 0 && rostrum.starved === 0 };
}

export async function realtimeBench(opts: { cpuProf?: string } = {}): Promise<RealtimeResult> {
  cpuProf = opts.cpuProf;
  const fanout: RealtimeResult['fanout'] = [];
  let memory: RealtimeResult['memory'] | undefined;
  for (const n of [1_000, 10_000]) {
    const withMemory = n === 10_000;
    const r = await fanoutRostrum(n, withMemory);
    const b = await fanoutBare(n, r.fan.frameBytes, withMemory);
    const ratio = r.fan.deliveriesPerSec / b.fan.deliveriesPerSec;
    fanout.push({ rostrum: r.fan, bare: b.fan, ratio, met: ratio >= 0.6 && r.fan.lost === 0 });
    if (withMemory) memory = { rostrum: r.mem!, bare: b.mem!, met: r.mem!.perConnection <= 10 * 1024 };
  }
  const kick = await kickLatency();
  return { fanout, kick, memory: memory! };
}

export function printRealtime(r: RealtimeResult): void {
  const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  console.log('\nrealtime a. seatListChanged fan-out, one room, %ds after %ds warm-up', FANOUT_MS / 1000, FANOUT_WARMUP_MS / 1000);
  console.log('  %s  %s  %s  %s  %s', 'members'.padEnd(8), 'server'.padEnd(10), 'deliveries/s'.padStart(12), 'events/s'.padStart(9), 'frame B'.padStart(8));
  for (const x of r.fanout) {
    for (const [name, v] of [['bare ws', x.bare], ['Rostrum', x.rostrum]] as const) {
      console.log('  %s  %s  %s  %s  %s   (connect %ss, lost %d)', String(x.rostrum.clients).padEnd(8), name.padEnd(10), f(v.deliveriesPerSec).padStart(12), f(v.eventsPerSec).padStart(9), String(v.frameBytes).padStart(8), f(v.connectMs / 1000, 1), v.lost);
    }
    console.log('  ratio %s%% of bare (goal >= 60%%): %s', f(x.ratio * 100, 1), x.met ? 'met' : 'NOT met');
  }
  const k = r.kick;
  console.log('\nrealtime b. kick -> kickedOffSeat at %d kicks/s, %d seated members in %d rooms, %ds after %ds warm-up', KICK_RATE, KICK_ROOMS * 4, KICK_ROOMS, KICK_MS / 1000, KICK_WARMUP_MS / 1000);
  console.log('  %s  %s  %s  %s  %s  %s', 'server'.padEnd(28), 'kicks/s'.padStart(8), 'p50 ms'.padStart(7), 'p99 ms'.padStart(7), 'max ms'.padStart(7), 'REST p99'.padStart(8));
  for (const [name, v] of [['bare HTTP -> ws push', k.bare], ['Rostrum kick_user_off_seat', k.rostrum]] as const) {
    console.log('  %s  %s  %s  %s  %s  %s   (starved %d, errors %d)', name.padEnd(28), f(v.perSecond).padStart(8), f(v.event.p50, 2).padStart(7), f(v.event.p99, 2).padStart(7), f(v.event.max, 1).padStart(7), f(v.rest.p99, 2).padStart(8), v.starved, v.errors);
  }
  if (k.rostrum.firstError) console.log('  first error: %s', k.rostrum.firstError.slice(0, 300));
  console.log('  goal p99 <= 5 ms: %s', k.met ? 'met' : 'NOT met');
  const m = r.memory;
  console.log('\nrealtime c. %d idle connections in one server process (RSS after GC)', m.rostrum.connections);
  for (const [name, v] of [['bare ws', m.bare], ['Rostrum', m.rostrum]] as const) {
    console.log(
      '  %s  RSS %s -> %s MiB: %s KiB per connection (second half alone %s KiB; JS heap %s KiB)%s',
      name.padEnd(10),
      f(v.rssBefore / 2 ** 20, 1),
      f(v.rssAfter / 2 ** 20, 1),
      f(v.perConnection / 1024, 2),
      f(v.marginalPerConnection / 1024, 2),
      f(v.heapPerConnection / 1024, 2),
      v.gcExposed ? '' : ' (no GC exposed)',
    );
  }
  console.log('  goal <= 10 KiB per connection: %s', m.met ? 'met' : 'NOT met');
}
