// Pre-moderation (Polyv's 聊天审核) and the screening of members' messages. With a room's
// censorship on, a plain member's message is not delivered: its room's moderators (and the
// sender) get `messageHeld`, and it reaches the room only when the app passes it through
// `auditMessages` (Polyv's message/audit). Bad words are checked first: a message with one is
// refused whatever the censorship.
import { screenBadWords } from './bad-words.js';
import { checkUserList } from './checks.js';
import { moderatorIds, requireModerator, type WriteContext } from './context.js';
import { invalid } from './errors.js';
import type { EventData } from './events.js';
import { write, type Handlers } from './handler.js';
import { LIMITS, checkBytes, checkId } from './limits.js';
import type { Member, RoomAggregate } from './model.js';

type Message = EventData['messageReceived'];

/**
 * The one hook of the chat path: refuses a message with a bad word (`BadWord`), and holds a
 * plain member's message for review when the room's censorship is on. True when held.
 */
export async function screenMessage(c: WriteContext, agg: RoomAggregate, sender: Member, message: Message): Promise<boolean> {
  await screenBadWords(c, agg.room.roomId, message.text);
  if (!agg.room.censorEnabled || sender.role !== 'Member') return false;
  const to = [...new Set([...moderatorIds(agg), sender.userId])];
  c.emit(agg, { type: 'messageHeld', actor: sender.userId, to, data: { message } });
  return true;
}

export interface AuditedMessage {
  msgId: string;
  userId: string;
  nick: string;
  avatar: string;
  text: string;
}

export const censorHandlers: Handlers<'setCensorEnabled' | 'auditMessages'> = {
  setCensorEnabled: write(async (c, { roomId, enabled }) => {
    const agg = await c.room(roomId);
    requireModerator(agg, c.actor);
    const current = agg.room.censorEnabled ?? false;
    const next = enabled ?? !current; // absent: turned over
    if (current !== next) {
      agg.room = { ...agg.room, censorEnabled: next };
      c.changed(agg);
    }
    return next;
  }),

  /**
   * Delivers messages that passed review, each as its sender's `messageReceived`. All or nothing.
   * A msgId the room's history already holds, or given twice, is delivered once: an app that
   * retries a call it got no answer to must not show the message twice.
   */
  auditMessages: write(async (c, { roomId, messages }) => {
    if (messages.length === 0) throw invalid('messages', 'must not be empty');
    checkUserList(
      messages.map((m) => m.userId),
      1000,
    );
    for (const m of messages) {
      checkId('msgId', m.msgId, 64);
      if (m.text.length === 0) throw invalid('text', 'must not be empty');
      checkBytes('text', m.text, LIMITS.messageBytes);
      checkBytes('nick', m.nick, LIMITS.nameCardBytes * 4);
      checkBytes('avatar', m.avatar, LIMITS.avatarBytes);
    }
    const agg = await c.room(roomId);
    requireModerator(agg, c.actor);
    const delivered = new Set(await c.store.messageIds(roomId, messages.map((m) => m.msgId)));
    for (const m of messages) {
      if (delivered.has(m.msgId)) continue;
      delivered.add(m.msgId);
      c.emit(agg, {
        type: 'messageReceived',
        actor: c.actor.userId,
        data: { msgId: m.msgId, from: m.userId, nick: m.nick, avatar: m.avatar, text: m.text, admin: false },
      });
    }
    return messages.map((m) => m.msgId);
  }),
};
