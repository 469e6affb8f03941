// Requests Node's HTTP parser refuses before any route sees them (headers over 16 KiB, an invalid
// header character, a bad chunked body) answer in the envelope of the surface their request line
// names, and the server keeps serving. No answer repeats the URL: it may carry a UserSig or a sign.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestServer, type TestServer } from './support/harness.js';
import { rawRequest, type RawAnswer } from './support/raw-http.js';

const SIG = 'eJwtzE0LgjAAxvGvMnY2m5vbNOgWRBQdKrrL0plYbuIkcFO-SECRET';
const BIG = 'x'.repeat(20 * 1024);
const JSON_TYPE = 'application/json; charset=utf-8';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(() => s.close());

/** A request whose headers are over Node's 16 KiB (one header of 20 KiB). */
const bigHeader = (method: string, target: string) => `${method} ${target} HTTP/1.1\r\nHost: localhost\r\nX-Big: ${BIG}\r\n\r\n`;
/** A request with a control character in a header value. */
const badHeader = (method: string, target: string) => `${method} ${target} HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\x01b\r\n\r\n`;

function header(r: RawAnswer, name: string): string | undefined {
  const line = r.headers.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name}:`));
  return line?.slice(name.length + 1).trim();
}

/** The status line, the content type and `connection: close`; the body parsed. */
function check(r: RawAnswer, statusLine: string): any {
  assert.equal(r.headers.split('\r\n')[0], statusLine, r.headers);
  assert.equal(header(r, 'content-type'), JSON_TYPE, r.headers);
  assert.equal(header(r, 'connection'), 'close', r.headers);
  assert.equal(Number(header(r, 'content-length')), Buffer.byteLength(r.body), r.headers);
  assert.ok(!r.body.includes('SECRET'), r.body);
  return JSON.parse(r.body);
}

/** A normal request on a new connection still succeeds. */
async function stillServes(): Promise<void> {
  const res = await fetch(`${s.url}/healthz`);
  assert.equal(res.status, 200);
  await res.arrayBuffer();
}

function assertTencent(body: any): void {
  assert.equal(body.ActionStatus, 'FAIL');
  assert.equal(body.ErrorCode, 60002);
  assert.equal(typeof body.ErrorInfo, 'string');
  assert.ok(body.ErrorInfo.length > 0);
  assert.match(body.RequestId, /^Id-[0-9a-f]+-O-Seq-\d+$/);
  assert.deepEqual(Object.keys(body).sort(), ['ActionStatus', 'ErrorCode', 'ErrorInfo', 'RequestId']);
}

const TENCENT_TARGET = `/v4/room_engine_http_srv/create_room?sdkappid=1400000001&identifier=administrator&usersig=${SIG}&random=1`;
const POLYV_TARGET = '/live/v3/channel/chat/kick?appId=polyvapp1&timestamp=1&sign=0123456789ABCDEF0123456789SECRET';

describe('headers over 16 KiB', () => {
  it('a Tencent path: HTTP 200, 60002 in the Tencent envelope', async () => {
    assertTencent(check(await rawRequest(s.server.port, bigHeader('POST', TENCENT_TARGET)), 'HTTP/1.1 200 OK'));
    assertTencent(check(await rawRequest(s.server.port, bigHeader('GET', '/V4')), 'HTTP/1.1 200 OK'));
    await stillServes();
  });

  it('a native API path: 431 headers_too_large in the API error shape', async () => {
    const body = check(await rawRequest(s.server.port, bigHeader('GET', '/api/v1/rooms')), 'HTTP/1.1 431 Request Header Fields Too Large');
    assert.deepEqual(Object.keys(body), ['error']);
    assert.equal(body.error.code, 'headers_too_large');
    assert.match(body.error.message, /16 KiB/);
    await stillServes();
  });

  it('a query string of 20 KiB under /api/v1 and /console: the same', async () => {
    for (const target of [`/api/v1/rooms?search=${BIG}`, `/console/api/rooms?x=${BIG}`]) {
      const r = await rawRequest(s.server.port, `GET ${target} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      assert.equal(check(r, 'HTTP/1.1 431 Request Header Fields Too Large').error.code, 'headers_too_large');
    }
    await stillServes();
  });

  it('a Polyv path: 400 param validate error in the Polyv envelope', async () => {
    for (const target of [POLYV_TARGET, '/LIVE/v9/nothing']) {
      const body = check(await rawRequest(s.server.port, bigHeader('POST', target)), 'HTTP/1.1 400 Bad Request');
      assert.deepEqual(body, { code: 400, status: 'error', message: 'param validate error', data: '' });
    }
    await stillServes();
  });

  it('an unknown path (and /healthz, /metrics, /realtime): a plain JSON 431', async () => {
    for (const target of ['/nothing/here', '/healthz', '/metrics', '/realtime?sdkappid=1', '/v4x/a']) {
      const body = check(await rawRequest(s.server.port, bigHeader('GET', target)), 'HTTP/1.1 431 Request Header Fields Too Large');
      assert.deepEqual(body, { error: 'Request Header Fields Too Large', message: 'Exceeded maximum allowed HTTP header size', statusCode: 431 });
    }
    await stillServes();
  });

  it('headers that reach the server apart from their request line: a plain JSON 431', async () => {
    // Node hands over only the bytes of the read that overflowed: the request line, read before,
    // is not among them, so the surface is unknown.
    const r = await new Promise<RawAnswer>((resolve, reject) => {
      const socket = net.connect(s.server.port, '127.0.0.1');
      let out = '';
      socket.on('data', (d) => (out += d));
      socket.on('error', reject);
      socket.on('close', () => {
        const [head, ...rest] = out.split('\r\n\r\n');
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body: rest.join('\r\n\r\n') });
      });
      socket.write(`POST ${TENCENT_TARGET} HTTP/1.1\r\nHost: localhost\r\n`);
      setTimeout(() => socket.write(`X-Big: ${BIG}\r\n\r\n`), 100);
    });
    assert.equal(check(r, 'HTTP/1.1 431 Request Header Fields Too Large').statusCode, 431);
    await stillServes();
  });
});

describe('a request the parser cannot read', () => {
  it('an invalid header character: each surface in its envelope, elsewhere a plain 400', async () => {
    assertTencent(check(await rawRequest(s.server.port, badHeader('POST', TENCENT_TARGET)), 'HTTP/1.1 200 OK'));

    const api = check(await rawRequest(s.server.port, badHeader('GET', '/api/v1/rooms')), 'HTTP/1.1 400 Bad Request');
    assert.equal(api.error.code, 'invalid_request');
    assert.equal(typeof api.error.message, 'string');

    const polyv = check(await rawRequest(s.server.port, badHeader('GET', POLYV_TARGET)), 'HTTP/1.1 400 Bad Request');
    assert.deepEqual(polyv, { code: 400, status: 'error', message: 'param validate error', data: '' });

    const plain = check(await rawRequest(s.server.port, badHeader('GET', '/healthz')), 'HTTP/1.1 400 Bad Request');
    assert.deepEqual(plain, { error: 'Bad Request', message: 'Client Error', statusCode: 400 });
    await stillServes();
  });

  it('a malformed chunked body on a Tencent path: 60002', async () => {
    const r = await rawRequest(s.server.port, `POST ${TENCENT_TARGET} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`);
    assertTencent(check(r, 'HTTP/1.1 200 OK'));
    await stillServes();
  });

  it('a connection that sent a good request first: its answer, then the bad one in its envelope', async () => {
    const good = `GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n`;
    const socket = net.connect(s.server.port, '127.0.0.1');
    let out = '';
    socket.on('data', (d) => (out += d));
    await new Promise((resolve) => socket.on('connect', resolve));
    socket.write(good);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.match(out, /^HTTP\/1\.1 200 OK/);
    const before = out.length;
    socket.write(badHeader('GET', '/api/v1/rooms'));
    await new Promise((resolve) => socket.on('close', resolve));
    const second = out.slice(before);
    const [head, ...rest] = second.split('\r\n\r\n');
    assert.equal(check({ status: 0, headers: head, body: rest.join('\r\n\r\n') }, 'HTTP/1.1 400 Bad Request').error.code, 'invalid_request');
    await stillServes();
  });
});
