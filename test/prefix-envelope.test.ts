// Every path under a dialect's prefix answers in that dialect's envelope — any method, any letter
// case, the bare prefix, malformed percent-escapes — and no log line or answer holds the URL's
// credentials (a UserSig lives for days; a Polyv sign can be replayed within its window).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { startTestServer, type TestServer } from './support/harness.js';
import { rawGet, rawRequest } from './support/raw-http.js';

const SIG = 'eJwtzE0LgjAAxvGvMnY2m5vbNOgWRBQdKrrL0plYbuIkcFO-SECRET';
const SIGN = '0123456789ABCDEF0123456789SECRET';

const lines: string[] = [];
let s: TestServer;

before(async () => {
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  s = await startTestServer({ logger: { level: 'trace', stream } });
});
after(() => s.close());

const TENCENT_PATHS = ['/v4', '/V4', '/v4/', '/V4/room_engine_http_srv/create_room', '/v4/room_engine_http_srv', '/v4/a/b/c/d', '/v4/%zz/b', '/v4/%E0%A4%A', '/v4x/../v4/a/b', '/v4;x', '/V4/ROOM_ENGINE_HTTP_SRV/GET_ROOM_INFO'];
const POLYV_PATHS = ['/live', '/LIVE', '/live/', '/LIVE/v3/channel/chat/kick', '/live/v9/nothing', '/live/%zz', '/Live/v4/chat/%E0%A4%A', '/live;x'];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'MKCOL', 'HEAD'];

describe('paths under /v4 answer in the Tencent envelope', () => {
  it('60009 for any unknown path, method and case', async () => {
    for (const path of TENCENT_PATHS) {
      if (path.startsWith('/v4x')) continue;
      for (const method of METHODS) {
        const r = await rawRequest(s.server.port, rawGet(method, `${path}?sdkappid=1&identifier=a&usersig=${SIG}`, method === 'HEAD' || method === 'GET' ? '' : '{"x":'));
        assert.equal(r.status, 200, `${method} ${path}: ${r.headers}`);
        if (method === 'HEAD') continue;
        const body = JSON.parse(r.body);
        assert.equal(body.ActionStatus, 'FAIL', `${method} ${path}`);
        // A known command with a method other than POST is refused as a bad request instead.
        assert.ok(body.ErrorCode === 60009 || (body.ErrorCode === 60002 && /use POST/.test(body.ErrorInfo)), `${method} ${path}: ${r.body}`);
        assert.ok(!r.body.includes('SECRET'), r.body);
      }
    }
  });
});

describe('paths under /live answer in the Polyv envelope', () => {
  it('404 api not found. for any unknown path, method and case', async () => {
    for (const path of POLYV_PATHS) {
      for (const method of METHODS) {
        const r = await rawRequest(s.server.port, rawGet(method, `${path}?appId=x&timestamp=1&sign=${SIGN}`, method === 'HEAD' || method === 'GET' ? '' : 'a=%zz'));
        assert.equal(r.status, 404, `${method} ${path}: ${r.headers}`);
        if (method === 'HEAD') continue;
        assert.deepEqual(JSON.parse(r.body), { code: 404, status: 'error', message: 'api not found.', data: '' }, `${method} ${path}`);
      }
    }
  });
});

describe('elsewhere', () => {
  it('a plain 404 or 400 that does not repeat the URL', async () => {
    for (const target of [`/nothing?usersig=${SIG}`, `/%zz?sign=${SIGN}`, `/v4x?usersig=${SIG}`]) {
      const r = await rawRequest(s.server.port, rawGet('PROPFIND', target));
      assert.ok(r.status === 404 || r.status === 400, `${target}: ${r.headers}`);
      assert.ok(!r.body.includes('SECRET'), r.body);
    }
  });
});

describe('credentials in the log', () => {
  it('no line written for any of the requests above holds a UserSig or sign', async () => {
    // Runs last in this file: every request above has been logged (trace level: Fastify's own lines too).
    await rawRequest(s.server.port, `GET /v4?usersig=${SIG} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\n`);
    await rawRequest(s.server.port, `GET /v4?usersig=${SIG} HTTP/1.1\r\nbad header line\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 200));
    const log = lines.join('');
    assert.ok(lines.length > 100, `${lines.length} lines`);
    assert.ok(!log.includes('SECRET'), log.split('\n').filter((l) => l.includes('SECRET')).slice(0, 3).join('\n'));
    assert.match(log, /usersig=\[redacted\]/);
    assert.match(log, /sign=\[redacted\]/);
  });
});
