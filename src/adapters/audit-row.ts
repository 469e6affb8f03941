// An audit log row as both SQL stores keep it (the same columns), and the entry it holds.
import type { AuditEntry } from '../core/model.js';

export interface AuditRow {
  id: string;
  at: number;
  room_id: string;
  actor: string;
  actor_kind: AuditEntry['actorKind'];
  surface: AuditEntry['surface'];
  action: AuditEntry['action'];
  target_type: AuditEntry['targetType'];
  target: string;
  reason: string;
  expires_at: number | null;
}

export function toAudit(r: AuditRow): AuditEntry {
  return {
    id: r.id,
    at: r.at,
    roomId: r.room_id,
    actor: r.actor,
    actorKind: r.actor_kind,
    surface: r.surface,
    action: r.action,
    targetType: r.target_type,
    target: r.target,
    reason: r.reason,
    expiresAt: r.expires_at,
  };
}
