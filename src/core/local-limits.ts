// The in-process Limits: one node's counts in its memory, answered synchronously. It is what a
// single node uses, and what the shared (Redis) adapter falls back to while Redis is away.
import type { Limits } from './ports/limits.js';

interface Failure {
  at: number;
  /** '' for a failure recorded as such; the attempt's id for one counted by attemptReserved. */
  id: string;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class LocalLimits implements Limits {
  private window = 0;
  private counts = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();
  private nextBucketSweep = 0;
  /**
   * Failures by key, oldest first, with the window they were counted in (features count in their
   * own). An attempt counted ahead of its check (attemptReserved) carries its id, to be taken back.
   */
  private readonly failures = new Map<string, { times: Failure[]; windowMs: number }>();
  private nextFailureSweep = 0;

  rate(key: string, perSecond: number, now: number): boolean {
    if (perSecond <= 0) return true;
    const w = Math.floor(now / 1000);
    if (w !== this.window) {
      this.window = w;
      this.counts = new Map();
    }
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    return n <= perSecond;
  }

  chat(key: string, perSecond: number, burst: number, now: number): boolean {
    if (perSecond <= 0) return true;
    this.sweepBuckets(perSecond, burst, now);
    const b = this.buckets.get(key);
    if (!b) {
      this.buckets.set(key, { tokens: burst - 1, at: now });
      return true;
    }
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Forgets full buckets (at most every 10 s), so idle users cost nothing. */
  private sweepBuckets(perSecond: number, burst: number, now: number): void {
    if (now < this.nextBucketSweep) return;
    this.nextBucketSweep = now + 10_000;
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * perSecond >= burst) this.buckets.delete(key);
    }
  }

  private recent(key: string, windowMs: number, now: number): Failure[] {
    const entry = this.failures.get(key);
    if (!entry) return [];
    const { times } = entry;
    while (times.length > 0 && times[0].at <= now - windowMs) times.shift();
    if (times.length === 0) this.failures.delete(key);
    return times;
  }

  attemptsRetryAfter(keys: readonly string[], max: number, windowMs: number, now: number): number {
    let wait = 0;
    for (const k of keys) {
      const times = this.recent(k, windowMs, now);
      // The max-th latest failure must leave the window (a key keeps at most max).
      if (times.length >= max) wait = Math.max(wait, times[times.length - max].at + windowMs - now);
    }
    return wait;
  }

  /** `id`: the attempt's, when it may be taken back (attemptReleased). */
  attemptFailed(keys: readonly string[], max: number, windowMs: number, now: number, id = ''): void {
    this.sweepFailures(windowMs, now);
    for (const k of keys) {
      const times = this.recent(k, windowMs, now);
      // In time order, though a node's clock reading may be a little behind the latest.
      let i = times.length;
      while (i > 0 && times[i - 1].at > now) i--;
      times.splice(i, 0, { at: now, id });
      if (times.length > max) times.shift();
      this.failures.set(k, { times, windowMs });
    }
  }

  /** Synchronous, so nothing comes between the check and the count. */
  attemptReserved(keys: readonly string[], max: number, windowMs: number, now: number, id: string): number {
    const wait = this.attemptsRetryAfter(keys, max, windowMs, now);
    if (wait > 0) return wait;
    this.attemptFailed(keys, max, windowMs, now, id);
    return 0;
  }

  attemptReleased(keys: readonly string[], id: string): void {
    for (const k of keys) {
      const entry = this.failures.get(k);
      if (!entry) continue;
      const i = entry.times.findIndex((f) => f.id === id);
      if (i >= 0) entry.times.splice(i, 1);
      if (entry.times.length === 0) this.failures.delete(k);
    }
  }

  attemptsCleared(keys: readonly string[]): void {
    for (const k of keys) this.failures.delete(k);
  }

  /**
   * Forgets keys with no failure within their own window (at most once per the caller's): a
   * feature with a short window must not cut short another's longer one.
   */
  private sweepFailures(windowMs: number, now: number): void {
    if (now < this.nextFailureSweep) return;
    this.nextFailureSweep = now + windowMs;
    for (const [key, entry] of [...this.failures]) this.recent(key, entry.windowMs, now);
  }

  async close(): Promise<void> {
    this.counts.clear();
    this.buckets.clear();
    this.failures.clear();
  }
}

/** The process-wide in-process limits (an engine made without its own shares these). */
export const PROCESS_LIMITS = new LocalLimits();
