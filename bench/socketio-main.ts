// Socket.IO 4 baseline for the live benchmark's chat, in its own process: every client joins the
// room it names in its handshake query; a client's `sendMessage` (acknowledged) is emitted to
// the whole room as a `messageReceived` shaped like Rostrum's (msgId, from, nick, avatar, text,
// admin, roomId, seq). WebSocket transport only, no compression, no HTTP long-polling.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { serveParent } from './lib/child.js';

const http = createServer();
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
let seq = 0;

io.on('connection', (socket) => {
  const q = socket.handshake.query;
  const roomId = typeof q.roomId === 'string' ? q.roomId : 'chat';
  const userId = typeof q.userId === 'string' ? q.userId : socket.id;
  socket.join(roomId);
  socket.on('sendMessage', (msg: { text?: unknown }, ack?: (r: { code: number; message: string }) => void) => {
    if (typeof msg?.text !== 'string') return ack?.({ code: 400, message: 'text required' });
    io.to(roomId).emit('messageReceived', {
      roomId,
      seq: ++seq,
      msgId: randomUUID(),
      from: userId,
      nick: '',
      avatar: '',
      text: msg.text,
      admin: false,
    });
    ack?.({ code: 0, message: 'ok' });
  });
});

await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
const address = http.address();

serveParent(
  {
    connections: () => io.engine.clientsCount,
    stop() {
      io.disconnectSockets(true);
      io.close();
    },
  },
  { port: typeof address === 'object' && address ? address.port : 0 },
);
