// Live-scale rooms, each figure beside a baseline measured in the same run:
//  a. join storm: N clients entering one room at once, with 10k app-wide deny entries (the deny
//     check on): joins/s, and /healthz latency during the storm — beside bare `ws` connects;
//  b. chat: M members, senders at 500 messages/s: deliveries/s and lost, beside a bare `ws`
//     broadcast of same-size frames at the same rate and beside Socket.IO 4 rooms delivering the
//     same messages to the same number of clients (alternating slices);
//  c. kick -> kickedOffSeat at 1,000 kicks/s (the realtime benchmark's b);
//  d. memory per idle connection (entered in one room) at 20k connections, beside bare `ws`.
// LIVE_SCALE (default 1) scales the client counts, for short smoke runs. LIVE_PARTS (default
// storm,chat,kick,memory) runs only the parts named.
import { openFileLimits, sleep, startChild, summarize, type Child } from './lib/child.js';
import { benchApp, tencentOk } from './lib/tencent.js';
import { chatSide, chatSlice } from './lib/chat-slice.js';
import { connectAll, kickLatency, profileRostrumTo, startBare, startClients, startRostrum, type LatencyFigures, type MemoryFigures } from './realtime.js';

const SCALE = Number(process.env.LIVE_SCALE ?? 1);
const n = (x: number) => Math.max(10, Math.round(x * SCALE));
const STORM = n(5_000);
const DENY = n(10_000);
const CHAT_MEMBERS = n(1_000);
const CHAT_SENDERS = 10;
// LIVE_CHAT_RATE raises the chat rate (default 500 messages/s), to find where each side saturates.
const CHAT_RATE = Number(process.env.LIVE_CHAT_RATE ?? 500);
const CHAT_SLICES = 4;
const CHAT_SLICE_MS = 2_000;
// One server process holds every idle connection: it needs a descriptor each, so the figure is
// taken just under the machine's open-files limit when that is below 20k (said in the output).
const IDLE = Math.min(n(20_000), Math.max(10, openFileLimits().hard - 1_000));
const HANDSHAKES = 500;
const PARTS = new Set((process.env.LIVE_PARTS ?? 'storm,chat,kick,memory').split(',').map((p) => p.trim()));
const progress = (what: string) => process.stderr.write(`  [live] ${what}\n`);

type Stats = ReturnType<typeof summarize>;

export interface LiveResult {
  storm?: {
    clients: number;
    deny: number;
    rostrumJoinsPerSec: number;
    bareConnectsPerSec: number;
    /** Server CPU (user + system) per join / per bare connect, µs. */
    rostrumCpuPerJoin: number;
    bareCpuPerConnect: number;
    healthz: Stats;
    met: boolean;
    /** Those clients' handshakes (no entry), as many at a time as in the storm: the storm's other half. */
    openConnects: { perSec: number; cpuPerConnect: number };
    /** The same number of entries by clients connected beforehand, sent at once. */
    openEntries: { perSec: number; cpuPerEntry: number; healthz: Stats };
  };
  chat?: {
    members: number;
    rate: number;
    rostrum: { deliveriesPerSec: number; lost: number; errors: number; frameBytes: number; firstError?: string };
    bare: { deliveriesPerSec: number; lost: number; errors: number; frameBytes: number };
    socketio: { deliveriesPerSec: number; lost: number; errors: number; frameBytes: number; firstError?: string };
    ratio: number;
    socketioRatio: number;
    met: boolean;
  };
  kick?: { rostrum: LatencyFigures; bare: LatencyFigures; met: boolean };
  memory?: { rostrum: MemoryFigures; bare: MemoryFigures; met: boolean };
}

const realtimeEnv = { BENCH_REALTIME: JSON.stringify({ messagesPerSecond: 0 }) };

async function joinStorm(): Promise<NonNullable<LiveResult['storm']>> {
  const app = benchApp();
  const server = await startRostrum(app, 2 * STORM, realtimeEnv);
  const clients = await startClients(STORM);
  const openClients = await startClients(STORM);
  const bareServer = await startBare(STORM);
  const bareClients = await startClients(STORM);
  try {
    const port = server.ready.port as number;
    await tencentOk(port, app, 'room_engine_http_srv/create_room', {
      RoomInfo: { RoomId: 'storm', RoomType: 'Live', IsSeatEnabled: true, MaxSeatCount: 8, MaxMemberCount: STORM + 10 },
    });
    await server.call('banUsers', { prefix: 'denied', from: 0, to: DENY, perCall: 20 });
    progress('storm: deny entries made');
    const deny = await server.call<number>('denyCount');
    if (deny !== DENY) throw new Error(`${deny} deny entries, expected ${DENY}`);

    const { value: bare, cpuEach: bareCpuPerConnect } = await withCpu(bareServer, () =>
      bareClients.call<{ ms: number }>('connect', { kind: 'bare', port: bareServer.ready.port, count: STORM, concurrency: HANDSHAKES }),
    );
    progress('storm: bare connects done');
    await sleep(1_000);

    const userIds = Array.from({ length: STORM }, (_, i) => `viewer${i}`);
    // The CPU includes the /healthz calls served meanwhile (a few hundred, against 5,000 joins).
    const {
      value: { value: r, healthz },
      cpuEach: rostrumCpuPerJoin,
    } = await withCpu(server, () =>
      duringHealthzPolls(port, () =>
        clients.call<{ ms: number }>('connect', { kind: 'rostrum', port, sdkAppId: app.sdkAppId, secretKey: app.secretKey, roomId: 'storm', userIds, concurrency: HANDSHAKES }),
      ),
    );
    progress('storm: done');
    const rostrumJoinsPerSec = STORM / (r.ms / 1000);

    // The same entries by viewers connected beforehand (a stream starts; its audience, already in
    // the app, enters at once): the entry path alone, without the WebSocket handshakes.
    await tencentOk(port, app, 'room_engine_http_srv/create_room', {
      RoomInfo: { RoomId: 'storm-open', RoomType: 'Live', IsSeatEnabled: true, MaxSeatCount: 8, MaxMemberCount: STORM + 10 },
    });
    const openIds = Array.from({ length: STORM }, (_, i) => `audience${i}`);
    const { value: connects, cpuEach: cpuPerConnect } = await withCpu(server, () =>
      openClients.call<{ ms: number }>('connect', { kind: 'rostrum', port, sdkAppId: app.sdkAppId, secretKey: app.secretKey, roomId: null, userIds: openIds, concurrency: HANDSHAKES }),
    );
    await sleep(1_000);
    const { value: entries, cpuEach: cpuPerEntry } = await withCpu(server, () =>
      duringHealthzPolls(port, () => openClients.call<{ ms: number }>('enter', { roomId: 'storm-open' })),
    );
    progress('storm: entries on open connections done');
    return {
      clients: STORM,
      deny,
      rostrumJoinsPerSec,
      bareConnectsPerSec: STORM / (bare.ms / 1000),
      rostrumCpuPerJoin,
      bareCpuPerConnect,
      healthz,
      met: rostrumJoinsPerSec >= 5_000 && healthz.p99 <= 50,
      openConnects: { perSec: STORM / (connects.ms / 1000), cpuPerConnect },
      openEntries: { perSec: STORM / (entries.value.ms / 1000), cpuPerEntry, healthz: entries.healthz },
    };
  } finally {
    await Promise.all([server.stop(), bareServer.stop()]);
    await Promise.all([clients.stop(), openClients.stop(), bareClients.stop()]);
  }
}

/** Runs `work` (STORM of something) and the server's CPU (user + system, µs) it took, per one of them. */
async function withCpu<T>(server: Child, work: () => Promise<T>): Promise<{ value: T; cpuEach: number }> {
  const before = await server.call<number>('cpu');
  const value = await work();
  return { value, cpuEach: ((await server.call<number>('cpu')) - before) / STORM };
}

/** Runs `work` while polling /healthz one request after the other; its latencies beside the result. */
async function duringHealthzPolls<T>(port: number, work: () => Promise<T>): Promise<{ value: T; healthz: Stats }> {
  let running = true;
  const latencies: number[] = [];
  const poll = (async () => {
    while (running) {
      const t = performance.now();
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      await r.text();
      latencies.push(performance.now() - t);
      await sleep(10);
    }
  })();
  try {
    return { value: await work(), healthz: summarize(latencies) };
  } finally {
    running = false;
    await poll;
  }
}

async function chat(): Promise<NonNullable<LiveResult['chat']>> {
  const app = benchApp();
  const server = await startRostrum(app, CHAT_MEMBERS + CHAT_SENDERS, realtimeEnv);
  const clients = await startClients(CHAT_MEMBERS);
  const senders = await startChild('chat-senders', 'bench/live-chat-main.ts', { files: CHAT_SENDERS + 100 });
  const bareServer = await startBare(CHAT_MEMBERS);
  const bareClients = await startClients(CHAT_MEMBERS);
  const bareSenders = await startChild('chat-senders', 'bench/live-chat-main.ts');
  const ioServer = await startChild('socketio', 'bench/socketio-main.ts', { files: CHAT_MEMBERS + CHAT_SENDERS + 100 });
  const ioClients = await startClients(CHAT_MEMBERS);
  const ioSenders = await startChild('chat-senders', 'bench/live-chat-main.ts', { files: CHAT_SENDERS + 100 });
  try {
    const port = server.ready.port as number;
    await tencentOk(port, app, 'room_engine_http_srv/create_room', {
      RoomInfo: { RoomId: 'chat', RoomType: 'Live', IsSeatEnabled: true, MaxSeatCount: 8, MaxMemberCount: CHAT_MEMBERS + CHAT_SENDERS + 10 },
    });
    await clients.call('setMark', { mark: 'messageReceived' });
    const userIds = Array.from({ length: CHAT_MEMBERS }, (_, i) => `member${i}`);
    await clients.call('connect', { kind: 'rostrum', port, sdkAppId: app.sdkAppId, secretKey: app.secretKey, roomId: 'chat', userIds });
    const senderIds = Array.from({ length: CHAT_SENDERS }, (_, i) => `sender${i}`);
    await senders.call('setup', { kind: 'rostrum', port, sdkAppId: app.sdkAppId, secretKey: app.secretKey, roomId: 'chat', senders: senderIds });
    await bareClients.call('connect', { kind: 'bare', port: bareServer.ready.port, count: CHAT_MEMBERS });
    await bareSenders.call('setup', { kind: 'bare', port: bareServer.ready.port });
    await ioClients.call('setMark', { mark: 'messageReceived' });
    await ioClients.call('connect', { kind: 'socketio', port: ioServer.ready.port, roomId: 'chat', userIds });
    await ioSenders.call('setup', { kind: 'socketio', port: ioServer.ready.port, roomId: 'chat', senders: senderIds });
    progress('chat: connected');

    const sides = [
      chatSide(clients, senders, { name: 'rostrum' }),
      chatSide(bareClients, bareSenders, { name: 'bare' }),
      chatSide(ioClients, ioSenders, { name: 'socketio' }),
    ];
    let bytes = 200;
    const slice = (side: (typeof sides)[number], ms: number, record: boolean) => chatSlice(side, CHAT_MEMBERS, { ratePerSecond: CHAT_RATE, durationMs: ms, bytes }, record);
    await slice(sides[0], 1_000, false);
    bytes = sides[0].frameBytes || bytes; // the bare frames the size of Rostrum's
    await slice(sides[1], 1_000, false);
    await slice(sides[2], 1_000, false);
    // The order rotates every round, so that other load on the machine falls on all three alike.
    for (let i = 0; i < CHAT_SLICES; i++) {
      for (let j = 0; j < sides.length; j++) await slice(sides[(i + j) % sides.length], CHAT_SLICE_MS, true);
    }
    const fig = (s: (typeof sides)[number]) => ({
      deliveriesPerSec: s.delivered / (s.ms / 1000),
      lost: s.lost,
      errors: s.errors,
      frameBytes: s.frameBytes,
      firstError: s.firstError,
    });
    const rostrum = fig(sides[0]);
    const bare = fig(sides[1]);
    const socketio = fig(sides[2]);
    const ratio = rostrum.deliveriesPerSec / bare.deliveriesPerSec;
    const socketioRatio = rostrum.deliveriesPerSec / socketio.deliveriesPerSec;
    return { members: CHAT_MEMBERS, rate: CHAT_RATE, rostrum, bare, socketio, ratio, socketioRatio, met: ratio >= 0.6 && rostrum.lost === 0 && rostrum.errors === 0 };
  } finally {
    await Promise.all([server.stop(), bareServer.stop(), ioServer.stop()]);
    await Promise.all([clients.stop(), bareClients.stop(), senders.stop(), bareSenders.stop(), ioClients.stop(), ioSenders.stop()]);
  }
}

async function idleMemory(): Promise<NonNullable<LiveResult['memory']>> {
  const app = benchApp();
  const server = await startRostrum(app, IDLE, realtimeEnv);
  // Two client processes per side: each client process needs a descriptor per connection too.
  const half = Math.ceil(IDLE / 2);
  const clients = [await startClients(half), await startClients(half)];
  const bareServer = await startBare(IDLE);
  const bareClients = [await startClients(half), await startClients(half)];
  const of = <T>(pair: T[], from: number) => pair[from < half ? 0 : 1];
  try {
    const port = server.ready.port as number;
    await tencentOk(port, app, 'room_engine_http_srv/create_room', {
      RoomInfo: { RoomId: 'idle', RoomType: 'Live', IsSeatEnabled: true, MaxSeatCount: 8, MaxMemberCount: IDLE + 10 },
    });
    const userIds = Array.from({ length: IDLE }, (_, i) => `idle${i}`);
    const r = await connectAll(server, IDLE, true, async (from, to) => {
      const x = await of(clients, from).call('connect', { kind: 'rostrum', port, sdkAppId: app.sdkAppId, secretKey: app.secretKey, roomId: 'idle', userIds: userIds.slice(from, to) });
      return x.ms as number;
    });
    const b = await connectAll(bareServer, IDLE, true, async (from, to) => {
      const x = await of(bareClients, from).call('connect', { kind: 'bare', port: bareServer.ready.port, count: to - from });
      return x.ms as number;
    });
    return { rostrum: r.mem!, bare: b.mem!, met: r.mem!.perConnection <= 10 * 1024 };
  } finally {
    await Promise.all([server.stop(), bareServer.stop()]);
    await Promise.all([...clients, ...bareClients].map((c) => c.stop()));
  }
}

export async function liveBench(opts: { cpuProf?: string } = {}): Promise<LiveResult> {
  profileRostrumTo(opts.cpuProf);
  const r: LiveResult = {};
  if (PARTS.has('storm')) {
    r.storm = await joinStorm();
    await sleep(1_000);
  }
  if (PARTS.has('chat')) {
    r.chat = await chat();
    await sleep(1_000);
  }
  if (PARTS.has('kick')) {
    progress('kick latency');
    r.kick = await kickLatency();
    await sleep(1_000);
  }
  if (PARTS.has('memory')) {
    progress('idle memory');
    r.memory = await idleMemory();
  }
  return r;
}

export function printLive(r: LiveResult): void {
  const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const s = r.storm;
  if (s) {
    console.log('\nlive a. join storm: %d clients enter one room, %d app-wide deny entries, %d handshakes at a time', s.clients, s.deny, HANDSHAKES);
    console.log('  bare ws connects/s %s; Rostrum joins/s %s (connect + enterRoom reply), %s%% of bare', f(s.bareConnectsPerSec), f(s.rostrumJoinsPerSec), f((s.rostrumJoinsPerSec / s.bareConnectsPerSec) * 100, 1));
    console.log('  server CPU per join %s µs (bare per connect %s µs)', f(s.rostrumCpuPerJoin), f(s.bareCpuPerConnect));
    console.log('  /healthz during the storm: n %d, p50 %s ms, p99 %s ms, max %s ms', s.healthz.n, f(s.healthz.p50, 1), f(s.healthz.p99, 1), f(s.healthz.max, 1));
    console.log('  goal >= 5,000 joins/s and /healthz p99 <= 50 ms: %s', s.met ? 'met' : 'NOT met');
    const h = s.openConnects;
    console.log('  handshakes alone (%d viewers connecting, no entry): %s connects/s, server CPU %s µs per connect', s.clients, f(h.perSec), f(h.cpuPerConnect));
    const o = s.openEntries;
    console.log('  entries alone (%d viewers connected beforehand, all enterRoom at once): %s entries/s, server CPU %s µs per entry, /healthz p99 %s ms (max %s)', s.clients, f(o.perSec), f(o.cpuPerEntry), f(o.healthz.p99, 1), f(o.healthz.max, 1));
  }
  const c = r.chat;
  if (c) {
    console.log('\nlive b. chat: %d members, %d messages/s from %d senders, %d x %ds per side in alternating slices', c.members, c.rate, CHAT_SENDERS, CHAT_SLICES, CHAT_SLICE_MS / 1000);
    for (const [name, v] of [['bare ws broadcast', c.bare], ['Socket.IO 4 rooms', c.socketio], ['Rostrum sendMessage', c.rostrum]] as const) {
      console.log('  %s  deliveries/s %s  frame %d B  lost %d  errors %d', name.padEnd(20), f(v.deliveriesPerSec).padStart(9), v.frameBytes, v.lost, v.errors);
    }
    if (c.rostrum.firstError) console.log('  first error: %s', c.rostrum.firstError);
    if (c.socketio.firstError) console.log('  Socket.IO first error: %s', c.socketio.firstError);
    console.log('  ratio %s%% of bare (goal >= 60%%, 0 lost): %s; %s%% of Socket.IO', f(c.ratio * 100, 1), c.met ? 'met' : 'NOT met', f(c.socketioRatio * 100, 1));
  }
  const k = r.kick;
  if (k) console.log('\nlive c. kick -> kickedOffSeat at 1,000 kicks/s: p50 %s ms, p99 %s ms (bare push p99 %s ms); goal p99 <= 5 ms: %s', f(k.rostrum.event.p50, 2), f(k.rostrum.event.p99, 2), f(k.bare.event.p99, 2), k.met ? 'met' : 'NOT met');
  const m = r.memory;
  if (!m) return;
  console.log('\nlive d. %d idle connections (entered in one room), RSS after GC', m.rostrum.connections);
  for (const [name, v] of [['bare ws', m.bare], ['Rostrum', m.rostrum]] as const) {
    console.log('  %s  %s KiB per connection (second half alone %s KiB; JS heap %s KiB)', name.padEnd(8), f(v.perConnection / 1024, 2), f(v.marginalPerConnection / 1024, 2), f(v.heapPerConnection / 1024, 2));
  }
  console.log('  goal <= 10 KiB per connection: %s', m.met ? 'met' : 'NOT met');
}
