// Room passwords: stored as scrypt hashes (node:crypto), compared in constant time, and guessed
// at most ATTEMPTS_PER_MINUTE times a minute per user and per client IP in each room (a sliding
// window kept by the Limits port: in this process, or shared by the nodes through Redis). A room
// stored by an earlier release keeps its password in plain text until the first right entry,
// which stores the hash instead.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { safeEqual } from '../auth/safe-equal.js';
import type { WriteContext } from './context.js';
import { RoomError } from './errors.js';
import { normalizeIp } from './ip.js';
import type { RoomAggregate } from './model.js';

/** Wrong passwords allowed per user, and per client IP, in one room within a minute. */
export const ATTEMPTS_PER_MINUTE = 10;
const WINDOW_MS = 60_000;

// N=2^14, r=8: ~16 MiB and a few tens of milliseconds per hash, off the event loop (libuv pool).
const PARAMS = { N: 16384, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
const PREFIX = 'scrypt$';

function scrypt(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, { ...opts, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))));
}

/** `scrypt$N$r$p$salt$hash` (base64url). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_BYTES, PARAMS);
  return `${PREFIX}${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export function isHashed(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

/** Whether `given` is the password `stored` (a hash, or a legacy plain text) was made from. */
export async function verifyPassword(stored: string, given: string): Promise<boolean> {
  if (!isHashed(stored)) return safeEqual(given, stored);
  const [N, r, p, salt, hash] = stored.slice(PREFIX.length).split('$');
  const want = Buffer.from(hash, 'base64url');
  const got = await scrypt(given, Buffer.from(salt, 'base64url'), want.length, { N: Number(N), r: Number(r), p: Number(p) });
  return got.length === want.length && timingSafeEqual(got, want);
}

/** The stored form of a password set through a command ('' stays '': no password). */
export async function storedPassword(password: string | undefined): Promise<string | undefined> {
  return password ? hashPassword(password) : password;
}


/**
 * Refuses a wrong password (WrongPassword) and, after ATTEMPTS_PER_MINUTE wrong ones by this
 * user or from this IP in this room, every attempt until the minute ends (PasswordAttemptsExceeded).
 * A right password stored in plain text is replaced by its hash.
 */
export async function checkRoomPassword(c: WriteContext, agg: RoomAggregate, userId: string, clientIp: string, given: string): Promise<void> {
  const room = `${c.appId}\n${agg.room.roomId}\n`;
  const keys = [`${room}u\n${userId}`];
  const ip = normalizeIp(clientIp);
  if (ip) keys.push(`${room}i\n${ip}`);
  // Wrong attempts are counted through the engine's Limits (per node, or shared by the cluster).
  // Each attempt is counted before its check, in one step with it, and taken back unless wrong:
  // attempts at once cannot all pass the check before any is counted.
  const id = randomBytes(12).toString('base64url');
  const wait = c.limits.attemptReserved(keys, ATTEMPTS_PER_MINUTE, WINDOW_MS, c.now, id);
  if ((typeof wait === 'number' ? wait : await wait) > 0) {
    throw new RoomError('PasswordAttemptsExceeded', `too many wrong passwords for room ${agg.room.roomId}: wait a minute`);
  }
  let right: boolean;
  try {
    right = await verifyPassword(agg.room.password, given);
  } catch (e) {
    await c.limits.attemptReleased(keys, id); // no check made: not a wrong password
    throw e;
  }
  if (!right) throw new RoomError('WrongPassword', 'wrong room password');
  await c.limits.attemptReleased(keys, id);
  if (!isHashed(agg.room.password)) {
    agg.room = { ...agg.room, password: await hashPassword(agg.room.password) };
    c.changed(agg);
  }
}
