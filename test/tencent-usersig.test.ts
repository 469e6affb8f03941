// UserSig interop: an independent generator written from Tencent's published tls-sig-api-v2 Node
// algorithm (not from Rostrum's code) must be accepted by the server, and what Rostrum generates
// (library and `rostrum usersig`) must verify under that algorithm.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { constants, deflateSync, inflateSync } from 'node:zlib';
import { UserSigVerifier, genUserSig, type UserSigError } from '../src/auth/usersig.js';
import type { App } from '../src/core/model.js';
import { APP, startTestServer, type TestServer } from './support/harness.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

// ------------------------------------------------------------------ the published algorithm

function escapeBase64(b64: string): string {
  return b64.replace(/\+/g, '*').replace(/\//g, '-').replace(/=/g, '_');
}

function unescapeBase64(s: string): string {
  return s.replace(/_/g, '=').replace(/-/g, '/').replace(/\*/g, '+');
}

/** Text signed by TLSSigAPIv2 `_hmacsha256`: every line ends with \n; userbuf only when present. */
function contentToBeSigned(identifier: string, sdkappid: number, currTime: number, expire: number, base64UserBuf: string | null): string {
  let content = 'TLS.identifier:' + identifier + '\n';
  content += 'TLS.sdkappid:' + sdkappid + '\n';
  content += 'TLS.time:' + currTime + '\n';
  content += 'TLS.expire:' + expire + '\n';
  if (base64UserBuf !== null) content += 'TLS.userbuf:' + base64UserBuf + '\n';
  return content;
}

function hmacBase64(key: string, content: string): string {
  return createHmac('sha256', key).update(content).digest('base64');
}

interface GenOptions {
  userbuf?: Buffer;
  now?: number;
  /** Go's tls-sig-api-v2 writes its fields in this order and deflates with NoCompression. */
  goStyle?: boolean;
  /** Sign as if there were no userbuf even though the document carries one (a forgery). */
  signWithoutUserbuf?: boolean;
}

/** TLSSigAPIv2.genPrivateMapKey / genUserSig, step by step as published. */
function tlsSigApiV2(sdkappid: number, key: string, userid: string, expire: number, opts: GenOptions = {}): string {
  const currTime = Math.floor((opts.now ?? Date.now()) / 1000);
  const base64UserBuf = opts.userbuf ? opts.userbuf.toString('base64') : null;
  const sig = hmacBase64(key, contentToBeSigned(userid, sdkappid, currTime, expire, opts.signWithoutUserbuf ? null : base64UserBuf));
  let doc: Record<string, unknown>;
  if (opts.goStyle) {
    doc = { 'TLS.ver': '2.0', 'TLS.identifier': userid, 'TLS.sdkappid': sdkappid, 'TLS.expire': expire, 'TLS.time': currTime };
  } else {
    doc = { 'TLS.ver': '2.0', 'TLS.identifier': '' + userid, 'TLS.sdkappid': Number(sdkappid), 'TLS.time': Number(currTime), 'TLS.expire': Number(expire) };
  }
  if (base64UserBuf !== null) doc['TLS.userbuf'] = base64UserBuf;
  doc['TLS.sig'] = sig;
  const json = Buffer.from(JSON.stringify(doc));
  const compressed = opts.goStyle ? deflateSync(json, { level: constants.Z_NO_COMPRESSION }) : deflateSync(json);
  return escapeBase64(compressed.toString('base64'));
}

/** TLSSigAPIv2 `_genUserbuf` (PrivateMapKey): cVer, account, sdkappid, room, expiry, privileges, type. */
function genUserbuf(account: string, sdkappid: number, roomId: number, expire: number, privilegeMap: number): Buffer {
  const accountBytes = Buffer.from(account, 'latin1');
  const words = [sdkappid, roomId, Math.floor(Date.now() / 1000) + expire, privilegeMap, 0 /* dwAccountType */];
  const buf = Buffer.alloc(1 + 2 + accountBytes.length + 4 * words.length);
  let offset = buf.writeUInt8(0, 0); // cVer
  offset = buf.writeUInt16BE(accountBytes.length, offset);
  offset += accountBytes.copy(buf, offset);
  for (const w of words) offset = buf.writeUInt32BE(w >>> 0, offset);
  return buf;
}

/** Decodes a UserSig and recomputes its HMAC with `key`, as Tencent's verifiers do. */
function decodeAndCheck(usersig: string, key: string): { doc: Record<string, unknown>; keys: string[]; signatureValid: boolean } {
  const json = inflateSync(Buffer.from(unescapeBase64(usersig), 'base64')).toString('utf8');
  const doc = JSON.parse(json) as Record<string, unknown>;
  const expected = hmacBase64(
    key,
    contentToBeSigned(
      doc['TLS.identifier'] as string,
      doc['TLS.sdkappid'] as number,
      doc['TLS.time'] as number,
      doc['TLS.expire'] as number,
      (doc['TLS.userbuf'] as string | undefined) ?? null,
    ),
  );
  return { doc, keys: Object.keys(doc), signatureValid: expected === doc['TLS.sig'] };
}

// ------------------------------------------------------------------ the server side

// An app whose admin identifier is not plain ASCII: the HMAC is over UTF-8 bytes on both sides.
const UNICODE_APP: App = {
  sdkAppId: 1400000077,
  secretKey: 'clé-secrète-密钥',
  admins: ['管理员-admin'],
  rateLimit: { perCommandPerSecond: 0, perEndpointPerSecond: 0 },
};

let s: TestServer;
before(async () => {
  s = await startTestServer({ apps: [APP, UNICODE_APP] });
});
after(async () => {
  await s.close();
});

async function callWith(app: App, usersig: string, identifier = app.admins[0]): Promise<{ ErrorCode: number; ErrorInfo: string }> {
  return s.tencent('room_engine_http_srv/get_room_info', { RoomId: 'none' }, { app, identifier, usersig });
}

/** Authenticated calls reach the command: unknown room (100004) means the sig was accepted. */
const ACCEPTED = 100004;

describe('the server accepts UserSigs from the published algorithm', () => {
  it('accepts a Node-style UserSig', async () => {
    const r = await callWith(APP, tlsSigApiV2(APP.sdkAppId, APP.secretKey, 'administrator', 86400));
    assert.equal(r.ErrorCode, ACCEPTED, r.ErrorInfo);
  });

  it('accepts a Go-style UserSig (other field order, stored uncompressed)', async () => {
    const r = await callWith(APP, tlsSigApiV2(APP.sdkAppId, APP.secretKey, 'administrator', 86400, { goStyle: true }));
    assert.equal(r.ErrorCode, ACCEPTED, r.ErrorInfo);
  });

  it('accepts non-ASCII identifiers and keys', async () => {
    const r = await callWith(UNICODE_APP, tlsSigApiV2(UNICODE_APP.sdkAppId, UNICODE_APP.secretKey, UNICODE_APP.admins[0], 86400));
    assert.equal(r.ErrorCode, ACCEPTED, r.ErrorInfo);
  });

  it('accepts a UserSig carrying TLS.userbuf when its HMAC covers the userbuf line', async () => {
    const userbuf = genUserbuf('administrator', APP.sdkAppId, 1234, 300, 255);
    const sig = tlsSigApiV2(APP.sdkAppId, APP.secretKey, 'administrator', 86400, { userbuf });
    assert.ok(decodeAndCheck(sig, APP.secretKey).doc['TLS.userbuf']);
    assert.equal((await callWith(APP, sig)).ErrorCode, ACCEPTED);
  });

  it('refuses a userbuf the HMAC does not cover (70009)', async () => {
    const userbuf = genUserbuf('administrator', APP.sdkAppId, 1234, 300, 255);
    const forged = tlsSigApiV2(APP.sdkAppId, APP.secretKey, 'administrator', 86400, { userbuf, signWithoutUserbuf: true });
    assert.equal((await callWith(APP, forged)).ErrorCode, 70009);
  });

  it('refuses what the published algorithm makes expired, or for someone else', async () => {
    const expired = tlsSigApiV2(APP.sdkAppId, APP.secretKey, 'administrator', 60, { now: Date.now() - 120_000 });
    assert.equal((await callWith(APP, expired)).ErrorCode, 70001);
    assert.equal((await callWith(APP, tlsSigApiV2(APP.sdkAppId, 'other-key', 'administrator', 60))).ErrorCode, 70009);
    assert.equal((await callWith(APP, tlsSigApiV2(APP.sdkAppId, APP.secretKey, 'user2', 60))).ErrorCode, 70013);
    assert.equal((await callWith(APP, tlsSigApiV2(UNICODE_APP.sdkAppId, APP.secretKey, 'administrator', 60))).ErrorCode, 70014);
  });

  it('refuses a sig whose JSON was altered after signing (70009)', async () => {
    const sig = tlsSigApiV2(APP.sdkAppId, APP.secretKey, 'administrator', 60);
    const { doc } = decodeAndCheck(sig, APP.secretKey);
    doc['TLS.expire'] = 10 * 365 * 86400; // try to stretch its life
    const altered = escapeBase64(deflateSync(Buffer.from(JSON.stringify(doc))).toString('base64'));
    assert.equal((await callWith(APP, altered)).ErrorCode, 70009);
  });
});

describe("Rostrum's UserSigs verify under the published algorithm", () => {
  it('genUserSig matches the published algorithm byte for byte', () => {
    const now = Date.now();
    assert.equal(genUserSig(APP.sdkAppId, APP.secretKey, 'administrator', 86400, now), tlsSigApiV2(APP.sdkAppId, APP.secretKey, 'administrator', 86400, { now }));
    assert.equal(
      genUserSig(UNICODE_APP.sdkAppId, UNICODE_APP.secretKey, UNICODE_APP.admins[0], 5, now),
      tlsSigApiV2(UNICODE_APP.sdkAppId, UNICODE_APP.secretKey, UNICODE_APP.admins[0], 5, { now }),
    );
  });

  it('`rostrum usersig` prints a UserSig that decodes and verifies, and the server accepts', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'usersig', '--sdkappid', String(APP.sdkAppId), '--key', APP.secretKey, '--user', 'administrator', '--expire', '3600'],
      { cwd: ROOT },
    );
    const usersig = stdout.trim();
    assert.match(usersig, /^[A-Za-z0-9*\-_]+$/, 'URL-safe alphabet only');
    const { doc, keys, signatureValid } = decodeAndCheck(usersig, APP.secretKey);
    assert.ok(signatureValid, 'HMAC recomputed with the key matches TLS.sig');
    assert.deepEqual(keys, ['TLS.ver', 'TLS.identifier', 'TLS.sdkappid', 'TLS.time', 'TLS.expire', 'TLS.sig']);
    assert.equal(doc['TLS.ver'], '2.0');
    assert.equal(doc['TLS.identifier'], 'administrator');
    assert.equal(doc['TLS.sdkappid'], APP.sdkAppId);
    assert.equal(doc['TLS.expire'], 3600);
    const time = doc['TLS.time'] as number;
    assert.ok(time >= before && time <= Math.floor(Date.now() / 1000));
    assert.equal(decodeAndCheck(usersig, 'another-key').signatureValid, false);
    assert.equal((await callWith(APP, usersig)).ErrorCode, ACCEPTED);
  });

  it('`rostrum usersig` defaults to 180 days and refuses missing arguments with exit code 2', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'usersig', '--sdkappid', '1400000001', '--key', 'k', '--user', 'u'], { cwd: ROOT });
    assert.equal(decodeAndCheck(stdout.trim(), 'k').doc['TLS.expire'], 180 * 86400);
    const bad: [string[], RegExp][] = [
      [['--sdkappid', '1', '--user', 'u'], /^rostrum: --key KEY is required$/m],
      [['--key', 'k', '--user', 'u'], /^rostrum: --sdkappid N is required$/m],
      // Given, but not an app id: said so, not "required".
      [['--sdkappid', 'x', '--key', 'k', '--user', 'u'], /^rostrum: invalid --sdkappid: x \(1 to 4294967295\)$/m],
      [['--sdkappid', '4294967296', '--key', 'k', '--user', 'u'], /^rostrum: invalid --sdkappid: 4294967296 /m],
    ];
    await Promise.all(
      bad.map(([args, message]) =>
        assert.rejects(run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'usersig', ...args], { cwd: ROOT }), (e: { code?: number; stderr?: string }) => {
          assert.equal(e.code, 2);
          assert.match(e.stderr ?? '', message);
          return true;
        }),
      ),
    );
  });
});

describe('UserSigVerifier (the cache in front of verification)', () => {
  const KEY = 'k'.repeat(64);
  const APP_ID = 1400000001;

  it('answers a reused sig from its cache, and still refuses it for anyone else, another app or key, or once expired', () => {
    const v = new UserSigVerifier();
    const now = Date.now();
    const a = genUserSig(APP_ID, KEY, 'admin', 60, now);
    const b = genUserSig(APP_ID, KEY, 'other', 60, now);
    for (let i = 0; i < 3; i++) {
      assert.equal(v.verify(a, APP_ID, 'admin', KEY, now).identifier, 'admin');
      assert.equal(v.verify(b, APP_ID, 'other', KEY, now).identifier, 'other');
    }
    const reason = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as UserSigError).reason;
      }
      return 'accepted';
    };
    assert.equal(v.verify(a, APP_ID, 'admin', KEY, now).identifier, 'admin'); // the last one used
    assert.equal(reason(() => v.verify(a, APP_ID, 'other', KEY, now)), 'identifierMismatch');
    assert.equal(reason(() => v.verify(a, APP_ID + 1, 'admin', KEY, now)), 'sdkAppIdMismatch');
    assert.equal(reason(() => v.verify(a, APP_ID, 'admin', 'x'.repeat(64), now)), 'wrongKey');
    assert.equal(reason(() => v.verify(a, APP_ID, 'admin', KEY, now + 61_000)), 'expired');
    assert.equal(reason(() => v.verify(b, APP_ID, 'other', KEY, now + 61_000)), 'expired');
  });
});
