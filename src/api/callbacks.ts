// The native API's callback routes: the app's callback configuration (read, set, delete) and its
// deliveries (counts, the given-up list, re-send, discard), on the callback relay's service.
// Everything is the calling admin's app: another app's deliveries are neither listed, re-sent
// nor discarded.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { AppId } from '../core/model.js';
import type { CallbackAdmin } from '../callbacks/service.js';
import type { DeliverySummary } from '../callbacks/summary.js';
import type { Delivery } from '../callbacks/spool.js';
import { CALLBACK_COMMANDS, isCallbackUrl } from '../callbacks/commands.js';
import { textProblem } from '../core/checks.js';
import { API_ERROR, ApiError, ERROR_BY_KIND } from './errors.js';
import type { Route, RouteContext } from './routes.js';
import { Ok } from './schemas.js';

/** What the API needs of the callback relay (`server.callbacks` has it). */
export interface CallbackAccess {
  service: CallbackAdmin;
  summary(appId: AppId): Promise<DeliverySummary>;
}

const Int = Type.Integer();
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const CallbackConfig = Type.Object(
  {
    url: Type.String(),
    commands: Nullable(Type.Array(Type.String(), { description: 'null = every command' })),
    signed: Type.Boolean({ description: 'whether deliveries carry a Sign (the token is set in the config file, never shown)' }),
    source: Type.Union([Type.Literal('file'), Type.Literal('rest')], { description: 'the config file, or set over REST (Tencent room_config or this API)' }),
  },
  { $id: 'CallbackConfig' },
);

export const DeliveryCounts = Type.Object(
  {
    configured: Type.Boolean(),
    pending: Type.Integer({ description: 'waiting or being retried' }),
    failed: Type.Integer({ description: 'given up, re-sendable' }),
    delivered: Type.Integer({ description: 'accepted by the receiver, sent by this server process since it started' }),
    oldestPendingAt: Nullable(Type.Integer({ description: 'ms: event time of the oldest pending delivery' })),
    lagSeconds: Nullable(Type.Number({ description: 'how long the oldest pending delivery has waited; 0 when none; null when not configured' })),
  },
  { $id: 'DeliveryCounts' },
);

export const FailedDelivery = Type.Object(
  {
    id: Type.Integer({ description: 'spool id; a re-send gives the delivery a new one' }),
    eventId: Type.String(),
    roomId: Type.String(),
    seq: Int,
    command: Type.String(),
    body: Type.Unknown({ description: 'the callback body as it is sent' }),
    createdAt: Type.Integer({ description: 'ms: the event (or the last re-send)' }),
    failedAt: Type.Integer({ description: 'ms: when it was given up' }),
    attempts: Int,
    lastError: Type.String(),
  },
  { $id: 'FailedDelivery' },
);

const ConfigBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'absolute http(s) URL' }),
    commands: Type.Optional(Type.Array(Type.Union(CALLBACK_COMMANDS.map((c) => Type.Literal(c))), { minItems: 1, maxItems: CALLBACK_COMMANDS.length, uniqueItems: true })),
  },
  { additionalProperties: false },
);
/** A spool id (kept within what every store's integer holds). */
const DeliveryId = (min: number, extra: object = {}) => Type.Integer({ minimum: min, maximum: Number.MAX_SAFE_INTEGER, ...extra });
const FailedQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  after: Type.Optional(DeliveryId(0, { description: 'the previous page\'s `next`' })),
});
const IdParams = Type.Object({ id: DeliveryId(1) });
/** A bulk re-send's or discard's body: the ids, or all. */
const ChosenBody = Type.Object(
  { ids: Type.Optional(Type.Array(DeliveryId(1), { minItems: 1, maxItems: 500 })), all: Type.Optional(Type.Literal(true)) },
  { additionalProperties: false },
);
const Resent = Type.Object({ resent: Type.Integer({ description: 'how many went back to the queue' }) });
const Discarded = Type.Object({ discarded: Type.Integer({ description: 'how many were removed for good' }) });

/** What a bulk body names: exactly one of ids or all. */
function chosen(body: Static<typeof ChosenBody>): number[] | 'all' {
  if ((body.ids === undefined) === (body.all === undefined)) throw new ApiError(API_ERROR.invalidRequest, 'give exactly one of ids or all', 'ids');
  return body.all ? 'all' : body.ids!;
}

/** A route naming one delivery: 404 when it was not a given-up delivery of this app. */
function one(n: number, id: number): number {
  if (n === 0) throw new ApiError(API_ERROR.deliveryNotFound, `no failed delivery ${id} in this app`, 'id');
  return n;
}

function configOut(ctx: RouteContext) {
  const c = ctx.callbacks.service.get(ctx.appId);
  return { config: c && { url: c.url, commands: c.commands ? [...c.commands] : null, signed: Boolean(c.token), source: c.source } };
}

function deliveryOut({ appId: _a, state: _s, body, ...d }: Delivery) {
  let parsed: unknown = body;
  try {
    parsed = JSON.parse(body);
  } catch {
    // kept as text
  }
  return { ...d, body: parsed };
}

/** Re-sent deliveries go to a receiver: without one they would be given up again at once. */
function needConfig(ctx: RouteContext): void {
  if (!ctx.callbacks.service.get(ctx.appId)) {
    throw new ApiError(API_ERROR.callbacksNotConfigured, `app ${ctx.appId} has no callback configuration: set one before re-sending`);
  }
}

function route<P, Q, B>(r: Omit<Route, 'run'> & { run(ctx: RouteContext, input: { params: P; query: Q; body: B }): Promise<unknown> }): Route {
  return r as Route;
}

export const CALLBACK_ROUTES: Route[] = [
  route({
    method: 'GET', url: '/callbacks/config', tag: 'callbacks', summary: "The app's callback configuration in effect (null when none)",
    response: Type.Object({ config: Nullable(CallbackConfig) }),
    run: async (ctx) => configOut(ctx),
  }),
  route<unknown, unknown, Static<typeof ConfigBody>>({
    method: 'POST', url: '/callbacks/config', tag: 'callbacks', summary: "Set the app's callback URL and commands (replaces a REST-set one; overrides the config file's)", body: ConfigBody,
    response: Type.Object({ config: CallbackConfig }),
    run: async (ctx, { body }) => {
      // Text no store can keep (PostgreSQL refuses NUL in text and jsonb): a bad parameter, as in
      // a Tencent callback Url, before it reaches the configuration.
      const unstorable = textProblem(body.url);
      if (unstorable) throw new ApiError(ERROR_BY_KIND.InvalidParam, `url ${unstorable}`, 'url');
      if (!isCallbackUrl(body.url)) throw new ApiError(API_ERROR.invalidRequest, 'url must be an absolute http(s) URL, without a user or password', 'url');
      const refused = ctx.callbacks.service.urlProblem(body.url);
      if (refused) throw new ApiError(API_ERROR.invalidRequest, `url: ${refused}`, 'url');
      const target = { url: body.url, commands: body.commands };
      if ((await ctx.callbacks.service.set(ctx.appId, target)) === 'exists') await ctx.callbacks.service.update(ctx.appId, target);
      return configOut(ctx);
    },
  }),
  route({
    method: 'POST', url: '/callbacks/config/delete', tag: 'callbacks', summary: "Stop the app's callbacks (hides the config file's configuration too)", body: Type.Object({}, { additionalProperties: false }),
    response: Ok,
    run: async (ctx) => {
      await ctx.callbacks.service.delete(ctx.appId);
      return { ok: true };
    },
  }),
  route({
    method: 'GET', url: '/callbacks/deliveries', tag: 'callbacks', summary: "The app's deliveries: pending, failed (given up), delivered, and the lag",
    response: DeliveryCounts,
    run: (ctx) => ctx.callbacks.summary(ctx.appId),
  }),
  route<unknown, Static<typeof FailedQuery>, unknown>({
    method: 'GET', url: '/callbacks/deliveries/failed', tag: 'callbacks', summary: 'Given-up deliveries, oldest first (paged by cursor)', query: FailedQuery,
    response: Type.Object({ items: Type.Array(FailedDelivery), next: Type.String({ description: "pass as `after` for the next page; '' on the last" }) }),
    run: async (ctx, { query }) => {
      const limit = query.limit ?? 50;
      const rows = await ctx.callbacks.service.failed(ctx.appId, limit, query.after ?? 0);
      return { items: rows.map(deliveryOut), next: rows.length === limit ? String(rows[rows.length - 1].id) : '' };
    },
  }),
  route<Static<typeof IdParams>, unknown, unknown>({
    method: 'POST', url: '/callbacks/deliveries/:id/resend', tag: 'callbacks', summary: 'Re-send one given-up delivery (it goes after its room\'s queued ones)', params: IdParams,
    body: Type.Object({}, { additionalProperties: false }),
    response: Resent,
    run: async (ctx, { params }) => {
      needConfig(ctx);
      return { resent: one(await ctx.callbacks.service.retry([params.id], ctx.appId), params.id) };
    },
  }),
  route<unknown, unknown, Static<typeof ChosenBody>>({
    method: 'POST', url: '/callbacks/deliveries/resend', tag: 'callbacks', summary: 'Re-send given-up deliveries: the listed ids, or all of the app\'s', body: ChosenBody,
    response: Resent,
    run: async (ctx, { body }) => {
      const ids = chosen(body);
      needConfig(ctx);
      return { resent: await ctx.callbacks.service.retry(ids, ctx.appId) };
    },
  }),
  route<Static<typeof IdParams>, unknown, unknown>({
    method: 'DELETE', url: '/callbacks/deliveries/failed/:id', tag: 'callbacks', summary: 'Discard one given-up delivery for good (it is never sent)', params: IdParams,
    response: Discarded,
    run: async (ctx, { params }) => ({ discarded: one(await ctx.callbacks.service.discard([params.id], ctx.appId), params.id) }),
  }),
  route<unknown, unknown, Static<typeof ChosenBody>>({
    method: 'POST', url: '/callbacks/deliveries/discard', tag: 'callbacks', summary: 'Discard given-up deliveries for good: the listed ids, or all of the app\'s', body: ChosenBody,
    response: Discarded,
    run: async (ctx, { body }) => ({ discarded: await ctx.callbacks.service.discard(chosen(body), ctx.appId) }),
  }),
];
