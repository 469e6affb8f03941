// UserSig, Tencent's TLSSigAPIv2: HMAC-SHA256 over a fixed text, in zlib-compressed JSON,
// base64 with the URL-safe substitutions + -> *, / -> -, = -> _.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';

export type UserSigFailure =
  | 'malformed' // cannot be decoded or parsed (70003)
  | 'expired' // 70001
  | 'wrongKey' // signature does not verify (70009)
  | 'identifierMismatch' // 70013
  | 'sdkAppIdMismatch'; // 70014

export class UserSigError extends Error {
  constructor(readonly reason: UserSigFailure, message: string) {
    super(message);
  }
}

function signingText(identifier: string, sdkAppId: number, time: number, expire: number, userbuf?: string): string {
  let s = `TLS.identifier:${identifier}\nTLS.sdkappid:${sdkAppId}\nTLS.time:${time}\nTLS.expire:${expire}\n`;
  if (userbuf !== undefined) s += `TLS.userbuf:${userbuf}\n`;
  return s;
}

function hmac(key: string, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}

function toUrlBase64(buf: Buffer): string {
  return buf.toString('base64').replace(/\+/g, '*').replace(/\//g, '-').replace(/=/g, '_');
}

const FROM_URL_SAFE: Record<string, string> = { '*': '+', '-': '/', _: '=' };

function fromUrlBase64(s: string): Buffer {
  return Buffer.from(s.replace(/[*\-_]/g, (c) => FROM_URL_SAFE[c]), 'base64');
}

/** Generates a UserSig valid for `expireSeconds` from `now` (ms). */
export function genUserSig(sdkAppId: number, secretKey: string, identifier: string, expireSeconds: number, now = Date.now()): string {
  const time = Math.floor(now / 1000);
  const sig = hmac(secretKey, signingText(identifier, sdkAppId, time, expireSeconds)).toString('base64');
  const doc = {
    'TLS.ver': '2.0',
    'TLS.identifier': String(identifier),
    'TLS.sdkappid': Number(sdkAppId),
    'TLS.time': time,
    'TLS.expire': expireSeconds,
    'TLS.sig': sig,
  };
  return toUrlBase64(deflateSync(Buffer.from(JSON.stringify(doc))));
}

export interface VerifiedSig {
  identifier: string;
  sdkAppId: number;
  /** When it stops being valid, ms. */
  expiresAt: number;
}

const MAX_SIG_LENGTH = 4096;

/** Decodes and checks a UserSig, in the order Tencent's reference verifier does. */
export function verifyUserSig(sig: string, sdkAppId: number, identifier: string, secretKey: string, now = Date.now()): VerifiedSig {
  if (sig.length === 0 || sig.length > MAX_SIG_LENGTH) throw new UserSigError('malformed', 'UserSig is empty or too long');
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(inflateSync(fromUrlBase64(sig), { maxOutputLength: 64 * 1024 }).toString('utf8'));
  } catch {
    throw new UserSigError('malformed', 'UserSig cannot be decoded (truncated?)');
  }
  if (doc === null || typeof doc !== 'object') throw new UserSigError('malformed', 'UserSig is not a JSON object');
  const sigIdentifier = doc['TLS.identifier'];
  const sigAppId = Number(doc['TLS.sdkappid']);
  const time = Number(doc['TLS.time']);
  const expire = Number(doc['TLS.expire']);
  const mac = doc['TLS.sig'];
  const userbuf = doc['TLS.userbuf'];
  if (
    typeof sigIdentifier !== 'string' ||
    !Number.isSafeInteger(sigAppId) ||
    !Number.isSafeInteger(time) ||
    !Number.isSafeInteger(expire) ||
    typeof mac !== 'string' ||
    (userbuf !== undefined && typeof userbuf !== 'string')
  ) {
    throw new UserSigError('malformed', 'UserSig lacks required fields');
  }
  if (sigAppId !== sdkAppId) throw new UserSigError('sdkAppIdMismatch', 'UserSig was made for another SDKAppID');
  if (sigIdentifier !== identifier) throw new UserSigError('identifierMismatch', 'UserSig was made for another identifier');
  const expiresAt = (time + expire) * 1000;
  if (now > expiresAt) throw new UserSigError('expired', 'UserSig has expired');
  const expected = hmac(secretKey, signingText(sigIdentifier, sigAppId, time, expire, userbuf as string | undefined));
  const given = Buffer.from(mac, 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new UserSigError('wrongKey', 'UserSig signature does not verify with this app\'s key');
  }
  return { identifier: sigIdentifier, sdkAppId: sigAppId, expiresAt };
}

/**
 * Remembers verified sigs so that a caller reusing one sig pays for the inflate + HMAC once.
 * Keyed by the exact inputs; expiry is still checked on every use.
 */
export class UserSigVerifier {
  /** By sig (no key built per call); the other inputs are compared on a hit. */
  private readonly cache = new Map<string, { sdkAppId: number; identifier: string; secretKey: string; verified: VerifiedSig }>();
  constructor(private readonly maxEntries = 10_000) {}

  verify(sig: string, sdkAppId: number, identifier: string, secretKey: string, now = Date.now()): VerifiedSig {
    const hit = this.cache.get(sig);
    if (hit && hit.sdkAppId === sdkAppId && hit.identifier === identifier && hit.secretKey === secretKey) {
      if (now > hit.verified.expiresAt) {
        this.cache.delete(sig);
        throw new UserSigError('expired', 'UserSig has expired');
      }
      return hit.verified;
    }
    const verified = verifyUserSig(sig, sdkAppId, identifier, secretKey, now);
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(sig, { sdkAppId, identifier, secretKey, verified });
    return verified;
  }
}

/**
 * The app and identifier a UserSig names, read without verifying it (null when it cannot be
 * decoded): a bearer token says whose it claims to be, then verifyUserSig checks the claim.
 */
export function peekUserSig(sig: string): { sdkAppId: number; identifier: string } | null {
  if (sig.length === 0 || sig.length > MAX_SIG_LENGTH) return null;
  try {
    const doc = JSON.parse(inflateSync(fromUrlBase64(sig), { maxOutputLength: 64 * 1024 }).toString('utf8'));
    const sdkAppId = Number(doc?.['TLS.sdkappid']);
    const identifier = doc?.['TLS.identifier'];
    if (!Number.isSafeInteger(sdkAppId) || typeof identifier !== 'string') return null;
    return { sdkAppId, identifier };
  } catch {
    return null;
  }
}
