// The Limits port: counts that bound how often something may happen (admin calls per second,
// chat messages per user, wrong room passwords). One node keeps them in its memory; several
// nodes share them (Redis) so a limit holds for the cluster, not per node. An answer is either a
// value (the in-process adapter: no promise, no allocation on the hot path) or a promise of one.

export type MaybePromise<T> = T | Promise<T>;

export interface Limits {
  /**
   * Counts one call of `key` in the current fixed one-second window; false when it is over
   * `perSecond` (0 = unlimited, nothing counted).
   */
  rate(key: string, perSecond: number, now: number): MaybePromise<boolean>;
  /**
   * Takes one message from `key`'s token bucket (`perSecond` sustained, up to `burst` at once);
   * false when it is empty (0 = unlimited).
   */
  chat(key: string, perSecond: number, burst: number, now: number): MaybePromise<boolean>;
  /**
   * The check and the count in one step: when a key already has `max` failures within the
   * window, nothing is counted and the answer is the milliseconds until every key is under `max` again;
   * otherwise the attempt is counted now on every key, as a failure under `id` until
   * attemptReleased takes it back, and the answer is 0. Concurrent attempts therefore cannot all
   * pass the check before any of them is counted: at most `max` go ahead.
   */
  attemptReserved(keys: readonly string[], max: number, windowMs: number, now: number, id: string): MaybePromise<number>;
  /** Takes back the attempt counted under `id` by attemptReserved (it was no failure). */
  attemptReleased(keys: readonly string[], id: string): MaybePromise<void>;
  /** Forgets the keys' failures (a success that clears the count). */
  attemptsCleared(keys: readonly string[]): MaybePromise<void>;
  close(): Promise<void>;
}
