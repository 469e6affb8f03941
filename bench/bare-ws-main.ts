// Baseline for the realtime benchmarks: a bare `ws` server in its own process. Its clients do
// nothing but receive. POST /broadcast?bytes=N builds one text frame of N payload bytes and
// writes it to every socket; POST /push?to=ID writes one frame to the socket that connected
// with ?id=ID.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { serveParent } from './lib/child.js';

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
/** The raw TCP sockets of the open WebSocket connections. */
const sockets: Duplex[] = [];
/** Sockets by the `id` query parameter they connected with, if any. */
const byId = new Map<string, Duplex>();
let seq = 0;

/** An unmasked, final text frame (RFC 6455 §5.2). */
function textFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const header = n < 126 ? Buffer.from([0x81, n]) : n < 65536 ? Buffer.from([0x81, 126, n >> 8, n & 255]) : Buffer.alloc(10);
  if (n >= 65536) {
    header[0] = 0x81;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([header, payload]);
}

/** A seatListChanged-looking JSON payload of exactly `bytes` bytes. */
function payload(bytes: number): Buffer {
  const head = `{"event":"seatListChanged","roomId":"bare","seq":${++seq},"pad":"`;
  const tail = '"}';
  return Buffer.from(head + 'x'.repeat(Math.max(0, bytes - head.length - tail.length)) + tail);
}

const http = createServer((req: IncomingMessage, res: ServerResponse) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  req.resume();
  req.on('end', () => {
    if (url.pathname === '/broadcast') {
      const frame = textFrame(payload(Number(url.searchParams.get('bytes') ?? 100)));
      for (const s of sockets) s.write(frame);
      res.end(String(sockets.length));
    } else if (url.pathname === '/push') {
      const to = url.searchParams.get('to') ?? '';
      const s = byId.get(to);
      s?.write(textFrame(Buffer.from(`{"event":"kickedOffSeat","roomId":"bare","seq":${++seq},"userId":${JSON.stringify(to)}}`)));
      res.end(s ? '1' : '0');
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
});
http.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => {
    sockets.push(socket);
    const id = new URL(req.url ?? '/', 'http://localhost').searchParams.get('id');
    if (id !== null) byId.set(id, socket);
    ws.on('error', () => undefined);
    ws.on('close', () => {
      const i = sockets.indexOf(socket);
      if (i >= 0) sockets.splice(i, 1);
      if (id !== null && byId.get(id) === socket) byId.delete(id);
    });
  });
});
http.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
const address = http.address();

serveParent(
  {
    connections: () => sockets.length,
    stop() {
      for (const s of sockets) s.destroy();
      http.close();
    },
  },
  { port: typeof address === 'object' && address ? address.port : 0 },
);
