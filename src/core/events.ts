// Domain events: every change clients can see. Each is written to the store's outbox in the
// same transaction as the change (with a per-room sequence number), then published on the bus.
import type { AppId } from './types.js';

export type EventType =
  | 'roomCreated'
  | 'roomDismissed'
  | 'roomInfoChanged'
  | 'ownerChanged'
  | 'memberEntered'
  | 'memberLeft'
  | 'memberReplaced' // same user entered from another connection; the old one (connId) is told
  | 'memberInfoChanged' // nameCard / customInfo / role / marks
  | 'seatListChanged'
  | 'kickedOffSeat'
  | 'kickedOutOfRoom'
  | 'seatRequestReceived' // to owner/admins: a member applied
  | 'seatRequestCancelled'
  | 'seatRequestApproved'
  | 'seatRequestRejected'
  | 'seatInvitationReceived' // to the invited member
  | 'seatInvitationAccepted'
  | 'seatInvitationRejected'
  | 'messageReceived'
  | 'muteChanged' // to the affected member(s): chat muted / unmuted
  | 'denyChanged'; // deny entries added or lifted (not pushed to members; for webhooks/lists)

export interface RoomEvent {
  appId: AppId;
  roomId: string;
  /** Per-room sequence number, assigned by the store. 0 for app-wide events. */
  seq: number;
  type: EventType;
  at: number; // ms
  actor: string;
  /** Only these users get it over realtime; absent = everyone in the room. */
  to?: string[];
  data: Record<string, unknown>;
}

export type NewEvent = Omit<RoomEvent, 'seq' | 'at' | 'appId' | 'roomId'>;

/** Why a member left: surfaced to clients and to the Tencent leave callback. */
export type LeaveReason = 'leave' | 'kicked' | 'banned' | 'expired' | 'dismissed' | 'disconnected';
