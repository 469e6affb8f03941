// Moderation: kick out, ban by user or IP (deny entries), lift, mute. Deny and mute entries are
// indexed by subject in the store; app-wide ('' scope) changes take the app lock exclusively and
// lock every room they touch in one sorted call.
import { RoomError, invalid } from './errors.js';
import { checkDuration, checkPage, checkUserList, unique } from './checks.js';
import { requireAppAdmin, requireModerator, requireOutranks, type WriteContext } from './context.js';
import { read, write, type Handlers } from './handler.js';
import { newId } from './ids.js';
import { LIMITS, checkBytes, checkId } from './limits.js';
import { expel } from './membership.js';
import { canonicalIpSubject, ipMatches, isRange } from './ip.js';
import type { DenyEntry, Member, MuteEntry, Origin, RoomAggregate, SubjectType } from './model.js';
import type { Subject } from './ports/store.js';
import { snapshotOf } from './views.js';

interface Present {
  agg: RoomAggregate;
  member: Member;
}

/**
 * Locks what a change to `scope` touches and returns the locked room ('' scope: none, after the
 * app lock and a lock on every room with a member matching one of the subjects).
 */
async function lockScope(c: WriteContext, scope: string, subjects: Subject[], what: string): Promise<Map<string, RoomAggregate>> {
  if (scope !== '') {
    const agg = await c.room(scope);
    return new Map([[scope, agg]]);
  }
  requireAppAdmin(c.actor, what);
  await c.lockAppWide();
  const roomIds = new Set<string>();
  for (const s of subjects) for (const id of await c.store.roomsWith(s)) roomIds.add(id);
  return c.store.lock([...roomIds]);
}

/** Members matching a subject in the locked rooms, in room id order. */
async function presentIn(c: WriteContext, rooms: Map<string, RoomAggregate>, { subjectType, subject }: Subject): Promise<Present[]> {
  const out: Present[] = [];
  for (const roomId of [...rooms.keys()].sort()) {
    const agg = rooms.get(roomId)!;
    const members =
      subjectType === 'userId'
        ? [await c.store.member(roomId, subject)].filter((m): m is Member => m !== null)
        : await c.store.membersByIp(roomId, subject);
    for (const member of members) out.push({ agg, member });
  }
  return out;
}

function denyChanged(c: WriteContext, rooms: Map<string, RoomAggregate>, scope: string, change: 'added' | 'lifted', entries: DenyEntry[]) {
  if (entries.length === 0) return;
  // App-wide changes have no room to carry them: an app-wide event (room '') records them.
  if (scope === '') return c.emitApp({ type: 'denyChanged', actor: c.actor.userId, to: [], data: { change, entries } });
  const agg = rooms.get(scope);
  if (agg) c.emit(agg, { type: 'denyChanged', actor: c.actor.userId, to: [], data: { change, entries } });
}

async function insertDeny(
  c: WriteContext,
  e: { roomId: string; subjectType: SubjectType; subject: string; origin: Origin; expiresAt: number | null; reason: string; snapshot: DenyEntry['snapshot'] },
): Promise<DenyEntry> {
  const entry: DenyEntry = { id: newId(c.now), ...e, actor: c.actor.userId, createdAt: c.now };
  await c.store.insertEntry('deny', entry);
  return entry;
}

/** Deletes the subject's entries in force of this origin and scope: a new one replaces them. */
async function dropEarlierDeny(c: WriteContext, roomId: string, subject: Subject, origin: Origin): Promise<void> {
  const old = await c.store.list('deny', { roomId, ...subject, origin, activeAt: c.now });
  await c.store.deleteEntries('deny', old.map((e) => e.id));
}

function ipSnapshot(ip: string): DenyEntry['snapshot'] {
  return { userId: '', nick: '', pic: '', userType: '', clientIp: ip, uid: '' };
}

export const moderationHandlers: Handlers<
  'kickOut' | 'banUsers' | 'unbanUsers' | 'banIpOf' | 'banIp' | 'liftDeny' | 'listDeny' | 'setMuted' | 'listMutes'
> = {
  /** Removes members who may come back (Tencent kick_user_out). All-or-nothing. */
  kickOut: write(async (c, { roomId, userIds, reason }) => {
    checkUserList(userIds);
    checkBytes('reason', reason, LIMITS.reasonBytes);
    const agg = await c.room(roomId);
    const members: Member[] = [];
    for (const id of unique(userIds)) {
      members.push(await c.member(roomId, id));
      requireOutranks(agg, c.actor, id);
    }
    for (const m of members) {
      await expel(c, agg, m, c.actor.userId, 'kicked', reason);
      c.audit({ roomId, action: 'kickOut', targetType: 'userId', target: m.userId, reason });
    }
  }),

  /**
   * Denies entry to userIds (removing those present) in one room or app-wide, for `durationSec`
   * or until lifted (null). A new entry replaces the subject's earlier ones of the same origin
   * and scope.
   */
  banUsers: write(async (c, { roomId, userIds, durationSec, reason, origin, nicks }) => {
    checkUserList(userIds, roomId === '' ? 1000 : LIMITS.membersPerCall);
    checkBytes('reason', reason, LIMITS.reasonBytes);
    checkDuration(durationSec);
    // Each user's nick as given (first mention wins), for the snapshot of users not present.
    const nickOf = new Map<string, string>();
    userIds.forEach((id, i) => nickOf.has(id) || nickOf.set(id, nicks?.[i] ?? ''));
    const subjects = [...nickOf.keys()].map((subject): Subject => ({ subjectType: 'userId', subject }));
    const rooms = await lockScope(c, roomId, subjects, 'bans');
    if (roomId !== '') for (const id of userIds) requireOutranks(rooms.get(roomId)!, c.actor, id);
    const until = durationSec === null ? null : c.now + durationSec * 1000;
    const entries: DenyEntry[] = [];
    for (const [userId, givenNick] of nickOf) {
      const subject: Subject = { subjectType: 'userId', subject: userId };
      await dropEarlierDeny(c, roomId, subject, origin);
      const present = await presentIn(c, rooms, subject);
      const first = present[0]?.member;
      entries.push(
        await insertDeny(c, {
          roomId,
          ...subject,
          origin,
          expiresAt: until,
          reason,
          snapshot: first ? { ...snapshotOf(first), nick: first.nameCard || givenNick } : { userId, nick: givenNick, pic: '', userType: '', clientIp: '', uid: '' },
        }),
      );
      for (const p of present) await expel(c, p.agg, p.member, c.actor.userId, 'banned', reason, until);
      c.audit({ roomId, action: 'ban', targetType: 'userId', target: userId, reason, expiresAt: until });
    }
    denyChanged(c, rooms, roomId, 'added', entries);
    return entries;
  }),

  unbanUsers: write(async (c, { roomId, userIds }) => {
    checkUserList(userIds);
    return liftDeny(c, unique(userIds).map((subject) => ({ roomId, subjectType: 'userId' as const, subject })));
  }),

  /** Denies entry from a member's current client IP (and removes everyone in scope from it). */
  banIpOf: write(async (c, { roomId, userId, scope, reason, origin }) => {
    checkId('roomId', roomId, LIMITS.roomIdBytes);
    const appWide = scope === 'app';
    if (appWide) {
      requireAppAdmin(c.actor, 'bans');
      await c.lockAppWide();
    }
    // The target's IP decides which rooms to lock: read it first, then lock them all at once.
    const peek = await c.store.member(roomId, userId);
    const roomIds = appWide && peek?.clientIp ? await c.store.roomsWith({ subjectType: 'ip', subject: peek.clientIp }) : [];
    const rooms = await c.store.lock(unique([roomId, ...roomIds]));
    const agg = rooms.get(roomId);
    if (!agg) throw new RoomError('RoomNotFound', `room ${roomId} does not exist`);
    const target = await c.member(roomId, userId);
    requireOutranks(agg, c.actor, userId);
    if (!target.clientIp) throw invalid('userId', `has no known client IP (${userId})`);
    const entryScope = appWide ? '' : roomId;
    await dropEarlierDeny(c, entryScope, { subjectType: 'ip', subject: target.clientIp }, origin);
    const entry = await insertDeny(c, {
      roomId: entryScope,
      subjectType: 'ip',
      subject: target.clientIp,
      origin,
      expiresAt: null,
      reason,
      snapshot: snapshotOf(target),
    });
    c.audit({ roomId: entryScope, action: 'ban', targetType: 'ip', target: target.clientIp, reason });
    const inScope = appWide ? rooms : new Map([[roomId, agg]]);
    const present = await presentIn(c, inScope, { subjectType: 'ip', subject: target.clientIp });
    if (c.actor.kind === 'user') {
      // A room moderator's IP kick removes everyone else on that IP: no one they do not outrank
      // (an admin kicking a member behind the owner's NAT would remove the owner).
      for (const { agg: a, member: m } of present) {
        if (m.userId !== c.actor.userId) requireOutranks(a, c.actor, m.userId, `you may not kick ${userId} by IP: ${m.userId} is in the room from the same IP`);
      }
    }
    for (const p of present) {
      if (p.member.userId === c.actor.userId) continue;
      await expel(c, p.agg, p.member, c.actor.userId, 'banned', reason);
    }
    denyChanged(c, rooms, entryScope, 'added', [entry]);
    return entry;
  }),

  /** Denies entry from an IP address (no member needed); replaces the IP's earlier entry as banUsers does. */
  banIp: write(async (c, { roomId, ip, reason, origin, durationSec }) => {
    checkId('ip', ip, 64);
    checkDuration(durationSec ?? null);
    const until = durationSec ? c.now + durationSec * 1000 : null;
    const canonical = canonicalIpSubject(ip);
    if (canonical === null) throw invalid('ip', 'must be an IP address, or a range: IPv4 /8 to /32, IPv6 /16 to /128 in steps of 8');
    const subject: Subject = { subjectType: 'ip', subject: canonical };
    const rooms = await lockScope(c, roomId, [subject], 'bans');
    if (roomId !== '') requireModerator(rooms.get(roomId)!, c.actor);
    await dropEarlierDeny(c, roomId, subject, origin);
    const entry = await insertDeny(c, { roomId, ...subject, origin, expiresAt: until, reason, snapshot: ipSnapshot(canonical) });
    c.audit({ roomId, action: 'ban', targetType: 'ip', target: canonical, reason, expiresAt: until });
    for (const p of await presentIn(c, rooms, subject)) await expel(c, p.agg, p.member, c.actor.userId, 'banned', reason, until);
    if (isRange(canonical) && roomId !== '') {
      // A range has no index over members: the room's members are read (a range ban is rare). App-wide,
      // members elsewhere are refused when they next enter.
      const agg = rooms.get(roomId)!;
      for (const m of await c.store.members(roomId, '', Number.MAX_SAFE_INTEGER)) {
        if (m.userId !== c.actor.userId && ipMatches(canonical, m.clientIp)) await expel(c, agg, m, c.actor.userId, 'banned', reason, until);
      }
    }
    denyChanged(c, rooms, roomId, 'added', [entry]);
    return entry;
  }),

  liftDeny: write(async (c, { targets }) => liftDeny(c, targets)),

  listDeny: read(async (c, q) => {
    checkPage(q);
    if (q.roomId !== '') await c.room(q.roomId);
    const query = { roomId: q.roomId, subjectType: q.subjectType, origin: q.origin, activeAt: c.now };
    const entries = await c.store.list('deny', { ...query, limit: q.limit, offset: q.offset });
    return { entries, total: await c.store.count('deny', query) };
  }),

  /** Mutes (or unmutes) subjects in a room or app-wide; the affected members are told. */
  setMuted: write(async (c, { roomId, subjectType, subjects, muted, origin, durationSec, reason }) => {
    const field = subjectType === 'ip' ? 'ip' : 'userIds';
    if (subjects.length === 0) throw invalid(field, 'must not be empty');
    for (const s of subjects) checkId(field, s, 64);
    checkBytes('reason', reason, LIMITS.reasonBytes);
    const spelled = subjectType === 'ip' ? subjects.map((s) => ipSubjectOf(s, muted)) : subjects;
    const targets = unique(spelled).map((subject): Subject => ({ subjectType, subject }));
    const rooms = await lockScope(c, roomId, targets, 'mutes');
    if (roomId !== '') requireModerator(rooms.get(roomId)!, c.actor);
    checkDuration(durationSec ?? null);
    const until = durationSec ? c.now + durationSec * 1000 : null;
    const changed: MuteEntry[] = [];
    for (const target of targets) {
      c.audit({ roomId, action: muted ? 'mute' : 'unmute', targetType: subjectType, target: target.subject, reason, expiresAt: muted ? until : null });
      const old = await c.store.list('mute', { roomId, ...target, activeAt: c.now });
      await c.store.deleteEntries('mute', old.map((e) => e.id));
      if (muted) {
        const entry: MuteEntry = {
          id: newId(c.now),
          roomId,
          ...target,
          origin,
          expiresAt: until,
          reason: reason ?? '',
          actor: c.actor.userId,
          createdAt: c.now,
        };
        await c.store.insertEntry('mute', entry);
        changed.push(entry);
      } else {
        changed.push(...old);
      }
      if (roomId === '') {
        // The app-wide entry itself, whoever is present (callbacks); members present are told below.
        const userId = subjectType === 'userId' ? target.subject : '';
        c.emitApp({ type: 'muteChanged', actor: c.actor.userId, to: [], data: { userId, muted, until, by: subjectType, reason: reason ?? '', subject: target.subject } });
      }
      for (const p of await presentIn(c, rooms, target)) {
        const userId = p.member.userId;
        c.emit(p.agg, { type: 'muteChanged', actor: c.actor.userId, to: [userId], data: { userId, muted, until, by: subjectType, reason: reason ?? '' } });
      }
    }
    return changed;
  }),

  listMutes: read(async (c, q) => {
    checkPage(q);
    if (q.roomId !== '') await c.room(q.roomId);
    return c.store.list('mute', { roomId: q.roomId, subjectType: q.subjectType, activeAt: c.now, limit: q.limit, offset: q.offset });
  }),
};

/** An IP subject as stored; one that is neither an address nor a range is refused, but only when set. */
function ipSubjectOf(text: string, setting: boolean): string {
  const canonical = canonicalIpSubject(text);
  if (canonical !== null) return canonical;
  if (setting) throw invalid('ip', 'must be an IP address, or a range: IPv4 /8 to /32, IPv6 /16 to /128 in steps of 8');
  return text;
}

/** Lifts deny entries (any origin) for these subjects in their scopes; returns those removed. */
async function liftDeny(c: WriteContext, targets: { roomId: string; subjectType: SubjectType; subject: string }[]): Promise<DenyEntry[]> {
  if (targets.some((t) => t.roomId === '')) {
    requireAppAdmin(c.actor, 'entries');
    // As for app-wide bans: one app-wide change at a time (their events' order).
    await c.lockAppWide();
  }
  const roomIds = unique(targets.map((t) => t.roomId).filter((id) => id !== ''));
  for (const id of roomIds) checkId('roomId', id, LIMITS.roomIdBytes);
  const rooms = await c.store.lock(roomIds);
  for (const id of roomIds) {
    const agg = rooms.get(id);
    if (!agg) throw new RoomError('RoomNotFound', `room ${id} does not exist`);
    requireModerator(agg, c.actor);
  }
  const removed: DenyEntry[] = [];
  for (const t of targets) {
    const subject = t.subjectType === 'ip' ? ipSubjectOf(t.subject, false) : t.subject;
    c.audit({ roomId: t.roomId, action: 'unban', targetType: t.subjectType, target: subject });
    const found = await c.store.list('deny', { roomId: t.roomId, subjectType: t.subjectType, subject, activeAt: c.now });
    await c.store.deleteEntries('deny', found.map((e) => e.id));
    removed.push(...found);
  }
  for (const scope of unique(targets.map((t) => t.roomId))) {
    denyChanged(c, rooms, scope, 'lifted', removed.filter((e) => e.roomId === scope));
  }
  return removed;
}
