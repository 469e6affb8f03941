// A group-commit batch as data: what its units wrote, gathered as they finish and written by the
// Writer (rows.ts) in one go when the batch commits. Statements run back to back, not spread over
// the event-loop turn between other work: a fifth less CPU per admin request than when each
// unit's statements ran into a transaction held open for the turn.
import type { RoomEvent } from '../../core/events.js';
import type { AppId, AuditEntry, DenyEntry, Member, MuteEntry } from '../../core/model.js';
import type { HistoryChange } from '../memory/history.js';
import type { BadWordsRow } from '../memory/state.js';
import type { Changes } from '../memory/unit.js';
import { eventText } from './packed.js';

export type WriteOp =
  /**
   * The room's rows: its aggregate's last state in the batch (null when it is gone), and its
   * settings when they changed (null when they did not).
   */
  | ['room', AppId, string, string | null, string | null]
  /** The room with its members, room-scoped entries and bad words. */
  | ['roomGone', AppId, string]
  | ['member', AppId, string, string, string, string, string]
  | ['memberGone', AppId, string, string]
  | ['deny', AppId, string, DenyEntry | null]
  | ['mute', AppId, string, MuteEntry | null]
  | ['badWords', AppId, string, BadWordsRow | null]
  | ['event', AppId, string, number, number, string]
  | ['history', HistoryChange[]]
  | ['audit', AppId, AuditEntry[]]
  | ['meta', string, string]
  | ['nonce', string, string, number, number]
  // Maintenance: each answers how many rows it deleted (Writer.write's result, in op order).
  | ['pruneOutbox', number, number]
  | ['pruneAudit', number, number]
  | ['pruneMessages', number, number];

/** Whether the op answers a count of rows (Writer.write's result, in op order). */
export const counts = (op: WriteOp): boolean => op[0] === 'pruneOutbox' || op[0] === 'pruneAudit' || op[0] === 'pruneMessages';

/** Appends one unit's writes, rooms excepted (the store writes each room once per batch). */
export function unitOps(ops: WriteOp[], appId: AppId, c: Changes, events: RoomEvent[], history: HistoryChange[], audit: AuditEntry[]): void {
  for (const roomId of c.deletedRooms) ops.push(['roomGone', appId, roomId]);
  for (const { roomId, userId, member } of c.members.values()) {
    ops.push(member ? ['member', appId, roomId, userId, member.clientIp, member.connId, memberInfo(member)] : ['memberGone', appId, roomId, userId]);
  }
  for (const [id, e] of c.deny) ops.push(['deny', appId, id, e]);
  for (const [id, e] of c.mute) ops.push(['mute', appId, id, e]);
  for (const [scope, row] of c.badWords) ops.push(['badWords', appId, scope, row]);
  for (const e of events) ops.push(['event', e.appId, e.roomId, e.seq, e.at, eventText(e)]);
  if (history.length > 0) ops.push(['history', history]);
  if (audit.length > 0) ops.push(['audit', appId, audit]);
}

/** A member row keeps IP and connection in columns, the rest as JSON. */
function memberInfo(m: Member): string {
  const { clientIp: _ip, connId: _conn, ...info } = m;
  return JSON.stringify(info);
}

export function isEmpty(c: Changes): boolean {
  return c.deletedRooms.length === 0 && c.rooms.size === 0 && c.members.size === 0 && c.deny.size === 0 && c.mute.size === 0 && c.badWords.size === 0;
}
