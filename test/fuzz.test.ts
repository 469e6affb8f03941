// Property-based fuzzing (fast-check), bounded per run: generated malformed and half-valid requests
// to each dialect, to the native API and the console, and frames to the realtime gateway. Every answer is in its surface's envelope,
// nothing is an internal error or a 5xx (Polyv's documented business refusals aside), and the
// rooms' seat invariants hold afterwards. A failure prints the seed and the shrunk case.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { COMMANDS } from '../src/dialects/tencent/commands.js';
import { ENDPOINTS } from '../src/dialects/polyv/endpoints.js';
import { HISTORY_ENDPOINTS } from '../src/dialects/polyv/history-endpoints.js';
import { OPS } from '../src/realtime/ops.js';
import { ROUTES } from '../src/api/routes.js';
import { API_ERROR, ERROR_BY_KIND } from '../src/api/errors.js';
import { CODE as REALTIME } from '../src/realtime/protocol.js';
import { APP, adminSig, startTestServer, type TestServer } from './support/harness.js';
import { polyvTestSign } from './support/polyv.js';
import { rawRequest } from './support/raw-http.js';
import { RawClient, closeClients, createRoom } from './realtime-support.js';

const RUNS = Number(process.env.ROSTRUM_FUZZ_RUNS ?? 120);
const ROOMS = ['fz-a', 'fz-b', 'fz-c'];
const USERS = ['u1', 'u2', 'u3', 'u4', 'owner', 'administrator', ''];

let s: TestServer;
const clients: RawClient[] = [];

before(async () => {
  s = await startTestServer();
  for (const roomId of ROOMS) await createRoom(s, roomId, { seats: 4 });
  for (const userId of ['u1', 'u2', 'u3']) {
    const c = await RawClient.connect(s, userId, ROOMS[0]);
    await c.ok('enterRoom', { roomId: ROOMS[1] });
    clients.push(c);
  }
});
after(async () => {
  await closeClients();
  await s.close();
});

// ------------------------------------------------------------------ generators

/** Characters an HTTP/1.1 request target may carry (so Node's parser takes the request). */
const targetChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&\'()*+,;=:@/%?'.split(''));
const segment = fc.oneof(
  fc.string({ unit: targetChar, maxLength: 12 }),
  fc.constantFrom('%', '%z', '%zz', '%E0%A4%A', '%00', '%2F', '..', '.', ''),
);
const jsonish = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', '{', '{"RoomId":', 'null', '[]', '{}', '\u0000', '{"RoomId":"fz-a"}'),
);
const wireValue = fc.oneof(
  fc.constantFrom(...ROOMS, ...USERS, 'nope', -1, 0, 1, 3, 4, 99, 1e20, true, null, [], {}),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.array(fc.constantFrom(...USERS), { maxLength: 4 }),
);
const method = fc.constantFrom('GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND');

function request(m: string, target: string, body: string, contentType?: string): string {
  const type = contentType ? `Content-Type: ${contentType}\r\n` : '';
  return `${m} ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${type}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

// ------------------------------------------------------------------ invariants

async function assertSeatInvariants(): Promise<void> {
  for (const roomId of ROOMS) {
    await s.server.store.read(APP.sdkAppId, async (r) => {
      const agg = await r.room(roomId);
      if (!agg) return; // dismissed by a generated call: nothing left to hold
      const members = await r.members(roomId, '', 10_000);
      const ids = new Set(members.map((m) => m.userId));
      assert.equal(agg.memberCount, members.length, `${roomId}: memberCount`);
      assert.deepEqual(agg.seats.map((x) => x.index), [...agg.seats.keys()], `${roomId}: seat indexes 0..n-1`);
      assert.equal(agg.seats.length, agg.room.maxSeatCount, `${roomId}: seat count`);
      const seated = agg.seats.map((x) => x.userId).filter((u): u is string => u !== null);
      assert.equal(new Set(seated).size, seated.length, `${roomId}: one seat per user at most`);
      for (const u of seated) assert.ok(ids.has(u), `${roomId}: ${u} is seated but not a member`);
    });
  }
}

// ------------------------------------------------------------------ properties

describe('fuzz', () => {
  it('Tencent dialect: any request under /v4 gets the envelope, never an internal error', async () => {
    const services = Object.keys(COMMANDS);
    const commands = Object.values(COMMANDS).flatMap((c) => Object.keys(c));
    const sig = adminSig();
    const path = fc.oneof(
      fc.tuple(fc.constantFrom(...services), fc.constantFrom(...commands)).map(([a, b]) => `/v4/${a}/${b}`),
      fc.tuple(fc.constantFrom('v4', 'V4', 'v4'), fc.array(segment, { maxLength: 4 })).map(([v4, xs]) => `/${v4}/${xs.join('/')}`),
    );
    const query = fc.oneof(
      fc.constant(`sdkappid=${APP.sdkAppId}&identifier=administrator&usersig=${sig}&random=1&contenttype=json`),
      fc.constant(`sdkappid=${APP.sdkAppId}&identifier=administrator&usersig=${sig}`),
      fc.array(fc.tuple(fc.constantFrom('sdkappid', 'identifier', 'usersig', 'random', 'contenttype', 'x'), fc.string({ unit: targetChar, maxLength: 12 })), { maxLength: 5 }).map((kv) =>
        kv.map(([k, v]) => `${k}=${v.replace(/[?&#]/g, '')}`).join('&'),
      ),
    );
    const body = fc.oneof(
      jsonish,
      fc.dictionary(
        fc.constantFrom('RoomId', 'Member_Account', 'MemberList_Account', 'SeatIndex', 'ToIndex', 'Duration', 'RoomInfo', 'MemberInfo', 'IsLocked', 'Limit', 'Offset', 'Count', 'x'),
        fc.oneof(wireValue, fc.record({ RoomId: fc.constantFrom(...ROOMS, 'new-room'), MaxSeatCount: wireValue, Member_Account: wireValue }, { requiredKeys: [] })),
        { maxKeys: 5 },
      ).map((o) => JSON.stringify(o)),
    );
    await fc.assert(
      fc.asyncProperty(method, path, query, body, async (m, p, q, b) => {
        const r = await rawRequest(s.server.port, request(m, `${p}?${q}`, b));
        assert.equal(r.status, 200, `${m} ${p}: ${r.headers}`);
        const env = JSON.parse(r.body);
        assert.ok(env.ActionStatus === 'OK' || env.ActionStatus === 'FAIL', r.body);
        assert.equal(typeof env.ErrorCode, 'number');
        assert.equal(typeof env.ErrorInfo, 'string');
        assert.notEqual(env.ErrorCode, 100001, `internal error for ${m} ${p} ${b}: ${env.ErrorInfo}`);
      }),
      { numRuns: RUNS },
    );
    await assertSeatInvariants();
  });

  it('Polyv dialect: any request under /live gets the envelope, never an internal error', async () => {
    const urls = [...ENDPOINTS, ...HISTORY_ENDPOINTS].map((e) => e.url.replace(':channelId', ROOMS[0]));
    const path = fc.oneof(
      fc.constantFrom(...urls),
      fc.array(segment, { maxLength: 4 }).map((xs) => `/live/${xs.join('/')}`),
      fc.constantFrom('/LIVE/v3/channel/chat/kick', '/live', '/Live/'),
    );
    const params = fc.dictionary(
      fc.constantFrom('channelId', 'roomId', 'userId', 'viewerId', 'value', 'type', 'ip', 'content', 'toggle', 'userIds', 'msg', 'pic', 'nickName', 'includeAllOrigins', 'signatureMethod', 'startDay', 'endDay', 'page', 'pageSize', 'ids', 'id', 'cursor', 'size', 'startTime', 'endTime'),
      fc.oneof(fc.constantFrom(...ROOMS, ...USERS, 'Y', 'N', 'ip', 'userId', 'badword', '1.2.3.4', '::1', '10.0.0.0/8', 'SHA256', 'MD5', '2024-01-01', '2024-01-01 10:00:00', '1700000000000', '0', '1001'), fc.string({ maxLength: 12 })),
      { maxKeys: 5 },
    );
    const signing = fc.constantFrom('valid', 'valid', 'wrong', 'none', 'stale');
    await fc.assert(
      fc.asyncProperty(method, path, params, signing, jsonish, fc.boolean(), async (m, p, given, how, json, asForm) => {
        const pairs: [string, string][] = [['appId', APP.polyv!.appId], ['timestamp', String(how === 'stale' ? 1 : Date.now())], ...Object.entries(given)];
        if (how !== 'none') pairs.push(['sign', how === 'wrong' ? 'ABC' : polyvTestSign(pairs, APP.polyv!.appSecret)]);
        const query = new URLSearchParams(pairs).toString();
        const r = await rawRequest(s.server.port, request(m, `${p}?${query}`, asForm ? query : json, asForm ? 'application/x-www-form-urlencoded' : 'application/json'));
        const env = JSON.parse(r.body);
        assert.deepEqual(Object.keys(env).sort(), ['code', 'data', 'message', 'status'], r.body);
        assert.equal(env.code, r.status, 'code is the HTTP status');
        assert.notEqual(env.message, 'api error.', `internal error for ${m} ${p} ${JSON.stringify(given)}`);
        if (r.status >= 500) assert.equal(env.status, 'fail', 'only documented business refusals are 500');
      }),
      { numRuns: RUNS },
    );
    await assertSeatInvariants();
  });

  it('native API and console: any request gets the error shape with a documented code, never a 5xx', async () => {
    const signIn = await fetch(`${s.url}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userSig: adminSig() }) });
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0];
    const { csrf } = await signIn.json();
    const codes = new Set([...Object.values(API_ERROR), ...Object.values(ERROR_BY_KIND)].map((e) => e.code));
    const id = fc.oneof(fc.constantFrom(...ROOMS, 'nope', '0', '-1', '1.5', '1e3', '9'.repeat(25), '%00', '%E2%80%AE', '%zz', 'x'.repeat(101)), fc.string({ unit: targetChar, maxLength: 12 }));
    const path = fc.oneof(
      fc.tuple(fc.constantFrom(...ROUTES.map((r) => r.url)), id, id).map(([u, a, b]) => `/api/v1${u.replace(':roomId', a).replace(/:index|:id/, b)}`),
      fc.tuple(fc.constantFrom('/api/v1', '/console'), fc.array(segment, { maxLength: 3 })).map(([p, xs]) => `${p}/${xs.join('/')}`),
      fc.constantFrom('/console/session', '/console/session/end', '/console/stats', '/console/session?x=1'),
    );
    const queryValue = fc.oneof(fc.constantFrom('0', '1', '-1', '1.5', '1e3', '0x10', '+5', '', '500', '501', '9'.repeat(25), 'r', '%00', '%zz', 'fz-a'), fc.string({ unit: targetChar, maxLength: 10 }));
    const query = fc.array(fc.tuple(fc.constantFrom('limit', 'after', 'offset', 'search', 'roomId', 'from', 'to', 'before', 'action', 'actor', 'target', 'x'), queryValue), { maxLength: 4 }).map((kv) =>
      kv.map(([k, v]) => `${k}=${v.replace(/[?&#]/g, '')}`).join('&'),
    );
    const body = fc.oneof(
      jsonish.map((j) => (typeof j === 'string' ? j : JSON.stringify(j))),
      fc.dictionary(
        fc.constantFrom('userId', 'userIds', 'ip', 'durationSec', 'reason', 'locked', 'text', 'nick', 'url', 'commands', 'ids', 'all', 'userSig', 'sdkAppId', 'identifier', 'password', '__proto__', 'x'),
        fc.oneof(wireValue, fc.constantFrom('::ffff:1.2.3.4', 'fe80::1%eth0', '[::1]', '10.0.0.0/8', '1.2.3.4/0', 'http://127.0.0.1:1/cb', 1.5, -5, 2 ** 53)),
        { maxKeys: 4 },
      ).map((o) => JSON.stringify(o)),
      fc.constant(`${'['.repeat(5000)}${']'.repeat(5000)}`),
    );
    const auth = fc.constantFrom('bearer', 'bearer', 'garbage', 'none', 'cookie', 'cookie+csrf', 'both');
    const contentType = fc.constantFrom(undefined, 'application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16');
    await fc.assert(
      fc.asyncProperty(method, path, query, body, auth, contentType, async (m, p, q, b, a, type) => {
        const headers: string[] = [];
        if (a === 'bearer' || a === 'both') headers.push(`Authorization: Bearer ${adminSig()}`);
        if (a === 'garbage') headers.push('Authorization: Bearer eJw');
        if (a.startsWith('cookie') || a === 'both') headers.push(`Cookie: ${cookie}`);
        if (a === 'cookie+csrf') headers.push(`X-CSRF-Token: ${csrf}`);
        if (type) headers.push(`Content-Type: ${type}`);
        const target = q ? `${p}?${q}` : p;
        const req = `${m} ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${headers.map((h) => `${h}\r\n`).join('')}Content-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`;
        const r = await rawRequest(s.server.port, req);
        // The page itself (HTML, or 503 when it is not built) and its redirect are not the API.
        // (A segment may hold a '?' or '#': what follows it is not the path.)
        if (/^\/console\/?(app\.(js|css)|index\.html)?$/.test(p.replace(/[?#].*$/s, '')) && m === 'GET') return;
        assert.ok(r.status >= 200 && r.status < 500, `${r.status} for ${m} ${target} ${b.slice(0, 100)}: ${r.body.slice(0, 300)}`);
        if (m === 'OPTIONS' && r.status === 204) return;
        const answer = JSON.parse(r.body);
        if (r.status >= 400) {
          assert.ok(codes.has(answer.error?.code), `undocumented answer for ${m} ${target}: ${r.body.slice(0, 300)}`);
          assert.equal(typeof answer.error.message, 'string');
        }
      }),
      { numRuns: RUNS * 2 },
    );
    await assertSeatInvariants();
  });

  it('realtime gateway: any frame gets a reply in the protocol, never an internal error', async () => {
    const ops = Object.keys(OPS);
    const frame = fc.oneof(
      fc.record(
        {
          id: fc.oneof(fc.integer(), fc.string({ maxLength: 70 }), fc.constant(null), fc.constant(1.5)),
          op: fc.oneof(fc.constantFrom(...ops), fc.string({ maxLength: 10 })),
          roomId: fc.constantFrom(...ROOMS, 'nope', '', 7),
          userId: fc.constantFrom(...USERS, 5),
          index: fc.oneof(fc.integer({ min: -2, max: 6 }), fc.constant('1')),
          requestId: fc.string({ maxLength: 8 }),
          text: fc.string({ maxLength: 30 }),
          type: fc.constantFrom('userId', 'ip', 'x'),
          lock: fc.boolean(),
          password: fc.string({ maxLength: 6 }),
        },
        { requiredKeys: ['id', 'op'] },
      ).map((f) => JSON.stringify(f)),
      jsonish.map((j) => (typeof j === 'string' ? j : JSON.stringify(j))),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(0, 1, 2), frame, async (who, text) => {
        const c = clients[who];
        // A fresh id so the reply can be told apart; frames without a usable id get an orphan reply.
        let parsed: any;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        const usable = parsed && typeof parsed === 'object' && !Array.isArray(parsed) && (typeof parsed.id === 'number' ? Number.isFinite(parsed.id) : typeof parsed.id === 'string' && parsed.id.length > 0 && parsed.id.length <= 64);
        if (usable) {
          const id = `fz-${++n}`;
          const reply = await c.send({ ...parsed, id });
          assert.equal(typeof reply.code, 'number');
          assert.notEqual(reply.code, REALTIME.internal, `internal error for ${text}: ${reply.message}`);
        } else {
          const before = c.orphanReplies.length;
          c.ws.send(text);
          const deadline = Date.now() + 20_000;
          while (c.orphanReplies.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
          assert.ok(c.orphanReplies.length > before, `no reply to ${text}`);
          assert.equal(c.orphanReplies[c.orphanReplies.length - 1].code, REALTIME.badFrame);
        }
      }),
      { numRuns: RUNS * 2 },
    );
    for (const c of clients) await c.ok('ping');
    await assertSeatInvariants();
  });
});
