// The per-user chat rate limit of the realtime gateway: a token bucket per (app, user) on this
// node, shared by the user's connections. A message over the limit is refused with 110014.
import type { AppId } from '../core/model.js';

interface Bucket {
  tokens: number;
  at: number;
}

export class MessageRate {
  private readonly buckets = new Map<string, Bucket>();
  private readonly burst: number;

  constructor(
    /** Messages per second, sustained; 0 = unlimited. */
    private readonly perSecond: number,
    burst?: number,
  ) {
    this.burst = burst ?? Math.max(1, perSecond * 2);
  }

  /** Takes one message from the user's bucket; false when it is empty. */
  take(appId: AppId, userId: string, now = Date.now()): boolean {
    if (this.perSecond <= 0) return true;
    const key = `${appId}\n${userId}`;
    const b = this.buckets.get(key);
    if (!b) {
      this.buckets.set(key, { tokens: this.burst - 1, at: now });
      return true;
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Forgets full buckets (called now and then, so idle users cost nothing). */
  sweep(now = Date.now()): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(key);
    }
  }
}
