// Polyv chat history endpoints: reading it (a channel's by time range, the account's by cursor)
// and deleting from it (one message, some, all). Deleting and clearing go through the core, which
// tells the room's clients (messagesDeleted, chatCleared). See docs/polyv-dialect.md.
import type { HTTPMethods } from 'fastify';
import type { ChatMessage } from '../../core/model.js';
import type { MessageKey } from '../../core/ports/store.js';
import { exec, type Endpoint } from './endpoints.js';
import { fail } from './errors.js';
import type { Params } from './params.js';

const BOTH: HTTPMethods[] = ['GET', 'POST'];
/** Polyv's history pages: default and largest size 1000 (larger: no contents). */
const HISTORY_PAGE = 1000;
/** get-speak-list: default 10, at most 1000. */
const SPEAK_PAGE_DEFAULT = 10;
const SPEAK_PAGE_MAX = 1000;
/** Polyv's days and times are China Standard Time (UTC+8). */
const POLYV_UTC_OFFSET_MS = 8 * 3600_000;

/**
 * `yyyy-MM-dd` or `yyyy-MM-dd HH:mm:ss` (UTC+8) as ms. A day alone is its first millisecond for
 * a start and its last for an end, so `startDay=endDay=2024-03-01` is that whole day.
 */
export function polyvDay(value: string, end: boolean): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2}))?$/.exec(value);
  if (!m) throw fail.invalid();
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [h, mi, s] = m[4] === undefined ? (end ? [23, 59, 59] : [0, 0, 0]) : [Number(m[4]), Number(m[5]), Number(m[6])];
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(utc);
  // Refuses 2024-02-30, 25:00:00 and the like (Date.UTC would roll them over).
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || check.getUTCHours() !== h || check.getUTCMinutes() !== mi || check.getUTCSeconds() !== s) {
    throw fail.invalid();
  }
  return utc - POLYV_UTC_OFFSET_MS + (end ? 999 : 0); // an end second is included whole
}

/** One chat record as Polyv's history answers it (the Java SDK's LiveGetHistoryChatMsgResponse fields). */
export function messageToWire(m: ChatMessage) {
  // Rostrum keeps no userType per message: the app's messages are the channel manager's.
  const userType = m.admin ? 'manager' : 'student';
  return {
    id: m.id,
    content: m.text,
    image: m.imageUrl,
    msgType: m.text === '' && m.imageUrl !== '' ? 'chatImg' : '',
    roomId: m.roomId,
    sessionId: '',
    sourceType: 'public',
    status: 'pass',
    time: m.at,
    userType,
    user: { nick: m.nick, pic: m.avatar, userId: m.from, userType, actor: '', roomId: m.roomId, channelId: m.roomId },
  };
}

/**
 * One record of the account's speak list, as Polyv's page documents it: the sender is a JSON
 * string (`user`), and the record carries clientIP, quote and the account id. Rostrum keeps no
 * sender IP, connection, session or quote per message: those are empty or null.
 */
export function speakRecordToWire(m: ChatMessage, accountId: string) {
  const userType = m.admin ? 'manager' : 'student';
  const user = { banned: false, channelId: m.roomId, clientIp: '', nick: m.nick, pic: m.avatar, roomId: m.roomId, uid: '', userId: m.from, userType };
  return {
    id: m.id,
    roomId: m.roomId,
    content: m.text,
    user: JSON.stringify(user),
    image: m.imageUrl,
    time: m.at,
    clientIP: '',
    msgType: m.text === '' && m.imageUrl !== '' ? 'chatImg' : null,
    userType,
    sessionId: null,
    quote: null,
    accountId,
  };
}

/**
 * get-speak-list's cursor: where the next page starts, opaque to the caller. Rostrum's is the last
 * record read, by its place in the list's order (time, room, seq, id), as URL-safe base64 of a
 * JSON array: the next page starts past that record however many records before it were deleted
 * or expired since (an offset into the records kept would skip as many unread ones). A cursor of
 * digits is the number of records already read, the form answered before: still taken.
 */
export type SpeakCursor = { offset: number } | { after: MessageKey };

export function encodeSpeakCursor(m: MessageKey): string {
  return Buffer.from(JSON.stringify([m.at, m.roomId, m.seq, m.id]), 'utf8').toString('base64url');
}

export function decodeSpeakCursor(p: Params): SpeakCursor {
  const v = p.optional('cursor');
  if (v === undefined || /^\d+$/.test(v)) return { offset: p.digits('cursor', 0) };
  let k: unknown;
  try {
    // (Buffer.from ignores what is not base64: the round trip tells a cursor of ours.)
    const bytes = Buffer.from(v, 'base64url');
    if (bytes.toString('base64url') !== v) throw fail.invalid();
    k = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw fail.invalid();
  }
  const int = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (!Array.isArray(k) || k.length !== 4) throw fail.invalid();
  const [at, roomId, seq, id] = k;
  if (!int(at) || typeof roomId !== 'string' || !int(seq) || typeof id !== 'string') throw fail.invalid();
  return { after: { at, roomId, seq, id } };
}

function optionalOneOf(p: Params, name: string, choices: readonly string[]): string | undefined {
  return p.optional(name) === undefined ? undefined : p.oneOf(name, choices);
}

export const HISTORY_ENDPOINTS: Endpoint[] = [
  {
    name: 'get-history-page',
    methods: BOTH,
    url: '/live/v3/channel/chat/get-history-page',
    body: 'form',
    async run(ctx, p) {
      const fromAt = polyvDay(p.required('startDay'), false);
      const toAt = polyvDay(p.required('endDay'), true);
      const roomId = p.required('channelId');
      const page = p.digits('page', 1);
      const pageSize = p.digits('pageSize', HISTORY_PAGE);
      if (page < 1 || pageSize < 1) throw fail.numberRange();
      p.optional('userType'); // accepted; Rostrum keeps no sender type per message (see the docs)
      const status = optionalOneOf(p, 'status', ['pass', 'censor']) ?? 'pass';
      const source = optionalOneOf(p, 'source', ['public', 'extend']) ?? 'public';
      p.yesNo('hasTotal', false);
      // The channel must exist whatever the rest asks.
      await exec(ctx, { type: 'getRoomInfo', roomId });
      // Over 1000 a page, Polyv answers no contents. Held messages are not kept (the app passes
      // them with message/audit) and there is no admin private chat: those queries are empty.
      if (pageSize > HISTORY_PAGE || status !== 'pass' || source !== 'public' || toAt < fromAt || toAt < 0) return [];
      const offset = (page - 1) * pageSize;
      if (!Number.isSafeInteger(offset)) return [];
      const { messages } = await exec(ctx, { type: 'listMessages', roomId, count: pageSize, fromAt: Math.max(0, fromAt), toAt, offset });
      return messages.map(messageToWire);
    },
  },
  {
    name: 'get-speak-list',
    methods: BOTH,
    url: '/live/v3/user/chat/get-speak-list',
    body: 'form',
    async run(ctx, p) {
      // 13-digit milliseconds, as Polyv documents: a time in seconds is refused, not read as 1970.
      const millis = (name: string) => {
        if (p.optional(name) === undefined) return undefined;
        const v = p.digits(name, 0);
        if (v < 1e12 || v >= 1e13) throw fail.invalid();
        return v;
      };
      const fromAt = millis('startTime');
      const toAt = millis('endTime');
      // Records are listed oldest first, so new chat does not shift the pages already read; the
      // cursor is the last record read (see SpeakCursor), so deleted chat does not either.
      const cursor = decodeSpeakCursor(p);
      const size = p.digits('size', SPEAK_PAGE_DEFAULT);
      if (size < 1 || size > SPEAK_PAGE_MAX) throw fail.numberRange();
      const list = fromAt !== undefined && toAt !== undefined && toAt < fromAt ? [] : await exec(ctx, { type: 'listAppMessages', fromAt, toAt, ...cursor, count: size });
      const accountId = ctx.app.polyv?.userId ?? '';
      // Nothing more: the same cursor again, to call with later.
      const next = list.length > 0 ? encodeSpeakCursor(list[list.length - 1]) : 'after' in cursor ? encodeSpeakCursor(cursor.after) : String(cursor.offset);
      return { cursor: next, size, list: list.map((m) => speakRecordToWire(m, accountId)) };
    },
  },
  {
    name: 'delChat',
    methods: BOTH,
    url: '/live/v2/chat/:channelId/delChat',
    body: 'form',
    fields: { msgIds: 'id' },
    async run(ctx, p, { path }) {
      await exec(ctx, { type: 'deleteMessages', roomId: path.channelId, msgIds: [p.required('id')] });
      return 'success';
    },
  },
  {
    name: 'cleanChat',
    methods: BOTH,
    url: '/live/v2/chat/:channelId/cleanChat',
    body: 'form',
    async run(ctx, _p, { path }) {
      await exec(ctx, { type: 'clearMessages', roomId: path.channelId });
      return true;
    },
  },
  {
    name: 'remove-contents',
    methods: BOTH,
    url: '/live/v3/channel/chat/remove-contents',
    body: 'form',
    fields: { msgIds: 'ids' },
    async run(ctx, p) {
      const roomId = p.required('channelId');
      const ids = p.list('ids');
      await exec(ctx, { type: 'deleteMessages', roomId, msgIds: ids });
      return 'remove chat contents success';
    },
  },
];
