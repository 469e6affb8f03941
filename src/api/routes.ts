// The native API's routes: each one's URL, schemas and its translation onto core commands run
// through `engine.execute` as the calling admin. No rule lives here: the core decides.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { Command, ResultOf } from '../core/commands.js';
import type { Engine } from '../core/engine.js';
import type { Actor, AppId, Member as CoreMember, Origin, SubjectType } from '../core/model.js';
import { ApiError, API_ERROR } from './errors.js';
import * as S from './schemas.js';
import { CALLBACK_ROUTES, type CallbackAccess } from './callbacks.js';

export interface RouteContext {
  engine: Engine;
  appId: AppId;
  actor: Actor;
  callbacks: CallbackAccess;
}

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  summary: string;
  tag: string;
  params?: TSchema;
  query?: TSchema;
  body?: TSchema;
  response: TSchema;
  run(ctx: RouteContext, input: { params: any; query: any; body: any }): Promise<unknown>;
}

function route<P extends TSchema = TSchema, Q extends TSchema = TSchema, B extends TSchema = TSchema>(r: {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  summary: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  response: TSchema;
  run(ctx: RouteContext, input: { params: Static<P>; query: Static<Q>; body: Static<B> }): Promise<unknown>;
}): Route {
  return r as Route;
}

function exec<C extends Command>({ engine, appId, actor }: RouteContext, cmd: C): Promise<ResultOf<C>> {
  return engine.execute(appId, actor, cmd);
}

/** Entries the API makes carry this origin (lists show every origin). */
const ORIGIN: Origin = 'tencent';

/**
 * The one subject of a ban/mute body: userIds or an IP, never both or neither. `ipTaken`: false
 * for a body that takes no IP (a kick), so that the refusal names only what it takes.
 */
function subjectOf(b: { userId?: string; userIds?: string[]; ip?: string }, ipTaken = true): { subjectType: SubjectType; subjects: string[] } {
  const given = [b.userId, b.userIds, b.ip].filter((x) => x !== undefined).length;
  if (given !== 1) throw new ApiError(API_ERROR.invalidRequest, `give exactly one of userId${ipTaken ? ', userIds or ip' : ' or userIds'}`, 'userId');
  if (b.ip !== undefined) return { subjectType: 'ip', subjects: [b.ip] };
  return { subjectType: 'userId', subjects: b.userIds ?? [b.userId!] };
}

function memberOut(m: CoreMember) {
  const { connId: _c, marks: _m, ...rest } = m;
  return rest;
}

const page = <T extends TSchema>(item: T, extra: Record<string, TSchema> = {}) => Type.Object({ items: Type.Array(item), ...extra });
const Next = { next: Type.String({ description: "cursor of the next page; '' on the last" }) };

async function ban(ctx: RouteContext, roomId: string, body: Static<typeof S.BanBody>) {
  const { subjectType, subjects } = subjectOf(body);
  const reason = body.reason ?? '';
  if (subjectType === 'ip') {
    return { items: [await exec(ctx, { type: 'banIp', roomId, ip: subjects[0], reason, origin: ORIGIN, durationSec: body.durationSec ?? null })] };
  }
  return { items: await exec(ctx, { type: 'banUsers', roomId, userIds: subjects, durationSec: body.durationSec ?? null, reason, origin: ORIGIN }) };
}

async function unban(ctx: RouteContext, roomId: string, body: Static<typeof S.UnbanBody>) {
  const { subjectType, subjects } = subjectOf(body);
  return { items: await exec(ctx, { type: 'liftDeny', targets: subjects.map((subject) => ({ roomId, subjectType, subject })) }) };
}

async function mute(ctx: RouteContext, roomId: string, body: Static<typeof S.MuteBody>, muted: boolean) {
  const { subjectType, subjects } = subjectOf(body);
  const items = await exec(ctx, { type: 'setMuted', roomId, subjectType, subjects, muted, origin: ORIGIN, durationSec: body.durationSec ?? null, reason: body.reason ?? '' });
  return { items };
}

const Entries = page(S.DenyEntry);
const Mutes = page(S.MuteEntry);

export const ROUTES: Route[] = [
  route({
    method: 'GET', url: '/me', tag: 'auth', summary: 'Who the credentials are',
    response: Type.Object({ sdkAppId: Type.Integer(), identifier: Type.String(), surface: Type.String() }),
    run: async (ctx) => ({ sdkAppId: ctx.appId, identifier: ctx.actor.userId, surface: ctx.actor.surface }),
  }),
  route({
    method: 'GET', url: '/rooms', tag: 'rooms', summary: 'List rooms in id order (paged by cursor, optional search)', query: S.RoomListQuery,
    response: page(S.RoomListItem, Next),
    run: async (ctx, { query }) => {
      const r = await exec(ctx, { type: 'listRooms', after: query.after ?? '', limit: query.limit ?? 50, search: query.search });
      return { items: r.rooms, next: r.next };
    },
  }),
  route({
    method: 'GET', url: '/rooms/:roomId', tag: 'rooms', summary: 'A room with its seats and pending seat requests', params: S.RoomParams,
    response: Type.Object({ room: S.Room, seats: Type.Array(S.Seat), requests: Type.Array(S.SeatRequest) }),
    run: async (ctx, { params }) => {
      const room = await exec(ctx, { type: 'getRoomInfo', roomId: params.roomId });
      const seats = await exec(ctx, { type: 'getSeats', roomId: params.roomId });
      const requests = await exec(ctx, { type: 'listSeatRequests', roomId: params.roomId });
      return { room, seats, requests };
    },
  }),
  route({
    method: 'GET', url: '/rooms/:roomId/members', tag: 'rooms', summary: 'Members in userId order (paged by cursor)', params: S.RoomParams, query: S.MemberQuery,
    response: page(S.Member, Next),
    run: async (ctx, { params, query }) => {
      // The core answers at most LIMITS.memberListPage members a page, and says whether more follow.
      const r = await exec(ctx, { type: 'listMembers', roomId: params.roomId, after: query.after ?? '', count: query.limit ?? 100 });
      return { items: r.members.map(memberOut), next: r.next };
    },
  }),
  route({
    method: 'GET', url: '/rooms/:roomId/requests', tag: 'rooms', summary: 'Pending seat applications and invitations', params: S.RoomParams,
    response: page(S.SeatRequest),
    run: async (ctx, { params }) => ({ items: await exec(ctx, { type: 'listSeatRequests', roomId: params.roomId }) }),
  }),
  route({
    method: 'GET', url: '/rooms/:roomId/bans', tag: 'moderation', summary: "The room's deny list (every origin)", params: S.RoomParams, query: S.EntryListQuery,
    response: page(S.DenyEntry, { total: Type.Integer() }),
    run: async (ctx, { params, query }) => {
      const r = await exec(ctx, { type: 'listDeny', roomId: params.roomId, limit: query.limit ?? 100, offset: query.offset ?? 0 });
      return { items: r.entries, total: r.total };
    },
  }),
  route({
    method: 'GET', url: '/bans', tag: 'moderation', summary: 'The app-wide deny list', query: S.EntryListQuery,
    response: page(S.DenyEntry, { total: Type.Integer() }),
    run: async (ctx, { query }) => {
      const r = await exec(ctx, { type: 'listDeny', roomId: '', limit: query.limit ?? 100, offset: query.offset ?? 0 });
      return { items: r.entries, total: r.total };
    },
  }),
  route({
    method: 'GET', url: '/rooms/:roomId/mutes', tag: 'moderation', summary: "The room's mute list", params: S.RoomParams, query: S.EntryListQuery,
    response: Mutes,
    run: async (ctx, { params, query }) => ({ items: await exec(ctx, { type: 'listMutes', roomId: params.roomId, limit: query.limit ?? 100, offset: query.offset ?? 0 }) }),
  }),
  route({
    method: 'GET', url: '/mutes', tag: 'moderation', summary: 'The app-wide mute list', query: S.EntryListQuery,
    response: Mutes,
    run: async (ctx, { query }) => ({ items: await exec(ctx, { type: 'listMutes', roomId: '', limit: query.limit ?? 100, offset: query.offset ?? 0 }) }),
  }),
  route({
    method: 'POST', url: '/rooms/:roomId/kick-off-seat', tag: 'moderation', summary: 'Take a member off their seat', params: S.RoomParams, body: S.KickOffSeatBody,
    response: S.Ok,
    run: async (ctx, { params, body }) => {
      await exec(ctx, { type: 'kickOffSeat', roomId: params.roomId, userId: body.userId, data: '', reason: body.reason ?? '' });
      return { ok: true };
    },
  }),
  route({
    method: 'POST', url: '/rooms/:roomId/kick', tag: 'moderation', summary: 'Remove members (they may come back)', params: S.RoomParams, body: S.KickBody,
    response: S.Ok,
    run: async (ctx, { params, body }) => {
      const { subjects } = subjectOf({ userId: body.userId, userIds: body.userIds }, false);
      await exec(ctx, { type: 'kickOut', roomId: params.roomId, userIds: subjects, reason: body.reason ?? '' });
      return { ok: true };
    },
  }),
  route({
    method: 'POST', url: '/rooms/:roomId/ban', tag: 'moderation', summary: 'Deny entry to users or an IP in the room (those present are removed)', params: S.RoomParams, body: S.BanBody,
    response: Entries,
    run: (ctx, { params, body }) => ban(ctx, params.roomId, body),
  }),
  route({
    method: 'POST', url: '/rooms/:roomId/unban', tag: 'moderation', summary: "Lift the room's deny entries of users or an IP", params: S.RoomParams, body: S.UnbanBody,
    response: Entries,
    run: (ctx, { params, body }) => unban(ctx, params.roomId, body),
  }),
  route({
    method: 'POST', url: '/rooms/:roomId/mute', tag: 'moderation', summary: 'Mute users or an IP in the room', params: S.RoomParams, body: S.MuteBody,
    response: Mutes,
    run: (ctx, { params, body }) => mute(ctx, params.roomId, body, true),
  }),
  route({
    method: 'POST', url: '/rooms/:roomId/unmute', tag: 'moderation', summary: 'Unmute users or an IP in the room', params: S.RoomParams, body: S.UnbanBody,
    response: Mutes,
    run: (ctx, { params, body }) => mute(ctx, params.roomId, body, false),
  }),
  route({
    method: 'POST', url: '/rooms/:roomId/seats/:index/lock', tag: 'moderation', summary: 'Lock or unlock a seat (locking takes its occupant off)', params: S.SeatParams, body: S.LockSeatBody,
    response: S.Seat,
    run: (ctx, { params, body }) => exec(ctx, { type: 'lockSeat', roomId: params.roomId, index: params.index, locked: body.locked, reason: body.reason ?? '' }),
  }),
  route({
    method: 'POST', url: '/rooms/:roomId/dismiss', tag: 'moderation', summary: 'Dismiss the room (everyone leaves; it is deleted)', params: S.RoomParams, body: S.DismissBody,
    response: S.Ok,
    run: async (ctx, { params, body }) => {
      await exec(ctx, { type: 'destroyRoom', roomId: params.roomId, reason: body.reason ?? '' });
      return { ok: true };
    },
  }),
  route({
    method: 'POST', url: '/rooms/:roomId/messages', tag: 'moderation', summary: 'Send a message to the room as the app', params: S.RoomParams, body: S.MessageBody,
    response: Type.Object({ msgId: Type.String() }),
    run: (ctx, { params, body }) =>
      exec(ctx, { type: 'sendAdminMessage', roomId: params.roomId, text: body.text, nick: body.nick ?? ctx.actor.userId, avatar: body.avatar ?? '' }),
  }),
  route({
    method: 'POST', url: '/ban', tag: 'moderation', summary: 'Deny entry app-wide to users or an IP', body: S.BanBody,
    response: Entries,
    run: (ctx, { body }) => ban(ctx, '', body),
  }),
  route({
    method: 'POST', url: '/unban', tag: 'moderation', summary: 'Lift app-wide deny entries', body: S.UnbanBody,
    response: Entries,
    run: (ctx, { body }) => unban(ctx, '', body),
  }),
  route({
    method: 'POST', url: '/mute', tag: 'moderation', summary: 'Mute app-wide', body: S.MuteBody,
    response: Mutes,
    run: (ctx, { body }) => mute(ctx, '', body, true),
  }),
  route({
    method: 'POST', url: '/unmute', tag: 'moderation', summary: 'Unmute app-wide', body: S.UnbanBody,
    response: Mutes,
    run: (ctx, { body }) => mute(ctx, '', body, false),
  }),
  route({
    method: 'GET', url: '/audit', tag: 'audit', summary: 'The audit log, newest first, filtered and paged by cursor', query: S.AuditQuery,
    response: page(S.AuditEntry, Next),
    run: async (ctx, { query }) => {
      const { limit, ...filters } = query;
      const r = await exec(ctx, { type: 'listAudit', ...filters, limit: limit ?? 50 });
      return { items: r.entries, next: r.next };
    },
  }),
  ...CALLBACK_ROUTES,
];
