// The audit log's rows and statements on PostgreSQL.
import type { AppId } from '../../core/model.js';
import type { AuditQuery } from '../../core/ports/store.js';

/** $1 app id, $2 the entries as one JSON array: one statement per unit however many. */
export const AUDIT_INSERT = {
  name: 'rostrum_audit_insert',
  text: `INSERT INTO audit (id, app_id, at, room_id, actor, actor_kind, surface, action, target_type, target, reason, expires_at)
   SELECT x.id, $1, x.at, x."roomId", x.actor, x."actorKind", x.surface, x.action, x."targetType", x.target, x.reason, x."expiresAt"
   FROM jsonb_to_recordset($2::jsonb) AS x(id text, at bigint, "roomId" text, actor text, "actorKind" text, surface text,
     action text, "targetType" text, target text, reason text, "expiresAt" bigint)`.replace(/\s+/g, ' '),
};

/**
 * The unit's last step with audit entries: the rooms' write-back ($2), the audit entries ($4)
 * and the events ($3) in one statement (see SQL.saveAndAppend).
 */
export const SAVE_AUDIT_APPEND = {
  name: 'rostrum_save_audit_append',
  text: `WITH saved AS (
       UPDATE rooms r SET state = x.state, member_count = x.member_count, seq = x.seq
       FROM jsonb_to_recordset($2::jsonb) AS x(room_id text, state jsonb, member_count int, seq bigint)
       WHERE r.app_id = $1 AND r.room_id = x.room_id),
     audited AS (${AUDIT_INSERT.text.replace('$2', '$4')})
     INSERT INTO outbox (app_id, room_id, seq, at, event)
     SELECT $1, e->>'roomId', (e->>'seq')::bigint, (e->>'at')::bigint, e
     FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n`.replace(/\s+/g, ' '),
};

export const AUDIT_PRUNE = 'DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < $1 ORDER BY at LIMIT $2)';

/** The WHERE of an audit page (values numbered from $1 = app id). */
export function auditFilter(appId: AppId, q: AuditQuery): { where: string; values: unknown[] } {
  const values: unknown[] = [appId];
  const parts = ['app_id = $1'];
  const add = (expr: string, v: unknown) => {
    values.push(v);
    parts.push(expr.replace('?', `$${values.length}`));
  };
  if (q.roomId !== undefined) add('room_id = ?', q.roomId);
  if (q.actor !== undefined) add('actor = ?', q.actor);
  if (q.target !== undefined) add('target = ?', q.target);
  if (q.action !== undefined) add('action = ?', q.action);
  if (q.from !== undefined) add('at >= ?', q.from);
  if (q.to !== undefined) add('at < ?', q.to);
  if (q.before) add('id < ?', q.before);
  return { where: parts.join(' AND '), values };
}
