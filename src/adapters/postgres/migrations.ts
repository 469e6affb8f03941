// Numbered schema steps, recorded in schema_migrations and applied on open. The whole run holds
// a transaction-scoped advisory lock keyed by the schema name, so processes starting together on
// a fresh schema queue up: the first applies the steps, the others find them recorded.
import type pg from 'pg';
import { CALLBACK_FAILED_INDEX_PG, CALLBACK_TABLES_PG } from '../../callbacks/tables-postgres.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Bad-word lists: one row per scope (room id, '' = app-wide), the words as a JSON array. */
export const BAD_WORD_TABLES = `
CREATE TABLE bad_words (
  app_id bigint NOT NULL,
  scope text COLLATE "C" NOT NULL,
  version text NOT NULL,
  words jsonb NOT NULL,
  PRIMARY KEY (app_id, scope)
);
`;

/** The moderation audit log: one row per action and target, listed newest first per app. */
export const AUDIT_TABLE = `
CREATE TABLE audit (
  id text COLLATE "C" PRIMARY KEY,
  app_id bigint NOT NULL,
  at bigint NOT NULL,
  room_id text COLLATE "C" NOT NULL,
  actor text COLLATE "C" NOT NULL,
  actor_kind text NOT NULL,
  surface text NOT NULL,
  action text NOT NULL,
  target_type text NOT NULL,
  target text COLLATE "C" NOT NULL,
  reason text NOT NULL,
  expires_at bigint
);
CREATE INDEX audit_app ON audit (app_id, id);
CREATE INDEX audit_at ON audit (at);
`;

/** One-time tokens (Polyv signs), kept for their timestamp window across restarts and nodes. */
const NONCE_TABLES = `
CREATE TABLE nonces (
  scope text COLLATE "C" NOT NULL,
  nonce text COLLATE "C" NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (scope, nonce)
);
`;

// Key columns use the "C" collation: byte order is the order the other adapters (SQLite's
// BINARY, JS string comparison for ASCII) page members and lock rooms in, and it compares faster.
/** A room's events by seq: catch-up after a reconnect and gap fills read them (`roomEvents`). */
export const OUTBOX_ROOM_INDEX = 'CREATE INDEX outbox_room ON outbox (app_id, room_id, seq);';

/** Chat history: paged by room and seq, deleted by message id, pruned by time. */
export const CHAT_TABLES = `
CREATE TABLE messages (
  app_id bigint NOT NULL,
  room_id text COLLATE "C" NOT NULL,
  id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  at bigint NOT NULL,
  message jsonb NOT NULL,
  PRIMARY KEY (app_id, room_id, id)
);
CREATE INDEX messages_room ON messages (app_id, room_id, seq);
CREATE INDEX messages_at ON messages (at);
`;

/**
 * A command's room lock and the member it targets, in one round trip. The member is read by a
 * second statement of the function, after the lock is held: a volatile function's statements each
 * take a fresh snapshot, so it sees what the lock's previous holder committed (one statement
 * joining both would read the member as of before the wait). `member` is the row's JSON as text.
 */
export const ROOM_LOCK_MEMBER = `
CREATE FUNCTION room_lock_member(p_app bigint, p_room text, p_user text)
RETURNS TABLE (room_id text, state jsonb, member_count int, seq bigint, member text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  r rooms;
BEGIN
  SELECT * INTO r FROM rooms WHERE rooms.app_id = p_app AND rooms.room_id = p_room FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  RETURN QUERY SELECT r.room_id, r.state, r.member_count, r.seq,
    (SELECT m.info::text FROM members m WHERE m.app_id = p_app AND m.room_id = p_room AND m.user_id = p_user);
END
$$;
`;

/**
 * A batch's room lock and the members it reads, in one round trip (as room_lock_member, for
 * several users): the members' user ids, client IPs and rows (JSON text), in user id order.
 */
export const ROOM_LOCK_MEMBERS = `
CREATE FUNCTION room_lock_members(p_app bigint, p_room text, p_users text[])
RETURNS TABLE (room_id text, state jsonb, member_count int, seq bigint, user_ids text[], client_ips text[], members text[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  r rooms;
BEGIN
  SELECT * INTO r FROM rooms WHERE rooms.app_id = p_app AND rooms.room_id = p_room FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  RETURN QUERY SELECT r.room_id, r.state, r.member_count, r.seq, x.ids, x.ips, x.infos
    FROM (SELECT array_agg(m.user_id ORDER BY m.user_id) AS ids, array_agg(m.client_ip ORDER BY m.user_id) AS ips,
                 array_agg(m.info::text ORDER BY m.user_id) AS infos
          FROM members m WHERE m.app_id = p_app AND m.room_id = p_room AND m.user_id = ANY(p_users)) x;
END
$$;
`;

/** A room-lock function of versions 8 and 9, redefined to queue on the room before its row lock. */
const queued = (fn: string) =>
  fn.replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION').replace('BEGIN\n', 'BEGIN\n  PERFORM room_queue(p_app, p_room);\n');

/**
 * Version 11: units that wait for a room take it in the order they came. A row lock hands out
 * the unit's transaction id (txid) as it starts to wait, and waiters on a row are not woken in
 * the order they came, so a room's commits (its events' seq) could follow another order than
 * their txids, which the outbox is read by (outbox.ts): a room's callbacks then went out of Seq
 * order under concurrent commands. A transaction-scoped advisory lock on the room, taken first,
 * queues the units without a txid; each then takes its txid with the row lock, after the unit
 * before it committed. room_lock and rooms_lock do the same for the locks without a member.
 */
export const ROOM_QUEUE = `
CREATE FUNCTION room_queue(p_app bigint, p_room text) RETURNS void
LANGUAGE sql VOLATILE AS $$ SELECT pg_advisory_xact_lock(hashtextextended(p_app::text || chr(10) || p_room, 0)) $$;

${queued(ROOM_LOCK_MEMBER)}
${queued(ROOM_LOCK_MEMBERS)}
CREATE FUNCTION room_lock(p_app bigint, p_room text)
RETURNS TABLE (room_id text, state jsonb, member_count int, seq bigint)
LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
  PERFORM room_queue(p_app, p_room);
  RETURN QUERY SELECT r.room_id, r.state, r.member_count, r.seq FROM rooms r
    WHERE r.app_id = p_app AND r.room_id = p_room FOR UPDATE;
END
$fn$;

-- Several rooms: queued, then locked, in room_id order ("C" collation).
CREATE FUNCTION rooms_lock(p_app bigint, p_rooms text[])
RETURNS TABLE (room_id text, state jsonb, member_count int, seq bigint)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  id text;
BEGIN
  FOR id IN SELECT x FROM unnest(p_rooms) x ORDER BY x COLLATE "C" LOOP
    PERFORM room_queue(p_app, id);
  END LOOP;
  RETURN QUERY SELECT r.room_id, r.state, r.member_count, r.seq FROM rooms r
    WHERE r.app_id = p_app AND r.room_id = ANY(p_rooms) ORDER BY r.room_id FOR UPDATE;
END
$fn$;
`;

/**
 * Version 12: the queue above orders a room's commits by txid only if no unit queues on a room
 * after it has taken its txid (a row lock or a write hands one out): it could then hold a smaller
 * txid than the unit before it in the room's queue, and its events would be read first. The core
 * locks all of a unit's rooms in one call before it writes; a session that sets
 * `rostrum.check_lock_order` to `on` (the end-to-end tests do) has room_queue refuse a unit that
 * breaks that, so a command that does fails its tests instead of reordering callbacks.
 */
export const ROOM_QUEUE_CHECKED = `
CREATE OR REPLACE FUNCTION room_queue(p_app bigint, p_room text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF current_setting('rostrum.check_lock_order', true) = 'on' AND pg_current_xact_id_if_assigned() IS NOT NULL THEN
    RAISE EXCEPTION 'room % locked after the unit took its transaction id: lock every room of a unit in its first lock', p_room;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended(p_app::text || chr(10) || p_room, 0));
END
$$;
`;

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'rooms, members, deny, mutes, outbox, meta',
    sql: `
CREATE TABLE rooms (
  app_id bigint NOT NULL,
  room_id text COLLATE "C" NOT NULL,
  state jsonb NOT NULL,              -- room, seats, admins, requests
  member_count int NOT NULL DEFAULT 0,
  seq bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, room_id)
);
CREATE TABLE members (
  app_id bigint NOT NULL,
  room_id text COLLATE "C" NOT NULL,
  user_id text COLLATE "C" NOT NULL,
  client_ip text COLLATE "C" NOT NULL DEFAULT '',
  conn_id text COLLATE "C" NOT NULL DEFAULT '',
  info jsonb NOT NULL,
  PRIMARY KEY (app_id, room_id, user_id)
);
CREATE INDEX members_user ON members (app_id, user_id);
CREATE INDEX members_ip ON members (app_id, client_ip);
-- Only connected members have a connection id; the prefix search (node eviction) needs no others.
CREATE INDEX members_conn ON members (conn_id text_pattern_ops) WHERE conn_id <> '';
CREATE TABLE deny (
  id text COLLATE "C" PRIMARY KEY,
  app_id bigint NOT NULL,
  room_id text COLLATE "C" NOT NULL,  -- '' = app-wide
  subject_type text NOT NULL,
  subject text COLLATE "C" NOT NULL,
  origin text NOT NULL,
  expires_at bigint,
  reason text NOT NULL,
  actor text NOT NULL,
  created_at bigint NOT NULL,
  snapshot jsonb
);
CREATE INDEX deny_subject ON deny (app_id, subject_type, subject, room_id);
CREATE INDEX deny_list ON deny (app_id, room_id, created_at, id);
CREATE TABLE mutes (
  id text COLLATE "C" PRIMARY KEY,
  app_id bigint NOT NULL,
  room_id text COLLATE "C" NOT NULL,
  subject_type text NOT NULL,
  subject text COLLATE "C" NOT NULL,
  origin text NOT NULL,
  expires_at bigint,
  reason text NOT NULL,
  actor text NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX mutes_subject ON mutes (app_id, subject_type, subject, room_id);
CREATE INDEX mutes_list ON mutes (app_id, room_id, created_at, id);
-- (txid, id) is the read order and the cursor (see outbox.ts); it is the key, so an insert
-- maintains one index besides the retention one.
CREATE TABLE outbox (
  id bigserial NOT NULL,
  txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  app_id bigint NOT NULL,
  room_id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  at bigint NOT NULL,
  event jsonb NOT NULL,
  PRIMARY KEY (txid, id)
);
CREATE INDEX outbox_at ON outbox (at);
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
`,
  },
  { version: 2, name: 'callback tables', sql: CALLBACK_TABLES_PG },
  { version: 3, name: 'bad words', sql: BAD_WORD_TABLES },
  { version: 4, name: 'audit log', sql: AUDIT_TABLE },
  { version: 5, name: 'nonces', sql: NONCE_TABLES },
  { version: 6, name: 'outbox by room and seq', sql: OUTBOX_ROOM_INDEX },
  { version: 7, name: 'chat history', sql: CHAT_TABLES },
  { version: 8, name: 'room lock with a member', sql: ROOM_LOCK_MEMBER },
  { version: 9, name: 'room lock with members', sql: ROOM_LOCK_MEMBERS },
  { version: 10, name: 'given-up callbacks by time', sql: CALLBACK_FAILED_INDEX_PG },
  { version: 11, name: 'room locks in queue order', sql: ROOM_QUEUE },
  { version: 12, name: 'room queue checks lock order when asked', sql: ROOM_QUEUE_CHECKED },
];


/** Quotes a schema name already checked to hold identifier characters only. */
export function quoteIdent(name: string): string {
  return `"${name}"`;
}

/**
 * Applies the missing steps. `schema` null = the connection's default search_path (no schema
 * created). The advisory lock is database-wide, so it is taken before the schema exists.
 */
export async function migrate(client: pg.ClientBase, schema: string | null, steps: Migration[] = MIGRATIONS): Promise<number[]> {
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    // The bigint form of the key: the app locks use the two-int form, a separate key space.
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended('rostrum.migrations:' || $1, 0))", [schema ?? '']);
    if (schema !== null) {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
      // The connection's search_path named a schema that may only now exist: set it again.
      await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}`);
    }
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    // A newer release migrated this schema (then was rolled back): its layout is not this one's.
    const known = Math.max(0, ...steps.map((m) => m.version));
    const newest = Math.max(0, ...done);
    if (newest > known) throw new Error(`the database has schema version ${newest}, newer than this release's (${known})`);
    for (const m of [...steps].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
  return applied;
}
