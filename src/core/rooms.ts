// Rooms: create, dismiss, update, read, hand over.
import { RoomError, invalid } from './errors.js';
import type { CreateRoomInput } from './commands.js';
import { checkMaxMembers } from './checks.js';
import { requireModerator, type ReadContext } from './context.js';
import { read, write, type Handlers } from './handler.js';
import { LIMITS, checkBytes, checkId } from './limits.js';
import type { Actor, AppId, Room, RoomAggregate, Seat } from './model.js';
import { roomLife, roomView } from './views.js';
import { storedPassword } from './passwords.js';

function newRoom(appId: AppId, now: number, actor: Actor, input: CreateRoomInput): Room {
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
  const nowSec = Math.floor(now / 1000);
  const start = input.scheduleStartTime ?? nowSec;
  const end = input.scheduleEndTime ?? start + 3600;
  if (end < start) throw invalid('scheduleEndTime', 'must not be before ScheduleStartTime');
  if (input.isPasswordEnabled && !input.password) throw invalid('password', 'is required when the password is enabled');
  for (const id of input.inviteeIds ?? []) checkId('inviteeIds', id);
  return {
    appId,
    roomId: input.roomId,
    name: input.name ?? input.roomId,
    type: input.roomType ?? 'Conference',
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
    inviteeIds: [...(input.inviteeIds ?? [])],
    createdAtMs: now,
  };
}

/** Why a room id is taken: created less than a second ago, by the same owner, or otherwise. */
async function roomExists(c: ReadContext, wanted: Room): Promise<RoomError> {
  const old = (await c.store.room(wanted.roomId))?.room;
  const createdAt = old ? roomLife(old) : 0;
  const detail = old && c.now - createdAt < 1000 ? 'justCreated' : old?.ownerId === wanted.ownerId ? 'sameOwner' : undefined;
  return new RoomError('RoomExists', `room ${wanted.roomId} already exists`, undefined, detail);
}

function view(c: ReadContext, agg: RoomAggregate) {
  return roomView(agg.room, agg.memberCount, c.now);
}

export const roomHandlers: Handlers<'createRoom' | 'destroyRoom' | 'updateRoomInfo' | 'getRoomInfo' | 'changeOwner'> = {
  createRoom: write(async (c, { type: _type, ...input }) => {
    checkId('roomId', input.roomId, LIMITS.roomIdBytes);
    const fresh = newRoom(c.appId, c.now, c.actor, input);
    const room: Room = { ...fresh, password: (await storedPassword(fresh.password)) ?? '' };
    const seats: Seat[] = [];
    for (let i = 0; i < room.maxSeatCount; i++) {
      seats.push({ index: i, userId: null, locked: false, videoDisabled: false, audioDisabled: false });
    }
    const agg: RoomAggregate = { room, seats, admins: [], requests: [], memberCount: 0, seq: 0 };
    if (!(await c.store.insertRoom(agg))) throw await roomExists(c, room);
    const roomView = view(c, agg);
    c.emit(agg, { type: 'roomCreated', actor: c.actor.userId, data: { room: roomView } });
    return roomView;
  }),

  destroyRoom: write(async (c, { roomId, reason }) => {
    const agg = await c.room(roomId);
    if (c.actor.kind === 'user' && agg.room.ownerId !== c.actor.userId) {
      throw new RoomError('PermissionDenied', 'only the owner may dismiss the room');
    }
    checkBytes('reason', reason, LIMITS.reasonBytes);
    c.audit({ roomId, action: 'dismissRoom', targetType: 'room', target: roomId, reason });
    c.emit(agg, { type: 'roomDismissed', actor: c.actor.userId, data: { roomId } });
    await c.deleteRoom(agg);
  }),

  updateRoomInfo: write(async (c, { roomId, patch }) => {
    const agg = await c.room(roomId);
    requireModerator(agg, c.actor);
    checkBytes('roomName', patch.name, LIMITS.roomNameBytes);
    checkBytes('customInfo', patch.customInfo, LIMITS.roomCustomInfoBytes);
    checkBytes('password', patch.password, LIMITS.passwordBytes);
    if (patch.maxMemberCount !== undefined) checkMaxMembers(patch.maxMemberCount);
    if (patch.takeSeatMode !== undefined && patch.takeSeatMode !== 'None' && !agg.room.isSeatEnabled) {
      throw new RoomError('SeatsDisabled', 'this room has no seats');
    }
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    const next: Room = { ...agg.room, ...defined };
    if (next.isPasswordEnabled && !next.password) throw invalid('password', 'is required when the password is enabled');
    agg.room = patch.password ? { ...next, password: (await storedPassword(patch.password))! } : next;
    const roomView = view(c, agg);
    c.emit(agg, { type: 'roomInfoChanged', actor: c.actor.userId, data: { room: roomView } });
    return roomView;
  }),

  getRoomInfo: read(async (c, { roomId }) => view(c, await c.room(roomId))),

  changeOwner: write(async (c, { roomId, fromUserId, toUserId }) => {
    const agg = await c.room(roomId);
    if (c.actor.kind === 'user' && c.actor.userId !== agg.room.ownerId) {
      throw new RoomError('PermissionDenied', 'only the owner may hand over the room');
    }
    if (fromUserId !== agg.room.ownerId) throw invalid('fromUserId', `must be the owner of room ${roomId}`);
    const next = await c.member(roomId, toUserId);
    if (toUserId === fromUserId) return;
    agg.room = { ...agg.room, ownerId: toUserId };
    agg.admins = agg.admins.filter((a) => a !== toUserId);
    await c.store.putMember(roomId, { ...next, role: 'Owner' });
    const old = await c.store.member(roomId, fromUserId);
    if (old) await c.store.putMember(roomId, { ...old, role: 'Member' });
    c.emit(agg, { type: 'ownerChanged', actor: c.actor.userId, data: { from: fromUserId, to: toUserId, room: view(c, agg) } });
  }),
};
