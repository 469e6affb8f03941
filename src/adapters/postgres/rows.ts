// Row <-> domain mapping and the shared filters of the PostgreSQL store. Kept apart from the
// SQL that moves rows so both the reader and the writer use one definition of each shape.
import pg from 'pg';
import type { EntryList, EntryQuery } from '../../core/ports/store.js';
import type { AppId, DenyEntry, Member, MuteEntry, RoomAggregate, Seat } from '../../core/model.js';

/**
 * bigint columns (times in ms, sequence numbers, app ids) come back as JS numbers: every value
 * Rostrum stores there is below 2^53, and strings would leak into the domain types.
 */
export const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 && format !== 'binary' ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/** What `rooms.state` holds: the aggregate minus the two columns kept beside it. */
export function roomState(agg: RoomAggregate): string {
  return JSON.stringify({ room: agg.room, seats: agg.seats, admins: agg.admins, requests: agg.requests });
}

export interface RoomRow {
  state: Pick<RoomAggregate, 'room' | 'seats' | 'admins' | 'requests'>;
  member_count: number;
  seq: number;
}

/** A seat with its fields in the model's order (a literal: this runs for every seat read). */
function seatInOrder(s: Seat): Seat {
  return { index: s.index, userId: s.userId, locked: s.locked, videoDisabled: s.videoDisabled, audioDisabled: s.audioDisabled };
}

export function toAggregate(r: RoomRow): RoomAggregate {
  const s = r.state;
  // jsonb orders keys its own way: seats are rebuilt in the order every other path writes them
  // (seatListChanged, snapshots and getSeats then serialize alike).
  return { room: s.room, seats: s.seats.map(seatInOrder), admins: s.admins, requests: s.requests, memberCount: r.member_count, seq: r.seq };
}

/** `info` holds the whole member; the key columns beside it serve the indexes. */
export function toMember(r: { info: Member }): Member {
  return r.info;
}

export interface EntryRow {
  id: string;
  room_id: string;
  subject_type: string;
  subject: string;
  origin: string;
  expires_at: number | null;
  reason: string;
  actor: string;
  created_at: number;
  snapshot?: DenyEntry['snapshot'];
}

export function toMute(r: EntryRow): MuteEntry {
  return {
    id: r.id,
    roomId: r.room_id,
    subjectType: r.subject_type as MuteEntry['subjectType'],
    subject: r.subject,
    origin: r.origin as MuteEntry['origin'],
    expiresAt: r.expires_at,
    reason: r.reason,
    actor: r.actor,
    createdAt: r.created_at,
  };
}

export function toDeny(r: EntryRow): DenyEntry {
  return { ...toMute(r), snapshot: r.snapshot ?? null };
}

export function toEntry(list: EntryList, r: EntryRow): DenyEntry | MuteEntry {
  return list === 'deny' ? toDeny(r) : toMute(r);
}

/** The table of a list: a fixed mapping, so table names never come from input. */
export const TABLE: Record<EntryList, 'deny' | 'mutes'> = { deny: 'deny', mute: 'mutes' };

export const ENTRY_COLUMNS = 'id, room_id, subject_type, subject, origin, expires_at, reason, actor, created_at';

/** `WHERE …` of list and count: one builder so a page and its total always agree. */
export function entryFilter(appId: AppId, q: EntryQuery): { where: string; values: unknown[] } {
  const values: unknown[] = [appId, q.activeAt];
  const parts = ['app_id = $1', '(expires_at IS NULL OR expires_at > $2)'];
  const add = (column: string, v: unknown) => {
    values.push(v);
    parts.push(`${column} = $${values.length}`);
  };
  if (q.roomId !== undefined) add('room_id', q.roomId);
  if (q.subjectType !== undefined) add('subject_type', q.subjectType);
  if (q.subject !== undefined) add('subject', q.subject);
  if (q.origin !== undefined) add('origin', q.origin);
  return { where: parts.join(' AND '), values };
}

/** Escapes LIKE's wildcards so a connection id prefix matches literally. */
export function likePrefix(prefix: string): string {
  return prefix.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
}
