// A callback receiver for the admin benchmark's callbacks-on variant, in its own process: checks
// each signature and answers Tencent's success body; counts what it accepted.
import { createServer } from 'node:http';
import { verifyCallback } from '../src/callbacks/sign.js';
import { serveParent } from './lib/child.js';

const token = process.env.BENCH_CALLBACK_TOKEN ?? '';
let accepted = 0;
let unverified = 0;
const server = createServer((req, res) => {
  const query = new URL(req.url ?? '/', 'http://x').searchParams;
  req.resume();
  req.on('end', () => {
    if (!verifyCallback(query, token)) unverified++;
    accepted++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}');
  });
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();

serveParent(
  {
    counts: () => ({ accepted, unverified }),
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  },
  { port: typeof address === 'object' && address ? address.port : 0 },
);
