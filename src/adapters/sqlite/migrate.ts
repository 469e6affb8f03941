// Brings a data dir's database to the current schema on open, in one transaction. Version 1 (or
// unversioned) is the previous release's layout: a room spread over rooms(info, seq), seats,
// roles and seat_requests; deny/mute entries with integer ids. Entry ids become the old integer
// as a 12-digit zero-padded string: they keep their order among themselves, and the core's new
// time-based ids (a base-36 time padded to 9, then more: '0' and a non-zero digit for any time
// after 1972) sort after them, for any old id below 10^10.
import type Database from 'better-sqlite3';
import type { RoomAggregate, Room, Seat, SeatRequest } from '../../core/model.js';
import { AUDIT_BY_APP, AUDIT_TABLE, BAD_WORD_TABLES, CHAT_TABLES, NONCE_TABLES, ROOM_SETTINGS_TABLE, SCHEMA, SCHEMA_VERSION } from './schema.js';

export function legacyEntryId(id: number): string {
  return String(id).padStart(12, '0');
}

function tableExists(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

function hasColumn(db: Database.Database, table: string, column: string): boolean {
  return (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).some((c) => c.name === column);
}

export function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === SCHEMA_VERSION) return;
  if (version > SCHEMA_VERSION) {
    throw new Error(`the database has schema version ${version}, newer than this release's (${SCHEMA_VERSION})`);
  }
  db.transaction(() => {
    if (version === 1 || (tableExists(db, 'rooms') && hasColumn(db, 'rooms', 'info'))) migrateV1(db);
    else if (version !== 2) db.exec(SCHEMA);
    // Version 2 -> 3 (and every fresh or migrated database): bad-word lists, the audit log, replay nonces, chat history.
    db.exec(BAD_WORD_TABLES);
    db.exec(AUDIT_TABLE);
    db.exec(NONCE_TABLES);
    db.exec(CHAT_TABLES);
    // Version 3 -> 4 moved the outbox by room and seq from an index on the outbox to a table of
    // its own, room_events; version 7 keeps it in memory (room-index.ts): both go.
    db.exec('DROP INDEX IF EXISTS outbox_room');
    db.exec('DROP TABLE IF EXISTS room_events');
    // Version 4 -> 5: the audit log is read from disk, by app.
    db.exec(AUDIT_BY_APP);
    // Version 5 -> 6: each room's settings move out of its state into room_settings.
    db.exec(ROOM_SETTINGS_TABLE);
    db.exec(`
      INSERT OR REPLACE INTO room_settings (app_id, room_id, settings)
        SELECT app_id, room_id, json_extract(state, '$.room') FROM rooms WHERE json_type(state, '$.room') = 'object';
      UPDATE rooms SET state = json_remove(state, '$.room') WHERE json_type(state, '$.room') = 'object';
    `);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

type Key = string;
const key = (appId: number, roomId: string): Key => `${appId}\n${roomId}`;

function migrateV1(db: Database.Database): void {
  // Gather each room's aggregate from the old tables.
  const aggs = new Map<Key, { appId: number; agg: RoomAggregate }>();
  for (const r of db.prepare('SELECT app_id, room_id, info, seq FROM rooms ORDER BY app_id, room_id').all() as {
    app_id: number;
    room_id: string;
    info: string;
    seq: number;
  }[]) {
    const room = JSON.parse(r.info) as Room;
    aggs.set(key(r.app_id, r.room_id), { appId: r.app_id, agg: { room, seats: [], admins: [], requests: [], memberCount: 0, seq: r.seq } });
  }
  const of = (appId: number, roomId: string) => aggs.get(key(appId, roomId))?.agg;
  if (tableExists(db, 'seats')) {
    for (const s of db.prepare('SELECT * FROM seats ORDER BY app_id, room_id, idx').all() as {
      app_id: number;
      room_id: string;
      idx: number;
      user_id: string | null;
      locked: number;
      video_disabled: number;
      audio_disabled: number;
    }[]) {
      const seat: Seat = { index: s.idx, userId: s.user_id, locked: s.locked === 1, videoDisabled: s.video_disabled === 1, audioDisabled: s.audio_disabled === 1 };
      of(s.app_id, s.room_id)?.seats.push(seat);
    }
  }
  if (tableExists(db, 'roles')) {
    for (const r of db.prepare("SELECT app_id, room_id, user_id FROM roles WHERE role = 'Admin' ORDER BY app_id, room_id, user_id").all() as {
      app_id: number;
      room_id: string;
      user_id: string;
    }[]) {
      of(r.app_id, r.room_id)?.admins.push(r.user_id);
    }
  }
  if (tableExists(db, 'seat_requests')) {
    for (const r of db.prepare('SELECT app_id, room_id, info FROM seat_requests ORDER BY app_id, room_id, created_at, id').all() as {
      app_id: number;
      room_id: string;
      info: string;
    }[]) {
      of(r.app_id, r.room_id)?.requests.push(JSON.parse(r.info) as SeatRequest);
    }
  }
  for (const r of db.prepare('SELECT app_id, room_id, count(*) AS n FROM members GROUP BY app_id, room_id').all() as {
    app_id: number;
    room_id: string;
    n: number;
  }[]) {
    const a = of(r.app_id, r.room_id);
    if (a) a.memberCount = r.n;
  }

  // Out with the old layout (members, outbox and meta keep theirs), in with the new.
  db.exec(`
    DROP TABLE rooms; DROP TABLE IF EXISTS seats; DROP TABLE IF EXISTS roles; DROP TABLE IF EXISTS seat_requests;
    DROP INDEX IF EXISTS members_user; DROP INDEX IF EXISTS members_ip; DROP INDEX IF EXISTS members_conn;
    ALTER TABLE deny RENAME TO deny_v1; DROP INDEX IF EXISTS deny_subject; DROP INDEX IF EXISTS deny_room;
    ALTER TABLE mutes RENAME TO mutes_v1; DROP INDEX IF EXISTS mutes_subject; DROP INDEX IF EXISTS mutes_room;
  `);
  db.exec(SCHEMA);
  db.exec(`
    INSERT INTO deny (id, app_id, room_id, subject_type, subject, origin, expires_at, reason, actor, created_at, snapshot)
      SELECT printf('%012d', id), app_id, room_id, subject_type, subject, origin, expires_at, reason, actor, created_at, snapshot FROM deny_v1;
    INSERT INTO mutes (id, app_id, room_id, subject_type, subject, origin, expires_at, reason, actor, created_at)
      SELECT printf('%012d', id), app_id, room_id, subject_type, subject, origin, expires_at, reason, actor, created_at FROM mutes_v1;
    DROP TABLE deny_v1; DROP TABLE mutes_v1;
  `);
  const insert = db.prepare('INSERT INTO rooms (app_id, room_id, state) VALUES (?, ?, ?)');
  for (const { appId, agg } of aggs.values()) insert.run(appId, agg.room.roomId, JSON.stringify(agg));
}
