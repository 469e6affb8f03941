// Domain types shared by every dialect and transport. Field names are Rostrum's own;
// each dialect maps them to its wire names.

export type AppId = number;

export interface PolyvCredentials {
  appId: string;
  appSecret: string;
  /** The Polyv account id (the `{userId}` of account-level paths); unchecked when absent. */
  userId?: string;
}

export interface App {
  sdkAppId: AppId;
  secretKey: string;
  admins: string[];
  rateLimit: { perCommandPerSecond: number; perEndpointPerSecond: number };
  polyv?: PolyvCredentials;
  /** Where this app's callbacks go (config file); REST room_config/* settings win over it. */
  callback?: { url: string; token?: string; commands?: string[] };
  /** The console password's scrypt hash (`rostrum hash-password`); absent = UserSig sign-in only. */
  consolePassword?: string;
}

export type Role = 'Owner' | 'Admin' | 'Member';
export type TakeSeatMode = 'None' | 'FreeToTake' | 'ApplyToTake';
export type RoomStatus = 'None' | 'NotStarted' | 'Running';

/** Never changed in place: a change replaces the room's settings (as seats, below). */
export interface Room {
  readonly appId: AppId;
  readonly roomId: string;
  readonly name: string;
  readonly type: string;
  readonly ownerId: string;
  readonly maxMemberCount: number;
  readonly maxSeatCount: number;
  readonly isSeatEnabled: boolean;
  readonly takeSeatMode: TakeSeatMode;
  readonly isVideoDisabled: boolean;
  readonly isAudioDisabled: boolean;
  readonly isMessageDisabled: boolean;
  readonly isScreenSharingDisabled: boolean;
  readonly isCloudRecordingDisabled: boolean;
  readonly customInfo: string;
  readonly isPasswordEnabled: boolean;
  readonly password: string;
  readonly scheduleStartTime: number; // unix seconds
  readonly scheduleEndTime: number; // unix seconds
  readonly createTime: number; // unix seconds
  readonly inviteeIds: readonly string[];
  /** Creation time in ms (absent on rooms made before it was kept): "created less than 1 s ago". */
  readonly createdAtMs?: number;
  /** Pre-moderation: members' messages wait for review (Polyv update-censor-enabled). */
  readonly censorEnabled?: boolean;
}

/** A user present in a room (connected, or put there by a test through the core). */
export interface Member {
  userId: string;
  role: Role;
  nameCard: string;
  avatar: string;
  userType: string;
  marks: number[];
  customInfo: string;
  clientIp: string;
  connId: string;
  joinedAt: number; // ms
}

/** Never changed in place: a change replaces the seat, so copies of a seat list can share seats. */
export interface Seat {
  readonly index: number;
  readonly userId: string | null;
  readonly locked: boolean;
  readonly videoDisabled: boolean;
  readonly audioDisabled: boolean;
}

export type SubjectType = 'userId' | 'ip';
/** Where an entry came from; lists show their own origin's entries by default. */
export type Origin = 'tencent' | 'polyv' | 'realtime';

/** The member as they were when a deny entry was made (what Polyv's kicked lists return). */
export interface MemberSnapshot {
  userId: string;
  nick: string;
  pic: string;
  userType: string;
  clientIp: string;
  uid: string;
  /** The member's customInfo (Polyv's custom parameter `param4`), when they had one. */
  param4?: string;
}

/** Who may not enter: a userId or an IP, in one room ('' = the whole app). */
export interface DenyEntry {
  /** Made by the core (time-ordered, unique across nodes), so a write needs no read back. */
  id: string;
  roomId: string; // '' = app-wide
  subjectType: SubjectType;
  subject: string;
  origin: Origin;
  expiresAt: number | null; // ms; null = until lifted
  reason: string;
  actor: string;
  createdAt: number; // ms
  snapshot: MemberSnapshot | null;
}

/** Who may not speak in chat. */
export interface MuteEntry {
  id: string;
  roomId: string; // '' = app-wide
  subjectType: SubjectType;
  subject: string;
  origin: Origin;
  expiresAt: number | null;
  reason: string;
  actor: string;
  createdAt: number;
}

export type SeatRequestKind = 'apply' | 'invite';

/** A pending seat application (member asks) or invitation (owner/admin asks). */
export interface SeatRequest {
  id: string;
  userId: string; // the member who would take the seat
  kind: SeatRequestKind;
  index: number | null;
  actor: string; // who created it
  createdAt: number;
}

/**
 * A room with everything its rules read on every command, stored and locked as one unit: the
 * seats, the room-level admins, the pending seat requests, the member count and the last event
 * sequence number. Members are not part of it (a live room has thousands): they are read by key.
 */
export interface RoomAggregate {
  room: Room;
  seats: Seat[];
  /** Users holding the room-level Admin role (it outlives their presence). */
  admins: string[];
  requests: SeatRequest[];
  memberCount: number;
  /** The sequence number of the room's last event; the next event gets seq + 1. */
  seq: number;
}

/**
 * Who is calling the core: the app's server (admin API) or a user over the realtime gateway.
 * `connId`: the connection a realtime user acts through; the user's own membership counts for
 * its commands only while it is through that connection (see ReadContext.member).
 */
export type Actor =
  | { kind: 'admin'; userId: string; surface?: Surface }
  | { kind: 'user'; userId: string; surface?: Surface; connId?: string };

export interface Profile {
  nick?: string;
  avatar?: string;
  userType?: string;
  customInfo?: string;
}

/** Which surface a command came through (recorded in the audit log). */
export type Surface = 'tencent' | 'polyv' | 'realtime' | 'api' | 'console';

/** What a moderation audit entry records. */
export type AuditAction =
  | 'kickOffSeat'
  | 'kickOut'
  | 'ban'
  | 'unban'
  | 'mute'
  | 'unmute'
  | 'lockSeat'
  | 'unlockSeat'
  | 'dismissRoom'
  | 'adminMessage';

/** One moderation action on one target, written in the same unit of work as the change. */
export interface AuditEntry {
  /** Time-ordered, beginning with its time (base-36 ms padded to 9, see ids.ts): the log's order, newest first when listed. */
  id: string;
  at: number; // ms
  roomId: string; // '' = app-wide
  actor: string;
  actorKind: Actor['kind'];
  /** '' when the caller did not say (a command run by the server itself). */
  surface: Surface | '';
  action: AuditAction;
  targetType: 'userId' | 'ip' | 'room' | 'seat';
  target: string;
  reason: string;
  expiresAt: number | null; // ms; null = none or until lifted
}

/** A chat message kept in a room's history (what `messageReceived` carried), by its stable id. */
export interface ChatMessage {
  /** The msgId clients got: stable, unique. */
  id: string;
  roomId: string;
  /** The seq of its messageReceived event: the room's order. */
  seq: number;
  at: number; // ms
  from: string;
  nick: string;
  avatar: string;
  text: string;
  imageUrl: string;
  /** Sent by the app's server (admin API), not by a member. */
  admin: boolean;
}

/** A page of a room's history, newest first. */
export interface MessageQuery {
  /** Only messages with a smaller seq (the previous page's last); absent = from the newest. */
  beforeSeq?: number;
  /** Only messages at or after this time (ms): the room's current life, retention. */
  sinceAt: number;
  /** Only messages at or before this time (ms); absent = no upper bound. */
  untilAt?: number;
  /** Skips this many of the matching messages (a numbered page); absent = 0. */
  offset?: number;
  limit: number;
}
