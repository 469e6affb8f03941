// Request logs never hold credentials: UserSigs and Polyv signs are redacted from logged URLs; a
// real server at debug level writes no secret of any surface, the config's included.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { RequestLogController, requestLineWriter } from '../src/http/request-log.js';
import { genUserSig } from '../src/auth/usersig.js';
import { hashPassword } from '../src/console/password.js';
import { adminSig, startTestServer, APP } from './support/harness.js';
import { polyvTestSign } from './support/polyv.js';
import { cleanUp, newData, serve, stop, waitFor } from './support/cli.js';

after(cleanUp);

/** A log stream that keeps every line written to it. */
function captureLines(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, stream };
}

test('logged request URLs have usersig and sign redacted', async () => {
  const { lines, stream } = captureLines();
  const s = await startTestServer({ logger: { level: 'info', stream } });
  try {
    const sig = adminSig();
    const r = await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'log1', RoomType: 'Conference' } }, { usersig: sig });
    assert.equal(r.ErrorCode, 0);
    // The name percent-encoded: the server reads it as usersig, and the log must not hold it either.
    const encoded = await fetch(`${s.url}/v4/room_engine_http_srv/get_room_info?sdkappid=${APP.sdkAppId}&identifier=administrator&user%73ig=${sig}&random=1&contenttype=json`, { method: 'POST', body: '{"RoomId":"log1"}' });
    assert.equal((await encoded.json()).ErrorCode, 0, 'the encoded name authenticated');
    await fetch(`${s.url}/live/v3/channel/chat/count-online-user?appId=${APP.polyv!.appId}&timestamp=${Date.now()}&channelId=log1&sign=ABCDEF0123456789`);
    const log = lines.join('');
    assert.match(log, /usersig=\[redacted\]/);
    assert.match(log, /sign=\[redacted\]/);
    assert.ok(!log.includes(sig.slice(0, 40)), 'the UserSig must not be logged');
    assert.ok(!log.includes('ABCDEF0123456789'), 'the sign must not be logged');
    // One line per request, written when it completes, with its status and time.
    const requests = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request completed');
    assert.equal(requests.length, 3);
    assert.match(log, /user%73ig=\[redacted\]/);
    assert.ok(requests.every((l) => l.method && l.url && l.statusCode > 0 && typeof l.responseTime === 'number'), log);
  } finally {
    await s.close();
  }
});

test('above info, no request lines are written', async () => {
  const { lines, stream } = captureLines();
  const s = await startTestServer({ logger: { level: 'warn', stream } });
  try {
    const r = await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'log2', RoomType: 'Conference' } });
    assert.equal(r.ErrorCode, 0);
    assert.deepEqual(lines, []);
  } finally {
    await s.close();
  }
});

test('the command line logs to stdout: buffered lines go out within a second, and all of them at shutdown', async () => {
  const { c, url } = await serve(newData(), [], { ROSTRUM_LOG_LEVEL: 'info' });
  const completed = () => c.output.stdout.split('\n').filter((l) => l.includes('"request completed"'));
  for (let i = 0; i < 3; i++) assert.equal((await fetch(`${url}/healthz`)).status, 200);
  // Far fewer than a chunk: the timer sends them.
  await waitFor('the first lines on stdout', () => completed().length >= 3, 5_000);
  const before = completed().length;
  await Promise.all(Array.from({ length: 200 }, () => fetch(`${url}/healthz`)));
  await stop(c);
  const lines = completed();
  assert.equal(lines.length, before + 200, 'every request has its line after a shutdown');
  for (const line of lines) assert.equal(JSON.parse(line).statusCode, 200);
});

test('the default logger\'s request line, made by template, is the line pino makes: same fields, same order', () => {
  const pinoLines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => pinoLines.push(l) });
  const templateLines: string[] = [];
  const viaPino = new RequestLogController();
  const viaTemplate = new RequestLogController(requestLineWriter((l) => templateLines.push(l)));
  const sig = adminSig();
  for (const ip of ['127.0.0.1', '::ffff:10.0.0.1', undefined]) {
    const request = { id: 'req-7"q', method: 'POST', url: `/v4/room_engine_http_mic/kick_user_off_seat?sdkappid=1&usersig=${sig}&x="é`, ip, log: logger };
    const reply = { statusCode: 200, elapsedTime: 1.2345678 };
    viaPino.requestCompleted(null, request as never, reply as never);
    viaTemplate.requestCompleted(null, request as never, reply as never);
  }
  assert.equal(templateLines.length, 3);
  templateLines.forEach((line, i) => {
    assert.ok(line.endsWith('}\n'));
    assert.ok(!line.includes(sig.slice(0, 40)), 'the UserSig must not be logged');
    const [a, b] = [JSON.parse(line), JSON.parse(pinoLines[i])];
    assert.ok(Math.abs(a.time - b.time) < 1000);
    delete a.time;
    delete b.time;
    assert.deepEqual(Object.keys(a), Object.keys(b));
    assert.deepEqual(a, b);
  });
});

test('a real server at debug level logs no secret of the native API, the console or the config', async () => {
  const data = newData();
  const secrets = {
    secretKey: 'log-secret-key-1f8e',
    appSecret: 'log-polyv-secret-9c2d',
    token: 'log-callback-token-77ab',
    password: 'log console passphrase 4e1a',
  };
  const app = { sdkAppId: 1400000009, secretKey: secrets.secretKey, admins: ['administrator'] };
  const config = join(data.dataDir, '..', `${data.dataDir.split('/').pop()}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      apps: [{ ...app, polyv: { appId: 'logpolyv', appSecret: secrets.appSecret }, callback: { url: 'http://127.0.0.1:1/cb', token: secrets.token }, consolePassword: await hashPassword(secrets.password) }],
    }),
  );
  const { c, url } = await serve(data, ['--config', config], { ROSTRUM_LOG_LEVEL: 'debug' });
  try {
    const sig = genUserSig(app.sdkAppId, app.secretKey, 'administrator', 3600);
    const wrongSig = genUserSig(app.sdkAppId, 'not-the-key', 'administrator', 3600);
    const bearer = { authorization: `Bearer ${sig}` };
    const json = { 'content-type': 'application/json' };
    // The native API: right, wrong and garbled credentials, a UserSig in the query too.
    assert.equal((await fetch(`${url}/api/v1/me`, { headers: bearer })).status, 200);
    assert.equal((await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${wrongSig}` } })).status, 401);
    assert.equal((await fetch(`${url}/api/v1/me?usersig=${sig}&sign=ABCDEF0123456789`, { headers: { authorization: `Bearer ${sig.slice(0, -12)}` } })).status, 401);
    assert.equal((await fetch(`${url}/api/v1/rooms/%ZZ?usersig=${sig}`, { headers: bearer })).status, 400);
    assert.equal((await fetch(`${url}/api/v1/callbacks/config`, { method: 'POST', headers: { ...bearer, ...json }, body: JSON.stringify({ url: 'http://127.0.0.1:1/cb2' }) })).status, 200);
    // The console: a wrong password, the right one, a UserSig, a change without and with the token.
    const signIn = (body: unknown) => fetch(`${url}/console/session`, { method: 'POST', headers: json, body: JSON.stringify(body) });
    assert.equal((await signIn({ sdkAppId: app.sdkAppId, identifier: 'administrator', password: `${secrets.password}-wrong` })).status, 401);
    assert.equal((await signIn({ userSig: wrongSig })).status, 401);
    const ok = await signIn({ sdkAppId: app.sdkAppId, identifier: 'administrator', password: secrets.password });
    assert.equal(ok.status, 200);
    const cookie = ok.headers.get('set-cookie')!.split(';')[0];
    const { csrf } = await ok.json();
    const viaSig = await signIn({ userSig: sig });
    const cookie2 = viaSig.headers.get('set-cookie')!.split(';')[0];
    assert.equal((await fetch(`${url}/api/v1/rooms/none/kick`, { method: 'POST', headers: { ...json, cookie }, body: '{"userId":"u"}' })).status, 403);
    assert.equal((await fetch(`${url}/api/v1/rooms/none/kick`, { method: 'POST', headers: { ...json, cookie, 'x-csrf-token': csrf }, body: '{"userId":"u"}' })).status, 404);
    assert.equal((await fetch(`${url}/console/session/end`, { method: 'POST', headers: { ...json, cookie, 'x-csrf-token': `${csrf}x` }, body: '{}' })).status, 403);
    // Polyv: a signed request and a wrong sign.
    const pairs: [string, string][] = [['appId', 'logpolyv'], ['timestamp', String(Date.now())], ['channelId', 'none']];
    const sign = polyvTestSign(pairs, secrets.appSecret);
    await fetch(`${url}/live/v3/channel/chat/list-kicked?${new URLSearchParams([...pairs, ['sign', sign]])}`);
    await fetch(`${url}/live/v3/channel/chat/list-kicked?${new URLSearchParams([...pairs, ['sign', 'ABCDEF0123456789']])}`);
    await stop(c);
    const out = c.output.stdout + c.output.stderr;
    assert.match(c.output.stdout, /\/api\/v1\/me\?usersig=\[redacted\]&sign=\[redacted\]/, 'the requests were logged, redacted');
    const never: [string, string][] = [
      ...Object.entries(secrets),
      ['UserSig', sig.slice(0, 40)],
      ['wrong UserSig', wrongSig.slice(0, 40)],
      ['Polyv sign', sign],
      ['wrong sign', 'ABCDEF0123456789'],
      ['session id', cookie.split('=')[1]],
      ['second session id', cookie2.split('=')[1]],
      ['CSRF token', csrf],
    ];
    for (const [what, value] of never) assert.ok(!out.includes(value), `the ${what} must not be logged`);
  } finally {
    c.child.kill('SIGKILL');
  }
});
