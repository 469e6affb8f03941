// Requests no route matched, requests the router could not read (a malformed percent-escape,
// an over-long parameter) and those Node's HTTP parser refused (client-errors.ts): each answers
// in the envelope of the dialect whose prefix its path is under, in any letter case — Tencent's
// under /v4, Polyv's under /live — the native API's error shape under /api/v1 and /console, and a
// plain JSON 404/400 (431) elsewhere. No answer and no log line repeats the URL: it may carry a
// UserSig or a sign.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES, maxHeaderSize } from 'node:http';
import { JSON_TYPE } from './json-type.js';
import { redactUrl } from './request-log.js';
import { envelope as tencentEnvelope } from '../dialects/tencent/routes.js';
import { CODE } from '../dialects/tencent/codes.js';
import { envelope as polyvEnvelope } from '../dialects/polyv/routes.js';
import { MESSAGE } from '../dialects/polyv/errors.js';
import { API_ERROR, errorBody, type ApiErrorCode } from '../api/errors.js';

export type Prefix = 'tencent' | 'polyv' | 'native' | null;

/** The surface whose prefix the raw request target is under (`/v4`, `/V4/…`, `/live?…`, `/api/v1/…`, `/console…`). */
export function prefixOf(rawUrl: string | undefined): Prefix {
  const url = rawUrl ?? '';
  if (/^\/(api\/v1|console)(?:[/?#;]|$)/.test(url)) return 'native';
  const m = /^\/(v4|live)(?:[/?#;]|$)/i.exec(url);
  if (!m) return null;
  return m[1].toLowerCase() === 'v4' ? 'tencent' : 'polyv';
}

/**
 * Why the request was not served. The last two are the HTTP parser's refusals, answered on the
 * socket (see client-errors.ts): headers over Node's limit, bytes that are not HTTP.
 */
export type Failure = 'notFound' | 'badUrl' | 'longParam' | 'badRequest' | 'headersTooLarge' | 'unparsable';

const HEADER_LIMIT = `${Math.round(maxHeaderSize / 1024)} KiB`;

const NATIVE: Record<Failure, [ApiErrorCode, string]> = {
  notFound: [API_ERROR.notFound, 'no such route'],
  badUrl: [API_ERROR.invalidRequest, 'the URL cannot be read (a malformed percent-escape?)'],
  longParam: [API_ERROR.invalidRequest, 'a path segment is too long'],
  badRequest: [API_ERROR.invalidRequest, 'the request cannot be read'],
  headersTooLarge: [API_ERROR.headersTooLarge, `the request line and headers are over ${HEADER_LIMIT}`],
  unparsable: [API_ERROR.invalidRequest, 'the request is not valid HTTP (an invalid character in a header?)'],
};

const TENCENT_PARSE_ERROR: Partial<Record<Failure, string>> = {
  headersTooLarge: `HTTP request headers are over ${HEADER_LIMIT}`,
  unparsable: 'HTTP request cannot be parsed',
};

/** An answer's status and body (its content type is always JSON_TYPE). */
export interface EnvelopedAnswer {
  status: number;
  body: string;
}

/** The answer in the envelope of the surface `rawUrl` is under; null when it is under none. */
export function envelopeFor(rawUrl: string | undefined, failure: Failure): EnvelopedAnswer | null {
  const parseError = failure === 'headersTooLarge' || failure === 'unparsable';
  switch (prefixOf(rawUrl)) {
    case 'tencent': {
      const info = TENCENT_PARSE_ERROR[failure];
      return { status: 200, body: info ? tencentEnvelope(CODE.badHttpRequest, info) : tencentEnvelope(CODE.unknownCommand, 'unknown service or command') };
    }
    case 'polyv':
      return parseError ? { status: 400, body: polyvEnvelope(400, MESSAGE.paramValidate, '') } : { status: 404, body: polyvEnvelope(404, MESSAGE.apiNotFound, '') };
    case 'native': {
      const [e, message] = NATIVE[failure];
      return { status: e.status, body: JSON.stringify(errorBody(e.code, message)) };
    }
    default:
      return null;
  }
}

/** Answers in the prefix's envelope; false when the path is under no surface's prefix. */
function answerByPrefix(req: FastifyRequest, reply: FastifyReply, failure: Failure): boolean {
  const answer = envelopeFor(req.raw.url, failure);
  if (!answer) return false;
  void reply.code(answer.status).header('content-type', JSON_TYPE).send(answer.body);
  return true;
}

/** For `setNotFoundHandler`: any method, any path no route serves. */
export function notFound(req: FastifyRequest, reply: FastifyReply): void {
  if (answerByPrefix(req, reply, 'notFound')) return;
  void reply.code(404).header('content-type', JSON_TYPE).send('{"error":"Not Found","statusCode":404}');
}

/** For Fastify's `frameworkErrors`: a URL the router cannot read (its message would hold the URL). */
export function frameworkError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  if (answerByPrefix(req, reply, err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'longParam' : 'badUrl')) return;
  void reply.code(400).header('content-type', JSON_TYPE).send('{"error":"Bad Request","statusCode":400}');
}

/**
 * For the root scope's error handler: a request that failed before any dialect saw it (a body
 * the root's parsers refuse on an unknown path) still answers in its prefix's envelope.
 */
export function rootError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  if ((err.statusCode ?? 500) < 500 && answerByPrefix(req, reply, err.statusCode === 404 ? 'notFound' : 'badRequest')) return;
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
  if (status === 500) req.log.error({ reqId: req.id, err }, 'unexpected error');
  // Fastify's own shape, its message kept for a client error (redacted all the same).
  const body = { statusCode: status, code: err.code, error: STATUS_CODES[status], message: status === 500 ? 'Internal Server Error' : redactUrl(err.message) };
  void reply.code(status).header('content-type', JSON_TYPE).send(JSON.stringify(body));
}
