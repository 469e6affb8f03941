// Deny and mute lookups: indexed by subject in the store, in the room and app-wide.
import { RoomError } from './errors.js';
import type { ReadContext } from './context.js';
import type { MuteEntry } from './model.js';
import type { Subject } from './ports/store.js';
import { ipSubjects } from './ip.js';

function subjectsOf(userId: string, ip: string): Subject[] {
  const subjects: Subject[] = [{ subjectType: 'userId', subject: userId }];
  // The address in its one spelling, and the ranges it falls in (see ip.ts).
  for (const subject of ipSubjects(ip)) subjects.push({ subjectType: 'ip', subject });
  return subjects;
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
