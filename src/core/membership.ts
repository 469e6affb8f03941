// Membership: entering and leaving, member reads, member info and marks, and the removal of a
// member that kicks and bans share.
import { RoomError, invalid } from './errors.js';
import { requireModerator, requireOutranks, roleOf, type WriteContext } from './context.js';
import { activeMutes, checkNotDenied } from './entries.js';
import { normalizeIp } from './ip.js';
import { checkRoomPassword } from './passwords.js';
import type { LeaveReason } from './events.js';
import { read, write, type Handlers } from './handler.js';
import { LIMITS, checkBytes, checkId } from './limits.js';
import type { Member, RoomAggregate } from './model.js';
import { clearSeat, dropRequestsOf, seatsChanged } from './seating.js';
import { memberView, roomLife, roomView } from './views.js';

/** Takes the member out: frees their seat, drops their requests, announces the leave. */
export async function removeMember(c: WriteContext, agg: RoomAggregate, m: Member, reason: LeaveReason, actor: string): Promise<void> {
  const seat = agg.seats.find((s) => s.userId === m.userId);
  if (seat) {
    clearSeat(agg, seat);
    seatsChanged(c, agg, actor);
  }
  dropRequestsOf(agg, m.userId);
  await c.store.deleteMember(agg.room.roomId, m.userId);
  agg.memberCount = Math.max(0, agg.memberCount - 1);
  c.emit(agg, { type: 'memberLeft', actor, data: { userId: m.userId, connId: m.connId, reason, memberCount: agg.memberCount } });
}

/** Tells the member they are out, then removes them. */
export async function expel(
  c: WriteContext,
  agg: RoomAggregate,
  m: Member,
  actor: string,
  kind: LeaveReason,
  reason: string,
  until: number | null = null,
): Promise<void> {
  c.emit(agg, { type: 'kickedOutOfRoom', actor, to: [m.userId], data: { userId: m.userId, connId: m.connId, kind, reason, until } });
  await removeMember(c, agg, m, kind, actor);
}

export const membershipHandlers: Handlers<'enterRoom' | 'leaveRoom' | 'listMembers' | 'getMember' | 'updateMemberInfo' | 'markMembers'> = {
  enterRoom: write(async (c, input) => {
    const userId = c.actor.userId;
    const { roomId } = input;
    checkId('userId', userId);
    checkBytes('nameCard', input.nick, LIMITS.nameCardBytes);
    checkBytes('avatar', input.avatar, LIMITS.avatarBytes);
    checkBytes('userType', input.userType, LIMITS.userTypeBytes);
    checkBytes('customInfo', input.customInfo, LIMITS.memberCustomInfoBytes);
    // The address as stored (no port, one spelling): deny and mute entries are checked against it.
    const clientIp = normalizeIp(input.clientIp);
    // Shared: an app-wide ban committing beside this entry either sees the member or is seen.
    await c.store.lockApp('shared');
    const agg = await c.room(roomId);
    await checkNotDenied(c, roomId, userId, clientIp);
    const isOwner = agg.room.ownerId === userId;
    if (agg.room.isPasswordEnabled && !isOwner) await checkRoomPassword(c, agg, userId, clientIp, input.password ?? '');
    const existing = await c.store.member(roomId, userId);
    if (!existing && !isOwner && agg.memberCount >= agg.room.maxMemberCount) {
      throw new RoomError('RoomFull', `room ${roomId} is full (${agg.room.maxMemberCount} members)`);
    }
    const member: Member = {
      userId,
      role: roleOf(agg, userId),
      nameCard: input.nick ?? existing?.nameCard ?? '',
      avatar: input.avatar ?? existing?.avatar ?? '',
      userType: input.userType ?? existing?.userType ?? '',
      marks: existing?.marks ?? [],
      customInfo: input.customInfo ?? existing?.customInfo ?? '',
      clientIp,
      connId: input.connId,
      joinedAt: existing?.joinedAt ?? c.now,
    };
    await c.store.putMember(roomId, member);
    if (!existing) {
      agg.memberCount++;
      c.emit(agg, { type: 'memberEntered', actor: userId, data: { member: memberView(member), memberCount: agg.memberCount } });
    } else {
      if (existing.connId && existing.connId !== input.connId) {
        c.emit(agg, { type: 'memberReplaced', actor: userId, to: [userId], data: { userId, connId: existing.connId } });
      }
      // Entering again with another profile updates it: the room sees it as any profile change.
      const changed = (['nameCard', 'avatar', 'userType', 'customInfo'] as const).some((k) => member[k] !== existing[k]);
      if (changed) c.emit(agg, { type: 'memberInfoChanged', actor: userId, data: { member: memberView(member), roleChanged: false } });
    }
    const mutes = await activeMutes(c, roomId, userId, clientIp);
    return {
      room: roomView(agg.room, agg.memberCount, c.now),
      seats: agg.seats.map((s) => ({ ...s })),
      member: memberView(member),
      memberCount: agg.memberCount,
      muted: mutes.length > 0,
      replaced: Boolean(existing),
      seq: agg.seq,
      life: roomLife(agg.room),
    };
  }),

  leaveRoom: write(async (c, { roomId, reason, connId }) => {
    const agg = await c.store.room(roomId);
    if (!agg) return false;
    const m = await c.store.member(roomId, c.actor.userId);
    if (!m || (connId !== undefined && m.connId !== connId)) return false;
    await removeMember(c, agg, m, reason ?? 'leave', c.actor.userId);
    return true;
  }),

  listMembers: read(async (c, { roomId, after, count }) => {
    const agg = await c.room(roomId);
    // Members page the list only as moderators (audience rooms do not announce each entry).
    if (c.actor.kind === 'user') requireModerator(agg, c.actor);
    const limit = Math.min(Math.max(count, 1), LIMITS.memberListPage);
    const rows = await c.store.members(roomId, after, limit + 1);
    const page = rows.slice(0, limit);
    return { members: page, next: rows.length > limit ? page[page.length - 1].userId : '' };
  }),

  getMember: read(async (c, { roomId, userId }) => {
    await c.room(roomId);
    return c.member(roomId, userId);
  }),

  updateMemberInfo: write(async (c, { roomId, userId, nameCard, customInfo, role }) => {
    checkBytes('nameCard', nameCard, LIMITS.nameCardBytes);
    checkBytes('memberCustomInfo', customInfo, LIMITS.memberCustomInfoBytes);
    const agg = await c.room(roomId);
    const m = await c.member(roomId, userId);
    if (c.actor.kind === 'user' && c.actor.userId !== userId) requireOutranks(agg, c.actor, userId);
    if (role !== undefined) {
      if (c.actor.kind === 'user' && c.actor.userId !== agg.room.ownerId) {
        throw new RoomError('PermissionDenied', 'only the owner may change roles');
      }
      if (m.role === 'Owner') throw invalid('role', "cannot change the owner's role (hand the room over instead)");
      agg.admins = agg.admins.filter((a) => a !== userId);
      if (role === 'Admin') agg.admins.push(userId);
    }
    const next: Member = { ...m, nameCard: nameCard ?? m.nameCard, customInfo: customInfo ?? m.customInfo, role: role ?? m.role };
    await c.store.putMember(roomId, next);
    c.emit(agg, { type: 'memberInfoChanged', actor: c.actor.userId, data: { member: memberView(next), roleChanged: next.role !== m.role } });
    return memberView(next);
  }),

  markMembers: write(async (c, { roomId, op, list }) => {
    if (list.length === 0 || list.length > LIMITS.markMembersPerCall) {
      throw invalid('memberList', `must list 1..${LIMITS.markMembersPerCall} members`);
    }
    // Each member once: two entries for one member would each start from the stored marks,
    // and the later one would silently undo the earlier.
    if (new Set(list.map((x) => x.userId)).size !== list.length) throw invalid('memberList', 'must not list a member twice');
    for (const { marks } of list) {
      if (marks.length === 0 || new Set(marks).size > LIMITS.marksPerCall) {
        throw invalid('marks', `must hold 1..${LIMITS.marksPerCall} marks`);
      }
      if (marks.some((k) => !Number.isInteger(k) || k < LIMITS.minMark)) throw invalid('marks', `must be integers >= ${LIMITS.minMark}`);
    }
    const agg = await c.room(roomId);
    requireModerator(agg, c.actor);
    const updated: Member[] = [];
    for (const { userId, marks } of list) {
      const m = await c.member(roomId, userId);
      const next = op === 'set' ? [...new Set([...m.marks, ...marks])].sort((a, b) => a - b) : m.marks.filter((k) => !marks.includes(k));
      updated.push({ ...m, marks: next });
    }
    if (op === 'set') {
      // Marks are rare and few: reading the room's members here keeps them out of the aggregate.
      const inRoom = new Set<number>();
      for (const m of await c.store.members(roomId, '', Number.MAX_SAFE_INTEGER)) {
        for (const k of (updated.find((x) => x.userId === m.userId) ?? m).marks) inRoom.add(k);
      }
      if (inRoom.size > LIMITS.marksPerRoom) {
        throw new RoomError('InvalidParam', `would exceed ${LIMITS.marksPerRoom} distinct marks in the room`, 'marks', 'tooManyMarks');
      }
    }
    for (const m of updated) {
      await c.store.putMember(roomId, m);
      c.emit(agg, { type: 'memberInfoChanged', actor: c.actor.userId, data: { member: memberView(m), roleChanged: false } });
    }
  }),
};
