// Domain events: every change clients can see, with a typed payload per type. Each is written to
// the store's outbox in the same transaction as the change (with the room's next sequence
// number), then published on the bus after commit.
import type { MemberView, RoomView } from './views.js';
import type { AppId, DenyEntry, Seat, SeatRequest, SubjectType } from './model.js';

/** Why a member left: surfaced to clients and to the Tencent leave callback. */
export type LeaveReason = 'leave' | 'kicked' | 'banned' | 'expired' | 'dismissed' | 'disconnected';

interface RequestData {
  request: SeatRequest;
}

/** The payload of each event type. */
export interface EventData {
  roomCreated: { room: RoomView };
  roomDismissed: { roomId: string };
  roomInfoChanged: { room: RoomView };
  /** `room`: the room with its new owner. */
  ownerChanged: { from: string; to: string; room: RoomView };
  memberEntered: { member: MemberView; memberCount: number };
  memberLeft: { userId: string; connId: string; reason: LeaveReason; memberCount: number };
  /** The same user entered from another connection; the old one (connId) is told. */
  memberReplaced: { userId: string; connId: string };
  /** nameCard / customInfo / role / marks */
  memberInfoChanged: { member: MemberView; roleChanged: boolean };
  seatListChanged: { seats: Seat[] };
  kickedOffSeat: { userId: string; index: number; data: string; reason: string };
  kickedOutOfRoom: { userId: string; connId: string; kind: LeaveReason; reason: string; until: number | null };
  /** To owner/admins: a member applied. */
  seatRequestReceived: RequestData;
  seatRequestCancelled: RequestData;
  seatRequestApproved: RequestData;
  seatRequestRejected: RequestData;
  /** To the invited member. */
  seatInvitationReceived: RequestData;
  seatInvitationAccepted: RequestData;
  seatInvitationRejected: RequestData;
  messageReceived: {
    msgId: string;
    from: string;
    nick: string;
    avatar: string;
    text: string;
    imageUrl?: string;
    admin: boolean;
  };
  /** To the affected member: chat muted / unmuted. */
  /**
   * To the affected member: chat muted / unmuted. An app-wide mute is also recorded as one event
   * of room '' per subject (no member gets it; `userId` '' for an IP), with `subject` set.
   */
  muteChanged: { userId: string; muted: boolean; until: number | null; by: SubjectType; reason?: string; subject?: string };
  /** Deny entries added or lifted (not pushed to members; for webhooks and lists). App-wide: room ''. */
  denyChanged: { change: 'added' | 'lifted'; entries: DenyEntry[] };
  /** A seat locked or unlocked, or its media forbidden (not pushed to members; for callbacks). */
  seatLockChanged: { index: number; locked: boolean; videoDisabled: boolean; audioDisabled: boolean };
  /** To the room's moderators and the sender: a member's message waits for review (censorship on). */
  messageHeld: { message: EventData['messageReceived'] };
  /** The app's custom message (Polyv send-custom-message); `watchTypes` say who it is meant for. */
  customMessageReceived: {
    msgId: string;
    content: string;
    imageUrl: string;
    /** Polyv's watchType: 1 all, 2 viewers, 3 special roles, 4 teacher, 5 guest, 6 assistant, 7 admin. */
    watchTypes: number[];
    important: boolean;
    joinHistory: boolean;
  };
  /** To the chosen users only (`to`): the app's payload (Polyv emit-by-userId). */
  directMessageReceived: { msgId: string; from: string; payload: string };
  /** Messages deleted from the room's history by id (unknown ids included as given): clients take them off. */
  messagesDeleted: { msgIds: string[] };
  /** The room's whole chat history was cleared: clients clear their chat. */
  chatCleared: Record<string, never>;
}

export type EventType = keyof EventData;

interface EventOf<K extends EventType> {
  appId: AppId;
  roomId: string;
  /** The room's sequence number for this event: 1, 2, 3… with no gaps per room. */
  seq: number;
  type: K;
  at: number; // ms
  actor: string;
  /** Only these users get it over realtime; absent = everyone in the room. */
  to?: string[];
  data: EventData[K];
}

/** A committed event, discriminated by `type`. */
export type RoomEvent = { [K in EventType]: EventOf<K> }[EventType];

/** What a rule emits: the context adds the app, room, sequence number and time. */
export type NewEvent = { [K in EventType]: Omit<EventOf<K>, 'seq' | 'at' | 'appId' | 'roomId'> }[EventType];
