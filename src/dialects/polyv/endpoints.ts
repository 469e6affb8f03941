// The Polyv endpoints: each one's parameters (as Polyv documents them) and its translation onto
// core commands. A Polyv channelId/roomId is a Rostrum RoomId of the app; a userId/viewerId is a
// Rostrum userId. Every endpoint runs its core commands through `execute`, as the app admin.
import { isIP } from 'node:net';
import type { HTTPMethods } from 'fastify';
import type { Command, ResultOf } from '../../core/commands.js';
import type { Engine } from '../../core/engine.js';
import type { Actor, App, Origin, SubjectType } from '../../core/model.js';
import { fail } from './errors.js';
import type { Params } from './params.js';
import { forbidList, kickedToWire, page, type ChatBanCheck } from './wire.js';

export interface EndpointContext {
  engine: Engine;
  app: App;
  /** Polyv calls act as the app admin, recorded under the Polyv appId. */
  actor: Actor;
}

export interface Endpoint {
  /** Rate-limit key and the name used in docs. */
  name: string;
  methods: HTTPMethods[];
  url: string;
  /**
   * 'form': parameters in the query string and/or a form body, all signed.
   * 'json': parameters in the query string (signed), a JSON body (not signed).
   */
  body: 'form' | 'json';
  /** Core field names -> this endpoint's parameter names, for error messages. */
  fields?: Record<string, string>;
  run(ctx: EndpointContext, p: Params, req: { path: Record<string, string>; json: unknown }): Promise<unknown>;
}

/**
 * Whose deny entries list-kicked and forbid/list show by default: kicks made through Polyv
 * (HTTP or a moderator's socket). Tencent bans are shown with includeAllOrigins=Y, as Tencent's
 * get_banned_member_list shows Polyv kicks with IncludeAllOrigins.
 */
const KICK_ORIGINS: readonly Origin[] = ['polyv', 'realtime'];
const SUBJECT_TYPES = ['userId', 'ip'] as const;
const MAX_PAGE_SIZE = 1000;
const ADMIN_NICK_CHARS = 8; // Polyv truncates the admin's nickName to 8 characters

const BOTH: HTTPMethods[] = ['GET', 'POST'];

/** Runs one core command as the calling app admin. */
export function exec<C extends Command>({ engine, app, actor }: EndpointContext, cmd: C): Promise<ResultOf<C>> {
  return engine.execute(app.sdkAppId, actor, cmd);
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function pageArgs(p: Params, numberName: string, sizeName: string): [number, number] {
  const pageNumber = p.digits(numberName, 1);
  const pageSize = p.digits(sizeName, 10);
  if (pageNumber < 1 || pageSize < 1 || pageSize > MAX_PAGE_SIZE) throw fail.numberRange();
  return [pageNumber, pageSize];
}

/** Chat bans that apply in a room: the room's own and the app-wide ones. */
async function chatBanCheck(ctx: EndpointContext, roomId: string): Promise<ChatBanCheck> {
  const mutes = [...(await exec(ctx, { type: 'listMutes', roomId })), ...(await exec(ctx, { type: 'listMutes', roomId: '' }))];
  const users = new Set(mutes.filter((m) => m.subjectType === 'userId').map((m) => m.subject));
  const ips = new Set(mutes.filter((m) => m.subjectType === 'ip').map((m) => m.subject));
  return (userId, clientIp) => (userId !== '' && users.has(userId)) || (clientIp !== '' && ips.has(clientIp));
}

async function chatBannedSubjects(ctx: EndpointContext, roomId: string, subjectType: SubjectType): Promise<string[]> {
  return unique((await exec(ctx, { type: 'listMutes', roomId, subjectType })).map((m) => m.subject));
}

/** The v4 kick/unkick JSON body: {"viewerIds": [...], "nickNames": [...]} (1:1). */
function kickBody(json: unknown, nickNamesRequired: boolean): { viewerIds: string[]; nickNames: string[] | undefined } {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw fail.jsonFormat();
  const { viewerIds, nickNames } = json as Record<string, unknown>;
  if (viewerIds === undefined || viewerIds === null || (Array.isArray(viewerIds) && viewerIds.length === 0)) {
    throw fail.empty('viewerIds');
  }
  if (!Array.isArray(viewerIds) || !viewerIds.every((v) => typeof v === 'string')) throw fail.jsonFormat();
  if (viewerIds.some((v) => v.trim() === '')) throw fail.empty('viewerIds');
  if (nickNames === undefined || nickNames === null || (Array.isArray(nickNames) && nickNames.length === 0)) {
    if (nickNamesRequired) throw fail.empty('nickNames');
    return { viewerIds, nickNames: undefined };
  }
  if (!Array.isArray(nickNames) || !nickNames.every((v) => typeof v === 'string')) throw fail.jsonFormat();
  if (nickNames.length !== viewerIds.length) throw fail.invalid();
  return { viewerIds, nickNames };
}

/** kick-users: a deny entry (until lifted) per viewer, who is removed at once if present. */
function kick(roomIdOf: (p: Params) => string): Endpoint['run'] {
  return async (ctx, p, { json }) => {
    const roomId = roomIdOf(p);
    const body = kickBody(json, true);
    // Each viewer once, keeping their nickName beside them (the core pairs them by position).
    const viewerIds: string[] = [];
    const nickNames: string[] = [];
    body.viewerIds.forEach((id, i) => {
      if (viewerIds.includes(id)) return;
      viewerIds.push(id);
      nickNames.push(body.nickNames?.[i] ?? '');
    });
    await exec(ctx, { type: 'banUsers', roomId, userIds: viewerIds, durationSec: null, reason: '', origin: 'polyv', nicks: nickNames });
    return 'SUCCESS';
  };
}

/** unkick-users: lifts the viewers' userId entries in that scope (nickNames not needed). */
function unkick(roomIdOf: (p: Params) => string): Endpoint['run'] {
  return async (ctx, p, { json }) => {
    const roomId = roomIdOf(p);
    const { viewerIds } = kickBody(json, false);
    const targets = unique(viewerIds).map((subject) => ({ roomId, subjectType: 'userId' as const, subject }));
    await exec(ctx, { type: 'liftDeny', targets });
    return 'SUCCESS';
  };
}

const channel = (p: Params) => p.required('channelId');
const wholeApp = () => '';

export const ENDPOINTS: Endpoint[] = [
  {
    name: 'del-kicked',
    methods: BOTH,
    url: '/live/v3/channel/chat/del-kicked',
    body: 'form',
    async run(ctx, p) {
      const roomId = p.required('roomId');
      const value = p.required('value');
      const type = p.oneOf('type', SUBJECT_TYPES);
      const removed = await exec(ctx, { type: 'liftDeny', targets: [{ roomId, subjectType: type, subject: value }] });
      const banned = await chatBanCheck(ctx, roomId);
      return removed.map((e) => kickedToWire(e, banned));
    },
  },
  {
    name: 'list-kicked',
    methods: BOTH,
    url: '/live/v3/channel/chat/list-kicked',
    body: 'form',
    async run(ctx, p) {
      const roomId = p.required('channelId');
      const allOrigins = p.yesNo('includeAllOrigins', false);
      const { entries } = await exec(ctx, { type: 'listDeny', roomId });
      const banned = await chatBanCheck(ctx, roomId);
      return entries.filter((e) => allOrigins || KICK_ORIGINS.includes(e.origin)).map((e) => kickedToWire(e, banned));
    },
  },
  {
    name: 'channel-kick-users',
    methods: ['POST'],
    url: '/live/v4/chat/channel/forbid/kick-users',
    body: 'json',
    fields: { userIds: 'viewerIds', nicks: 'nickNames' },
    run: kick(channel),
  },
  {
    name: 'kick-users',
    methods: ['POST'],
    url: '/live/v4/chat/forbid/kick-users',
    body: 'json',
    fields: { userIds: 'viewerIds', nicks: 'nickNames' },
    run: kick(wholeApp),
  },
  {
    name: 'channel-unkick-users',
    methods: ['POST'],
    url: '/live/v4/chat/channel/forbid/unkick-users',
    body: 'json',
    run: unkick(channel),
  },
  {
    name: 'unkick-users',
    methods: ['POST'],
    url: '/live/v4/chat/forbid/unkick-users',
    body: 'json',
    run: unkick(wholeApp),
  },
  {
    name: 'forbid-list',
    methods: BOTH,
    url: '/live/v4/chat/forbid/list',
    body: 'form',
    async run(ctx, p) {
      const viewerId = p.optional('viewerId');
      const nickName = p.optional('nickName');
      const [pageNumber, pageSize] = pageArgs(p, 'pageNumber', 'pageSize');
      const allOrigins = p.yesNo('includeAllOrigins', false);
      const { entries } = await exec(ctx, { type: 'listDeny', roomId: '', subjectType: 'userId' });
      const kicks = entries.filter((e) => allOrigins || KICK_ORIGINS.includes(e.origin));
      const chatBans = await exec(ctx, { type: 'listMutes', roomId: '', subjectType: 'userId' });
      const rows = forbidList(kicks, chatBans).filter(
        (r) => (viewerId === undefined || r.viewerId === viewerId) && (nickName === undefined || r.nickName === nickName),
      );
      return page(rows, pageNumber, pageSize);
    },
  },
  {
    name: 'banned-user',
    methods: BOTH,
    url: '/live/v3/channel/chat/banned-user',
    body: 'form',
    fields: { userIds: 'userIds', subjects: 'userIds' },
    async run(ctx, p) {
      const roomId = p.required('channelId');
      const userIds = p.list('userIds');
      const toBanned = p.yesNo('toBanned', true);
      await exec(ctx, { type: 'setMuted', roomId, subjectType: 'userId', subjects: userIds, muted: toBanned, origin: 'polyv' });
      return 'SUCCESS';
    },
  },
  {
    name: 'get-banned-list',
    methods: BOTH,
    url: '/live/v3/channel/chat/get-banned-list',
    body: 'form',
    async run(ctx, p) {
      const roomId = p.required('channelId');
      const type = p.oneOf('type', SUBJECT_TYPES);
      p.digits('toGetSubRooms', 0); // Rostrum rooms have no sub-rooms: checked, then ignored
      return chatBannedSubjects(ctx, roomId, type);
    },
  },
  {
    name: 'addBannedIP',
    methods: BOTH,
    url: '/live/v2/chat/:channelId/addBannedIP',
    body: 'form',
    fields: { subjects: 'ip' },
    async run(ctx, p, { path }) {
      const ip = p.required('ip');
      if (isIP(ip) === 0) throw fail.invalid();
      await exec(ctx, { type: 'setMuted', roomId: path.channelId, subjectType: 'ip', subjects: [ip], muted: true, origin: 'polyv' });
      return chatBannedSubjects(ctx, path.channelId, 'ip');
    },
  },
  {
    name: 'delBanned',
    methods: BOTH,
    url: '/live/v2/chat/:channelId/delBanned',
    body: 'form',
    fields: { ip: 'content', subjects: 'content' },
    async run(ctx, p, { path }) {
      const type = p.oneOf('type', ['ip', 'badword'] as const);
      const content = p.list('content');
      if (type === 'badword') {
        await exec(ctx, { type: 'deleteBadWords', scope: path.channelId, words: content });
        return 'success';
      }
      await exec(ctx, { type: 'setMuted', roomId: path.channelId, subjectType: 'ip', subjects: content, muted: false, origin: 'polyv' });
      return 'success';
    },
  },
  {
    name: 'badword-list',
    methods: BOTH,
    url: '/live/v3/channel/badword/list',
    body: 'form',
    async run(ctx, p) {
      const roomId = p.required('channelId');
      const type = p.optional('type') === undefined ? 'badword' : p.oneOf('type', ['badword', 'ip'] as const);
      if (type === 'ip') return chatBannedSubjects(ctx, roomId, 'ip');
      return exec(ctx, { type: 'listBadWords', scope: roomId });
    },
  },
  {
    name: 'user-banned-user-update',
    methods: BOTH,
    url: '/live/v3/user/chat/banned-user/update',
    body: 'form',
    fields: { userIds: 'viewerIds', subjects: 'viewerIds' },
    async run(ctx, p) {
      let viewerIds: unknown;
      try {
        viewerIds = JSON.parse(p.required('viewerIds'));
      } catch {
        throw fail.jsonFormat();
      }
      if (!Array.isArray(viewerIds) || !viewerIds.every((v) => typeof v === 'string')) throw fail.jsonFormat();
      if (viewerIds.length === 0 || viewerIds.some((v) => v.trim() === '')) throw fail.empty('viewerIds');
      if (p.optional('banned') === undefined) throw fail.empty('banned');
      const banned = p.yesNo('banned', true);
      await exec(ctx, { type: 'setMuted', roomId: '', subjectType: 'userId', subjects: viewerIds, muted: banned, origin: 'polyv' });
      return 'SUCCESS';
    },
  },
  {
    name: 'user-banned-user-list',
    methods: BOTH,
    url: '/live/v3/user/chat/banned-user/list',
    body: 'form',
    async run(ctx, p) {
      const [pageNumber, pageSize] = pageArgs(p, 'page', 'size');
      return page(await chatBannedSubjects(ctx, '', 'userId'), pageNumber, pageSize);
    },
  },
  {
    name: 'send-admin-msg',
    methods: BOTH,
    url: '/live/v3/channel/chat/send-admin-msg',
    body: 'form',
    fields: { text: 'msg', nick: 'nickName', avatar: 'pic', imageUrl: 'imgUrl' },
    async run(ctx, p) {
      const roomId = p.required('channelId');
      const msg = p.optional('msg');
      const imgUrl = p.optional('imgUrl');
      if (msg === undefined && imgUrl === undefined) throw fail.empty('msg');
      const pic = p.required('pic');
      const nick = [...p.required('nickName')].slice(0, ADMIN_NICK_CHARS).join('');
      const { msgId } = await exec(ctx, { type: 'sendAdminMessage', roomId, text: msg ?? '', nick, avatar: pic, imageUrl: imgUrl });
      // apiVersion 3.1 (the Java SDK's default) answers an object; later versions the bare id.
      return p.optional('apiVersion') === '3.1' ? { msgId } : msgId;
    },
  },
  {
    name: 'count-online-user',
    methods: BOTH,
    url: '/live/v3/channel/chat/count-online-user',
    body: 'form',
    async run(ctx, p) {
      return (await exec(ctx, { type: 'getRoomInfo', roomId: p.required('channelId') })).memberCount;
    },
  },
];
