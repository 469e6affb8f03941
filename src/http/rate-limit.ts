// Per-key fixed one-second windows (key = app + command), counted through the Limits port: in
// this process (answered without a promise), or shared by the nodes (Redis).
import { LocalLimits } from '../core/local-limits.js';
import type { Limits } from '../core/ports/limits.js';

export class RateLimiter {
  constructor(
    private readonly limits: Limits = new LocalLimits(),
    private readonly clock: () => number = Date.now,
  ) {}

  /** Counts one call; false when `key` is over `perSecond` in the current second (0 = unlimited). */
  take(key: string, perSecond: number): boolean | Promise<boolean> {
    if (perSecond <= 0) return true;
    return this.limits.rate(key, perSecond, this.clock());
  }
}

