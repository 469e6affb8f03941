// The Store port. Async so that a networked database can implement it; every engine command
// runs inside one `transaction`, which must be atomic and isolated from concurrent ones
// (SQLite serialises them; a PostgreSQL adapter locks the room row in `lockRoom`).
import type { RoomEvent } from '../core/events.js';
import type {
  AppId,
  DenyEntry,
  Member,
  MuteEntry,
  Origin,
  Room,
  Seat,
  SeatRequest,
  SubjectType,
} from '../core/model.js';

export interface DenyQuery {
  roomId?: string; // exact scope ('' = app-wide); absent = any scope
  subjectType?: SubjectType;
  subject?: string;
  origin?: Origin;
  /** Only entries not expired at this time (ms). */
  activeAt: number;
  limit?: number;
  offset?: number;
}

export interface Tx {
  /** Reads the room and locks it against concurrent transactions until commit. */
  lockRoom(appId: AppId, roomId: string): Promise<Room | null>;
  getRoom(appId: AppId, roomId: string): Promise<Room | null>;
  insertRoom(room: Room): Promise<void>;
  updateRoom(room: Room): Promise<void>;
  deleteRoom(appId: AppId, roomId: string): Promise<void>; // with its members, seats, roles, requests, room-scoped entries
  listRoomIds(appId: AppId): Promise<string[]>;

  getMember(appId: AppId, roomId: string, userId: string): Promise<Member | null>;
  /** Ordered by userId, those after `afterUserId`. */
  listMembers(appId: AppId, roomId: string, afterUserId: string, limit: number): Promise<Member[]>;
  listMembersByIp(appId: AppId, roomId: string, ip: string): Promise<Member[]>;
  /** The rooms (of this app) the user is in. */
  roomsOfUser(appId: AppId, userId: string): Promise<string[]>;
  /** The rooms (of this app) with a member from this IP. */
  roomsOfIp(appId: AppId, ip: string): Promise<string[]>;
  countMembers(appId: AppId, roomId: string): Promise<number>;
  putMember(appId: AppId, roomId: string, member: Member): Promise<void>;
  deleteMember(appId: AppId, roomId: string, userId: string): Promise<void>;

  /** Room-level roles that outlive presence (Admin). */
  getRole(appId: AppId, roomId: string, userId: string): Promise<'Admin' | null>;
  setRole(appId: AppId, roomId: string, userId: string, role: 'Admin' | null): Promise<void>;
  listAdmins(appId: AppId, roomId: string): Promise<string[]>;
  /** Members connected through connections whose id starts with `connPrefix`, in every app. */
  listConnectedMembers(connPrefix: string): Promise<{ appId: AppId; roomId: string; userId: string; connId: string }[]>;

  getSeats(appId: AppId, roomId: string): Promise<Seat[]>;
  putSeat(appId: AppId, roomId: string, seat: Seat): Promise<void>;

  listSeatRequests(appId: AppId, roomId: string): Promise<SeatRequest[]>;
  putSeatRequest(appId: AppId, roomId: string, req: SeatRequest): Promise<void>;
  deleteSeatRequest(appId: AppId, roomId: string, id: string): Promise<void>;

  insertDeny(appId: AppId, entry: Omit<DenyEntry, 'id'>): Promise<DenyEntry>;
  listDeny(appId: AppId, q: DenyQuery): Promise<DenyEntry[]>;
  countDeny(appId: AppId, q: DenyQuery): Promise<number>;
  deleteDeny(appId: AppId, ids: number[]): Promise<void>;

  insertMute(appId: AppId, entry: Omit<MuteEntry, 'id'>): Promise<MuteEntry>;
  listMutes(appId: AppId, q: DenyQuery): Promise<MuteEntry[]>;
  deleteMutes(appId: AppId, ids: number[]): Promise<void>;

  /** Writes the event to the outbox, assigning the room's next sequence number. */
  appendEvent(event: Omit<RoomEvent, 'seq'>): Promise<RoomEvent>;
}

export interface OutboxRow {
  id: number;
  event: RoomEvent;
}

export interface Store {
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Outbox reads for consumers (webhooks): events after `afterId`, oldest first. */
  readOutbox(afterId: number, limit: number): Promise<OutboxRow[]>;
  /** Drops up to `limit` outbox rows older than `beforeMs` (retention); returns how many. */
  pruneOutbox(beforeMs: number, limit: number): Promise<number>;
  /** Small key/value settings kept beside the data (dev app, consumer cursors). */
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
  close(): Promise<void>;
}
