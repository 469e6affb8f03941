// Console passwords: scrypt, stored as `scrypt$N$r$p$<salt b64>$<hash b64>` in the config, never
// in clear. Verification recomputes with the stored parameters and compares in constant time.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

const N = 16384;
const R = 8;
const P = 1;
const KEYLEN = 32;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, KEYLEN, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

const FORMAT = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

interface Parsed {
  n: number;
  r: number;
  p: number;
  salt: Buffer;
  expected: Buffer;
}

/**
 * The stored hash's parts, or why it cannot be used: scrypt refuses N that is not a power of 2,
 * r or p of 0; larger ones than these bounds would make every sign-in allocate gigabytes.
 */
function parse(stored: string): Parsed | string {
  const m = FORMAT.exec(stored);
  if (!m) return 'not a hash from rostrum hash-password (scrypt$N$r$p$salt$hash)';
  const [n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const salt = Buffer.from(m[4], 'base64');
  const expected = Buffer.from(m[5], 'base64');
  if (n < 2 || n > 1 << 20 || (n & (n - 1)) !== 0) return 'N must be a power of 2 from 2 to 2^20';
  if (r < 1 || r > 32) return 'r must be 1..32';
  if (p < 1 || p > 16) return 'p must be 1..16';
  if (salt.length === 0) return 'the salt is empty';
  if (expected.length < 16) return 'the hash is shorter than 16 bytes';
  return { n, r, p, salt, expected };
}

export function isPasswordHash(s: string): boolean {
  return typeof parse(s) !== 'string';
}

/** Why a stored hash cannot be used (for the config's error message), or null when it can. */
export function passwordHashProblem(s: string): string | null {
  const parsed = parse(s);
  return typeof parsed === 'string' ? parsed : null;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = parse(stored);
  if (typeof h === 'string') return false;
  const got = await scrypt(password, h.salt, h.expected.length, { N: h.n, r: h.r, p: h.p, maxmem: 256 * h.n * h.r + 1024 * 1024 });
  return timingSafeEqual(got, h.expected);
}
