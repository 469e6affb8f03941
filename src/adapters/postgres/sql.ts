// The statements of the hot paths, each with a fixed name: pg prepares a named statement once per
// connection and then only binds it, which saves the server a parse and a plan per command.
// A name must always carry the same text, so dynamic SQL (list filters) stays unnamed.

export interface Stmt {
  name: string;
  text: string;
}

const s = (name: string, text: string): Stmt => ({ name: `rostrum_${name}`, text: text.replace(/\s+/g, ' ').trim() });

const ROOM_COLS = 'room_id, state, member_count, seq';
const ENTRY = 'id, room_id, subject_type, subject, origin, expires_at, reason, actor, created_at';

// Rooms are locked in room_id order ("C" collation = byte order), one query for several: two
// units wanting {a,b} and {b,a} queue on the first row instead of deadlocking.
export const SQL = {
  roomRead: s('room_read', `SELECT ${ROOM_COLS} FROM rooms WHERE app_id = $1 AND room_id = $2`),
  // Queued on the room first (see ROOM_QUEUE in migrations.ts), then its row locked.
  roomLock: s('room_lock', `SELECT ${ROOM_COLS} FROM room_lock($1, $2)`),
  // By the (app_id, room_id, seq) index: one probe.
  lastAppSeq: s('last_app_seq', `SELECT coalesce(max(seq), 0) AS seq FROM outbox WHERE app_id = $1 AND room_id = ''`),
  // The room locked, then the member $3 read (JSON text, null when absent): see ROOM_LOCK_MEMBER.
  roomLockMember: s('room_lock_member', `SELECT ${ROOM_COLS}, member FROM room_lock_member($1, $2, $3)`),
  // A batch's room locked, then its members $3 (a JSON array of user ids) read: see ROOM_LOCK_MEMBERS.
  roomLockMembers: s(
    'room_lock_members',
    `SELECT ${ROOM_COLS}, user_ids, client_ips, members FROM room_lock_members($1, $2, ARRAY(SELECT jsonb_array_elements_text($3::jsonb)))`,
  ),
  roomsLock: s('rooms_lock', `SELECT ${ROOM_COLS} FROM rooms_lock($1, $2::text[])`),
  roomInsert: s(
    'room_insert',
    `INSERT INTO rooms (app_id, room_id, state, member_count, seq) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
  ),
  // $2: [{room_id, state, member_count, seq}] — one statement however many rooms changed.
  roomsSave: s(
    'rooms_save',
    `UPDATE rooms r SET state = x.state, member_count = x.member_count, seq = x.seq
     FROM jsonb_to_recordset($2::jsonb) AS x(room_id text, state jsonb, member_count int, seq bigint)
     WHERE r.app_id = $1 AND r.room_id = x.room_id`,
  ),
  // $2: events as one JSON array, inserted in array order (their outbox ids follow it).
  append: s(
    'append',
    `INSERT INTO outbox (app_id, room_id, seq, at, event)
     SELECT $1, e->>'roomId', (e->>'seq')::bigint, (e->>'at')::bigint, e
     FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n`,
  ),
  // The last step of nearly every command: the rooms' write-back and its events in one round trip.
  saveAndAppend: s(
    'save_append',
    `WITH saved AS (
       UPDATE rooms r SET state = x.state, member_count = x.member_count, seq = x.seq
       FROM jsonb_to_recordset($2::jsonb) AS x(room_id text, state jsonb, member_count int, seq bigint)
       WHERE r.app_id = $1 AND r.room_id = x.room_id)
     INSERT INTO outbox (app_id, room_id, seq, at, event)
     SELECT $1, e->>'roomId', (e->>'seq')::bigint, (e->>'at')::bigint, e
     FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n`,
  ),
  roomDelete: s(
    'room_delete',
    `WITH m AS (DELETE FROM members WHERE app_id = $1 AND room_id = $2),
          d AS (DELETE FROM deny WHERE app_id = $1 AND room_id = $2),
          u AS (DELETE FROM mutes WHERE app_id = $1 AND room_id = $2),
          b AS (DELETE FROM bad_words WHERE app_id = $1 AND scope = $2),
          h AS (DELETE FROM messages WHERE app_id = $1 AND room_id = $2)
     DELETE FROM rooms WHERE app_id = $1 AND room_id = $2`,
  ),
  appLockShared: s('app_lock_shared', `SELECT pg_advisory_xact_lock_shared($1::int, $2::int)`),
  appLockExclusive: s('app_lock_exclusive', `SELECT pg_advisory_xact_lock($1::int, $2::int)`),

  member: s('member', `SELECT info FROM members WHERE app_id = $1 AND room_id = $2 AND user_id = $3`),
  members: s(
    'members',
    `SELECT info FROM members WHERE app_id = $1 AND room_id = $2 AND user_id > $3 ORDER BY user_id LIMIT $4`,
  ),
  membersByIp: s(
    'members_by_ip',
    `SELECT info FROM members WHERE app_id = $1 AND room_id = $2 AND client_ip = $3 ORDER BY user_id`,
  ),
  roomsWithUser: s('rooms_with_user', `SELECT DISTINCT room_id FROM members WHERE app_id = $1 AND user_id = $2 ORDER BY room_id`),
  roomsWithIp: s('rooms_with_ip', `SELECT DISTINCT room_id FROM members WHERE app_id = $1 AND client_ip = $2 ORDER BY room_id`),
  memberPut: s(
    'member_put',
    `INSERT INTO members (app_id, room_id, user_id, client_ip, conn_id, info) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (app_id, room_id, user_id)
     DO UPDATE SET client_ip = EXCLUDED.client_ip, conn_id = EXCLUDED.conn_id, info = EXCLUDED.info`,
  ),
  memberDelete: s('member_delete', `DELETE FROM members WHERE app_id = $1 AND room_id = $2 AND user_id = $3`),

  // One indexed probe per subject ((app_id, subject_type, subject, room_id)), both scopes at once.
  denyMatching: s(
    'deny_matching',
    `SELECT ${ENTRY}, snapshot FROM deny
     WHERE app_id = $1 AND room_id IN ($2, '')
       AND (subject_type, subject) IN (SELECT * FROM unnest($3::text[], $4::text[]))
       AND (expires_at IS NULL OR expires_at > $5)
     ORDER BY created_at, id`,
  ),
  muteMatching: s(
    'mute_matching',
    `SELECT ${ENTRY} FROM mutes
     WHERE app_id = $1 AND room_id IN ($2, '')
       AND (subject_type, subject) IN (SELECT * FROM unnest($3::text[], $4::text[]))
       AND (expires_at IS NULL OR expires_at > $5)
     ORDER BY created_at, id`,
  ),
  // A batch's mute entries (and, when $5, its deny entries) for all the subjects it may ask
  // about, whatever their expiry (each check filters by its own time): see PgWriter.prefetch.
  entriesMatching: s(
    'entries_matching',
    `SELECT 'mute' AS list, ${ENTRY}, NULL::jsonb AS snapshot FROM mutes
     WHERE app_id = $1 AND room_id IN ($2, '')
       AND (subject_type, subject) IN (SELECT * FROM unnest($3::text[], $4::text[]))
     UNION ALL
     SELECT 'deny' AS list, ${ENTRY}, snapshot FROM deny
     WHERE $5::boolean AND app_id = $1 AND room_id IN ($2, '')
       AND (subject_type, subject) IN (SELECT * FROM unnest($3::text[], $4::text[]))
     ORDER BY created_at, id`,
  ),
  denyInsert: s('deny_insert', `INSERT INTO deny (${ENTRY}, app_id, snapshot) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`),
  muteInsert: s('mute_insert', `INSERT INTO mutes (${ENTRY}, app_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`),
  denyDelete: s('deny_delete', `DELETE FROM deny WHERE app_id = $1 AND id = ANY($2::text[])`),
  muteDelete: s('mute_delete', `DELETE FROM mutes WHERE app_id = $1 AND id = ANY($2::text[])`),

  // $3 / $4: scopes and versions the caller has; their words are not sent again.
  badWords: s(
    'bad_words',
    `SELECT b.scope, b.version, CASE WHEN k.version = b.version THEN NULL ELSE b.words END AS words
     FROM bad_words b LEFT JOIN unnest($3::text[], $4::text[]) AS k(scope, version) ON k.scope = b.scope
     WHERE b.app_id = $1 AND b.scope = ANY($2::text[])`,
  ),
  badWordsPut: s(
    'bad_words_put',
    `INSERT INTO bad_words (app_id, scope, version, words) VALUES ($1, $2, $3, $4)
     ON CONFLICT (app_id, scope) DO UPDATE SET version = EXCLUDED.version, words = EXCLUDED.words`,
  ),
  badWordsDelete: s('bad_words_delete', `DELETE FROM bad_words WHERE app_id = $1 AND scope = $2`),

  // Inserted, or taken over from an expired row; no row back = already claimed and still valid.
  nonceClaim: s(
    'nonce_claim',
    `INSERT INTO nonces (scope, nonce, expires_at) VALUES ($1, $2, $3)
     ON CONFLICT (scope, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE nonces.expires_at <= $4
     RETURNING 1`,
  ),
  noncePrune: s('nonce_prune', `DELETE FROM nonces WHERE expires_at <= $1`),
  denyPrune: s('deny_prune', `DELETE FROM deny WHERE id IN (SELECT id FROM deny WHERE expires_at < $1 LIMIT $2)`),
  mutePrune: s('mute_prune', `DELETE FROM mutes WHERE id IN (SELECT id FROM mutes WHERE expires_at < $1 LIMIT $2)`),
  metaGet: s('meta_get', `SELECT value FROM meta WHERE key = $1`),
  metaSet: s('meta_set', `INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`),
} as const;
