// Request logging: one line per request (when it completes), written to stdout asynchronously,
// so that logging at the default level costs little throughput. Credentials in URLs (UserSig,
// Polyv sign) are never written.
import { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import pino from 'pino';

/** Query parameters that are credentials: never written to the log. */
const SECRET_PARAMS = /([?&;](?:usersig|sign)=)[^&\s'"#]*/gi;

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
}

/** How long a log line may wait in the buffer. */
const FLUSH_MS = 1000;
/** Lines are handed to the file in chunks of about this many characters. */
const CHUNK_CHARS = 64 * 1024;

/**
 * Collects lines and hands them to sonic-boom a chunk at a time. sonic-boom appends each write
 * to its last pending string and measures that string's byte length, which flattens it: one
 * line at a time, that costs more than building the line (and grows with the pending bytes).
 */
class LineBatcher implements pino.DestinationStream {
  private lines: string[] = [];
  private chars = 0;

  constructor(private readonly file: pino.DestinationStream & { flushSync(): void }) {}

  write(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= CHUNK_CHARS) this.flush();
  }

  flush(): void {
    if (this.chars === 0) return;
    const chunk = this.lines.join('');
    this.lines = [];
    this.chars = 0;
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
  const destination = new LineBatcher(pino.destination({ dest: 1, sync: false }));
  const timer = setInterval(() => destination.flush(), FLUSH_MS);
  timer.unref();
  return {
    options: { ...given, stream: destination, hooks: redactMessages, serializers: { req: logRequest, err: logError } },
    childLoggerFactory,
    flush() {
      clearInterval(timer);
      destination.flushSync();
    },
  };
}

/**
 * One line per completed request, with flat fields: Fastify's own "incoming request" line, and
 * its serialisation of whole req/res objects, cost more than the line is worth.
 */
export class RequestLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    // Logging off (Fastify's null logger has no isLevelEnabled) or above info: nothing to build.
    const log = request.log as { isLevelEnabled?: (level: string) => boolean };
    if (!log.isLevelEnabled?.(error ? 'error' : 'info')) return;
    if (error) return request.log.error({ reqId: request.id, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    request.log.info(
      { reqId: request.id, method: request.method, url: redactUrl(request.url), statusCode: reply.statusCode, remoteAddress: request.ip, responseTime: reply.elapsedTime },
      'request completed',
    );
  }
}
