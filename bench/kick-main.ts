// Kick latency, in its own process: seated members hold WebSockets; at a paced rate one of them
// is kicked off its seat through the admin REST API (and seated again once its event is in), and
// the time from sending the request to that member's socket receiving `kickedOffSeat` is
// recorded. The runner calls `setup` once, then `run` for each measured slice. Against the bare server, the
// "kick" is POST /push?to=<member> and the event is the frame it writes.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { genUserSig } from '../src/auth/usersig.js';
import { serveParent, sleep } from './lib/child.js';
import { keepAliveAgent, post as postWith } from './lib/http.js';

interface Member {
  userId: string;
  roomId: string;
  index: number;
  ws?: WebSocket;
  /** When the kick was sent (ms), while one is in flight. */
  kickedAt: number;
  eventAt: number;
  replied: boolean;
}

const agent = keepAliveAgent(64);
const post = (port: number, path: string, body: string) => postWith(agent, port, path, body);

function connect(url: string, roomId: string | null, onEvent: (data: Buffer) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('error', reject);
    ws.once('open', () => {
      if (roomId === null) {
        ws.on('message', onEvent);
        return resolve(ws);
      }
      ws.send(JSON.stringify({ id: 1, op: 'enterRoom', roomId }));
      ws.once('message', (data: Buffer) => {
        const reply = JSON.parse(data.toString()) as { id?: number; code?: number };
        if (reply.id !== 1 || reply.code !== 0) return reject(new Error(`enterRoom: ${data.toString().slice(0, 200)}`));
        ws.on('message', onEvent);
        resolve(ws);
      });
    });
  });
}

const KICKED = Buffer.from('kickedOffSeat');
let sockets: WebSocket[] = [];

interface SetupMsg {
  kind: 'rostrum' | 'bare';
  port: number;
  /** Rostrum: the app's id and key, for the members' UserSigs and the admin's. */
  sdkAppId?: number;
  secretKey?: string;
  adminId?: string;
  rooms: string[];
  seatsPerRoom: number;
  /** Several nodes: kicks go to these REST ports in turn, member i connects to wsPorts[i % n]. Default [port]. */
  restPorts?: number[];
  wsPorts?: number[];
}

interface RunMsg {
  ratePerSecond: number;
  durationMs: number;
  /** Keep the latencies (false for a warm-up). */
  record: boolean;
}

let state: ReturnType<typeof makeState> | undefined;

function makeState(msg: SetupMsg) {
  const rostrum = msg.kind === 'rostrum';
  const members: Member[] = [];
  for (const roomId of msg.rooms) {
    for (let i = 0; i < msg.seatsPerRoom; i++) members.push({ userId: `${roomId}-m${i}`, roomId, index: i, kickedAt: 0, eventAt: 0, replied: false });
  }
  const adminQuery = rostrum
    ? `sdkappid=${msg.sdkAppId}&identifier=${msg.adminId}&usersig=${encodeURIComponent(genUserSig(msg.sdkAppId!, msg.secretKey!, msg.adminId!, 86400))}&random=1&contenttype=json`
    : '';
  const restPorts = msg.restPorts ?? [msg.port];
  let nextRest = 0;
  const restPort = () => restPorts[nextRest++ % restPorts.length];
  const st = {
    members,
    ready: [] as Member[],
    recording: false,
    latencies: [] as number[],
    restLatencies: [] as number[],
    errors: 0,
    firstError: undefined as string | undefined,
    fail(what: string) {
      st.errors++;
      st.firstError ??= what;
    },
    async pick(m: Member) {
      if (rostrum) {
        const r = await post(restPort(), `/v4/room_engine_http_mic/pick_user_on_seat?${adminQuery}`, JSON.stringify({ RoomId: m.roomId, Member_Account: m.userId, Index: m.index }));
        if (!r.includes('"ErrorCode":0,')) return st.fail(`pick: ${r}`);
      }
      st.ready.push(m);
    },
    /** Both the event and the REST reply are in: seat the member again. */
    settle(m: Member) {
      if (m.eventAt === 0 || !m.replied) return;
      if (st.recording) st.latencies.push(m.eventAt - m.kickedAt);
      m.kickedAt = m.eventAt = 0;
      m.replied = false;
      st.pick(m).catch((e) => st.fail(String(e)));
    },
    kick(m: Member) {
      m.kickedAt = performance.now();
      const done = rostrum
        ? post(restPort(), `/v4/room_engine_http_mic/kick_user_off_seat?${adminQuery}`, JSON.stringify({ RoomId: m.roomId, Member_Account: m.userId, Data: 'time is up' }))
        : post(msg.port, `/push?to=${encodeURIComponent(m.userId)}`, '');
      done.then(
        (r) => {
          if (rostrum && !r.includes('"ErrorCode":0,')) return st.fail(`kick: ${r}`);
          if (st.recording) st.restLatencies.push(performance.now() - m.kickedAt);
          m.replied = true;
          st.settle(m);
        },
        (e) => st.fail(String(e)),
      );
    },
  };
  return { st, msg, rostrum };
}

/** Connects every member (entering its room on Rostrum), then seats them. */
async function setup(msg: SetupMsg) {
  const { st, rostrum } = (state = makeState(msg));
  const wsPorts = msg.wsPorts ?? [msg.port];
  for (const m of st.members) {
    const wsPort = wsPorts[st.members.indexOf(m) % wsPorts.length];
    const onEvent = (data: Buffer) => {
      const i = data.indexOf(KICKED);
      if (i < 0 || i > 40 || m.kickedAt === 0) return;
      m.eventAt = performance.now();
      st.settle(m);
    };
    m.ws = rostrum
      ? await connect(
          `ws://127.0.0.1:${wsPort}/realtime?sdkappid=${msg.sdkAppId}&userid=${encodeURIComponent(m.userId)}&usersig=${encodeURIComponent(genUserSig(msg.sdkAppId!, msg.secretKey!, m.userId, 86400))}`,
          m.roomId,
          onEvent,
        )
      : await connect(`ws://127.0.0.1:${msg.port}/?id=${encodeURIComponent(m.userId)}`, null, onEvent);
    m.ws.on('error', () => undefined);
    sockets.push(m.ws);
  }
  await Promise.all(st.members.map((m) => st.pick(m)));
  if (st.errors) throw new Error(`setup failed: ${st.firstError}`);
}

/** Paced kicks for `durationMs`: at every tick, as many as are due by now. Then lets them finish. */
async function run(msg: RunMsg) {
  const st = state!.st;
  st.latencies = [];
  st.restLatencies = [];
  st.recording = msg.record;
  let issued = 0;
  let starved = 0;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const start = performance.now();
  const end = start + msg.durationMs;
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - start) / 1000) * msg.ratePerSecond);
    while (issued < due) {
      issued++;
      const m = st.ready.shift();
      if (!m) {
        starved++;
        continue;
      }
      st.kick(m);
    }
    await sleep(1);
  }
  // Every member back on its seat before the next slice.
  const settleEnd = performance.now() + 5_000;
  while (st.ready.length < st.members.length && performance.now() < settleEnd) await sleep(5);
  st.recording = false;
  delay.disable();
  // This process's own event-loop delay: how much of the latency the measuring side may add.
  const driverDelay = { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 };
  return { driverDelay, issued, starved, errors: st.errors, firstError: st.firstError, latencies: st.latencies, restLatencies: st.restLatencies };
}

serveParent(
  {
    setup: (msg: SetupMsg) => setup(msg),
    run: (msg: RunMsg) => run(msg),
    stop() {
      for (const ws of sockets) ws.terminate();
      sockets = [];
    },
  },
  {},
);
