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

/**
 * The callback URL: the configured one with Tencent's query parameters added at its end, in
 * Tencent's order (SdkAppid, CallbackCommand, contenttype, ClientIP, OptPlatform, then Sign and
 * RequestTime with a token). The configured URL's own query is kept byte for byte (it may carry
 * the receiver's own key or signature); only a fragment is dropped, as HTTP never sends one.
 */
export function callbackUrl(base: string, q: CallbackQuery): string {
  const u = new URL(base);
  u.hash = '';
  let params = `SdkAppid=${q.sdkAppId}&CallbackCommand=${encodeURIComponent(q.command)}&contenttype=json&ClientIP=&OptPlatform=RESTAPI`;
  if (q.token) {
    const t = q.requestTime ?? Math.floor(Date.now() / 1000);
    params += `&Sign=${signOf(q.token, t)}&RequestTime=${t}`;
  }
  const href = u.href;
  const sep = u.search === '' ? (href.endsWith('?') ? '' : '?') : href.endsWith('&') ? '' : '&';
  return `${href}${sep}${params}`;
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
