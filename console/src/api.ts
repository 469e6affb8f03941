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

async function call<T>(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown): Promise<T> {
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

export function time(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  return new Date(ms).toLocaleString();
}
