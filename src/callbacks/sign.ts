// Signing as Tencent signs callbacks: with a token set, the query carries RequestTime (unix
// seconds) and Sign = lowercase hex sha256(token + RequestTime). The body is not signed.
import { createHash } from 'node:crypto';
import { safeEqual } from '../auth/safe-equal.js';

export function signOf(token: string, requestTime: number | string): string {
  return createHash('sha256').update(`${token}${requestTime}`).digest('hex');
}

export interface CallbackQuery {
  sdkAppId: number;
  command: string;
  token?: string;
  /** Unix seconds; now when absent. */
  requestTime?: number;
}

/** The callback URL: the configured one with Tencent's query parameters appended. */
export function callbackUrl(base: string, q: CallbackQuery): string {
  const u = new URL(base);
  u.searchParams.set('SdkAppid', String(q.sdkAppId));
  u.searchParams.set('CallbackCommand', q.command);
  u.searchParams.set('contenttype', 'json');
  u.searchParams.set('ClientIP', '');
  u.searchParams.set('OptPlatform', 'RESTAPI');
  if (q.token) {
    const t = q.requestTime ?? Math.floor(Date.now() / 1000);
    u.searchParams.set('RequestTime', String(t));
    u.searchParams.set('Sign', signOf(q.token, t));
  }
  return u.toString();
}

/**
 * What a receiver checks (docs/webhooks.md shows the same in a few lines): the signature, and
 * that RequestTime is within `maxSkewSeconds` of now (a replayed, stale delivery fails).
 */
export function verifyCallback(query: URLSearchParams, token: string, nowSeconds = Math.floor(Date.now() / 1000), maxSkewSeconds = 60): boolean {
  const t = query.get('RequestTime');
  const sign = query.get('Sign');
  if (!t || !sign || !/^\d{1,12}$/.test(t)) return false;
  if (Math.abs(nowSeconds - Number(t)) > maxSkewSeconds) return false;
  return safeEqual(signOf(token, t), sign);
}
