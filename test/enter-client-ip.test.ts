// enterRoom checks deny and mute entries against the address it stores: the client IP as given
// may carry a port or another spelling (the gateway normalises it first; other callers of the core
// may not), and a ban on the address must hold all the same. Through the engine, over the
// in-memory store and over the server's store (ROSTRUM_TEST_STORE: SQLite or PostgreSQL).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Engine } from '../src/core/engine.js';
import { isRoomError } from '../src/core/errors.js';
import type { Actor } from '../src/core/model.js';
import { APP, startTestServer, type TestServer } from './support/harness.js';
import { APP_ID, core } from './core/support.js';

const ADMIN: Actor = { kind: 'admin', userId: APP.admins[0] };

function cases(name: string, setup: () => Promise<{ engine: Engine; appId: number; close?: () => Promise<void> }>) {
  describe(name, () => {
    let engine: Engine;
    let appId: number;
    let close: (() => Promise<void>) | undefined;
    before(async () => {
      ({ engine, appId, close } = await setup());
    });
    after(async () => {
      await close?.();
    });

    const admin = (cmd: Parameters<Engine['execute']>[2]) => engine.execute(appId, ADMIN, cmd);
    const enter = (roomId: string, userId: string, clientIp: string) =>
      engine.execute(appId, { kind: 'user', userId }, { type: 'enterRoom', roomId, clientIp, connId: `c-${userId}` }).then(
        (r) => r,
        (e) => (isRoomError(e) ? e.kind : Promise.reject(e)),
      );
    const storedIp = async (roomId: string, userId: string) =>
      ((await admin({ type: 'getMember', roomId, userId })) as { clientIp: string }).clientIp;

    it('an IP ban holds for the address written with a port, another spelling or a range', async () => {
      await admin({ type: 'createRoom', roomId: 'ip-deny' });
      await admin({ type: 'banIp', roomId: 'ip-deny', ip: '203.0.113.7', reason: '', origin: 'tencent' });
      await admin({ type: 'banIp', roomId: 'ip-deny', ip: '10.1.0.0/16', reason: '', origin: 'tencent' });
      await admin({ type: 'banIp', roomId: '', ip: '2001:db8::1', reason: '', origin: 'tencent' }); // app-wide
      assert.equal(await enter('ip-deny', 'u1', '203.0.113.7:5678'), 'DeniedIp');
      assert.equal(await enter('ip-deny', 'u2', ' 203.0.113.7:5678 '), 'DeniedIp');
      assert.equal(await enter('ip-deny', 'u3', '[::ffff:10.1.2.3]:443'), 'DeniedIp');
      assert.equal(await enter('ip-deny', 'u4', '[2001:DB8:0::1]:443'), 'DeniedIp');
      assert.equal(await enter('ip-deny', 'u5', '203.0.113.7'), 'DeniedIp');
      for (const u of ['u1', 'u2', 'u3', 'u4', 'u5']) {
        assert.equal(await admin({ type: 'getMember', roomId: 'ip-deny', userId: u }).then(() => 'member', (e) => e.kind), 'NotMember');
      }
      // another address (with a port) enters, and is stored without it
      const r = await enter('ip-deny', 'u6', '203.0.113.8:5678');
      assert.equal(typeof r === 'string' ? r : 'entered', 'entered');
      assert.equal(await storedIp('ip-deny', 'u6'), '203.0.113.8');
    });

    it('an IP mute holds for the address written with a port: the entry says muted', async () => {
      await admin({ type: 'createRoom', roomId: 'ip-mute' });
      await admin({ type: 'setMuted', roomId: 'ip-mute', subjectType: 'ip', subjects: ['198.51.100.9'], muted: true, origin: 'tencent' });
      const muted = await enter('ip-mute', 'm1', '198.51.100.9:1234');
      assert.ok(typeof muted !== 'string', `refused: ${muted}`);
      assert.equal(muted.muted, true);
      assert.equal(await storedIp('ip-mute', 'm1'), '198.51.100.9');
      const free = await enter('ip-mute', 'm2', '198.51.100.10:1234');
      assert.ok(typeof free !== 'string', `refused: ${free}`);
      assert.equal(free.muted, false);
    });
  });
}

cases('over the in-memory store', async () => ({ engine: core().engine, appId: APP_ID }));

cases("over the server's store", async () => {
  const s: TestServer = await startTestServer();
  return { engine: s.server.engine, appId: APP.sdkAppId, close: () => s.close() };
});
