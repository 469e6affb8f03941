// Chat senders for the live benchmark, in their own process: a few members of the room sending
// `sendMessage` over the realtime protocol at a paced total rate (Rostrum), or the same rate of
// POST /broadcast calls to the bare `ws` server (its frames the size of Rostrum's), or the same
// rate of acknowledged `sendMessage` emits to the Socket.IO baseline (socket.io-client).
import { WebSocket } from 'ws';
import { io, type Socket } from 'socket.io-client';
import { realtimeUrl } from './lib/tencent.js';
import { serveParent, sleep } from './lib/child.js';

type Kind = 'rostrum' | 'bare' | 'socketio';
let kind: Kind = 'rostrum';
let port = 0;
let roomId = '';
const senders: WebSocket[] = [];
const ioSenders: Socket[] = [];
let nextId = 0;
let acked = 0;
let errors = 0;
let firstError: string | undefined;
const TEXT = 'x'.repeat(40);

async function setup(msg: { kind: Kind; port: number; sdkAppId?: number; secretKey?: string; roomId?: string; senders?: string[] }) {
  kind = msg.kind;
  port = msg.port;
  roomId = msg.roomId ?? '';
  if (kind === 'bare') return;
  if (kind === 'socketio') {
    for (const userId of msg.senders ?? []) {
      const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], query: { roomId, userId }, reconnection: false, forceNew: true });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      ioSenders.push(socket);
    }
    return;
  }
  for (const userId of msg.senders ?? []) {
    const ws = new WebSocket(realtimeUrl(port, { sdkAppId: msg.sdkAppId!, secretKey: msg.secretKey! }, userId), { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('open', () => {
        ws.send(JSON.stringify({ id: 0, op: 'enterRoom', roomId }));
        ws.once('message', () => resolve());
      });
    });
    ws.on('message', (data: Buffer) => {
      // Replies only matter here (events are counted by the members' process).
      if (data.indexOf('"code"') < 0 || data.indexOf('"event"') >= 0) return;
      const r = JSON.parse(data.toString()) as { code: number; message: string };
      if (r.code === 0) acked++;
      else {
        errors++;
        firstError ??= `${r.code} ${r.message}`;
      }
    });
    senders.push(ws);
  }
}

/** Sends at `ratePerSecond` for `durationMs`; resolves once every send is answered (or 5 s). */
async function run(msg: { ratePerSecond: number; durationMs: number; bytes?: number }) {
  const start = performance.now();
  let sent = 0;
  const base = acked + errors;
  const broadcasts: Promise<unknown>[] = [];
  while (performance.now() - start < msg.durationMs) {
    const due = Math.floor(((performance.now() - start) / 1000) * msg.ratePerSecond);
    while (sent < due) {
      if (kind === 'rostrum') {
        senders[sent % senders.length].send(JSON.stringify({ id: ++nextId, op: 'sendMessage', roomId, text: TEXT }));
      } else if (kind === 'socketio') {
        ioSenders[sent % ioSenders.length].emit('sendMessage', { text: TEXT }, (r: { code: number; message: string }) => {
          if (r.code === 0) acked++;
          else {
            errors++;
            firstError ??= `${r.code} ${r.message}`;
          }
        });
      } else {
        broadcasts.push(
          fetch(`http://127.0.0.1:${port}/broadcast?bytes=${msg.bytes ?? 200}`, { method: 'POST' }).then(
            (r) => r.text().then(() => acked++),
            (e) => {
              errors++;
              firstError ??= String(e);
            },
          ),
        );
      }
      sent++;
    }
    await sleep(2);
  }
  const ms = performance.now() - start;
  const deadline = performance.now() + 5_000;
  while (acked + errors - base < sent && performance.now() < deadline) await sleep(5);
  await Promise.all(broadcasts);
  return { sent, ms, answered: acked + errors - base, errors, firstError };
}

serveParent(
  {
    setup,
    run,
    stop() {
      for (const ws of senders) ws.terminate();
      for (const socket of ioSenders) socket.disconnect();
    },
  },
  {},
);
