// The room engine: every rule of rooms, members, seats, deny and mute entries lives here.
// Each command runs in one store transaction; the events it causes are written to the outbox
// in that same transaction and published on the bus after commit.
import { randomUUID } from 'node:crypto';
import type { Bus } from '../bus/port.js';
import type { Store, Tx } from '../store/port.js';
import { safeEqual } from '../auth/safe-equal.js';
import { RoomError, invalid } from './errors.js';
import type { LeaveReason, NewEvent, RoomEvent } from './events.js';
import { LIMITS, checkBytes, checkId } from './limits.js';
import type {
  Actor,
  AppId,
  DenyEntry,
  Member,
  MemberSnapshot,
  MuteEntry,
  Origin,
  Profile,
  Role,
  Room,
  Seat,
  SeatRequest,
  SubjectType,
  TakeSeatMode,
} from './model.js';

// ---------------------------------------------------------------------------------------------
// Inputs

export interface CreateRoomInput {
  roomId: string;
  name?: string;
  type?: string;
  ownerId?: string;
  maxMemberCount?: number;
  maxSeatCount?: number;
  isSeatEnabled?: boolean;
  takeSeatMode?: TakeSeatMode;
  isVideoDisabled?: boolean;
  isAudioDisabled?: boolean;
  isMessageDisabled?: boolean;
  isScreenSharingDisabled?: boolean;
  isCloudRecordingDisabled?: boolean;
  customInfo?: string;
  isPasswordEnabled?: boolean;
  password?: string;
  scheduleStartTime?: number;
  scheduleEndTime?: number;
  inviteeIds?: string[];
}

export type RoomPatch = Partial<
  Pick<
    Room,
    | 'name'
    | 'maxMemberCount'
    | 'isVideoDisabled'
    | 'isAudioDisabled'
    | 'isMessageDisabled'
    | 'isScreenSharingDisabled'
    | 'isCloudRecordingDisabled'
    | 'customInfo'
    | 'takeSeatMode'
    | 'isPasswordEnabled'
    | 'password'
  >
>;

export interface EnterInput extends Profile {
  password?: string;
  clientIp: string;
  connId: string;
}

export interface LockInput {
  locked?: boolean;
  videoDisabled?: boolean;
  audioDisabled?: boolean;
}

export type MovePolicy = 0 | 1 | 2; // target occupied: 0 refuse, 1 evict occupant, 2 exchange

export interface DenyTarget {
  roomId: string; // '' = app-wide
  subjectType: SubjectType;
  subject: string;
}

// ---------------------------------------------------------------------------------------------
// Views: what clients and dialects see (never the password or a member's IP)

export interface RoomView extends Omit<Room, 'password' | 'appId'> {
  status: 'NotStarted' | 'Running';
  memberCount: number;
}

export interface MemberView {
  userId: string;
  role: Role;
  nameCard: string;
  avatar: string;
  userType: string;
  marks: number[];
  customInfo: string;
}

export function memberView(m: Member): MemberView {
  return {
    userId: m.userId,
    role: m.role,
    nameCard: m.nameCard,
    avatar: m.avatar,
    userType: m.userType,
    marks: m.marks,
    customInfo: m.customInfo,
  };
}

export function roomView(room: Room, memberCount: number, now: number): RoomView {
  const { password: _password, appId: _appId, ...rest } = room;
  return {
    ...rest,
    status: now >= room.scheduleStartTime * 1000 ? 'Running' : 'NotStarted',
    memberCount,
  };
}

export function snapshotOf(m: Member): MemberSnapshot {
  return {
    userId: m.userId,
    nick: m.nameCard,
    pic: m.avatar,
    userType: m.userType,
    clientIp: m.clientIp,
    uid: m.connId,
  };
}

// ---------------------------------------------------------------------------------------------
// One command's transaction context

class Ctx {
  constructor(
    readonly tx: Tx,
    readonly appId: AppId,
    readonly now: number,
    private readonly events: RoomEvent[],
  ) {}

  async emit(roomId: string, event: NewEvent): Promise<void> {
    const stored = await this.tx.appendEvent({ ...event, appId: this.appId, roomId, at: this.now });
    this.events.push(stored);
  }

  async room(roomId: string): Promise<Room> {
    checkId('roomId', roomId, LIMITS.roomIdBytes);
    const room = await this.tx.lockRoom(this.appId, roomId);
    if (!room) throw new RoomError('RoomNotFound', `room ${roomId} does not exist`);
    return room;
  }

  async member(roomId: string, userId: string): Promise<Member> {
    const m = await this.tx.getMember(this.appId, roomId, userId);
    if (!m) throw new RoomError('NotMember', `${userId} is not a member of room ${roomId}`);
    return m;
  }

  async seats(room: Room): Promise<Seat[]> {
    return this.tx.getSeats(this.appId, room.roomId);
  }

  async seatsChanged(room: Room, actor: string, seats?: Seat[]): Promise<void> {
    await this.emit(room.roomId, {
      type: 'seatListChanged',
      actor,
      data: { seats: seats ?? (await this.seats(room)) },
    });
  }
}

// ---------------------------------------------------------------------------------------------

export class Engine {
  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly clock: () => number = Date.now,
  ) {}

  private async run<T>(appId: AppId, fn: (c: Ctx) => Promise<T>): Promise<T> {
    const events: RoomEvent[] = [];
    const result = await this.store.transaction((tx) => fn(new Ctx(tx, appId, this.clock(), events)));
    for (const e of events) this.bus.publish(e);
    return result;
  }

  // ------------------------------------------------------------------------------- roles

  private async roleOf(c: Ctx, room: Room, userId: string): Promise<Role> {
    if (room.ownerId === userId) return 'Owner';
    return (await c.tx.getRole(c.appId, room.roomId, userId)) ?? 'Member';
  }

  /** App admins may do anything; users must be the owner or a room admin. */
  private async requireModerator(c: Ctx, room: Room, actor: Actor): Promise<Role | 'AppAdmin'> {
    if (actor.kind === 'admin') return 'AppAdmin';
    const role = await this.roleOf(c, room, actor.userId);
    if (role === 'Member') {
      throw new RoomError('PermissionDenied', 'only the room owner or an admin may do this');
    }
    return role;
  }

  /** A moderator may act on members of a lower rank only (the owner on everyone but itself). */
  private async requireOutranks(c: Ctx, room: Room, actor: Actor, targetId: string): Promise<void> {
    const actorRole = await this.requireModerator(c, room, actor);
    if (actorRole === 'AppAdmin') return;
    const rank = { Owner: 2, Admin: 1, Member: 0 } as const;
    const targetRole = await this.roleOf(c, room, targetId);
    if (targetId === actor.userId || rank[actorRole] <= rank[targetRole]) {
      throw new RoomError('PermissionDenied', `you may not do this to ${targetId}`);
    }
  }

  private async moderatorIds(c: Ctx, room: Room): Promise<string[]> {
    const admins = await c.tx.listAdmins(c.appId, room.roomId);
    return [room.ownerId, ...admins.filter((a) => a !== room.ownerId)];
  }

  // ------------------------------------------------------------------------------- rooms

  async createRoom(appId: AppId, actor: Actor, input: CreateRoomInput): Promise<RoomView> {
    return this.run(appId, async (c) => {
      checkId('roomId', input.roomId, LIMITS.roomIdBytes);
      const room = this.newRoom(c, actor, input);
      if (await c.tx.getRoom(appId, room.roomId)) {
        throw new RoomError('RoomExists', `room ${room.roomId} already exists`);
      }
      await c.tx.insertRoom(room);
      const seats: Seat[] = [];
      for (let i = 0; i < (room.isSeatEnabled ? room.maxSeatCount : 0); i++) {
        const seat = { index: i, userId: null, locked: false, videoDisabled: false, audioDisabled: false };
        await c.tx.putSeat(appId, room.roomId, seat);
        seats.push(seat);
      }
      const view = roomView(room, 0, c.now);
      await c.emit(room.roomId, { type: 'roomCreated', actor: actor.userId, data: { room: view } });
      return view;
    });
  }

  private newRoom(c: Ctx, actor: Actor, input: CreateRoomInput): Room {
    checkBytes('roomName', input.name, LIMITS.roomNameBytes);
    checkBytes('customInfo', input.customInfo, LIMITS.roomCustomInfoBytes);
    checkBytes('password', input.password, LIMITS.passwordBytes);
    const ownerId = input.ownerId ?? actor.userId;
    checkId('ownerId', ownerId);
    const isSeatEnabled = input.isSeatEnabled ?? false;
    const maxSeatCount = isSeatEnabled ? (input.maxSeatCount ?? LIMITS.defaultMaxSeatCount) : 0;
    if (isSeatEnabled && (maxSeatCount < 1 || maxSeatCount > LIMITS.maxSeatCount)) {
      throw invalid('maxSeatCount', `must be 1..${LIMITS.maxSeatCount}`);
    }
    const maxMemberCount = input.maxMemberCount ?? LIMITS.defaultMaxMemberCount;
    checkMaxMembers(maxMemberCount);
    const nowSec = Math.floor(c.now / 1000);
    const start = input.scheduleStartTime ?? nowSec;
    const end = input.scheduleEndTime ?? start + 3600;
    if (end < start) throw invalid('scheduleEndTime', 'must not be before ScheduleStartTime');
    if (input.isPasswordEnabled && !input.password) {
      throw invalid('password', 'is required when the password is enabled');
    }
    for (const id of input.inviteeIds ?? []) checkId('inviteeIds', id);
    return {
      appId: c.appId,
      roomId: input.roomId,
      name: input.name ?? input.roomId,
      type: input.type ?? 'Conference',
      ownerId,
      maxMemberCount,
      maxSeatCount,
      isSeatEnabled,
      takeSeatMode: isSeatEnabled ? (input.takeSeatMode ?? 'FreeToTake') : 'None',
      isVideoDisabled: input.isVideoDisabled ?? false,
      isAudioDisabled: input.isAudioDisabled ?? false,
      isMessageDisabled: input.isMessageDisabled ?? false,
      isScreenSharingDisabled: input.isScreenSharingDisabled ?? false,
      isCloudRecordingDisabled: input.isCloudRecordingDisabled ?? false,
      customInfo: input.customInfo ?? '',
      isPasswordEnabled: input.isPasswordEnabled ?? false,
      password: input.password ?? '',
      scheduleStartTime: start,
      scheduleEndTime: end,
      createTime: nowSec,
      inviteeIds: input.inviteeIds ?? [],
    };
  }

  async destroyRoom(appId: AppId, actor: Actor, roomId: string): Promise<void> {
    return this.run(appId, async (c) => {
      const room = await c.room(roomId);
      if (actor.kind === 'user' && room.ownerId !== actor.userId) {
        throw new RoomError('PermissionDenied', 'only the owner may dismiss the room');
      }
      await c.emit(roomId, { type: 'roomDismissed', actor: actor.userId, data: { roomId } });
      await c.tx.deleteRoom(appId, roomId);
    });
  }

  async updateRoomInfo(appId: AppId, actor: Actor, roomId: string, patch: RoomPatch): Promise<RoomView> {
    return this.run(appId, async (c) => {
      const room = await c.room(roomId);
      await this.requireModerator(c, room, actor);
      checkBytes('roomName', patch.name, LIMITS.roomNameBytes);
      checkBytes('customInfo', patch.customInfo, LIMITS.roomCustomInfoBytes);
      checkBytes('password', patch.password, LIMITS.passwordBytes);
      if (patch.maxMemberCount !== undefined) checkMaxMembers(patch.maxMemberCount);
      if (patch.takeSeatMode !== undefined && patch.takeSeatMode !== 'None' && !room.isSeatEnabled) {
        throw new RoomError('SeatsDisabled', 'this room has no seats');
      }
      const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
      const next: Room = { ...room, ...defined };
      if (next.isPasswordEnabled && !next.password) {
        throw invalid('password', 'is required when the password is enabled');
      }
      await c.tx.updateRoom(next);
      const view = roomView(next, await c.tx.countMembers(appId, roomId), c.now);
      await c.emit(roomId, { type: 'roomInfoChanged', actor: actor.userId, data: { room: view } });
      return view;
    });
  }

  async getRoomInfo(appId: AppId, roomId: string): Promise<RoomView> {
    return this.run(appId, async (c) => {
      const room = await c.room(roomId);
      return roomView(room, await c.tx.countMembers(appId, roomId), c.now);
    });
  }

  async changeOwner(appId: AppId, actor: Actor, roomId: string, fromId: string, toId: string): Promise<void> {
    return this.run(appId, async (c) => {
      const room = await c.room(roomId);
      if (actor.kind === 'user' && actor.userId !== room.ownerId) {
        throw new RoomError('PermissionDenied', 'only the owner may hand over the room');
      }
      if (fromId !== room.ownerId) throw invalid('fromUserId', `must be the owner of room ${roomId}`);
      const next = await c.member(roomId, toId);
      if (toId === fromId) return;
      await c.tx.updateRoom({ ...room, ownerId: toId });
      await c.tx.setRole(appId, roomId, toId, null);
      await c.tx.putMember(appId, roomId, { ...next, role: 'Owner' });
      const old = await c.tx.getMember(appId, roomId, fromId);
      if (old) await c.tx.putMember(appId, roomId, { ...old, role: 'Member' });
      await c.emit(roomId, { type: 'ownerChanged', actor: actor.userId, data: { from: fromId, to: toId } });
    });
  }

  // ------------------------------------------------------------------------------- members

  async enterRoom(appId: AppId, roomId: string, userId: string, input: EnterInput) {
    return this.run(appId, async (c) => {
      checkId('userId', userId);
      checkBytes('nameCard', input.nick, LIMITS.nameCardBytes);
      checkBytes('avatar', input.avatar, LIMITS.avatarBytes);
      checkBytes('userType', input.userType, LIMITS.userTypeBytes);
      checkBytes('customInfo', input.customInfo, LIMITS.memberCustomInfoBytes);
      const room = await c.room(roomId);
      await this.checkNotDenied(c, roomId, userId, input.clientIp);
      const isOwner = room.ownerId === userId;
      if (room.isPasswordEnabled && !isOwner && !safeEqual(input.password ?? '', room.password)) {
        throw new RoomError('WrongPassword', 'wrong room password');
      }
      const existing = await c.tx.getMember(appId, roomId, userId);
      const count = await c.tx.countMembers(appId, roomId);
      if (!existing && !isOwner && count >= room.maxMemberCount) {
        throw new RoomError('RoomFull', `room ${roomId} is full (${room.maxMemberCount} members)`);
      }
      const member: Member = {
        userId,
        role: await this.roleOf(c, room, userId),
        nameCard: input.nick ?? existing?.nameCard ?? '',
        avatar: input.avatar ?? existing?.avatar ?? '',
        userType: input.userType ?? existing?.userType ?? '',
        marks: existing?.marks ?? [],
        customInfo: input.customInfo ?? existing?.customInfo ?? '',
        clientIp: input.clientIp,
        connId: input.connId,
        joinedAt: existing?.joinedAt ?? c.now,
      };
      await c.tx.putMember(appId, roomId, member);
      const memberCount = existing ? count : count + 1;
      if (existing) {
        if (existing.connId && existing.connId !== input.connId) {
          await c.emit(roomId, {
            type: 'memberReplaced',
            actor: userId,
            to: [userId],
            data: { userId, connId: existing.connId },
          });
        }
      } else {
        await c.emit(roomId, {
          type: 'memberEntered',
          actor: userId,
          data: { member: memberView(member), memberCount },
        });
      }
      const seats = await c.seats(room);
      const mutes = await this.activeMutes(c, roomId, userId, input.clientIp);
      return {
        room: roomView(room, memberCount, c.now),
        seats,
        member: memberView(member),
        memberCount,
        muted: mutes.length > 0,
        replaced: Boolean(existing),
      };
    });
  }

  private async checkNotDenied(c: Ctx, roomId: string, userId: string, ip: string): Promise<void> {
    const byUser = await this.matching(c, 'deny', roomId, 'userId', userId);
    if (byUser.length) {
      throw new RoomError('DeniedUser', `${userId} may not enter room ${roomId}: ${byUser[0].reason || 'banned'}`);
    }
    if (ip) {
      const byIp = await this.matching(c, 'deny', roomId, 'ip', ip);
      if (byIp.length) throw new RoomError('DeniedIp', `entry from ${ip} is refused in room ${roomId}`);
    }
  }

  /** Active deny or mute entries for a subject, in the room or app-wide. */
  private async matching(c: Ctx, list: 'deny', roomId: string, t: SubjectType, s: string): Promise<DenyEntry[]>;
  private async matching(c: Ctx, list: 'mute', roomId: string, t: SubjectType, s: string): Promise<MuteEntry[]>;
  private async matching(c: Ctx, list: 'deny' | 'mute', roomId: string, t: SubjectType, s: string) {
    const out = [];
    for (const scope of [roomId, '']) {
      const q = { roomId: scope, subjectType: t, subject: s, activeAt: c.now };
      out.push(...(list === 'deny' ? await c.tx.listDeny(c.appId, q) : await c.tx.listMutes(c.appId, q)));
    }
    return out;
  }

  private async activeMutes(c: Ctx, roomId: string, userId: string, ip: string): Promise<MuteEntry[]> {
    const byUser = await this.matching(c, 'mute', roomId, 'userId', userId);
    return ip ? [...byUser, ...(await this.matching(c, 'mute', roomId, 'ip', ip))] : byUser;
  }

  /**
   * The member leaves by themselves (or their connection died). With `connId`, only if that
   * connection is still the member's: a replaced connection's late close changes nothing.
   */
  async leaveRoom(
    appId: AppId,
    roomId: string,
    userId: string,
    opts: { reason?: LeaveReason; connId?: string } = {},
  ): Promise<boolean> {
    return this.run(appId, async (c) => {
      const room = await c.tx.lockRoom(appId, roomId);
      if (!room) return false;
      const m = await c.tx.getMember(appId, roomId, userId);
      if (!m || (opts.connId !== undefined && m.connId !== opts.connId)) return false;
      await this.removeMember(c, room, m, opts.reason ?? 'leave', userId);
      return true;
    });
  }

  /** Removes every member connected through connections whose id starts with `prefix`. */
  async evictConnections(prefix: string): Promise<number> {
    const rows = await this.store.transaction((tx) => tx.listConnectedMembers(prefix));
    let n = 0;
    for (const r of rows) {
      if (await this.leaveRoom(r.appId, r.roomId, r.userId, { reason: 'expired', connId: r.connId })) n++;
    }
    return n;
  }

  private async removeMember(c: Ctx, room: Room, m: Member, reason: LeaveReason, actor: string): Promise<void> {
    const seats = await c.seats(room);
    const seat = seats.find((s) => s.userId === m.userId);
    if (seat) {
      Object.assign(seat, { userId: null, videoDisabled: false, audioDisabled: false });
      await c.tx.putSeat(c.appId, room.roomId, seat);
      await c.seatsChanged(room, actor, seats);
    }
    for (const r of await c.tx.listSeatRequests(c.appId, room.roomId)) {
      if (r.userId === m.userId) await c.tx.deleteSeatRequest(c.appId, room.roomId, r.id);
    }
    await c.tx.deleteMember(c.appId, room.roomId, m.userId);
    const memberCount = await c.tx.countMembers(c.appId, room.roomId);
    await c.emit(room.roomId, {
      type: 'memberLeft',
      actor,
      data: { userId: m.userId, connId: m.connId, reason, memberCount },
    });
  }

  async listMembers(appId: AppId, roomId: string, after: string, count: number) {
    return this.run(appId, async (c) => {
      await c.room(roomId);
      const limit = Math.min(Math.max(count, 1), LIMITS.memberListPage);
      const rows = await c.tx.listMembers(appId, roomId, after, limit + 1);
      const page = rows.slice(0, limit);
      return { members: page, next: rows.length > limit ? page[page.length - 1].userId : '' };
    });
  }

  async getMember(appId: AppId, roomId: string, userId: string): Promise<Member> {
    return this.run(appId, async (c) => {
      await c.room(roomId);
      return c.member(roomId, userId);
    });
  }

  async updateMemberInfo(
    appId: AppId,
    actor: Actor,
    roomId: string,
    userId: string,
    patch: { nameCard?: string; customInfo?: string; role?: 'Admin' | 'Member' },
  ): Promise<MemberView> {
    return this.run(appId, async (c) => {
      checkBytes('nameCard', patch.nameCard, LIMITS.nameCardBytes);
      checkBytes('memberCustomInfo', patch.customInfo, LIMITS.memberCustomInfoBytes);
      const room = await c.room(roomId);
      const m = await c.member(roomId, userId);
      if (actor.kind === 'user' && actor.userId !== userId) await this.requireOutranks(c, room, actor, userId);
      if (patch.role !== undefined) {
        if (actor.kind === 'user' && actor.userId !== room.ownerId) {
          throw new RoomError('PermissionDenied', 'only the owner may change roles');
        }
        if (m.role === 'Owner') throw invalid('role', 'cannot change the owner\'s role (hand the room over instead)');
        await c.tx.setRole(appId, roomId, userId, patch.role === 'Admin' ? 'Admin' : null);
      }
      const next: Member = {
        ...m,
        nameCard: patch.nameCard ?? m.nameCard,
        customInfo: patch.customInfo ?? m.customInfo,
        role: patch.role ?? m.role,
      };
      await c.tx.putMember(appId, roomId, next);
      await c.emit(roomId, {
        type: 'memberInfoChanged',
        actor: actor.userId,
        data: { member: memberView(next), roleChanged: next.role !== m.role },
      });
      return memberView(next);
    });
  }

  async markMembers(
    appId: AppId,
    actor: Actor,
    roomId: string,
    op: 'set' | 'delete',
    list: { userId: string; marks: number[] }[],
  ): Promise<void> {
    return this.run(appId, async (c) => {
      if (list.length === 0 || list.length > LIMITS.markMembersPerCall) {
        throw invalid('memberList', `must list 1..${LIMITS.markMembersPerCall} members`);
      }
      // Each member once: two entries for one member would each start from the stored marks,
      // and the later one would silently undo the earlier.
      if (new Set(list.map((x) => x.userId)).size !== list.length) {
        throw invalid('memberList', 'must not list a member twice');
      }
      for (const { marks } of list) {
        if (marks.length === 0 || new Set(marks).size > LIMITS.marksPerCall) {
          throw invalid('marks', `must hold 1..${LIMITS.marksPerCall} marks`);
        }
        if (marks.some((k) => !Number.isInteger(k) || k < LIMITS.minMark)) {
          throw invalid('marks', `must be integers >= ${LIMITS.minMark}`);
        }
      }
      const room = await c.room(roomId);
      await this.requireModerator(c, room, actor);
      const members = [];
      for (const { userId, marks } of list) members.push({ m: await c.member(roomId, userId), marks });
      const updated = members.map(({ m, marks }) => ({
        ...m,
        marks: op === 'set' ? [...new Set([...m.marks, ...marks])].sort((a, b) => a - b) : m.marks.filter((k) => !marks.includes(k)),
      }));
      if (op === 'set') {
        const inRoom = new Set<number>();
        for (const m of await c.tx.listMembers(appId, roomId, '', Number.MAX_SAFE_INTEGER)) {
          const u = updated.find((x) => x.userId === m.userId);
          for (const k of (u ?? m).marks) inRoom.add(k);
        }
        if (inRoom.size > LIMITS.marksPerRoom) {
          throw invalid('marks', `would exceed ${LIMITS.marksPerRoom} distinct marks in the room`);
        }
      }
      for (const m of updated) {
        await c.tx.putMember(appId, roomId, m);
        await c.emit(roomId, { type: 'memberInfoChanged', actor: actor.userId, data: { member: memberView(m), roleChanged: false } });
      }
    });
  }

  /** Removes members who may come back (Tencent kick_user_out). All-or-nothing. */
  async kickOut(appId: AppId, actor: Actor, roomId: string, userIds: string[], reason: string): Promise<void> {
    return this.run(appId, async (c) => {
      checkUserList(userIds);
      checkBytes('reason', reason, LIMITS.reasonBytes);
      const room = await c.room(roomId);
      const members = [];
      for (const id of unique(userIds)) {
        members.push(await c.member(roomId, id));
        await this.requireOutranks(c, room, actor, id);
      }
      for (const m of members) await this.expel(c, room, m, actor.userId, 'kicked', reason);
    });
  }

  /** Tells the member they are out, then removes them. */
  private async expel(c: Ctx, room: Room, m: Member, actor: string, reason: LeaveReason, text: string, until: number | null = null) {
    await c.emit(room.roomId, {
      type: 'kickedOutOfRoom',
      actor,
      to: [m.userId],
      data: { userId: m.userId, connId: m.connId, kind: reason, reason: text, until },
    });
    await this.removeMember(c, room, m, reason, actor);
  }

  // ------------------------------------------------------------------------------- deny entries

  /**
   * Denies entry to userIds (and removes them if present) in one room, for `durationSec` or until
   * lifted (null). A new entry replaces the subject's earlier ones of the same origin and scope.
   */
  async banUsers(
    appId: AppId,
    actor: Actor,
    roomId: string,
    userIds: string[],
    opts: { durationSec: number | null; reason: string; origin: Origin; nicks?: string[] },
  ): Promise<DenyEntry[]> {
    return this.run(appId, async (c) => {
      checkUserList(userIds, roomId === '' ? 1000 : LIMITS.membersPerCall);
      checkBytes('reason', opts.reason, LIMITS.reasonBytes);
      checkDuration(opts.durationSec);
      const rooms = roomId === '' ? null : await c.room(roomId);
      if (rooms) for (const id of userIds) await this.requireOutranks(c, rooms, actor, id);
      else if (actor.kind !== 'admin') throw new RoomError('PermissionDenied', 'app-wide bans are for app admins');
      const until = opts.durationSec === null ? null : c.now + opts.durationSec * 1000;
      const entries: DenyEntry[] = [];
      // Each user's nick as given (first mention wins), for the snapshot of users not present.
      const nickOf = new Map<string, string>();
      userIds.forEach((id, i) => nickOf.has(id) || nickOf.set(id, opts.nicks?.[i] ?? ''));
      for (const [userId, givenNick] of nickOf) {
        const old = await c.tx.listDeny(appId, { roomId, subjectType: 'userId', subject: userId, origin: opts.origin, activeAt: c.now });
        await c.tx.deleteDeny(appId, old.map((e) => e.id));
        const present = await this.presentIn(c, roomId, 'userId', userId);
        const first = present[0]?.member;
        entries.push(
          await c.tx.insertDeny(appId, {
            roomId,
            subjectType: 'userId',
            subject: userId,
            origin: opts.origin,
            expiresAt: until,
            reason: opts.reason,
            actor: actor.userId,
            createdAt: c.now,
            snapshot: first
              ? { ...snapshotOf(first), nick: first.nameCard || givenNick }
              : { userId, nick: givenNick, pic: '', userType: '', clientIp: '', uid: '' },
          }),
        );
        for (const { room, member } of present) await this.expel(c, room, member, actor.userId, 'banned', opts.reason, until);
      }
      await this.denyChanged(c, roomId, actor, 'added', entries);
      return entries;
    });
  }

  /** Denies entry from a member's current client IP (and removes everyone in scope from it). */
  async banIpOf(
    appId: AppId,
    actor: Actor,
    roomId: string,
    userId: string,
    opts: { scope: 'room' | 'app'; reason: string; origin: Origin },
  ): Promise<DenyEntry> {
    return this.run(appId, async (c) => {
      const room = await c.room(roomId);
      const target = await c.member(roomId, userId);
      await this.requireOutranks(c, room, actor, userId);
      if (!target.clientIp) throw invalid('userId', `has no known client IP (${userId})`);
      if (opts.scope === 'app' && actor.kind !== 'admin') {
        throw new RoomError('PermissionDenied', 'app-wide bans are for app admins');
      }
      const scope = opts.scope === 'app' ? '' : roomId;
      const entry = await c.tx.insertDeny(appId, {
        roomId: scope,
        subjectType: 'ip',
        subject: target.clientIp,
        origin: opts.origin,
        expiresAt: null,
        reason: opts.reason,
        actor: actor.userId,
        createdAt: c.now,
        snapshot: snapshotOf(target),
      });
      for (const p of await this.presentIn(c, scope, 'ip', target.clientIp)) {
        if (p.member.userId === actor.userId) continue;
        await this.expel(c, p.room, p.member, actor.userId, 'banned', opts.reason);
      }
      await this.denyChanged(c, scope, actor, 'added', [entry]);
      return entry;
    });
  }

  /** Denies entry from an IP address (no member needed). */
  async banIp(appId: AppId, actor: Actor, roomId: string, ip: string, opts: { reason: string; origin: Origin }) {
    return this.run(appId, async (c) => {
      checkId('ip', ip, 64);
      const room = roomId === '' ? null : await c.room(roomId);
      if (room) await this.requireModerator(c, room, actor);
      else if (actor.kind !== 'admin') throw new RoomError('PermissionDenied', 'app-wide bans are for app admins');
      const entry = await c.tx.insertDeny(appId, {
        roomId,
        subjectType: 'ip',
        subject: ip,
        origin: opts.origin,
        expiresAt: null,
        reason: opts.reason,
        actor: actor.userId,
        createdAt: c.now,
        snapshot: { userId: '', nick: '', pic: '', userType: '', clientIp: ip, uid: '' },
      });
      for (const p of await this.presentIn(c, roomId, 'ip', ip)) {
        await this.expel(c, p.room, p.member, actor.userId, 'banned', opts.reason);
      }
      await this.denyChanged(c, roomId, actor, 'added', [entry]);
      return entry;
    });
  }

  /** Lifts deny entries (any origin) for these subjects in one scope; returns those removed. */
  async liftDeny(appId: AppId, actor: Actor, targets: DenyTarget[]): Promise<DenyEntry[]> {
    return this.run(appId, async (c) => {
      const removed: DenyEntry[] = [];
      const scopes = new Set<string>();
      for (const t of targets) {
        if (t.roomId !== '') await this.requireModerator(c, await c.room(t.roomId), actor);
        else if (actor.kind !== 'admin') throw new RoomError('PermissionDenied', 'app-wide entries are for app admins');
        const found = await c.tx.listDeny(appId, { roomId: t.roomId, subjectType: t.subjectType, subject: t.subject, activeAt: c.now });
        await c.tx.deleteDeny(appId, found.map((e) => e.id));
        removed.push(...found);
        scopes.add(t.roomId);
      }
      for (const scope of scopes) {
        await this.denyChanged(c, scope, actor, 'lifted', removed.filter((e) => e.roomId === scope));
      }
      return removed;
    });
  }

  async listDeny(
    appId: AppId,
    q: { roomId: string; subjectType?: SubjectType; origin?: Origin; limit?: number; offset?: number },
  ): Promise<{ entries: DenyEntry[]; total: number }> {
    return this.run(appId, async (c) => {
      // Safe integers only: the store cannot page with 1e20 (and must not fail as if it were down).
      if (q.offset !== undefined && !(Number.isSafeInteger(q.offset) && q.offset >= 0)) {
        throw invalid('offset', 'must be a non-negative integer');
      }
      if (q.limit !== undefined && !(Number.isSafeInteger(q.limit) && q.limit >= 1)) {
        throw invalid('limit', 'must be a positive integer');
      }
      if (q.roomId !== '') await c.room(q.roomId);
      const query = { ...q, activeAt: c.now };
      return { entries: await c.tx.listDeny(appId, query), total: await c.tx.countDeny(appId, { ...query, limit: undefined, offset: undefined }) };
    });
  }

  private async denyChanged(c: Ctx, scope: string, actor: Actor, change: 'added' | 'lifted', entries: DenyEntry[]) {
    if (scope === '' || entries.length === 0) return; // app-wide changes have no room to carry them
    await c.emit(scope, { type: 'denyChanged', actor: actor.userId, to: [], data: { change, entries } });
  }

  /** Members matching a subject in one room, or in every room of the app ('' scope). */
  private async presentIn(c: Ctx, scope: string, t: SubjectType, s: string): Promise<{ room: Room; member: Member }[]> {
    const roomIds = scope !== '' ? [scope] : t === 'userId' ? await c.tx.roomsOfUser(c.appId, s) : await c.tx.roomsOfIp(c.appId, s);
    const out = [];
    for (const roomId of roomIds) {
      const room = await c.tx.lockRoom(c.appId, roomId);
      if (!room) continue;
      const members = t === 'userId'
        ? [await c.tx.getMember(c.appId, roomId, s)].filter((m): m is Member => m !== null)
        : await c.tx.listMembersByIp(c.appId, roomId, s);
      for (const member of members) out.push({ room, member });
    }
    return out;
  }

  // ------------------------------------------------------------------------------- mutes

  /** Mutes (or unmutes) subjects in a room or app-wide; the affected members are told. */
  async setMuted(
    appId: AppId,
    actor: Actor,
    target: { roomId: string; subjectType: SubjectType; subjects: string[] },
    muted: boolean,
    opts: { origin: Origin; durationSec?: number | null; reason?: string },
  ): Promise<MuteEntry[]> {
    return this.run(appId, async (c) => {
      if (target.subjects.length === 0) throw invalid(target.subjectType === 'ip' ? 'ip' : 'userIds', 'must not be empty');
      for (const s of target.subjects) checkId(target.subjectType === 'ip' ? 'ip' : 'userIds', s, 64);
      const room = target.roomId === '' ? null : await c.room(target.roomId);
      if (room) await this.requireModerator(c, room, actor);
      else if (actor.kind !== 'admin') throw new RoomError('PermissionDenied', 'app-wide mutes are for app admins');
      checkDuration(opts.durationSec ?? null);
      const until = opts.durationSec ? c.now + opts.durationSec * 1000 : null;
      const changed: MuteEntry[] = [];
      for (const subject of unique(target.subjects)) {
        const q = { roomId: target.roomId, subjectType: target.subjectType, subject, activeAt: c.now };
        const old = await c.tx.listMutes(appId, q);
        await c.tx.deleteMutes(appId, old.map((e) => e.id));
        if (muted) {
          changed.push(
            await c.tx.insertMute(appId, {
              roomId: target.roomId,
              subjectType: target.subjectType,
              subject,
              origin: opts.origin,
              expiresAt: until,
              reason: opts.reason ?? '',
              actor: actor.userId,
              createdAt: c.now,
            }),
          );
        } else {
          changed.push(...old);
        }
        for (const p of await this.presentIn(c, target.roomId, target.subjectType, subject)) {
          await c.emit(p.room.roomId, {
            type: 'muteChanged',
            actor: actor.userId,
            to: [p.member.userId],
            data: { userId: p.member.userId, muted, until, by: target.subjectType },
          });
        }
      }
      return changed;
    });
  }

  async listMutes(appId: AppId, q: { roomId: string; subjectType?: SubjectType; limit?: number; offset?: number }) {
    return this.run(appId, async (c) => {
      if (q.roomId !== '') await c.room(q.roomId);
      return c.tx.listMutes(appId, { ...q, activeAt: c.now });
    });
  }

  // ------------------------------------------------------------------------------- chat

  async sendMessage(appId: AppId, roomId: string, userId: string, text: string): Promise<{ msgId: string }> {
    return this.run(appId, async (c) => {
      if (text.length === 0) throw invalid('text', 'must not be empty');
      checkBytes('text', text, LIMITS.messageBytes);
      const room = await c.room(roomId);
      const m = await c.member(roomId, userId);
      if (room.isMessageDisabled && m.role === 'Member') {
        throw new RoomError('MessagesDisabled', 'messages are disabled in this room');
      }
      if ((await this.activeMutes(c, roomId, userId, m.clientIp)).length) {
        throw new RoomError('Muted', 'you are muted in this room');
      }
      const msgId = randomUUID();
      await c.emit(roomId, {
        type: 'messageReceived',
        actor: userId,
        data: { msgId, from: userId, nick: m.nameCard, avatar: m.avatar, text, admin: false },
      });
      return { msgId };
    });
  }

  /** A message from the app's server, shown as coming from `nick`. */
  async sendAdminMessage(appId: AppId, actor: Actor, roomId: string, msg: { text: string; nick: string; avatar: string; imageUrl?: string }) {
    return this.run(appId, async (c) => {
      checkBytes('text', msg.text, LIMITS.messageBytes);
      await c.room(roomId);
      const msgId = randomUUID();
      await c.emit(roomId, {
        type: 'messageReceived',
        actor: actor.userId,
        data: { msgId, from: actor.userId, nick: msg.nick, avatar: msg.avatar, text: msg.text, imageUrl: msg.imageUrl ?? '', admin: true },
      });
      return { msgId };
    });
  }

  // ------------------------------------------------------------------------------- seats

  async getSeats(appId: AppId, roomId: string): Promise<Seat[]> {
    return this.run(appId, async (c) => c.seats(await c.room(roomId)));
  }

  /** An owner/admin (or the app) puts a member on a seat. */
  async pickOnSeat(appId: AppId, actor: Actor, roomId: string, userId: string, index: number): Promise<Seat> {
    return this.run(appId, async (c) => {
      const room = await c.room(roomId);
      await this.requireModerator(c, room, actor);
      return this.place(c, room, userId, index, actor.userId);
    });
  }

  /**
   * A member takes a seat. In ApplyToTake rooms a plain member's request becomes a pending
   * application that an owner/admin approves.
   */
  async takeSeat(appId: AppId, roomId: string, userId: string, index: number | null) {
    return this.run(appId, async (c) => {
      const room = await c.room(roomId);
      const m = await c.member(roomId, userId);
      if (room.takeSeatMode === 'ApplyToTake' && m.role === 'Member') {
        return { requested: await this.apply(c, room, userId, index) };
      }
      return { seat: await this.place(c, room, userId, index, userId) };
    });
  }

  private async place(c: Ctx, room: Room, userId: string, index: number | null, actor: string): Promise<Seat> {
    if (!room.isSeatEnabled) throw new RoomError('SeatsDisabled', 'this room has no seats');
    await c.member(room.roomId, userId);
    const seats = await c.seats(room);
    if (index !== null) checkIndex(room, index);
    if (seats.some((s) => s.userId === userId)) throw new RoomError('AlreadyOnSeat', `${userId} is already on a seat`);
    let seat: Seat | undefined;
    if (index === null) {
      seat = seats.find((s) => !s.locked && s.userId === null);
      if (!seat) throw new RoomError('SeatsFull', 'all seats are taken');
    } else {
      seat = seats[index];
      if (seat.locked) throw new RoomError('SeatLocked', `seat ${index} is locked`);
      if (seat.userId !== null) throw new RoomError('SeatOccupied', `seat ${index} is taken by ${seat.userId}`);
    }
    seat.userId = userId;
    await c.tx.putSeat(c.appId, room.roomId, seat);
    for (const r of await c.tx.listSeatRequests(c.appId, room.roomId)) {
      if (r.userId === userId) await c.tx.deleteSeatRequest(c.appId, room.roomId, r.id);
    }
    await c.seatsChanged(room, actor, seats);
    return seat;
  }

  async leaveSeat(appId: AppId, roomId: string, userId: string): Promise<void> {
    return this.run(appId, async (c) => {
      const room = await c.room(roomId);
      await c.member(roomId, userId);
      const seats = await c.seats(room);
      const seat = seats.find((s) => s.userId === userId);
      if (!seat) throw new RoomError('NotOnSeat', `${userId} is not on a seat`);
      Object.assign(seat, { userId: null, videoDisabled: false, audioDisabled: false });
      await c.tx.putSeat(appId, roomId, seat);
      await c.seatsChanged(room, userId, seats);
    });
  }

  async kickOffSeat(appId: AppId, actor: Actor, roomId: string, userId: string, data: string): Promise<void> {
    return this.run(appId, async (c) => {
      checkBytes('data', data, LIMITS.dataBytes);
      const room = await c.room(roomId);
      await c.member(roomId, userId);
      await this.requireOutranks(c, room, actor, userId);
      const seats = await c.seats(room);
      const seat = seats.find((s) => s.userId === userId);
      if (!seat) throw new RoomError('NotOnSeat', `${userId} is not on a seat`);
      await this.vacate(c, room, seats, seat, actor.userId, data, 'kicked');
    });
  }

  /** Empties a seat, telling its occupant why, and announces the new seat list. */
  private async vacate(c: Ctx, room: Room, seats: Seat[], seat: Seat, actor: string, data: string, reason: string) {
    const userId = seat.userId!;
    Object.assign(seat, { userId: null, videoDisabled: false, audioDisabled: false });
    await c.tx.putSeat(c.appId, room.roomId, seat);
    await c.emit(room.roomId, {
      type: 'kickedOffSeat',
      actor,
      to: [userId],
      data: { userId, index: seat.index, data, reason },
    });
    await c.seatsChanged(room, actor, seats);
  }

  /**
   * Locks/unlocks a seat. Locking an occupied seat takes its occupant off first. The audio/video
   * flags belong to the seat's occupant: on an empty or locked seat they are accepted and ignored.
   */
  async lockSeat(appId: AppId, actor: Actor, roomId: string, index: number, input: LockInput): Promise<Seat> {
    return this.run(appId, async (c) => {
      const room = await c.room(roomId);
      if (!room.isSeatEnabled) throw new RoomError('SeatsDisabled', 'this room has no seats');
      checkIndex(room, index);
      await this.requireModerator(c, room, actor);
      const seats = await c.seats(room);
      const seat = seats[index];
      if (input.locked === true && seat.userId !== null) {
        await this.requireOutranks(c, room, actor, seat.userId);
        await this.vacate(c, room, seats, seat, actor.userId, '', 'seatLocked');
      }
      if (input.locked !== undefined) seat.locked = input.locked;
      if (seat.userId !== null && !seat.locked) {
        if (input.videoDisabled !== undefined) seat.videoDisabled = input.videoDisabled;
        if (input.audioDisabled !== undefined) seat.audioDisabled = input.audioDisabled;
      }
      await c.tx.putSeat(appId, roomId, seat);
      await c.seatsChanged(room, actor.userId, seats);
      return seat;
    });
  }

  /**
   * Moves a seated member to another seat. Policy when the target is occupied: 0 refuse,
   * 1 take the occupant off, 2 exchange. The member's audio/video flags move with them.
   */
  async moveToSeat(appId: AppId, actor: Actor, roomId: string, userId: string, toIndex: number, policy: MovePolicy): Promise<void> {
    return this.run(appId, async (c) => {
      const room = await c.room(roomId);
      if (!room.isSeatEnabled) throw new RoomError('SeatsDisabled', 'this room has no seats');
      checkIndex(room, toIndex);
      await c.member(roomId, userId);
      if (actor.userId !== userId || actor.kind === 'admin') await this.requireModerator(c, room, actor);
      const seats = await c.seats(room);
      const from = seats.find((s) => s.userId === userId);
      if (!from) throw new RoomError('NotOnSeat', `${userId} is not on a seat`);
      const to = seats[toIndex];
      if (from === to) return;
      if (to.locked) throw new RoomError('SeatLocked', `seat ${toIndex} is locked`);
      const moving = { userId, videoDisabled: from.videoDisabled, audioDisabled: from.audioDisabled };
      if (to.userId !== null) {
        if (policy === 0) throw new RoomError('SeatOccupied', `seat ${toIndex} is taken by ${to.userId}`);
        if (policy === 1) {
          await this.vacate(c, room, seats, to, actor.userId, '', 'replaced');
          Object.assign(from, { userId: null, videoDisabled: false, audioDisabled: false });
        } else {
          Object.assign(from, { userId: to.userId, videoDisabled: to.videoDisabled, audioDisabled: to.audioDisabled });
        }
      } else {
        Object.assign(from, { userId: null, videoDisabled: false, audioDisabled: false });
      }
      Object.assign(to, moving);
      // The store holds each member on one seat at most, at every write: in an exchange the
      // target still holds the other member when `from` receives them, so empty it first.
      await c.tx.putSeat(appId, roomId, { ...to, userId: null });
      await c.tx.putSeat(appId, roomId, from);
      await c.tx.putSeat(appId, roomId, to);
      await c.seatsChanged(room, actor.userId, seats);
    });
  }

  // ------------------------------------------------------------------------------- seat requests

  private async apply(c: Ctx, room: Room, userId: string, index: number | null): Promise<SeatRequest> {
    if (!room.isSeatEnabled) throw new RoomError('SeatsDisabled', 'this room has no seats');
    if (index !== null) checkIndex(room, index);
    const seats = await c.seats(room);
    if (seats.some((s) => s.userId === userId)) throw new RoomError('AlreadyOnSeat', `${userId} is already on a seat`);
    const pending = await c.tx.listSeatRequests(c.appId, room.roomId);
    if (pending.some((r) => r.userId === userId && r.kind === 'apply')) {
      throw new RoomError('AlreadyRequested', `${userId} has already applied for a seat`);
    }
    const req: SeatRequest = { id: randomUUID(), userId, kind: 'apply', index, actor: userId, createdAt: c.now };
    await c.tx.putSeatRequest(c.appId, room.roomId, req);
    await c.emit(room.roomId, {
      type: 'seatRequestReceived',
      actor: userId,
      to: await this.moderatorIds(c, room),
      data: { request: req },
    });
    return req;
  }

  async listSeatRequests(appId: AppId, actor: Actor, roomId: string): Promise<SeatRequest[]> {
    return this.run(appId, async (c) => {
      const room = await c.room(roomId);
      const all = await c.tx.listSeatRequests(appId, roomId);
      if (actor.kind === 'user' && (await this.roleOf(c, room, actor.userId)) === 'Member') {
        return all.filter((r) => r.userId === actor.userId);
      }
      return all;
    });
  }

  private async request(c: Ctx, roomId: string, id: string, kind: SeatRequest['kind']): Promise<SeatRequest> {
    const req = (await c.tx.listSeatRequests(c.appId, roomId)).find((r) => r.id === id && r.kind === kind);
    if (!req) throw new RoomError('RequestNotFound', `no pending ${kind === 'apply' ? 'seat application' : 'seat invitation'} ${id}`);
    return req;
  }

  async cancelSeatRequest(appId: AppId, roomId: string, userId: string, requestId: string): Promise<void> {
    return this.run(appId, async (c) => {
      const room = await c.room(roomId);
      const req = await this.request(c, roomId, requestId, 'apply');
      if (req.userId !== userId) throw new RoomError('PermissionDenied', 'not your application');
      await c.tx.deleteSeatRequest(appId, roomId, req.id);
      await c.emit(roomId, { type: 'seatRequestCancelled', actor: userId, to: await this.moderatorIds(c, room), data: { request: req } });
    });
  }

  /** An owner/admin answers an application: approved puts the member on a seat. */
  async answerSeatRequest(appId: AppId, actor: Actor, roomId: string, requestId: string, approve: boolean): Promise<void> {
    return this.run(appId, async (c) => {
      const room = await c.room(roomId);
      await this.requireModerator(c, room, actor);
      const req = await this.request(c, roomId, requestId, 'apply');
      await c.tx.deleteSeatRequest(appId, roomId, req.id);
      if (approve) await this.place(c, room, req.userId, req.index, actor.userId);
      await c.emit(roomId, {
        type: approve ? 'seatRequestApproved' : 'seatRequestRejected',
        actor: actor.userId,
        to: [req.userId, ...(await this.moderatorIds(c, room))],
        data: { request: req },
      });
    });
  }

  async inviteToSeat(appId: AppId, actor: Actor, roomId: string, userId: string, index: number | null): Promise<SeatRequest> {
    return this.run(appId, async (c) => {
      const room = await c.room(roomId);
      await this.requireModerator(c, room, actor);
      if (!room.isSeatEnabled) throw new RoomError('SeatsDisabled', 'this room has no seats');
      if (index !== null) checkIndex(room, index);
      await c.member(roomId, userId);
      if ((await c.seats(room)).some((s) => s.userId === userId)) {
        throw new RoomError('AlreadyOnSeat', `${userId} is already on a seat`);
      }
      const pending = await c.tx.listSeatRequests(appId, roomId);
      if (pending.some((r) => r.userId === userId && r.kind === 'invite')) {
        throw new RoomError('AlreadyRequested', `${userId} already has a pending invitation`);
      }
      const req: SeatRequest = { id: randomUUID(), userId, kind: 'invite', index, actor: actor.userId, createdAt: c.now };
      await c.tx.putSeatRequest(appId, roomId, req);
      await c.emit(roomId, { type: 'seatInvitationReceived', actor: actor.userId, to: [userId], data: { request: req } });
      return req;
    });
  }

  /** The invited member answers: accepted puts them on the seat. */
  async answerSeatInvitation(appId: AppId, roomId: string, userId: string, requestId: string, accept: boolean): Promise<void> {
    return this.run(appId, async (c) => {
      const room = await c.room(roomId);
      const req = await this.request(c, roomId, requestId, 'invite');
      if (req.userId !== userId) throw new RoomError('PermissionDenied', 'not your invitation');
      await c.tx.deleteSeatRequest(appId, roomId, req.id);
      if (accept) await this.place(c, room, userId, req.index, userId);
      await c.emit(roomId, {
        type: accept ? 'seatInvitationAccepted' : 'seatInvitationRejected',
        actor: userId,
        to: [userId, req.actor, ...(await this.moderatorIds(c, room))],
        data: { request: req },
      });
    });
  }
}

// ---------------------------------------------------------------------------------------------

function checkIndex(room: Room, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= room.maxSeatCount) {
    throw invalid('index', `must be a seat index 0..${room.maxSeatCount - 1}`);
  }
}

/** A ban or mute lasts 1..maxBanSeconds seconds, or (null) until lifted. */
function checkDuration(seconds: number | null): void {
  if (seconds !== null && (!Number.isInteger(seconds) || seconds <= 0 || seconds > LIMITS.maxBanSeconds)) {
    throw invalid('duration', `must be 1..${LIMITS.maxBanSeconds} seconds`);
  }
}

function checkMaxMembers(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > LIMITS.maxMemberCount) {
    throw invalid('maxMemberCount', `must be 1..${LIMITS.maxMemberCount}`);
  }
}

function checkUserList(ids: string[], max: number = LIMITS.membersPerCall): void {
  if (ids.length === 0 || ids.length > max) throw invalid('userIds', `must list 1..${max} user IDs`);
  for (const id of ids) checkId('userIds', id);
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
