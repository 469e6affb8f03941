// Measuring several servers in alternating slices: each is warmed up, then they take turns, the
// order rotating every round, so that other load on the machine hits all of them alike.

export async function alternate<T, S>(
  targets: T[],
  opts: { slices: number; warmup: (t: T) => Promise<unknown> },
  run: (t: T) => Promise<S>,
): Promise<S[][]> {
  for (const t of targets) await opts.warmup(t);
  const out: S[][] = targets.map(() => []);
  for (let i = 0; i < opts.slices; i++) {
    for (let j = 0; j < targets.length; j++) {
      const k = (i + j) % targets.length;
      out[k].push(await run(targets[k]));
    }
  }
  return out;
}

/** A ratio measured slice by slice: each pair of slices ran back to back in one round. */
export interface PairedRatio {
  median: number;
  min: number;
  max: number;
  pairs: number;
  /**
   * An interval that holds the true median with probability `confidence` (at least 95 % from 6
   * rounds on): the k-th smallest and k-th largest round, whatever the rounds' distribution.
   */
  low: number;
  high: number;
  confidence: number;
}

/**
 * The ratio of two targets' figures round by round (`num[i] / den[i]`), and its median. The
 * machine's speed drifts over a run (here, slices of one server have differed by 2x within a
 * minute); within a round both sides see nearly the same machine, so the per-round ratios
 * cancel the drift that the pooled ratio (totals over totals) keeps, and their median is not
 * moved by one disturbed round.
 */
export function pairedRatio(num: number[], den: number[]): PairedRatio {
  const r = num.map((x, i) => x / den[i]).sort((a, b) => a - b);
  const mid = r.length >> 1;
  const median = r.length % 2 ? r[mid] : (r[mid - 1] + r[mid]) / 2;
  const { k, confidence } = medianRank(r.length);
  return { median, min: r[0], max: r[r.length - 1], pairs: r.length, low: r[k - 1], high: r[r.length - k], confidence };
}

/**
 * The order statistic for a distribution-free interval of the median of n rounds: the largest k
 * with P(Binomial(n, 1/2) < k) <= 2.5 % on each side (k = 1, the whole range, below 6 rounds).
 */
export function medianRank(n: number): { k: number; confidence: number } {
  const below = (k: number) => {
    // P(X <= k - 1) for X ~ Binomial(n, 1/2)
    let p = 0;
    let c = 1;
    for (let i = 0; i < k; i++) {
      p += c;
      c = (c * (n - i)) / (i + 1);
    }
    return p / 2 ** n;
  };
  let k = 1;
  while (k < n / 2 && below(k + 1) <= 0.025) k++;
  return { k, confidence: 1 - 2 * below(k) };
}

/** Rounds of alternation: `BENCH_ROUNDS` when set (more rounds, a narrower interval), else `fallback`. */
export function rounds(fallback: number): number {
  const n = Number(process.env.BENCH_ROUNDS);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** A closed-loop slice run in this process: operations done, how long it took, the process's CPU. */
export interface OpsSlice {
  ops: number;
  ms: number;
  cpuUs: number;
}

/** A target's slices pooled: operations a second and CPU µs an operation. */
export interface OpsFigures {
  name: string;
  perSecond: number;
  cpuPerOp: number;
}

export function pooledOps(name: string, slices: OpsSlice[]): OpsFigures {
  const ops = slices.reduce((n, s) => n + s.ops, 0);
  const ms = slices.reduce((n, s) => n + s.ms, 0);
  const cpuUs = slices.reduce((n, s) => n + s.cpuUs, 0);
  return { name, perSecond: (ops / ms) * 1000, cpuPerOp: cpuUs / ops };
}
