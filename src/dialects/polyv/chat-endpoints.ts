// Polyv chat endpoints of the second round: sending (hidden admin message, as a user, custom
// messages, to chosen users), bad words and pre-moderation. Parameters, answers and messages as
// Polyv documents them (see docs/polyv-dialect.md for what is inferred).
import type { HTTPMethods } from 'fastify';
import { exec, type Endpoint } from './endpoints.js';
import { fail } from './errors.js';
import type { Params } from './params.js';

const BOTH: HTTPMethods[] = ['GET', 'POST'];
/** Polyv's SDK refuses custom message content over 1000 characters. */
const CUSTOM_CONTENT_CHARS = 1000;
/** Polyv's /encode page: the base64 content is at most 1500 characters. */
const CUSTOM_ENCODED_CHARS = 1500;
/**
 * emit-by-userId: a `payload` object or array may hold others this many levels deep (the payload
 * itself is level 1). Deeper is refused: no app nests so, and 16 KiB of brackets would overflow
 * the stack when the payload is written back as JSON text.
 */
export const PAYLOAD_MAX_DEPTH = 100;

/** Does this JSON value nest objects/arrays deeper than `max` levels? (Walked without recursion.) */
function nestedDeeperThan(value: unknown, max: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [v, depth] = pending.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const inner of Object.values(v)) pending.push([inner, depth + 1]);
  }
  return false;
}

/** URL-safe base64 (the standard alphabet is accepted too), decoded as UTF-8. */
function base64Text(name: string, value: string): string {
  if (!/^[A-Za-z0-9_\-+/]*={0,2}$/.test(value)) throw fail.invalid();
  const text = Buffer.from(value, 'base64url').toString('utf8');
  if (text.includes('\uFFFD')) throw fail.invalid(); // not UTF-8
  if (text.trim() === '') throw fail.empty(name);
  return text;
}

/**
 * Polyv's boolean parameters: Y/N; true/false as the TypeScript SDK sends them; 1/0 as Polyv's
 * pages give `joinHistoryList` (an Integer there).
 */
function flag(p: Params, name: string): boolean | undefined {
  const v = p.optional(name);
  if (v === undefined) return undefined;
  if (v === 'Y' || v === 'true' || v === '1') return true;
  if (v === 'N' || v === 'false' || v === '0') return false;
  throw fail.notBoolean();
}

/**
 * watchType: 1..7 (1 all, 2 viewers, 3 special roles, 4 teacher, 5 guest, 6 assistant, 7 admin).
 * Several are written together as Polyv's page shows them ("45"), or comma-separated.
 */
function watchTypes(p: Params): number[] | undefined {
  if (p.optional('watchType') === undefined) return undefined;
  const digits = p.list('watchType').join('');
  if (!/^[1-7]+$/.test(digits)) throw fail.invalid();
  return [...new Set([...digits].map(Number))];
}

/**
 * send-custom-message and its two encoded twins. `decode` turns the wire content into text;
 * `maxWire` bounds the content as sent (Polyv: at most 1500 characters once base64-encoded).
 */
function customMessage(decode: (s: string) => string, maxWire = Infinity): Endpoint['run'] {
  return async (ctx, p) => {
    const roomId = p.required('channelId');
    const raw = p.optional('content');
    const imgUrl = p.optional('imgUrl');
    if (raw === undefined && imgUrl === undefined) throw fail.empty('content');
    if (raw !== undefined && raw.length > maxWire) throw fail.length('content');
    const content = raw === undefined ? '' : decode(raw);
    if ([...content].length > CUSTOM_CONTENT_CHARS) throw fail.length('content');
    await exec(ctx, {
      type: 'sendCustomMessage',
      roomId,
      content,
      imageUrl: imgUrl,
      watchTypes: watchTypes(p),
      important: flag(p, 'important'),
      joinHistory: flag(p, 'joinHistoryList') ?? true, // Polyv's default: 1, kept in the history
    });
    return 'success';
  };
}

function urlDecoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw fail.invalid();
  }
}

function jsonObject(json: unknown): Record<string, unknown> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw fail.jsonFormat();
  return json as Record<string, unknown>;
}

/** A required string field of a JSON body (blank = absent). */
function jsonString(o: Record<string, unknown>, name: string, required = true): string | undefined {
  const v = o[name];
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) {
    if (required) throw fail.empty(name);
    return undefined;
  }
  if (typeof v !== 'string') throw fail.jsonFormat();
  return v;
}

/**
 * The `words` parameter of addBadWords: a JSON array of strings, each percent-encoded when it has
 * special characters (Polyv documents `["&#@"]` sent as `["%26%23%40"]`), so each is decoded once.
 */
function wordsArray(p: Params): string[] {
  const raw = p.required('words');
  let words: unknown;
  try {
    words = JSON.parse(raw);
  } catch {
    throw fail.jsonFormat();
  }
  if (!Array.isArray(words) || !words.every((w) => typeof w === 'string')) throw fail.jsonFormat();
  if (words.every((w) => w.trim() === '')) throw fail.empty('words');
  return words.map(urlDecoded);
}

export const CHAT_ENDPOINTS: Endpoint[] = [
  {
    name: 'chat-send',
    methods: BOTH,
    url: '/live/v3/channel/chat/send',
    body: 'form',
    fields: { text: 'content' },
    async run(ctx, p) {
      const roomId = p.required('channelId');
      const content = p.required('content');
      if (p.required('role') !== 'ADMIN') throw fail.invalid(); // the only role Polyv offers
      await exec(ctx, { type: 'sendAdminMessage', roomId, text: content, nick: '', avatar: '' });
      return 'The message send success!';
    },
  },
  {
    name: 'send-chat',
    methods: BOTH,
    url: '/live/v1/channelSetting/:channelId/send-chat',
    body: 'form',
    fields: { text: 'content', imageUrl: 'imgUrl', userId: 'userId' },
    async run(ctx, p, { path }) {
      const userId = p.required('userId');
      const raw = p.optional('content');
      const imgUrl = p.optional('imgUrl');
      if (raw === undefined && imgUrl === undefined) throw fail.empty('content');
      const text = raw === undefined ? '' : base64Text('content', raw);
      await exec(ctx, { type: 'sendMessageAs', roomId: path.channelId, userId, text, imageUrl: imgUrl });
      return 'success';
    },
  },
  {
    name: 'send-custom-message',
    methods: BOTH,
    url: '/live/v4/chat/send-custom-message',
    body: 'form',
    fields: { imageUrl: 'imgUrl' },
    run: customMessage((s) => s),
  },
  {
    // Polyv's page: content in URL-safe base64, at most 1500 characters encoded.
    name: 'send-custom-message-encode',
    methods: BOTH,
    url: '/live/v4/chat/send-custom-message/encode',
    body: 'form',
    fields: { imageUrl: 'imgUrl' },
    run: customMessage((s) => base64Text('content', s), CUSTOM_ENCODED_CHARS),
  },
  {
    // The path Polyv's TypeScript SDK calls, with the content percent-encoded (encodeURIComponent).
    name: 'send-custom-message-encode-sdk',
    methods: BOTH,
    url: '/live/v4/chat/send-custom-message-encode',
    body: 'form',
    fields: { imageUrl: 'imgUrl' },
    run: customMessage(urlDecoded),
  },
  {
    name: 'emit-by-userId',
    methods: ['POST'],
    url: '/live/v5/chat/redirect/channel/emit-by-userId/post',
    body: 'json',
    fields: { userIds: 'userIds', payload: 'payload' },
    async run(ctx, _p, { json }) {
      const body = jsonObject(json);
      const roomId = jsonString(body, 'roomId')!;
      const { userIds, payload } = body;
      if (userIds === undefined || userIds === null || (Array.isArray(userIds) && userIds.length === 0)) throw fail.empty('userIds');
      if (!Array.isArray(userIds) || !userIds.every((u) => typeof u === 'string')) throw fail.jsonFormat();
      if (payload === undefined || payload === null || payload === '') throw fail.empty('payload');
      // A payload object is passed on as its JSON text.
      if (typeof payload === 'object' && nestedDeeperThan(payload, PAYLOAD_MAX_DEPTH)) throw fail.length('payload');
      const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
      await exec(ctx, { type: 'sendToUsers', roomId, userIds, payload: text });
      return 'success';
    },
  },
  {
    name: 'addBadWords',
    methods: BOTH,
    url: '/live/v2/chat/:userId/addBadWords',
    body: 'form',
    async run(ctx, p, { path }) {
      // The path names the Polyv account: when configured, it must be this app's.
      const account = ctx.app.polyv?.userId;
      if (account !== undefined && path.userId !== account) throw fail.invalid();
      const words = wordsArray(p);
      const channelId = p.optional('channelId');
      const scope = channelId === undefined || channelId === '-1' ? '' : channelId;
      const { count } = await exec(ctx, { type: 'addBadWords', scope, words });
      return { userId: path.userId, count };
    },
  },
  {
    name: 'user-badword-list',
    methods: BOTH,
    url: '/live/v3/user/badword/list',
    body: 'form',
    async run(ctx) {
      return exec(ctx, { type: 'listBadWords', scope: '' });
    },
  },
  {
    name: 'user-badword-delete',
    methods: BOTH,
    url: '/live/v3/user/badword/delete',
    body: 'form',
    async run(ctx, p) {
      return exec(ctx, { type: 'deleteBadWords', scope: '', words: p.list('words') });
    },
  },
  {
    name: 'update-censor-enabled',
    methods: BOTH,
    url: '/live/v3/channel/chat/update-censor-enabled',
    body: 'form',
    async run(ctx, p) {
      const roomId = p.required('channelId');
      // Absent: Polyv turns the switch over ("不传时根据当前开关值进行开启/关闭").
      const enabled = p.optional('enabled') === undefined ? undefined : p.yesNo('enabled', false);
      return exec(ctx, { type: 'setCensorEnabled', roomId, enabled });
    },
  },
  {
    name: 'message-audit',
    methods: ['POST'],
    url: '/live/v4/chat/message/audit',
    body: 'json',
    fields: { text: 'content', userIds: 'viewerId', nick: 'nickName', avatar: 'avatar', msgId: 'msgId' },
    async run(ctx, p, { json }) {
      const roomId = p.required('channelId');
      if (!Array.isArray(json)) throw fail.jsonFormat();
      if (json.length === 0) throw fail.empty('msgId');
      const messages = json.map((item) => {
        const o = jsonObject(item);
        return {
          msgId: jsonString(o, 'msgId')!,
          text: jsonString(o, 'content')!,
          userId: jsonString(o, 'viewerId')!,
          nick: jsonString(o, 'nickName')!,
          avatar: jsonString(o, 'avatar', false) ?? '',
        };
      });
      const delivered = await exec(ctx, { type: 'auditMessages', roomId, messages });
      return delivered.map((msgId) => ({ id: msgId, msgId, status: true, msg: '' }));
    },
  },
];
