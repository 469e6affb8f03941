// Slow and idle connections are closed: unfinished headers (HTTP or a WebSocket upgrade), an
// unfinished body, a connection that never sends a byte, an idle keep-alive connection.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestServer, type TestServer } from './support/harness.js';

let s: TestServer;
before(async () => {
  s = await startTestServer({ timeouts: { headersSeconds: 1, requestSeconds: 2, keepAliveSeconds: 1 } });
});
after(() => s.close());

/** Opens a connection, writes `chunks` (not finishing the request), resolves when the server closes it. */
function closedByServer(chunks: string[], deadlineMs = 30_000): Promise<{ ms: number; received: string }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(s.server.port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after ${deadlineMs} ms: ${JSON.stringify(chunks)}`));
    }, deadlineMs);
    socket.on('data', (d) => (received += d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ ms: Date.now() - started, received });
    });
    socket.on('connect', () => {
      for (const c of chunks) socket.write(c);
    });
  });
}

describe('HTTP timeouts', () => {
  it('closes requests whose headers never finish (100 at once)', async () => {
    const all = await Promise.all(
      Array.from({ length: 100 }, (_, i) => closedByServer([`POST /v4/room_engine_http_srv/create_room?n=${i} HTTP/1.1\r\nHost: x\r\nX-Slow: `])),
    );
    assert.equal(all.length, 100);
    for (const r of all) assert.ok(r.received === '' || /^HTTP\/1\.1 408/.test(r.received), r.received);
  });

  it('closes a connection that never sends a byte', async () => {
    await closedByServer([]);
  });

  it('closes a request whose body never finishes', async () => {
    const r = await closedByServer(['POST /v4/room_engine_http_srv/create_room HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"RoomInfo":']);
    assert.ok(r.received === '' || /^HTTP\/1\.1 408/.test(r.received), r.received);
  });

  it('closes an idle keep-alive connection after its answer', async () => {
    const r = await closedByServer(['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n']);
    assert.match(r.received, /^HTTP\/1\.1 200/);
  });

  it('closes a WebSocket handshake that never finishes', async () => {
    await closedByServer(['GET /realtime?sdkappid=1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n']);
  });
});
