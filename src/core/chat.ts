// Chat: members' messages (refused when muted or when the room disables messages for members)
// and the app's admin messages.
import { randomUUID } from 'node:crypto';
import { RoomError, invalid } from './errors.js';
import { activeMutes } from './entries.js';
import { screenMessage } from './censor.js';
import { write, type Handlers } from './handler.js';
import { LIMITS, checkBytes } from './limits.js';

export const chatHandlers: Handlers<'sendMessage' | 'sendAdminMessage'> = {
  sendMessage: write(async (c, { roomId, text }) => {
    const userId = c.actor.userId;
    if (text.length === 0) throw invalid('text', 'must not be empty');
    checkBytes('text', text, LIMITS.messageBytes);
    const agg = await c.room(roomId);
    const m = await c.member(roomId, userId);
    if (agg.room.isMessageDisabled && m.role === 'Member') throw new RoomError('MessagesDisabled', 'messages are disabled in this room');
    if ((await activeMutes(c, roomId, userId, m.clientIp)).length > 0) throw new RoomError('Muted', 'you are muted in this room');
    const msgId = randomUUID();
    const data = { msgId, from: userId, nick: m.nameCard, avatar: m.avatar, text, admin: false };
    if (await screenMessage(c, agg, m, data)) return { msgId, held: true };
    c.emit(agg, { type: 'messageReceived', actor: userId, data });
    return { msgId };
  }),

  sendAdminMessage: write(async (c, { roomId, text, nick, avatar, imageUrl }) => {
    checkBytes('text', text, LIMITS.messageBytes);
    const agg = await c.room(roomId);
    const msgId = randomUUID();
    const from = c.actor.userId;
    c.audit({ roomId, action: 'adminMessage', targetType: 'room', target: roomId, reason: text });
    c.emit(agg, { type: 'messageReceived', actor: from, data: { msgId, from, nick, avatar, text, imageUrl: imageUrl ?? '', admin: true } });
    return { msgId };
  }),
};
