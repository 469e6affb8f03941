// What clients and dialects see of the model: never a room's password, a member's IP or the app.
import type { Member, MemberSnapshot, Room } from './model.js';

export interface RoomView extends Omit<Room, 'password' | 'appId'> {
  status: 'NotStarted' | 'Running';
  memberCount: number;
}

/** A member without what only the server may know: client IP, connection, entry time. */
export type MemberView = Omit<Member, 'clientIp' | 'connId' | 'joinedAt'>;

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

/**
 * Which life of a room id a room is: its creation time, ms. A room dismissed and created again
 * starts its seq over at 1; its life tells the two apart.
 */
export function roomLife(room: Room): number {
  return room.createdAtMs ?? room.createTime * 1000;
}

export function roomView(room: Room, memberCount: number, now: number): RoomView {
  const { password: _password, appId: _appId, createdAtMs: _createdAtMs, censorEnabled: _censorEnabled, ...rest } = room;
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
    ...(m.customInfo ? { param4: m.customInfo } : {}),
  };
}
