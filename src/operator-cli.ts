// The operator commands of the CLI, on the native API: rooms list|show, kick, ban, unban, audit,
// deliveries list|retry|discard.
// Tables for people by default, --json for scripts. Credentials: --token (a UserSig of an app
// admin) or --sdkappid/--key/--user to make one here; each also from ROSTRUM_* env.
import { parseArgs } from 'node:util';
import { genUserSig } from './auth/usersig.js';
import { shown } from './terminal.js';
import { env } from './env.js';

export const OPERATOR_USAGE = `  rostrum rooms list [--search TEXT] [--limit N] [--after ROOM]
  rostrum rooms show ROOM
  rostrum kick ROOM USER [--reason TEXT] [--off-seat]
  rostrum ban (ROOM | --app) (USER... | --ip IP) [--duration SECONDS] [--reason TEXT]
  rostrum unban (ROOM | --app) (USER... | --ip IP)
  rostrum audit [--room ROOM] [--actor ID] [--target ID] [--action ACTION] [--since ISO|MS] [--until ISO|MS] [--before CURSOR] [--limit N]
  rostrum deliveries list [--limit N] [--after ID]
  rostrum deliveries retry (--all | ID...)
  rostrum deliveries discard (--all | ID...)
      common: --url URL (ROSTRUM_URL, default http://127.0.0.1:8080) --json
      credentials: --token USERSIG (ROSTRUM_TOKEN), or --sdkappid N --key KEY [--user ADMIN]
                   (ROSTRUM_SDKAPPID, ROSTRUM_KEY, ROSTRUM_USER; user default administrator)
`;

export class UsageError extends Error {}

const usage = (text: string) => new UsageError(`usage: rostrum ${text}`);

const COMMON = {
  url: { type: 'string' },
  token: { type: 'string' },
  sdkappid: { type: 'string' },
  key: { type: 'string' },
  user: { type: 'string' },
  json: { type: 'boolean' },
} as const;

interface Conn {
  url: string;
  token: string;
  json: boolean;
}

function connection(v: { url?: string; token?: string; sdkappid?: string; key?: string; user?: string; json?: boolean }): Conn {
  const url = serverUrl(v.url ?? env('ROSTRUM_URL') ?? 'http://127.0.0.1:8080');
  let token = v.token ?? env('ROSTRUM_TOKEN');
  if (!token) {
    const sdkappid = v.sdkappid ?? env('ROSTRUM_SDKAPPID');
    const key = v.key ?? env('ROSTRUM_KEY');
    const user = v.user ?? env('ROSTRUM_USER') ?? 'administrator';
    if (!sdkappid || !key) throw new UsageError('credentials needed: --token USERSIG, or --sdkappid N --key KEY [--user ADMIN] (or ROSTRUM_TOKEN / ROSTRUM_SDKAPPID, ROSTRUM_KEY)');
    if (!/^\d+$/.test(sdkappid)) throw new UsageError(`invalid --sdkappid: ${sdkappid}`);
    token = genUserSig(Number(sdkappid), key, user, 600);
  }
  return { url, token, json: v.json ?? false };
}

/**
 * The server's base URL. Refused (without repeating it) when it is not an http(s) URL or carries
 * a user or password: the API's credential is the token, and messages quote this URL.
 */
function serverUrl(text: string): string {
  const u = URL.canParse(text) ? new URL(text) : null;
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) throw new UsageError('invalid --url: give the server\'s http(s) URL, as http://127.0.0.1:8080');
  if (u.username || u.password) throw new UsageError('invalid --url: it must not carry a user or password (give credentials with --token or --sdkappid/--key)');
  return text.replace(/\/+$/, '');
}

/** An API failure: the message is the server's. */
export class ApiFailure extends Error {}

async function api(c: Conn, method: 'GET' | 'POST', path: string, body?: object): Promise<any> {
  let res: Response;
  try {
    res = await fetch(`${c.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${c.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (e) {
    throw new ApiFailure(`cannot reach ${c.url}: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}`);
  }
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiFailure(`HTTP ${res.status} from ${c.url}: not a Rostrum API answer`);
  }
  if (!res.ok) throw new ApiFailure(shown(`${json?.error?.code ?? res.status}: ${json?.error?.message ?? text}`));
  return json;
}

const enc = encodeURIComponent;

/**
 * The API path of a room. A room called "." or ".." cannot be named in one: encoded or not
 * (%2e), a URL reads it as a step of the path, so /rooms/../ban would be /ban, an app-wide ban.
 * Refused as bad usage, before any request.
 */
function roomPath(roomId: string): string {
  if (roomId === '.' || roomId === '..') {
    throw new UsageError(`invalid ROOM ${roomId}: a room called "." or ".." cannot be named in an API path (it would address another route); nothing was sent`);
  }
  return `/rooms/${enc(roomId)}`;
}

/** A plain text table: columns padded to their widest cell; control characters shown, not sent. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((x) => (x === null || x === undefined ? '' : shown(String(x)))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r) => r.map((x, i) => (i === r.length - 1 ? x : x.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}

const time = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));

function parseTime(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms)) throw new UsageError(`invalid ${flag}: ${v} (an ISO time or ms since the epoch)`);
  return ms;
}

function intFlag(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`invalid ${flag}: ${v}`);
  return Number(v);
}

/** A page size: 1 or more (the server bounds it from above). */
function limitFlag(v: string | undefined): number | undefined {
  const n = intFlag('--limit', v);
  if (n === 0) throw new UsageError('invalid --limit: 0 (a page holds at least 1)');
  return n;
}

function out(c: Conn, data: unknown, human: () => string): void {
  process.stdout.write(c.json ? JSON.stringify(data, null, 2) + '\n' : human());
}

async function rooms(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { ...COMMON, search: { type: 'string' }, limit: { type: 'string' }, after: { type: 'string' } },
  });
  // Bad usage first: "credentials needed" would send the operator the wrong way.
  if (sub !== 'list' && sub !== 'show') throw usage('rooms list | rooms show ROOM');
  if (sub === 'show' && !positionals[0]) throw usage('rooms show ROOM');
  const room = sub === 'show' ? roomPath(positionals[0]) : '';
  const limit = limitFlag(values.limit) ?? 50;
  const c = connection(values);
  if (sub === 'list') {
    const q = new URLSearchParams();
    if (values.search) q.set('search', values.search);
    if (values.after) q.set('after', values.after);
    q.set('limit', String(limit));
    const r = await api(c, 'GET', `/rooms?${q}`);
    return out(c, r, () =>
      table(
        ['ROOM', 'NAME', 'TYPE', 'OWNER', 'MEMBERS', 'SEATS'],
        r.items.map((x: any) => [x.roomId, x.name, x.type, x.ownerId, x.memberCount, x.isSeatEnabled ? `${x.seatedCount}/${x.seatCount}` : '-']),
      ) + (r.next ? `(more: --after ${shown(r.next)})\n` : ''),
    );
  }
  // rooms show ROOM
  const r = await api(c, 'GET', room);
  const members = await api(c, 'GET', `${room}/members?limit=100`);
  return out(c, { ...r, members: members.items }, () => {
    const room = r.room;
    let s = shown(`${room.roomId}  ${room.name}  (${room.type}, owner ${room.ownerId}, ${room.memberCount} members, ${room.status})`) + '\n\n';
    if (r.seats.length > 0) s += table(['SEAT', 'USER', 'LOCKED'], r.seats.map((x: any) => [x.index, x.userId ?? '-', x.locked ? 'yes' : ''])) + '\n';
    s += table(['MEMBER', 'ROLE', 'NAME', 'IP'], members.items.map((m: any) => [m.userId, m.role, m.nameCard, m.clientIp]));
    if (members.next) s += `(first 100 members)\n`;
    if (r.requests.length > 0) s += '\n' + table(['REQUEST', 'USER', 'KIND', 'SEAT'], r.requests.map((q: any) => [q.id, q.userId, q.kind, q.index ?? 'any']));
    return s;
  });
}

async function kick(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...COMMON, reason: { type: 'string' }, 'off-seat': { type: 'boolean' } } });
  const [roomId, userId] = positionals;
  if (!roomId || !userId || positionals.length > 2) throw usage('kick ROOM USER [--reason TEXT] [--off-seat]');
  const room = roomPath(roomId);
  const c = connection(values);
  const path = values['off-seat'] ? 'kick-off-seat' : 'kick';
  const r = await api(c, 'POST', `${room}/${path}`, { userId, reason: values.reason ?? '' });
  out(c, r, () => shown(`${values['off-seat'] ? 'took ' + userId + ' off their seat in' : 'kicked ' + userId + ' out of'} ${roomId}`) + '\n');
}

async function banOrUnban(argv: string[], lift: boolean): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...COMMON, app: { type: 'boolean' }, ip: { type: 'string' }, duration: { type: 'string' }, reason: { type: 'string' } },
  });
  const word = lift ? 'unban' : 'ban';
  const usageText = `${word} (ROOM | --app) (USER... | --ip IP)${lift ? '' : ' [--duration SECONDS] [--reason TEXT]'}`;
  const scope = values.app ? '' : positionals.shift();
  if (scope === undefined || (!values.app && scope === '')) throw usage(usageText);
  const users = positionals;
  if ((users.length > 0) === (values.ip !== undefined)) throw usage(usageText);
  const path = scope === '' ? `/${word}` : `${roomPath(scope)}/${word}`;
  const body: Record<string, unknown> = values.ip !== undefined ? { ip: values.ip } : { userIds: users };
  if (!lift) {
    body.reason = values.reason ?? '';
    const d = intFlag('--duration', values.duration);
    if (d === 0) throw new UsageError('invalid --duration: 0 (at least 1 second; leave it out for a ban until lifted)');
    if (d !== undefined) body.durationSec = d;
  }
  const c = connection(values);
  const r = await api(c, 'POST', path, body);
  out(c, r, () =>
    lift
      ? `lifted ${r.items.length} entr${r.items.length === 1 ? 'y' : 'ies'}\n`
      : table(['SCOPE', 'TYPE', 'SUBJECT', 'EXPIRES', 'REASON'], r.items.map((e: any) => [e.roomId || '(app)', e.subjectType, e.subject, e.expiresAt ? time(e.expiresAt) : 'never', e.reason])),
  );
}

async function audit(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...COMMON,
      room: { type: 'string' },
      actor: { type: 'string' },
      target: { type: 'string' },
      action: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      before: { type: 'string' },
      limit: { type: 'string' },
    },
  });
  const q = new URLSearchParams();
  if (values.room !== undefined) q.set('roomId', values.room);
  for (const k of ['actor', 'target', 'action', 'before'] as const) if (values[k] !== undefined) q.set(k, values[k]!);
  const from = parseTime('--since', values.since);
  const to = parseTime('--until', values.until);
  if (from !== undefined) q.set('from', String(from));
  if (to !== undefined) q.set('to', String(to));
  q.set('limit', String(limitFlag(values.limit) ?? 50));
  const c = connection(values);
  const r = await api(c, 'GET', `/audit?${q}`);
  out(c, r, () =>
    table(
      ['TIME', 'SURFACE', 'ACTOR', 'ACTION', 'ROOM', 'TARGET', 'REASON', 'EXPIRES'],
      r.items.map((e: any) => [time(e.at), e.surface, e.actor, e.action, e.roomId || '(app)', e.target, e.reason, time(e.expiresAt)]),
    ) + (r.next ? `(more: --before ${shown(r.next)})\n` : ''),
  );
}

/** `deliveries retry|discard`: the route each calls, the count it answers, and what it says. */
const DELIVERY_ACTIONS: Record<string, { path: string; count: string; done: string }> = {
  retry: { path: '/callbacks/deliveries/resend', count: 'resent', done: 're-queued' },
  discard: { path: '/callbacks/deliveries/discard', count: 'discarded', done: 'discarded' },
};

/** The app's callback deliveries: counts and the given-up list; re-sending or discarding them. */
async function deliveries(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { ...COMMON, limit: { type: 'string' }, after: { type: 'string' }, all: { type: 'boolean' } },
  });
  if (sub === 'list') {
    if (positionals.length > 0) throw usage('deliveries list [--limit N] [--after ID]');
    const q = new URLSearchParams({ limit: String(limitFlag(values.limit) ?? 50) });
    const after = intFlag('--after', values.after);
    if (after !== undefined) q.set('after', String(after));
    const c = connection(values);
    const counts = await api(c, 'GET', '/callbacks/deliveries');
    const failed = await api(c, 'GET', `/callbacks/deliveries/failed?${q}`);
    return out(c, { ...counts, failedItems: failed.items, next: failed.next }, () => {
      const lag = counts.lagSeconds === null ? 'no callbacks configured' : `lag ${counts.lagSeconds} s`;
      let s = `pending ${counts.pending}  failed ${counts.failed}  delivered ${counts.delivered}  ${lag}\n`;
      if (failed.items.length === 0) return s + 'no failed deliveries\n';
      s += '\n' + table(
        ['ID', 'ROOM', 'SEQ', 'COMMAND', 'FAILED AT', 'ATTEMPTS', 'LAST ERROR'],
        failed.items.map((d: any) => [d.id, d.roomId, d.seq, d.command, time(d.failedAt), d.attempts, d.lastError]),
      );
      return s + (failed.next ? `(more: --after ${failed.next})\n` : '');
    });
  }
  const action = sub !== undefined && Object.hasOwn(DELIVERY_ACTIONS, sub) ? DELIVERY_ACTIONS[sub] : null;
  if (action) {
    if (Boolean(values.all) === positionals.length > 0) throw usage(`deliveries ${sub} (--all | ID...)`);
    const ids = positionals.map((id) => intFlag('ID', id)!);
    const c = connection(values);
    const r = await api(c, 'POST', action.path, values.all ? { all: true } : { ids });
    const n: number = r[action.count];
    // An ID given twice counts once, as on the server.
    const named = new Set(ids).size;
    return out(c, r, () => `${action.done} ${n} ${n === 1 ? 'delivery' : 'deliveries'}\n` + (!values.all && n < named ? `${named - n} of the IDs are not failed deliveries of this app\n` : ''));
  }
  throw usage('deliveries list | deliveries retry (--all | ID...) | deliveries discard (--all | ID...)');
}

/** Runs an operator command; false when `cmd` is not one. */
export async function operator(cmd: string, argv: string[]): Promise<boolean> {
  switch (cmd) {
    case 'rooms':
      await rooms(argv);
      return true;
    case 'kick':
      await kick(argv);
      return true;
    case 'ban':
      await banOrUnban(argv, false);
      return true;
    case 'unban':
      await banOrUnban(argv, true);
      return true;
    case 'audit':
      await audit(argv);
      return true;
    case 'deliveries':
      await deliveries(argv);
      return true;
    default:
      return false;
  }
}
