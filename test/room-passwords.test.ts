// Room passwords: hashed at rest (scrypt), plain-text ones from an earlier release still open the
// room (and are hashed then), and guessing is limited — 10 wrong passwords a minute per user and
// per client IP in a room, then 110013 even for the right one.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ATTEMPTS_PER_MINUTE, hashPassword, verifyPassword } from '../src/core/passwords.js';
import { CODE } from '../src/realtime/protocol.js';
import { APP, startTestServer, type TestServer } from './support/harness.js';
import { RawClient, closeClients, createRoom } from './realtime-support.js';

let s: TestServer;
before(async () => {
  // Clients choose their address through X-Forwarded-For here, so per-IP limits can be told apart.
  s = await startTestServer({ trustProxy: true });
});
after(async () => {
  await closeClients();
  await s.close();
});

async function from(ip: string, userId: string): Promise<RawClient> {
  const c = await RawClient.open(s, userId, { headers: { 'x-forwarded-for': ip } });
  await c.ok('ping');
  return c;
}

async function storedPassword(roomId: string): Promise<string> {
  return s.server.store.read(APP.sdkAppId, async (r) => (await r.room(roomId))!.room.password);
}

describe('hashing', () => {
  it('scrypt hashes verify the password they were made from and no other', async () => {
    const h = await hashPassword('1234');
    assert.match(h, /^scrypt\$16384\$8\$1\$/);
    assert.notEqual(h, await hashPassword('1234'), 'salted');
    assert.equal(await verifyPassword(h, '1234'), true);
    assert.equal(await verifyPassword(h, '1235'), false);
    assert.equal(await verifyPassword(h, ''), false);
  });

  it('a room password is stored hashed, set on creation and on update', async () => {
    await createRoom(s, 'pw-stored', { password: '4711' });
    const stored = await storedPassword('pw-stored');
    assert.match(stored, /^scrypt\$/);
    assert.ok(!stored.includes('4711'));
    const r = await s.tencent('room_engine_http_srv/update_room_info', { RoomInfo: { RoomId: 'pw-stored', Password: '0815' } });
    assert.equal(r.ErrorCode, 0, r.ErrorInfo);
    assert.match(await storedPassword('pw-stored'), /^scrypt\$/);
    const c = await from('10.9.0.1', 'pw-u0');
    await c.fails('enterRoom', { roomId: 'pw-stored', password: '4711' }, CODE.wrongPassword);
    await c.ok('enterRoom', { roomId: 'pw-stored', password: '0815' });
  });

  it('a plain-text password kept by an earlier release still opens the room, and is hashed then', async () => {
    await createRoom(s, 'pw-legacy', { password: 'x' });
    await s.server.store.write(APP.sdkAppId, async (w) => {
      const agg = (await w.room('pw-legacy'))!;
      agg.room = { ...agg.room, password: 'old-plain' };
      await w.saveRoom(APP.sdkAppId, agg);
    });
    assert.equal(await storedPassword('pw-legacy'), 'old-plain');
    const c = await from('10.9.0.2', 'pw-u1');
    await c.fails('enterRoom', { roomId: 'pw-legacy', password: 'old-plai' }, CODE.wrongPassword);
    await c.ok('enterRoom', { roomId: 'pw-legacy', password: 'old-plain' });
    assert.match(await storedPassword('pw-legacy'), /^scrypt\$/);
  });
});

describe('attempt limits', () => {
  it('per user: after 10 wrong passwords the right one is refused too; other users are not', async () => {
    await createRoom(s, 'pw-user', { password: '2468' });
    const guesser = await from('10.1.0.1', 'guesser');
    for (let i = 0; i < ATTEMPTS_PER_MINUTE; i++) await guesser.fails('enterRoom', { roomId: 'pw-user', password: String(1000 + i) }, CODE.wrongPassword);
    await guesser.fails('enterRoom', { roomId: 'pw-user', password: '2468' }, CODE.passwordAttemptsExceeded);
    // Another connection of the same user, from another address: still the same user.
    const again = await from('10.1.0.2', 'guesser');
    await again.fails('enterRoom', { roomId: 'pw-user', password: '2468' }, CODE.passwordAttemptsExceeded);
    const other = await from('10.1.0.3', 'honest');
    await other.ok('enterRoom', { roomId: 'pw-user', password: '2468' });
    // Other rooms are not affected.
    await createRoom(s, 'pw-user-2', { password: '2468' });
    await guesser.ok('enterRoom', { roomId: 'pw-user-2', password: '2468' });
  });

  it('per IP: 10 wrong passwords from one address, whatever the user ids, close the room to it', async () => {
    await createRoom(s, 'pw-ip', { password: '1357' });
    for (let i = 0; i < ATTEMPTS_PER_MINUTE; i++) {
      const c = await from('10.2.0.1', `sybil-${i}`);
      await c.fails('enterRoom', { roomId: 'pw-ip', password: String(i) }, CODE.wrongPassword);
    }
    const next = await from('10.2.0.1', 'sybil-next');
    await next.fails('enterRoom', { roomId: 'pw-ip', password: '1357' }, CODE.passwordAttemptsExceeded);
    // The same address spelled as IPv4-mapped IPv6 is the same address.
    const mapped = await from('::ffff:10.2.0.1', 'sybil-mapped');
    await mapped.fails('enterRoom', { roomId: 'pw-ip', password: '1357' }, CODE.passwordAttemptsExceeded);
    const elsewhere = await from('10.2.0.2', 'sybil-next');
    await elsewhere.ok('enterRoom', { roomId: 'pw-ip', password: '1357' });
  });

  it('a burst of wrong passwords at once: no more than 10 are checked, the rest refused as too many', async () => {
    await createRoom(s, 'pw-burst', { password: '8642' });
    const clients = await Promise.all(Array.from({ length: 40 }, (_, i) => from('10.3.0.1', `burst-${i}`)));
    const codes = await Promise.all(clients.map((c, i) => c.req('enterRoom', { roomId: 'pw-burst', password: String(5000 + i) }).then((r) => r.code)));
    const count = (code: number) => codes.filter((x) => x === code).length;
    assert.deepEqual([count(CODE.wrongPassword), count(CODE.passwordAttemptsExceeded)], [ATTEMPTS_PER_MINUTE, 40 - ATTEMPTS_PER_MINUTE], JSON.stringify(codes));
    // A right password is no failure: it takes back its count (another address, one user's limit).
    const honest = await from('10.3.0.2', 'honest-burst');
    for (let i = 0; i < ATTEMPTS_PER_MINUTE + 2; i++) {
      await honest.ok('enterRoom', { roomId: 'pw-burst', password: '8642' });
      await honest.ok('exitRoom', { roomId: 'pw-burst' });
    }
  });

  it('the owner needs no password and is never throttled', async () => {
    await createRoom(s, 'pw-owner', { password: '9999', owner: 'boss-of-room' });
    const owner = await from('10.2.0.1', 'boss-of-room');
    await owner.ok('enterRoom', { roomId: 'pw-owner' });
  });
});
