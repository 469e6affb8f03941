// The locks of the in-process store: per app a reader/writer lock, per room a FIFO mutex. An
// uncontended acquire allocates no promise beyond the caller's own await: the hot path (one
// command, one room) never waits on a timer or a queue.

/** A FIFO mutex. `acquire()` resolves when the caller holds it. */
export class Mutex {
  private held = false;
  private readonly waiters: (() => void)[] = [];

  /** True when nobody holds it or waits for it (so its owner may drop it). */
  get idle(): boolean {
    return !this.held && this.waiters.length === 0;
  }

  acquire(): Promise<void> | undefined {
    if (!this.held) {
      this.held = true;
      return undefined;
    }
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next(); // handed over: stays held
    else this.held = false;
  }
}

export type LockMode = 'shared' | 'exclusive';

/**
 * A reader/writer lock granted in arrival order: a shared request queued behind an exclusive one
 * waits for it, so a stream of shared holders cannot starve an exclusive one.
 */
export class RwLock {
  private shared = 0;
  private exclusive = false;
  private readonly queue: { mode: LockMode; grant: () => void }[] = [];

  get idle(): boolean {
    return this.shared === 0 && !this.exclusive && this.queue.length === 0;
  }

  acquire(mode: LockMode): Promise<void> | undefined {
    if (this.queue.length === 0 && this.compatible(mode)) {
      this.take(mode);
      return undefined;
    }
    return new Promise<void>((grant) => this.queue.push({ mode, grant }));
  }

  release(mode: LockMode): void {
    if (mode === 'exclusive') this.exclusive = false;
    else this.shared--;
    while (this.queue.length > 0 && this.compatible(this.queue[0].mode)) {
      const next = this.queue.shift()!;
      this.take(next.mode);
      next.grant();
    }
  }

  private compatible(mode: LockMode): boolean {
    return mode === 'shared' ? !this.exclusive : !this.exclusive && this.shared === 0;
  }

  private take(mode: LockMode): void {
    if (mode === 'exclusive') this.exclusive = true;
    else this.shared++;
  }
}

/** The locks of one app. Room mutexes exist only while held or awaited. */
export class AppLocks {
  readonly app = new RwLock();
  private readonly rooms = new Map<string, Mutex>();

  lockRoom(roomId: string): Promise<void> | undefined {
    let m = this.rooms.get(roomId);
    if (!m) this.rooms.set(roomId, (m = new Mutex()));
    return m.acquire();
  }

  unlockRoom(roomId: string): void {
    const m = this.rooms.get(roomId);
    if (!m) return;
    m.release();
    if (m.idle) this.rooms.delete(roomId);
  }
}
