// WebSocket clients for the realtime benchmarks, in their own process. Opens many connections
// (to Rostrum's /realtime, entering a room, to the bare broadcast server, or to the Socket.IO
// baseline, speaking its Engine.IO v4 framing over a plain WebSocket, as cheap to run as the
// others), counts the seatListChanged frames they receive and reports the total to the runner
// every few ms.
import { WebSocket } from 'ws';
import { genUserSig } from '../src/auth/usersig.js';
import { serveParent } from './lib/child.js';

/** The event counted (`setMark` changes it: the live benchmark counts messageReceived). */
let MARK = Buffer.from('seatListChanged');
const REPORT_MS = 5;

const sockets: WebSocket[] = [];
let received = 0; // seatListChanged frames
let other = 0; // any other frame
let frameBytes = 0; // size of one seatListChanged frame
let reported = -1;

const reporter = setInterval(() => {
  if (received !== reported) {
    reported = received;
    process.send!({ type: 'count', received });
  }
}, REPORT_MS);

function onFrame(data: Buffer): void {
  const i = data.indexOf(MARK);
  if (i >= 0 && i < 40) {
    received++;
    if (frameBytes === 0) frameBytes = data.length;
  } else {
    other++;
  }
}

interface ConnectRostrum {
  kind: 'rostrum';
  port: number;
  sdkAppId: number;
  secretKey: string;
  /** null: connect only (the `enter` op enters them later). */
  roomId: string | null;
  userIds: string[];
}

interface ConnectBare {
  kind: 'bare';
  port: number;
  count: number;
}

interface ConnectSocketIo {
  kind: 'socketio';
  port: number;
  roomId: string;
  userIds: string[];
}

type ConnectMsg = (ConnectRostrum | ConnectBare | ConnectSocketIo) & { concurrency?: number };

/**
 * One Socket.IO client over a plain WebSocket (Engine.IO v4 protocol, default namespace): waits
 * for the Engine.IO open packet, connects to the namespace ("40" -> "40{sid}"), then answers
 * pings ("2" -> "3") and counts the event frames ('42["messageReceived",...]').
 */
function openSocketIo(url: string): Promise<WebSocket> {
  return new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode} on upgrade`)));
    ws.once('close', (code, reason) => reject(new Error(`closed ${code} ${reason.toString()}`)));
    const handshake = (data: Buffer) => {
      const s = data.toString();
      if (s.startsWith('0')) return ws.send('40');
      if (!s.startsWith('40')) return reject(new Error(`Socket.IO handshake: ${s.slice(0, 200)}`));
      ws.off('message', handshake);
      ws.on('message', (frame: Buffer) => {
        if (frame.length === 1 && frame[0] === 0x32) ws.send('3'); // ping -> pong
        else onFrame(frame);
      });
      resolve(ws);
    };
    ws.on('message', handshake);
  }).then((ws) => {
    ws.removeAllListeners('error');
    ws.removeAllListeners('close');
    ws.on('error', () => undefined);
    ws.on('close', () => closed++);
    return ws;
  });
}

/** Opens one connection; for Rostrum, enters the room and waits for the reply. */
function open(url: string, roomId: string | null): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
    const fail = (e: Error) => reject(e);
    ws.once('error', fail);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode} on upgrade`)));
    ws.once('close', (code, reason) => reject(new Error(`closed ${code} ${reason.toString()}`)));
    ws.once('open', () => {
      if (roomId === null) {
        ws.on('message', onFrame as (data: unknown) => void);
        return resolve(ws);
      }
      ws.send(JSON.stringify({ id: 1, op: 'enterRoom', roomId }));
      ws.once('message', (data: Buffer) => {
        const reply = JSON.parse(data.toString()) as { id?: number; code?: number; message?: string };
        if (reply.id !== 1 || reply.code !== 0) return reject(new Error(`enterRoom: ${data.toString().slice(0, 200)}`));
        ws.on('message', onFrame as (data: unknown) => void);
        resolve(ws);
      });
    });
  }).then((ws) => {
    const w = ws as WebSocket;
    w.removeAllListeners('error');
    w.removeAllListeners('close');
    w.on('error', () => undefined);
    w.on('close', () => closed++);
    return w;
  });
}

let closed = 0;

/** Connections opened without entering a room, until `enter` enters them. */
const unentered: WebSocket[] = [];

/**
 * Every connection opened without a room sends enterRoom at once (as viewers already connected
 * do when a stream starts); resolves when every reply is in.
 */
async function enter(msg: { roomId: string }): Promise<{ entered: number; ms: number }> {
  const all = unentered.splice(0);
  const started = performance.now();
  await Promise.all(
    all.map(
      (ws) =>
        new Promise<void>((resolve, reject) => {
          ws.once('message', (data: Buffer) => {
            const reply = JSON.parse(data.toString()) as { id?: number; code?: number };
            if (reply.id !== 1 || reply.code !== 0) return reject(new Error(`enterRoom: ${data.toString().slice(0, 200)}`));
            resolve();
          });
          ws.send(JSON.stringify({ id: 1, op: 'enterRoom', roomId: msg.roomId }));
        }),
    ),
  );
  return { entered: all.length, ms: performance.now() - started };
}

async function connect(msg: ConnectMsg): Promise<{ connected: number; ms: number }> {
  const jobs: (() => Promise<WebSocket>)[] = [];
  if (msg.kind === 'rostrum') {
    for (const userId of msg.userIds) {
      const sig = genUserSig(msg.sdkAppId, msg.secretKey, userId, 86400);
      const url = `ws://127.0.0.1:${msg.port}/realtime?sdkappid=${msg.sdkAppId}&userid=${encodeURIComponent(userId)}&usersig=${encodeURIComponent(sig)}`;
      const roomId = msg.roomId;
      jobs.push(() => (roomId === null ? open(url, null).then((ws) => (unentered.push(ws), ws)) : open(url, roomId)));
    }
  } else if (msg.kind === 'socketio') {
    for (const userId of msg.userIds) {
      const url = `ws://127.0.0.1:${msg.port}/socket.io/?EIO=4&transport=websocket&roomId=${encodeURIComponent(msg.roomId)}&userId=${encodeURIComponent(userId)}`;
      jobs.push(() => openSocketIo(url));
    }
  } else {
    for (let i = 0; i < msg.count; i++) jobs.push(() => open(`ws://127.0.0.1:${msg.port}/`, null));
  }
  // A bounded number of handshakes at a time, so the listen backlog never overflows.
  // Timed from here: the UserSigs above are made beforehand, as an app server gives them out.
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) sockets.push(await jobs[next++]());
  };
  await Promise.all(Array.from({ length: Math.min(msg.concurrency ?? 100, jobs.length) }, worker));
  return { connected: jobs.length, ms: performance.now() - started };
}

serveParent(
  {
    connect: (msg: ConnectMsg) => connect(msg),
    enter: (msg: { roomId: string }) => enter(msg),
    stats: () => ({ received, other, frameBytes, open: sockets.length - closed, closed }),
    setMark: (msg: { mark: string }) => {
      MARK = Buffer.from(msg.mark);
      frameBytes = 0;
    },
    reset: () => {
      received = 0;
      other = 0;
      reported = -1;
    },
    async close() {
      const all = sockets.splice(0);
      await Promise.all(
        all.map(
          (ws) =>
            new Promise<void>((resolve) => {
              if (ws.readyState === WebSocket.CLOSED) return resolve();
              ws.once('close', () => resolve());
              ws.terminate();
            }),
        ),
      );
      closed = 0;
    },
    stop() {
      clearInterval(reporter);
      for (const ws of sockets) ws.terminate();
    },
  },
  {},
);
