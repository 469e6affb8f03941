// Per-key fixed one-second windows (key = app + command). In-process; a shared limiter for
// several nodes would keep the same interface.
export class RateLimiter {
  private window = 0;
  private counts = new Map<string, number>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** Counts one call; false when `key` is over `perSecond` in the current second. */
  take(key: string, perSecond: number): boolean {
    if (perSecond <= 0) return true; // 0 = unlimited
    const w = Math.floor(this.clock() / 1000);
    if (w !== this.window) {
      this.window = w;
      this.counts = new Map();
    }
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    return n <= perSecond;
  }
}
