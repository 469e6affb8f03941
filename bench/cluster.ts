// Many nodes: Rostrum on PostgreSQL and Redis. One node beside two nodes on the same services
// (each cluster in its own schema and Redis prefix), measured in alternating slices:
//  a. kick -> kickedOffSeat at a paced rate: one node (REST call and member's socket on it) vs
//     two nodes (REST call on node A, member's socket on node B: every event crosses Redis);
//  b. kick throughput, closed loop (a member is kicked again once its event and reply are in):
//     one node vs two nodes with REST calls and sockets spread over both;
//  c. chat fan-out: members of one room, senders at a paced rate: all on one node vs half on each;
//  d. each node's gap fills (store reads to fill a hole in a room's events) over the run, from
//     its /metrics: how often cross-node order costs a store read.
// BENCH_PG_URL and BENCH_REDIS_URL name the services (defaults: the local ones).
import { randomBytes } from 'node:crypto';
import { sleep, startChild, summarize, type Child } from './lib/child.js';
import { benchSchema, checkDatabase, dropSchemas, storeUrl } from './lib/pg.js';
import { benchApp, tencentOk } from './lib/tencent.js';
import { chatSide, chatSlice } from './lib/chat-slice.js';
import { startClients, startRostrum } from './realtime.js';
import type { App } from '../src/core/model.js';

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const KICK_RATE = 500;
const KICK_ROOMS = 16;
const KICK_SEATS = 4;
const WARMUP_MS = 2_000;
const SLICES = 4;
const SLICE_MS = 2_000;
const CHAT_MEMBERS = 2_000;
const CHAT_SENDERS = 10;
const CHAT_RATE = 200;
const progress = (what: string) => process.stderr.write(`  [cluster] ${what}\n`);

type Stats = ReturnType<typeof summarize>;

export interface ClusterResult {
  latency: { single: Stats; cross: Stats; errors: number; met: boolean };
  throughput: { single: number; double: number; errors: number };
  chat: { members: number; rate: number; single: ChatFigures; double: ChatFigures };
  /** Each node's counters at the end (from its /metrics), by configuration. */
  nodes: { cluster: string; node: string; counters: NodeCounters }[];
}

interface NodeCounters {
  gapFills: number;
  resyncReads: number;
  committed: number;
  sent: number;
  received: number;
  dropped: number;
}

/** The node's counters, read from its /metrics. */
async function nodeCounters(port: number): Promise<NodeCounters> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sum = (re: RegExp) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  return {
    gapFills: sum(/^rostrum_realtime_gap_fills_total\{reason="gap"\} (\S+)$/gm),
    resyncReads: sum(/^rostrum_realtime_gap_fills_total\{reason="resync"\} (\S+)$/gm),
    committed: sum(/^rostrum_events_total\{[^}]*\} (\S+)$/gm),
    sent: sum(/^rostrum_bus_events_sent_total (\S+)$/gm),
    received: sum(/^rostrum_bus_events_received_total (\S+)$/gm),
    dropped: sum(/^rostrum_bus_events_dropped_total (\S+)$/gm),
  };
}

interface ChatFigures {
  deliveriesPerSec: number;
  lost: number;
  errors: number;
}

interface Cluster {
  nodes: Child[];
  ports: number[];
  schema: string;
}

/** `count` nodes sharing one fresh schema and one fresh Redis prefix, started one after the other. */
async function startCluster(app: App, count: number, connections: number): Promise<Cluster> {
  const schema = benchSchema();
  const bus = new URL(REDIS_URL);
  bus.searchParams.set('prefix', `bench-${randomBytes(4).toString('hex')}`);
  const nodes: Child[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(
      await startRostrum(app, connections, {
        BENCH_STORE: storeUrl(schema),
        BENCH_BUS: bus.toString(),
        BENCH_NODE_ID: `bench${i + 1}`,
        BENCH_REALTIME: JSON.stringify({ messagesPerSecond: 0 }),
      }),
    );
  }
  return { nodes, ports: nodes.map((n) => n.ready.port as number), schema };
}

async function createRooms(port: number, app: App, rooms: string[], seats: number, maxMembers = 1_000): Promise<void> {
  for (const roomId of rooms) {
    await tencentOk(port, app, 'room_engine_http_srv/create_room', {
      RoomInfo: { RoomId: roomId, RoomType: 'Live', IsSeatEnabled: true, MaxSeatCount: seats, MaxMemberCount: maxMembers },
    });
  }
}

const roomsNamed = (prefix: string) => Array.from({ length: KICK_ROOMS }, (_, i) => `${prefix}${i}`);

/** a and b: one driver per configuration, alternating slices. */
async function kicks(app: App, single: Cluster, double: Cluster): Promise<Pick<ClusterResult, 'latency' | 'throughput'>> {
  const [s] = single.ports;
  const [a, b] = double.ports;
  await createRooms(s, app, roomsNamed('kick'), KICK_SEATS);
  await createRooms(a, app, roomsNamed('cross'), KICK_SEATS);
  await createRooms(a, app, roomsNamed('spread'), KICK_SEATS);
  const drivers = await Promise.all([0, 1, 2].map(() => startChild('kick-driver', 'bench/kick-main.ts')));
  const [singleDriver, crossDriver, spreadDriver] = drivers;
  try {
    const base = { kind: 'rostrum', sdkAppId: app.sdkAppId, secretKey: app.secretKey, adminId: app.admins[0], seatsPerRoom: KICK_SEATS };
    await singleDriver.call('setup', { ...base, port: s, rooms: roomsNamed('kick') });
    await crossDriver.call('setup', { ...base, port: a, rooms: roomsNamed('cross'), restPorts: [a], wsPorts: [b] });
    await spreadDriver.call('setup', { ...base, port: a, rooms: roomsNamed('spread'), restPorts: [a, b], wsPorts: [a, b] });
    progress('kick drivers seated');
    const run = (d: Child, ratePerSecond: number, ms: number, record: boolean) => d.call('run', { ratePerSecond, durationMs: ms, record });
    // Throughput: a rate no configuration reaches, so each member goes again as soon as it can.
    const FLAT_OUT = 100_000;
    for (const d of [singleDriver, crossDriver]) await run(d, KICK_RATE, WARMUP_MS, false);
    await run(spreadDriver, FLAT_OUT, WARMUP_MS, false);
    const lat = { single: [] as number[], cross: [] as number[] };
    const tput = { single: 0, double: 0 };
    let errors = 0;
    for (let i = 0; i < SLICES; i++) {
      const order = i % 2 === 0 ? (['single', 'cross'] as const) : (['cross', 'single'] as const);
      for (const which of order) {
        const r = await run(which === 'single' ? singleDriver : crossDriver, KICK_RATE, SLICE_MS, true);
        lat[which].push(...(r.latencies as number[]));
        errors = Math.max(errors, r.errors as number);
      }
      const pair = i % 2 === 0 ? ([singleDriver, spreadDriver] as const) : ([spreadDriver, singleDriver] as const);
      for (const d of pair) {
        const r = await run(d, FLAT_OUT, SLICE_MS, true);
        tput[d === singleDriver ? 'single' : 'double'] += (r.latencies as number[]).length;
        errors = Math.max(errors, r.errors as number);
      }
    }
    const perSec = (n: number) => n / ((SLICES * SLICE_MS) / 1000);
    const cross = summarize(lat.cross);
    return {
      latency: { single: summarize(lat.single), cross, errors, met: cross.p99 <= 20 && errors === 0 },
      throughput: { single: perSec(tput.single), double: perSec(tput.double), errors },
    };
  } finally {
    await Promise.all(drivers.map((d) => d.stop()));
  }
}

/** c: the same members and senders, all on one node vs half on each of two. */
async function chat(app: App, single: Cluster, double: Cluster): Promise<ClusterResult['chat']> {
  const userIds = Array.from({ length: CHAT_MEMBERS }, (_, i) => `member${i}`);
  const half = CHAT_MEMBERS / 2;
  const senderIds = Array.from({ length: CHAT_SENDERS }, (_, i) => `sender${i}`);
  const sides = [
    chatSide(await startClients(CHAT_MEMBERS), await startChild('chat-senders', 'bench/live-chat-main.ts'), { cluster: single }),
    chatSide(await startClients(CHAT_MEMBERS), await startChild('chat-senders', 'bench/live-chat-main.ts'), { cluster: double }),
  ];
  try {
    for (const side of sides) {
      const ports = side.cluster.ports;
      await createRooms(ports[0], app, ['chat'], 8, CHAT_MEMBERS + CHAT_SENDERS + 10);
      await side.clients.call('setMark', { mark: 'messageReceived' });
      const conn = { kind: 'rostrum', sdkAppId: app.sdkAppId, secretKey: app.secretKey, roomId: 'chat' };
      await side.clients.call('connect', { ...conn, port: ports[0], userIds: userIds.slice(0, half) });
      await side.clients.call('connect', { ...conn, port: ports[ports.length - 1], userIds: userIds.slice(half) });
      await side.senders.call('setup', { ...conn, port: ports[0], senders: senderIds });
    }
    progress('chat members connected');
    const slice = (side: (typeof sides)[number], ms: number, record: boolean) => chatSlice(side, CHAT_MEMBERS, { ratePerSecond: CHAT_RATE, durationMs: ms }, record);
    for (const side of sides) await slice(side, 1_000, false);
    for (let i = 0; i < SLICES; i++) {
      for (const side of i % 2 === 0 ? sides : [...sides].reverse()) await slice(side, SLICE_MS, true);
    }
    const fig = (s: (typeof sides)[number]): ChatFigures => ({ deliveriesPerSec: s.delivered / (s.ms / 1000), lost: s.lost, errors: s.errors });
    return { members: CHAT_MEMBERS, rate: CHAT_RATE, single: fig(sides[0]), double: fig(sides[1]) };
  } finally {
    await Promise.all(sides.flatMap((s) => [s.clients.stop(), s.senders.stop()]));
  }
}

export async function clusterBench(): Promise<ClusterResult> {
  await checkDatabase();
  const app = benchApp();
  const connections = CHAT_MEMBERS + CHAT_SENDERS + KICK_ROOMS * KICK_SEATS * 2;
  const clusters: Cluster[] = [];
  try {
    clusters.push(await startCluster(app, 1, connections));
    clusters.push(await startCluster(app, 2, connections));
    progress('nodes up');
    const [single, double] = clusters;
    const k = await kicks(app, single, double);
    await sleep(1_000);
    const c = await chat(app, single, double);
    const nodes: ClusterResult['nodes'] = [];
    for (const [name, cl] of [['1 node', single], ['2 nodes', double]] as const) {
      for (const [i, port] of cl.ports.entries()) nodes.push({ cluster: name, node: `bench${i + 1}`, counters: await nodeCounters(port) });
    }
    return { ...k, chat: c, nodes };
  } finally {
    await Promise.all(clusters.flatMap((c) => c.nodes.map((n) => n.stop())));
    await dropSchemas(clusters.map((c) => c.schema));
  }
}

export function printCluster(r: ClusterResult): void {
  const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const l = r.latency;
  console.log(
    '\ncluster a. kick -> kickedOffSeat at %d kicks/s, %d seated members in %d rooms, PostgreSQL + Redis, %d x %ds per configuration in alternating slices',
    KICK_RATE,
    KICK_ROOMS * KICK_SEATS,
    KICK_ROOMS,
    SLICES,
    SLICE_MS / 1000,
  );
  for (const [name, v] of [['1 node', l.single], ['2 nodes, REST on A, socket on B', l.cross]] as const) {
    console.log('  %s  n %d  p50 %s ms  p99 %s ms  max %s ms', name.padEnd(32), v.n, f(v.p50, 2).padStart(6), f(v.p99, 2).padStart(6), f(v.max, 1).padStart(6));
  }
  console.log('  errors %d; goal cross-node p99 <= 20 ms: %s', l.errors, l.met ? 'met' : 'NOT met');
  const t = r.throughput;
  console.log('\ncluster b. kick throughput, closed loop over %d seated members', KICK_ROOMS * KICK_SEATS);
  console.log('  1 node %s kicks/s; 2 nodes (REST and sockets spread over both) %s kicks/s (%s%%)', f(t.single), f(t.double), f((t.double / t.single) * 100, 1));
  const c = r.chat;
  console.log('\ncluster c. chat fan-out: %d members of one room, %d messages/s from %d senders', c.members, c.rate, CHAT_SENDERS);
  for (const [name, v] of [['1 node', c.single], ['2 nodes, half on each', c.double]] as const) {
    console.log('  %s  deliveries/s %s  lost %d  errors %d', name.padEnd(22), f(v.deliveriesPerSec).padStart(9), v.lost, v.errors);
  }
  console.log('  2 nodes / 1 node: %s%%', f((c.double.deliveriesPerSec / c.single.deliveriesPerSec) * 100, 1));
  console.log('\ncluster d. per node over the whole run (a, b and c): store reads to fill holes in rooms\' events');
  for (const { cluster, node, counters: n } of r.nodes) {
    // Every event a node delivers (its own and the others') goes through its room feeds.
    const seen = n.committed + n.received;
    const per1000 = seen > 0 ? (n.gapFills / seen) * 1000 : 0;
    console.log(
      '  %s %s  gap fills %d (%s per 1000 events committed or received)  resync reads %d  committed %d  bus sent %d  received %d  dropped %d',
      cluster.padEnd(7),
      node,
      n.gapFills,
      f(per1000, 2),
      n.resyncReads,
      n.committed,
      n.sent,
      n.received,
      n.dropped,
    );
  }
}
