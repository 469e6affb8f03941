// The callback sender's HTTP client: what a receiver sees, which answers count as accepted, and
// how it copes with receivers that close kept-alive connections, answer late, too much or oddly.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Socket } from 'node:net';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CallbackSender } from '../src/callbacks/sender.js';
import { ROOT } from './support/cli.js';
import { until } from './support/receiver.js';

const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of closers) await c();
});

/** A self-signed certificate for 127.0.0.1, for this test only. */
const TLS_DIR = fileURLToPath(new URL('./support/tls/', import.meta.url));

async function listen(server: Server | ReturnType<typeof createNetServer>): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => ((server as Server).closeAllConnections?.(), server.close(r))));
  const a = server.address() as { port: number };
  return `http://127.0.0.1:${a.port}/cb?x=1`;
}

function httpReceiver(handle: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
  let connections = 0;
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => handle(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  server.on('connection', () => connections++);
  return { server, connections: () => connections };
}

/** A receiver speaking raw bytes: `answer` gets each request's bytes and the socket. */
function rawReceiver(answer: (socket: Socket, request: string) => void) {
  return createNetServer((socket) => {
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      const len = Number(/content-length: (\d+)/i.exec(buf)?.[1] ?? 0);
      if (end >= 0 && buf.length >= end + 4 + len) {
        const request = buf.slice(0, end + 4 + len);
        buf = buf.slice(end + 4 + len);
        answer(socket, request);
      }
    });
    socket.on('error', () => {});
  });
}

const OK = '{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}';

describe('callback sender', () => {
  const sender = new CallbackSender(300);
  after(() => sender.close());

  it('POSTs the body as JSON with the query kept, and reuses one kept-alive connection', async () => {
    const seen: { method?: string; url?: string; type?: string; body: string }[] = [];
    const r = httpReceiver((req, body, res) => {
      seen.push({ method: req.method, url: req.url, type: req.headers['content-type'], body });
      res.writeHead(200, { 'content-type': 'application/json' }).end(OK);
    });
    const url = await listen(r.server);
    const body = JSON.stringify({ CallbackCommand: 'Room.CallbackAfterCreateRoom', Name: 'café ☕' });
    for (let i = 0; i < 5; i++) assert.deepEqual(await sender.send(url, body), { ok: true });
    assert.equal(seen.length, 5);
    assert.deepEqual(seen[0], { method: 'POST', url: '/cb?x=1', type: 'application/json; charset=utf-8', body });
    assert.equal(r.connections(), 1);
  });

  it('speaks TLS to https receivers and checks their certificate', async () => {
    let bodies = 0;
    const server = createHttpsServer({ key: readFileSync(`${TLS_DIR}receiver-key.pem`), cert: readFileSync(`${TLS_DIR}receiver-cert.pem`) }, (req, res) => {
      req.resume();
      req.on('end', () => (bodies++, res.writeHead(200, { 'content-type': 'application/json' }).end(OK)));
    });
    const url = (await listen(server as unknown as Server)).replace('http:', 'https:');
    // Not signed by a trusted authority: refused before anything is sent.
    const refused = await sender.send(url, '{}');
    assert.equal(refused.ok, false);
    assert.match((refused as { error: string }).error, /self.signed|certificate/i);
    assert.equal(bodies, 0);
    // Trusted the way an operator would (NODE_EXTRA_CA_CERTS): delivered.
    // (A timer holds the process up: the sender's sockets do not.)
    const script = `const { CallbackSender } = await import('./src/callbacks/sender.ts');
      const s = new CallbackSender(5000);
      const up = setInterval(() => {}, 1000);
      console.log(JSON.stringify(await s.send(${JSON.stringify(url)}, '{}')));
      s.close();
      clearInterval(up);`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env: { ...process.env, NODE_EXTRA_CA_CERTS: `${TLS_DIR}receiver-cert.pem` } }, (err, stdout, stderr) =>
        err ? reject(new Error(stderr || String(err))) : resolve(stdout),
      ),
    );
    assert.deepEqual(JSON.parse(out), { ok: true });
    assert.equal(bodies, 1);
  });

  it('accepts only HTTP 200 with ErrorCode 0', async () => {
    const answers = [
      [500, OK, 'HTTP 500'],
      [200, '{"ErrorCode":1}', 'ErrorCode 1'],
      [200, 'not json', 'answer is not JSON'],
      [200, '{}', 'ErrorCode null'],
      [200, '{"ErrorCode":"0"}', null],
    ] as const;
    let i = 0;
    const r = httpReceiver((_req, _body, res) => {
      const [status, text] = answers[i++];
      res.writeHead(status, { 'content-length': Buffer.byteLength(text) }).end(text);
    });
    const url = await listen(r.server);
    for (const [, , error] of answers) assert.deepEqual(await sender.send(url, '{}'), error === null ? { ok: true } : { ok: false, error });
  });

  it('refuses an answer over 64 KiB, chunked or not', async () => {
    const big = JSON.stringify({ ErrorCode: 0, Pad: 'x'.repeat(70_000) });
    let chunked = false;
    const r = httpReceiver((_req, _body, res) => {
      if (chunked) res.writeHead(200).end(big);
      else res.writeHead(200, { 'content-length': big.length }).end(big);
      chunked = !chunked;
    });
    const url = await listen(r.server);
    assert.deepEqual(await sender.send(url, '{}'), { ok: false, error: 'answer too large' });
    assert.deepEqual(await sender.send(url, '{}'), { ok: false, error: 'answer too large' });
  });

  it('gives up on a receiver that does not answer in time, and on one that is not there', async () => {
    const r = httpReceiver(() => {});
    const url = await listen(r.server);
    assert.deepEqual(await sender.send(url, '{}'), { ok: false, error: 'no answer within 300 ms' });
    const dead = rawReceiver(() => {});
    const deadUrl = await listen(dead);
    await new Promise((res) => dead.close(res));
    const res = await sender.send(deadUrl, '{}');
    assert.equal(res.ok, false);
  });

  it('gives up on a kept-alive connection whose next answer does not come in time', async () => {
    let n = 0;
    const r = httpReceiver((_req, _body, res) => {
      if (n++ % 2 === 0) res.writeHead(200).end(OK);
    });
    const url = await listen(r.server);
    assert.deepEqual(await sender.send(url, '{}'), { ok: true });
    await new Promise((res) => setTimeout(res, 400)); // past the first exchange's time limit
    assert.deepEqual(await sender.send(url, '{}'), { ok: false, error: 'no answer within 300 ms' });
    assert.deepEqual(await sender.send(url, '{}'), { ok: true });
    assert.equal(r.connections(), 2);
  });

  it('cuts off an answer trickling in a byte at a time, each well within the time limit: the whole answer must come within it', async () => {
    // One byte every 100 ms of a ~90-byte answer: 9 s in all, with timeoutMs 300.
    const answer = `HTTP/1.1 200 OK\r\ncontent-length: ${OK.length}\r\n\r\n${OK}`;
    let closedAfter = -1;
    const raw = rawReceiver((socket) => {
      const t0 = Date.now();
      let i = 0;
      const drip = setInterval(() => {
        if (socket.destroyed || i === answer.length) return clearInterval(drip);
        socket.write(answer[i++]);
      }, 100);
      socket.on('close', () => {
        clearInterval(drip);
        closedAfter = Date.now() - t0;
      });
    });
    const url = await listen(raw);
    const t0 = Date.now();
    const r = await sender.send(url, '{}');
    const took = Date.now() - t0;
    assert.deepEqual(r, { ok: false, error: 'no answer within 300 ms' }, `after ${took} ms`);
    assert.ok(took >= 290 && took < 1000, `cut off at the time limit, not later: ${took} ms`);
    await until(() => closedAfter >= 0, 'the connection to close');
    assert.ok(closedAfter < 1000, `the connection closed after ${closedAfter} ms`);
  });

  it('opens a new connection when the receiver closed the idle one', async () => {
    let connections = 0;
    const raw = rawReceiver((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${OK.length}\r\n\r\n${OK}`);
      setTimeout(() => socket.destroy(), 20);
    });
    raw.on('connection', () => connections++);
    const url = await listen(raw);
    assert.deepEqual(await sender.send(url, '{}'), { ok: true });
    await new Promise((res) => setTimeout(res, 100));
    assert.deepEqual(await sender.send(url, '{}'), { ok: true });
    assert.equal(connections, 2);
  });

  it('reads answers split in pieces, after 100 Continue, and bodies that end with the connection', async () => {
    let n = 0;
    const raw = rawReceiver((socket) => {
      n++;
      if (n === 1) {
        const text = `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"Err\r\n${(OK.length - 5).toString(16)}\r\n${OK.slice(5)}\r\n0\r\n\r\n`;
        let at = 0;
        const step = () => {
          socket.write(text.slice(at, at + 7));
          at += 7;
          if (at < text.length) setTimeout(step, 1);
        };
        step();
      } else {
        socket.end(`HTTP/1.0 200 OK\r\n\r\n${OK}`);
      }
    });
    const url = await listen(raw);
    assert.deepEqual(await sender.send(url, '{}'), { ok: true });
    assert.deepEqual(await sender.send(url, '{}'), { ok: true });
    assert.deepEqual(await sender.send(url, '{}'), { ok: true });
  });

  it('keeps no trace of connections that never connected, or that timed out, however many fail', async () => {
    const own = new CallbackSender(300);
    try {
      // A port nobody listens on: every attempt is refused.
      const closed = createNetServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const port = (closed.address() as { port: number }).port;
      await new Promise((r) => closed.close(r));
      for (let i = 0; i < 50; i++) assert.equal((await own.send(`http://127.0.0.1:${port}/cb`, '{}')).ok, false);
      assert.equal(own.openConnections, 0, 'refused connections are not kept');
      // A receiver that accepts and never answers: each attempt times out and its connection goes.
      const silent = createNetServer((sock) => sock.on('error', () => {}));
      const url = await listen(silent);
      for (let i = 0; i < 3; i++) assert.equal((await own.send(url, '{}')).ok, false);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(own.openConnections, 0, 'timed-out connections are not kept');
    } finally {
      await own.close();
    }
  });
});
