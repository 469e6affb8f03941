// The benchmark app and a small Tencent REST caller for setting things up.
import { randomBytes } from 'node:crypto';
import { genUserSig } from '../../src/auth/usersig.js';
import type { App } from '../../src/core/model.js';

export function benchApp(): App {
  return {
    sdkAppId: 1400000001,
    secretKey: randomBytes(16).toString('hex'),
    admins: ['administrator'],
    rateLimit: { perCommandPerSecond: 0, perEndpointPerSecond: 0 }, // no limit
  };
}

const queries = new WeakMap<App, string>();

/** The query string of an admin call (one sig, reused, as an app backend would). */
export function adminQuery(app: App): string {
  let q = queries.get(app);
  if (!q) {
    const sig = genUserSig(app.sdkAppId, app.secretKey, app.admins[0], 86400);
    q = `sdkappid=${app.sdkAppId}&identifier=${encodeURIComponent(app.admins[0])}&usersig=${encodeURIComponent(sig)}&random=12345&contenttype=json`;
    queries.set(app, q);
  }
  return q;
}

export interface TencentReply {
  ActionStatus: string;
  ErrorCode: number;
  ErrorInfo: string;
  Response?: any;
}

export async function tencent(port: number, app: App, path: string, body: unknown): Promise<TencentReply> {
  const res = await fetch(`http://127.0.0.1:${port}/v4/${path}?${adminQuery(app)}`, { method: 'POST', body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`HTTP ${res.status} for ${path}`);
  return (await res.json()) as TencentReply;
}

/** Same, but throws unless ErrorCode is 0. */
export async function tencentOk(port: number, app: App, path: string, body: unknown): Promise<TencentReply> {
  const r = await tencent(port, app, path, body);
  if (r.ErrorCode !== 0) throw new Error(`${path}: ${r.ErrorCode} ${r.ErrorInfo}`);
  return r;
}

/** The realtime gateway's URL for one user, with its UserSig. */
export function realtimeUrl(port: number, app: Pick<App, 'sdkAppId' | 'secretKey'>, userId: string): string {
  const sig = genUserSig(app.sdkAppId, app.secretKey, userId, 86400);
  return `ws://127.0.0.1:${port}/realtime?sdkappid=${app.sdkAppId}&userid=${encodeURIComponent(userId)}&usersig=${encodeURIComponent(sig)}`;
}
