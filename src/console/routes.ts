// The operator console at /console/: the built page (Preact, bundled by esbuild at `npm ci`),
// sign-in (an admin UserSig, or the app's console password), the session cookie, the room's live
// events (server-sent, from the bus), and the overview figures. Everything else the page does
// goes through the native API with the session (see `consoleAuth`): the same routes, schemas and
// errors, with a CSRF token on every change.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppRegistry } from '../config.js';
import type { Engine } from '../core/engine.js';
import type { Bus } from '../core/ports/bus.js';
import type { UserSigVerifier } from '../auth/usersig.js';
import type { ExtraAuth, Principal } from '../api/auth.js';
import { verifyAdminSig } from '../api/auth.js';
import { API_ERROR, ApiError, apiErrorHandler } from '../api/errors.js';
import { verifyPassword } from './password.js';
import { COOKIE, Sessions, SignInThrottle, type Session } from './sessions.js';
import { MessageRate } from './stats.js';
import type { CallbackAccess } from '../api/callbacks.js';
import { canonicalIpSubject, normalizeIp } from '../core/ip.js';

export interface ConsoleDeps {
  engine: Engine;
  apps: AppRegistry;
  verifier: UserSigVerifier;
  bus: Bus;
  sessions: Sessions;
  throttle: SignInThrottle;
  /** For the overview's callback lag. */
  callbacks?: CallbackAccess;
}

/** Where `npm run build:console` (run by `prepare`) puts the page. */
const ASSETS = fileURLToPath(new URL('../../dist/console-ui/', import.meta.url));
const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};
const CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

function cookieOf(req: FastifyRequest): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === COOKIE) return part.slice(i + 1).trim();
  }
  return undefined;
}

/**
 * A change must not come from another site: an Origin header, when sent, must be this host (as the
 * browser saw it: a trusted proxy's X-Forwarded-Host, see `trustProxy`).
 */
function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.host;
  } catch {
    return false;
  }
}

/** The native API's second way in: the console's session cookie, with the CSRF token on changes. */
export function consoleAuth(apps: AppRegistry, sessions: Sessions): ExtraAuth {
  return async (req): Promise<Principal | null> => {
    const s = await sessions.get(cookieOf(req));
    if (!s) return null;
    const app = apps.get(s.appId);
    if (!app || !app.admins.includes(s.identifier)) return null;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      if (!sameOrigin(req) || !sessions.csrfMatches(s, req.headers['x-csrf-token'])) {
        throw new ApiError(API_ERROR.csrf, 'changes need the X-CSRF-Token of the session, from the console page');
      }
    }
    return { app, identifier: s.identifier, surface: 'console' };
  };
}

/** Longer than any admin identifier: refused before it becomes a throttle key. */
const MAX_IDENTIFIER = 64;

/**
 * The address sign-ins are counted by: an IPv4 address, or an IPv6 client's /64 (a host holds a
 * whole /64 and could take a fresh address for every guess). One key whatever its spelling or port.
 */
function throttledAddress(ip: string): string {
  const n = normalizeIp(ip);
  return n.includes(':') ? (canonicalIpSubject(`${n}/64`) ?? n) : n;
}

interface SignIn {
  userSig?: unknown;
  sdkAppId?: unknown;
  identifier?: unknown;
  password?: unknown;
}

type Credentials = { userSig: string } | { sdkAppId: number; identifier: string; password: string };

/** The sign-in's credentials, or invalid_request (a malformed body is no guess: it is not counted). */
function credentialsOf(body: SignIn): Credentials {
  if (typeof body.userSig === 'string' && body.userSig !== '') return { userSig: body.userSig };
  const { sdkAppId, identifier, password } = body;
  if (typeof sdkAppId !== 'number' || typeof identifier !== 'string' || identifier.length > MAX_IDENTIFIER || typeof password !== 'string') {
    throw new ApiError(API_ERROR.invalidRequest, 'send {"userSig"} or {"sdkAppId", "identifier", "password"}');
  }
  return { sdkAppId, identifier, password };
}

/** Live event streams one console session may hold open (tabs of the room page). */
export const STREAMS_PER_SESSION = 8;
/** Unsent bytes after which a stream whose reader has stalled is ended. */
const STREAM_BACKLOG_BYTES = 1024 * 1024;

export async function consoleRoutes(http: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const { sessions, throttle, apps } = deps;
  const rate = new MessageRate(deps.bus);
  const streams = new Set<import('node:http').ServerResponse>();
  /** Each session's open streams: they end with it (sign-out here, expiry, sign-out on another node). */
  const bySession = new Map<string, Set<import('node:http').ServerResponse>>();
  const endStreams = (sessionId: string) => {
    for (const res of bySession.get(sessionId) ?? []) res.end();
  };

  // A session outlives a restart in Redis: its identifier must still be an admin of its app.
  const session = async (req: FastifyRequest): Promise<Session> => {
    const s = await sessions.get(cookieOf(req));
    if (!s || !apps.get(s.appId)?.admins.includes(s.identifier)) throw new ApiError(API_ERROR.unauthenticated, 'not signed in');
    return s;
  };
  const who = (s: Session) => ({ sdkAppId: s.appId, identifier: s.identifier, csrf: s.csrf });

  http.setErrorHandler(apiErrorHandler('console'));

  // ----------------------------------------------------------------------------- the page

  const page = (file: string) => async (_req: FastifyRequest, reply: FastifyReply) => {
    const path = ASSETS + file;
    if (!existsSync(path)) return reply.code(503).type('text/plain').send('the console is not built: run npm run build:console');
    reply.header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache');
    return reply.type(TYPES[file]).send(readFileSync(path));
  };
  http.get('/console', async (_req, reply) => reply.redirect('/console/'));
  http.get('/console/', page('index.html'));
  http.get('/console/app.js', page('app.js'));
  http.get('/console/app.css', page('app.css'));

  // ----------------------------------------------------------------------------- session

  http.post('/console/session', async (req, reply) => {
    if (!sameOrigin(req)) throw new ApiError(API_ERROR.csrf, 'sign-in from another site');
    const credentials = credentialsOf((req.body ?? {}) as SignIn);
    const ipKey = `ip:${throttledAddress(req.ip)}`;
    // The account is counted for passwords only: a UserSig cannot be guessed, and counting forged
    // ones against the admin they name would let anyone lock that admin out.
    const accountKey = 'userSig' in credentials ? null : `acct:${credentials.sdkAppId}:${credentials.identifier}`;
    const keys = accountKey ? [ipKey, accountKey] : [ipKey];
    // Counted before the check, in one step with the count's own check: parallel guesses cannot
    // all be checked before the first of them is counted.
    const attempt = await throttle.begin(keys);
    if (attempt.wait > 0) {
      reply.header('retry-after', String(attempt.wait));
      throw new ApiError(API_ERROR.throttled, `too many failed sign-ins; try again in ${attempt.wait} s`);
    }
    let signedIn: { appId: number; identifier: string; notAfter?: number };
    try {
      signedIn = await check(credentials);
    } catch (e) {
      // A wrong credential stays counted; anything else (a fault of ours) was no guess.
      if (!(e instanceof ApiError && (e.error === API_ERROR.unauthenticated || e.error === API_ERROR.forbidden))) {
        await throttle.notCounted(keys, attempt.id).catch(() => undefined);
      }
      throw e;
    }
    await throttle.succeeded(keys, attempt.id, accountKey);
    const s = await sessions.create(signedIn.appId, signedIn.identifier, signedIn.notAfter);
    const secure = req.protocol === 'https' ? '; Secure' : '';
    const maxAge = Math.max(1, Math.ceil((s.expiresAt - Date.now()) / 1000));
    reply.header('set-cookie', `${COOKIE}=${s.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure}`);
    return who(s);
  });

  async function check(credentials: Credentials): Promise<{ appId: number; identifier: string; notAfter?: number }> {
    if ('userSig' in credentials) {
      // A session made from a UserSig ends when the UserSig does.
      const { app, identifier, expiresAt } = verifyAdminSig(apps, deps.verifier, credentials.userSig);
      return { appId: app.sdkAppId, identifier, notAfter: expiresAt };
    }
    const { sdkAppId, identifier, password } = credentials;
    const app = apps.get(sdkAppId);
    // One answer for every wrong part: the page does not tell which apps or admins exist.
    const refused = new ApiError(API_ERROR.unauthenticated, 'wrong app, admin or password');
    if (!app?.consolePassword || !app.admins.includes(identifier)) {
      await verifyPassword(password, DUMMY_HASH); // the same time as a real check
      throw refused;
    }
    if (!(await verifyPassword(password, app.consolePassword))) throw refused;
    return { appId: app.sdkAppId, identifier };
  }

  http.get('/console/session', async (req) => who(await session(req)));

  http.post('/console/session/end', async (req, reply) => {
    const s = await session(req);
    if (!sameOrigin(req) || !sessions.csrfMatches(s, req.headers['x-csrf-token'])) throw new ApiError(API_ERROR.csrf, 'sign-out needs the session\'s X-CSRF-Token');
    await sessions.delete(s.id);
    endStreams(s.id);
    reply.header('set-cookie', `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    return { ok: true };
  });

  // ----------------------------------------------------------------------------- live data

  /** The room's events as they commit, as server-sent events (`data: <event JSON>`). */
  http.get('/console/events', async (req, reply) => {
    const s = await session(req);
    const roomId = (req.query as Record<string, unknown>).roomId;
    if (typeof roomId !== 'string' || roomId === '') throw new ApiError(API_ERROR.invalidRequest, 'roomId is required', 'roomId');
    const mine = bySession.get(s.id) ?? new Set();
    if (mine.size >= STREAMS_PER_SESSION) {
      throw new ApiError(API_ERROR.tooManyStreams, `at most ${STREAMS_PER_SESSION} event streams per session are open at once; close one`);
    }
    reply.hijack();
    const res = reply.raw;
    streams.add(res);
    bySession.set(s.id, mine.add(res));
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': connected\n\n');
    const off = deps.bus.subscribe((e) => {
      if (e.appId !== s.appId || e.roomId !== roomId) return;
      // A browser that stops reading must not hold the room's events in memory without bound:
      // its stream ends (EventSource opens a new one, from the room's state then).
      if (res.writableLength > STREAM_BACKLOG_BYTES) res.destroy();
      else res.write(`data: ${JSON.stringify(e)}\n\n`);
    });
    // The session may end elsewhere (another node's sign-out): checked with each ping.
    const ping = setInterval(() => {
      void Promise.resolve(sessions.get(s.id)).then(
        (still) => (still ? res.write(': ping\n\n') : res.end()),
        () => res.write(': ping\n\n'),
      );
    }, 15_000);
    const expiry = setTimeout(() => res.end(), Math.max(0, s.expiresAt - Date.now()));
    req.raw.on('close', () => {
      streams.delete(res);
      mine.delete(res);
      if (mine.size === 0 && bySession.get(s.id) === mine) bySession.delete(s.id);
      off();
      clearInterval(ping);
      clearTimeout(expiry);
    });
  });

  /** The callback lag (s) and given-up count; null when the app has no callbacks and none wait. */
  const callbackFigures = async (appId: number) => {
    const sum = await deps.callbacks?.summary(appId);
    return { callbackLag: sum?.lagSeconds ?? null, callbacksFailed: sum?.failed ?? 0 };
  };

  /** Overview figures: rooms and members (counted over the room list), messages per second, callback lag. */
  http.get('/console/stats', async (req) => {
    const s = await session(req);
    const actor = { kind: 'admin' as const, userId: s.identifier, surface: 'console' as const };
    let rooms = 0;
    let members = 0;
    let seated = 0;
    let after = '';
    // Bounded: a huge app shows "at least" figures rather than a slow page.
    for (let pages = 0; pages < 20; pages++) {
      const page = await deps.engine.execute(s.appId, actor, { type: 'listRooms', after, limit: 500 });
      for (const r of page.rooms) {
        rooms++;
        members += r.memberCount;
        seated += r.seatedCount;
      }
      if (!page.next) return { rooms, members, seated, complete: true, messagesPerSecond: rate.perSecond(s.appId), ...(await callbackFigures(s.appId)) };
      after = page.next;
    }
    return { rooms, members, seated, complete: false, messagesPerSecond: rate.perSecond(s.appId), ...(await callbackFigures(s.appId)) };
  });

  http.addHook('onClose', async () => rate.close());
  // Open event streams would hold the server's close until their browsers leave.
  http.addHook('preClose', async () => {
    for (const res of streams) res.end();
  });
}

/** A valid hash of nothing anyone knows: wrong-account sign-ins cost the same as real ones. */
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
