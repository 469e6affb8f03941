// Rows to and from the memory state: the prepared statements that write a unit's change set, and
// the load of the whole database into a fresh MemoryState (at open, and after a failed commit).
import type Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';
import type { RoomEvent } from '../../core/events.js';
import type { AppId, DenyEntry, Member, MuteEntry, Origin, RoomAggregate, SubjectType } from '../../core/model.js';
import type { Changes } from '../memory/unit.js';
import { MemoryState } from '../memory/state.js';

interface EntryRow {
  id: string;
  app_id: number;
  room_id: string;
  subject_type: SubjectType;
  subject: string;
  origin: Origin;
  expires_at: number | null;
  reason: string;
  actor: string;
  created_at: number;
  snapshot?: string | null;
}

function toMute(r: EntryRow): MuteEntry {
  return {
    id: r.id,
    roomId: r.room_id,
    subjectType: r.subject_type,
    subject: r.subject,
    origin: r.origin,
    expiresAt: r.expires_at,
    reason: r.reason,
    actor: r.actor,
    createdAt: r.created_at,
  };
}

function toDeny(r: EntryRow): DenyEntry {
  return { ...toMute(r), snapshot: r.snapshot ? JSON.parse(r.snapshot) : null };
}

/** Reads the whole database into memory. Ordered by each index's order so inserts append. */
export function loadState(db: Database.Database): MemoryState {
  const st = new MemoryState();
  for (const r of db.prepare('SELECT app_id, room_id, state FROM rooms ORDER BY app_id, room_id').iterate() as Iterable<{ app_id: number; room_id: string; state: string }>) {
    st.app(r.app_id).rooms.set(r.room_id, JSON.parse(r.state));
  }
  for (const r of db.prepare('SELECT * FROM members ORDER BY app_id, room_id, user_id').iterate() as Iterable<{
    app_id: number;
    room_id: string;
    client_ip: string;
    conn_id: string;
    info: string;
  }>) {
    st.app(r.app_id).setMember(r.room_id, { ...JSON.parse(r.info), clientIp: r.client_ip, connId: r.conn_id });
  }
  for (const r of db.prepare('SELECT * FROM deny ORDER BY created_at, id').iterate() as Iterable<EntryRow>) st.app(r.app_id).deny.add(toDeny(r));
  for (const r of db.prepare('SELECT * FROM mutes ORDER BY created_at, id').iterate() as Iterable<EntryRow>) st.app(r.app_id).mute.add(toMute(r));
  for (const r of db.prepare('SELECT key, value FROM meta').iterate() as Iterable<{ key: string; value: string }>) st.meta.set(r.key, r.value);
  for (const r of db.prepare('SELECT app_id, scope, version, words FROM bad_words').iterate() as Iterable<{ app_id: number; scope: string; version: string; words: string }>) {
    st.app(r.app_id).badWords.set(r.scope, { version: r.version, words: JSON.parse(r.words) });
  }
  return st;
}

/**
 * room_events rows wait in memory for the first COMMIT this long (ms) after the last write of
 * them, or until there are this many: a busy room's rows of that time then share one index leaf
 * page, and no COMMIT takes long writing them (a few µs a row). They are derived data: what a
 * crash loses is rebuilt from the outbox.
 */
const INDEX_MS = 50;
const INDEX_MAX_ROWS = 2_000;

/** The statements of the write path, prepared once. */
export class Writer {
  private readonly s;
  /**
   * Room rows to write at COMMIT, the last state of each: the units of a batch often change the
   * same room (a busy room gets a unit per request), and its row is written once per batch.
   * The aggregates are never changed after a unit saved them (units work on copies).
   */
  private readonly pendingRooms = new Map<string, { appId: AppId; roomId: string; agg: RoomAggregate | null }>();
  /**
   * The room_events rows of outbox events written since the last indexRooms, flat: id, app,
   * room, seq. Written in bulk (see INDEX_MS), each room's new rows then share its index leaf.
   */
  private readonly pendingIndex: (number | string)[] = [];
  /** When set, room_events may lack rows of the outbox (at open, after a rolled-back batch): rebuilt from it. */
  private indexFromOutbox = true;
  private indexedAt = 0;
  /** Outbox events up to this id are in room_events (0 when not known). */
  indexedUpTo = 0;

  constructor(db: Database.Database) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      upsertRoom: p('INSERT INTO rooms (app_id, room_id, state) VALUES (?, ?, ?) ON CONFLICT (app_id, room_id) DO UPDATE SET state = excluded.state'),
      deleteRoom: p('DELETE FROM rooms WHERE app_id = ? AND room_id = ?'),
      deleteRoomMembers: p('DELETE FROM members WHERE app_id = ? AND room_id = ?'),
      deleteRoomDeny: p('DELETE FROM deny WHERE app_id = ? AND room_id = ?'),
      deleteRoomMutes: p('DELETE FROM mutes WHERE app_id = ? AND room_id = ?'),
      deleteRoomBadWords: p('DELETE FROM bad_words WHERE app_id = ? AND scope = ?'),
      upsertBadWords: p('INSERT OR REPLACE INTO bad_words (app_id, scope, version, words) VALUES (?, ?, ?, ?)'),
      upsertMember: p(
        `INSERT INTO members (app_id, room_id, user_id, client_ip, conn_id, info) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (app_id, room_id, user_id) DO UPDATE SET client_ip = excluded.client_ip, conn_id = excluded.conn_id, info = excluded.info`,
      ),
      deleteMember: p('DELETE FROM members WHERE app_id = ? AND room_id = ? AND user_id = ?'),
      upsertDeny: p(
        `INSERT OR REPLACE INTO deny (id, app_id, room_id, subject_type, subject, origin, expires_at, reason, actor, created_at, snapshot)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      deleteDeny: p('DELETE FROM deny WHERE id = ?'),
      upsertMute: p(
        `INSERT OR REPLACE INTO mutes (id, app_id, room_id, subject_type, subject, origin, expires_at, reason, actor, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      deleteMute: p('DELETE FROM mutes WHERE id = ?'),
      insertEvent: p('INSERT INTO outbox (app_id, room_id, seq, at, event) VALUES (?, ?, ?, ?, ?)'),
      insertRoomEvent: p('INSERT INTO room_events (id, app_id, room_id, seq) VALUES (?, ?, ?, ?)'),
      roomEventsFromOutbox: p(
        `INSERT INTO room_events (id, app_id, room_id, seq)
           SELECT id, app_id, room_id, seq FROM outbox WHERE id > (SELECT coalesce(max(id), 0) FROM room_events) ORDER BY id`,
      ),
      upsertMeta: p('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      // Ordered by (at, id) so SQLite walks the outbox_at index, not the whole table (a stall of ~100 ms).
      pruneOutbox: p('DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE at < ? AND id <= ? ORDER BY at, id LIMIT ?)'),
      // The same rows, first (same transaction, same arguments).
      pruneRoomEvents: p('DELETE FROM room_events WHERE id IN (SELECT id FROM outbox WHERE at < ? AND id <= ? ORDER BY at, id LIMIT ?)'),
      readOutbox: p('SELECT id, event FROM outbox WHERE id > ? AND id <= ? ORDER BY id LIMIT ?'),
      // The room's current life starts at its latest seq 1 (roomCreated); see Store.roomEvents.
      roomEvents: p(
        `SELECT o.event FROM room_events r JOIN outbox o ON o.id = r.id
         WHERE r.app_id = ? AND r.room_id = ? AND r.seq > ? AND r.id <= ?
           AND r.id >= coalesce((SELECT max(id) FROM room_events WHERE app_id = ? AND room_id = ? AND seq = 1), 0)
         ORDER BY r.seq LIMIT ?`,
      ),
      maxOutboxId: p('SELECT coalesce(max(id), 0) AS id FROM outbox').pluck(),
      begin: p('BEGIN IMMEDIATE'),
      commit: p('COMMIT'),
    };
  }

  begin(): void {
    this.s.begin.run();
  }

  commit(): void {
    const p = this.pendingIndex.length;
    if (p >= 4 * INDEX_MAX_ROWS || ((p > 0 || this.indexFromOutbox) && performance.now() - this.indexedAt >= INDEX_MS)) this.indexRooms();
    for (const { appId, roomId, agg } of this.pendingRooms.values()) {
      if (agg) this.s.upsertRoom.run(appId, roomId, JSON.stringify(agg));
      else this.s.deleteRoom.run(appId, roomId);
    }
    this.pendingRooms.clear();
    this.s.commit.run();
  }

  /** The batch was rolled back: nothing of it is to be written. */
  discard(): void {
    this.pendingRooms.clear();
    // Rows of earlier, committed batches may be among them: room_events catches up from the outbox.
    this.pendingIndex.length = 0;
    this.indexFromOutbox = true;
    this.indexedUpTo = 0;
  }

  /** Writes the pending room_events rows, in the open transaction. */
  indexRooms(): void {
    const p = this.pendingIndex;
    if (this.indexFromOutbox) {
      this.s.roomEventsFromOutbox.run(); // the pending rows are in the outbox too
      this.indexedUpTo = this.maxOutboxId();
    } else {
      for (let i = 0; i < p.length; i += 4) this.s.insertRoomEvent.run(p[i], p[i + 1], p[i + 2], p[i + 3]);
      if (p.length > 0) this.indexedUpTo = p[p.length - 4] as number;
    }
    p.length = 0;
    this.indexFromOutbox = false;
    this.indexedAt = performance.now();
  }

  /** Writes one unit's changes; returns the last outbox id written (0 when none). */
  unit(appId: AppId, c: Changes, events: RoomEvent[]): number {
    const s = this.s;
    for (const roomId of c.deletedRooms) {
      this.pendingRooms.delete(`${appId}/${roomId}`);
      s.deleteRoom.run(appId, roomId);
      s.deleteRoomMembers.run(appId, roomId);
      s.deleteRoomDeny.run(appId, roomId);
      s.deleteRoomMutes.run(appId, roomId);
      s.deleteRoomBadWords.run(appId, roomId);
    }
    for (const [roomId, agg] of c.rooms) this.pendingRooms.set(`${appId}/${roomId}`, { appId, roomId, agg });
    for (const { roomId, userId, member } of c.members.values()) {
      if (member) s.upsertMember.run(appId, roomId, userId, member.clientIp, member.connId, memberInfo(member));
      else s.deleteMember.run(appId, roomId, userId);
    }
    for (const [id, e] of c.deny) {
      if (e) {
        s.upsertDeny.run(id, appId, e.roomId, e.subjectType, e.subject, e.origin, e.expiresAt, e.reason, e.actor, e.createdAt, e.snapshot && JSON.stringify(e.snapshot));
      } else s.deleteDeny.run(id);
    }
    for (const [id, e] of c.mute) {
      if (e) s.upsertMute.run(id, appId, e.roomId, e.subjectType, e.subject, e.origin, e.expiresAt, e.reason, e.actor, e.createdAt);
      else s.deleteMute.run(id);
    }
    for (const [scope, row] of c.badWords) {
      if (row) s.upsertBadWords.run(appId, scope, row.version, JSON.stringify(row.words));
      else s.deleteRoomBadWords.run(appId, scope);
    }
    let last = 0;
    for (const e of events) {
      last = Number(s.insertEvent.run(e.appId, e.roomId, e.seq, e.at, JSON.stringify(e)).lastInsertRowid);
      this.pendingIndex.push(last, e.appId, e.roomId, e.seq);
    }
    return last;
  }

  meta(key: string, value: string): void {
    this.s.upsertMeta.run(key, value);
  }

  pruneOutbox(beforeMs: number, upToId: number, limit: number): number {
    this.indexRooms(); // no room_events row may come after its event is gone
    this.s.pruneRoomEvents.run(beforeMs, upToId, limit);
    return this.s.pruneOutbox.run(beforeMs, upToId, limit).changes;
  }

  readOutbox(afterId: number, upToId: number, limit: number): { id: number; event: string }[] {
    return this.s.readOutbox.all(afterId, upToId, limit) as { id: number; event: string }[];
  }

  roomEvents(appId: AppId, roomId: string, afterSeq: number, upToId: number, limit: number): string[] {
    return (this.s.roomEvents.all(appId, roomId, afterSeq, upToId, appId, roomId, limit) as { event: string }[]).map((r) => r.event);
  }

  maxOutboxId(): number {
    return this.s.maxOutboxId.get() as number;
  }
}

/** A member row keeps IP and connection in columns, the rest as JSON. */
function memberInfo(m: Member): string {
  const { clientIp: _ip, connId: _conn, ...info } = m;
  return JSON.stringify(info);
}

export function isEmpty(c: Changes): boolean {
  return c.deletedRooms.length === 0 && c.rooms.size === 0 && c.members.size === 0 && c.deny.size === 0 && c.mute.size === 0 && c.badWords.size === 0;
}
