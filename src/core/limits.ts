// Field limits from the Tencent Room Engine reference (bytes are UTF-8 bytes).
import { invalid } from './errors.js';

export const LIMITS = {
  roomIdBytes: 48,
  roomNameBytes: 100,
  roomCustomInfoBytes: 500,
  nameCardBytes: 32,
  memberCustomInfoBytes: 60,
  reasonBytes: 1000,
  dataBytes: 1000, // kick_user_off_seat Data: no documented limit; bounded like Reason
  userIdBytes: 48,
  passwordBytes: 64,
  avatarBytes: 500,
  userTypeBytes: 32,
  messageBytes: 2000,
  membersPerCall: 20, // ban / unban / kick_user_out
  markMembersPerCall: 10,
  marksPerCall: 3,
  marksPerRoom: 10,
  minMark: 1000,
  maxSeatCount: 100,
  defaultMaxSeatCount: 8,
  defaultMaxMemberCount: 10_000,
  maxMemberCount: 1_000_000,
  memberListPage: 100,
  memberListDefault: 50,
  bannedListPage: 100,
  historyPage: 100,
  historyPageDefault: 50,
  historyDeletePerCall: 100,
  maxBanSeconds: 4_294_967_295, // ban Duration: a 32-bit unsigned count of seconds, like Tencent's other durations
} as const;

export function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Throws InvalidParam when `value` is over `max` UTF-8 bytes. */
export function checkBytes(field: string, value: string | undefined, max: number): void {
  if (value !== undefined && byteLength(value) > max) {
    throw invalid(field, `must be at most ${max} bytes`);
  }
}

export function checkId(field: string, value: string, max: number = LIMITS.userIdBytes): void {
  if (value.length === 0) throw invalid(field, 'must not be empty');
  checkBytes(field, value, max);
}
