// Refuses a sign that was already used. A Polyv timestamp is valid for 3 minutes either way, so
// without this a captured request could be sent again (and again) for up to 3 minutes.
// In-process: with several nodes behind a balancer this would move to the shared store
// (like the rate limiter), or the balancer must pin each app to one node.
export class ReplayGuard {
  /** appId + sign -> the time after which the timestamp check alone refuses that sign. */
  private readonly seen = new Map<string, number>();
  private nextSweep = 0;

  constructor(private readonly windowMs: number) {}

  /** Records this sign; false if it was already used while its timestamp is still valid. */
  firstUse(appId: string, sign: string, timestamp: number, now: number): boolean {
    this.sweep(now);
    const key = `${appId}\n${sign}`;
    const until = this.seen.get(key);
    if (until !== undefined && until >= now) return false;
    this.seen.set(key, timestamp + this.windowMs);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  /** Forgets signs whose timestamps have run out (at most every 10 s, so the cost stays small). */
  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + 10_000;
    for (const [key, until] of this.seen) {
      if (until < now) this.seen.delete(key);
    }
  }
}
