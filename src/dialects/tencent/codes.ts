// Every code the Tencent dialect answers with, and the mapping from the core's typed errors.
// Codes and meanings: Room Engine REST reference (common 60xxx/70xxx, private 100xxx).
import type { ErrorDetail, ErrorKind } from '../../core/errors.js';

export const CODE = {
  ok: 0,
  badHttpRequest: 60002, // unparsable request / URL (missing or duplicated query parameter, body too large)
  badJson: 60003, // body is not a JSON object
  unknownSdkAppId: 60006,
  rateLimited: 60007,
  unknownCommand: 60009,
  notAdmin: 60010,
  noSdkAppId: 60012,
  sigExpired: 70001,
  sigMalformed: 70003,
  sigWrongKey: 70009,
  sigIdentifierMismatch: 70013,
  sigSdkAppIdMismatch: 70014,
  internal: 100001,
  invalidParam: 100002,
  roomExists: 100003, // create_room: the RoomId exists
  sensitiveWord: 100026, // create_room documents it for sensitive words; used for bad words
  roomNotFound: 100004,
  notMember: 100005,
  permissionDenied: 100006,
  roomFull: 100008, // not reachable from this dialect's commands (entries come in over realtime)
  tooManyMarks: 100009, // mark_room_member: over the distinct marks of a room
  invalidRoomType: 100015, // create_room: RoomType not Conference / Live
  memberBanned: 100016, // not reachable (an entry refused by a ban)
  memberMuted: 100017, // not reachable (a message refused by a mute)
  wrongPassword: 100019, // not reachable (an entry with a wrong room password)
  seatLocked: 100200,
  alreadyApplying: 100202,
  alreadyOnSeat: 100203,
  notApplying: 100204, // not reachable (no seat application to answer)
  seatsFull: 100205,
  notOnSeat: 100206, // kick_user_off_seat, switch_seat, move_user_to_seat: the member has no seat
  seatOccupied: 100210,
  seatsDisabled: 100211,
  callbackExists: 100300, // room_config/set_callback: a configuration exists, use the update interface
  callbackMissing: 100301, // room_config/update_callback, get_callback: no configuration
  roomExistsSameOwner: 100010, // create_room: exists with the same Owner_Account ("use it directly")
  roomCreatedJustNow: 100012, // create_room: the same RoomId can be created once per second
} as const;

/** Thrown by a command to answer with one of the codes above (not a core rule's error). */
export class TencentError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export const CODE_BY_KIND: Record<ErrorKind, number> = {
  InvalidParam: CODE.invalidParam,
  RoomNotFound: CODE.roomNotFound,
  RoomExists: CODE.roomExists,
  NotMember: CODE.notMember,
  PermissionDenied: CODE.permissionDenied,
  SeatsDisabled: CODE.seatsDisabled,
  SeatLocked: CODE.seatLocked,
  SeatOccupied: CODE.seatOccupied,
  SeatsFull: CODE.seatsFull,
  AlreadyOnSeat: CODE.alreadyOnSeat,
  NotOnSeat: CODE.notOnSeat,
  AlreadyRequested: CODE.alreadyApplying,
  RequestNotFound: CODE.notApplying,
  RoomFull: CODE.roomFull,
  WrongPassword: CODE.wrongPassword,
  DeniedUser: CODE.memberBanned,
  DeniedIp: CODE.memberBanned,
  Muted: CODE.memberMuted,
  MessagesDisabled: CODE.permissionDenied,
  BadWord: CODE.sensitiveWord,
  PasswordAttemptsExceeded: CODE.rateLimited,
};

/** Finer codes for some kinds (see ErrorDetail). */
export const CODE_BY_DETAIL: Record<ErrorDetail, number> = {
  sameOwner: CODE.roomExistsSameOwner,
  justCreated: CODE.roomCreatedJustNow,
  tooManyMarks: CODE.tooManyMarks,
};

/** Core field names as the Tencent wire names them (per-command names override these). */
export const WIRE_FIELD: Record<string, string> = {
  roomId: 'RoomId',
  roomName: 'RoomInfo.RoomName',
  customInfo: 'RoomInfo.CustomInfo',
  password: 'RoomInfo.Password',
  ownerId: 'RoomInfo.Owner_Account',
  maxSeatCount: 'RoomInfo.MaxSeatCount',
  maxMemberCount: 'RoomInfo.MaxMemberCount',
  scheduleEndTime: 'RoomInfo.ScheduleEndTime',
  inviteeIds: 'ScheduleInviteeList_Account',
  nameCard: 'MemberInfo.NameCard',
  memberCustomInfo: 'MemberInfo.CustomInfo',
  role: 'MemberInfo.Role',
  userId: 'Member_Account',
  userIds: 'MemberList_Account',
  reason: 'Reason',
  duration: 'Duration',
  data: 'Data',
  index: 'Index',
  memberList: 'MemberList',
  marks: 'Marks',
  fromUserId: 'From_Account',
  takeSeatMode: 'RoomInfo.TakeSeatMode',
};
