// Messages per second per app, for the console's overview: counted from the bus over a
// sliding window of whole seconds.
import type { Bus } from '../core/ports/bus.js';

const WINDOW = 10;

export class MessageRate {
  /** app -> counts of the last WINDOW seconds, by second (ring). */
  private readonly counts = new Map<number, { second: number; buckets: number[] }>();
  private readonly off: () => void;

  constructor(bus: Bus, private readonly clock: () => number = Date.now) {
    this.off = bus.subscribe((e) => {
      if (e.type === 'messageReceived') this.bump(e.appId);
    });
  }

  private roll(appId: number): { second: number; buckets: number[] } {
    const now = Math.floor(this.clock() / 1000);
    let c = this.counts.get(appId);
    if (!c) this.counts.set(appId, (c = { second: now, buckets: new Array(WINDOW).fill(0) }));
    for (let s = c.second + 1; s <= now && s <= c.second + WINDOW; s++) c.buckets[s % WINDOW] = 0;
    c.second = now;
    return c;
  }

  private bump(appId: number): void {
    const c = this.roll(appId);
    c.buckets[c.second % WINDOW]++;
  }

  /** Messages per second over the last WINDOW seconds. */
  perSecond(appId: number): number {
    const c = this.roll(appId);
    return Math.round((c.buckets.reduce((a, b) => a + b, 0) / WINDOW) * 10) / 10;
  }

  close(): void {
    this.off();
  }
}
