// The native API under /api/v1: registers the route table with its schemas (checked by TypeBox,
// described by @fastify/swagger at /api/v1/openapi.json), authenticates every call, applies the
// app's rate limit, and answers every failure in the one error shape.
import swagger from '@fastify/swagger';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppRegistry } from '../config.js';
import type { Engine } from '../core/engine.js';
import { isRoomError } from '../core/errors.js';
import type { UserSigVerifier } from '../auth/usersig.js';
import type { RateLimiter } from '../http/rate-limit.js';
import { authenticate, type ExtraAuth, type Principal } from './auth.js';
import { API_ERROR, ApiError, ERROR_BY_KIND, ErrorBody, apiErrorHandler, sendError } from './errors.js';
import { ROUTES } from './routes.js';
import type { CallbackAccess } from './callbacks.js';
import { JSON_TYPE } from '../http/json-type.js';
import { errorMessage, errorPath } from '../schema-errors.js';

export const API_PREFIX = '/api/v1';

export interface ApiDeps {
  engine: Engine;
  apps: AppRegistry;
  limiter: RateLimiter;
  verifier: UserSigVerifier;
  /** The callback relay's configuration and deliveries. */
  callbacks: CallbackAccess;
  /** Another way in besides the bearer UserSig (the console's session); see auth.ts. */
  extraAuth?: ExtraAuth;
}

/**
 * The query's and path's integer fields whose text is not a decimal integer: TypeBox's conversion
 * would read "1.5", "1e3" or "0x10" as 1, 1 and 16 (parseInt); they stay text, so the check
 * refuses them ("Expected integer") rather than run with a number the caller did not write.
 */
function notDecimal(schema: TSchema, data: unknown): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  if (data === null || typeof data !== 'object') return kept;
  for (const [key, field] of Object.entries((schema as { properties?: Record<string, TSchema> }).properties ?? {})) {
    const text = (data as Record<string, unknown>)[key];
    if (field.type === 'integer' && typeof text === 'string' && !/^-?\d+$/.test(text)) kept[key] = text;
  }
  return kept;
}

/** Request checks by TypeBox; the query and path, being text, are converted to the schema's types first. */
function validatorCompiler({ schema, httpPart }: { schema: unknown; httpPart?: string }) {
  const check = TypeCompiler.Compile(schema as TSchema);
  return (data: unknown) => {
    let value: unknown = data ?? (httpPart === 'body' ? undefined : {});
    if (httpPart !== 'body') {
      const kept = notDecimal(schema as TSchema, value);
      value = Value.Default(schema as TSchema, Value.Convert(schema as TSchema, value));
      if (value !== null && typeof value === 'object') Object.assign(value, kept);
    }
    if (check.Check(value)) return { value };
    const first = check.Errors(value).First();
    const path = first ? errorPath(first) : '';
    const err = new ApiError(API_ERROR.invalidRequest, `${httpPart === 'querystring' ? 'query' : httpPart} ${path || '(root)'}: ${first ? errorMessage(first) : 'invalid'}`, path || undefined);
    return { error: err };
  };
}

export async function apiRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Rostrum native API', version: '1', description: 'Operator API: rooms, members, moderation, audit log, callback deliveries. See docs/native-api.md.' },
      components: { securitySchemes: { userSig: { type: 'http', scheme: 'bearer', description: 'UserSig of an app admin' } } },
      security: [{ userSig: [] }],
    },
    // Named components (Room, Seat, Error…) rather than def-0, def-1…
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  app.addSchema(ErrorBody);
  app.setValidatorCompiler(validatorCompiler);
  // Responses are written as they are: their schemas document them, they do not filter them.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  app.setErrorHandler(apiErrorHandler('native api'));
  // The path is not repeated: a mistyped one may hold something secret (see docs/security.md).
  app.setNotFoundHandler((req, reply) => sendError(reply, API_ERROR.notFound, `no ${req.method} route at this path (see docs/native-api.md)`));

  const principals = new WeakMap<FastifyRequest, Principal>();
  for (const r of ROUTES) {
    const error = { $ref: 'Error#' };
    app.route({
      method: r.method,
      url: r.url,
      schema: {
        summary: r.summary,
        tags: [r.tag],
        ...(r.params ? { params: r.params } : {}),
        ...(r.query ? { querystring: r.query } : {}),
        ...(r.body ? { body: r.body } : {}),
        response: { 200: r.response, '4xx': error, '5xx': error },
      },
      // Before the body is read or checked: a caller without credentials learns nothing more.
      onRequest: async (req: FastifyRequest) => {
        const who = await authenticate(req, deps.apps, deps.verifier, deps.extraAuth);
        const perSecond = who.app.rateLimit.perCommandPerSecond;
        const allowed = deps.limiter.take(`${who.app.sdkAppId}:api:${r.method} ${r.url}`, perSecond);
        if (!(typeof allowed === 'boolean' ? allowed : await allowed)) {
          throw new ApiError(API_ERROR.rateLimited, `over ${perSecond} calls per second for ${r.method} ${r.url}`);
        }
        principals.set(req, who);
      },
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        const who = principals.get(req)!;
        const ctx = { engine: deps.engine, appId: who.app.sdkAppId, actor: { kind: 'admin' as const, userId: who.identifier, surface: who.surface }, callbacks: deps.callbacks };
        try {
          const out = await r.run(ctx, { params: req.params, query: req.query, body: req.body });
          return reply.code(200).header('content-type', JSON_TYPE).send(JSON.stringify(out));
        } catch (e) {
          if (!isRoomError(e)) throw e;
          return sendError(reply, ERROR_BY_KIND[e.kind], e.message, e.field);
        }
      },
    });
  }

  app.get('/openapi.json', { schema: { hide: true } }, async (_req, reply) =>
    reply.header('content-type', JSON_TYPE).send(JSON.stringify(app.swagger())),
  );
}
