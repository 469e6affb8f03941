// The Limits contract: what every adapter (in-process, Redis) must do. Two instances made by
// `make` over one shared backing (for Redis: one prefix) stand for two nodes.
import assert from 'node:assert/strict';
import { describe, it, after } from 'node:test';
import type { Limits } from '../../src/core/ports/limits.js';

export interface LimitsFixture {
  /** Two views of the same counts (the in-process adapter: the same instance twice). */
  a: Limits;
  b: Limits;
  cleanup(): Promise<void>;
}

const ok = async (v: boolean | Promise<boolean>) => await v;
let n = 0;
const fresh = (what: string) => `${what}:${process.pid}:${Date.now()}:${n++}`;

/** A wrong attempt: reserved and never taken back (not counted when a key is at `max`). */
async function failed(l: Limits, keys: string[], max: number, windowMs: number, now: number): Promise<void> {
  await l.attemptReserved(keys, max, windowMs, now, fresh('failed'));
}

/** The wait an attempt would get now: 0 when it may go ahead (the probe is taken back). */
async function retryAfter(l: Limits, keys: string[], max: number, windowMs: number, now: number): Promise<number> {
  const id = fresh('probe');
  const wait = await l.attemptReserved(keys, max, windowMs, now, id);
  if (wait === 0) await l.attemptReleased(keys, id);
  return wait;
}

export function limitsContract(name: string, make: () => Promise<LimitsFixture>, opts: { skip?: string | false } = {}): void {
  describe(`Limits contract: ${name}`, { skip: opts.skip }, () => {
    let f: LimitsFixture;
    const ready = (async () => {
      if (opts.skip) return;
      f = await make();
    })();
    after(async () => {
      await ready;
      await f?.cleanup();
    });

    it('rate: exactly perSecond calls in one window, over both views', async () => {
      await ready;
      const key = fresh('rate');
      const now = Math.floor(Date.now() / 1000) * 1000 + 100;
      const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => ok((i % 2 ? f.a : f.b).rate(key, 5, now + i))));
      assert.equal(answers.filter(Boolean).length, 5);
      // The next window starts afresh; other keys are counted apart.
      assert.equal(await ok(f.a.rate(key, 5, now + 1000)), true);
      assert.equal(await ok(f.b.rate(fresh('other'), 5, now)), true);
    });

    it('rate: 0 is unlimited', async () => {
      await ready;
      const key = fresh('rate0');
      for (let i = 0; i < 20; i++) assert.equal(await ok(f.a.rate(key, 0, 1000)), true);
    });

    it('chat: a burst, then the sustained rate', async () => {
      await ready;
      const key = fresh('chat');
      const t = Date.now();
      const burst = [];
      for (let i = 0; i < 6; i++) burst.push(await ok((i % 2 ? f.a : f.b).chat(key, 2, 4, t)));
      assert.deepEqual(burst, [true, true, true, true, false, false]);
      // Half a second later one token (2 per second) is back, and only one.
      assert.equal(await ok(f.b.chat(key, 2, 4, t + 500)), true);
      assert.equal(await ok(f.a.chat(key, 2, 4, t + 500)), false);
      assert.equal(await ok(f.a.chat(key, 0, 0, t + 500)), true);
    });

    it('attempts: max failures within the window hold every view until the oldest counted one slides out', async () => {
      await ready;
      const user = fresh('u');
      const ip = fresh('ip');
      const t = Date.now();
      const wait = async (keys: string[], now: number) => await retryAfter(f.a, keys, 10, 60_000, now);
      for (let i = 0; i < 9; i++) await failed(i % 2 ? f.a : f.b, [user, ip], 10, 60_000, t + i);
      assert.equal(await wait([user], t + 10), 0);
      await failed(f.a, [user], 10, 60_000, t + 9);
      // Ten failures at t … t+9: free when the one at t leaves the window.
      assert.equal(await wait([user], t + 10), 60_000 - 10);
      assert.equal(await retryAfter(f.b, [fresh('x'), user], 10, 60_000, t + 10), 60_000 - 10);
      assert.equal(await retryAfter(f.b, [ip], 10, 60_000, t + 10), 0);
      // At max, further attempts are refused and not counted: held until the oldest leaves.
      for (let i = 0; i < 15; i++) await failed(f.b, [ip], 10, 60_000, t + 100 + i);
      assert.equal(await wait([ip], t + 200), 60_000 - 200);
      assert.equal(await wait([ip], t + 100 + 60_000), 0);
      assert.equal(await retryAfter(f.b, [user], 10, 60_000, t + 60_000), 0);
    });

    it('attempts: each key keeps its own window, whatever window later failures of other keys have', async () => {
      await ready;
      const account = fresh('console'); // counted over 15 minutes
      const t = Date.now();
      await failed(f.a, [fresh('password')], 10, 60_000, t);
      for (let i = 1; i <= 5; i++) await failed(f.a, [account], 5, 900_000, t + i);
      // Two minutes on, a failure counted over one minute (a room password) ...
      await failed(f.b, [fresh('password')], 10, 60_000, t + 120_000);
      await failed(f.a, [fresh('password')], 10, 60_000, t + 120_001);
      // ... leaves the 15-minute count as it was.
      assert.equal(await retryAfter(f.a, [account], 5, 900_000, t + 120_002), 900_000 + 1 - 120_002);
    });

    it('attempts reserved: a burst over both views gets exactly max through, the rest wait', async () => {
      await ready;
      const account = fresh('acct');
      const ip = fresh('ip');
      const t = Date.now();
      const waits = await Promise.all(
        Array.from({ length: 40 }, async (_, i) => await (i % 2 ? f.a : f.b).attemptReserved([ip, account], 5, 60_000, t + (i % 3), `burst-${i}`)),
      );
      assert.equal(waits.filter((w) => w === 0).length, 5, `waits: ${waits.join(',')}`);
      assert.ok(waits.every((w) => w === 0 || (w > 59_990 && w <= 60_000)), `waits: ${waits.join(',')}`);
      // Reserved attempts count as failures, for the other checks too.
      assert.ok((await retryAfter(f.a, [account], 5, 60_000, t + 5)) > 0);
    });

    it('attempts reserved: a released attempt no longer counts, on every view; a refused one was never counted', async () => {
      await ready;
      const account = fresh('acct');
      const ip = fresh('ip');
      const t = Date.now();
      for (let i = 0; i < 4; i++) assert.equal(await f.a.attemptReserved([ip, account], 5, 60_000, t + i, `r${i}`), 0);
      assert.equal(await f.b.attemptReserved([ip, account], 5, 60_000, t + 4, 'ok'), 0);
      assert.ok((await f.a.attemptReserved([ip], 5, 60_000, t + 5, 'over')) > 0, 'five counted');
      await f.b.attemptReleased([ip, account], 'ok');
      assert.equal(await retryAfter(f.a, [ip, account], 5, 60_000, t + 6), 0, 'the released one is gone');
      // The refused one ('over') took no place: one more goes ahead, then the keys are full again.
      assert.equal(await f.b.attemptReserved([ip, account], 5, 60_000, t + 7, 'last'), 0);
      assert.equal(await f.a.attemptReserved([account], 5, 60_000, t + 8, 'again'), 60_000 - 8);
      // Releasing an unknown id changes nothing.
      await f.a.attemptReleased([ip, account], 'never-reserved');
      assert.equal(await retryAfter(f.b, [ip], 5, 60_000, t + 8), 60_000 - 8);
    });

    it('attempts: a success clears its keys on every view, and only those', async () => {
      await ready;
      const account = fresh('acct');
      const ip = fresh('ip');
      const t = Date.now();
      for (let i = 0; i < 3; i++) await failed(f.a, [account, ip], 3, 60_000, t + i);
      assert.ok((await retryAfter(f.b, [account], 3, 60_000, t + 5)) > 0);
      await f.b.attemptsCleared([account]);
      assert.equal(await retryAfter(f.a, [account], 3, 60_000, t + 5), 0);
      assert.ok((await retryAfter(f.a, [ip], 3, 60_000, t + 5)) > 0, 'the IP stays held');
    });
  });
}
