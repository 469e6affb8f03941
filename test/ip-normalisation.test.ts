// IP rules hold whatever the spelling: on a server listening on `::`, an IPv4 client is seen as
// ::ffff:127.0.0.1 and must still meet a ban or mute on 127.0.0.1; 0:0:0:0:0:0:0:1 is ::1; a
// range (CIDR) holds for the addresses in it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as connectTcp } from 'node:net';
import { networkInterfaces } from 'node:os';
import { WebSocket } from 'ws';
import { canonicalIp, canonicalIpSubject, ipMatches, normalizeIp } from '../src/core/ip.js';
import { CODE } from '../src/realtime/protocol.js';
import { adminSig, asAdmin, startTestServer, type TestServer } from './support/harness.js';
import { polyvCall } from './support/polyv.js';
import { RawClient, authQuery, closeClients, createRoom } from './realtime-support.js';

describe('one spelling per address', () => {
  it('canonicalises IPv4, IPv4-mapped IPv6 and IPv6', () => {
    const cases: [string, string | null][] = [
      ['127.0.0.1', '127.0.0.1'],
      ['::ffff:127.0.0.1', '127.0.0.1'],
      ['::FFFF:7f00:1', '127.0.0.1'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['[::1]', '::1'],
      ['[::ffff:127.0.0.1]', '127.0.0.1'],
      ['fe80::1%eth0', 'fe80::1'],
      ['[FE80::0:1%25eth0]', 'fe80::1'],
      ['fe80::1%', null],
      ['fe80::1%eth 0', null],
      ['1.2.3.4%eth0', null],
      ['[1.2.3.4]', null],
      ['01.2.3.4', null],
      ['001.002.003.004', null],
      ['1.2.3', null],
      ['1::2::3', null],
      ['not an ip', null],
    ];
    for (const [given, want] of cases) assert.equal(canonicalIp(given), want, given);
  });

  it('a client address from a proxy loses its port (1.2.3.4:5678, [2001:db8::1]:443)', () => {
    const cases: [string, string][] = [
      ['203.0.113.7:5678', '203.0.113.7'],
      ['[2001:DB8::1]:443', '2001:db8::1'],
      ['[::ffff:203.0.113.7]:80', '203.0.113.7'],
      [' 203.0.113.7 ', '203.0.113.7'],
      ['::1:80', '::1:80'], // a whole IPv6 address, not ::1 with a port
      ['203.0.113.7:99999', '203.0.113.7:99999'], // not a port: kept as given
      ['unknown', 'unknown'],
    ];
    for (const [given, want] of cases) assert.equal(normalizeIp(given), want, given);
  });

  it('accepts the documented ranges only, stored as their network', () => {
    assert.equal(canonicalIpSubject('10.1.2.3/16'), '10.1.0.0/16');
    assert.equal(canonicalIpSubject('10.1.2.3/32'), '10.1.2.3');
    assert.equal(canonicalIpSubject('10.0.0.0/7'), null);
    assert.equal(canonicalIpSubject('2001:DB8:1:2::5/48'), '2001:db8:1::/48');
    assert.equal(canonicalIpSubject('2001:db8::/44'), null);
    assert.equal(canonicalIpSubject('::ffff:10.1.2.3/24'), '10.1.2.0/24');
    assert.ok(ipMatches('10.1.0.0/16', '10.1.200.3'));
    assert.ok(!ipMatches('10.1.0.0/16', '10.2.0.1'));
    assert.ok(ipMatches('2001:db8:1::/48', '2001:db8:1:ffff::1'));
  });
});

describe('end to end, on a server listening on ::', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ host: '::' });
  });
  after(async () => {
    await closeClients();
    await s.close();
  });

  /** A realtime client connected over IPv4 (the server sees ::ffff:127.0.0.1) or IPv6 loopback. */
  async function connect(userId: string, family: 4 | 6): Promise<RawClient> {
    const host = family === 4 ? '127.0.0.1' : '[::1]';
    const ws = new WebSocket(`ws://${host}:${s.server.port}/realtime?${authQuery(userId)}`, { perMessageDeflate: false });
    const c = new RawClient(ws, userId);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return c;
  }

  it('the gateway stores the IPv4 client as 127.0.0.1', async () => {
    await createRoom(s, 'ip-seen');
    const c = await connect('u-seen', 4);
    const entered = await c.ok('enterRoom', { roomId: 'ip-seen' });
    assert.equal(entered.member.clientIp ?? (await asAdmin(s, { type: 'getMember', roomId: 'ip-seen', userId: 'u-seen' })).clientIp, '127.0.0.1');
    c.ws.close();
  });

  it('a ban on 127.0.0.1 refuses an IPv4 client seen as ::ffff:127.0.0.1', async () => {
    await createRoom(s, 'ip-ban4');
    await asAdmin(s, { type: 'banIp', roomId: 'ip-ban4', ip: '127.0.0.1', reason: '', origin: 'tencent' });
    const c = await connect('u-ban4', 4);
    await c.fails('enterRoom', { roomId: 'ip-ban4' }, CODE.deniedIp);
    c.ws.close();
  });

  it('a ban on 0:0:0:0:0:0:0:1 refuses a client on ::1', async () => {
    await createRoom(s, 'ip-ban6');
    await asAdmin(s, { type: 'banIp', roomId: 'ip-ban6', ip: '0:0:0:0:0:0:0:1', reason: '', origin: 'tencent' });
    const c = await connect('u-ban6', 6);
    await c.fails('enterRoom', { roomId: 'ip-ban6' }, CODE.deniedIp);
    c.ws.close();
  });

  it('a range ban (127.0.0.0/8) refuses a client inside it and removes one already in', async () => {
    await createRoom(s, 'ip-range');
    const inside = await connect('u-inside', 4);
    await inside.ok('enterRoom', { roomId: 'ip-range' });
    const entry = await asAdmin(s, { type: 'banIp', roomId: 'ip-range', ip: '127.1.2.3/8', reason: '', origin: 'tencent' });
    assert.equal(entry.subject, '127.0.0.0/8');
    const c = await connect('u-range', 4);
    await c.fails('enterRoom', { roomId: 'ip-range' }, CODE.deniedIp);
    const member = await asAdmin(s, { type: 'getMember', roomId: 'ip-range', userId: 'u-inside' }).catch((e) => e.kind);
    assert.equal(member, 'NotMember');
    c.ws.close();
  });

  it('a Polyv IP chat ban on 0:0:0:0:0:0:0:1 mutes the client on ::1', async () => {
    await createRoom(s, 'ip-mute');
    const r = await polyvCall(`http://127.0.0.1:${s.server.port}`, '/live/v2/chat/ip-mute/addBannedIP', { ip: '0:0:0:0:0:0:0:1' });
    assert.equal(r.code, 200, JSON.stringify(r));
    const c = await connect('u-mute', 6);
    const entered = await c.ok('enterRoom', { roomId: 'ip-mute' });
    assert.equal(entered.muted, true);
    c.ws.close();
  });

  it('the native API takes any spelling of an address and stores the one spelling', async () => {
    await createRoom(s, 'ip-api');
    const api = (path: string, body: unknown) =>
      fetch(`http://127.0.0.1:${s.server.port}/api/v1${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminSig()}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
    for (const [given, stored] of [
      ['::ffff:127.0.0.1', '127.0.0.1'],
      ['[::1]', '::1'],
      ['fe80::1%eth0', 'fe80::1'],
      ['[2001:DB8::1]/48', '2001:db8::/48'],
    ]) {
      const r = await api('/rooms/ip-api/ban', { ip: given });
      assert.equal(r.status, 200, `${given}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.items[0].subject, stored, given);
      const lifted = await api('/rooms/ip-api/unban', { ip: given });
      assert.equal(lifted.body.items.length, 1, `unban ${given}: ${JSON.stringify(lifted.body)}`);
    }
    // Zero-padded IPv4 is refused: some parsers read 010 as octal (8).
    const r = await api('/rooms/ip-api/ban', { ip: '010.0.0.1' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'invalid_param');
  });

  it('a client on a link-local address (seen with its zone, fe80::…%eth0) meets a ban on the address', async (t) => {
    const local = Object.entries(networkInterfaces())
      .flatMap(([name, list]) => (list ?? []).map((a) => ({ ...a, name })))
      .find((a) => a.family === 'IPv6' && a.address.startsWith('fe80:') && !a.internal);
    if (!local) return t.skip('no link-local IPv6 address on this machine');
    await createRoom(s, 'ip-link');
    await asAdmin(s, { type: 'banIp', roomId: 'ip-link', ip: local.address, reason: '', origin: 'tencent' });
    // A URL cannot carry the zone: the socket is made here, to the address on its interface.
    const ws = new WebSocket(`ws://[${local.address}]:${s.server.port}/realtime?${authQuery('u-link')}`, {
      perMessageDeflate: false,
      createConnection: () => connectTcp({ host: `${local.address}%${local.name}`, port: s.server.port }),
    });
    const c = new RawClient(ws, 'u-link');
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await c.fails('enterRoom', { roomId: 'ip-link' }, CODE.deniedIp);
    c.ws.close();
  });

  it('refuses an address that is none, and a range outside the documented lengths', async () => {
    await createRoom(s, 'ip-bad');
    for (const ip of ['300.1.1.1', '10.0.0.0/7', '2001:db8::/44']) {
      const kind = await asAdmin(s, { type: 'banIp', roomId: 'ip-bad', ip, reason: '', origin: 'tencent' }).then(
        () => 'accepted',
        (e) => e.kind,
      );
      assert.equal(kind, 'InvalidParam', ip);
    }
  });
});

describe('end to end, behind a trusted proxy', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ trustProxy: true });
  });
  after(async () => {
    await closeClients();
    await s.close();
  });

  it('a ban on an address refuses a client whose proxy forwarded it with a port', async () => {
    await createRoom(s, 'ip-port');
    await asAdmin(s, { type: 'banIp', roomId: 'ip-port', ip: '203.0.113.7', reason: '', origin: 'tencent' });
    await asAdmin(s, { type: 'banIp', roomId: 'ip-port', ip: '2001:db8::7', reason: '', origin: 'tencent' });
    for (const forwarded of ['203.0.113.7:5678', '[2001:db8::7]:443']) {
      const c = await RawClient.open(s, `u-port-${forwarded.length}`, { headers: { 'x-forwarded-for': forwarded } });
      await c.fails('enterRoom', { roomId: 'ip-port' }, CODE.deniedIp);
      c.ws.close();
    }
    const other = await RawClient.open(s, 'u-port-other', { headers: { 'x-forwarded-for': '203.0.113.8:5678' } });
    const entered = await other.ok('enterRoom', { roomId: 'ip-port' });
    assert.equal(entered.member.clientIp ?? (await asAdmin(s, { type: 'getMember', roomId: 'ip-port', userId: 'u-port-other' })).clientIp, '203.0.113.8');
    other.ws.close();
  });
});
