// Rows to and from the memory state: the prepared statements that write a batch (write-ops.ts),
// and the load of the whole database into a fresh MemoryState (at open, and after a failed commit).
import type Database from 'better-sqlite3';
import type { DenyEntry, MuteEntry, Origin, SubjectType } from '../../core/model.js';
import { MemoryState } from '../memory/state.js';
import { parseRoom } from './packed.js';
import type { SqliteAuditLog } from './audit-log.js';
import type { SqliteHistory } from './history.js';
import type { NonceTable } from './nonces.js';
import type { RoomEventIndex } from './room-index.js';
import { MultiRowInsert } from './multi-row.js';
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
  // App-wide events are few: a scan of the outbox (kept for a while after its events are spooled).
  for (const [appId, seq] of db.prepare("SELECT app_id, max(seq) FROM outbox WHERE room_id = '' GROUP BY app_id").raw().iterate() as Iterable<[number, number]>) {
    st.app(appId).lastAppSeq = seq;
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

/** The statements of the write path, prepared once. */
export class Writer {
  private readonly s;
  /**
   * The batch's outbox events, flat: app, room, seq, at, text; inserted together before COMMIT,
   * where they take consecutive ids (the write lock is held), and indexed once committed.
   */
  private readonly events: (number | string)[] = [];
  /** The batch's room rows, flat: app, room, state; written together before COMMIT. */
  private readonly rooms: (number | string)[] = [];
  private readonly outboxInsert: MultiRowInsert;
  private readonly roomUpsert: MultiRowInsert;
  /** The last outbox id committed: readers see the outbox up to it. */
  outboxId: number;

  constructor(
    private readonly db: Database.Database,
    private readonly history: SqliteHistory,
    private readonly audit: SqliteAuditLog,
    private readonly nonces: NonceTable,
    private readonly roomIndex: RoomEventIndex,
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
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
      upsertMeta: p('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      // Ordered by (at, id) so SQLite walks the outbox_at index, not the whole table (a stall of ~100 ms).
      pruneOutbox: p('DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE at < ? AND id <= ? ORDER BY at, id LIMIT ?)'),
      begin: p('BEGIN IMMEDIATE'),
      commit: p('COMMIT'),
    };
    this.outboxInsert = new MultiRowInsert(db, 'INSERT INTO outbox (app_id, room_id, seq, at, event)', 5);
    this.roomUpsert = new MultiRowInsert(db, 'INSERT INTO rooms (app_id, room_id, state)', 3, 'ON CONFLICT (app_id, room_id) DO UPDATE SET state = excluded.state');
    this.outboxId = maxOutboxId(db);
  }

  /**
   * Writes one batch in one transaction; the counts of its counting ops (the prunes), in order.
   * A failure rolls it back, and throws.
   */
  write(ops: WriteOp[]): number[] {
    const results: number[] = [];
    let lastEvent = 0;
    try {
      this.s.begin.run();
      for (const op of ops) {
        const r = this.apply(op);
        if (counts(op)) results.push(r as number);
      }
      lastEvent = this.outboxInsert.run(this.events);
      this.roomUpsert.run(this.rooms);
      this.rooms.length = 0;
      this.audit.flush();
      this.s.commit.run();
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
    const e = this.events;
    if (e.length > 0) {
      this.outboxId = lastEvent;
      for (let i = 0, id = lastEvent - e.length / 5 + 1; i < e.length; i += 5, id++) this.roomIndex.add(e[i] as number, e[i + 1] as string, e[i + 2] as number, id);
      e.length = 0;
    }
    this.roomIndex.committed(Date.now(), this.outboxId);
    this.history.committed();
    return results;
  }

  /** The batch was rolled back: nothing of it is to be written or indexed. */
  private discard(): void {
    this.events.length = 0;
    this.rooms.length = 0;
    this.audit.discard();
    this.history.discard();
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
        this.rooms.push(appId, roomId, state); // each room once a batch (the store's last state of it)
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
      case 'event':
        this.events.push(op[1], op[2], op[3], op[4], op[5]);
        return;
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
      case 'pruneOutbox': {
        const [, beforeMs, limit] = op;
        return s.pruneOutbox.run(beforeMs, this.outboxId, limit).changes;
      }
      case 'pruneAudit':
        return this.audit.prune(op[1], op[2]);
      case 'pruneMessages':
        return this.history.prune(op[1], op[2]);
    }
  }
}

/** Indexes the outbox's events since `sinceMs` (at open: the index lives in memory). */
export function indexRecentEvents(db: Database.Database, index: RoomEventIndex, sinceMs: number): void {
  const rows = db.prepare('SELECT id, app_id, room_id, seq, at FROM outbox WHERE at >= ? ORDER BY id').raw().iterate(sinceMs);
  for (const [id, appId, roomId, seq, at] of rows as Iterable<[number, number, string, number, number]>) {
    index.add(appId, roomId, seq, id);
    index.mark(at, id);
  }
}

function maxOutboxId(db: Database.Database): number {
  return db.prepare('SELECT coalesce(max(id), 0) FROM outbox').pluck().get() as number;
}
