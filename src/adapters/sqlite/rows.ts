// Rows to and from the memory state: the prepared statements that write a batch (write-ops.ts),
// and the load of the whole database into a fresh MemoryState (at open, and after a failed commit).
import type Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';
import type { DenyEntry, MuteEntry, Origin, SubjectType } from '../../core/model.js';
import { MemoryState } from '../memory/state.js';
import { parseRoom } from './packed.js';
import type { SqliteAuditLog } from './audit-log.js';
import type { SqliteHistory } from './history.js';
import type { NonceTable } from './nonces.js';
import { counts, type WriteOp } from './write-ops.js';

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
  const rooms = db.prepare(
    `SELECT r.app_id, r.room_id, r.state, s.settings FROM rooms r
     LEFT JOIN room_settings s ON s.app_id = r.app_id AND s.room_id = r.room_id ORDER BY r.app_id, r.room_id`,
  );
  for (const r of rooms.iterate() as Iterable<{ app_id: number; room_id: string; state: string; settings: string | null }>) {
    st.app(r.app_id).rooms.set(r.room_id, parseRoom(r.state, r.settings));
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
   * The room_events rows of outbox events written since the last indexRooms, flat: id, app,
   * room, seq. Written in bulk (see INDEX_MS), each room's new rows then share its index leaf.
   */
  private readonly pendingIndex: (number | string)[] = [];
  /** When set, room_events may lack rows of the outbox (at open, after a rolled-back batch): rebuilt from it. */
  private indexFromOutbox = true;
  private indexedAt = 0;
  /** Outbox events up to this id are in room_events (0 when not known). */
  indexedUpTo = 0;
  /** The last outbox id committed: readers see the outbox up to it. */
  outboxId: number;

  constructor(
    private readonly db: Database.Database,
    private readonly history: SqliteHistory,
    private readonly audit: SqliteAuditLog,
    private readonly nonces: NonceTable,
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      upsertRoom: p('INSERT INTO rooms (app_id, room_id, state) VALUES (?, ?, ?) ON CONFLICT (app_id, room_id) DO UPDATE SET state = excluded.state'),
      deleteRoom: p('DELETE FROM rooms WHERE app_id = ? AND room_id = ?'),
      upsertSettings: p('INSERT OR REPLACE INTO room_settings (app_id, room_id, settings) VALUES (?, ?, ?)'),
      deleteSettings: p('DELETE FROM room_settings WHERE app_id = ? AND room_id = ?'),
      deleteRoomMembers: p('DELETE FROM members WHERE app_id = ? AND room_id = ?'),
      deleteRoomDeny: p('DELETE FROM deny WHERE app_id = ? AND room_id = ?'),
      deleteRoomMutes: p('DELETE FROM mutes WHERE app_id = ? AND room_id = ?'),
      deleteBadWords: p('DELETE FROM bad_words WHERE app_id = ? AND scope = ?'),
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
      begin: p('BEGIN IMMEDIATE'),
      commit: p('COMMIT'),
    };
    this.outboxId = maxOutboxId(db);
  }

  /**
   * Writes one batch in one transaction; the counts of its counting ops (the prunes), in order.
   * A failure rolls it back, and throws.
   */
  write(ops: WriteOp[]): number[] {
    const results: number[] = [];
    let outboxMax = 0;
    try {
      this.s.begin.run();
      for (const op of ops) {
        const r = this.apply(op);
        if (op[0] === 'event') outboxMax = r as number;
        else if (counts(op)) results.push(r as number);
      }
      this.commit();
    } catch (e) {
      this.discard();
      if (this.db.inTransaction) {
        try {
          this.db.exec('ROLLBACK');
        } catch {
          // already rolled back by SQLite
        }
      }
      throw e;
    }
    if (outboxMax > this.outboxId) this.outboxId = outboxMax;
    this.history.committed();
    return results;
  }

  private apply(op: WriteOp): number | undefined {
    const s = this.s;
    switch (op[0]) {
      case 'room': {
        const [, appId, roomId, state, settings] = op;
        if (state === null) {
          s.deleteRoom.run(appId, roomId);
          s.deleteSettings.run(appId, roomId);
          return;
        }
        s.upsertRoom.run(appId, roomId, state);
        if (settings !== null) s.upsertSettings.run(appId, roomId, settings);
        return;
      }
      case 'roomGone': {
        const [, appId, roomId] = op;
        s.deleteRoom.run(appId, roomId);
        s.deleteSettings.run(appId, roomId);
        s.deleteRoomMembers.run(appId, roomId);
        s.deleteRoomDeny.run(appId, roomId);
        s.deleteRoomMutes.run(appId, roomId);
        s.deleteBadWords.run(appId, roomId);
        return;
      }
      case 'member':
        s.upsertMember.run(op[1], op[2], op[3], op[4], op[5], op[6]);
        return;
      case 'memberGone':
        s.deleteMember.run(op[1], op[2], op[3]);
        return;
      case 'deny': {
        const [, appId, id, e] = op;
        if (e) {
          s.upsertDeny.run(id, appId, e.roomId, e.subjectType, e.subject, e.origin, e.expiresAt, e.reason, e.actor, e.createdAt, e.snapshot && JSON.stringify(e.snapshot));
        } else s.deleteDeny.run(id);
        return;
      }
      case 'mute': {
        const [, appId, id, e] = op;
        if (e) s.upsertMute.run(id, appId, e.roomId, e.subjectType, e.subject, e.origin, e.expiresAt, e.reason, e.actor, e.createdAt);
        else s.deleteMute.run(id);
        return;
      }
      case 'badWords': {
        const [, appId, scope, row] = op;
        if (row) s.upsertBadWords.run(appId, scope, row.version, JSON.stringify(row.words));
        else s.deleteBadWords.run(appId, scope);
        return;
      }
      case 'event': {
        const [, appId, roomId, seq, at, text] = op;
        const id = Number(s.insertEvent.run(appId, roomId, seq, at, text).lastInsertRowid);
        this.pendingIndex.push(id, appId, roomId, seq);
        return id;
      }
      case 'history':
        this.history.apply(op[1]);
        return;
      case 'audit':
        this.audit.append(op[1], op[2]);
        return;
      case 'meta':
        s.upsertMeta.run(op[1], op[2]);
        return;
      case 'nonce':
        this.nonces.put(op[1], op[2], op[3], op[4]);
        return;
      case 'indexRooms':
        this.indexRooms();
        return;
      case 'pruneOutbox': {
        const [, beforeMs, limit] = op;
        this.indexRooms(); // no room_events row may come after its event is gone
        s.pruneRoomEvents.run(beforeMs, this.outboxId, limit);
        return s.pruneOutbox.run(beforeMs, this.outboxId, limit).changes;
      }
      case 'pruneAudit':
        return this.audit.prune(op[1], op[2]);
      case 'pruneMessages':
        return this.history.prune(op[1], op[2]);
    }
  }

  private commit(): void {
    const p = this.pendingIndex.length;
    if (p >= 4 * INDEX_MAX_ROWS || ((p > 0 || this.indexFromOutbox) && performance.now() - this.indexedAt >= INDEX_MS)) this.indexRooms();
    this.s.commit.run();
  }

  /** The batch was rolled back: nothing of it is to be written. */
  private discard(): void {
    // Rows of earlier, committed batches may be among them: room_events catches up from the outbox.
    this.pendingIndex.length = 0;
    this.indexFromOutbox = true;
    this.indexedUpTo = 0;
    this.history.discard();
  }

  /** Writes the pending room_events rows, in the open transaction. */
  private indexRooms(): void {
    const p = this.pendingIndex;
    if (this.indexFromOutbox) {
      this.s.roomEventsFromOutbox.run(); // the pending rows are in the outbox too
      this.indexedUpTo = Math.max(this.outboxId, p.length > 0 ? (p[p.length - 4] as number) : 0);
    } else {
      for (let i = 0; i < p.length; i += 4) this.s.insertRoomEvent.run(p[i], p[i + 1], p[i + 2], p[i + 3]);
      if (p.length > 0) this.indexedUpTo = p[p.length - 4] as number;
    }
    p.length = 0;
    this.indexFromOutbox = false;
    this.indexedAt = performance.now();
  }
}

function maxOutboxId(db: Database.Database): number {
  return db.prepare('SELECT coalesce(max(id), 0) FROM outbox').pluck().get() as number;
}
