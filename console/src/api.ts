// The console's calls: the native API and the console's own endpoints, with the session cookie
// (sent by the browser) and the CSRF token on every change.
export interface Me {
  sdkAppId: number;
  identifier: string;
  csrf: string;
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let csrf = '';

export function setSession(me: Me | null): void {
  csrf = me?.csrf ?? '';
}

/**
 * A path with a "." or ".." step (a room of that name, encoded or not: %2e is a dot to a URL)
 * would reach another route once the browser resolves it: /rooms/../ban is /ban, app-wide.
 */
const DOT_STEP = /\/(?:\.|%2e){1,2}(?:[/?#]|$)/i;

async function call<T>(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown): Promise<T> {
  if (DOT_STEP.test(url)) throw new ApiError(0, 'unaddressable', 'a room called "." or ".." cannot be named in an API path; nothing was sent');
  const headers: Record<string, string> = {};
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  // Only a POST has a body: a JSON content type on an empty DELETE would make it an empty JSON body.
  if (method === 'POST') headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined, credentials: 'same-origin' });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, json?.error?.code ?? 'http_' + res.status, json?.error?.message ?? res.statusText);
  return json as T;
}

export const api = {
  get: <T = any>(path: string) => call<T>('GET', `/api/v1${path}`),
  post: <T = any>(path: string, body: unknown = {}) => call<T>('POST', `/api/v1${path}`, body),
  del: <T = any>(path: string) => call<T>('DELETE', `/api/v1${path}`),
  me: () => call<Me>('GET', '/console/session'),
  signIn: (body: unknown) => call<Me>('POST', '/console/session', body),
  signOut: () => call('POST', '/console/session/end'),
  stats: () => call<any>('GET', '/console/stats'),
};

export const enc = encodeURIComponent;

/** Whether a room can be named in an API path: not "." nor ".." (see DOT_STEP). */
export const addressable = (roomId: string) => roomId !== '.' && roomId !== '..';

export function time(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  return new Date(ms).toLocaleString();
}
