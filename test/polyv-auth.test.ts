// Polyv dialect over real HTTP: appId / timestamp / sign / replay, envelope and HTTP status,
// rate limit, app isolation, malformed requests.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP, OTHER_APP, enter, startTestServer, type TestServer } from './support/harness.js';
import { createRoom, ok, polyvCall, polyvClient, polyvTestSign } from './support/polyv.js';

let s: TestServer;
let polyv: ReturnType<typeof polyvClient>;
const COUNT = '/live/v3/channel/chat/count-online-user';

before(async () => {
  s = await startTestServer();
  polyv = polyvClient(s);
  await createRoom(s, '329298');
  await createRoom(s, 'b-room', OTHER_APP);
  await enter(s, '329298', 'u1');
});
after(() => s.close());

function assertError(a: { httpStatus: number; code: number; status: string; message: string; data: unknown }, code: number, message: string) {
  assert.deepEqual({ http: a.httpStatus, code: a.code, status: a.status, message: a.message, data: a.data }, {
    http: code,
    code,
    status: code >= 500 ? 'fail' : 'error',
    message,
    data: '',
  });
}

test('a signed request succeeds: envelope {code, status, message, data}, HTTP 200', async () => {
  const a = await polyv(COUNT, { channelId: '329298' }, { method: 'GET' });
  assert.deepEqual({ http: a.httpStatus, code: a.code, status: a.status, message: a.message, data: a.data }, {
    http: 200,
    code: 200,
    status: 'success',
    message: '',
    data: 1,
  });
});

test('appId missing or unknown', async () => {
  assertError(await polyv(COUNT, { channelId: '329298' }, { omit: ['appId'] }), 400, 'appId is required.');
  assertError(await polyv(COUNT, { channelId: '329298', appId: '' }, { omit: ['appId'] }), 400, 'appId is required.');
  assertError(await polyv(COUNT, { channelId: '329298', appId: 'nope' }, { omit: ['appId'] }), 400, 'application not found.');
  // a Tencent SDKAppID is not a Polyv appId
  assertError(await polyv(COUNT, { channelId: '329298', appId: String(APP.sdkAppId) }, { omit: ['appId'] }), 400, 'application not found.');
});

test('timestamp: missing, expired, in the future, not 13 digits', async () => {
  const now = Date.now();
  assertError(await polyv(COUNT, { channelId: '329298' }, { omit: ['timestamp'] }), 400, 'invalid timestamp.');
  assertError(await polyv(COUNT, { channelId: '329298' }, { timestamp: now - 181_000 }), 400, 'invalid timestamp.');
  assertError(await polyv(COUNT, { channelId: '329298' }, { timestamp: now + 181_000 }), 400, 'invalid timestamp.');
  assertError(await polyv(COUNT, { channelId: '329298' }, { timestamp: Math.floor(now / 1000) }), 400, 'invalid timestamp.');
  assertError(await polyv(COUNT, { channelId: '329298' }, { timestamp: `${now}x` }), 400, 'invalid timestamp.');
  // within 3 minutes either way is fine
  ok(await polyv(COUNT, { channelId: '329298' }, { timestamp: now - 170_000 }));
  ok(await polyv(COUNT, { channelId: '329298' }, { timestamp: now + 170_000 }));
});

test('sign: forged, missing, over other values, with the wrong secret', async () => {
  assertError(await polyv(COUNT, { channelId: '329298' }, { sign: '0D2BDA2FD04D93A2B8832B91FD973C4D' }), 403, 'invalid signature.');
  assertError(await polyv(COUNT, { channelId: '329298' }, { omit: ['sign'] }), 403, 'invalid signature.');
  // a parameter added after signing
  assertError(await polyv(COUNT, { channelId: '329298' }, { unsigned: { extra: '1' } }), 403, 'invalid signature.');
  // signed with another app's secret
  const pairs: [string, string][] = [['appId', APP.polyv!.appId], ['timestamp', String(Date.now() - 5000)], ['channelId', '329298']];
  assertError(await polyv(COUNT, { channelId: '329298' }, { timestamp: pairs[1][1], sign: polyvTestSign(pairs, OTHER_APP.polyv!.appSecret) }), 403, 'invalid signature.');
  // the right secret with those same values is accepted, in lower case too
  ok(await polyv(COUNT, { channelId: '329298' }, { timestamp: pairs[1][1], sign: polyvTestSign(pairs, APP.polyv!.appSecret).toLowerCase() }));
});

test('signatureMethod=SHA256 switches the digest', async () => {
  ok(await polyv(COUNT, { channelId: '329298' }, { signatureMethod: 'SHA256' }));
  ok(await polyv(COUNT, { channelId: '329298' }, { signatureMethod: 'SHA256', style: 'ts' }));
  ok(await polyv(COUNT, { channelId: '329298' }, { signatureMethod: 'MD5' }));
  // an MD5 sign under signatureMethod=SHA256 does not pass
  const ts = String(Date.now());
  const md5 = polyvTestSign([['appId', APP.polyv!.appId], ['timestamp', ts], ['signatureMethod', 'SHA256'], ['channelId', '329298']], APP.polyv!.appSecret, 'MD5');
  assertError(await polyv(COUNT, { channelId: '329298' }, { timestamp: ts, signatureMethod: 'SHA256', sign: md5 }), 403, 'invalid signature.');
  // an unknown method is refused
  assertError(await polyv(COUNT, { channelId: '329298', signatureMethod: 'HMAC' }), 403, 'invalid signature.');
});

test('a replayed request (same appId and sign) is refused while its timestamp is valid', async () => {
  const first = await polyv(COUNT, { channelId: '329298' });
  ok(first);
  assertError(await first.again(), 400, 'invalid timestamp.');
  // even a failed call uses its sign up
  const failed = await polyv(COUNT, { channelId: 'no-such-room' });
  assertError(failed, 404, 'channel not found.');
  assertError(await failed.again(), 400, 'invalid timestamp.');
  // the same parameters with a new timestamp are a new request
  ok(await polyv(COUNT, { channelId: '329298' }));
});

test('each SDK style is accepted: Java (form body, requestId, blanks unsigned), TypeScript, PHP', async () => {
  for (const style of ['java', 'ts', 'php'] as const) {
    for (const method of ['GET', 'POST'] as const) {
      assert.deepEqual(ok(await polyv('/live/v3/channel/chat/get-banned-list', { channelId: '329298', type: 'userId', toGetSubRooms: '' }, { style, method })), []);
    }
  }
  // a form parameter is signed too: one added to the form body after signing is refused
  assertError(await polyv(COUNT, { channelId: '329298' }, { style: 'java', unsigned: { channelId2: 'x' } }), 403, 'invalid signature.');
});

test('a blank parameter cannot change a request (it means "absent")', async () => {
  // toBanned blank = default (Y), so adding it unsigned to a Java-style request changes nothing
  ok(await polyv('/live/v3/channel/chat/banned-user', { channelId: '329298', userIds: 'blank1', toBanned: ' ' }, { style: 'java' }));
  assert.deepEqual(ok(await polyv('/live/v3/channel/chat/get-banned-list', { channelId: '329298', type: 'userId' })), ['blank1']);
  ok(await polyv('/live/v3/channel/chat/banned-user', { channelId: '329298', userIds: 'blank1', toBanned: 'N' }));
});

test('a parameter given twice is refused (which one was signed?)', async () => {
  assertError(await polyv(COUNT, { channelId: '329298' }, { unsigned: { channelId: '329298' } }), 400, 'param validate error');
});

test('JSON-body endpoints: only the query is signed', async () => {
  const KICK = '/live/v4/chat/channel/forbid/kick-users';
  // channelId in the query is signed
  assertError(
    await polyv(KICK, {}, { json: { viewerIds: ['x1'], nickNames: ['X'] }, unsigned: { channelId: '329298' } }),
    403,
    'invalid signature.',
  );
  ok(await polyv(KICK, { channelId: '329298' }, { json: { viewerIds: ['x1'], nickNames: ['X'] } }));
  ok(await polyv('/live/v4/chat/channel/forbid/unkick-users', { channelId: '329298' }, { json: { viewerIds: ['x1'], nickNames: ['X'] } }));
  // the TypeScript SDK's POST with an empty body labelled application/json is fine on classic endpoints
  ok(await polyv(COUNT, { channelId: '329298' }, { style: 'ts', rawBody: '', contentType: 'application/json' }));
});

test('HTTP status mirrors code; unknown paths and methods answer the envelope', async () => {
  assertError(await polyv('/live/v3/channel/chat/no-such-endpoint', { channelId: '329298' }), 404, 'api not found.');
  assertError(await polyv('/live/v4/chat/forbid/kick-users', {}, { method: 'GET' }), 404, 'api not found.');
  assertError(await polyv(COUNT, { channelId: 'no-such-room' }), 404, 'channel not found.');
  assertError(await polyv(COUNT, {}), 400, 'param should not be empty: channelId');
});

test('malformed bodies never give a crash page', async () => {
  const KICK = '/live/v4/chat/forbid/kick-users';
  assertError(await polyv(KICK, {}, { rawBody: '{not json', contentType: 'application/json' }), 400, 'json format error');
  assertError(await polyv(KICK, {}, { rawBody: '', contentType: 'application/json' }), 400, 'json format error');
  assertError(await polyv(KICK, {}, { json: [1, 2] }), 400, 'json format error');
  assertError(await polyv(KICK, {}, { json: { viewerIds: 'u1', nickNames: ['a'] } }), 400, 'json format error');
  assertError(await polyv(KICK, {}, { json: { viewerIds: [], nickNames: [] } }), 400, 'param should not be empty: viewerIds');
  assertError(await polyv(KICK, {}, { json: { viewerIds: ['u1'] } }), 400, 'param should not be empty: nickNames');
  assertError(await polyv(KICK, {}, { json: { viewerIds: ['u1', 'u2'], nickNames: ['a'] } }), 400, 'param validate error');
  // over the body limit (1 MiB)
  const big = `x=${'a'.repeat(1_100_000)}`;
  assertError(await polyv(COUNT, { channelId: '329298' }, { rawBody: big, contentType: 'application/x-www-form-urlencoded' }), 400, 'param validate error');
  // the server is still fine
  ok(await polyv(COUNT, { channelId: '329298' }));
});

test("app isolation: an app's appId cannot see or touch another app's rooms", async () => {
  // APP cannot see OTHER_APP's room
  assertError(await polyv(COUNT, { channelId: 'b-room' }), 404, 'channel not found.');
  assertError(await polyv('/live/v3/channel/chat/list-kicked', { channelId: 'b-room' }), 404, 'channel not found.');
  assertError(await polyv('/live/v4/chat/channel/forbid/kick-users', { channelId: 'b-room' }, { json: { viewerIds: ['b1'], nickNames: ['B'] } }), 404, 'channel not found.');
  // the same room id in both apps: kicks stay in their app
  await createRoom(s, 'shared');
  await createRoom(s, 'shared', OTHER_APP);
  await enter(s, 'shared', 'same-user', { app: OTHER_APP });
  await enter(s, 'shared', 'same-user');
  ok(await polyv('/live/v4/chat/channel/forbid/kick-users', { channelId: 'shared' }, { json: { viewerIds: ['same-user'], nickNames: ['S'] } }));
  const other = polyvClient(s, { app: OTHER_APP });
  assert.deepEqual(ok(await other('/live/v3/channel/chat/list-kicked', { channelId: 'shared' })), []);
  assert.equal(ok(await other(COUNT, { channelId: 'shared' })), 1);
  assert.equal(ok(await polyv(COUNT, { channelId: 'shared' })), 0);
  // an app-wide kick in one app leaves the other app alone
  ok(await other('/live/v4/chat/forbid/kick-users', {}, { json: { viewerIds: ['u1'], nickNames: ['U'] } }));
  assert.equal(ok(await polyv(COUNT, { channelId: '329298' })), 1);
  assert.deepEqual(ok(await polyv('/live/v4/chat/forbid/list')).contents, []);
  ok(await other('/live/v4/chat/forbid/unkick-users', {}, { json: { viewerIds: ['u1'] } }));
});

test('rate limit per app per endpoint: qps exceeds number of calls (0 = unlimited)', async () => {
  const limited = { ...APP, rateLimit: { perCommandPerSecond: 0, perEndpointPerSecond: 2 } };
  const r = await startTestServer({ apps: [limited, OTHER_APP] });
  try {
    await createRoom(r, 'lim', limited);
    await createRoom(r, 'lim', OTHER_APP);
    // 6 calls within at most two one-second windows: at most 4 pass
    const answers = await Promise.all(Array.from({ length: 6 }, () => polyvCall(r.url, COUNT, { channelId: 'lim' }, { app: limited, style: 'java' })));
    const refused = answers.filter((a) => a.code !== 200);
    assert.ok(refused.length >= 2, `expected refusals, got ${answers.map((a) => a.code)}`);
    for (const a of refused) assertError(a, 403, 'qps exceeds number of calls');
    // A request refused for the rate has not used its sign: sent again as it was, it passes.
    await sleep(1100);
    ok(await refused[0].again());
    assertError(await refused[0].again(), 400, 'invalid timestamp.');
    // another endpoint, and another app (unlimited), are not affected
    ok(await polyvCall(r.url, '/live/v3/channel/chat/list-kicked', { channelId: 'lim' }, { app: limited }));
    const other = await Promise.all(Array.from({ length: 20 }, () => polyvCall(r.url, COUNT, { channelId: 'lim' }, { app: OTHER_APP, style: 'java' })));
    for (const a of other) ok(a);
  } finally {
    await r.close();
  }
});
