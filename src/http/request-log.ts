// Request logging: one line per request (when it completes), written to stdout asynchronously,
// so that logging at the default level costs little throughput. Credentials in URLs (UserSig,
// Polyv sign) are never written.
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import pino from 'pino';

/** Query parameters that are credentials: never written to the log. */
const SECRET_PARAMS = /([?&](?:usersig|sign)=)[^&]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]');
}

function logRequest(req: { method: string; url: string; ip?: string }) {
  return { method: req.method, url: redactUrl(req.url), remoteAddress: req.ip };
}

export interface RequestLog {
  /** Fastify's logger options (false: no logging). */
  options: FastifyServerOptions['logger'];
  /** Writes what is still buffered (at shutdown). */
  flush(): void;
}

/**
 * `logger`: pino options, true for the defaults, or false for none. Without a `stream` of its own
 * the log goes to stdout through an asynchronous destination: a write never blocks the request
 * that made it (a process killed with -9 may lose its last lines).
 */
export function requestLog(logger: boolean | object | undefined): RequestLog {
  if (!logger) return { options: false, flush() {} };
  const given = logger === true ? {} : (logger as pino.LoggerOptions & { stream?: pino.DestinationStream });
  const destination = given.stream ? undefined : pino.destination({ dest: 1, sync: false });
  return {
    options: { ...given, ...(destination ? { stream: destination } : {}), serializers: { req: logRequest } },
    flush: () => destination?.flushSync(),
  };
}

/** One line per completed request (Fastify's own two lines are turned off). */
export function logRequests(http: FastifyInstance): void {
  http.addHook('onResponse', (req, reply, done) => {
    req.log.info({ req, res: reply, responseTime: reply.elapsedTime }, 'request completed');
    done();
  });
}
