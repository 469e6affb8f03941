// The embedded Store: one SQLite file in WAL mode. better-sqlite3 is synchronous, so a
// transaction is BEGIN IMMEDIATE … COMMIT around the (async) command, with an async mutex
// keeping commands from interleaving. WAL with synchronous=NORMAL keeps every committed
// transaction across a crash of the process (the OS still holds the written pages).
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RoomEvent } from '../core/events.js';
import type { AppId, DenyEntry, Member, MuteEntry, Room, Seat, SeatRequest } from '../core/model.js';
import type { DenyQuery, OutboxRow, Store, Tx } from './port.js';
import { Checkpointer } from './sqlite-checkpointer.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rooms (
  app_id INTEGER NOT NULL, room_id TEXT NOT NULL, info TEXT NOT NULL, seq INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, room_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS members (
  app_id INTEGER NOT NULL, room_id TEXT NOT NULL, user_id TEXT NOT NULL,
  client_ip TEXT NOT NULL, conn_id TEXT NOT NULL, info TEXT NOT NULL,
  PRIMARY KEY (app_id, room_id, user_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_user ON members (app_id, user_id);
CREATE INDEX IF NOT EXISTS members_ip ON members (app_id, client_ip);
CREATE INDEX IF NOT EXISTS members_conn ON members (conn_id);
CREATE TABLE IF NOT EXISTS roles (
  app_id INTEGER NOT NULL, room_id TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL,
  PRIMARY KEY (app_id, room_id, user_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seats (
  app_id INTEGER NOT NULL, room_id TEXT NOT NULL, idx INTEGER NOT NULL, user_id TEXT,
  locked INTEGER NOT NULL, video_disabled INTEGER NOT NULL, audio_disabled INTEGER NOT NULL,
  PRIMARY KEY (app_id, room_id, idx)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS seats_one_per_user ON seats (app_id, room_id, user_id) WHERE user_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS seat_requests (
  app_id INTEGER NOT NULL, room_id TEXT NOT NULL, id TEXT NOT NULL, info TEXT NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (app_id, room_id, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deny (
  id INTEGER PRIMARY KEY AUTOINCREMENT, app_id INTEGER NOT NULL, room_id TEXT NOT NULL,
  subject_type TEXT NOT NULL, subject TEXT NOT NULL, origin TEXT NOT NULL, expires_at INTEGER,
  reason TEXT NOT NULL, actor TEXT NOT NULL, created_at INTEGER NOT NULL, snapshot TEXT);
CREATE INDEX IF NOT EXISTS deny_subject ON deny (app_id, subject_type, subject);
CREATE INDEX IF NOT EXISTS deny_room ON deny (app_id, room_id, created_at);
CREATE TABLE IF NOT EXISTS mutes (
  id INTEGER PRIMARY KEY AUTOINCREMENT, app_id INTEGER NOT NULL, room_id TEXT NOT NULL,
  subject_type TEXT NOT NULL, subject TEXT NOT NULL, origin TEXT NOT NULL, expires_at INTEGER,
  reason TEXT NOT NULL, actor TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS mutes_subject ON mutes (app_id, subject_type, subject);
CREATE INDEX IF NOT EXISTS mutes_room ON mutes (app_id, room_id, created_at);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, app_id INTEGER NOT NULL, room_id TEXT NOT NULL,
  seq INTEGER NOT NULL, at INTEGER NOT NULL, event TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_at ON outbox (at);
`;

type Row = Record<string, unknown>;

interface EntryRow {
  id: number;
  room_id: string;
  subject_type: string;
  subject: string;
  origin: string;
  expires_at: number | null;
  reason: string;
  actor: string;
  created_at: number;
  snapshot?: string | null;
}

function toDeny(r: EntryRow): DenyEntry {
  return { ...toMute(r), snapshot: r.snapshot ? JSON.parse(r.snapshot) : null };
}

function toMute(r: EntryRow): MuteEntry {
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

function toMember(r: { info: string; client_ip: string; conn_id: string }): Member {
  return { ...JSON.parse(r.info), clientIp: r.client_ip, connId: r.conn_id };
}

/** Builds `WHERE …` for deny/mute queries; the same filter serves list and count. */
function entryFilter(appId: AppId, q: DenyQuery): { where: string; args: unknown[] } {
  const parts = ['app_id = ?', '(expires_at IS NULL OR expires_at > ?)'];
  const args: unknown[] = [appId, q.activeAt];
  if (q.roomId !== undefined) (parts.push('room_id = ?'), args.push(q.roomId));
  if (q.subjectType !== undefined) (parts.push('subject_type = ?'), args.push(q.subjectType));
  if (q.subject !== undefined) (parts.push('subject = ?'), args.push(q.subject));
  if (q.origin !== undefined) (parts.push('origin = ?'), args.push(q.origin));
  return { where: parts.join(' AND '), args };
}

/** A FIFO async mutex: one transaction at a time. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const prev = this.tail;
    this.tail = prev.then(() => next);
    await prev;
    return release;
  }
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly mutex = new Mutex();
  private readonly tx: Tx;
  private readonly stmtCache = new Map<string, Database.Statement>();

  private readonly checkpointer: Checkpointer;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, 'rostrum.sqlite');
    this.db = new Database(file);
    this.checkpointer = new Checkpointer(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.tx = this.makeTx();
  }

  private q(sql: string): Database.Statement {
    let s = this.stmtCache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmtCache.set(sql, s);
    }
    return s;
  }

  /**
   * Group commit: the transactions of one turn of the event loop share one SQLite transaction,
   * each in its own savepoint, and one COMMIT at the end of the turn. None resolves before that
   * COMMIT, so a resolved transaction is as durable as before; a failed one is rolled back alone.
   */
  private batch: { resolve(): void; reject(e: unknown): void }[] | null = null;

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const release = await this.mutex.lock();
    let result: T;
    let done: Promise<void>;
    try {
      // SQLite may have rolled the whole batch back on an error (e.g. disk full): fail it.
      if (this.batch && !this.db.inTransaction) this.commitBatch();
      if (!this.batch) {
        this.q('BEGIN IMMEDIATE').run();
        this.batch = [];
        setImmediate(() => void this.commitBatchLocked());
      }
      const batch = this.batch;
      this.q('SAVEPOINT tx').run();
      try {
        result = await fn(this.tx);
        this.q('RELEASE tx').run();
      } catch (e) {
        if (this.db.inTransaction) {
          this.q('ROLLBACK TO tx').run();
          this.q('RELEASE tx').run();
        }
        throw e;
      }
      done = new Promise<void>((resolve, reject) => batch.push({ resolve, reject }));
    } finally {
      release();
    }
    await done;
    return result;
  }

  private async commitBatchLocked(): Promise<void> {
    const release = await this.mutex.lock();
    try {
      this.commitBatch();
    } finally {
      release();
    }
  }

  /** Commits the open batch, if any; the caller holds the mutex. */
  private commitBatch(): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = null;
    let error: unknown;
    try {
      if (this.db.inTransaction) this.q('COMMIT').run();
      else error = new Error('the transaction was rolled back');
      this.checkpointer.committed();
    } catch (e) {
      error = e;
      if (this.db.inTransaction) this.q('ROLLBACK').run();
    }
    for (const b of batch) {
      if (error === undefined) b.resolve();
      else b.reject(error);
    }
  }

  async readOutbox(afterId: number, limit: number): Promise<OutboxRow[]> {
    const rows = this.q('SELECT id, event FROM outbox WHERE id > ? ORDER BY id LIMIT ?').all(afterId, limit) as {
      id: number;
      event: string;
    }[];
    return rows.map((r) => ({ id: r.id, event: JSON.parse(r.event) }));
  }

  async pruneOutbox(beforeMs: number, limit: number): Promise<number> {
    return this.q('DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE at < ? ORDER BY id LIMIT ?)').run(beforeMs, limit).changes;
  }

  async getMeta(key: string): Promise<string | null> {
    const r = this.q('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return r?.value ?? null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.q('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  async close(): Promise<void> {
    const release = await this.mutex.lock();
    try {
      this.commitBatch();
      await this.checkpointer.stop();
      this.db.close();
    } finally {
      release();
    }
  }

  private makeTx(): Tx {
    const q = (sql: string) => this.q(sql);
    const getRoom = async (appId: AppId, roomId: string): Promise<Room | null> => {
      const r = q('SELECT info FROM rooms WHERE app_id = ? AND room_id = ?').get(appId, roomId) as { info: string } | undefined;
      return r ? JSON.parse(r.info) : null;
    };
    const listEntries = (table: 'deny' | 'mutes', appId: AppId, qq: DenyQuery): EntryRow[] => {
      const { where, args } = entryFilter(appId, qq);
      return q(`SELECT * FROM ${table} WHERE ${where} ORDER BY created_at, id LIMIT ? OFFSET ?`).all(
        ...args,
        qq.limit ?? -1,
        qq.offset ?? 0,
      ) as EntryRow[];
    };
    const deleteIds = (table: 'deny' | 'mutes', appId: AppId, ids: number[]) => {
      for (const id of ids) q(`DELETE FROM ${table} WHERE app_id = ? AND id = ?`).run(appId, id);
    };
    return {
      lockRoom: getRoom, // the whole database is locked by BEGIN IMMEDIATE
      getRoom,
      async insertRoom(room) {
        q('INSERT INTO rooms (app_id, room_id, info) VALUES (?, ?, ?)').run(room.appId, room.roomId, JSON.stringify(room));
      },
      async updateRoom(room) {
        q('UPDATE rooms SET info = ? WHERE app_id = ? AND room_id = ?').run(JSON.stringify(room), room.appId, room.roomId);
      },
      async deleteRoom(appId, roomId) {
        for (const t of ['rooms', 'members', 'roles', 'seats', 'seat_requests', 'deny', 'mutes']) {
          q(`DELETE FROM ${t} WHERE app_id = ? AND room_id = ?`).run(appId, roomId);
        }
      },
      async listRoomIds(appId) {
        return (q('SELECT room_id FROM rooms WHERE app_id = ? ORDER BY room_id').all(appId) as Row[]).map((r) => r.room_id as string);
      },
      async getMember(appId, roomId, userId) {
        const r = q('SELECT info, client_ip, conn_id FROM members WHERE app_id = ? AND room_id = ? AND user_id = ?').get(appId, roomId, userId);
        return r ? toMember(r as never) : null;
      },
      async listMembers(appId, roomId, after, limit) {
        const rows = q(
          'SELECT info, client_ip, conn_id FROM members WHERE app_id = ? AND room_id = ? AND user_id > ? ORDER BY user_id LIMIT ?',
        ).all(appId, roomId, after, Math.min(limit, Number.MAX_SAFE_INTEGER));
        return rows.map((r) => toMember(r as never));
      },
      async listMembersByIp(appId, roomId, ip) {
        const rows = q('SELECT info, client_ip, conn_id FROM members WHERE app_id = ? AND room_id = ? AND client_ip = ?').all(appId, roomId, ip);
        return rows.map((r) => toMember(r as never));
      },
      async roomsOfUser(appId, userId) {
        return (q('SELECT room_id FROM members WHERE app_id = ? AND user_id = ?').all(appId, userId) as Row[]).map((r) => r.room_id as string);
      },
      async roomsOfIp(appId, ip) {
        return (q('SELECT DISTINCT room_id FROM members WHERE app_id = ? AND client_ip = ?').all(appId, ip) as Row[]).map(
          (r) => r.room_id as string,
        );
      },
      async countMembers(appId, roomId) {
        return (q('SELECT count(*) AS n FROM members WHERE app_id = ? AND room_id = ?').get(appId, roomId) as { n: number }).n;
      },
      async putMember(appId, roomId, m) {
        const { clientIp, connId, ...info } = m;
        q(
          `INSERT INTO members (app_id, room_id, user_id, client_ip, conn_id, info) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (app_id, room_id, user_id) DO UPDATE SET client_ip = excluded.client_ip, conn_id = excluded.conn_id, info = excluded.info`,
        ).run(appId, roomId, m.userId, clientIp, connId, JSON.stringify(info));
      },
      async deleteMember(appId, roomId, userId) {
        q('DELETE FROM members WHERE app_id = ? AND room_id = ? AND user_id = ?').run(appId, roomId, userId);
      },
      async getRole(appId, roomId, userId) {
        const r = q('SELECT role FROM roles WHERE app_id = ? AND room_id = ? AND user_id = ?').get(appId, roomId, userId) as
          | { role: 'Admin' }
          | undefined;
        return r?.role ?? null;
      },
      async setRole(appId, roomId, userId, role) {
        if (role === null) q('DELETE FROM roles WHERE app_id = ? AND room_id = ? AND user_id = ?').run(appId, roomId, userId);
        else q('INSERT OR REPLACE INTO roles (app_id, room_id, user_id, role) VALUES (?, ?, ?, ?)').run(appId, roomId, userId, role);
      },
      async listAdmins(appId, roomId) {
        return (q('SELECT user_id FROM roles WHERE app_id = ? AND room_id = ? ORDER BY user_id').all(appId, roomId) as Row[]).map(
          (r) => r.user_id as string,
        );
      },
      async listConnectedMembers(prefix) {
        const rows = q("SELECT app_id, room_id, user_id, conn_id FROM members WHERE conn_id >= ? AND conn_id < ? AND conn_id != ''").all(
          prefix,
          prefix + '\uffff',
        ) as Row[];
        return rows.map((r) => ({
          appId: r.app_id as number,
          roomId: r.room_id as string,
          userId: r.user_id as string,
          connId: r.conn_id as string,
        }));
      },
      async getSeats(appId, roomId) {
        // One JSON text instead of a row object per seat: several times faster in better-sqlite3.
        const json = q(
          `SELECT json_group_array(json_array(idx, user_id, locked, video_disabled, audio_disabled) ORDER BY idx)
           FROM seats WHERE app_id = ? AND room_id = ?`,
        )
          .pluck()
          .get(appId, roomId) as string;
        return (JSON.parse(json) as [number, string | null, number, number, number][]).map(
          (r): Seat => ({
            index: r[0],
            userId: r[1] ?? null,
            locked: r[2] === 1,
            videoDisabled: r[3] === 1,
            audioDisabled: r[4] === 1,
          }),
        );
      },
      async putSeat(appId, roomId, s) {
        q(
          `INSERT INTO seats (app_id, room_id, idx, user_id, locked, video_disabled, audio_disabled) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (app_id, room_id, idx) DO UPDATE SET user_id = excluded.user_id, locked = excluded.locked,
             video_disabled = excluded.video_disabled, audio_disabled = excluded.audio_disabled`,
        ).run(appId, roomId, s.index, s.userId, +s.locked, +s.videoDisabled, +s.audioDisabled);
      },
      async listSeatRequests(appId, roomId) {
        const rows = q('SELECT info FROM seat_requests WHERE app_id = ? AND room_id = ? ORDER BY created_at, id').all(appId, roomId) as {
          info: string;
        }[];
        return rows.map((r) => JSON.parse(r.info) as SeatRequest);
      },
      async putSeatRequest(appId, roomId, req) {
        q('INSERT OR REPLACE INTO seat_requests (app_id, room_id, id, info, created_at) VALUES (?, ?, ?, ?, ?)').run(
          appId,
          roomId,
          req.id,
          JSON.stringify(req),
          req.createdAt,
        );
      },
      async deleteSeatRequest(appId, roomId, id) {
        q('DELETE FROM seat_requests WHERE app_id = ? AND room_id = ? AND id = ?').run(appId, roomId, id);
      },
      async insertDeny(appId, e) {
        const r = q(
          `INSERT INTO deny (app_id, room_id, subject_type, subject, origin, expires_at, reason, actor, created_at, snapshot)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(appId, e.roomId, e.subjectType, e.subject, e.origin, e.expiresAt, e.reason, e.actor, e.createdAt, e.snapshot && JSON.stringify(e.snapshot));
        return { ...e, id: Number(r.lastInsertRowid) };
      },
      async listDeny(appId, qq) {
        return listEntries('deny', appId, qq).map(toDeny);
      },
      async countDeny(appId, qq) {
        const { where, args } = entryFilter(appId, qq);
        return (q(`SELECT count(*) AS n FROM deny WHERE ${where}`).get(...args) as { n: number }).n;
      },
      async deleteDeny(appId, ids) {
        deleteIds('deny', appId, ids);
      },
      async insertMute(appId, e) {
        const r = q(
          `INSERT INTO mutes (app_id, room_id, subject_type, subject, origin, expires_at, reason, actor, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(appId, e.roomId, e.subjectType, e.subject, e.origin, e.expiresAt, e.reason, e.actor, e.createdAt);
        return { ...e, id: Number(r.lastInsertRowid) };
      },
      async listMutes(appId, qq) {
        return listEntries('mutes', appId, qq).map(toMute);
      },
      async deleteMutes(appId, ids) {
        deleteIds('mutes', appId, ids);
      },
      async appendEvent(e) {
        const r = q('UPDATE rooms SET seq = seq + 1 WHERE app_id = ? AND room_id = ? RETURNING seq').get(e.appId, e.roomId) as
          | { seq: number }
          | undefined;
        const event: RoomEvent = { ...e, seq: r?.seq ?? 0 };
        q('INSERT INTO outbox (app_id, room_id, seq, at, event) VALUES (?, ?, ?, ?, ?)').run(e.appId, e.roomId, event.seq, e.at, JSON.stringify(event));
        return event;
      },
    };
  }
}
