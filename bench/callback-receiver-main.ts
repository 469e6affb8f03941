// A callback receiver for the benchmarks' callbacks-on variants, in its own process: checks each
// delivery's signature and answers Tencent's success body; counts what it accepted.
//
// It shares the machine's cores with the server being measured, and a receiver elsewhere would
// cost that server nothing, so it does as little as a correct receiver can: HTTP/1.1 read off the
// socket by hand (kept-alive POSTs with a content-length, which is what Rostrum sends) and one
// prepared answer. A Node http server here used 29–93 µs of CPU a callback, about as much as the
// relay itself, all of it counted against callbacks on.
//
// BENCH_RECEIVER_DELAY_MS: each answer goes that much later, as from a receiver that far away.
import { createServer, type Socket } from 'node:net';
import { verifyCallback } from '../src/callbacks/sign.js';
import { serveParent } from './lib/child.js';

const token = process.env.BENCH_CALLBACK_TOKEN ?? '';
const delayMs = Number(process.env.BENCH_RECEIVER_DELAY_MS ?? 0);
const BODY = '{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}';
const ANSWER = Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${BODY.length}\r\n\r\n${BODY}`);
const CRLF2 = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d{1,9})[ \t]*(?:\r\n|$)/i;
const REQUEST_LINE = /^POST ([^ ?]*)(?:\?([^ ]*))? HTTP\/1\.1\r\n/;

let accepted = 0;
/** Deliveries with a bad signature, and requests it cannot read (their connection closes). */
let unverified = 0;
const sockets = new Set<Socket>();

function serve(socket: Socket): void {
  sockets.add(socket);
  socket.setNoDelay(true);
  let buf: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    let answers = 0;
    for (;;) {
      const end = buf.indexOf(CRLF2);
      if (end < 0) break;
      const head = buf.toString('latin1', 0, end + 2);
      const line = REQUEST_LINE.exec(head);
      const length = CONTENT_LENGTH.exec(head);
      if (!line || !length) {
        unverified++;
        return void socket.destroy();
      }
      const next = end + 4 + Number(length[1]);
      if (buf.length < next) break;
      if (!verifyCallback(new URLSearchParams(line[2] ?? ''), token)) unverified++;
      accepted++;
      answers++;
      buf = buf.subarray(next);
    }
    if (answers === 0) return;
    const answer = answers === 1 ? ANSWER : Buffer.concat(new Array<Buffer>(answers).fill(ANSWER));
    if (delayMs > 0) setTimeout(() => socket.writable && socket.write(answer), delayMs);
    else socket.write(answer);
  });
  socket.on('error', () => socket.destroy());
  socket.on('close', () => sockets.delete(socket));
}

const server = createServer(serve);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();

serveParent(
  {
    counts: () => ({ accepted, unverified }),
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  },
  { port: typeof address === 'object' && address ? address.port : 0 },
);
