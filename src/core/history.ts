// Chat history: members page it; owners, admins and the app delete messages or clear it. The
// messages themselves are written by the chat batch (chat-batch.ts), in the unit that sends them.
// Deleting and clearing tell the room's clients (messagesDeleted, chatCleared) so they take the
// messages off their screens; a later page of the history no longer has them.
import { invalid } from './errors.js';
import { requireAppAdmin, requireModerator, type ReadContext } from './context.js';
import { read, write, type Handlers } from './handler.js';
import { LIMITS, checkId } from './limits.js';
import type { MessageKey } from './ports/store.js';

/** The largest page the app's server may read at once (Polyv's history pages hold up to 1000). */
export const APP_HISTORY_PAGE = 1000;

/** The oldest time (ms) chat history still holds: retention is exact on reads. */
function keptSince(c: ReadContext): number {
  return Math.max(0, c.now - c.chatRetentionMs);
}

function checkRange(fromAt: number | undefined, toAt: number | undefined, offset: number | undefined): void {
  for (const [name, v] of [['fromAt', fromAt], ['toAt', toAt], ['offset', offset]] as const) {
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) throw invalid(name, 'must be a non-negative integer');
  }
}

function checkKey(k: MessageKey): void {
  const int = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (typeof k !== 'object' || k === null || !int(k.at) || !int(k.seq) || typeof k.roomId !== 'string' || typeof k.id !== 'string') {
    throw invalid('after', 'must be a record key: at and seq non-negative integers, roomId and id strings');
  }
}

export const historyHandlers: Handlers<'listMessages' | 'deleteMessages' | 'clearMessages' | 'listAppMessages'> = {
  listMessages: read(async (c, { roomId, beforeSeq, count, fromAt, toAt, offset }) => {
    const agg = await c.room(roomId);
    if (c.actor.kind === 'user') await c.member(roomId, c.actor.userId);
    if (beforeSeq !== undefined && !(Number.isSafeInteger(beforeSeq) && beforeSeq >= 0)) throw invalid('beforeSeq', 'must be a non-negative integer');
    checkRange(fromAt, toAt, offset);
    const max = c.actor.kind === 'admin' ? APP_HISTORY_PAGE : LIMITS.historyPage;
    const limit = Math.min(Math.max(Math.trunc(count) || LIMITS.historyPageDefault, 1), max);
    // The room's current life only: a room created again does not show the earlier one's chat.
    // Nor a message past retention that the pruner (every 10 s) has not deleted yet.
    const sinceAt = Math.max(agg.room.createTime * 1000, fromAt ?? 0, keptSince(c));
    const rows = await c.store.messages(roomId, { beforeSeq, sinceAt, untilAt: toAt, offset, limit: limit + 1 });
    const page = rows.slice(0, limit);
    return { messages: page, next: rows.length > limit ? page[page.length - 1].seq : 0 };
  }),

  /**
   * The app's server: every room's messages, oldest first (stable pages while chat goes on), in a
   * time range. Paged by `after`, the last record read (its MessageKey): a record deleted or
   * expired after it was read moves no unread one past the next page's start, as an offset would.
   */
  listAppMessages: read(async (c, { fromAt, toAt, offset, after, count }) => {
    requireAppAdmin(c.actor, 'chat records');
    checkRange(fromAt, toAt, offset);
    if (after !== undefined) checkKey(after);
    const limit = Math.min(Math.max(Math.trunc(count) || LIMITS.historyPageDefault, 1), APP_HISTORY_PAGE);
    // Records before the key's time cannot follow it: the time index starts the walk there.
    const sinceAt = Math.max(fromAt ?? 0, keptSince(c), after?.at ?? 0);
    return c.store.messages('', { sinceAt, untilAt: toAt, offset, after, limit });
  }),

  deleteMessages: write(async (c, { roomId, msgIds }) => {
    if (msgIds.length === 0 || msgIds.length > LIMITS.historyDeletePerCall) {
      throw invalid('msgIds', `must list 1..${LIMITS.historyDeletePerCall} message ids`);
    }
    for (const id of msgIds) checkId('msgIds', id, 64);
    const agg = await c.room(roomId);
    requireModerator(agg, c.actor);
    const ids = [...new Set(msgIds)];
    await c.store.deleteMessages(roomId, ids);
    c.emit(agg, { type: 'messagesDeleted', actor: c.actor.userId, data: { msgIds: ids } });
  }),

  clearMessages: write(async (c, { roomId }) => {
    const agg = await c.room(roomId);
    requireModerator(agg, c.actor);
    await c.store.clearMessages(roomId);
    c.emit(agg, { type: 'chatCleared', actor: c.actor.userId, data: {} });
  }),
};
