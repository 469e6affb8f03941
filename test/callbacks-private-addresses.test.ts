// callbacks.privateAddresses: the address ranges deny refuses (IPv4, IPv6, IPv4-mapped); with
// deny, a callback URL on a literal internal address or localhost is refused when configured
// (Tencent room_config, the native API, the config file at start), and a delivery to a name that
// resolves to one never reaches the receiver (given up with the reason), nor does one to an
// internal address set before deny was; with the default allow the same is delivered.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isPrivateAddress, refusedCallbackHost } from '../src/callbacks/address-policy.js';
import { PostError, permittedLookup } from '../src/callbacks/http-post.js';
import { ConfigError, parseConfig } from '../src/config.js';
import { APP, adminSig, startTestServer, tempData, type TestServer } from './support/harness.js';
import { cleanUp, cli, newDir } from './support/cli.js';
import { failed, ok } from './support/tencent.js';
import { receiversClosedAfter, until } from './support/receiver.js';

const receiver = receiversClosedAfter();
after(cleanUp);
const fast = { backoffBaseMs: 50, backoffMaxMs: 200, giveUpHours: 1 / 3600 };

describe('the denied address ranges', () => {
  it('holds loopback, unspecified, private, CGNAT, link-local, unique-local, multicast and broadcast, in every form (IPv4-mapped, NAT64, 6to4)', () => {
    const denied = [
      '127.0.0.1', '127.255.255.254', '0.0.0.0', '0.1.2.3', '10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.255',
      '192.168.1.1', '100.64.0.1', '100.127.255.255', '169.254.169.254', '224.0.0.1', '239.255.255.255', '255.255.255.255',
      '192.0.0.1', '198.18.0.1', '198.19.255.255', '240.0.0.1', '255.255.255.254',
      '::1', '::', '::2', '::7f00:1', 'fe80::1', 'febf:ffff::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '64:ff9b:1::7f00:1', '64:ff9b:1::808:808',
      // IPv4-mapped IPv6: dotted and hexadecimal (as the URL parser writes them).
      '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:169.254.169.254', '::ffff:a00:1', '::ffff:0.0.0.0',
      // Carried to an IPv4 gateway: NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
      '64:ff9b::127.0.0.1', '64:ff9b::a9fe:a9fe', '64:ff9b::c0a8:101', '2002:7f00:1::', '2002:a9fe:a9fe::1', '2002:ac10:1::',
    ];
    const public_ = [
      '8.8.8.8', '1.1.1.1', '9.255.255.255', '11.0.0.0', '172.15.255.255', '172.32.0.0', '192.167.255.255', '192.169.0.0',
      '100.63.255.255', '100.128.0.0', '169.253.255.255', '169.255.0.0', '223.255.255.255', '192.0.1.0', '198.17.255.255', '198.20.0.0',
      '2001:4860:4860::8888', '2606:4700::1111', '::1:0:0:1', 'fec0::1', 'fbff::1', '::ffff:8.8.8.8', '::ffff:808:808',
      '64:ff9b::8.8.8.8', '64:ff9b::808:808', '2002:808:808::1', '2002:ac20::1', '64:ff9b:2::7f00:1',
    ];
    for (const a of denied) assert.equal(isPrivateAddress(a), true, `${a} is denied`);
    for (const a of public_) assert.equal(isPrivateAddress(a), false, `${a} is not denied`);
    assert.throws(() => isPrivateAddress('example.com'), TypeError);
  });

  it('refuses at configuration a literal internal address or localhost, in any spelling the URL parser reads', () => {
    const refused: [string, string][] = [
      ['http://127.0.0.1:8080/cb', '127.0.0.1'],
      ['http://2130706433/cb', '127.0.0.1'], // a number is an IPv4 address to the URL parser
      ['http://0x7f.1/cb', '127.0.0.1'],
      ['https://169.254.169.254/latest/meta-data', '169.254.169.254'],
      ['http://[::1]:9/cb', '::1'],
      ['http://[::ffff:127.0.0.1]/cb', '::ffff:7f00:1'],
      ['http://[fd00::1]/cb', 'fd00::1'],
      ['http://LOCALHOST/cb', 'localhost'],
      ['http://localhost./cb', 'localhost.'],
      ['http://api.localhost/cb', 'api.localhost'],
    ];
    for (const [url, host] of refused) assert.equal(refusedCallbackHost(url), host, url);
    for (const url of ['http://8.8.8.8/cb', 'https://hooks.example.com/cb', 'http://[2001:db8::1]/cb', 'http://localhost.example.com/cb', 'http://internal/cb']) {
      assert.equal(refusedCallbackHost(url), null, url);
    }
  });

  it('config: a bad value and, with deny, a config-file callback URL on an internal address are refused naming the key', () => {
    const app = { sdkAppId: 1400000001, secretKey: 'k', admins: ['administrator'] };
    const cases: [unknown, RegExp][] = [
      [{ callbacks: { privateAddresses: 'block' } }, /^invalid config: callbacks\.privateAddresses: expected one of allow, deny$/],
      [{ callbacks: { privateAddresses: 'deny' }, apps: [{ ...app, callback: { url: 'http://10.1.2.3/cb' } }] }, /^invalid config: apps\.0\.callback\.url: host 10\.1\.2\.3 is an internal address .*callbacks\.privateAddresses is deny/],
      [{ callbacks: { privateAddresses: 'deny' }, apps: [{ ...app, callback: { url: 'http://localhost:9000/cb' } }] }, /apps\.0\.callback\.url: host localhost /],
    ];
    for (const [config, message] of cases) {
      assert.throws(() => parseConfig(config), (e: Error) => e instanceof ConfigError && message.test(e.message), JSON.stringify(config));
    }
    // Allowed by default, and names are left to the delivery.
    parseConfig({ apps: [{ ...app, callback: { url: 'http://127.0.0.1/cb' } }] });
    parseConfig({ callbacks: { privateAddresses: 'allow' }, apps: [{ ...app, callback: { url: 'http://127.0.0.1/cb' } }] });
    parseConfig({ callbacks: { privateAddresses: 'deny' }, apps: [{ ...app, callback: { url: 'http://hooks.internal/cb' } }] });
  });

  it('rostrum serve with deny and a config-file callback on 127.0.0.1 exits 2 with the reason', async () => {
    const dir = newDir();
    const config = join(dir, 'deny.json');
    const app = { sdkAppId: 1400000001, secretKey: 'k', admins: ['administrator'], callback: { url: 'http://127.0.0.1:9/cb' } };
    writeFileSync(config, JSON.stringify({ apps: [app], callbacks: { privateAddresses: 'deny' } }));
    const c = cli(['serve', '--port', '0', '--data', join(dir, 'data'), '--config', config]);
    const { code } = await c.exited;
    assert.equal(code, 2, c.output.stderr);
    assert.match(c.output.stderr, /^rostrum: invalid config: apps\.0\.callback\.url: host 127\.0\.0\.1 is an internal address .*\(callbacks\.privateAddresses is deny\)$/m);
  });
});

describe('the lookup of a delivery\'s connection under deny', () => {
  type Answer = { err: Error | null; address: unknown; family?: number };
  /** permittedLookup over a resolver that answers `addresses` (or fails with `code`), as net calls it. */
  const lookUp = (addresses: { address: string; family: number }[] | string, options: { all?: boolean; family?: number; hints?: number }) =>
    new Promise<{ answer: Answer; asked: unknown }>((resolve) => {
      let asked: unknown;
      const lookup = permittedLookup((hostname, opts, callback) => {
        asked = { hostname, ...opts };
        if (typeof addresses === 'string') callback(Object.assign(new Error(`getaddrinfo ${addresses} ${hostname}`), { code: addresses }), []);
        else callback(null, addresses);
      });
      lookup('hooks.example', options as never, (err, address, family) => resolve({ answer: { err, address, family }, asked }));
    });

  it('keeps every permitted address, in the resolver\'s order, for the connection to try in turn; one when net asks for one', async () => {
    const resolved = [
      { address: '::1', family: 6 },
      { address: '2001:db8::7', family: 6 },
      { address: '10.0.0.7', family: 4 },
      { address: '203.0.113.7', family: 4 },
    ];
    const all = await lookUp(resolved, { all: true, family: 0, hints: 1024 });
    assert.equal(all.answer.err, null);
    assert.deepEqual(all.answer.address, [resolved[1], resolved[3]]);
    assert.deepEqual(all.asked, { hostname: 'hooks.example', family: 0, hints: 1024, all: true }, "net's family and hints are kept");
    const one = await lookUp(resolved, { family: 0 });
    assert.deepEqual(one.answer, { err: null, address: '2001:db8::7', family: 6 });
  });

  it('fails naming the first denied address when none is left, and says why a name did not resolve', async () => {
    const denied = await lookUp([{ address: '169.254.169.254', family: 4 }, { address: '::1', family: 6 }], { all: true });
    assert.ok(denied.answer.err instanceof PostError);
    assert.equal(denied.answer.err.message, 'callback address 169.254.169.254 (hooks.example) is not allowed (callbacks.privateAddresses is deny)');
    const unknown = await lookUp('ENOTFOUND', { all: true });
    assert.ok(unknown.answer.err instanceof PostError);
    assert.equal(unknown.answer.err.message, 'cannot resolve hooks.example: ENOTFOUND');
    assert.equal((await lookUp([], { all: true })).answer.err?.message, 'cannot resolve hooks.example: no address');
  });
});

describe('callbacks.privateAddresses = deny, end to end', () => {
  it('Tencent room_config and the native API refuse an internal literal address or localhost in their envelopes', async () => {
    const rx = await receiver();
    const s = await startTestServer({ callbacks: { privateAddresses: 'deny' } });
    try {
      for (const path of ['room_config/set_callback', 'room_config/update_callback']) {
        for (const url of [rx.url, 'http://localhost:9/cb', 'http://[::ffff:169.254.169.254]/latest']) {
          const r = await s.tencent(path, { Url: url, CallbackCommandList: [] });
          failed(r, 100002, 'Url');
          assert.match(r.ErrorInfo, /^invalid parameter Url: host \S+ is an internal address .*\(callbacks\.privateAddresses is deny\)$/);
        }
      }
      failed(await s.tencent('room_config/get_callback', {}), 100301); // nothing was stored
      const api = await nativeSetCallback(s, rx.url);
      assert.equal(api.status, 400);
      assert.equal(api.body.error.code, 'invalid_request');
      assert.equal(api.body.error.field, 'url');
      assert.match(api.body.error.message, /^url: host 127\.0\.0\.1 is an internal address .*\(callbacks\.privateAddresses is deny\)$/);
      // A public address is taken as before (nothing is sent there: no room changes).
      ok(await s.tencent('room_config/set_callback', { Url: 'http://203.0.113.7/cb', CallbackCommandList: [] }));
      assert.equal((await nativeSetCallback(s, 'https://hooks.example.com/cb')).status, 200);
      assert.equal(rx.attempts, 0);
    } finally {
      await s.close();
    }
  });

  it('a host name resolving to a denied address: the receiver gets nothing, the delivery is given up with the reason; with allow it is delivered', async (t) => {
    // Public DNS is not at hand in tests: this machine's own name, when the hosts file maps it to
    // a loopback address (a common setup), is a name that is not literally localhost.
    const name = hostname();
    const resolved = await lookup(name, { all: true }).catch(() => []);
    if (resolved.length === 0 || !resolved.every((a) => isPrivateAddress(a.address)) || !resolved.some((a) => a.address === '127.0.0.1')) {
      return t.skip(`this machine's name ${name} does not resolve to 127.0.0.1 alone among denied addresses (${JSON.stringify(resolved)})`);
    }
    const rx = await receiver();
    const url = rx.url.replace('127.0.0.1', name);

    const denied = await startTestServer({ apps: [{ ...APP, callback: { url } }], callbacks: { ...fast, privateAddresses: 'deny' } });
    try {
      ok(await denied.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'r-deny', RoomType: 'Conference' } }));
      const gaveUp = await givenUp(denied);
      assert.equal(gaveUp.command, 'Room.CallbackAfterCreateRoom');
      assert.match(gaveUp.lastError, new RegExp(`^callback address 127\\.0\\.0\\.1 \\(${name.replace(/\./g, '\\.')}\\) is not allowed \\(callbacks\\.privateAddresses is deny\\)$`));
      assert.ok(gaveUp.attempts >= 2, `retried like any failure (${gaveUp.attempts} attempts)`);
      assert.equal(rx.attempts, 0, 'the receiver saw no request');
    } finally {
      await denied.close();
    }

    const allowed = await startTestServer({ apps: [{ ...APP, callback: { url } }], callbacks: fast });
    try {
      ok(await allowed.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'r-allow', RoomType: 'Conference' } }));
      await until(() => rx.accepted.length === 1, 'the delivery with allow');
      assert.equal(rx.accepted[0].body.RoomInfo.RoomId, 'r-allow');
    } finally {
      await allowed.close();
    }
  });

  it('a URL on an internal address set while allowed is refused at delivery once deny is on', async () => {
    const rx = await receiver();
    const data = tempData();
    let s = await startTestServer({ data, callbacks: fast });
    try {
      ok(await s.tencent('room_config/set_callback', { Url: rx.url, CallbackCommandList: ['Room.CallbackAfterCreateRoom'] }));
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'before', RoomType: 'Conference' } }));
      await until(() => rx.accepted.length === 1, 'the delivery while allowed');
      await until(() => s.server.callbacks.relay.idle(), 'the relay to settle');
      await s.close();
      s = await startTestServer({ data, callbacks: { ...fast, privateAddresses: 'deny' } });
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'after', RoomType: 'Conference' } }));
      const gaveUp = await givenUp(s);
      assert.match(gaveUp.lastError, /^callback address 127\.0\.0\.1 is not allowed \(callbacks\.privateAddresses is deny\)$/);
      assert.equal(rx.accepted.length, 1);
      assert.equal(rx.attempts, 1, 'nothing more reached the receiver');
    } finally {
      await s.close();
      await data.remove();
    }
  });
});

async function nativeSetCallback(s: TestServer, url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${s.url}/api/v1/callbacks/config`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminSig()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url }),
  });
  return { status: res.status, body: await res.json() };
}

/** The app's one given-up delivery, once the relay has given it up. */
async function givenUp(s: TestServer) {
  let list: Awaited<ReturnType<typeof s.server.callbacks.service.failed>> = [];
  await until(async () => (list = await s.server.callbacks.service.failed(APP.sdkAppId, 10)).length > 0, 'the delivery to be given up');
  assert.equal(list.length, 1);
  return list[0];
}
