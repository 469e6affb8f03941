// Seat primitives shared by the seat, seat-request, membership and moderation rules: placing a
// member, emptying a seat (with or without telling its occupant), and announcing the seat list.
import { RoomError } from './errors.js';
import type { WriteContext } from './context.js';
import { checkIndex } from './checks.js';
import type { RoomAggregate, Seat } from './model.js';

export function requireSeats(agg: RoomAggregate): void {
  if (!agg.room.isSeatEnabled) throw new RoomError('SeatsDisabled', 'this room has no seats');
}

export function requireNotSeated(agg: RoomAggregate, userId: string): void {
  if (agg.seats.some((s) => s.userId === userId)) throw new RoomError('AlreadyOnSeat', `${userId} is already on a seat`);
}

export function seatOf(agg: RoomAggregate, userId: string): Seat {
  const seat = agg.seats.find((s) => s.userId === userId);
  if (!seat) throw new RoomError('NotOnSeat', `${userId} is not on a seat`);
  return seat;
}

/**
 * Replaces the seat at `index` with a copy of it changed as given, and returns the copy. Seats are
 * never changed in place, so the copies of a seat list (the store's, the unit's, each event's)
 * share their seats; a seat object a rule holds may then be stale, hence the index.
 */
export function updateSeat(agg: RoomAggregate, index: number, change: Partial<Omit<Seat, 'index'>>): Seat {
  const seat = agg.seats[index];
  const next: Seat = {
    index: seat.index,
    userId: change.userId !== undefined ? change.userId : seat.userId,
    locked: change.locked ?? seat.locked,
    videoDisabled: change.videoDisabled ?? seat.videoDisabled,
    audioDisabled: change.audioDisabled ?? seat.audioDisabled,
  };
  agg.seats[index] = next;
  return next;
}

export function clearSeat(agg: RoomAggregate, seat: Seat): Seat {
  return updateSeat(agg, seat.index, { userId: null, videoDisabled: false, audioDisabled: false });
}

/** Announces the seat list as it is now (its own array: the command may change the seats again). */
export function seatsChanged(c: WriteContext, agg: RoomAggregate, actor: string): void {
  c.emit(agg, { type: 'seatListChanged', actor, data: { seats: agg.seats.slice() } });
}

/** Drops the member's pending applications and invitations (they are seated or gone). */
export function dropRequestsOf(agg: RoomAggregate, userId: string): void {
  if (agg.requests.some((r) => r.userId === userId)) agg.requests = agg.requests.filter((r) => r.userId !== userId);
}

/** Puts a present member on a seat (a free one when `index` is null) and announces it. */
export async function place(c: WriteContext, agg: RoomAggregate, userId: string, index: number | null, actor: string): Promise<Seat> {
  requireSeats(agg);
  await c.member(agg.room.roomId, userId);
  if (index !== null) checkIndex(agg.room, index);
  requireNotSeated(agg, userId);
  let seat: Seat | undefined;
  if (index === null) {
    seat = agg.seats.find((s) => !s.locked && s.userId === null);
    if (!seat) throw new RoomError('SeatsFull', 'all seats are taken');
  } else {
    seat = agg.seats[index];
    if (seat.locked) throw new RoomError('SeatLocked', `seat ${index} is locked`);
    if (seat.userId !== null) throw new RoomError('SeatOccupied', `seat ${index} is taken by ${seat.userId}`);
  }
  seat = updateSeat(agg, seat.index, { userId });
  dropRequestsOf(agg, userId);
  seatsChanged(c, agg, actor);
  return seat;
}

/** Empties a seat, telling its occupant why, and announces the new seat list. */
export function vacate(c: WriteContext, agg: RoomAggregate, seat: Seat, actor: string, data: string, reason: string): void {
  const userId = seat.userId!;
  clearSeat(agg, seat);
  c.emit(agg, { type: 'kickedOffSeat', actor, to: [userId], data: { userId, index: seat.index, data, reason } });
  seatsChanged(c, agg, actor);
}
