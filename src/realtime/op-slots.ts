// A bound on the realtime ops running at once, over all connections. When thousands of viewers
// enter at the same moment and every op starts at once, each runs as soon as the one before it
// releases the room: thousands of entries back to back in one stretch of the event loop, with
// `/healthz` and every other request waiting behind them. Ops beyond the bound wait, in arrival
// order, as a closure each, and start as running ones finish: a group's entries join one batch,
// which commits at the end of the turn, and the loop serves other I/O between groups.

export class OpSlots {
  private running = 0;
  // Waiting ops as an array and the index of its head: `shift()` would move every closure behind
  // it, and a storm queues thousands. The taken head is cut off once it is half the array, and
  // the array starts afresh whenever the queue empties.
  private waiting: ((() => void) | undefined)[] = [];
  private head = 0;

  constructor(readonly max: number) {}

  /** Runs `task` in a slot: now if one is free, else once one is (first come, first served). */
  async run(task: () => Promise<void>): Promise<void> {
    if (this.running < this.max) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      await task();
    } finally {
      // The slot goes straight to the next waiting op, or is freed.
      const next = this.takeNext();
      if (next) next();
      else this.running--;
    }
  }

  private takeNext(): (() => void) | undefined {
    if (this.head === this.waiting.length) return undefined;
    const next = this.waiting[this.head];
    this.waiting[this.head++] = undefined;
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    return next;
  }
}
