// The audit log end to end: each moderation action from each surface (Tencent REST, Polyv,
// realtime moderator ops, the native API) writes exactly one entry naming the surface, the
// actor, the target, the reason and the expiry; a refused action writes none; entries of one
// app are never seen by another; retention drops old entries.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEntry } from '../src/core/model.js';
import { APP, OTHER_APP, adminSig, asAdmin, enter, startTestServer, type TestServer } from './support/harness.js';
import { ok as polyvOk, polyvClient } from './support/polyv.js';
import { RawClient } from './realtime-support.js';

let s: TestServer;
let room = 0;

before(async () => {
  s = await startTestServer();
});
after(() => s.close());

async function auditOf(roomId?: string, app = APP): Promise<AuditEntry[]> {
  const q = roomId === undefined ? '' : `&roomId=${encodeURIComponent(roomId)}`;
  const res = await fetch(`${s.url}/api/v1/audit?limit=500${q}`, { headers: { authorization: `Bearer ${adminSig(app)}` } });
  assert.equal(res.status, 200);
  return (await res.json()).items;
}

/** A fresh room with seats and members u1..u3 (u1 seated on 0). */
async function freshRoom(): Promise<string> {
  const roomId = `audit-${++room}`;
  await asAdmin(s, { type: 'createRoom', roomId, isSeatEnabled: true, maxSeatCount: 4, ownerId: 'owner' });
  for (const u of ['u1', 'u2', 'u3']) await enter(s, roomId, u, { clientIp: `10.1.${room}.${u.slice(1)}` });
  await s.server.engine.execute(APP.sdkAppId, { kind: 'user', userId: 'u1' }, { type: 'takeSeat', roomId, index: 0 });
  return roomId;
}

/** Runs `act` in a fresh room and returns the one entry it wrote (asserting there is one). */
async function one(act: (roomId: string) => Promise<unknown>, scope?: string): Promise<AuditEntry> {
  const roomId = await freshRoom();
  const before = (await auditOf()).length;
  await act(roomId);
  const all = await auditOf();
  assert.equal(all.length - before, 1, `one entry: ${JSON.stringify(all.slice(0, all.length - before))}`);
  const e = all[0];
  assert.equal(e.roomId, scope ?? roomId);
  return e;
}

const pick = (e: AuditEntry) => ({ surface: e.surface, actor: e.actor, action: e.action, targetType: e.targetType, target: e.target, reason: e.reason });

describe('audit log: Tencent REST', () => {
  const admin = { surface: 'tencent', actor: 'administrator' };
  it('kick_user_off_seat, kick_user_out, ban/unban_room_member, lock_seat, destroy_room', async () => {
    const t = (path: string, body: object) => s.tencent(path, body).then((r) => assert.equal(r.ErrorCode, 0, JSON.stringify(r)));
    let e = await one((r) => t('room_engine_http_mic/kick_user_off_seat', { RoomId: r, Member_Account: 'u1', Data: '' }));
    assert.deepEqual(pick(e), { ...admin, action: 'kickOffSeat', targetType: 'userId', target: 'u1', reason: '' });
    e = await one((r) => t('room_engine_http_srv/kick_user_out', { RoomId: r, MemberList_Account: ['u2'], Reason: 'rude' }));
    assert.deepEqual(pick(e), { ...admin, action: 'kickOut', targetType: 'userId', target: 'u2', reason: 'rude' });
    e = await one((r) => t('room_engine_http_srv/ban_room_member', { RoomId: r, MemberList_Account: ['u3'], Reason: 'spam', Duration: 120 }));
    assert.deepEqual(pick(e), { ...admin, action: 'ban', targetType: 'userId', target: 'u3', reason: 'spam' });
    assert.ok(e.expiresAt !== null && Math.abs(e.expiresAt - e.at - 120_000) < 1000);
    e = await one((r) => t('room_engine_http_srv/unban_room_member', { RoomId: r, MemberList_Account: ['u3'] }));
    assert.deepEqual(pick(e), { ...admin, action: 'unban', targetType: 'userId', target: 'u3', reason: '' });
    e = await one((r) => t('room_engine_http_mic/lock_seat', { RoomId: r, Index: 2, ForbidTaken: true }));
    assert.deepEqual(pick(e), { ...admin, action: 'lockSeat', targetType: 'seat', target: '2', reason: '' });
    e = await one((r) => t('room_engine_http_srv/destroy_room', { RoomId: r }));
    assert.deepEqual(pick(e), { ...admin, action: 'dismissRoom', targetType: 'room', target: e.roomId, reason: '' });
  });
});

describe('audit log: Polyv', () => {
  const admin = { surface: 'polyv', actor: APP.polyv!.appId };
  it('kick-users, unkick-users, banned-user, addBannedIP, send-admin-msg', async () => {
    const polyv = polyvClient(s);
    let e = await one(async (r) => polyvOk(await polyv('/live/v4/chat/channel/forbid/kick-users', { channelId: r }, { json: { viewerIds: ['u2'], nickNames: ['U2'] } })));
    assert.deepEqual(pick(e), { ...admin, action: 'ban', targetType: 'userId', target: 'u2', reason: '' });
    assert.equal(e.expiresAt, null);
    e = await one(async (r) => polyvOk(await polyv('/live/v4/chat/channel/forbid/unkick-users', { channelId: r }, { json: { viewerIds: ['u2'] } })));
    assert.deepEqual(pick(e), { ...admin, action: 'unban', targetType: 'userId', target: 'u2', reason: '' });
    e = await one(async (r) => polyvOk(await polyv('/live/v3/channel/chat/banned-user', { channelId: r, userIds: 'u3', toBanned: 'Y' })));
    assert.deepEqual(pick(e), { ...admin, action: 'mute', targetType: 'userId', target: 'u3', reason: '' });
    e = await one(async (r) => polyvOk(await polyv(`/live/v2/chat/${r}/addBannedIP`, { ip: '10.99.0.1' })));
    assert.deepEqual(pick(e), { ...admin, action: 'mute', targetType: 'ip', target: '10.99.0.1', reason: '' });
    e = await one(async (r) => polyvOk(await polyv('/live/v3/channel/chat/send-admin-msg', { channelId: r, msg: 'hello all', pic: 'https://example.com/a.png', nickName: 'Host' })));
    assert.deepEqual(pick(e), { ...admin, action: 'adminMessage', targetType: 'room', target: e.roomId, reason: 'hello all' });
  });
});

describe('audit log: realtime moderator ops', () => {
  it('kickOffSeat, kickOut, lockSeat, kickUser by user and by IP, from the room owner', async () => {
    const clients: RawClient[] = [];
    const asOwner = (op: string, params: object) => async (roomId: string) => {
      const c = await RawClient.connect(s, 'owner', roomId);
      clients.push(c);
      await c.ok(op, { roomId, ...params });
    };
    try {
      const owner = { surface: 'realtime', actor: 'owner' };
      let e = await one(asOwner('kickOffSeat', { userId: 'u1' }));
      assert.deepEqual(pick(e), { ...owner, action: 'kickOffSeat', targetType: 'userId', target: 'u1', reason: '' });
      assert.equal(e.actorKind, 'user');
      e = await one(asOwner('kickOut', { userId: 'u2', reason: 'noise' }));
      assert.deepEqual(pick(e), { ...owner, action: 'kickOut', targetType: 'userId', target: 'u2', reason: 'noise' });
      e = await one(asOwner('lockSeat', { index: 3, locked: true }));
      assert.deepEqual(pick(e), { ...owner, action: 'lockSeat', targetType: 'seat', target: '3', reason: '' });
      e = await one(asOwner('kickUser', { userId: 'u3', type: 'userId', reason: 'troll' }));
      assert.deepEqual(pick(e), { ...owner, action: 'ban', targetType: 'userId', target: 'u3', reason: 'troll' });
      e = await one(asOwner('kickUser', { userId: 'u2', type: 'ip' }));
      assert.deepEqual(pick(e), { ...owner, action: 'ban', targetType: 'ip', target: e.target, reason: '' });
      assert.match(e.target, /^10\.1\.\d+\.2$/);
    } finally {
      for (const c of clients) c.ws.close();
    }
  });

  it('a refused action (a plain member kicking) writes nothing', async () => {
    const roomId = await freshRoom();
    const before = (await auditOf()).length;
    const c = await RawClient.connect(s, 'u2', roomId);
    try {
      await c.fails('kickOut', { roomId, userId: 'u3' }, (await import('../src/realtime/protocol.js')).CODE.permissionDenied);
    } finally {
      c.ws.close();
    }
    assert.equal((await auditOf()).length, before);
  });
});

describe('audit log: native API, isolation and retention', () => {
  it('the native API writes one entry per action, app-wide ones with an empty room', async () => {
    const api = (path: string, body: object) => async (roomId: string) => {
      const res = await fetch(`${s.url}/api/v1${path.replace(':roomId', roomId)}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminSig()}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 200, await res.text());
    };
    const admin = { surface: 'api', actor: 'administrator' };
    let e = await one(api('/rooms/:roomId/ban', { ip: '10.50.0.1', durationSec: 30, reason: 'flood' }));
    assert.deepEqual(pick(e), { ...admin, action: 'ban', targetType: 'ip', target: '10.50.0.1', reason: 'flood' });
    assert.ok(e.expiresAt !== null && e.expiresAt > e.at);
    e = await one(api('/ban', { userId: 'u9', reason: 'everywhere' }), '');
    assert.deepEqual(pick(e), { ...admin, action: 'ban', targetType: 'userId', target: 'u9', reason: 'everywhere' });
    e = await one(api('/unban', { userId: 'u9' }), '');
    assert.equal(e.action, 'unban');
  });

  it('another app sees none of these entries; retention prunes old ones', async () => {
    assert.ok((await auditOf()).length > 10);
    assert.deepEqual(await auditOf(undefined, OTHER_APP), []);
    const n = (await auditOf()).length;
    assert.equal(await s.server.store.pruneAudit(Date.now() + 1, 10_000), n);
    assert.deepEqual(await auditOf(), []);
  });
});
