// The native API's callback routes end to end: a real loopback receiver that is down, so the
// deliveries are given up (a one-second give-up age); the given-up list (paged), counts and lag,
// apps kept apart, bad input, re-sending one and all through the API once the receiver is up
// (it gets them), discarding one and all (never sent, never a pending one), the configuration
// read, set and deleted; the console's overview figures; the `rostrum deliveries` commands
// (list, retry, discard). And the summary's lag on the memory spool, directly.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { genUserSig } from '../src/auth/usersig.js';
import { MemorySpool } from '../src/callbacks/spool.js';
import { CallbackService } from '../src/callbacks/service.js';
import { deliverySummary } from '../src/callbacks/summary.js';
import { APP, OTHER_APP, adminSig, asAdmin, startTestServer, type TestServer } from './support/harness.js';
import { startReceiver, until, type Receiver } from './support/receiver.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const AUTH = { authorization: `Bearer ${adminSig()}` };
const OTHER = { authorization: `Bearer ${adminSig(OTHER_APP)}` };

let s: TestServer;
let rx: Receiver;
let otherRx: Receiver;
let spare: Receiver;

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = AUTH): Promise<{ status: number; body: any }> {
  const res = await fetch(`${s.url}/api/v1${path}`, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function ok(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<any> {
  const r = await call(method, path, body, headers);
  assert.equal(r.status, 200, `${method} ${path}: ${JSON.stringify(r.body)}`);
  return r.body;
}

function assertError(r: { status: number; body: any }, status: number, code: string, field?: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.error.code, code, JSON.stringify(r.body));
  assert.equal(typeof r.body.error.message, 'string');
  if (field) assert.equal(r.body.error.field, field, JSON.stringify(r.body));
}

/** Polls until `cond` of the value holds (generous deadline: the machine may be loaded). */
async function eventually<T>(get: () => Promise<T>, cond: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await get();
    if (cond(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function rostrum(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ROSTRUM_')));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args, '--url', s.url, '--token', adminSig()], {
    cwd: ROOT,
    env: clean,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

before(async () => {
  rx = await startReceiver();
  rx.mode = 'down';
  otherRx = await startReceiver();
  spare = await startReceiver();
  s = await startTestServer({
    apps: [{ ...APP, callback: { url: rx.url } }, { ...OTHER_APP, callback: { url: otherRx.url, token: 'other-token' } }],
    callbacks: { backoffBaseMs: 50, backoffMaxMs: 300, giveUpHours: 1 / 3600 },
  });
});
after(async () => {
  await s?.close();
  for (const r of [rx, otherRx, spare]) await r?.close();
});

describe('native API: callback deliveries', () => {
  it('lists given-up deliveries (paged), keeps apps apart, re-sends one and all once the receiver is up', async () => {
    for (const roomId of ['cb-1', 'cb-2', 'cb-3']) await asAdmin(s, { type: 'createRoom', roomId });
    await asAdmin(s, { type: 'createRoom', roomId: 'other-1' }, OTHER_APP);

    const counts = await eventually(() => ok('GET', '/callbacks/deliveries'), (c) => c.failed === 3 && c.pending === 0, 'three given-up deliveries');
    assert.equal(counts.configured, true);
    assert.equal(counts.delivered, 0);
    assert.equal(counts.oldestPendingAt, null);
    assert.equal(counts.lagSeconds, 0, 'nothing waits');
    assert.ok(rx.attempts >= 3 && rx.accepted.length === 0);

    // Paged, oldest first.
    const p1 = await ok('GET', '/callbacks/deliveries/failed?limit=2');
    assert.equal(p1.items.length, 2);
    assert.equal(p1.next, String(p1.items[1].id));
    const p2 = await ok('GET', `/callbacks/deliveries/failed?limit=2&after=${p1.next}`);
    assert.equal(p2.items.length, 1);
    assert.equal(p2.next, '');
    const failed = [...p1.items, ...p2.items];
    assert.deepEqual(failed.map((d: any) => d.body.RoomInfo.RoomId), ['cb-1', 'cb-2', 'cb-3']);
    assert.ok(failed[0].id < failed[1].id && failed[1].id < failed[2].id);
    for (const d of failed) {
      assert.equal(d.command, 'Room.CallbackAfterCreateRoom');
      assert.match(d.lastError, /HTTP 503/);
      assert.ok(d.attempts >= 1);
      assert.ok(d.failedAt >= d.createdAt);
      assert.equal(d.appId, undefined);
    }

    // The other app sees none of them, cannot re-send them, and has its own figures.
    const otherCounts = await eventually(() => ok('GET', '/callbacks/deliveries', undefined, OTHER), (c) => c.delivered === 1, "the other app's delivery");
    assert.deepEqual([otherCounts.pending, otherCounts.failed], [0, 0]);
    assert.deepEqual((await ok('GET', '/callbacks/deliveries/failed', undefined, OTHER)).items, []);
    assertError(await call('POST', `/callbacks/deliveries/${failed[0].id}/resend`, {}, OTHER), 404, 'delivery_not_found', 'id');
    assert.deepEqual(await ok('POST', '/callbacks/deliveries/resend', { ids: failed.map((d: any) => d.id) }, OTHER), { resent: 0 });
    assert.deepEqual(await ok('POST', '/callbacks/deliveries/resend', { all: true }, OTHER), { resent: 0 });
    assert.equal((await ok('GET', '/callbacks/deliveries')).failed, 3, 'still failed');
    const otherConfig = (await ok('GET', '/callbacks/config', undefined, OTHER)).config;
    assert.deepEqual(otherConfig, { url: otherRx.url, commands: null, signed: true, source: 'file' });

    // Credentials: none (401), not an admin (403).
    const viewer = { authorization: `Bearer ${genUserSig(APP.sdkAppId, APP.secretKey, 'viewer-1', 3600)}` };
    for (const [method, path] of [['GET', '/callbacks/deliveries'], ['GET', '/callbacks/deliveries/failed'], ['POST', `/callbacks/deliveries/${failed[0].id}/resend`], ['POST', '/callbacks/deliveries/resend'], ['GET', '/callbacks/config'], ['POST', '/callbacks/config'], ['POST', '/callbacks/config/delete']]) {
      const body = method === 'POST' ? { all: true } : undefined;
      assertError(await call(method, path, body, {}), 401, 'unauthenticated');
      assertError(await call(method, path, body, viewer), 403, 'forbidden');
    }

    // Bad input.
    assertError(await call('GET', '/callbacks/deliveries/failed?limit=0'), 400, 'invalid_request', 'limit');
    assertError(await call('GET', '/callbacks/deliveries/failed?after=x'), 400, 'invalid_request', 'after');
    assertError(await call('POST', '/callbacks/deliveries/abc/resend', {}), 400, 'invalid_request', 'id');
    assertError(await call('POST', '/callbacks/deliveries/resend', {}), 400, 'invalid_request', 'ids');
    assertError(await call('POST', '/callbacks/deliveries/resend', { ids: [1], all: true }), 400, 'invalid_request', 'ids');
    assertError(await call('POST', '/callbacks/deliveries/resend', { ids: [] }), 400, 'invalid_request', 'ids');
    assertError(await call('POST', '/callbacks/deliveries/resend', { all: false }), 400, 'invalid_request', 'all');
    assertError(await call('POST', '/callbacks/deliveries/resend', { ids: [1e300] }), 400, 'invalid_request', 'ids.0');
    assertError(await call('GET', '/callbacks/deliveries/failed?after=99999999999999999999'), 400, 'invalid_request', 'after');
    assertError(await call('POST', '/callbacks/deliveries/999999/resend', {}), 404, 'delivery_not_found', 'id');

    // The console's overview shows the given-up count and the lag.
    const signIn = await fetch(`${s.url}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userSig: adminSig() }) });
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0];
    const stats = await (await fetch(`${s.url}/console/stats`, { headers: { cookie } })).json();
    assert.deepEqual([stats.callbacksFailed, stats.callbackLag], [3, 0]);

    // The receiver comes up: one re-sent, then all the rest; the receiver gets each once.
    rx.mode = 'up';
    assert.deepEqual(await ok('POST', `/callbacks/deliveries/${failed[0].id}/resend`, {}), { resent: 1 });
    await until(() => rx.accepted.length === 1, 'the re-sent delivery');
    assert.equal(rx.accepted[0].body.RoomInfo.RoomId, 'cb-1');
    assert.equal(rx.accepted[0].body.EventId, failed[0].eventId);
    assertError(await call('POST', `/callbacks/deliveries/${failed[0].id}/resend`, {}), 404, 'delivery_not_found', 'id');
    // An id given twice is re-sent once.
    assert.deepEqual(await ok('POST', '/callbacks/deliveries/resend', { ids: [failed[2].id, failed[1].id, failed[2].id] }), { resent: 2 });
    assert.deepEqual(await ok('POST', '/callbacks/deliveries/resend', { all: true }), { resent: 0 });
    await until(() => rx.unique().length === 3, 'all re-sent deliveries');
    assert.deepEqual(rx.unique().map((b) => b.RoomInfo.RoomId).sort(), ['cb-1', 'cb-2', 'cb-3']);
    const after = await eventually(() => ok('GET', '/callbacks/deliveries'), (c) => c.pending === 0 && c.delivered === 3, 'the deliveries recorded');
    assert.equal(after.failed, 0);
    assert.deepEqual((await ok('GET', '/callbacks/deliveries/failed')).items, []);
    assert.equal(rx.accepted.length, 3, 'each once');
  });

  it('the operator CLI lists and re-sends deliveries on the API', async () => {
    rx.mode = 'down';
    await asAdmin(s, { type: 'createRoom', roomId: 'cb-cli' });
    await eventually(() => ok('GET', '/callbacks/deliveries'), (c) => c.failed === 1 && c.pending === 0, 'a given-up delivery');
    const [d] = (await ok('GET', '/callbacks/deliveries/failed')).items;
    let r = await rostrum(['deliveries', 'list']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^pending 0  failed 1  delivered 3  lag 0 s$/);
    assert.match(lines[2], /^ID\s+ROOM\s+SEQ\s+COMMAND\s+FAILED AT\s+ATTEMPTS\s+LAST ERROR$/);
    assert.match(lines[3], new RegExp(`^${d.id}\\s+cb-cli\\s+\\d+\\s+Room\\.CallbackAfterCreateRoom\\s+\\S+Z\\s+\\d+\\s+HTTP 503`));
    r = await rostrum(['deliveries', 'list', '--json']);
    assert.equal(JSON.parse(r.stdout).failedItems[0].id, d.id);
    r = await rostrum(['deliveries', 'retry']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /usage: rostrum deliveries retry/);
    rx.mode = 'up';
    r = await rostrum(['deliveries', 'retry', String(d.id), '999999']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 're-queued 1 delivery\n1 of the IDs are not failed deliveries of this app\n');
    await until(() => rx.unique().some((b) => b.RoomInfo?.RoomId === 'cb-cli'), 'the CLI re-send');
  });

  it('the operator CLI discards deliveries on the API', async () => {
    rx.mode = 'down';
    await asAdmin(s, { type: 'createRoom', roomId: 'cb-cli-gone' });
    await eventually(() => ok('GET', '/callbacks/deliveries'), (c) => c.failed === 1 && c.pending === 0, 'a given-up delivery');
    const [d] = (await ok('GET', '/callbacks/deliveries/failed')).items;
    for (const [args, message] of [
      [[], /usage: rostrum deliveries discard \(--all \| ID\.\.\.\)/],
      [['--all', String(d.id)], /usage: rostrum deliveries discard/],
      [['abc'], /invalid ID: abc/],
    ] as const) {
      const r = await rostrum(['deliveries', 'discard', ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    }
    let r = await rostrum(['deliveries', 'discard', '0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid_request: body ids\.0/);
    assert.equal((await ok('GET', '/callbacks/deliveries')).failed, 1, 'nothing discarded by bad input');
    r = await rostrum(['deliveries', 'discard', String(d.id), String(d.id), '999999']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'discarded 1 delivery\n1 of the IDs are not failed deliveries of this app\n');
    r = await rostrum(['deliveries', 'discard', '--all', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { discarded: 0 });
    assert.equal((await ok('GET', '/callbacks/deliveries')).failed, 0);
  });

  it('discards given-up deliveries of the app only, never a pending one; discarded ones are never sent', async () => {
    rx.mode = 'down';
    otherRx.mode = 'down';
    for (const roomId of ['cb-d1', 'cb-d2', 'cb-d3']) await asAdmin(s, { type: 'createRoom', roomId });
    await asAdmin(s, { type: 'createRoom', roomId: 'other-d1' }, OTHER_APP);
    await eventually(() => ok('GET', '/callbacks/deliveries'), (c) => c.failed === 3 && c.pending === 0, 'three given-up deliveries');
    await eventually(() => ok('GET', '/callbacks/deliveries', undefined, OTHER), (c) => c.failed === 1 && c.pending === 0, "the other app's given-up delivery");
    const mine = (await ok('GET', '/callbacks/deliveries/failed')).items;
    const [theirs] = (await ok('GET', '/callbacks/deliveries/failed', undefined, OTHER)).items;
    assert.deepEqual(mine.map((d: any) => d.roomId), ['cb-d1', 'cb-d2', 'cb-d3']);

    // Apps apart: neither discards the other's, by id or with all.
    assertError(await call('DELETE', `/callbacks/deliveries/failed/${mine[0].id}`, undefined, OTHER), 404, 'delivery_not_found', 'id');
    assert.deepEqual(await ok('POST', '/callbacks/deliveries/discard', { ids: mine.map((d: any) => d.id) }, OTHER), { discarded: 0 });
    assertError(await call('DELETE', `/callbacks/deliveries/failed/${theirs.id}`), 404, 'delivery_not_found', 'id');
    assert.deepEqual(await ok('POST', '/callbacks/deliveries/discard', { ids: [theirs.id] }), { discarded: 0 });
    assert.deepEqual(await ok('POST', '/callbacks/deliveries/discard', { all: true }, OTHER), { discarded: 1 });
    assert.equal((await ok('GET', '/callbacks/deliveries')).failed, 3, 'still failed');
    assert.equal((await ok('GET', '/callbacks/deliveries', undefined, OTHER)).failed, 0);

    // Credentials: none (401), not an admin (403).
    const viewer = { authorization: `Bearer ${genUserSig(APP.sdkAppId, APP.secretKey, 'viewer-1', 3600)}` };
    for (const [method, path, body] of [['DELETE', `/callbacks/deliveries/failed/${mine[0].id}`, undefined], ['POST', '/callbacks/deliveries/discard', { all: true }]] as const) {
      assertError(await call(method, path, body, {}), 401, 'unauthenticated');
      assertError(await call(method, path, body, viewer), 403, 'forbidden');
    }

    // Bad input.
    assertError(await call('DELETE', '/callbacks/deliveries/failed/abc'), 400, 'invalid_request', 'id');
    assertError(await call('DELETE', '/callbacks/deliveries/failed/0'), 400, 'invalid_request', 'id');
    assertError(await call('DELETE', '/callbacks/deliveries/failed/1.5'), 400, 'invalid_request', 'id');
    assertError(await call('POST', '/callbacks/deliveries/discard', {}), 400, 'invalid_request', 'ids');
    assertError(await call('POST', '/callbacks/deliveries/discard', { ids: [1], all: true }), 400, 'invalid_request', 'ids');
    assertError(await call('POST', '/callbacks/deliveries/discard', { ids: [] }), 400, 'invalid_request', 'ids');
    assertError(await call('POST', '/callbacks/deliveries/discard', { all: false }), 400, 'invalid_request', 'all');
    assertError(await call('POST', '/callbacks/deliveries/discard', { ids: ['1'] }), 400, 'invalid_request', 'ids.0');
    assertError(await call('POST', '/callbacks/deliveries/discard', { ids: [1e300] }), 400, 'invalid_request', 'ids.0');
    assertError(await call('POST', '/callbacks/deliveries/discard', { all: true, x: 1 }), 400, 'invalid_request');
    assertError(await call('DELETE', '/callbacks/deliveries/failed/999999'), 404, 'delivery_not_found', 'id');
    assert.equal((await ok('GET', '/callbacks/deliveries')).failed, 3, 'nothing discarded by bad calls');

    // One, then the listed ones (an id twice, an unknown one), then all.
    assert.deepEqual(await ok('DELETE', `/callbacks/deliveries/failed/${mine[0].id}`), { discarded: 1 });
    assertError(await call('DELETE', `/callbacks/deliveries/failed/${mine[0].id}`), 404, 'delivery_not_found', 'id');
    assertError(await call('POST', `/callbacks/deliveries/${mine[0].id}/resend`, {}), 404, 'delivery_not_found', 'id');
    assert.deepEqual(await ok('POST', '/callbacks/deliveries/discard', { ids: [mine[1].id, mine[1].id, 999999] }), { discarded: 1 });
    assert.deepEqual((await ok('GET', '/callbacks/deliveries/failed')).items.map((d: any) => d.roomId), ['cb-d3']);

    // A delivery in flight (the receiver never answers) is pending: neither its id nor all removes it.
    rx.mode = 'dead';
    await asAdmin(s, { type: 'createRoom', roomId: 'cb-in-flight' });
    const spool = s.server.callbacks.spool;
    const [inFlight] = await eventually(() => spool.pending(APP.sdkAppId, 0, 10), (p) => p.length === 1, 'the delivery in flight');
    assertError(await call('DELETE', `/callbacks/deliveries/failed/${inFlight.id}`), 404, 'delivery_not_found', 'id');
    assert.deepEqual(await ok('POST', '/callbacks/deliveries/discard', { ids: [inFlight.id] }), { discarded: 0 });
    assert.deepEqual(await ok('POST', '/callbacks/deliveries/discard', { all: true }), { discarded: 1 });
    // Still there (pending, or given up by now once its attempt timed out).
    const still = [...(await spool.pending(APP.sdkAppId, 0, 10)), ...(await spool.failed(APP.sdkAppId, 10))];
    assert.deepEqual(still.map((d) => d.id), [inFlight.id]);
    // Once given up it can be discarded.
    await eventually(() => ok('GET', '/callbacks/deliveries'), (c) => c.failed === 1 && c.pending === 0, 'the delivery in flight given up');
    assert.deepEqual(await ok('DELETE', `/callbacks/deliveries/failed/${inFlight.id}`), { discarded: 1 });
    const counts = await ok('GET', '/callbacks/deliveries');
    assert.deepEqual([counts.pending, counts.failed], [0, 0]);

    // The receiver comes back: a new callback arrives, none of the discarded ones ever does.
    rx.mode = 'up';
    otherRx.mode = 'up';
    await asAdmin(s, { type: 'createRoom', roomId: 'cb-d4' });
    await until(() => rx.unique().some((b) => b.RoomInfo?.RoomId === 'cb-d4'), 'the new delivery');
    const sent = rx.unique().map((b) => b.RoomInfo?.RoomId);
    for (const roomId of ['cb-d1', 'cb-d2', 'cb-d3', 'cb-in-flight']) assert.ok(!sent.includes(roomId), `${roomId} was discarded`);
    assert.ok(!otherRx.unique().some((b) => b.RoomInfo?.RoomId === 'other-d1'));
  });

  it('reads, sets and deletes the configuration; re-sending needs one', async () => {
    assert.deepEqual((await ok('GET', '/callbacks/config')).config, { url: rx.url, commands: null, signed: false, source: 'file' });
    assertError(await call('POST', '/callbacks/config', { url: 'ftp://example.com/cb' }), 400, 'invalid_request', 'url');
    assertError(await call('POST', '/callbacks/config', { url: 'http://ops:pw@example.com/cb' }), 400, 'invalid_request', 'url');
    const unknownCommand = await call('POST', '/callbacks/config', { url: spare.url, commands: ['Room.Nope'] });
    assertError(unknownCommand, 400, 'invalid_request', 'commands.0');
    // The names it takes, not the schema's "Expected union value".
    assert.match(unknownCommand.body.error.message, /^body commands\.0: expected one of Room\.CallbackAfterCreateRoom, .*Mic\.CallbackAfterSeatInfoChanged, /);
    assertError(await call('POST', '/callbacks/config', { url: spare.url, extra: 1 }), 400, 'invalid_request');
    const set = await ok('POST', '/callbacks/config', { url: spare.url, commands: ['Room.CallbackAfterCreateRoom'] });
    assert.deepEqual(set.config, { url: spare.url, commands: ['Room.CallbackAfterCreateRoom'], signed: false, source: 'rest' });
    // Set again (replaces the REST one), then it takes effect: only room creations, to the new URL.
    await ok('POST', '/callbacks/config', { url: spare.url, commands: ['Room.CallbackAfterCreateRoom', 'Room.CallbackAfterDestroyRoom'] });
    await asAdmin(s, { type: 'createRoom', roomId: 'cb-new' });
    await asAdmin(s, { type: 'updateRoomInfo', roomId: 'cb-new', patch: { name: 'renamed' } });
    await asAdmin(s, { type: 'destroyRoom', roomId: 'cb-new', reason: '' });
    await until(() => spare.unique().length === 2, 'the new configuration to be used');
    assert.deepEqual(spare.unique().map((b) => b.CallbackCommand), ['Room.CallbackAfterCreateRoom', 'Room.CallbackAfterDestroyRoom']);
    // The other app's configuration is untouched.
    assert.equal((await ok('GET', '/callbacks/config', undefined, OTHER)).config.url, otherRx.url);

    assert.deepEqual(await ok('POST', '/callbacks/config/delete', {}), { ok: true });
    assert.equal((await ok('GET', '/callbacks/config')).config, null);
    const counts = await ok('GET', '/callbacks/deliveries');
    assert.equal(counts.configured, false);
    assertError(await call('POST', '/callbacks/deliveries/resend', { all: true }), 409, 'callbacks_not_configured');
    assertError(await call('POST', '/callbacks/deliveries/1/resend', {}), 409, 'callbacks_not_configured');
    // Discarding needs none.
    assert.deepEqual(await ok('POST', '/callbacks/deliveries/discard', { all: true }), { discarded: 0 });
  });

  it('serves the callback routes in the OpenAPI document', async () => {
    const doc = await (await fetch(`${s.url}/api/v1/openapi.json`)).json();
    for (const [path, method] of [
      ['/api/v1/callbacks/config', 'get'], ['/api/v1/callbacks/config', 'post'], ['/api/v1/callbacks/config/delete', 'post'],
      ['/api/v1/callbacks/deliveries', 'get'], ['/api/v1/callbacks/deliveries/failed', 'get'],
      ['/api/v1/callbacks/deliveries/{id}/resend', 'post'], ['/api/v1/callbacks/deliveries/resend', 'post'],
      ['/api/v1/callbacks/deliveries/failed/{id}', 'delete'], ['/api/v1/callbacks/deliveries/discard', 'post'],
    ]) assert.ok(doc.paths[path]?.[method], `${method} ${path}`);
    for (const name of ['CallbackConfig', 'FailedDelivery']) assert.ok(doc.components.schemas[name], name);
  });
});

describe('delivery summary', () => {
  it('measures the lag from the oldest pending delivery of the app, and counts per app', async () => {
    const spool = new MemorySpool();
    const service = new CallbackService(spool, new Map([[1, { url: 'http://127.0.0.1:9/cb' }]]));
    const now = 1_800_000_000_000;
    const row = (appId: number, n: number, createdAt: number) => ({ eventId: `e${appId}-${n}`, appId, roomId: 'r', seq: n, command: 'Room.CallbackAfterCreateRoom', body: '{}', createdAt });
    await spool.enqueue('', [row(1, 1, now - 12_345), row(1, 2, now - 1000), row(2, 1, now - 99_000), row(1, 3, now - 500)], 'c1');
    const [first] = await spool.pending(1, 0, 1);
    await spool.fail(first.id, 3, 'HTTP 503', now - 100);
    const one = await deliverySummary({ spool, service }, 1, now);
    assert.deepEqual(one, { configured: true, pending: 2, failed: 1, delivered: 0, oldestPendingAt: now - 1000, lagSeconds: 1 });
    const two = await deliverySummary({ spool, service }, 2, now);
    assert.deepEqual(two, { configured: false, pending: 1, failed: 0, delivered: 0, oldestPendingAt: now - 99_000, lagSeconds: 99 });
    const none = await deliverySummary({ spool, service }, 3, now);
    assert.deepEqual(none, { configured: false, pending: 0, failed: 0, delivered: 0, oldestPendingAt: null, lagSeconds: null });
    // Paging of the given-up list by id.
    await spool.fail((await spool.pending(1, 0, 1))[0].id, 1, 'x', now);
    const all = await spool.failed(1, 10);
    assert.equal(all.length, 2);
    assert.deepEqual(await spool.failed(1, 10, all[0].id), [all[1]]);
  });
});
