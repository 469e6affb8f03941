// The command catalog: every operation on the core, as data. A surface (Tencent, Polyv, the
// realtime gateway, the native API) turns a wire request into one of these and hands it to
// `Engine.execute(appId, actor, command)`; the result type follows from the command's `type`.
import type { LeaveReason } from './events.js';
import type {
  AuditEntry,
  ChatMessage,
  DenyEntry,
  Member,
  MuteEntry,
  Origin,
  Room,
  Seat,
  SeatRequest,
  SubjectType,
  TakeSeatMode,
} from './model.js';
import type { MemberView, RoomView } from './views.js';
import type { AuditedMessage } from './censor.js';
import type { MessageKey } from './ports/store.js';

export interface CreateRoomInput {
  roomId: string;
  name?: string;
  /** Tencent RoomType (Conference, Live). */
  roomType?: string;
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

/** Target occupied: 0 refuse, 1 take the occupant off, 2 exchange. */
export type MovePolicy = 0 | 1 | 2;

export interface DenyTarget {
  roomId: string; // '' = app-wide
  subjectType: SubjectType;
  subject: string;
}

export interface EnterResult {
  room: RoomView;
  seats: Seat[];
  member: MemberView;
  memberCount: number;
  /** This member's chat is muted (by userId or IP). */
  muted: boolean;
  /** The member was already in (re-entry or another connection). */
  replaced: boolean;
  /** The room's seq at this snapshot (its entry event included). */
  seq: number;
  /** Which life of the room id this is (see roomLife): its seq restarts with each. */
  life: number;
}

/**
 * Each command: its fields and what it returns. Commands acting on the caller themselves
 * (enterRoom, takeSeat, sendMessage…) act on `actor.userId`.
 */
export interface CommandCatalog {
  // rooms
  createRoom: { in: CreateRoomInput; out: RoomView };
  destroyRoom: { in: { roomId: string; reason?: string }; out: void };
  updateRoomInfo: { in: { roomId: string; patch: RoomPatch }; out: RoomView };
  getRoomInfo: { in: { roomId: string }; out: RoomView };
  changeOwner: { in: { roomId: string; fromUserId: string; toUserId: string }; out: void };
  // membership
  enterRoom: {
    in: { roomId: string; password?: string; nick?: string; avatar?: string; userType?: string; customInfo?: string; clientIp: string; connId: string };
    out: EnterResult;
  };
  /** With `connId`, only if that connection is still the member's: a replaced one's late close changes nothing. */
  leaveRoom: { in: { roomId: string; reason?: LeaveReason; connId?: string }; out: boolean };
  listMembers: { in: { roomId: string; after: string; count: number }; out: { members: Member[]; next: string } };
  getMember: { in: { roomId: string; userId: string }; out: Member };
  updateMemberInfo: {
    in: { roomId: string; userId: string; nameCard?: string; customInfo?: string; role?: 'Admin' | 'Member' };
    out: MemberView;
  };
  markMembers: { in: { roomId: string; op: 'set' | 'delete'; list: { userId: string; marks: number[] }[] }; out: void };
  // moderation
  kickOut: { in: { roomId: string; userIds: string[]; reason: string }; out: void };
  /** Deny entry per user (removed at once if present); roomId '' = app-wide. */
  banUsers: {
    in: { roomId: string; userIds: string[]; durationSec: number | null; reason: string; origin: Origin; nicks?: string[] };
    out: DenyEntry[];
  };
  /** Tencent unban_room_member: lifts the users' entries in one room. */
  unbanUsers: { in: { roomId: string; userIds: string[] }; out: DenyEntry[] };
  /** Denies entry from a member's current client IP (room or app scope). */
  banIpOf: { in: { roomId: string; userId: string; scope: 'room' | 'app'; reason: string; origin: Origin }; out: DenyEntry };
  /** Denies entry from an IP address; roomId '' = app-wide. */
  banIp: { in: { roomId: string; ip: string; reason: string; origin: Origin; durationSec?: number | null }; out: DenyEntry };
  /** Lifts deny entries (any origin) for these subjects; returns those removed. */
  liftDeny: { in: { targets: DenyTarget[] }; out: DenyEntry[] };
  listDeny: {
    in: { roomId: string; subjectType?: SubjectType; origin?: Origin; limit?: number; offset?: number };
    out: { entries: DenyEntry[]; total: number };
  };
  setMuted: {
    in: {
      roomId: string;
      subjectType: SubjectType;
      subjects: string[];
      muted: boolean;
      origin: Origin;
      durationSec?: number | null;
      reason?: string;
    };
    out: MuteEntry[];
  };
  listMutes: { in: { roomId: string; subjectType?: SubjectType; limit?: number; offset?: number }; out: MuteEntry[] };
  // chat
  /** `held`: the room's censorship holds it for review (see censor.ts). */
  sendMessage: { in: { roomId: string; text: string }; out: { msgId: string; held?: boolean } };
  /** A message from the app's server, shown as coming from `nick`. */
  sendAdminMessage: { in: { roomId: string; text: string; nick: string; avatar: string; imageUrl?: string }; out: { msgId: string } };
  /** A page of the room's chat history, newest first; `next` is the `beforeSeq` of the next page (0: no more). Members only. */
  listMessages: {
    /** fromAt/toAt (ms, inclusive) bound the time; offset skips that many (the app's numbered pages; up to 1000 a page for the app). */
    in: { roomId: string; beforeSeq?: number; count: number; fromAt?: number; toAt?: number; offset?: number };
    out: { messages: ChatMessage[]; next: number };
  };
  /**
   * The app only: messages of every room, oldest first, in a time range (ms, inclusive); up to 1000
   * a page. `after` (the previous page's last record's key) starts past it, whatever was deleted since.
   */
  listAppMessages: { in: { fromAt?: number; toAt?: number; offset?: number; after?: MessageKey; count: number }; out: ChatMessage[] };
  /** Owners, admins and the app: deletes messages from the history by id; the room gets messagesDeleted. */
  deleteMessages: { in: { roomId: string; msgIds: string[] }; out: void };
  /** Owners, admins and the app: deletes the room's whole history; the room gets chatCleared. */
  clearMessages: { in: { roomId: string }; out: void };
  // seats
  getSeats: { in: { roomId: string }; out: Seat[] };
  /** An owner/admin (or the app) puts a member on a seat. */
  pickOnSeat: { in: { roomId: string; userId: string; index: number }; out: Seat };
  /** The caller takes a seat; in ApplyToTake rooms a plain member's becomes an application. */
  takeSeat: { in: { roomId: string; index: number | null }; out: { seat: Seat } | { requested: SeatRequest } };
  leaveSeat: { in: { roomId: string }; out: void };
  kickOffSeat: { in: { roomId: string; userId: string; data: string; reason?: string }; out: void };
  lockSeat: { in: { roomId: string; index: number; locked?: boolean; videoDisabled?: boolean; audioDisabled?: boolean; reason?: string }; out: Seat };
  moveToSeat: { in: { roomId: string; userId: string; index: number; policy: MovePolicy }; out: void };
  // seat requests
  listSeatRequests: { in: { roomId: string }; out: SeatRequest[] };
  cancelSeatRequest: { in: { roomId: string; requestId: string }; out: void };
  answerSeatRequest: { in: { roomId: string; requestId: string; approve: boolean }; out: void };
  inviteToSeat: { in: { roomId: string; userId: string; index: number | null }; out: SeatRequest };
  answerSeatInvitation: { in: { roomId: string; requestId: string; accept: boolean }; out: void };
  // bad words (scope: a room id, '' = the whole app)
  addBadWords: { in: { scope: string; words: string[] }; out: { count: number } };
  /** Returns the words left in the list. */
  deleteBadWords: { in: { scope: string; words: string[] }; out: string[] };
  listBadWords: { in: { scope: string }; out: string[] };
  // pre-moderation
  /** `enabled` absent: the opposite of the room's current setting. Returns the new setting. */
  setCensorEnabled: { in: { roomId: string; enabled?: boolean }; out: boolean };
  /** Delivers reviewed messages; returns their msgIds. */
  auditMessages: { in: { roomId: string; messages: AuditedMessage[] }; out: string[] };
  // the app server's other messages
  /** A chat message shown as a user's (the app speaks for them). */
  sendMessageAs: { in: { roomId: string; userId: string; text: string; imageUrl?: string }; out: { msgId: string } };
  sendCustomMessage: {
    in: { roomId: string; content: string; imageUrl?: string; watchTypes?: number[]; important?: boolean; joinHistory?: boolean };
    out: { msgId: string };
  };
  /** A payload for these users only. */
  sendToUsers: { in: { roomId: string; userIds: string[]; payload: string }; out: { msgId: string } };
  // operator reads (native API, console)
  /** The app's rooms in id order after `after`; `next` = '' on the last page. */
  listRooms: { in: { after: string; limit: number; search?: string }; out: { rooms: RoomListItem[]; next: string } };
  /** The app's audit log, newest first; `next` = '' on the last page. */
  listAudit: {
    in: { roomId?: string; actor?: string; target?: string; action?: string; from?: number; to?: number; before?: string; limit: number };
    out: { entries: AuditEntry[]; next: string };
  };
}

export interface RoomListItem extends RoomView {
  seatCount: number;
  seatedCount: number;
}

export type CommandType = keyof CommandCatalog;

/** A command as data: `{ type: 'kickOffSeat', roomId, userId, data }`. */
export type Command = { [K in CommandType]: { type: K } & CommandCatalog[K]['in'] }[CommandType];
export type CommandOf<K extends CommandType> = { type: K } & CommandCatalog[K]['in'];
export type ResultOf<C extends { type: CommandType }> = CommandCatalog[C['type']]['out'];
