// Console sessions and sign-in throttling. The session id travels only in an HttpOnly
// SameSite=Strict cookie; the CSRF token is handed to the page and must come back in
// X-CSRF-Token on every change. Sessions are kept by a SessionStore: this process's memory (one
// node: a restart signs operators out), or Redis shared by the nodes of a cluster, so that any
// node behind the load balancer serves an operator's next request.
import { createHash, randomBytes } from 'node:crypto';
import { safeEqual } from '../auth/safe-equal.js';
import type { AppId } from '../core/model.js';
import type { Limits } from '../core/ports/limits.js';

export interface Session {
  id: string;
  appId: AppId;
  identifier: string;
  csrf: string;
  expiresAt: number;
}

export const COOKIE = 'rostrum_console';

/**
 * A session's CSRF token, derived from its id (one way): only the holder of the cookie can know
 * it, and a store need not keep it (what Redis holds is then no credential at all).
 */
export function csrfFor(id: string): string {
  return createHash('sha256').update(`csrf\n${id}`).digest('base64url').slice(0, 32);
}

type MaybePromise<T> = T | Promise<T>;

/** Where sessions live until they expire. */
export interface SessionStore {
  put(s: Session): MaybePromise<void>;
  /** The session, or null (unknown or expired). */
  get(id: string, now: number): MaybePromise<Session | null>;
  delete(id: string): MaybePromise<void>;
}

/** This process's sessions. */
export class MemorySessionStore implements SessionStore {
  private readonly byId = new Map<string, Session>();

  put(s: Session): void {
    const now = Date.now();
    for (const [id, old] of this.byId) if (now >= old.expiresAt) this.byId.delete(id);
    this.byId.set(s.id, s);
  }

  get(id: string, now: number): Session | null {
    const s = this.byId.get(id);
    if (!s) return null;
    if (now >= s.expiresAt) {
      this.byId.delete(id);
      return null;
    }
    return s;
  }

  delete(id: string): void {
    this.byId.delete(id);
  }
}

export class Sessions {
  constructor(
    private readonly store: SessionStore = new MemorySessionStore(),
    private readonly ttlMs = 8 * 3600_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** A session ends after the TTL, or at `notAfter` (ms) when sooner: a UserSig's own expiry. */
  async create(appId: AppId, identifier: string, notAfter = Infinity): Promise<Session> {
    const id = randomBytes(32).toString('base64url');
    const s: Session = { id, appId, identifier, csrf: csrfFor(id), expiresAt: Math.min(this.clock() + this.ttlMs, notAfter) };
    await this.store.put(s);
    return s;
  }

  get(id: string | undefined): MaybePromise<Session | null> {
    if (!id) return null;
    return this.store.get(id, this.clock());
  }

  async delete(id: string): Promise<void> {
    await this.store.delete(id);
  }

  csrfMatches(s: Session, token: unknown): boolean {
    return typeof token === 'string' && safeEqual(token, s.csrf);
  }
}

/**
 * Failed sign-ins per key (the client IP, and the account tried), counted through the Limits
 * (this node's, or the cluster's in Redis, so a guesser meets one limit whichever node it tries):
 * after `max` failures within `windowMs`, further attempts are refused until the oldest of them
 * is `windowMs` old. An attempt is counted before its credentials are checked, in one step with
 * the check of the count (a burst of guesses cannot all pass the check before any of them is
 * counted), and taken back when it turns out to be no failure. A success clears the account's count.
 */
export class SignInThrottle {
  constructor(
    private readonly limits: Limits,
    private readonly max = 5,
    private readonly windowMs = 15 * 60_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Counts an attempt on the keys: `wait` seconds when one of them is at the limit (nothing is
   * counted then), else 0 and the attempt's id for `succeeded` or `notCounted`.
   */
  async begin(keys: string[]): Promise<{ wait: number; id: string }> {
    const id = randomBytes(12).toString('base64url');
    const ms = await this.limits.attemptReserved(keys.map(throttleKey), this.max, this.windowMs, this.clock(), id);
    return { wait: Math.ceil(ms / 1000), id };
  }

  /** The attempt was no failure (not a wrong credential): it no longer counts. */
  async notCounted(keys: string[], id: string): Promise<void> {
    await this.limits.attemptReleased(keys.map(throttleKey), id);
  }

  /** The attempt signed in: it no longer counts, and `clear`'s earlier failures are forgotten. */
  async succeeded(keys: string[], id: string, clear: string | null): Promise<void> {
    await this.notCounted(keys, id);
    if (clear !== null) await this.limits.attemptsCleared([throttleKey(clear)]);
  }
}

/** Apart from the room passwords' keys, which start with an app id. */
const throttleKey = (key: string) => `console\n${key}`;
