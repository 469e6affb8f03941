// Polyv live-chat admin API: /live/v2|v3|v4/... authenticated by appId + timestamp + sign and
// answered with {code, status, message, data}. `code` is also the HTTP status (Polyv's SDKs and
// samples read the body whatever the status; see docs/polyv-dialect.md).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppRegistry } from '../../config.js';
import type { Engine } from '../../core/engine.js';
import { isRoomError } from '../../core/errors.js';
import type { RateLimiter } from '../../http/rate-limit.js';
import type { Store } from '../../core/ports/store.js';
import { authenticate, TIMESTAMP_WINDOW_MS } from './auth.js';
import { ENDPOINTS, type Endpoint } from './endpoints.js';
import { CHAT_ENDPOINTS } from './chat-endpoints.js';
import { HISTORY_ENDPOINTS } from './history-endpoints.js';
import { MESSAGE, PolyvError, fail, fromRoomError, statusOf, type PolyvCode } from './errors.js';
import { Params, parsePairs } from './params.js';
import { ReplayGuard } from './replay.js';
import { JSON_TYPE } from '../../http/json-type.js';

export interface PolyvDeps {
  engine: Engine;
  apps: AppRegistry;
  limiter: RateLimiter;
  clock?: () => number;
  /** Keeps the signs already used (replay protection across restarts). */
  store: Pick<Store, 'claimNonce'>;
}

/** The envelope's text; `code` is also the HTTP status (see answer). */
export function envelope(code: PolyvCode, message: string, data: unknown): string {
  return JSON.stringify({ code, status: statusOf(code), message, data });
}

export function answer(reply: FastifyReply, code: PolyvCode, message: string, data: unknown): FastifyReply {
  return reply.code(code).header('content-type', JSON_TYPE).send(envelope(code, message, data));
}

/** The raw query string: parsed here so that repeated keys are seen (and refused). */
function rawQuery(req: FastifyRequest): string {
  const url = req.raw.url ?? '';
  const i = url.indexOf('?');
  return i < 0 ? '' : url.slice(i + 1);
}

function isForm(req: FastifyRequest): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

function parseJson(body: unknown): unknown {
  const text = typeof body === 'string' ? body : '';
  if (text.trim() === '') throw fail.jsonFormat();
  try {
    return JSON.parse(text);
  } catch {
    throw fail.jsonFormat();
  }
}

export async function polyvRoutes(http: FastifyInstance, deps: PolyvDeps): Promise<void> {
  const clock = deps.clock ?? Date.now;
  const replay = new ReplayGuard(TIMESTAMP_WINDOW_MS, deps.store);

  // Bodies are read as text whatever their content type: form bodies are parameters, JSON bodies
  // are parsed by the endpoints that take one, anything else is ignored (as Polyv does). The
  // TypeScript SDK posts an empty body labelled application/json, which must not be an error.
  http.removeAllContentTypeParsers();
  http.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  http.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    if (err.statusCode && err.statusCode < 500) return answer(reply, 400, MESSAGE.paramValidate, '');
    req.log.error({ reqId: req.id, err }, 'polyv dialect: unexpected error');
    return answer(reply, 500, MESSAGE.apiError, '');
  });

  const handle = async (endpoint: Endpoint, req: FastifyRequest, reply: FastifyReply, path = req.params as Record<string, string>) => {
    try {
      const pairs = parsePairs(rawQuery(req));
      if (endpoint.body === 'form' && isForm(req) && typeof req.body === 'string') pairs.push(...parsePairs(req.body));
      const params = new Params(pairs);
      const app = await authenticate(deps.apps, replay, params, clock(), async (signed) => {
        const allowed = deps.limiter.take(`${signed.sdkAppId}:polyv:${endpoint.name}`, signed.rateLimit.perEndpointPerSecond);
        if (!(typeof allowed === 'boolean' ? allowed : await allowed)) throw fail.qpsExceeded();
      });
      const json = endpoint.body === 'json' ? parseJson(req.body) : undefined;
      const ctx = { engine: deps.engine, app, actor: { kind: 'admin' as const, userId: app.polyv.appId, surface: 'polyv' as const } };
      let data: unknown;
      try {
        data = await endpoint.run(ctx, params, { path, json });
      } catch (e) {
        throw isRoomError(e) ? fromRoomError(e, endpoint.fields) : e;
      }
      return answer(reply, 200, '', data);
    } catch (e) {
      if (e instanceof PolyvError) return answer(reply, e.code, e.message, '');
      req.log.error({ reqId: req.id, err: e }, 'polyv dialect: unexpected error');
      return answer(reply, 500, MESSAGE.apiError, '');
    }
  };

  const endpoints = [...ENDPOINTS, ...CHAT_ENDPOINTS, ...HISTORY_ENDPOINTS];
  for (const endpoint of endpoints) {
    http.route({ method: endpoint.methods, url: endpoint.url, handler: (req, reply) => handle(endpoint, req, reply) });
  }
  // The router leaves a path parameter over 100 characters unmatched (Fastify's maxParamLength),
  // so such a path comes here: it still goes to its endpoint, which answers as for any other
  // value (a `{channelId}` that cannot be a channel: `channel not found.`).
  const withPathParams = endpoints.filter((e) => e.url.includes('/:')).map((e) => ({ endpoint: e, ...pathPattern(e.url) }));
  http.all('/live/*', async (req, reply) => {
    const target = req.raw.url ?? '';
    const q = target.indexOf('?');
    const rawPath = q < 0 ? target : target.slice(0, q);
    for (const { endpoint, regex, names } of withPathParams) {
      const m = regex.exec(rawPath);
      // HEAD as GET, as the router serves it
      if (!m || !endpoint.methods.includes((req.method === 'HEAD' ? 'GET' : req.method) as never)) continue;
      const path: Record<string, string> = {};
      try {
        names.forEach((name, i) => (path[name] = decodeURIComponent(m[i + 1])));
      } catch {
        break; // a malformed percent-escape: no route reads it
      }
      return handle(endpoint, req, reply, path);
    }
    return answer(reply, 404, MESSAGE.apiNotFound, '');
  });
}

/** A route URL with `:name` segments as a regex over the raw (percent-encoded) path, of any length. */
function pathPattern(url: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const source = url
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(segment.slice(1));
      return '([^/]+)';
    })
    .join('/');
  return { regex: new RegExp(`^${source}$`), names };
}
