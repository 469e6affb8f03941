// Work on thousands of items at once, done a slice per event-loop turn so that the loop serves
// I/O (other requests, /healthz) in between. A member-count update to a room of 5,000 is 5,000
// socket writes, about 50 ms of one core; a join storm brings hundreds of WebSocket handshakes
// in one poll of the loop, about 250 µs each. Done in one go, either held everything else up for
// as long. Jobs run in the order they came, so each member gets its frames in order.

interface Job<T> {
  items: readonly T[];
  each: (item: T) => void;
  next: number;
}

export class Pacer {
  private readonly jobs: Job<never>[] = [];
  /** Items still allowed before the loop turns. */
  private left: number;
  /** Set from the first item of a turn: the next turn, which gives a fresh allowance. */
  private scheduled: NodeJS.Immediate | null = null;

  /** `perTurn`: items done per event-loop turn; `onError`: what an item threw (the others go on). */
  constructor(
    private readonly perTurn: number,
    private readonly onError: (err: unknown) => void,
  ) {
    this.left = perTurn;
  }

  /** Runs `each` over `items`: what this turn's allowance covers now (when nothing waits), the rest on later turns. */
  run<T>(items: readonly T[], each: (item: T) => void): void {
    if (items.length === 0) return;
    this.jobs.push({ items, each, next: 0 } as unknown as Job<never>);
    if (this.jobs.length === 1) this.work();
  }

  /** Does everything still waiting now (shutdown). */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    this.left = this.perTurn;
    for (const job of this.jobs.splice(0)) while (job.next < job.items.length) this.do(job);
  }

  private do(job: Job<never>): void {
    try {
      job.each(job.items[job.next++]);
    } catch (err) {
      this.onError(err);
    }
  }

  private work(): void {
    while (this.jobs.length > 0 && this.left > 0) {
      const job = this.jobs[0];
      const end = Math.min(job.items.length, job.next + this.left);
      this.left -= end - job.next;
      while (job.next < end) this.do(job);
      if (job.next === job.items.length) this.jobs.shift();
    }
    this.scheduled ??= setImmediate(this.turn);
  }

  private readonly turn = (): void => {
    this.scheduled = null;
    this.left = this.perTurn;
    if (this.jobs.length > 0) this.work();
  };
}
