// Chat history statements (table `messages`, migration step 3).
import type { ChatMessage } from '../../core/model.js';
import type { HistoryQuery } from '../../core/ports/store.js';
import type { Stmt } from './sql.js';
import type { Exec } from './writer.js';

const s = (name: string, text: string): Stmt => ({ name: `rostrum_${name}`, text: text.replace(/\s+/g, ' ').trim() });

export const HISTORY_SQL = {
  // $2: the messages as one JSON array.
  append: s(
    'messages_append',
    `INSERT INTO messages (app_id, room_id, id, seq, at, message)
     SELECT $1, m->>'roomId', m->>'id', (m->>'seq')::bigint, (m->>'at')::bigint, m
     FROM jsonb_array_elements($2::jsonb) AS t(m) ON CONFLICT DO NOTHING`,
  ),
  // A chat batch's last step: the room's write-back, its events and its history in one round trip.
  saveAppendMessages: s(
    'save_append_messages',
    `WITH saved AS (
       UPDATE rooms r SET state = x.state, member_count = x.member_count, seq = x.seq
       FROM jsonb_to_recordset($2::jsonb) AS x(room_id text, state jsonb, member_count int, seq bigint)
       WHERE r.app_id = $1 AND r.room_id = x.room_id),
     kept AS (
       INSERT INTO messages (app_id, room_id, id, seq, at, message)
       SELECT $1, m->>'roomId', m->>'id', (m->>'seq')::bigint, (m->>'at')::bigint, m
       FROM jsonb_array_elements($4::jsonb) AS t(m) ON CONFLICT DO NOTHING)
     INSERT INTO outbox (app_id, room_id, seq, at, event)
     SELECT $1, e->>'roomId', (e->>'seq')::bigint, (e->>'at')::bigint, e
     FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n`,
  ),
  delete: s('messages_delete', 'DELETE FROM messages WHERE app_id = $1 AND room_id = $2 AND id = ANY($3::text[])'),
  held: s('messages_held', 'SELECT id FROM messages WHERE app_id = $1 AND room_id = $2 AND id = ANY($3::text[])'),
  clear: s('messages_clear', 'DELETE FROM messages WHERE app_id = $1 AND room_id = $2'),
  page: s(
    'messages_page_range',
    `SELECT message FROM messages WHERE app_id = $1 AND room_id = $2 AND seq < $3 AND at >= $4 AND at <= $5
     ORDER BY seq DESC LIMIT $6 OFFSET $7`,
  ),
  // Every room of the app, past a key (at, room_id, seq, id): see MessageKey. room_id and id are
  // COLLATE "C": code point order.
  appPage: s(
    'messages_app_page_after',
    `SELECT message FROM messages WHERE app_id = $1 AND seq < $2 AND at >= $3 AND at <= $4
     AND (at, room_id, seq, id) > ($5::bigint, $6::text, $7::bigint, $8::text)
     ORDER BY at, room_id, seq, id LIMIT $9 OFFSET $10`,
  ),
  prune: s('messages_prune', 'DELETE FROM messages WHERE ctid IN (SELECT ctid FROM messages WHERE at < $1 ORDER BY at LIMIT $2)'),
};

export async function pageMessages(exec: Exec, appId: number, roomId: string, q: HistoryQuery): Promise<ChatMessage[]> {
  const before = q.beforeSeq ?? Number.MAX_SAFE_INTEGER;
  const until = q.untilAt ?? Number.MAX_SAFE_INTEGER;
  const page = [Math.max(0, q.limit), Math.max(0, q.offset ?? 0)];
  // No key: before every record (at is never negative).
  const a = q.after;
  const after = a ? [a.at, a.roomId, a.seq, a.id] : [-1, '', -1, ''];
  const r = roomId === ''
    ? await exec<{ message: ChatMessage }>(HISTORY_SQL.appPage, [appId, before, q.sinceAt, until, ...after, ...page])
    : await exec<{ message: ChatMessage }>(HISTORY_SQL.page, [appId, roomId, before, q.sinceAt, until, ...page]);
  return r.rows.map((row) => row.message);
}

export async function pruneMessages(exec: Exec, beforeMs: number, limit: number): Promise<number> {
  if (limit <= 0) return 0;
  return (await exec(HISTORY_SQL.prune, [beforeMs, limit])).rowCount ?? 0;
}
