// A bound on the realtime ops running at once, over all connections. When thousands of viewers
// enter at the same moment and every op starts at once, each runs as soon as the one before it
// releases the room: thousands of entries back to back in one stretch of the event loop, with
// `/healthz` and every other request waiting behind them. Ops beyond the bound wait, in arrival
// order, as a closure each, and start as running ones finish: a group's entries join one batch,
// which commits at the end of the turn, and the loop serves other I/O between groups.

export class OpSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly max: number) {}

  /** Runs `task` in a slot: now if one is free, else once one is (first come, first served). */
  async run(task: () => Promise<void>): Promise<void> {
    if (this.running < this.max) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      await task();
    } finally {
      // The slot goes straight to the next waiting op, or is freed.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
