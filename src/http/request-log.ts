// Request logging: one line per request (when it completes), written to stdout asynchronously,
// so that logging at the default level costs little throughput. Credentials in URLs (UserSig,
// Polyv sign) are never written.
import { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { hostname } from 'node:os';
import pino from 'pino';

/** A parameter name as a query may spell it: any letter percent-encoded, in either case. */
function spelled(name: string): string {
  const hex = (ch: string) => `%${ch.charCodeAt(0).toString(16)}`;
  return [...name].map((ch) => `(?:${ch}|${hex(ch.toLowerCase())}|${hex(ch.toUpperCase())})`).join('');
}

/**
 * Query parameters that are credentials: never written to the log. The query parsers decode
 * percent-encoded names, so `user%73ig=` authenticates as `usersig=` does, and is redacted too.
 */
const SECRET_PARAMS = new RegExp(`([?&;](?:${spelled('usersig')}|${spelled('sign')})=)[^&\\s'"#]*`, 'gi');

export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]');
}

/** Errors as pino writes them, with credentials taken out of their text (never the raw packet). */
function logError(err: Error): ReturnType<typeof pino.stdSerializers.err> {
  const out = pino.stdSerializers.err(err) as ReturnType<typeof pino.stdSerializers.err> & Record<string, unknown>;
  delete out.rawPacket;
  for (const key of ['message', 'stack', 'url', 'path']) {
    if (typeof out[key] === 'string') out[key] = redactUrl(out[key] as string);
  }
  return out;
}

/** Every line's message text too: a library's own line may quote a URL. */
const redactMessages = {
  logMethod(this: pino.Logger, args: Parameters<pino.LogFn>, method: pino.LogFn) {
    for (let i = 0; i < args.length; i++) if (typeof args[i] === 'string') (args as unknown[])[i] = redactUrl(args[i] as string);
    return method.apply(this, args as never);
  },
};

function logRequest(req: { method: string; url: string; ip?: string }) {
  return { method: req.method, url: redactUrl(req.url), remoteAddress: req.ip };
}

export interface RequestLog {
  /** Fastify's logger options (false: no logging). */
  options: FastifyServerOptions['logger'];
  /**
   * Requests log through the server's logger itself, not a child made per request (a child per
   * request is most of what a log line costs); the request's id is a field of its lines.
   */
  childLoggerFactory: FastifyServerOptions['childLoggerFactory'];
  /** Writes what is still buffered (at shutdown). */
  flush(): void;
  /** Writes a request's line itself, when the logger is the default one (see requestLineWriter). */
  requestLine?: RequestLine;
}

export type RequestLine = (request: FastifyRequest, reply: FastifyReply) => void;

/**
 * The "request completed" line as pino writes it with its default options (same fields, same
 * order), made with one template instead of pino's generic serializer and hooks: half the CPU of
 * a line, which is most of what logging costs the admin API.
 */
export function requestLineWriter(write: (line: string) => void): RequestLine {
  const bindings = `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())}`;
  return (request, reply) => {
    const ip = request.ip === undefined ? '' : `,"remoteAddress":${JSON.stringify(request.ip)}`;
    write(
      `{"level":30,"time":${Date.now()}${bindings},"reqId":${JSON.stringify(request.id)},"method":${JSON.stringify(request.method)},` +
        `"url":${JSON.stringify(redactUrl(request.url))},"statusCode":${reply.statusCode}${ip},"responseTime":${reply.elapsedTime},"msg":"request completed"}\n`,
    );
  };
}

/** How long a log line may wait in the buffer. */
const FLUSH_MS = 1000;
/** Lines are handed to the file in chunks of at most this many bytes. */
const CHUNK_BYTES = 64 * 1024;

/**
 * Encodes lines into a 64 KiB buffer as they come and hands the file one buffer at a time. Each
 * line's string is garbage at once: kept until a chunk filled (as strings to join), lines lived
 * through a young-generation collection or two and were copied, then promoted, at every one.
 */
/** sonic-boom in buffer mode (its types declare only strings). */
export type BufferFile = { write(chunk: Buffer): boolean; flushSync(): void };

export class LineBatcher implements pino.DestinationStream {
  private buf = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;

  constructor(private readonly file: BufferFile) {}

  write(line: string): void {
    // At most 3 bytes per UTF-16 unit: a line that might not fit goes into the next chunk.
    if (this.used + line.length * 3 > CHUNK_BYTES) {
      this.flush();
      if (line.length * 3 > CHUNK_BYTES) {
        this.file.write(Buffer.from(line));
        return;
      }
    }
    this.used += this.buf.write(line, this.used);
  }

  flush(): void {
    if (this.used === 0) return;
    const chunk = this.buf.subarray(0, this.used);
    this.buf = Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
    this.file.write(chunk);
  }

  flushSync(): void {
    this.flush();
    this.file.flushSync();
  }
}

/**
 * `logger`: pino options, true for the defaults, or false for none. Without a `stream` of its own
 * the log goes to stdout through an asynchronous, buffered destination: a request never waits
 * for a write, lines go out in 64 KiB writes or within a second (a process killed with -9 may
 * lose its last second of lines; a shutdown flushes them).
 */
export function requestLog(logger: boolean | object | undefined): RequestLog {
  const childLoggerFactory: RequestLog['childLoggerFactory'] = (parent) => parent;
  if (!logger) return { options: false, childLoggerFactory, flush() {} };
  const given = logger === true ? {} : (logger as pino.LoggerOptions & { stream?: pino.DestinationStream });
  if (given.stream) return { options: { ...given, hooks: redactMessages, serializers: { req: logRequest, err: logError } }, childLoggerFactory, flush() {} };
  const destination = new LineBatcher(pino.destination({ dest: 1, sync: false, contentMode: 'buffer' }) as unknown as BufferFile);
  const timer = setInterval(() => destination.flush(), FLUSH_MS);
  timer.unref();
  // Only a level given: pino's default line format, which the request line's template follows.
  const defaultFormat = Object.keys(given).every((k) => k === 'level');
  return {
    options: { ...given, stream: destination, hooks: redactMessages, serializers: { req: logRequest, err: logError } },
    childLoggerFactory,
    flush() {
      clearInterval(timer);
      destination.flushSync();
    },
    requestLine: defaultFormat ? requestLineWriter((line) => destination.write(line)) : undefined,
  };
}

/**
 * One line per completed request, with flat fields: Fastify's own "incoming request" line, and
 * its serialisation of whole req/res objects, cost more than the line is worth.
 */
export class RequestLogController extends LogController {
  constructor(private readonly requestLine?: RequestLine) {
    super();
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    // Logging off (Fastify's null logger has no isLevelEnabled) or above info: nothing to build.
    const log = request.log as { isLevelEnabled?: (level: string) => boolean };
    if (!log.isLevelEnabled?.(error ? 'error' : 'info')) return;
    if (error) return request.log.error({ reqId: request.id, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    if (this.requestLine) return this.requestLine(request, reply);
    request.log.info(
      { reqId: request.id, method: request.method, url: redactUrl(request.url), statusCode: reply.statusCode, remoteAddress: request.ip, responseTime: reply.elapsedTime },
      'request completed',
    );
  }
}
