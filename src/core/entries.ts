// Deny and mute lookups: indexed by subject in the store, in the room and app-wide.
import { RoomError } from './errors.js';
import type { ReadContext } from './context.js';
import type { MuteEntry } from './model.js';
import type { Subject } from './ports/store.js';
import { ipSubjects } from './ip.js';

/**
 * An address's subjects: itself and the ranges it falls in (see ip.ts), 25 for IPv4. Every entry
 * and chat message checks them, so each address's list is made once and kept (a bounded memo).
 */
const ipSubjectsMemo = new Map<string, readonly Subject[]>();
const IP_MEMO_MAX = 1000;

function ipSubjectList(ip: string): readonly Subject[] {
  let list = ipSubjectsMemo.get(ip);
  if (!list) {
    if (ipSubjectsMemo.size >= IP_MEMO_MAX) ipSubjectsMemo.clear();
    list = ipSubjects(ip).map((subject) => ({ subjectType: 'ip', subject }) as const);
    ipSubjectsMemo.set(ip, list);
  }
  return list;
}

function subjectsOf(userId: string, ip: string): Subject[] {
  return [{ subjectType: 'userId', subject: userId }, ...ipSubjectList(ip)];
}

/** Refuses entry when a deny entry matches the user (first) or their IP. */
export async function checkNotDenied(c: ReadContext, roomId: string, userId: string, ip: string): Promise<void> {
  const found = await c.store.matching('deny', roomId, subjectsOf(userId, ip), c.now);
  const byUser = found.find((e) => e.subjectType === 'userId');
  if (byUser) throw new RoomError('DeniedUser', `${userId} may not enter room ${roomId}: ${byUser.reason || 'banned'}`);
  if (found.length > 0) throw new RoomError('DeniedIp', `entry from ${ip} is refused in room ${roomId}`);
}

export async function activeMutes(c: ReadContext, roomId: string, userId: string, ip: string): Promise<MuteEntry[]> {
  return c.store.matching('mute', roomId, subjectsOf(userId, ip), c.now);
}
