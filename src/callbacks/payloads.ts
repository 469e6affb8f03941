// The one table from the core's events to callbacks: which event yields which callback command,
// and its body. Tencent's six keep Tencent's documented fields; Rostrum's moderation callbacks
// follow the same style. Every body also carries EventId (unique; receivers drop duplicates) and
// Seq (the room's sequence number: order a room's callbacks by it).
import { createHash } from 'node:crypto';
import type { EventType, LeaveReason, RoomEvent } from '../core/events.js';
import type { DenyEntry } from '../core/model.js';
import type { RoomView } from '../core/views.js';
import type { CallbackCommand } from './commands.js';

type EventOf<K extends EventType> = Extract<RoomEvent, { type: K }>;

/** A callback an event yields: its command and the fields after CallbackCommand. */
export interface CallbackBody {
  command: CallbackCommand;
  fields: Record<string, unknown>;
}

type Mapper<K extends EventType> = (e: EventOf<K>) => CallbackBody | null;

const LEAVE_TYPE: Record<LeaveReason, 'Leave' | 'Kicked' | 'Expired'> = {
  leave: 'Leave',
  kicked: 'Kicked',
  banned: 'Kicked',
  dismissed: 'Kicked',
  expired: 'Expired',
  disconnected: 'Expired',
};

function createRoomInfo(r: RoomView) {
  return {
    RoomId: r.roomId,
    RoomName: r.name,
    RoomType: r.type,
    Owner_Account: r.ownerId,
    MaxMemberCount: r.maxMemberCount,
    MaxSeatCount: r.maxSeatCount,
    IsVideoDisabled: r.isVideoDisabled,
    IsAudioDisabled: r.isAudioDisabled,
    IsMessageDisabled: r.isMessageDisabled,
    IsScreenSharingDisabled: r.isScreenSharingDisabled,
    IsCloudRecordingDisabled: r.isCloudRecordingDisabled,
    CustomInfo: r.customInfo,
    ScheduleStartTime: r.scheduleStartTime,
    ScheduleEndTime: r.scheduleEndTime,
    RoomStatus: r.status,
    IsSeatEnabled: r.isSeatEnabled,
    TakeSeatMode: r.takeSeatMode,
    CreateTime: r.createTime,
  };
}

function updateRoomInfo(r: RoomView) {
  return {
    RoomId: r.roomId,
    RoomName: r.name,
    Owner_Account: r.ownerId,
    TakeSeatMode: r.takeSeatMode,
    MaxMemberCount: r.maxMemberCount,
    IsVideoDisabled: r.isVideoDisabled,
    IsAudioDisabled: r.isAudioDisabled,
    IsMessageDisabled: r.isMessageDisabled,
    IsScreenSharingDisabled: r.isScreenSharingDisabled,
    IsCloudRecordingDisabled: r.isCloudRecordingDisabled,
    CustomInfo: r.customInfo,
  };
}

function entryToWire(e: DenyEntry) {
  return {
    EntryId: e.id,
    SubjectType: e.subjectType === 'ip' ? 'IP' : 'UserId',
    Subject: e.subject,
    Origin: e.origin,
    Reason: e.reason,
    Until: e.expiresAt ?? 0,
    Operator_Account: e.actor,
    CreateTime: e.createdAt,
  };
}

/** A seat as Mic callbacks list it (Member_Account only when taken); built in key order without spreads, once per seat per change. */
function seatToWire(s: EventOf<'seatListChanged'>['data']['seats'][number]) {
  const seat: Record<string, unknown> = { Index: s.index };
  if (s.userId !== null) seat.Member_Account = s.userId;
  seat.IsTakenDisabled = s.locked;
  seat.IsVideoDisabled = s.videoDisabled;
  seat.IsAudioDisabled = s.audioDisabled;
  return seat;
}

function roomInfoUpdated(actor: string, room: RoomView): CallbackBody {
  return { command: 'Room.CallbackAfterUpdateRoomInfo', fields: { Operator_Account: actor, RoomInfo: updateRoomInfo(room) } };
}

/** Event type -> callback. Events not listed here yield no callback. */
const MAPPERS: { [K in EventType]?: Mapper<K> } = {
  roomCreated: (e) => ({
    command: 'Room.CallbackAfterCreateRoom',
    fields: { Operator_Account: e.actor, RoomInfo: createRoomInfo(e.data.room), ScheduleInviteeList_Account: e.data.room.inviteeIds },
  }),
  roomDismissed: (e) => ({ command: 'Room.CallbackAfterDestroyRoom', fields: { Operator_Account: e.actor, RoomId: e.roomId } }),
  roomInfoChanged: (e) => roomInfoUpdated(e.actor, e.data.room),
  // The room info's Owner_Account changed. An event stored by a release before it carried the room yields none.
  ownerChanged: (e) => (e.data.room ? roomInfoUpdated(e.actor, e.data.room) : null),
  memberEntered: (e) => ({
    command: 'Room.CallbackAfterMemberEnter',
    fields: { Operator_Account: e.actor, RoomId: e.roomId, MemberCount: e.data.memberCount, Type: 'Enter', MemberList_Account: [e.data.member.userId] },
  }),
  memberLeft: (e) => ({
    command: 'Room.CallbackAfterMemberLeave',
    fields: {
      Operator_Account: e.actor,
      RoomId: e.roomId,
      MemberCount: e.data.memberCount,
      Type: LEAVE_TYPE[e.data.reason] ?? 'Leave',
      MemberList_Account: [e.data.userId],
      Reason: e.data.reason,
    },
  }),
  seatListChanged: (e) => ({
    command: 'Mic.CallbackAfterSeatInfoChanged',
    fields: {
      Operator_Account: e.actor,
      RoomId: e.roomId,
      SeatList: e.data.seats.map(seatToWire),
    },
  }),
  denyChanged: (e) => ({
    command: e.data.change === 'added' ? 'Moderation.CallbackAfterDenyAdded' : 'Moderation.CallbackAfterDenyLifted',
    fields: { Operator_Account: e.actor, RoomId: e.roomId, EntryList: e.data.entries.map(entryToWire) },
  }),
  muteChanged: (e) => ({
    command: 'Moderation.CallbackAfterMuteChanged',
    fields: {
      Operator_Account: e.actor,
      RoomId: e.roomId,
      Member_Account: e.data.userId,
      Type: e.data.muted ? 'Muted' : 'Unmuted',
      SubjectType: e.data.by === 'ip' ? 'IP' : 'UserId',
      Reason: e.data.reason ?? '',
      Until: e.data.until ?? 0,
      // App-wide (RoomId ''): the entry's subject, a user id or an IP address or range.
      ...(e.data.subject !== undefined ? { Subject: e.data.subject } : {}),
    },
  }),
  seatLockChanged: (e) => ({
    command: 'Moderation.CallbackAfterSeatLockChanged',
    fields: {
      Operator_Account: e.actor,
      RoomId: e.roomId,
      Index: e.data.index,
      IsTakenDisabled: e.data.locked,
      IsVideoDisabled: e.data.videoDisabled,
      IsAudioDisabled: e.data.audioDisabled,
      Reason: '',
      Until: 0,
    },
  }),
};

/** The callback an event yields, or null. */
export function callbackOf(e: RoomEvent): CallbackBody | null {
  const map = MAPPERS[e.type] as Mapper<EventType> | undefined;
  return map ? map(e as never) : null;
}

/**
 * A stable id for an event: the same event read twice (after a crash) gets the same id, so the
 * spool and receivers can drop the repeat. 32 hex characters: the event's time (11, so ids of
 * later events sort later and the spool's index on them grows at its end), then a hash (21) of
 * the event with its data. The room's seq alone is not enough: a room destroyed and created
 * again starts over at 1. `text`: the event's stored JSON, when the store has it (the same on
 * every read), instead of serialising the data again.
 */
export function eventIdOf(e: RoomEvent, text?: string): string {
  const hash = createHash('sha256')
    .update(`${e.appId}\n${e.roomId}\n${e.seq}\n${e.at}\n${e.type}\n`)
    .update(text ?? JSON.stringify(e.data))
    .digest('hex');
  return Math.max(0, e.at).toString(16).padStart(11, '0').slice(-11) + hash.slice(0, 21);
}

/** The JSON body sent: CallbackCommand first, Tencent's fields, then EventTime, EventId, Seq. */
export function bodyOf(e: RoomEvent, cb: CallbackBody, eventId: string): string {
  return JSON.stringify({ CallbackCommand: cb.command, ...cb.fields, EventTime: e.at, EventId: eventId, Seq: e.seq });
}
