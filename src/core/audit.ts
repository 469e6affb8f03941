// The moderation audit log: its read command. Entries are written by the rule modules through
// `WriteContext.audit`, in the unit of work of the change they record.
import { invalid } from './errors.js';
import { read, type Handlers } from './handler.js';
import { LIMITS, checkId } from './limits.js';
import type { AuditAction, AuditEntry } from './model.js';

export const AUDIT_ACTIONS: readonly AuditAction[] = [
  'kickOffSeat',
  'kickOut',
  'ban',
  'unban',
  'mute',
  'unmute',
  'lockSeat',
  'unlockSeat',
  'dismissRoom',
  'adminMessage',
];

export const MAX_AUDIT_PAGE = 500;

export const auditHandlers: Handlers<'listAudit'> = {
  /** A page of the app's audit log, newest first; `next` is the cursor of the following page. */
  listAudit: read(async (c, q) => {
    if (!(Number.isSafeInteger(q.limit) && q.limit >= 1 && q.limit <= MAX_AUDIT_PAGE)) throw invalid('limit', `must be 1..${MAX_AUDIT_PAGE}`);
    if (q.action !== undefined && !AUDIT_ACTIONS.includes(q.action as AuditAction)) throw invalid('action', `must be one of ${AUDIT_ACTIONS.join(', ')}`);
    if (q.roomId) checkId('roomId', q.roomId, LIMITS.roomIdBytes);
    for (const k of ['from', 'to'] as const) {
      const v = q[k];
      if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) throw invalid(k, 'must be a time in ms since the epoch');
    }
    const entries: AuditEntry[] = await c.store.audit(q);
    const next = entries.length === q.limit ? entries[entries.length - 1].id : '';
    return { entries, next };
  }),
};
