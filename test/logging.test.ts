// Request logs never hold credentials: UserSigs and Polyv signs are redacted from logged URLs.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { RequestLogController, requestLineWriter } from '../src/http/request-log.js';
import { adminSig, startTestServer, APP } from './support/harness.js';
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
    await fetch(`${s.url}/live/v3/channel/chat/count-online-user?appId=${APP.polyv!.appId}&timestamp=${Date.now()}&channelId=log1&sign=ABCDEF0123456789`);
    const log = lines.join('');
    assert.match(log, /usersig=\[redacted\]/);
    assert.match(log, /sign=\[redacted\]/);
    assert.ok(!log.includes(sig.slice(0, 40)), 'the UserSig must not be logged');
    assert.ok(!log.includes('ABCDEF0123456789'), 'the sign must not be logged');
    // One line per request, written when it completes, with its status and time.
    const requests = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request completed');
    assert.equal(requests.length, 2);
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
  // Far fewer than a chunk: the timer sends them (waitReady's own polls may add lines).
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
