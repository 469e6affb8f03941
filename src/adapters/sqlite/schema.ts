// The SQLite layout (schema version 2, with the versions after it below). One row per room
// aggregate (its settings apart since version 6), one per member, one per deny or mute entry,
// one per outbox event. The memory state is the authority while the process runs and is loaded
// whole at start, so tables carry only the indexes their writes need (primary keys, and the room
// scope that deleting a room uses), never read-side indexes; the exceptions are the tables read
// from disk: chat history and the audit log. Rooms are a rowid table: an aggregate's
// JSON was 1-2 KB with its seats, which would have spilled into an overflow page in a WITHOUT
// ROWID table (about 1 KB of a 4 KB page kept inline), every save then writing two pages.
export const SCHEMA_VERSION = 7;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rooms (
  app_id INTEGER NOT NULL, room_id TEXT NOT NULL, state TEXT NOT NULL,
  PRIMARY KEY (app_id, room_id));
CREATE TABLE IF NOT EXISTS members (
  app_id INTEGER NOT NULL, room_id TEXT NOT NULL, user_id TEXT NOT NULL,
  client_ip TEXT NOT NULL, conn_id TEXT NOT NULL, info TEXT NOT NULL,
  PRIMARY KEY (app_id, room_id, user_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deny (
  id TEXT PRIMARY KEY, app_id INTEGER NOT NULL, room_id TEXT NOT NULL,
  subject_type TEXT NOT NULL, subject TEXT NOT NULL, origin TEXT NOT NULL, expires_at INTEGER,
  reason TEXT NOT NULL, actor TEXT NOT NULL, created_at INTEGER NOT NULL, snapshot TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deny_room ON deny (app_id, room_id);
CREATE TABLE IF NOT EXISTS mutes (
  id TEXT PRIMARY KEY, app_id INTEGER NOT NULL, room_id TEXT NOT NULL,
  subject_type TEXT NOT NULL, subject TEXT NOT NULL, origin TEXT NOT NULL, expires_at INTEGER,
  reason TEXT NOT NULL, actor TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS mutes_room ON mutes (app_id, room_id);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, app_id INTEGER NOT NULL, room_id TEXT NOT NULL,
  seq INTEGER NOT NULL, at INTEGER NOT NULL, event TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_at ON outbox (at);
`;

/** Version 3: bad-word lists, one row per scope (room id, '' = app-wide), words as a JSON array. */
export const BAD_WORD_TABLES = `
CREATE TABLE IF NOT EXISTS bad_words (
  app_id INTEGER NOT NULL, scope TEXT NOT NULL, version TEXT NOT NULL, words TEXT NOT NULL,
  PRIMARY KEY (app_id, scope)) WITHOUT ROWID;
`;

/** Schema version 3: the moderation audit log (one row per action and target). */
export const AUDIT_TABLE = `
CREATE TABLE IF NOT EXISTS audit (
  id TEXT PRIMARY KEY, app_id INTEGER NOT NULL, at INTEGER NOT NULL, room_id TEXT NOT NULL,
  actor TEXT NOT NULL, actor_kind TEXT NOT NULL, surface TEXT NOT NULL, action TEXT NOT NULL,
  target_type TEXT NOT NULL, target TEXT NOT NULL, reason TEXT NOT NULL, expires_at INTEGER) WITHOUT ROWID;
`;

/**
 * Version 5: the audit log is no longer held in memory but read from disk (sqlite/audit-log.ts):
 * an app's pages walk this index from their newest end.
 */
export const AUDIT_BY_APP = `
CREATE INDEX IF NOT EXISTS audit_app ON audit (app_id, id);
`;

/**
 * Version 6: a room's settings (the aggregate's `room`: name, owner, modes, …) in a row of their
 * own, written only when they change; `rooms.state` keeps what seat and member changes touch
 * (seats, admins, requests, count, seq), a small row, so a group commit writes fewer pages.
 */
export const ROOM_SETTINGS_TABLE = `
CREATE TABLE IF NOT EXISTS room_settings (
  app_id INTEGER NOT NULL, room_id TEXT NOT NULL, settings TEXT NOT NULL,
  PRIMARY KEY (app_id, room_id)) WITHOUT ROWID;
`;

/** Version 3: one-time tokens (Polyv signs) kept for their timestamp window, across restarts. */
export const NONCE_TABLES = `
CREATE TABLE IF NOT EXISTS nonces (
  scope TEXT NOT NULL, nonce TEXT NOT NULL, expires_at INTEGER NOT NULL,
  PRIMARY KEY (scope, nonce)) WITHOUT ROWID;
`;

/**
 * Version 3: chat history, on disk only (not loaded into memory at start): paged by room and seq,
 * deleted by message id, pruned by time. `id` orders commits: readers see ids up to the last
 * committed batch's.
 */
export const CHAT_TABLES = `
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT, app_id INTEGER NOT NULL, room_id TEXT NOT NULL,
  msg_id TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, message TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS messages_msg ON messages (app_id, room_id, msg_id);
CREATE INDEX IF NOT EXISTS messages_room ON messages (app_id, room_id, seq);
CREATE INDEX IF NOT EXISTS messages_at ON messages (at);
`;
