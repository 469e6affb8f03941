// Requests Node's HTTP parser refuses before Fastify sees them — the request line and headers
// over Node's limit (16 KiB unless --max-http-header-size says otherwise), a character HTTP does
// not allow, a malformed chunked body — answered on the socket in the envelope of the surface the
// request line names (prefix-routing.ts), then the connection is closed. Node gives the handler
// only the bytes of the read that failed: a request line read before them is not among them, and
// then the answer is the plain JSON one, as for a path under no surface.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { JSON_TYPE } from './json-type.js';
import { envelopeFor, type EnvelopedAnswer } from './prefix-routing.js';

/** What Node's 'clientError' event passes (see Node's http docs). */
export interface ClientError extends Error {
  code?: string;
  /** The bytes of the read the parser failed in. */
  rawPacket?: Buffer;
  /** How far into rawPacket the parser got. */
  bytesParsed?: number;
}

// Fastify's default answers, kept for paths under no surface.
const PLAIN_TOO_LARGE = JSON.stringify({ error: STATUS_CODES[431], message: 'Exceeded maximum allowed HTTP header size', statusCode: 431 });
const PLAIN_BAD_REQUEST = JSON.stringify({ error: STATUS_CODES[400], message: 'Client Error', statusCode: 400 });
const PLAIN_TIMEOUT = JSON.stringify({ error: STATUS_CODES[408], message: 'Client Timeout', statusCode: 408 });

// A request line, or its start when the parser stopped inside it: method SP origin-form target
// [SP version].
const REQUEST_LINE = /^[A-Z][A-Z-]* (\/\S*)(?: [A-Z0-9/.]*)?\r?$/;

/**
 * The request target of the request the parser failed in: the last request line in the bytes it
 * parsed (an earlier request may share the read); undefined when none is among them.
 */
export function failedTarget(err: ClientError): string | undefined {
  const raw = err.rawPacket;
  if (!Buffer.isBuffer(raw)) return undefined;
  const end = Math.min(raw.length, err.bytesParsed !== undefined && err.bytesParsed >= 0 ? err.bytesParsed + 1 : raw.length);
  let target: string | undefined;
  for (const line of raw.subarray(0, end).toString('latin1').split('\n')) {
    const m = REQUEST_LINE.exec(line);
    if (m) target = m[1];
  }
  return target;
}

/** The answer for a parser error: in the named surface's envelope, else Fastify's plain JSON. */
export function clientErrorAnswer(err: ClientError): EnvelopedAnswer {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, body: PLAIN_TIMEOUT };
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const target = failedTarget(err);
  const enveloped = target === undefined ? null : envelopeFor(target, tooLarge ? 'headersTooLarge' : 'unparsable');
  return enveloped ?? (tooLarge ? { status: 431, body: PLAIN_TOO_LARGE } : { status: 400, body: PLAIN_BAD_REQUEST });
}

function serialize(a: EnvelopedAnswer): string {
  return (
    `HTTP/1.1 ${a.status} ${STATUS_CODES[a.status] ?? ''}\r\n` +
    `content-type: ${JSON_TYPE}\r\n` +
    `content-length: ${Buffer.byteLength(a.body)}\r\n` +
    `connection: close\r\n\r\n${a.body}`
  );
}

/**
 * For Fastify's `clientErrorHandler` (Node's 'clientError' event). Never throws. Typed with Error:
 * Fastify's type has rawPacket as JSON, Node passes a Buffer.
 */
export function clientErrorHandler(this: FastifyInstance, error: Error, socket: Socket): void {
  const err = error as ClientError;
  try {
    // A reset connection is gone already; nothing to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) {
      socket.destroy();
      return;
    }
    // Only the code: the error's bytes hold the URL, which may carry credentials.
    this.log.trace({ code: err.code }, 'client error');
    // A response already begun on this connection cannot be followed by another (Node's rule).
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    socket.end(serialize(clientErrorAnswer(err)), () => socket.destroy());
  } catch {
    socket.destroy();
  }
}
