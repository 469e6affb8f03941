// Baseline for the admin benchmark: a bare Fastify JSON POST route, in its own process. It parses
// the JSON body and answers a Tencent-sized envelope; no auth, no store.
import Fastify from 'fastify';
import { serveParent } from './lib/child.js';

const http = Fastify({ logger: false });
let seq = 0;
http.post('/v4/:service/:command', async (req) => {
  const body = req.body as Record<string, unknown>;
  seq++;
  return {
    ActionStatus: 'OK',
    ErrorCode: 0,
    ErrorInfo: '',
    RequestId: `Id-00000000000000000000000000000000-O-Seq-${seq}`,
    Echo: typeof body?.RoomId === 'string' ? 1 : 0,
  };
});
await http.listen({ host: '127.0.0.1', port: 0 });
const address = http.server.address();

serveParent(
  {
    async stop() {
      await http.close();
    },
  },
  { port: typeof address === 'object' && address ? address.port : 0 },
);
