// Console sessions kept in Redis (a server with a Redis bus): what Redis holds cannot be used as a
// cookie or a CSRF token — keys are hashes of the session id, values hold neither secret — and the
// session still works, expires with its key and ends with sign-out.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { APP, adminSig, asAdmin, startTestServer, type TestServer } from './support/harness.js';
import { REDIS_URL, dropPrefix, freshPrefixUrl, redisSkip } from './contract/redis-support.js';

const skip = await redisSkip();

describe('console sessions in Redis', { skip }, () => {
  let s: TestServer;
  let bus: string;
  let redis: Redis;
  before(async () => {
    bus = freshPrefixUrl();
    s = await startTestServer({ bus });
    redis = new Redis(REDIS_URL);
  });
  after(async () => {
    await s?.close();
    redis?.disconnect();
    if (bus) await dropPrefix(bus);
  });

  it('stores neither the session id nor the CSRF token', async () => {
    const signIn = await fetch(`${s.url}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userSig: adminSig() }) });
    assert.equal(signIn.status, 200);
    const id = /rostrum_console=([^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')![1];
    const { csrf } = (await signIn.json()) as { csrf: string };
    const prefix = new URL(bus).searchParams.get('prefix')!;
    const keys = await redis.keys(`${prefix}:console:session:*`);
    assert.equal(keys.length, 1);
    const held = keys[0] + (await redis.get(keys[0]));
    assert.ok(!held.includes(id), 'the session id is not in Redis');
    assert.ok(!held.includes(csrf), 'the CSRF token is not in Redis');
    assert.ok((await redis.pttl(keys[0])) > 7 * 3600_000, 'the key expires with the session');
    // The session works, a change with its token too, and sign-out removes it.
    const cookie = `rostrum_console=${id}`;
    const me = await fetch(`${s.url}/console/session`, { headers: { cookie } });
    assert.deepEqual(await me.json(), { sdkAppId: 1400000001, identifier: 'administrator', csrf });
    // Past its expiry (the key's TTL aside) a session is refused everywhere.
    const stored = JSON.parse((await redis.get(keys[0]))!);
    await redis.set(keys[0], JSON.stringify({ ...stored, expiresAt: Date.now() - 1 }), 'KEEPTTL');
    for (const path of ['/console/session', '/console/stats', '/api/v1/me']) {
      assert.equal((await fetch(`${s.url}${path}`, { headers: { cookie } })).status, 401, `expired: ${path}`);
    }
    await redis.set(keys[0], JSON.stringify(stored), 'KEEPTTL');
    const end = await fetch(`${s.url}/console/session/end`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } });
    assert.equal(end.status, 200);
    assert.deepEqual(await redis.keys(`${prefix}:console:session:*`), []);
    assert.equal((await fetch(`${s.url}/console/session`, { headers: { cookie } })).status, 401);
  });
});

describe('console sessions in Redis, across a restart with another config', { skip }, () => {
  it('a session of an admin the new config no longer has is refused on every console route', async () => {
    const bus = freshPrefixUrl();
    const first = await startTestServer({ bus });
    let second: TestServer | undefined;
    try {
      await asAdmin(first, { type: 'createRoom', roomId: 'gone-admin' });
      const signIn = await fetch(`${first.url}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userSig: adminSig() }) });
      const cookie = signIn.headers.get('set-cookie')!.split(';')[0];
      await first.close();
      // The same store would do; a fresh one is enough: the session lives in Redis.
      second = await startTestServer({ bus, apps: [{ ...APP, admins: ['someone-else'] }] });
      for (const path of ['/console/session', '/console/stats', '/console/events?roomId=gone-admin', '/api/v1/me']) {
        const r: Response = await fetch(`${second.url}${path}`, { headers: { cookie } });
        assert.equal(r.status, 401, `${path}: ${r.status}`);
        assert.equal(((await r.json()) as any).error.code, 'unauthenticated');
      }
    } finally {
      await second?.close();
      await dropPrefix(bus);
    }
  });
});
