// A Polyv API client for tests, signing requests the way Polyv's SDKs do (written apart from the
// server's code so that each checks the other):
// - sign = upper-case hex MD5 (or SHA-256 with signatureMethod=SHA256) of
//   appSecret + key1value1key2value2… + appSecret, parameters sorted by key, `sign` excluded;
// - 'java' style (Java SDK): blank values are left out of the sign, a random requestId is added,
//   classic parameters go in a form body;
// - 'ts' style (TypeScript SDK): blank values are signed, signatureMethod is not, everything
//   goes in the query string;
// - 'php' style (PHP samples): everything signed and sent in the query string.
// JSON-body endpoints (v4 kick/unkick) sign the query parameters only.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import type { App } from '../../src/core/model.js';
import { APP, asAdmin, type TestServer } from './harness.js';

export type Style = 'java' | 'ts' | 'php';

export interface PolyvCallOptions {
  app?: App;
  method?: 'GET' | 'POST';
  style?: Style;
  /** A JSON body (v4 endpoints): the parameters then go in the query string, and only they are signed. */
  json?: unknown;
  /** Raw body text (with `contentType`), sent as is; parameters go in the query string. */
  rawBody?: string;
  contentType?: string;
  /** Default: now. */
  timestamp?: number | string;
  signatureMethod?: 'MD5' | 'SHA256';
  /** Send this sign instead of the computed one. */
  sign?: string;
  /** Leave these parameters out of the request. */
  omit?: ('appId' | 'timestamp' | 'sign')[];
  /** Parameters sent but not signed (to check the server refuses them). */
  unsigned?: Record<string, string>;
}

export interface PolyvAnswer {
  httpStatus: number;
  code: number;
  status: string;
  message: string;
  data: any;
  /** Sends the very same request again (same timestamp, same sign). */
  again(): Promise<PolyvAnswer>;
}

type Pairs = [string, string][];

export function polyvTestSign(pairs: Pairs, appSecret: string, method: 'MD5' | 'SHA256' = 'MD5'): string {
  const sorted = pairs.filter(([k]) => k !== 'sign').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const plain = appSecret + sorted.map(([k, v]) => k + v).join('') + appSecret;
  return createHash(method === 'SHA256' ? 'sha256' : 'md5').update(plain, 'utf8').digest('hex').toUpperCase();
}

function signFor(pairs: Pairs, appSecret: string, style: Style, method: 'MD5' | 'SHA256'): string {
  if (style === 'java') return polyvTestSign(pairs.filter(([, v]) => v.trim() !== ''), appSecret, method);
  if (style === 'ts') return polyvTestSign(pairs.filter(([k]) => k !== 'signatureMethod'), appSecret, method);
  return polyvTestSign(pairs, appSecret, method);
}

// Each call gets its own millisecond, so two identical calls are never the same request (the
// server refuses a sign it has seen). Replays are sent on purpose with `again()`.
let lastTimestamp = 0;
function nextTimestamp(): number {
  lastTimestamp = Math.max(Date.now(), lastTimestamp + 1);
  return lastTimestamp;
}

function encode(pairs: Pairs): string {
  return new URLSearchParams(pairs).toString();
}

export async function polyvCall(
  baseUrl: string,
  path: string,
  params: Record<string, string | number | undefined> = {},
  opts: PolyvCallOptions = {},
): Promise<PolyvAnswer> {
  const app = opts.app ?? APP;
  const style = opts.style ?? 'php';
  const omit = new Set(opts.omit ?? []);
  const pairs: Pairs = [];
  if (!omit.has('appId')) pairs.push(['appId', app.polyv!.appId]);
  if (!omit.has('timestamp')) pairs.push(['timestamp', String(opts.timestamp ?? nextTimestamp())]);
  if (style === 'java') pairs.push(['requestId', randomUUID().replace(/-/g, '')]);
  if (opts.signatureMethod) pairs.push(['signatureMethod', opts.signatureMethod]);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) pairs.push([k, String(v)]);
  const sign = opts.sign ?? signFor(pairs, app.polyv!.appSecret, style, opts.signatureMethod ?? 'MD5');
  if (!omit.has('sign')) pairs.push(['sign', sign]);
  for (const [k, v] of Object.entries(opts.unsigned ?? {})) pairs.push([k, v]);

  const method = opts.method ?? 'POST';
  let query = encode(pairs);
  let body: string | undefined;
  const headers: Record<string, string> = {};
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['content-type'] = 'application/json';
  } else if (opts.rawBody !== undefined) {
    body = opts.rawBody;
    if (opts.contentType) headers['content-type'] = opts.contentType;
  } else if (style === 'java' && method === 'POST') {
    body = query;
    query = '';
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const url = `${baseUrl}${path}${query ? `?${query}` : ''}`;
  const send = async (): Promise<PolyvAnswer> => {
    const res = await fetch(url, { method, headers, body });
    const text = await res.text();
    let parsed: any;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`not JSON (HTTP ${res.status}): ${text.slice(0, 200)}`);
    }
    return { httpStatus: res.status, code: parsed.code, status: parsed.status, message: parsed.message, data: parsed.data, again: send };
  };
  return send();
}

/** A client bound to a test server: `polyv(path, params, opts)`. */
export function polyvClient(s: TestServer, defaults: PolyvCallOptions = {}) {
  return (path: string, params: Record<string, string | number | undefined> = {}, opts: PolyvCallOptions = {}) =>
    polyvCall(s.url, path, params, { ...defaults, ...opts });
}

/** Asserts a successful answer and returns its data. */
export function ok(a: PolyvAnswer): any {
  if (a.code !== 200 || a.httpStatus !== 200 || a.status !== 'success' || a.message !== '') {
    throw new Error(`expected success, got HTTP ${a.httpStatus} ${JSON.stringify({ code: a.code, status: a.status, message: a.message, data: a.data })}`);
  }
  return a.data;
}

/** Asserts a failure: HTTP status and `code` equal, the documented message, empty data. */
export function assertError(a: PolyvAnswer, code: number, message: string): void {
  assert.deepEqual({ http: a.httpStatus, code: a.code, message: a.message, data: a.data }, { http: code, code, message, data: '' });
}

/** Creates a room through the core, as the app's admin. */
export async function createRoom(s: TestServer, roomId: string, app: App = APP) {
  return asAdmin(s, { type: 'createRoom', roomId }, app);
}
