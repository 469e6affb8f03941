// Input checks shared by several rule modules (field limits live in limits.ts).
import { invalid } from './errors.js';
import { LIMITS, checkId } from './limits.js';
import type { Room } from './model.js';

export function checkIndex(room: Room, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= room.maxSeatCount) {
    throw invalid('index', `must be a seat index 0..${room.maxSeatCount - 1}`);
  }
}

/** A ban or mute lasts 1..maxBanSeconds seconds, or (null) until lifted. */
export function checkDuration(seconds: number | null): void {
  if (seconds !== null && (!Number.isInteger(seconds) || seconds <= 0 || seconds > LIMITS.maxBanSeconds)) {
    throw invalid('duration', `must be 1..${LIMITS.maxBanSeconds} seconds`);
  }
}

export function checkMaxMembers(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > LIMITS.maxMemberCount) {
    throw invalid('maxMemberCount', `must be 1..${LIMITS.maxMemberCount}`);
  }
}

export function checkUserList(ids: string[], max: number = LIMITS.membersPerCall): void {
  if (ids.length === 0 || ids.length > max) throw invalid('userIds', `must list 1..${max} user IDs`);
  for (const id of ids) checkId('userIds', id);
}

/** Safe integers only: a store cannot page with 1e20 (and must not fail as if it were down). */
export function checkPage(q: { limit?: number; offset?: number }): void {
  if (q.offset !== undefined && !(Number.isSafeInteger(q.offset) && q.offset >= 0)) {
    throw invalid('offset', 'must be a non-negative integer');
  }
  if (q.limit !== undefined && !(Number.isSafeInteger(q.limit) && q.limit >= 1)) {
    throw invalid('limit', 'must be a positive integer');
  }
}

export function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
