// The realtime wire contract, shared by the gateway and the TypeScript client: reply codes,
// close codes, the ops with their params and data, and the events with their fields.
// No runtime imports, so the client can ship it to browsers as is.
import type { MemberView, RoomView } from '../core/views.js';
import type { LeaveReason } from '../core/events.js';
import type { ChatMessage, Seat, SeatRequest } from '../core/model.js';

/** The path clients connect to: `GET /realtime?sdkappid=&userid=&usersig=`. */
export const REALTIME_PATH = '/realtime';

/**
 * Reply codes. Room Engine (Tencent) codes where one fits; 110xxx are Rostrum's own, for what
 * the Room Engine has no code for.
 */
export const CODE = {
  ok: 0,
  internal: 100001,
  invalidParam: 100002,
  roomExists: 100003,
  roomNotFound: 100004,
  notMember: 100005, // not in the room, or not through this connection
  permissionDenied: 100006,
  seatLocked: 100200,
  alreadyRequested: 100202,
  alreadyOnSeat: 100203,
  seatsFull: 100205,
  seatOccupied: 100210,
  seatsDisabled: 100211,
  roomFull: 110001,
  wrongPassword: 110002,
  deniedUser: 110003, // banned or kicked by userId
  deniedIp: 110004, // entry from this IP is refused
  muted: 110005,
  messagesDisabled: 110006,
  requestNotFound: 110007, // no such pending seat application / invitation
  notOnSeat: 110008,
  unknownOp: 110009,
  badFrame: 110010, // not a JSON object, or no usable `id`
  tooManyRequests: 110011, // too many requests waiting on this connection
  badWord: 110012, // the message contains a bad word of the room or the app: nobody else got it
  passwordAttemptsExceeded: 110013, // too many wrong room passwords this minute (by user or IP)
  rateLimited: 110014, // too many chat messages: over the per-user rate limit
  kickedWhileAway: 110015, // a resume (enterRoom with lastSeq) of a member kicked out of the room meanwhile
} as const;

/** WebSocket close codes the gateway uses (besides ws' own 1006/1009). */
export const CLOSE = {
  /** The client closed (or the client's `close()`). */
  normal: 1000,
  /** The server is shutting down; reconnect later. */
  goingAway: 1001,
  /** This node is restarting and others serve: reconnect now (through the load balancer) to resume. */
  serviceRestart: 1012,
  /** No pong (or any frame) for `heartbeatSeconds`. */
  heartbeatTimeout: 4000,
  /**
   * Events of a room this connection is in were lost between nodes and are no longer in the
   * store: reconnect, and enter again for a fresh snapshot.
   */
  resync: 4009,
  /**
   * This node lost the cluster (it could not renew its liveness in Redis for the key's lifetime,
   * so the other nodes removed its members): reconnect, through the load balancer, to another node.
   */
  fenced: 4010,
  /** The client read too slowly: its send buffer went over the limit. */
  slowConsumer: 4008,
  /** The user already has `maxConnectionsPerUser` connections open on this node. */
  tooManyConnections: 4011,
  /** Authentication failed: reason is "<code> <message>" with a Tencent code. */
  unauthorized: 4401,
  /** The server failed unexpectedly while accepting the connection. */
  internalError: 1011,
} as const;

// ---------------------------------------------------------------------------------------------
// Ops: params (besides `id` and `op`) and the `data` of a successful reply.

export interface EnterRoomParams {
  roomId: string;
  password?: string;
  nick?: string;
  avatar?: string;
  userType?: string;
  customInfo?: string;
  /**
   * Resuming after a reconnect: the seq of the last event received from this room. The reply
   * then says `recovered`, and the events missed since follow it.
   */
  lastSeq?: number;
  /**
   * With `lastSeq`: the `room.createTime` of the entry that seq belongs to. A room dismissed and
   * created again since (its seq started over) then gets a fresh snapshot, not the new room's
   * events as if they were the ones missed.
   */
  createTime?: number;
}

export interface EnterRoomData {
  room: RoomView;
  seats: Seat[];
  memberCount: number;
  member: MemberView;
  /** This member's chat is muted (by userId or IP). */
  muted: boolean;
  /** The room's seq at this snapshot: the events that follow have larger ones. */
  seq: number;
  /**
   * Only when `lastSeq` was given: true = the events after `lastSeq` follow this reply (their
   * seq is at most `seq`), false = they are gone: start from this snapshot.
   */
  recovered?: boolean;
}

type Room = { roomId: string };
type Empty = Record<string, never>;

export interface OpMap {
  enterRoom: { params: EnterRoomParams; data: EnterRoomData };
  exitRoom: { params: Room; data: Empty };
  takeSeat: { params: Room & { index?: number }; data: { seat: Seat } | { requestId: string } };
  leaveSeat: { params: Room; data: Empty };
  /** `held`: the room's censorship holds the message for review (the sender gets `messageHeld`). */
  sendMessage: { params: Room & { text: string }; data: { msgId: string; held?: boolean } };
  kickOffSeat: { params: Room & { userId: string; data?: string }; data: Empty };
  kickOut: { params: Room & { userId: string; reason?: string }; data: Empty };
  lockSeat: {
    params: Room & { index: number; locked?: boolean; videoDisabled?: boolean; audioDisabled?: boolean };
    data: { seat: Seat };
  };
  requestSeat: { params: Room & { index?: number }; data: { seat: Seat } | { requestId: string } };
  cancelSeatRequest: { params: Room & { requestId: string }; data: Empty };
  approveSeatRequest: { params: Room & { requestId: string }; data: Empty };
  rejectSeatRequest: { params: Room & { requestId: string }; data: Empty };
  inviteToSeat: { params: Room & { userId: string; index?: number }; data: { requestId: string } };
  acceptSeatInvitation: { params: Room & { requestId: string }; data: Empty };
  rejectSeatInvitation: { params: Room & { requestId: string }; data: Empty };
  listSeatRequests: { params: Room; data: { requests: SeatRequest[] } };
  kickUser: { params: Room & { userId: string; type: 'userId' | 'ip'; reason?: string }; data: Empty };
  ping: { params: Empty; data: { pong: true; time: number } };
  /** Owners and admins: a page of members ordered by userId, those after `after`. */
  listMembers: { params: Room & { after?: string; count?: number }; data: { members: MemberView[]; next: string } };
  /** Members: a page of the room's chat history, newest first; `next` is the next page's `beforeSeq` (0: no more). */
  history: { params: Room & { beforeSeq?: number; count?: number }; data: { messages: ChatMessage[]; next: number } };
}

export type OpName = keyof OpMap;

export interface RequestFrame {
  id: number | string;
  op: string;
  [param: string]: unknown;
}

export interface ReplyFrame<D = unknown> {
  id: number | string | null;
  code: number;
  message: string;
  data?: D;
}

// ---------------------------------------------------------------------------------------------
// Events: `{"event": <name>, "roomId", "seq", ...fields}`.

export interface EventMap {
  roomCreated: { room: RoomView };
  memberEntered: { member: MemberView; memberCount: number };
  memberLeft: { userId: string; connId: string; reason: LeaveReason; memberCount: number };
  /** To the old connection only: the same user entered the room from another connection. */
  memberReplaced: { userId: string; connId: string };
  memberInfoChanged: { member: MemberView; roleChanged: boolean };
  seatListChanged: { seats: Seat[] };
  /** To the member taken off: `data` is the admin's text; reason kicked | seatLocked | replaced. */
  kickedOffSeat: { userId: string; index: number; data: string; reason: string };
  /** To the member removed; `until` (ms) when a timed ban ends, null otherwise. */
  kickedOutOfRoom: { userId: string; connId: string; kind: 'kicked' | 'banned'; reason: string; until: number | null };
  roomDismissed: { roomId: string };
  roomInfoChanged: { room: RoomView };
  ownerChanged: { from: string; to: string; room: RoomView };
  /** To the member whose chat was muted or unmuted (`by` userId or ip). */
  muteChanged: { userId: string; muted: boolean; until: number | null; by: 'userId' | 'ip'; reason?: string };
  messageReceived: { msgId: string; from: string; nick: string; avatar: string; text: string; imageUrl?: string; admin: boolean };
  seatRequestReceived: { request: SeatRequest };
  seatRequestCancelled: { request: SeatRequest };
  seatRequestApproved: { request: SeatRequest };
  seatRequestRejected: { request: SeatRequest };
  seatInvitationReceived: { request: SeatRequest };
  seatInvitationAccepted: { request: SeatRequest };
  seatInvitationRejected: { request: SeatRequest };
  /** To the room's owner and admins, and the sender: a member's message waits for review. */
  messageHeld: { message: EventMap['messageReceived'] };
  /** The app's custom message; `watchTypes` (Polyv's watchType) say which roles it is meant for. */
  customMessageReceived: { msgId: string; content: string; imageUrl: string; watchTypes: number[]; important: boolean; joinHistory: boolean };
  /** To the chosen users only: the app's payload. */
  directMessageReceived: { msgId: string; from: string; payload: string };
  /**
   * Audience mode (a room above the audience threshold): the member count, at most once per
   * interval, instead of each entry and exit. `seq` is that of the last entry or exit counted.
   */
  memberCountChanged: { memberCount: number };
  /** Messages deleted from the room's history (ids as given, unknown ones included): take them off the screen. */
  messagesDeleted: { msgIds: string[] };
  /** The room's chat history was cleared: clear the chat. */
  chatCleared: Record<string, never>;
}

export type EventName = keyof EventMap;

export type EventFrame<E extends EventName = EventName> = { event: E; roomId: string; seq: number } & EventMap[E];
