// Messages the app's server sends besides admin chat: a chat message in a user's name, a custom
// message to the room, and a payload to chosen users only.
import { randomUUID } from 'node:crypto';
import { screenBadWords } from './bad-words.js';
import { checkUserList, unique } from './checks.js';
import { requireModerator } from './context.js';
import { invalid } from './errors.js';
import { write, type Handlers } from './handler.js';
import { LIMITS, checkBytes, checkId } from './limits.js';

export const BROADCAST_LIMITS = {
  /** Users one sendToUsers may name (Polyv's emit-by-userId: 2000). */
  usersPerCall: 2000,
  payloadBytes: 16 * 1024,
  urlBytes: 2000,
  /** A custom message's content: Polyv takes 1000 characters, up to 4 bytes each in UTF-8. */
  customContentBytes: 4000,
} as const;

export const broadcastHandlers: Handlers<'sendMessageAs' | 'sendCustomMessage' | 'sendToUsers'> = {
  /** A chat message shown as `userId`'s (their nick and avatar when present); bad words refused. */
  sendMessageAs: write(async (c, { roomId, userId, text, imageUrl }) => {
    checkId('userId', userId, LIMITS.userIdBytes);
    if (text.length === 0 && !imageUrl) throw invalid('text', 'must not be empty');
    checkBytes('text', text, LIMITS.messageBytes);
    checkBytes('imageUrl', imageUrl, BROADCAST_LIMITS.urlBytes);
    const agg = await c.room(roomId);
    requireModerator(agg, c.actor);
    if (text.length > 0) await screenBadWords(c, roomId, text);
    const m = await c.store.member(roomId, userId);
    const msgId = randomUUID();
    c.emit(agg, {
      type: 'messageReceived',
      actor: c.actor.userId,
      data: { msgId, from: userId, nick: m?.nameCard ?? '', avatar: m?.avatar ?? '', text, imageUrl: imageUrl ?? '', admin: false },
    });
    return { msgId };
  }),

  sendCustomMessage: write(async (c, { roomId, content, imageUrl, watchTypes, important, joinHistory }) => {
    if (content.length === 0 && !imageUrl) throw invalid('content', 'must not be empty');
    checkBytes('content', content, BROADCAST_LIMITS.customContentBytes);
    checkBytes('imageUrl', imageUrl, BROADCAST_LIMITS.urlBytes);
    const agg = await c.room(roomId);
    requireModerator(agg, c.actor);
    const msgId = randomUUID();
    c.emit(agg, {
      type: 'customMessageReceived',
      actor: c.actor.userId,
      data: { msgId, content, imageUrl: imageUrl ?? '', watchTypes: watchTypes ?? [1], important: important ?? false, joinHistory: joinHistory ?? false },
    });
    return { msgId };
  }),

  /** A payload to these users only (those in the room get it). */
  sendToUsers: write(async (c, { roomId, userIds, payload }) => {
    checkUserList(userIds, BROADCAST_LIMITS.usersPerCall);
    if (payload.length === 0) throw invalid('payload', 'must not be empty');
    checkBytes('payload', payload, BROADCAST_LIMITS.payloadBytes);
    const agg = await c.room(roomId);
    requireModerator(agg, c.actor);
    const msgId = randomUUID();
    c.emit(agg, { type: 'directMessageReceived', actor: c.actor.userId, to: unique(userIds), data: { msgId, from: c.actor.userId, payload } });
    return { msgId };
  }),
};
