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

/** A NUL character, or a UTF-16 surrogate not in a pair (high then low). */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The first field whose text, anywhere inside it (every string, however deeply nested), holds a
 * NUL character or an unpaired surrogate (valid in JSON as an escape, "\ud800", but not text:
 * PostgreSQL's jsonb refuses both and its text NUL; SQLite would keep them). Every store refuses
 * them alike, as a bad parameter, before the command runs.
 */
export function unstorableText(command: object): { field: string; problem: string } | null {
  for (const [field, value] of Object.entries(command)) {
    const problem = unstorableIn(value);
    if (problem !== null) return { field, problem };
  }
  return null;
}

/** Why `text` cannot be stored (a NUL, an unpaired surrogate), or null when it can. */
export function textProblem(text: string): string | null {
  const m = UNSTORABLE.exec(text);
  if (m === null) return null;
  return m[0] === '\u0000' ? 'may not contain the NUL character' : 'may not contain an unpaired UTF-16 surrogate (\\uD800-\\uDFFF)';
}

/** textProblem of the first string within `value` that has one (walked without recursion). */
function unstorableIn(value: unknown): string | null {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem !== null) return problem;
    } else if (v !== null && typeof v === 'object') {
      for (const inner of Object.values(v)) pending.push(inner);
    }
  }
  return null;
}
