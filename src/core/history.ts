// Chat history: members page it; owners, admins and the app delete messages or clear it. The
// messages themselves are written by the chat batch (chat-batch.ts), in the unit that sends them.
import { invalid } from './errors.js';
import { requireModerator } from './context.js';
import { read, write, type Handlers } from './handler.js';
import { LIMITS, checkId } from './limits.js';

export const historyHandlers: Handlers<'listMessages' | 'deleteMessages' | 'clearMessages'> = {
  listMessages: read(async (c, { roomId, beforeSeq, count }) => {
    const agg = await c.room(roomId);
    if (c.actor.kind === 'user') await c.member(roomId, c.actor.userId);
    if (beforeSeq !== undefined && !(Number.isSafeInteger(beforeSeq) && beforeSeq >= 0)) throw invalid('beforeSeq', 'must be a non-negative integer');
    const limit = Math.min(Math.max(Math.trunc(count) || LIMITS.historyPageDefault, 1), LIMITS.historyPage);
    // The room's current life only: a room created again does not show the earlier one's chat.
    const rows = await c.store.messages(roomId, { beforeSeq, sinceAt: agg.room.createTime * 1000, limit: limit + 1 });
    const page = rows.slice(0, limit);
    return { messages: page, next: rows.length > limit ? page[page.length - 1].seq : 0 };
  }),

  deleteMessages: write(async (c, { roomId, msgIds }) => {
    if (msgIds.length === 0 || msgIds.length > LIMITS.historyDeletePerCall) {
      throw invalid('msgIds', `must list 1..${LIMITS.historyDeletePerCall} message ids`);
    }
    for (const id of msgIds) checkId('msgIds', id, 64);
    const agg = await c.room(roomId);
    requireModerator(agg, c.actor);
    await c.store.deleteMessages(roomId, msgIds);
  }),

  clearMessages: write(async (c, { roomId }) => {
    const agg = await c.room(roomId);
    requireModerator(agg, c.actor);
    await c.store.clearMessages(roomId);
  }),
};
