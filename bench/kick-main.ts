// Kick latency, in its own process: seated members hold WebSockets; at a paced rate one of them
// is kicked off its seat through the admin REST API, and the time from sending the request to
// that member's socket receiving `kickedOffSeat` is recorded. Against the bare server, the
// "kick" is POST /push?to=<member> and the event is the frame it writes.
import { Agent, request } from 'node:http';
import { WebSocket } from 'ws';
import { genUserSig } from '../src/auth/usersig.js';
import { serveParent, sleep, summarize } from './lib/child.js';

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

interface RunMsg {
  kind: 'rostrum' | 'bare';
  port: number;
  /** Rostrum: the app's id and key, for the members' UserSigs and the admin's. */
  sdkAppId?: number;
  secretKey?: string;
  adminId?: string;
  rooms: string[];
  seatsPerRoom: number;
  ratePerSecond: number;
  warmupMs: number;
  durationMs: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function post(port: number, path: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString()) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

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

async function run(msg: RunMsg) {
  const members: Member[] = [];
  for (const roomId of msg.rooms) {
    for (let i = 0; i < msg.seatsPerRoom; i++) members.push({ userId: `${roomId}-m${i}`, roomId, index: i, kickedAt: 0, eventAt: 0, replied: false });
  }
  const rostrum = msg.kind === 'rostrum';
  const adminQuery = rostrum
    ? `sdkappid=${msg.sdkAppId}&identifier=${msg.adminId}&usersig=${encodeURIComponent(genUserSig(msg.sdkAppId!, msg.secretKey!, msg.adminId!, 86400))}&random=1&contenttype=json`
    : '';

  let measuring = false;
  const latencies: number[] = [];
  const restLatencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const ready: Member[] = [];
  const fail = (what: string) => {
    errors++;
    firstError ??= what;
  };

  const pick = async (m: Member) => {
    if (rostrum) {
      const r = await post(msg.port, `/v4/room_engine_http_mic/pick_user_on_seat?${adminQuery}`, JSON.stringify({ RoomId: m.roomId, Member_Account: m.userId, Index: m.index }));
      if (!r.includes('"ErrorCode":0,')) return fail(`pick: ${r}`);
    }
    ready.push(m);
  };
  const settle = (m: Member) => {
    if (m.eventAt === 0 || !m.replied) return;
    if (measuring) latencies.push(m.eventAt - m.kickedAt);
    m.kickedAt = m.eventAt = 0;
    m.replied = false;
    pick(m).catch((e) => fail(String(e)));
  };
  const kick = (m: Member) => {
    m.kickedAt = performance.now();
    const done = rostrum
      ? post(msg.port, `/v4/room_engine_http_mic/kick_user_off_seat?${adminQuery}`, JSON.stringify({ RoomId: m.roomId, Member_Account: m.userId, Data: 'time is up' }))
      : post(msg.port, `/push?to=${encodeURIComponent(m.userId)}`, '');
    done.then(
      (r) => {
        if (rostrum && !r.includes('"ErrorCode":0,')) return fail(`kick: ${r}`);
        if (measuring) restLatencies.push(performance.now() - m.kickedAt);
        m.replied = true;
        settle(m);
      },
      (e) => fail(String(e)),
    );
  };

  // Connect every member, then seat them.
  for (const m of members) {
    const onEvent = (data: Buffer) => {
      const i = data.indexOf(KICKED);
      if (i < 0 || i > 40 || m.kickedAt === 0) return;
      m.eventAt = performance.now();
      settle(m);
    };
    m.ws = rostrum
      ? await connect(
          `ws://127.0.0.1:${msg.port}/realtime?sdkappid=${msg.sdkAppId}&userid=${encodeURIComponent(m.userId)}&usersig=${encodeURIComponent(genUserSig(msg.sdkAppId!, msg.secretKey!, m.userId, 86400))}`,
          m.roomId,
          onEvent,
        )
      : await connect(`ws://127.0.0.1:${msg.port}/?id=${encodeURIComponent(m.userId)}`, null, onEvent);
    m.ws.on('error', () => undefined);
    sockets.push(m.ws);
  }
  await Promise.all(members.map(pick));
  if (errors) throw new Error(`setup failed: ${firstError}`);

  // Paced kicks: at every tick, as many as are due by now.
  let issued = 0;
  let starved = 0;
  const start = performance.now();
  const end = start + msg.warmupMs + msg.durationMs;
  while (performance.now() < end) {
    const now = performance.now();
    if (!measuring && now >= start + msg.warmupMs) measuring = true;
    const due = Math.floor(((now - start) / 1000) * msg.ratePerSecond);
    while (issued < due) {
      issued++;
      const m = ready.shift();
      if (!m) {
        if (measuring) starved++;
        continue;
      }
      kick(m);
    }
    await sleep(1);
  }
  measuring = false;
  await sleep(200);
  const ms = msg.durationMs;
  return {
    kicks: latencies.length,
    perSecond: latencies.length / (ms / 1000),
    event: summarize(latencies),
    rest: summarize(restLatencies),
    starved,
    errors,
    firstError,
  };
}

serveParent(
  {
    run: (msg: RunMsg) => run(msg),
    stop() {
      for (const ws of sockets) ws.terminate();
      sockets = [];
    },
  },
  {},
);
