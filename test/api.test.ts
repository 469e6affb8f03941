// The native API end to end on a real server: every route's authentication (401/403), isolation
// between apps, request schemas (bad input -> the documented error shape), the OpenAPI document
// (valid, covering every route), and what each route reads and changes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import { genUserSig } from '../src/auth/usersig.js';
import { ROUTES } from '../src/api/routes.js';
import { hashPassword } from '../src/console/password.js';
import { STREAMS_PER_SESSION } from '../src/console/routes.js';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { APP, OTHER_APP, adminSig, asAdmin, enter, startTestServer, type TestServer } from './support/harness.js';

let s: TestServer;
const AUTH = { authorization: `Bearer ${adminSig()}` };

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = AUTH): Promise<{ status: number; body: any }> {
  const res = await fetch(`${s.url}/api/v1${path}`, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const ok = async (method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
  const r = await call(method, path, body, headers);
  assert.equal(r.status, 200, `${method} ${path}: ${JSON.stringify(r.body)}`);
  return r.body;
};

/** A console sign-in from `forwarded` (X-Forwarded-For, for a server that trusts it). */
async function consoleSignIn(t: TestServer, forwarded: string, body: object): Promise<{ status: number; body: any }> {
  const r = await fetch(`${t.url}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': forwarded }, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}

function assertError(r: { status: number; body: any }, status: number, code: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.error.code, code, JSON.stringify(r.body));
  assert.equal(typeof r.body.error.message, 'string');
}

/** A concrete path for a route template, in room r1. */
const concrete = (url: string) => url.replace(':roomId', 'r1').replace(':index', '0').replace(':id', '1');

before(async () => {
  s = await startTestServer();
  await asAdmin(s, { type: 'createRoom', roomId: 'r1', name: 'Morning show', isSeatEnabled: true, maxSeatCount: 4, takeSeatMode: 'FreeToTake' });
  await asAdmin(s, { type: 'createRoom', roomId: 'r2', name: 'Evening studio', isSeatEnabled: true, maxSeatCount: 2 });
  await asAdmin(s, { type: 'createRoom', roomId: 'r3' });
  await asAdmin(s, { type: 'createRoom', roomId: 'other-room' }, OTHER_APP);
});
after(() => s.close());

describe('native API: authentication', () => {
  it('answers 401 on every route without credentials or with a bad token, 403 for a non-admin', async () => {
    const notAdmin = genUserSig(APP.sdkAppId, APP.secretKey, 'viewer-1', 3600);
    const wrongKey = genUserSig(APP.sdkAppId, 'not-the-key', APP.admins[0], 3600);
    const expired = genUserSig(APP.sdkAppId, APP.secretKey, APP.admins[0], 1, Date.now() - 10_000);
    const unknownApp = genUserSig(1999999999, 'k', 'administrator', 3600);
    for (const r of ROUTES) {
      const path = concrete(r.url);
      const body = r.method === 'POST' ? {} : undefined;
      assertError(await call(r.method, path, body, {}), 401, 'unauthenticated');
      for (const token of ['garbage', wrongKey, expired, unknownApp]) {
        assertError(await call(r.method, path, body, { authorization: `Bearer ${token}` }), 401, 'unauthenticated');
      }
      assertError(await call(r.method, path, body, { authorization: `Basic ${adminSig()}` }), 401, 'unauthenticated');
      assertError(await call(r.method, path, body, { authorization: `Bearer ${notAdmin}` }), 403, 'forbidden');
    }
    assert.deepEqual(await ok('GET', '/me'), { sdkAppId: APP.sdkAppId, identifier: 'administrator', surface: 'api' });
  });

  it('keeps apps apart: another app\'s admin sees none of this app\'s rooms, entries or audit', async () => {
    const other = { authorization: `Bearer ${adminSig(OTHER_APP)}` };
    await ok('POST', '/rooms/r1/ban', { userId: 'isolated-user', reason: 'x' });
    const rooms = await ok('GET', '/rooms', undefined, other);
    assert.deepEqual(rooms.items.map((r: any) => r.roomId), ['other-room']);
    assertError(await call('GET', '/rooms/r1', undefined, other), 404, 'room_not_found');
    assertError(await call('POST', '/rooms/r1/kick', { userId: 'u' }, other), 404, 'room_not_found');
    assert.deepEqual((await ok('GET', '/audit', undefined, other)).items, []);
    assert.deepEqual((await ok('GET', '/bans', undefined, other)).items, []);
    await ok('POST', '/rooms/r1/unban', { userId: 'isolated-user' });
  });
});

describe('native API: schemas and errors', () => {
  it('a NUL character in an id or a text is a bad parameter on every store (PostgreSQL text cannot hold one), in each surface\'s envelope', async () => {
    for (const path of ['/rooms/%00', '/rooms/a%00b/members', '/rooms/%00/requests']) {
      const r = await call('GET', path);
      assertError(r, 400, 'invalid_param');
      assert.equal(r.body.error.field, 'roomId');
    }
    assertError(await call('POST', '/rooms/r1/kick', { userIds: ['x\u0000'] }), 400, 'invalid_param');
    const created = await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'a\u0000', RoomType: 'Live' } });
    assert.equal(created.ErrorCode, 100002);
    assert.match(created.ErrorInfo, /RoomId: may not contain the NUL character/);
  });

  it('refuses bad input with 400 and the documented shape, naming the field', async () => {
    const cases: [string, string, unknown, string, string?][] = [
      ['GET', '/rooms?limit=0', undefined, 'invalid_request', 'limit'],
      ['GET', '/rooms?limit=abc', undefined, 'invalid_request', 'limit'],
      ['GET', '/rooms/r1/members?limit=501', undefined, 'invalid_request', 'limit'],
      ['GET', '/audit?from=-1', undefined, 'invalid_request', 'from'],
      ['GET', '/audit?action=explode', undefined, 'invalid_param', 'action'],
      ['POST', '/rooms/r1/ban', { userId: 'u', durationSec: 'soon' }, 'invalid_request', 'durationSec'],
      ['POST', '/rooms/r1/ban', { userId: 'u', extra: 1 }, 'invalid_request'],
      ['POST', '/rooms/r1/ban', { userId: 'u', ip: '1.2.3.4' }, 'invalid_request', 'userId'],
      ['POST', '/rooms/r1/kick', {}, 'invalid_request', 'userId'],
      ['POST', '/rooms/r1/seats/x/lock', { locked: true }, 'invalid_request', 'index'],
      ['POST', '/rooms/r1/seats/9/lock', { locked: true }, 'invalid_param', 'index'],
      ['POST', '/rooms/r1/messages', { text: '' }, 'invalid_request', 'text'],
      ['POST', '/rooms/r1/ban', { userId: 'u', durationSec: 10 ** 12 }, 'invalid_param', 'duration'],
    ];
    const both = await call('POST', '/rooms/r1/kick', { userId: 'u', userIds: ['v'] });
    assertError(both, 400, 'invalid_request');
    assert.equal(both.body.error.message, 'give exactly one of userId or userIds', 'a kick takes no ip: not offered');
    // A value or null: what it takes, in words.
    const zero = await call('POST', '/rooms/r1/ban', { userId: 'u', durationSec: 0 });
    assertError(zero, 400, 'invalid_request');
    assert.equal(zero.body.error.message, 'body durationSec: expected an integer >= 1 or null');
    for (const [method, path, body, code, field] of cases) {
      const r = await call(method, path, body);
      assertError(r, 400, code);
      if (field) assert.equal(r.body.error.field, field, `${method} ${path}: ${JSON.stringify(r.body)}`);
    }
    // Not JSON, no body, a route that does not exist.
    const res = await fetch(`${s.url}/api/v1/rooms/r1/ban`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: '{' });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.code, 'invalid_request');
    assertError(await call('POST', '/rooms/r1/dismiss', undefined), 400, 'invalid_request');
    const unknown = await call('GET', '/nothing-here/usersig=s3cret');
    assertError(unknown, 404, 'not_found');
    assert.doesNotMatch(unknown.body.error.message, /nothing-here|s3cret/, 'the path is not repeated');
    assertError(await call('POST', '/rooms/r1/kick', { userId: 'nobody' }), 404, 'not_member');
  });

  it('takes only decimal integers in the query and path: no silent truncation of 1.5, 1e3, 0x10', async () => {
    for (const [path, field] of [
      ['/rooms?limit=1.5', 'limit'],
      ['/rooms?limit=1e3', 'limit'],
      ['/rooms?limit=0x10', 'limit'],
      ['/rooms?limit=%2B5', 'limit'],
      ['/rooms?limit=5%20', 'limit'],
      ['/rooms?limit=1&limit=2', 'limit'],
      ['/bans?offset=1e309', 'offset'],
      ['/bans?offset=2.0', 'offset'],
      ['/audit?to=1e400', 'to'],
      ['/audit?from=Infinity', 'from'],
      ['/callbacks/deliveries/failed?after=1e20', 'after'],
      ['/callbacks/deliveries/failed?after=1.5', 'after'],
    ]) {
      const r = await call('GET', path);
      assertError(r, 400, 'invalid_request');
      assert.equal(r.body.error.field, field, `${path}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.error.message, /Expected integer/);
    }
    for (const path of ['/rooms/r1/seats/1.5/lock', '/rooms/r1/seats/1e1/lock', '/callbacks/deliveries/1e3/resend']) {
      assertError(await call('POST', path, {}), 400, 'invalid_request');
    }
    assert.equal((await ok('GET', '/rooms?limit=2')).items.length, 2);
    assert.equal((await ok('GET', '/rooms?limit=002')).items.length, 2, 'leading zeros are still decimal');
  });

  it('answers an unreadable URL, or an unknown console path, in the error shape without repeating it', async () => {
    const secret = 'SECRETSIG';
    for (const path of [`/api/v1/rooms/%ZZ?usersig=${secret}`, `/api/v1/rooms/%E0%A4%A/members?sign=${secret}`, `/console/%ZZ?usersig=${secret}`]) {
      for (const method of ['GET', 'POST']) {
        const res = await fetch(`${s.url}${path}`, { method, headers: AUTH });
        const text = await res.text();
        assert.equal(res.status, 400, `${method} ${path}: ${text}`);
        assert.equal(JSON.parse(text).error.code, 'invalid_request', text);
        assert.doesNotMatch(text, new RegExp(secret));
      }
    }
    const long = await call('GET', `/rooms/${'x'.repeat(200)}/members`);
    assertError(long, 400, 'invalid_request');
    for (const path of ['/console/nope', `/console/nope?usersig=${secret}`, '/console/session/x']) {
      const res = await fetch(`${s.url}${path}`);
      const text = await res.text();
      assert.equal(res.status, 404, text);
      assert.equal(JSON.parse(text).error.code, 'not_found', text);
      assert.doesNotMatch(text, new RegExp(secret));
    }
  });

  it('serves a valid OpenAPI 3 document describing every route', async () => {
    const res = await fetch(`${s.url}/api/v1/openapi.json`);
    assert.equal(res.status, 200);
    const doc = await res.json();
    assert.match(doc.openapi, /^3\./);
    await SwaggerParser.validate(structuredClone(doc));
    for (const r of ROUTES) {
      const path = `/api/v1${r.url.replace(/:(\w+)/g, '{$1}')}`;
      const op = doc.paths[path]?.[r.method.toLowerCase()];
      assert.ok(op, `${r.method} ${path} is documented`);
      assert.ok(op.summary);
      assert.ok(op.responses['200'] && (op.responses['4XX'] ?? op.responses['4xx']));
    }
    assert.ok(doc.components.schemas.Error);
  });
});

describe('native API: reads and actions', () => {
  it('lists rooms by page and search, with seat counts', async () => {
    const p1 = await ok('GET', '/rooms?limit=2');
    assert.deepEqual(p1.items.map((r: any) => r.roomId), ['r1', 'r2']);
    assert.equal(p1.next, 'r2');
    const p2 = await ok('GET', `/rooms?limit=2&after=${p1.next}`);
    assert.deepEqual(p2.items.map((r: any) => r.roomId), ['r3']);
    assert.equal(p2.next, '');
    assert.deepEqual((await ok('GET', '/rooms?search=STUDIO')).items.map((r: any) => r.roomId), ['r2']);
    assert.equal(p1.items[0].seatCount, 4);
    assert.equal(p1.items[0].password, undefined);
  });

  it('shows a room with seats, members (paged), requests, and runs each moderation action', async () => {
    for (const u of ['alice', 'bob', 'carol', 'dave']) await enter(s, 'r1', u, { clientIp: u === 'dave' ? '10.9.9.9' : '10.0.0.1' });
    await s.server.engine.execute(APP.sdkAppId, { kind: 'user', userId: 'alice' }, { type: 'takeSeat', roomId: 'r1', index: 1 });
    const detail = await ok('GET', '/rooms/r1');
    assert.equal(detail.room.roomId, 'r1');
    assert.equal(detail.seats[1].userId, 'alice');
    assert.deepEqual(detail.requests, []);
    const m1 = await ok('GET', '/rooms/r1/members?limit=2');
    assert.deepEqual(m1.items.map((m: any) => m.userId), ['alice', 'bob']);
    assert.equal(m1.items[0].clientIp, '10.0.0.1');
    assert.equal(m1.items[0].connId, undefined);
    const m2 = await ok('GET', `/rooms/r1/members?limit=2&after=${m1.next}`);
    assert.deepEqual(m2.items.map((m: any) => m.userId), ['carol', 'dave']);
    assert.deepEqual((await ok('GET', '/rooms/r1/requests')).items, []);

    await ok('POST', '/rooms/r1/kick-off-seat', { userId: 'alice', reason: 'off topic' });
    assert.equal((await ok('GET', '/rooms/r1')).seats[1].userId, null);
    await ok('POST', '/rooms/r1/kick', { userId: 'bob', reason: 'rude' });
    await ok('POST', '/rooms/r1/ban', { userId: 'carol', durationSec: 600, reason: 'spam' });
    await ok('POST', '/rooms/r1/ban', { ip: '10.9.9.9', reason: 'raid' });
    const bans = await ok('GET', '/rooms/r1/bans');
    assert.deepEqual(bans.items.map((e: any) => e.subject).sort(), ['10.9.9.9', 'carol']);
    assert.equal(bans.total, 2);
    const members = (await ok('GET', '/rooms/r1/members')).items.map((m: any) => m.userId);
    assert.deepEqual(members, ['alice'], 'kicked, banned and IP-banned members are gone');
    await ok('POST', '/rooms/r1/unban', { userId: 'carol' });
    await ok('POST', '/rooms/r1/unban', { ip: '10.9.9.9' });
    assert.deepEqual((await ok('GET', '/rooms/r1/bans')).items, []);
    await ok('POST', '/rooms/r1/mute', { userId: 'alice', durationSec: 60, reason: 'flood' });
    assert.deepEqual((await ok('GET', '/rooms/r1/mutes')).items.map((e: any) => e.subject), ['alice']);
    await ok('POST', '/rooms/r1/unmute', { userId: 'alice' });
    assert.deepEqual((await ok('GET', '/rooms/r1/mutes')).items, []);
    assert.equal((await ok('POST', '/rooms/r1/seats/2/lock', { locked: true, reason: 'reserved' })).locked, true);
    assert.equal((await ok('POST', '/rooms/r1/seats/2/lock', { locked: false })).locked, false);
    assert.ok((await ok('POST', '/rooms/r1/messages', { text: 'be nice' })).msgId);
    await ok('POST', '/ban', { userIds: ['spammer-1', 'spammer-2'], reason: 'bots' });
    assert.equal((await ok('GET', '/bans')).total, 2);
    await ok('POST', '/unban', { userIds: ['spammer-1', 'spammer-2'] });
    await ok('POST', '/mute', { ip: '10.7.7.7' });
    assert.deepEqual((await ok('GET', '/mutes')).items.map((e: any) => e.subject), ['10.7.7.7']);
    await ok('POST', '/unmute', { ip: '10.7.7.7' });
    await ok('POST', '/rooms/r3/dismiss', { reason: 'test over' });
    assertError(await call('GET', '/rooms/r3'), 404, 'room_not_found');

    const audit = (await ok('GET', '/audit?limit=500')).items;
    const mine = audit.filter((e: any) => e.surface === 'api' && e.target !== 'isolated-user');
    assert.deepEqual(
      mine.map((e: any) => `${e.action} ${e.roomId} ${e.target}`).reverse(),
      [
        'kickOffSeat r1 alice',
        'kickOut r1 bob',
        'ban r1 carol',
        'ban r1 10.9.9.9',
        'unban r1 carol',
        'unban r1 10.9.9.9',
        'mute r1 alice',
        'unmute r1 alice',
        'lockSeat r1 2',
        'unlockSeat r1 2',
        'adminMessage r1 r1',
        'ban  spammer-1',
        'ban  spammer-2',
        'unban  spammer-1',
        'unban  spammer-2',
        'mute  10.7.7.7',
        'unmute  10.7.7.7',
        'dismissRoom r3 r3',
      ],
    );
    const ban = mine.find((e: any) => e.target === 'carol' && e.action === 'ban');
    assert.equal(ban.reason, 'spam');
    assert.equal(ban.actor, 'administrator');
    assert.ok(ban.expiresAt > ban.at);
    // Filters and paging
    assert.deepEqual((await ok('GET', '/audit?target=carol')).items.map((e: any) => e.action), ['unban', 'ban']);
    assert.deepEqual((await ok('GET', '/audit?action=kickOut&roomId=r1')).items.map((e: any) => e.target), ['bob']);
    assert.equal((await ok('GET', '/audit?actor=someone-else')).items.length, 0);
    const page1 = await ok('GET', '/audit?limit=3');
    const page2 = await ok('GET', `/audit?limit=3&before=${page1.next}`);
    assert.equal(page2.items.length, 3);
    assert.ok(page2.items[0].id < page1.items[2].id);
    const t = ban.at;
    assert.ok((await ok('GET', `/audit?from=${t}&to=${t + 1}`)).items.some((e: any) => e.target === 'carol'));
    assert.equal((await ok('GET', `/audit?to=${t - 100_000}`)).items.length, 0);
  });
});

describe('native API: member pages', () => {
  it('lists every member once across pages whatever the limit (a page holds at most 100); the last page has no next', async () => {
    const t = await startTestServer();
    try {
      await asAdmin(t, { type: 'createRoom', roomId: 'crowd' });
      const all = Array.from({ length: 150 }, (_, i) => `u${String(i).padStart(3, '0')}`);
      for (const u of all) await enter(t, 'crowd', u);
      const list = async (limit: number) => {
        const pages: { items: string[]; next: string }[] = [];
        let after = '';
        do {
          const r = await fetch(`${t.url}/api/v1/rooms/crowd/members?limit=${limit}${after ? `&after=${after}` : ''}`, { headers: AUTH });
          assert.equal(r.status, 200);
          const body = (await r.json()) as { items: { userId: string }[]; next: string };
          pages.push({ items: body.items.map((m) => m.userId), next: body.next });
          after = body.next;
          assert.ok(pages.length <= 30, 'the listing ends');
        } while (after);
        return pages;
      };
      for (const [limit, sizes] of [[500, [100, 50]], [100, [100, 50]], [7, [...Array(21).fill(7), 3]]] as const) {
        const pages = await list(limit);
        assert.deepEqual(pages.map((p) => p.items.length), sizes, `limit ${limit}`);
        assert.deepEqual(pages.flatMap((p) => p.items), all, `limit ${limit}: every member once, in order`);
        assert.equal(pages.at(-1)!.next, '');
      }
      // Exactly `limit` members left: that page is the last, with no next to an empty one.
      for (const limit of [50, 150]) {
        const last = await list(limit);
        assert.deepEqual(last.map((p) => p.items.length), limit === 50 ? [50, 50, 50] : [100, 50], `limit ${limit}`);
        assert.equal(last.at(-1)!.next, '');
      }
    } finally {
      await t.close();
    }
  });
});

describe('native API: moderation limits as documented', () => {
  const docs = readFileSync(new URL('../docs/native-api.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
  /** The number the docs give in the sentence matching `re` (its one group). */
  const documented = (re: RegExp) => {
    const m = re.exec(docs);
    assert.ok(m, `docs/native-api.md says ${re}`);
    return Number(m[1]);
  };

  it('userIds per call and user id lengths are the ones docs/native-api.md gives, route by route', async () => {
    const perCall = documented(/`userIds` lists 1\.\.(\d+) user ids/);
    const roomKickBan = documented(/except in a room's kick and ban: at most (\d+) there/);
    const kickBanBytes = documented(/A user id is at most (\d+) bytes in UTF-8 in a kick or a ban/);
    const muteBytes = documented(/at most (\d+) bytes in a mute or unmute/);
    const unbanChars = documented(/at most (\d+) characters in an unban/);
    const t = await startTestServer();
    try {
      await asAdmin(t, { type: 'createRoom', roomId: 'lim' });
      const post = async (path: string, body: unknown) => {
        const r = await fetch(`${t.url}/api/v1${path}`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        return { status: r.status, body: await r.json() };
      };
      const ids = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}-${i}`);
      const accepted = async (path: string, body: unknown) => assert.equal((await post(path, body)).status, 200, `${path} ${JSON.stringify(body).slice(0, 80)}`);
      const refused = async (path: string, body: unknown) => {
        const r = await post(path, body);
        assert.equal(r.status, 400, `${path} ${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(r.body)}`);
        assert.match(r.body.error.field ?? '', /^userIds?\b/, JSON.stringify(r.body));
      };
      // A kick names members present.
      const present = async (userIds: string[]) => {
        for (const u of userIds) await enter(t, 'lim', u);
      };
      for (const path of ['/rooms/lim/kick', '/rooms/lim/ban']) {
        if (path.endsWith('/kick')) await present(ids(roomKickBan, 'k'));
        await accepted(path, { userIds: ids(roomKickBan, 'k') });
        await refused(path, { userIds: ids(roomKickBan + 1, 'k') });
      }
      for (const path of ['/ban', '/unban', '/rooms/lim/unban', '/mute', '/unmute', '/rooms/lim/mute', '/rooms/lim/unmute']) {
        await accepted(path, { userIds: ids(perCall, 'p') });
        await refused(path, { userIds: ids(perCall + 1, 'p') });
      }
      // Bytes, counted in UTF-8: '中' is 3.
      const wide = (bytes: number) => '中'.repeat(Math.floor(bytes / 3)) + 'x'.repeat(bytes % 3);
      for (const path of ['/rooms/lim/kick', '/rooms/lim/ban', '/ban']) {
        if (path.endsWith('/kick')) await present([wide(kickBanBytes)]);
        await accepted(path, { userId: wide(kickBanBytes) });
        await refused(path, { userId: wide(kickBanBytes + 1) });
      }
      for (const path of ['/rooms/lim/mute', '/mute', '/rooms/lim/unmute']) {
        await accepted(path, { userId: wide(muteBytes) });
        await refused(path, { userId: wide(muteBytes + 1) });
      }
      for (const path of ['/rooms/lim/unban', '/unban']) {
        await accepted(path, { userId: '中'.repeat(unbanChars) });
        await refused(path, { userId: '中'.repeat(unbanChars + 1) });
      }
    } finally {
      await t.close();
    }
  });

  it('a reason is at most the documented bytes in UTF-8 on every route that takes one, a mute\'s too; one over is stored nowhere', async () => {
    const max = documented(/A `reason` is at most (\d+) bytes in UTF-8/);
    const t = await startTestServer();
    try {
      await asAdmin(t, { type: 'createRoom', roomId: 'why', isSeatEnabled: true, maxSeatCount: 4 });
      await enter(t, 'why', 'sitter');
      await t.server.engine.execute(APP.sdkAppId, { kind: 'user', userId: 'sitter' }, { type: 'takeSeat', roomId: 'why', index: 0 });
      const post = async (path: string, body: unknown) => {
        const r = await fetch(`${t.url}/api/v1${path}`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        return { status: r.status, body: await r.json() };
      };
      const get = async (path: string) => (await (await fetch(`${t.url}/api/v1${path}`, { headers: AUTH })).json()) as any;
      // '中' is 3 bytes: within the schema's 1000 characters, over the bytes.
      const over = '中'.repeat(Math.floor(max / 3)) + 'xx';
      const exact = '中'.repeat(Math.floor(max / 3)) + 'x'.repeat(max % 3);
      const routes: [string, object][] = [
        ['/rooms/why/mute', { userId: 'm1' }],
        ['/mute', { userId: 'm2' }],
        ['/rooms/why/mute', { ip: '10.1.2.3' }],
        ['/rooms/why/ban', { userId: 'b1' }],
        ['/ban', { userId: 'b2' }],
        ['/rooms/why/kick', { userId: 'sitter' }],
        ['/rooms/why/kick-off-seat', { userId: 'sitter' }],
        ['/rooms/why/seats/1/lock', { locked: true }],
        ['/rooms/why/dismiss', {}],
      ];
      for (const [path, body] of routes) {
        const r = await post(path, { ...body, reason: over });
        assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error.code, 'invalid_param', `${path}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error.field, 'reason', path);
      }
      assert.deepEqual((await get('/rooms/why/mutes')).items, [], 'no mute was stored');
      assert.deepEqual((await get('/mutes')).items, []);
      assert.equal((await get('/rooms/why/bans')).total, 0);
      // Exactly the limit is taken, and kept whole.
      for (const [path, body] of routes.slice(0, 5)) assert.equal((await post(path, { ...body, reason: exact })).status, 200, path);
      const mutes = (await get('/rooms/why/mutes')).items;
      assert.equal(mutes.length, 2);
      for (const m of mutes) assert.equal(m.reason, exact);
    } finally {
      await t.close();
    }
  });
});

// Last: the audit log and lists above are asserted whole.
describe('native API: isolation of every room route', () => {
  it("refuses every room route on another app's room, and shows none of its entries or audit rows", async () => {
    const other = { authorization: `Bearer ${adminSig(OTHER_APP)}` };
    await asAdmin(s, { type: 'createRoom', roomId: 'iso-room', isSeatEnabled: true, maxSeatCount: 2 });
    await enter(s, 'iso-room', 'iso-member');
    await ok('POST', '/rooms/iso-room/mute', { userId: 'iso-member', reason: 'iso' });
    await ok('POST', '/ban', { ip: '10.9.9.9', reason: 'iso' });
    for (const r of ROUTES.filter((x) => x.url.includes(':roomId'))) {
      const path = r.url.replace(':roomId', 'iso-room').replace(':index', '0');
      const body = r.method === 'POST' ? (r.url.endsWith('/lock') ? { locked: true } : r.url.endsWith('/messages') ? { text: 'x' } : r.url.endsWith('/dismiss') ? {} : { userId: 'iso-member' }) : undefined;
      assertError(await call(r.method, path, body, other), 404, 'room_not_found');
    }
    for (const path of ['/audit?roomId=iso-room', '/audit?target=iso-member', '/audit?actor=administrator', '/bans', '/mutes']) {
      assert.deepEqual((await ok('GET', path, undefined, other)).items, [], path);
    }
    // Lifting the other app's entries by their subject lifts nothing of this app's.
    await ok('POST', '/unban', { ip: '10.9.9.9' }, other);
    await ok('POST', '/unmute', { userId: 'iso-member' }, other);
    assert.equal((await ok('GET', '/bans')).items.filter((e: any) => e.subject === '10.9.9.9').length, 1);
    assert.equal((await ok('GET', '/rooms/iso-room/mutes')).items.length, 1);
    assert.equal((await ok('GET', '/rooms/iso-room/members')).items.length, 1, 'still a member');
    await ok('POST', '/unban', { ip: '10.9.9.9' });
    await ok('POST', '/rooms/iso-room/unmute', { userId: 'iso-member' });
    await asAdmin(s, { type: 'destroyRoom', roomId: 'iso-room', reason: '' });
  });
});

describe('console endpoints: bad input', () => {
  it('answers in the API error shape with the documented status: too large, not JSON, no session, garbled cookies', async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${s.url}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }).then(async (r) => ({ status: r.status, body: await r.json() }));
    assertError(await post(JSON.stringify({ userSig: 'x'.repeat(2 * 1024 * 1024) })), 413, 'body_too_large');
    assertError(await post('{"userSig":'), 400, 'invalid_request');
    assertError(await post('[]'), 400, 'invalid_request');
    assertError(await post('{}', { origin: 'https://elsewhere.example' }), 403, 'csrf_refused');
    for (const cookie of ['', 'rostrum_console=', 'rostrum_console=%ZZ', `rostrum_console=${'x'.repeat(4000)}`, 'rostrum_console=a; rostrum_console=b', 'other=1']) {
      const r = await fetch(`${s.url}/console/session`, { headers: { cookie } });
      assertError({ status: r.status, body: await r.json() }, 401, 'unauthenticated');
      const api = await fetch(`${s.url}/api/v1/me`, { headers: { cookie } });
      assertError({ status: api.status, body: await api.json() }, 401, 'unauthenticated');
    }
  });
});

describe('console event stream: sessions and apps', () => {
  it("ends a session's streams when it signs out, and never sends another app's events", async () => {
    const signIn = async () => {
      const r = await fetch(`${s.url}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userSig: adminSig() }) });
      return { cookie: r.headers.get('set-cookie')!.split(';')[0], csrf: ((await r.json()) as { csrf: string }).csrf };
    };
    await asAdmin(s, { type: 'createRoom', roomId: 'sse-room' });
    const [one, two] = [await signIn(), await signIn()];
    const open = async (cookie: string, roomId: string) => {
      const res = await fetch(`${s.url}/console/events?roomId=${roomId}`, { headers: { cookie } });
      assert.equal(res.headers.get('content-type'), 'text/event-stream');
      const reader = res.body!.getReader();
      const got = { text: '', ended: false };
      void (async () => {
        for (;;) {
          const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
          if (done) return void (got.ended = true);
          got.text += new TextDecoder().decode(value);
        }
      })();
      return { got, cancel: () => reader.cancel().catch(() => undefined) };
    };
    const mine = await open(one.cookie, 'sse-room');
    const other = await open(two.cookie, 'other-room');
    const kept = await open(two.cookie, 'sse-room');
    await asAdmin(s, { type: 'updateRoomInfo', roomId: 'other-room', patch: { name: 'elsewhere' } }, OTHER_APP);
    await asAdmin(s, { type: 'updateRoomInfo', roomId: 'sse-room', patch: { name: 'here' } });
    const until = async (what: string, check: () => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!check()) {
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until('the room event', () => mine.got.text.includes('roomInfoChanged') && kept.got.text.includes('roomInfoChanged'));
    assert.doesNotMatch(other.got.text, /roomInfoChanged/, "another app's room with the same id is not this app's");
    const end = await fetch(`${s.url}/console/session/end`, { method: 'POST', headers: { cookie: one.cookie, 'x-csrf-token': one.csrf } });
    assert.equal(end.status, 200);
    await until('the signed-out stream to end', () => mine.got.ended);
    assert.equal(kept.got.ended, false, "the other session's stream stays open");
    for (const x of [other, kept]) await x.cancel();
  });
});

describe('console event streams: bounded', () => {
  const signIn = async () => {
    const r = await fetch(`${s.url}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userSig: adminSig() }) });
    return r.headers.get('set-cookie')!.split(';')[0];
  };
  /** A stream read by a raw socket that does not read until `drain` says so; `ended` once it closes. */
  const rawStream = async (cookie: string, roomId: string) => {
    const socket = connect(Number(new URL(s.url).port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write(`GET /console/events?roomId=${roomId} HTTP/1.1\r\nhost: 127.0.0.1\r\ncookie: ${cookie}\r\n\r\n`);
    let head = '';
    for (;;) {
      const [chunk] = (await once(socket, 'data')) as [Buffer];
      head += chunk.toString('latin1');
      if (head.includes(': connected')) break;
    }
    socket.pause();
    let received = head.length;
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    return { head, ended, drain: () => socket.on('data', (d: Buffer) => (received += d.length)).resume(), received: () => received, destroy: () => socket.destroy() };
  };

  it('a session holds at most 8 open at once; a closed one makes room', async () => {
    await asAdmin(s, { type: 'createRoom', roomId: 'sse-cap' });
    const cookie = await signIn();
    const open = [];
    for (let i = 0; i < STREAMS_PER_SESSION; i++) open.push(await rawStream(cookie, 'sse-cap'));
    for (const x of open) assert.match(x.head, /^HTTP\/1\.1 200/);
    const ninth = await fetch(`${s.url}/console/events?roomId=sse-cap`, { headers: { cookie } });
    if (ninth.status === 200) await ninth.body!.cancel(); // an open stream would never end its body
    assertError({ status: ninth.status, body: ninth.status === 200 ? null : await ninth.json() }, 429, 'too_many_streams');
    // Another session is not counted with this one.
    const other = await rawStream(await signIn(), 'sse-cap');
    assert.match(other.head, /^HTTP\/1\.1 200/);
    open[0].destroy();
    await open[0].ended;
    const deadline = Date.now() + 5_000;
    for (;;) {
      const again = await rawStream(cookie, 'sse-cap').catch(() => null);
      if (again && /^HTTP\/1\.1 200/.test(again.head)) {
        open.push(again);
        break;
      }
      again?.destroy();
      assert.ok(Date.now() < deadline, 'a closed stream made no room');
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const x of [...open, other]) x.destroy();
  });

  it('a reader that stops reading has its stream ended, not buffered without bound', async () => {
    await asAdmin(s, { type: 'createRoom', roomId: 'sse-slow' });
    const stalled = await rawStream(await signIn(), 'sse-slow');
    // About 10 MiB of events: more than the loopback socket buffers and the server's 1 MiB backlog.
    const text = 'x'.repeat(2000);
    const sent = 5_000;
    for (let i = 0; i < sent; i += 250) {
      await Promise.all(Array.from({ length: 250 }, () => asAdmin(s, { type: 'sendAdminMessage', roomId: 'sse-slow', text, nick: 'ops', avatar: '' })));
    }
    stalled.drain();
    const ended = await Promise.race([stalled.ended.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
    stalled.destroy();
    assert.ok(ended, `the stream stayed open after ${stalled.received()} bytes`);
    assert.ok(stalled.received() < sent * text.length, `the stalled stream got ${stalled.received()} bytes of ${sent * text.length}`);
  });
});

describe('console sessions from a UserSig', () => {
  it('end when the UserSig does, not 8 hours later', async () => {
    const t = await startTestServer();
    try {
      const sig = genUserSig(APP.sdkAppId, APP.secretKey, 'administrator', 2);
      const signIn = await fetch(`${t.url}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userSig: sig }) });
      assert.equal(signIn.status, 200);
      const setCookie = signIn.headers.get('set-cookie') ?? '';
      const maxAge = Number(/Max-Age=(\d+)/.exec(setCookie)?.[1]);
      assert.ok(maxAge >= 1 && maxAge <= 2, `Max-Age ${maxAge}`);
      const cookie = setCookie.split(';')[0];
      assert.equal((await fetch(`${t.url}/console/session`, { headers: { cookie } })).status, 200);
      await new Promise((r) => setTimeout(r, 2100));
      for (const path of ['/console/session', '/api/v1/me']) {
        assert.equal((await fetch(`${t.url}${path}`, { headers: { cookie } })).status, 401, `after the UserSig's expiry: ${path}`);
      }
    } finally {
      await t.close();
    }
  });
});

describe('console sign-in throttling (one node)', () => {
  it('after 5 failures, refuses the account and the IP with 429 and Retry-After, the right password too', async () => {
    const password = 'the right passphrase';
    const t = await startTestServer({ apps: [{ ...APP, consolePassword: await hashPassword(password) }, OTHER_APP] });
    try {
      const signIn = (body: unknown) =>
        fetch(`${t.url}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({
          status: r.status,
          retryAfter: r.headers.get('retry-after'),
          body: await r.json(),
        }));
      const account = { sdkAppId: APP.sdkAppId, identifier: 'administrator' };
      // Malformed requests are not guesses: they do not count.
      for (let i = 0; i < 6; i++) assertError(await signIn({ ...account, password: 42 }), 400, 'invalid_request');
      for (let i = 0; i < 5; i++) assertError(await signIn({ ...account, password: `guess ${i}` }), 401, 'unauthenticated');
      for (const body of [{ ...account, password }, { userSig: adminSig() }, { sdkAppId: OTHER_APP.sdkAppId, identifier: 'boss', password: 'x' }]) {
        const r = await signIn(body);
        assertError(r, 429, 'sign_in_throttled');
        assert.ok(Number(r.retryAfter) > 0 && Number(r.retryAfter) <= 900, `Retry-After ${r.retryAfter}`);
      }
    } finally {
      await t.close();
    }
  });

  it('a burst of parallel wrong passwords gets at most 5 checked (401), the rest 429', async () => {
    const t = await startTestServer({ apps: [{ ...APP, consolePassword: await hashPassword('the right passphrase') }, OTHER_APP] });
    try {
      const guess = (i: number) =>
        fetch(`${t.url}/console/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ sdkAppId: APP.sdkAppId, identifier: 'administrator', password: `guess ${i}` }),
        }).then((r) => r.status);
      const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => guess(i)));
      assert.equal(statuses.filter((st) => st === 401).length, 5, `statuses: ${statuses.join(',')}`);
      assert.equal(statuses.filter((st) => st === 429).length, 35, `statuses: ${statuses.join(',')}`);
    } finally {
      await t.close();
    }
  });

  it('a right password after wrong ones signs in, clears the account, and is not counted against the IP', async () => {
    const t = await startTestServer({ trustProxy: true, apps: [{ ...APP, consolePassword: await hashPassword('right') }, OTHER_APP] });
    try {
      const account = { sdkAppId: APP.sdkAppId, identifier: APP.admins[0] };
      const signIn = (from: string, password: string) => consoleSignIn(t, from, { ...account, password });
      // Four wrong ones from one address, in parallel with a right one from another.
      const burst = await Promise.all([...Array.from({ length: 4 }, (_, i) => signIn('192.0.2.7', `guess ${i}`)), signIn('192.0.2.8', 'right')]);
      assert.deepEqual(burst.map((r) => r.status), [401, 401, 401, 401, 200]);
      // The right one from the guessing address: it signs in, and clears the account's four.
      assert.equal((await signIn('192.0.2.7', 'right')).status, 200);
      for (let i = 0; i < 4; i++) assertError(await signIn(`192.0.2.${20 + i}`, `again ${i}`), 401, 'unauthenticated');
      // The address holds its four failures, not its success: one more is checked, then 429.
      assertError(await signIn('192.0.2.7', 'guess 5'), 401, 'unauthenticated');
      assertError(await signIn('192.0.2.7', 'right'), 429, 'sign_in_throttled');
    } finally {
      await t.close();
    }
  });

  it('behind a trusted TLS proxy: the Origin is checked against the forwarded host, and the cookie is Secure', async () => {
    const t = await startTestServer({ trustProxy: true, apps: [{ ...APP, consolePassword: await hashPassword('right') }, OTHER_APP] });
    try {
      // As a proxy that does not pass Host on sends it: its own upstream address in Host.
      const signIn = (origin: string) =>
        fetch(`${t.url}/console/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin, 'x-forwarded-host': 'console.example.com', 'x-forwarded-proto': 'https' },
          body: JSON.stringify({ sdkAppId: APP.sdkAppId, identifier: APP.admins[0], password: 'right' }),
        });
      const ok = await signIn('https://console.example.com');
      assert.equal(ok.status, 200, await ok.clone().text());
      assert.match(ok.headers.get('set-cookie') ?? '', /; Secure$/);
      const other = await signIn('https://evil.example');
      assert.equal(other.status, 403);
      assert.equal((await other.json()).error.code, 'csrf_refused');
    } finally {
      await t.close();
    }
  });

  it('forged UserSigs do not lock an admin out; wrong passwords lock the password out, not a real UserSig; an IPv6 /64 is one address', async () => {
    const t = await startTestServer({ trustProxy: true, apps: [{ ...APP, consolePassword: await hashPassword('right') }, OTHER_APP] });
    try {
      const signIn = (from: string, body: object) => consoleSignIn(t, from, body);
      const admin = APP.admins[0];
      // Signed with a wrong key, each from another address: refused, and counted against those addresses only.
      const forged = genUserSig(APP.sdkAppId, 'not-the-key', admin, 3600);
      for (let i = 0; i < 6; i++) assertError(await signIn(`198.51.100.${i}`, { userSig: forged }), 401, 'unauthenticated');
      assert.equal((await signIn('198.51.100.50', { sdkAppId: APP.sdkAppId, identifier: admin, password: 'right' })).status, 200);
      // Wrong passwords from many addresses lock the account's password ...
      for (let i = 0; i < 5; i++) assertError(await signIn(`192.0.2.${i}`, { sdkAppId: APP.sdkAppId, identifier: admin, password: 'guess' }), 401, 'unauthenticated');
      assertError(await signIn('192.0.2.50', { sdkAppId: APP.sdkAppId, identifier: admin, password: 'right' }), 429, 'sign_in_throttled');
      // ... but not the admin's real UserSig.
      assert.equal((await signIn('192.0.2.51', { userSig: adminSig() })).status, 200);
      // Five failures anywhere in one /64 hold the whole /64.
      for (let i = 1; i <= 5; i++) assertError(await signIn(`2001:db8:1:2::${i}`, { userSig: forged }), 401, 'unauthenticated');
      assertError(await signIn('2001:db8:1:2:ffff::9', { userSig: adminSig() }), 429, 'sign_in_throttled');
      assert.equal((await signIn('2001:db8:1:3::1', { userSig: adminSig() })).status, 200, 'the next /64 is another address');
    } finally {
      await t.close();
    }
  });

  it('behind a proxy that forwards the client with its port, a new port is the same address', async () => {
    const t = await startTestServer({ trustProxy: true, apps: [{ ...APP, consolePassword: await hashPassword('right') }, OTHER_APP] });
    try {
      const signIn = (forwarded: string, identifier: string) => consoleSignIn(t, forwarded, { sdkAppId: APP.sdkAppId, identifier, password: 'guess' });
      // Each guess names another account (its own key stays under the limit) from a new port.
      for (let i = 0; i < 5; i++) assert.notEqual((await signIn(`203.0.113.9:${40000 + i}`, `nobody-${i}`)).status, 429);
      assertError(await signIn('203.0.113.9:41000', 'nobody-5'), 429, 'sign_in_throttled');
      assertError(await signIn('[::ffff:203.0.113.9]:41001', 'nobody-6'), 429, 'sign_in_throttled');
      assert.notEqual((await signIn('203.0.113.10:40000', 'nobody-7')).status, 429, 'another address is not held back');
    } finally {
      await t.close();
    }
  });
});
