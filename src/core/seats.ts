// Seats: read, take, leave, pick, kick off, lock, move.
import { RoomError } from './errors.js';
import { checkIndex } from './checks.js';
import { requireModerator, requireOutranks } from './context.js';
import { read, write, type Handlers } from './handler.js';
import { LIMITS, checkBytes } from './limits.js';
import { apply } from './seat-requests.js';
import { clearSeat, place, requireSeats, seatOf, seatsChanged, updateSeat, vacate } from './seating.js';

export const seatHandlers: Handlers<'getSeats' | 'pickOnSeat' | 'takeSeat' | 'leaveSeat' | 'kickOffSeat' | 'lockSeat' | 'moveToSeat'> = {
  getSeats: read(async (c, { roomId }) => (await c.room(roomId)).seats),

  // Each names the member it reads: the store may fetch it with the room's lock.
  pickOnSeat: write(async (c, { roomId, userId, index }) => {
    const agg = await c.room(roomId, userId);
    requireModerator(agg, c.actor);
    return place(c, agg, userId, index, c.actor.userId);
  }),

  takeSeat: write(async (c, { roomId, index }) => {
    const userId = c.actor.userId;
    const agg = await c.room(roomId, userId);
    const m = await c.member(roomId, userId);
    if (agg.room.takeSeatMode === 'ApplyToTake' && m.role === 'Member') return { requested: apply(c, agg, userId, index) };
    return { seat: await place(c, agg, userId, index, userId) };
  }),

  leaveSeat: write(async (c, { roomId }) => {
    const userId = c.actor.userId;
    const agg = await c.room(roomId, userId);
    await c.member(roomId, userId);
    clearSeat(agg, seatOf(agg, userId));
    seatsChanged(c, agg, userId);
  }),

  kickOffSeat: write(async (c, { roomId, userId, data, reason }) => {
    checkBytes('data', data, LIMITS.dataBytes);
    checkBytes('reason', reason, LIMITS.reasonBytes);
    const agg = await c.room(roomId, userId);
    await c.member(roomId, userId);
    requireOutranks(agg, c.actor, userId);
    vacate(c, agg, seatOf(agg, userId), c.actor.userId, data, 'kicked');
    c.audit({ roomId, action: 'kickOffSeat', targetType: 'userId', target: userId, reason });
  }),

  /**
   * Locks/unlocks a seat. Locking an occupied seat takes its occupant off first. The audio/video
   * flags belong to the seat's occupant: on an empty or locked seat they are accepted and ignored.
   */
  lockSeat: write(async (c, { roomId, index, locked, videoDisabled, audioDisabled, reason }) => {
    checkBytes('reason', reason, LIMITS.reasonBytes);
    const agg = await c.room(roomId);
    requireSeats(agg);
    checkIndex(agg.room, index);
    requireModerator(agg, c.actor);
    const occupant = agg.seats[index].userId;
    if (locked === true && occupant !== null) {
      requireOutranks(agg, c.actor, occupant);
      vacate(c, agg, agg.seats[index], c.actor.userId, '', 'seatLocked');
    }
    if (locked !== undefined) {
      updateSeat(agg, index, { locked });
      c.audit({ roomId, action: locked ? 'lockSeat' : 'unlockSeat', targetType: 'seat', target: String(index), reason });
    }
    let seat = agg.seats[index];
    if (seat.userId !== null && !seat.locked) seat = updateSeat(agg, index, { videoDisabled, audioDisabled });
    seatsChanged(c, agg, c.actor.userId);
    c.emit(agg, {
      type: 'seatLockChanged',
      actor: c.actor.userId,
      to: [],
      data: { index: seat.index, locked: seat.locked, videoDisabled: seat.videoDisabled, audioDisabled: seat.audioDisabled },
    });
    return seat;
  }),

  /**
   * Moves a seated member to another seat. Policy when the target is occupied: 0 refuse,
   * 1 take the occupant off, 2 exchange. The member's audio/video flags move with them.
   */
  moveToSeat: write(async (c, { roomId, userId, index, policy }) => {
    const agg = await c.room(roomId, userId);
    requireSeats(agg);
    checkIndex(agg.room, index);
    await c.member(roomId, userId);
    if (c.actor.userId !== userId || c.actor.kind === 'admin') requireModerator(agg, c.actor);
    const from = seatOf(agg, userId);
    const to = agg.seats[index];
    if (from === to) return;
    if (to.locked) throw new RoomError('SeatLocked', `seat ${index} is locked`);
    const moving = { userId, videoDisabled: from.videoDisabled, audioDisabled: from.audioDisabled };
    if (to.userId !== null) {
      if (policy === 0) throw new RoomError('SeatOccupied', `seat ${index} is taken by ${to.userId}`);
      if (policy === 1) {
        vacate(c, agg, to, c.actor.userId, '', 'replaced');
        clearSeat(agg, from);
      } else {
        updateSeat(agg, from.index, { userId: to.userId, videoDisabled: to.videoDisabled, audioDisabled: to.audioDisabled });
      }
    } else {
      clearSeat(agg, from);
    }
    updateSeat(agg, to.index, moving);
    seatsChanged(c, agg, c.actor.userId);
  }),
};
