// Tencent Room Engine REST: POST /v4/<service>/<command>?sdkappid=&identifier=&usersig=&random=&contenttype=json
// Always HTTP 200 with {ActionStatus, ErrorCode, ErrorInfo, RequestId[, Response]}.
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import type { AppRegistry } from '../../config.js';
import type { Engine } from '../../core/engine.js';
import { isRoomError } from '../../core/errors.js';
import type { App } from '../../core/model.js';
import { UserSigError, type UserSigVerifier } from '../../auth/usersig.js';
import type { RateLimiter } from '../../http/rate-limit.js';
import { CODE, CODE_BY_DETAIL, CODE_BY_KIND, TencentError, WIRE_FIELD } from './codes.js';
import type { CallbackAdmin } from '../../callbacks/service.js';
import { COMMANDS, type Command } from './commands.js';
import { JSON_TYPE } from '../../http/json-type.js';

export interface TencentDeps {
  engine: Engine;
  apps: AppRegistry;
  limiter: RateLimiter;
  verifier: UserSigVerifier;
  /** room_config/*: the callback configuration. */
  callbacks?: CallbackAdmin;
}

const SIG_CODE: Record<UserSigError['reason'], number> = {
  malformed: CODE.sigMalformed,
  expired: CODE.sigExpired,
  wrongKey: CODE.sigWrongKey,
  identifierMismatch: CODE.sigIdentifierMismatch,
  sdkAppIdMismatch: CODE.sigSdkAppIdMismatch,
};

/** Thrown inside the handler to answer with a code; anything else becomes 100001. */
class Fail extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

// RequestId like Tencent's: Id-<32 hex>-O-Seq-<n>. A random per-process prefix + counter is unique
// and cheap.
const requestPrefix = randomBytes(12).toString('hex');
let requestSeq = 0;
function requestId(): string {
  requestSeq = (requestSeq + 1) % 0xffffffff;
  return `Id-${requestPrefix}${requestSeq.toString(16).padStart(8, '0')}-O-Seq-${requestSeq}`;
}

/** The envelope's text; every answer is HTTP 200 with it (see answer). */
export function envelope(code: number, info: string, response?: object): string {
  return JSON.stringify({
    ActionStatus: code === CODE.ok ? 'OK' : 'FAIL',
    ErrorCode: code,
    ErrorInfo: info,
    RequestId: requestId(),
    ...(response !== undefined ? { Response: response } : {}),
  });
}

export function answer(reply: FastifyReply, code: number, info: string, response?: object): FastifyReply {
  return reply.code(200).header('content-type', JSON_TYPE).send(envelope(code, info, response));
}

interface Compiled {
  command: Command;
  check: TypeCheck<TSchema>;
}

function compileAll(): Map<string, Compiled> {
  const out = new Map<string, Compiled>();
  for (const [service, commands] of Object.entries(COMMANDS)) {
    for (const [name, command] of Object.entries(commands)) {
      out.set(`${service}/${name}`, { command, check: TypeCompiler.Compile(command.schema) });
    }
  }
  return out;
}

/** One query parameter, present exactly once. */
function single(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v)) throw new Fail(CODE.badHttpRequest, `query parameter ${name} is given more than once`);
  return v as string | undefined;
}

function authenticate(deps: TencentDeps, query: Record<string, unknown>): { app: App; identifier: string } {
  const sdkappid = single(query, 'sdkappid');
  const identifier = single(query, 'identifier');
  const usersig = single(query, 'usersig');
  const random = single(query, 'random');
  const contenttype = single(query, 'contenttype');
  if (sdkappid === undefined || sdkappid === '') throw new Fail(CODE.noSdkAppId, 'sdkappid is required in the URL');
  if (!/^\d{1,10}$/.test(sdkappid)) throw new Fail(CODE.unknownSdkAppId, `invalid sdkappid ${sdkappid}`);
  const app = deps.apps.get(Number(sdkappid));
  if (!app) throw new Fail(CODE.unknownSdkAppId, `invalid sdkappid ${sdkappid}`);
  if (!identifier) throw new Fail(CODE.badHttpRequest, 'identifier is required in the URL');
  if (usersig === undefined || usersig === '') throw new Fail(CODE.badHttpRequest, 'usersig is required in the URL');
  if (random !== undefined && !(/^\d{1,10}$/.test(random) && Number(random) <= 0xffffffff)) {
    throw new Fail(CODE.badHttpRequest, 'random must be a 32-bit unsigned integer');
  }
  if (contenttype !== undefined && contenttype !== 'json') throw new Fail(CODE.badHttpRequest, 'contenttype must be json');
  try {
    deps.verifier.verify(usersig, app.sdkAppId, identifier, app.secretKey);
  } catch (e) {
    if (e instanceof UserSigError) throw new Fail(SIG_CODE[e.reason], e.message);
    throw e;
  }
  if (!app.admins.includes(identifier)) {
    throw new Fail(CODE.notAdmin, `${identifier} is not an App administrator`);
  }
  return { app, identifier };
}

function parseBody(raw: unknown): Record<string, unknown> {
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : typeof raw === 'string' ? raw : '';
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    if (text.trim() === '') throw new Fail(CODE.badJson, 'request body is empty; send {} when a command needs no fields');
    throw new Fail(CODE.badJson, 'request body is not valid JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new Fail(CODE.badJson, 'request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function schemaError(compiled: Compiled, body: unknown): string | null {
  if (compiled.check.Check(body)) return null; // the compiled check is fast; Errors() is not
  const first = compiled.check.Errors(body).First();
  if (!first) return null;
  const path = first.path.replace(/^\//, '').replace(/\//g, '.');
  return `invalid parameter ${path || '(body)'}: ${first.message}`;
}

export async function tencentRoutes(app: FastifyInstance, deps: TencentDeps): Promise<void> {
  const compiled = compileAll();

  // The body is read raw whatever its content type (Tencent's samples send none, or text/plain).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return answer(reply, CODE.badHttpRequest, 'request body is too large');
    if (err.statusCode && err.statusCode < 500) return answer(reply, CODE.badHttpRequest, err.message);
    req.log.error({ reqId: req.id, err }, 'tencent dialect: unexpected error');
    return answer(reply, CODE.internal, 'Internal server error, please retry');
  });

  const handler = async (req: FastifyRequest<{ Params: { service: string; command: string } }>, reply: FastifyReply) => {
    try {
      if (req.method !== 'POST') throw new Fail(CODE.badHttpRequest, 'use POST');
      const query = req.query as Record<string, unknown>;
      const { app: tenant, identifier } = authenticate(deps, query);
      const key = `${req.params.service}/${req.params.command}`;
      const entry = compiled.get(key);
      if (!entry) throw new Fail(CODE.unknownCommand, `unknown command ${key}`);
      const allowed = deps.limiter.take(`${tenant.sdkAppId}:tencent:${key}`, tenant.rateLimit.perCommandPerSecond);
      if (!(typeof allowed === 'boolean' ? allowed : await allowed)) {
        throw new Fail(CODE.rateLimited, `over ${tenant.rateLimit.perCommandPerSecond} calls per second for ${key}`);
      }
      const body = parseBody(req.body);
      const bad = schemaError(entry, body);
      if (bad) throw new Fail(CODE.invalidParam, bad);
      try {
        const response = await entry.command.run(
          { engine: deps.engine, appId: tenant.sdkAppId, actor: { kind: 'admin', userId: identifier, surface: 'tencent' }, callbacks: deps.callbacks },
          body as never,
        );
        return answer(reply, CODE.ok, '', response);
      } catch (e) {
        if (!isRoomError(e)) throw e;
        if (e.detail) throw new Fail(CODE_BY_DETAIL[e.detail], e.message);
        if (e.kind === 'InvalidParam') {
          const wire = (e.field && (entry.command.fields?.[e.field] ?? WIRE_FIELD[e.field])) ?? e.field ?? '';
          throw new Fail(CODE.invalidParam, `invalid parameter ${wire}: ${e.message}`);
        }
        throw new Fail(CODE_BY_KIND[e.kind], e.message);
      }
    } catch (e) {
      if (e instanceof Fail || e instanceof TencentError) return answer(reply, e.code, e.message);
      req.log.error({ reqId: req.id, err: e }, 'tencent dialect: unexpected error');
      return answer(reply, CODE.internal, 'Internal server error, please retry');
    }
  };

  app.route({ method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'], url: '/v4/:service/:command', handler });
  app.all('/v4/*', async (_req, reply) => answer(reply, CODE.unknownCommand, 'unknown service or command'));
}
