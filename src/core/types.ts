// Domain types shared by every dialect and transport. Field names are Rostrum's own;
// each dialect maps them to its wire names.

export type AppId = number;

export interface PolyvCredentials {
  appId: string;
  appSecret: string;
}

export interface App {
  sdkAppId: AppId;
  secretKey: string;
  admins: string[];
  rateLimit: { perCommandPerSecond: number; perEndpointPerSecond: number };
  polyv?: PolyvCredentials;
}

export type Role = 'Owner' | 'Admin' | 'Member';
export type TakeSeatMode = 'None' | 'FreeToTake' | 'ApplyToTake';
export type RoomStatus = 'None' | 'NotStarted' | 'Running';

export interface Room {
  appId: AppId;
  roomId: string;
  name: string;
  type: string;
  ownerId: string;
  maxMemberCount: number;
  maxSeatCount: number;
  isSeatEnabled: boolean;
  takeSeatMode: TakeSeatMode;
  isVideoDisabled: boolean;
  isAudioDisabled: boolean;
  isMessageDisabled: boolean;
  isScreenSharingDisabled: boolean;
  isCloudRecordingDisabled: boolean;
  customInfo: string;
  isPasswordEnabled: boolean;
  password: string;
  scheduleStartTime: number; // unix seconds
  scheduleEndTime: number; // unix seconds
  createTime: number; // unix seconds
  inviteeIds: string[];
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

export interface Seat {
  index: number;
  userId: string | null;
  locked: boolean;
  videoDisabled: boolean;
  audioDisabled: boolean;
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
}

/** Who may not enter: a userId or an IP, in one room ('' = the whole app). */
export interface DenyEntry {
  id: number;
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
  id: number;
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

/** Who is calling the core: the app's server (admin API) or a user over the realtime gateway. */
export type Actor = { kind: 'admin'; userId: string } | { kind: 'user'; userId: string };

export interface Profile {
  nick?: string;
  avatar?: string;
  userType?: string;
  customInfo?: string;
}
