// Realtime gateway benchmarks, each beside a bare `ws` server measured in the same run:
//  a. fan-out of seatListChanged to 1,000 and 10,000 members of one room (deliveries/s);
//  b. kick -> kickedOffSeat latency at a paced 1,000 kicks/s;
//  c. server RSS per idle connection with 10,000 connections.
// Servers and clients run in separate child processes. For a and b both servers are up at once
// and measured in alternating slices, so that other load on the machine hits both alike.
import { startChild, sleep, summarize, type Child } from './lib/child.js';
import { benchApp, tencent, tencentOk } from './lib/tencent.js';
import type { App } from '../src/core/model.js';

const FANOUT_WARMUP_MS = 2_000;
const FANOUT_SLICES = 8;
const FANOUT_SLICE_MS = 1_000;
const KICK_RATE = 1_000;
const KICK_WARMUP_MS = 2_000;
const KICK_SLICES = 5;
const KICK_SLICE_MS = 2_000;
const KICK_ROOMS = 16;
const KICK_SEATS = 4;
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

type Stats = { n: number; p50: number; p99: number; max: number; mean: number };

export interface LatencyFigures {
  kicks: number;
  perSecond: number;
  event: Stats;
  rest: Stats;
  starved: number;
  errors: number;
  firstError?: string;
  /** The measuring process's own event-loop delay (worst slice), ms. */
  driverDelayP99: number;
  /** The server process's CPU time (user + system) per kick, the pick that follows included, µs. */
  cpuPerKick: number;
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
  kick?: { rostrum: LatencyFigures; bare: LatencyFigures; met: boolean };
  memory?: { rostrum: MemoryFigures; bare: MemoryFigures; met: boolean };
}

let cpuProf: string | undefined;

/** Rostrum servers started from now on write CPU profiles to `dir` (none when undefined). */
export function profileRostrumTo(dir: string | undefined): void {
  cpuProf = dir;
}

/** Child processes with this many open files: a socket per connection plus some. */
const filesFor = (connections: number) => connections + 1_000;

export function startRostrum(app: App, connections: number, env: Record<string, string> = {}): Promise<Child> {
  return startChild('rostrum', 'bench/server-main.ts', {
    env: { BENCH_APP: JSON.stringify(app), ...env },
    nodeFlags: ['--expose-gc', ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [])],
    files: filesFor(connections),
  });
}

export function startBare(connections: number): Promise<Child> {
  return startChild('bare-ws', 'bench/bare-ws-main.ts', { nodeFlags: ['--expose-gc'], files: filesFor(connections) });
}

export function startClients(connections: number): Promise<Child> {
  return startChild('ws-clients', 'bench/ws-clients-main.ts', { files: filesFor(connections) });
}

/**
 * Connects `n` clients in two halves. With `memory`, reads the server's RSS after full GCs before,
 * at half and at the end: per connection = (end - before) / n; the second half alone gives the
 * marginal cost, which is not flattered by heap pages freed earlier and reused.
 */
export async function connectAll(
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

/** One server with its clients, ready for fan-out slices. */
interface FanoutSide {
  clients: Child;
  n: number;
  /** Causes one seatListChanged to every client. */
  trigger(): Promise<void>;
  received: number;
  wake?: () => void;
  delivered: number;
  events: number;
  ms: number;
  lost: number;
}

function fanoutSide(clients: Child, n: number, trigger: () => Promise<void>): FanoutSide {
  const side: FanoutSide = { clients, n, trigger, received: 0, delivered: 0, events: 0, ms: 0, lost: 0 };
  clients.onMessage((m) => {
    if (m?.type === 'count') {
      side.received = m.received as number;
      side.wake?.();
    }
  });
  return side;
}

/**
 * Drives one side for `ms` as fast as its clients keep up (at most `window` events not yet
 * received by every client), then waits for the stragglers. Adds up what was delivered.
 */
async function fanoutSlice(side: FanoutSide, ms: number, record: boolean): Promise<void> {
  const window = Math.max(4, Math.ceil(20_000 / side.n));
  const maxInFlight = SPEAKERS.length;
  const base = side.received;
  let sent = 0;
  let inFlight = 0;
  let failure: unknown;
  const wait = () =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5);
      side.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  const start = performance.now();
  const end = start + ms;
  while (performance.now() < end && failure === undefined) {
    if (inFlight < maxInFlight && sent - (side.received - base) / side.n < window) {
      sent++;
      inFlight++;
      side.trigger().then(
        () => {
          inFlight--;
          side.wake?.();
        },
        (e) => (failure = e),
      );
      continue;
    }
    await wait();
  }
  if (failure !== undefined) throw failure;
  const elapsed = performance.now() - start;
  const delivered = side.received - base;
  // The last events, before the other side's slice starts.
  const drainEnd = performance.now() + 5_000;
  while (inFlight > 0 || (side.received - base < sent * side.n && performance.now() < drainEnd)) await wait();
  side.wake = undefined;
  if (!record) return;
  side.delivered += delivered;
  side.events += sent;
  side.ms += elapsed;
  side.lost += sent * side.n - (side.received - base);
}

function fanoutFigures(side: FanoutSide, frameBytes: number, connectMs: number, triggerErrors: number): FanoutFigures {
  return {
    clients: side.n,
    deliveriesPerSec: side.delivered / (side.ms / 1000),
    eventsPerSec: side.events / (side.ms / 1000),
    frameBytes,
    lost: side.lost,
    connectMs,
    triggerErrors,
  };
}

export async function fanout(n: number, memory: boolean): Promise<{ result: RealtimeResult['fanout'][number]; mem?: RealtimeResult['memory'] }> {
  const app = benchApp();
  const server = await startRostrum(app, n);
  const clients = await startClients(n);
  const bareServer = await startBare(n);
  const bareClients = await startClients(n);
  try {
    // Rostrum: a room with 8 seats and n members, each client entering as its member.
    const port = server.ready.port as number;
    const roomId = `fan${n}`;
    await tencentOk(port, app, 'room_engine_http_srv/create_room', {
      RoomInfo: { RoomId: roomId, RoomType: 'Live', IsSeatEnabled: true, MaxSeatCount: SEATS, MaxMemberCount: n + 10 },
    });
    // Entered through the core first, so that the clients' enterRoom is a re-entry and is not
    // announced to everyone already in (a fresh entry sends memberEntered to every member).
    const userIds = Array.from({ length: n }, (_, i) => `u${i}`);
    await server.call('enter', { roomId, userIds: [...SPEAKERS, ...userIds] });
    const r = await connectAll(server, n, memory, async (from, to) => {
      const x = await clients.call('connect', { kind: 'rostrum', port, sdkAppId: app.sdkAppId, secretKey: app.secretKey, roomId, userIds: userIds.slice(from, to) });
      return x.ms as number;
    });
    // One speaker per trigger in flight, each alternating pick and kick on its own seat.
    const idle = SPEAKERS.map((userId, index) => ({ userId, index, seated: false }));
    let triggerErrors = 0;
    const rostrum = fanoutSide(clients, n, async () => {
      const s = idle.shift()!;
      const reply = s.seated
        ? await tencent(port, app, 'room_engine_http_mic/kick_user_off_seat', { RoomId: roomId, Member_Account: s.userId, Data: '' })
        : await tencent(port, app, 'room_engine_http_mic/pick_user_on_seat', { RoomId: roomId, Member_Account: s.userId, Index: s.index });
      if (reply.ErrorCode !== 0) triggerErrors++;
      s.seated = !s.seated;
      idle.push(s);
    });
    await fanoutSlice(rostrum, FANOUT_WARMUP_MS, false);
    const frameBytes = (await clients.call('stats')).frameBytes as number;

    // Bare: the same number of clients, frames of the same size.
    const barePort = bareServer.ready.port as number;
    const b = await connectAll(bareServer, n, memory, async (from, to) => {
      const x = await bareClients.call('connect', { kind: 'bare', port: barePort, count: to - from });
      return x.ms as number;
    });
    const bare = fanoutSide(bareClients, n, async () => {
      const res = await fetch(`http://127.0.0.1:${barePort}/broadcast?bytes=${frameBytes}`, { method: 'POST' });
      await res.text();
      if (res.status !== 200) throw new Error(`broadcast: HTTP ${res.status}`);
    });
    await fanoutSlice(bare, FANOUT_WARMUP_MS, false);

    for (let i = 0; i < FANOUT_SLICES; i++) {
      for (const side of i % 2 === 0 ? [bare, rostrum] : [rostrum, bare]) await fanoutSlice(side, FANOUT_SLICE_MS, true);
    }
    const bareFrame = (await bareClients.call('stats')).frameBytes as number;
    const rf = fanoutFigures(rostrum, frameBytes, r.connectMs, triggerErrors);
    const bf = fanoutFigures(bare, bareFrame, b.connectMs, 0);
    const ratio = rf.deliveriesPerSec / bf.deliveriesPerSec;
    return {
      result: { rostrum: rf, bare: bf, ratio, met: ratio >= 0.6 && rf.lost === 0 && triggerErrors === 0 },
      mem: memory ? { rostrum: r.mem!, bare: b.mem!, met: r.mem!.perConnection <= 10 * 1024 } : undefined,
    };
  } finally {
    // Servers first: Rostrum drops every connection before their members leave, so the leaves
    // are not announced to the thousands still connected.
    await Promise.all([server.stop(), bareServer.stop()]);
    await Promise.all([clients.stop(), bareClients.stop()]);
  }
}

function latencyFigures(slices: any[]): LatencyFigures {
  const latencies = slices.flatMap((s) => s.latencies as number[]);
  const last = slices[slices.length - 1];
  return {
    kicks: latencies.length,
    perSecond: latencies.length / ((KICK_SLICES * KICK_SLICE_MS) / 1000),
    event: summarize(latencies),
    rest: summarize(slices.flatMap((s) => s.restLatencies as number[])),
    starved: slices.reduce((a, s) => a + (s.starved as number), 0),
    errors: last.errors,
    firstError: last.firstError,
    driverDelayP99: Math.max(...slices.map((s) => s.driverDelay.p99 as number)),
    cpuPerKick: slices.reduce((a, s) => a + (s.cpu as number), 0) / Math.max(1, latencies.length),
  };
}

export async function kickLatency(): Promise<NonNullable<RealtimeResult['kick']>> {
  const rooms = Array.from({ length: KICK_ROOMS }, (_, i) => `kick${i}`);
  const members = KICK_ROOMS * KICK_SEATS;
  const app = benchApp();
  const server = await startRostrum(app, members);
  const driver = await startChild('kick-driver', 'bench/kick-main.ts');
  const bareServer = await startBare(members);
  const bareDriver = await startChild('kick-driver', 'bench/kick-main.ts');
  try {
    const port = server.ready.port as number;
    for (const roomId of rooms) {
      await tencentOk(port, app, 'room_engine_http_srv/create_room', {
        RoomInfo: { RoomId: roomId, RoomType: 'Live', IsSeatEnabled: true, MaxSeatCount: KICK_SEATS },
      });
    }
    await driver.call('setup', { kind: 'rostrum', port, sdkAppId: app.sdkAppId, secretKey: app.secretKey, adminId: app.admins[0], rooms, seatsPerRoom: KICK_SEATS });
    await bareDriver.call('setup', { kind: 'bare', port: bareServer.ready.port, rooms, seatsPerRoom: KICK_SEATS });
    const slice = async (d: Child, ms: number, record: boolean) => {
      const srv = d === driver ? server : bareServer;
      const before = await srv.call<number>('cpu');
      const out = await d.call('run', { ratePerSecond: KICK_RATE, durationMs: ms, record });
      return { ...out, cpu: (await srv.call<number>('cpu')) - before };
    };
    await slice(driver, KICK_WARMUP_MS, false);
    await slice(bareDriver, KICK_WARMUP_MS, false);
    const r: any[] = [];
    const b: any[] = [];
    for (let i = 0; i < KICK_SLICES; i++) {
      if (i % 2 === 0) {
        b.push(await slice(bareDriver, KICK_SLICE_MS, true));
        r.push(await slice(driver, KICK_SLICE_MS, true));
      } else {
        r.push(await slice(driver, KICK_SLICE_MS, true));
        b.push(await slice(bareDriver, KICK_SLICE_MS, true));
      }
    }
    const rostrum = latencyFigures(r);
    const bare = latencyFigures(b);
    return { rostrum, bare, met: rostrum.event.p99 <= 5 && rostrum.errors === 0 && rostrum.starved === 0 };
  } finally {
    await Promise.all([server.stop(), bareServer.stop()]);
    await Promise.all([driver.stop(), bareDriver.stop()]);
  }
}

export async function realtimeBench(opts: { cpuProf?: string } = {}): Promise<RealtimeResult> {
  profileRostrumTo(opts.cpuProf);
  // REALTIME_PARTS (default fanout,kick): run only the parts named (e.g. `kick`, for profiling).
  const parts = new Set((process.env.REALTIME_PARTS ?? 'fanout,kick').split(',').map((p) => p.trim()));
  const r: RealtimeResult = { fanout: [] };
  // Latency first: closing thousands of sockets keeps the kernel busy for a while after.
  if (parts.has('kick')) r.kick = await kickLatency();
  if (!parts.has('fanout')) return r;
  for (const n of [1_000, 10_000]) {
    await sleep(1_000);
    const f = await fanout(n, n === 10_000);
    r.fanout.push(f.result);
    r.memory ??= f.mem;
  }
  return r;
}

export function printRealtime(r: RealtimeResult): void {
  const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  console.log(
    '\nrealtime a. seatListChanged fan-out, one room, %d x %ds per server in alternating slices after %ds warm-up',
    FANOUT_SLICES,
    FANOUT_SLICE_MS / 1000,
    FANOUT_WARMUP_MS / 1000,
  );
  console.log('  %s  %s  %s  %s  %s', 'members'.padEnd(8), 'server'.padEnd(10), 'deliveries/s'.padStart(12), 'events/s'.padStart(9), 'frame B'.padStart(8));
  for (const x of r.fanout) {
    for (const [name, v] of [['bare ws', x.bare], ['Rostrum', x.rostrum]] as const) {
      console.log(
        '  %s  %s  %s  %s  %s   (connect %ss, lost %d)',
        String(v.clients).padEnd(8),
        name.padEnd(10),
        f(v.deliveriesPerSec).padStart(12),
        f(v.eventsPerSec).padStart(9),
        String(v.frameBytes).padStart(8),
        f(v.connectMs / 1000, 1),
        v.lost,
      );
    }
    if (x.rostrum.triggerErrors) console.log('  Rostrum trigger calls with a non-zero ErrorCode: %d', x.rostrum.triggerErrors);
    console.log('  ratio %s%% of bare (goal >= 60%%): %s', f(x.ratio * 100, 1), x.met ? 'met' : 'NOT met');
  }
  const k = r.kick;
  if (k) {
    console.log(
      '\nrealtime b. kick -> kickedOffSeat at %d kicks/s, %d seated members in %d rooms, %d x %ds per server in alternating slices after %ds warm-up',
      KICK_RATE,
      KICK_ROOMS * KICK_SEATS,
      KICK_ROOMS,
      KICK_SLICES,
      KICK_SLICE_MS / 1000,
      KICK_WARMUP_MS / 1000,
    );
    console.log('  %s  %s  %s  %s  %s  %s', 'server'.padEnd(28), 'kicks/s'.padStart(8), 'p50 ms'.padStart(7), 'p99 ms'.padStart(7), 'max ms'.padStart(7), 'REST p99'.padStart(8));
    for (const [name, v] of [['bare HTTP -> ws push', k.bare], ['Rostrum kick_user_off_seat', k.rostrum]] as const) {
      console.log(
        '  %s  %s  %s  %s  %s  %s   (server CPU %s µs/kick; starved %d, errors %d, driver loop delay p99 %s ms)',
        name.padEnd(28),
        f(v.perSecond).padStart(8),
        f(v.event.p50, 2).padStart(7),
        f(v.event.p99, 2).padStart(7),
        f(v.event.max, 1).padStart(7),
        f(v.rest.p99, 2).padStart(8),
        f(v.cpuPerKick),
        v.starved,
        v.errors,
        f(v.driverDelayP99, 1),
      );
    }
    if (k.rostrum.firstError) console.log('  first error: %s', k.rostrum.firstError.slice(0, 300));
    console.log('  goal p99 <= 5 ms: %s', k.met ? 'met' : 'NOT met');
  }
  const m = r.memory;
  if (!m) return;
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
