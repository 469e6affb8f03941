// Server configuration: a JSON file (validated, errors name the key) plus flags/env.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { readFileSync } from 'node:fs';
import proxyaddr from 'proxy-addr';
import type { App } from './core/model.js';
import { parseUrl as parsePostgresUrl } from './adapters/postgres/store.js';
import { PRIVATE_ADDRESS_POLICIES, callbackUrlProblem } from './callbacks/address-policy.js';
import { CALLBACK_ORDERS } from './callbacks/relay.js';
import { CALLBACK_COMMANDS, MAX_CALLBACK_URL, isCallbackUrl } from './callbacks/commands.js';
import { passwordHashProblem } from './console/password.js';
import { errorMessage, errorPath } from './schema-errors.js';

const AppSchema = Type.Object(
  {
    sdkAppId: Type.Integer({ minimum: 1, maximum: 4294967295 }),
    secretKey: Type.String({ minLength: 1 }),
    admins: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    rateLimit: Type.Optional(
      Type.Object(
        {
          /** Tencent dialect: calls per second per command; 0 = unlimited. */
          perCommandPerSecond: Type.Optional(Type.Integer({ minimum: 0 })),
          /** Polyv dialect: calls per second per endpoint; 0 = unlimited. */
          perEndpointPerSecond: Type.Optional(Type.Integer({ minimum: 0 })),
        },
        { additionalProperties: false },
      ),
    ),
    polyv: Type.Optional(
      Type.Object(
        {
          appId: Type.String({ minLength: 1 }),
          appSecret: Type.String({ minLength: 1 }),
          /** The Polyv account id: the `{userId}` of account paths (addBadWords); unchecked when absent. */
          userId: Type.Optional(Type.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** Where this app's callbacks go; room_config/set_callback (REST) wins over it. */
    callback: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^[hH][tT][tT][pP][sS]?://' }),
          /** Signs each callback: RequestTime and Sign = sha256(token + RequestTime) in the query. */
          token: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
          /** The callback commands to send (at least one, as the native API requires); all when absent. */
          commands: Type.Optional(Type.Array(Type.Union(CALLBACK_COMMANDS.map((c) => Type.Literal(c))), { minItems: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    /**
     * The console password as an scrypt hash from `rostrum hash-password` (never the password);
     * its format is checked below, where the message can say what it should be.
     */
    consolePassword: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/** The longest timer-backed setting, seconds: past 2^31 ms (24.8 days) a Node timer fires at once. */
const MAX_TIMER_SECONDS = 86_400;

export const ConfigSchema = Type.Object(
  {
    apps: Type.Optional(Type.Array(AppSchema)),
    /** Take the client IP from X-Forwarded-For: true, or a list of trusted proxy addresses/CIDRs. */
    trustProxy: Type.Optional(Type.Union([Type.Boolean(), Type.Array(Type.String())])),
    /** Largest request body accepted, bytes. */
    bodyLimit: Type.Optional(Type.Integer({ minimum: 1024 })),
    /** This process's id; prefixes realtime connection ids so a restart can clear its ghosts. */
    nodeId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' })),
    realtime: Type.Optional(
      Type.Object(
        {
          heartbeatSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TIMER_SECONDS })),
          maxBufferedBytes: Type.Optional(Type.Integer({ minimum: 1024 })),
          /** A dropped connection's members keep their place this long (a reconnect resumes). */
          seatGraceSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: MAX_TIMER_SECONDS })),
          /** Events a reconnecting client missed are replayed if at most this old. */
          resumeWindowSeconds: Type.Optional(Type.Number({ minimum: 0 })),
          /** Members above which entries/exits are announced as coalesced counts. */
          audienceThreshold: Type.Optional(Type.Integer({ minimum: 0 })),
          /** Audience mode: at most one member-count update per room this often, ms. */
          memberCountIntervalMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 3_600_000 })),
          /** Chat messages per second per user (bursts of twice that); 0 = unlimited. */
          messagesPerSecond: Type.Optional(Type.Number({ minimum: 0 })),
          /** Open connections per user on one node; 0 = unlimited. */
          maxConnectionsPerUser: Type.Optional(Type.Integer({ minimum: 0 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** Callback delivery: per-delivery timeout, give-up age, given-up retention, deliveries in flight per app, order. */
    callbacks: Type.Optional(
      Type.Object(
        {
          timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000 })),
          giveUpHours: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
          /** Given-up deliveries are removed this long after they were given up; absent = kept until re-sent or discarded. */
          keepFailedDays: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
          concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
          /** 'room' (default): a room's callbacks one at a time, in order; 'none': in parallel too. */
          order: Type.Optional(Type.Union(CALLBACK_ORDERS.map((o) => Type.Literal(o)))),
          relayNice: Type.Optional(Type.Integer({ minimum: 0, maximum: 19 })),
          /** 'deny' keeps deliveries off loopback, private and link-local addresses; default 'allow'. */
          privateAddresses: Type.Optional(Type.Union(PRIVATE_ADDRESS_POLICIES.map((p) => Type.Literal(p)))),
        },
        { additionalProperties: false },
      ),
    ),
    /** Outbox retention, hours. */
    outboxRetentionHours: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    /** Chat history retention, hours. */
    chatRetentionHours: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    /** Where state is kept: 'sqlite' (default, in the data dir), a postgres:// URL, or 'memory'. */
    store: Type.Optional(Type.String({ minLength: 1 })),
    /** How committed events reach every node: 'local' (default, one process) or a redis:// URL. */
    bus: Type.Optional(Type.String({ minLength: 1 })),
    /** HTTP timeouts, seconds: slow and idle connections are closed. */
    timeouts: Type.Optional(
      Type.Object(
        {
          /** Request headers (and a WebSocket upgrade request: the handshake) must arrive within this. */
          headersSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: MAX_TIMER_SECONDS })),
          /** A whole request, body included. */
          requestSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: MAX_TIMER_SECONDS })),
          /** An idle keep-alive connection is closed after this. */
          keepAliveSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: MAX_TIMER_SECONDS })),
        },
        { additionalProperties: false },
      ),
    ),
    /** Audit log retention, days (default 90). */
    auditRetentionDays: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  },
  { additionalProperties: false },
);

export type FileConfig = Static<typeof ConfigSchema>;

export class ConfigError extends Error {}

/**
 * Which store a `store` setting names. 'memory' keeps nothing across restarts: for tests and
 * benchmarks only.
 */
export type StoreSpec = { kind: 'sqlite' } | { kind: 'memory' } | { kind: 'postgres'; url: string };

/** Reads a `store` setting (absent = SQLite); ConfigError when it names no supported store. */
export function parseStoreSpec(spec: string | undefined, key = 'store'): StoreSpec {
  if (spec === undefined || spec === 'sqlite') return { kind: 'sqlite' };
  if (spec === 'memory') return { kind: 'memory' };
  if (/^postgres(ql)?:/i.test(spec)) {
    if (!URL.canParse(spec)) throw new ConfigError(`invalid ${key}: ${redactStore(spec)} is not a valid PostgreSQL URL`);
    try {
      parsePostgresUrl(spec); // the adapter's own reading (schema=): refused here, before anything starts
    } catch (e) {
      throw new ConfigError(`invalid ${key}: ${(e as Error).message}`);
    }
    return { kind: 'postgres', url: spec };
  }
  throw new ConfigError(`invalid ${key}: unsupported store ${JSON.stringify(redactStore(spec))}; use sqlite, memory or a postgres:// URL`);
}

/** Which event bus a `bus` setting names: in-process (default) or Redis, shared by several nodes. */
export type BusSpec = { kind: 'local' } | { kind: 'redis'; url: string };

/** Reads a `bus` setting (absent = local); ConfigError when it names no supported bus. */
export function parseBusSpec(spec: string | undefined, key = 'bus'): BusSpec {
  if (spec === undefined || spec === 'local') return { kind: 'local' };
  if (/^rediss?:/i.test(spec)) {
    if (!URL.canParse(spec)) throw new ConfigError(`invalid ${key}: ${redactStore(spec)} is not a valid Redis URL`);
    const prefix = new URL(spec).searchParams.get('prefix');
    if (prefix !== null && !/^[A-Za-z0-9_.:-]{1,64}$/.test(prefix)) {
      throw new ConfigError(`invalid ${key}: prefix must be 1..64 letters, digits or _ . : -`);
    }
    return { kind: 'redis', url: spec };
  }
  throw new ConfigError(`invalid ${key}: unsupported bus ${JSON.stringify(redactStore(spec))}; use local or a redis:// URL`);
}

/**
 * The store (or bus) setting with any password replaced, for logs and error messages: in the
 * user info, up to the last @ (a password may hold an unencoded @, / or #: the URL may then not
 * even parse), and in the query (`password`, `sslpassword`, which the PostgreSQL client takes).
 */
export function redactStore(spec: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/is.exec(spec);
  if (!m) return spec;
  let rest = m[2];
  const at = rest.lastIndexOf('@');
  const colon = rest.indexOf(':');
  if (at >= 0 && colon >= 0 && colon < at) rest = `${rest.slice(0, colon)}:***${rest.slice(at)}`;
  return m[1] + rest.replace(/([?&][a-z]*pass(?:word)?=)[^&#]*/gi, '$1***');
}

/** Validates a parsed config, throwing ConfigError that names the offending key. */
export function parseConfig(raw: unknown): FileConfig {
  const first = Value.Errors(ConfigSchema, raw).First();
  if (first) {
    throw new ConfigError(`invalid config: ${errorPath(first) || '(root)'}: ${errorMessage(first)}`);
  }
  const cfg = raw as FileConfig;
  if (cfg.store !== undefined) parseStoreSpec(cfg.store, 'config: store');
  if (cfg.bus !== undefined) parseBusSpec(cfg.bus, 'config: bus');
  if (Array.isArray(cfg.trustProxy)) {
    for (const [i, entry] of cfg.trustProxy.entries()) {
      try {
        proxyaddr.compile(entry);
      } catch {
        // Else the HTTP server refuses it only once the store is open, without naming the key.
        throw new ConfigError(`invalid config: trustProxy.${i}: ${JSON.stringify(entry)} is not an IP address, a CIDR range, loopback, linklocal or uniquelocal`);
      }
    }
  }
  const seen = new Set<number>();
  const polyvSeen = new Set<string>();
  for (const [i, a] of (cfg.apps ?? []).entries()) {
    if (a.callback && !isCallbackUrl(a.callback.url)) {
      throw new ConfigError(`invalid config: apps.${i}.callback.url: not an absolute http(s) URL of at most ${MAX_CALLBACK_URL} characters without a user or password`);
    }
    const refused = a.callback && callbackUrlProblem(a.callback.url, cfg.callbacks?.privateAddresses ?? 'allow');
    if (refused) throw new ConfigError(`invalid config: apps.${i}.callback.url: ${refused}`);
    if (seen.has(a.sdkAppId)) throw new ConfigError(`invalid config: apps.${i}.sdkAppId: duplicate ${a.sdkAppId}`);
    const hashProblem = a.consolePassword === undefined ? null : passwordHashProblem(a.consolePassword);
    if (hashProblem) throw new ConfigError(`invalid config: apps.${i}.consolePassword: ${hashProblem}`);
    seen.add(a.sdkAppId);
    if (a.polyv) {
      if (polyvSeen.has(a.polyv.appId)) throw new ConfigError(`invalid config: apps.${i}.polyv.appId: duplicate ${a.polyv.appId}`);
      polyvSeen.add(a.polyv.appId);
    }
  }
  return cfg;
}

export function readConfigFile(path: string): FileConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${jsonProblem(e as Error, text)}`);
  }
  return parseConfig(raw);
}

/**
 * What is wrong with a config file's JSON, and where (line, column), without the text around it:
 * the parser's own message may quote the file, and a secret key may be right there.
 */
function jsonProblem(e: Error, text: string): string {
  const m = /^(.*?) in JSON at position (\d+)/.exec(e.message);
  if (m) {
    const pos = Number(m[2]);
    const before = text.slice(0, pos);
    const line = before.split('\n').length;
    const column = pos - before.lastIndexOf('\n');
    return `${m[1].charAt(0).toLowerCase()}${m[1].slice(1)} at line ${line}, column ${column}`;
  }
  if (e.message.startsWith('Unexpected end of JSON input')) return 'it ends too early';
  // "Unexpected token 'x', ..."<the file's text>"... is not valid JSON": only where.
  const at = unexpectedAt(text);
  return at === null ? 'unexpected character' : `unexpected character at line ${at.line}, column ${at.column}`;
}

/** Where JSON.parse stopped, found by parsing ever longer prefixes (the parser does not say). */
function unexpectedAt(text: string): { line: number; column: number } | null {
  // The longest prefix that still parses, or fails only for ending early, ends before the culprit.
  let lo = 0;
  let hi = text.length;
  const endsEarly = (n: number) => {
    try {
      JSON.parse(text.slice(0, n));
      return true;
    } catch (e) {
      return (e as Error).message.startsWith('Unexpected end of JSON input') || /^Unterminated string/.test((e as Error).message);
    }
  };
  if (!endsEarly(lo)) return null;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (endsEarly(mid)) lo = mid;
    else hi = mid - 1;
  }
  const before = text.slice(0, lo);
  return { line: before.split('\n').length, column: lo - before.lastIndexOf('\n') };
}

export function toApp(a: NonNullable<FileConfig['apps']>[number]): App {
  return {
    sdkAppId: a.sdkAppId,
    secretKey: a.secretKey,
    admins: a.admins,
    rateLimit: {
      perCommandPerSecond: a.rateLimit?.perCommandPerSecond ?? 200,
      perEndpointPerSecond: a.rateLimit?.perEndpointPerSecond ?? 200,
    },
    polyv: a.polyv,
    ...(a.callback ? { callback: a.callback } : {}),
    consolePassword: a.consolePassword,
  };
}

/** The configured apps, looked up by Tencent SDKAppID or by Polyv appId. */
export class AppRegistry {
  private readonly bySdkAppId = new Map<number, App>();
  private readonly byPolyvAppId = new Map<string, App>();

  constructor(apps: App[]) {
    for (const a of apps) {
      this.bySdkAppId.set(a.sdkAppId, a);
      if (a.polyv) this.byPolyvAppId.set(a.polyv.appId, a);
    }
  }

  get(sdkAppId: number): App | undefined {
    return this.bySdkAppId.get(sdkAppId);
  }

  getByPolyvAppId(appId: string): App | undefined {
    return this.byPolyvAppId.get(appId);
  }

  all(): App[] {
    return [...this.bySdkAppId.values()];
  }
}
