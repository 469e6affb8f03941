// Seat requests: applications (a member asks, an owner/admin answers) and invitations (an
// owner/admin asks, the member answers). Pending requests live in the room aggregate.
import { randomUUID } from 'node:crypto';
import { RoomError } from './errors.js';
import { checkIndex } from './checks.js';
import { moderatorIds, requireModerator, roleOf, type WriteContext } from './context.js';
import { read, write, type Handlers } from './handler.js';
import type { RoomAggregate, SeatRequest } from './model.js';
import { place, requireNotSeated, requireSeats } from './seating.js';

/** A member's application for a seat (ApplyToTake rooms); owner and admins are told. */
export function apply(c: WriteContext, agg: RoomAggregate, userId: string, index: number | null): SeatRequest {
  requireSeats(agg);
  if (index !== null) checkIndex(agg.room, index);
  requireNotSeated(agg, userId);
  if (agg.requests.some((r) => r.userId === userId && r.kind === 'apply')) {
    throw new RoomError('AlreadyRequested', `${userId} has already applied for a seat`);
  }
  const request: SeatRequest = { id: randomUUID(), userId, kind: 'apply', index, actor: userId, createdAt: c.now };
  agg.requests = [...agg.requests, request];
  c.emit(agg, { type: 'seatRequestReceived', actor: userId, to: moderatorIds(agg), data: { request } });
  return request;
}

/** Takes the pending request out of the aggregate (RequestNotFound when there is none). */
function take(agg: RoomAggregate, id: string, kind: SeatRequest['kind']): SeatRequest {
  const request = agg.requests.find((r) => r.id === id && r.kind === kind);
  if (!request) throw new RoomError('RequestNotFound', `no pending ${kind === 'apply' ? 'seat application' : 'seat invitation'} ${id}`);
  agg.requests = agg.requests.filter((r) => r !== request);
  return request;
}

export const seatRequestHandlers: Handlers<
  'listSeatRequests' | 'cancelSeatRequest' | 'answerSeatRequest' | 'inviteToSeat' | 'answerSeatInvitation'
> = {
  listSeatRequests: read(async (c, { roomId }) => {
    const agg = await c.room(roomId);
    if (c.actor.kind === 'user' && roleOf(agg, c.actor.userId) === 'Member') {
      return agg.requests.filter((r) => r.userId === c.actor.userId);
    }
    return agg.requests;
  }),

  cancelSeatRequest: write(async (c, { roomId, requestId }) => {
    const agg = await c.room(roomId);
    const request = take(agg, requestId, 'apply');
    if (request.userId !== c.actor.userId) throw new RoomError('PermissionDenied', 'not your application');
    c.emit(agg, { type: 'seatRequestCancelled', actor: c.actor.userId, to: moderatorIds(agg), data: { request } });
  }),

  answerSeatRequest: write(async (c, { roomId, requestId, approve }) => {
    const agg = await c.room(roomId);
    requireModerator(agg, c.actor);
    const request = take(agg, requestId, 'apply');
    if (approve) await place(c, agg, request.userId, request.index, c.actor.userId);
    c.emit(agg, {
      type: approve ? 'seatRequestApproved' : 'seatRequestRejected',
      actor: c.actor.userId,
      to: [request.userId, ...moderatorIds(agg)],
      data: { request },
    });
  }),

  inviteToSeat: write(async (c, { roomId, userId, index }) => {
    const agg = await c.room(roomId);
    requireModerator(agg, c.actor);
    requireSeats(agg);
    if (index !== null) checkIndex(agg.room, index);
    await c.member(roomId, userId);
    requireNotSeated(agg, userId);
    if (agg.requests.some((r) => r.userId === userId && r.kind === 'invite')) {
      throw new RoomError('AlreadyRequested', `${userId} already has a pending invitation`);
    }
    const request: SeatRequest = { id: randomUUID(), userId, kind: 'invite', index, actor: c.actor.userId, createdAt: c.now };
    agg.requests = [...agg.requests, request];
    c.emit(agg, { type: 'seatInvitationReceived', actor: c.actor.userId, to: [userId], data: { request } });
    return request;
  }),

  answerSeatInvitation: write(async (c, { roomId, requestId, accept }) => {
    const userId = c.actor.userId;
    const agg = await c.room(roomId);
    const request = take(agg, requestId, 'invite');
    if (request.userId !== userId) throw new RoomError('PermissionDenied', 'not your invitation');
    if (accept) await place(c, agg, userId, request.index, userId);
    c.emit(agg, {
      type: accept ? 'seatInvitationAccepted' : 'seatInvitationRejected',
      actor: userId,
      to: [userId, request.actor, ...moderatorIds(agg)],
      data: { request },
    });
  }),
};
