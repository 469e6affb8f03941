// Seats packed on disk. Room rows and seatListChanged events carry every seat of the room, and
// most of a seat's JSON was its key names: 85 bytes a seat, 10–15 packed. Smaller rows mean
// fewer pages per group commit and less JSON to make; the seats are unpacked as they are read.
// Rows written before seats were packed hold seat objects, which are read as they are.
import type { RoomEvent } from '../../core/events.js';
import type { RoomAggregate, Seat } from '../../core/model.js';

/** A seat at its position: [userId, flags]; flags: 1 locked, 2 video disabled, 4 audio disabled. */
type PackedSeat = [string | null, number];

/**
 * Each seat's packed JSON, made once: seats are never changed in place (core/model.ts), and a seat
 * change keeps every other seat of the list, so a 50-seat list is mostly made of known texts.
 */
const packedText = new WeakMap<Seat, string>();

function seatText(s: Seat): string {
  let text = packedText.get(s);
  if (text === undefined) {
    text = JSON.stringify([s.userId, (s.locked ? 1 : 0) | (s.videoDisabled ? 2 : 0) | (s.audioDisabled ? 4 : 0)]);
    packedText.set(s, text);
  }
  return text;
}

/** The seat list's JSON: packed, unless a seat is not at the position of its index (then as they are). */
function seatsText(seats: readonly Seat[]): string {
  let out = '[';
  for (let i = 0; i < seats.length; i++) {
    if (seats[i].index !== i) return JSON.stringify(seats);
    out += i === 0 ? seatText(seats[i]) : ',' + seatText(seats[i]);
  }
  return out + ']';
}

function unpack(seats: (PackedSeat | Seat)[]): Seat[] {
  if (seats.length === 0 || !Array.isArray(seats[0])) return seats as Seat[];
  return (seats as PackedSeat[]).map(([userId, f], index) => ({ index, userId, locked: (f & 1) !== 0, videoDisabled: (f & 2) !== 0, audioDisabled: (f & 4) !== 0 }));
}

/** What `rooms.state` holds: the aggregate but its settings (`room`, in room_settings). */
export function roomStateText(agg: RoomAggregate): string {
  const rest = JSON.stringify({ admins: agg.admins, requests: agg.requests, memberCount: agg.memberCount, seq: agg.seq });
  return `{"seats":${seatsText(agg.seats)},${rest.slice(1)}`;
}

/** The aggregate from its state row and its settings row (a state written before version 6 holds its settings). */
export function parseRoom(state: string, settings: string | null): RoomAggregate {
  const s = JSON.parse(state) as Omit<RoomAggregate, 'room'> & { room?: RoomAggregate['room'] };
  const room = settings === null ? s.room! : (JSON.parse(settings) as RoomAggregate['room']);
  return { room, seats: unpack(s.seats), admins: s.admins, requests: s.requests, memberCount: s.memberCount, seq: s.seq };
}

export function eventText(e: RoomEvent): string {
  if (e.type !== 'seatListChanged') return JSON.stringify(e);
  // The event with a placeholder for its data ({seats} only), then the seats' text put in its
  // place: the last "data":0 is it (a string's own quotes are escaped).
  const text = JSON.stringify({ ...e, data: 0 });
  const at = text.lastIndexOf('"data":0');
  return `${text.slice(0, at)}"data":{"seats":${seatsText(e.data.seats)}}${text.slice(at + 8)}`;
}

export function parseEvent(text: string): RoomEvent {
  const e = JSON.parse(text) as RoomEvent;
  if (e.type === 'seatListChanged') e.data.seats = unpack(e.data.seats);
  return e;
}
