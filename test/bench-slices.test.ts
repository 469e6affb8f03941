// The benchmarks' reading of alternating rounds: the median of the per-round ratios and a
// distribution-free interval for it, which says whether a run decides a goal at all.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { medianRank, pairedRatio } from '../bench/lib/slices.js';

describe('benchmark rounds', () => {
  it('takes the order statistics of the binomial tables for the median interval', () => {
    // Ranks from the usual tables for a 95 % interval of the median: 9 rounds -> 2nd, 30 -> 10th, 60 -> 22nd.
    assert.equal(medianRank(9).k, 2);
    assert.equal(medianRank(30).k, 10);
    assert.equal(medianRank(60).k, 22);
    for (const n of [6, 7, 9, 15, 30, 60]) assert.ok(medianRank(n).confidence >= 0.95, `n=${n}`);
    // Fewer rounds cannot reach 95 %: the whole range, with the coverage it has.
    assert.deepEqual(medianRank(5), { k: 1, confidence: 1 - 2 / 32 });
  });

  it('pairs the rounds, takes their median and the interval around it', () => {
    const den = Array(9).fill(100);
    const num = [55, 20, 50, 48, 90, 52, 49, 51, 47];
    const p = pairedRatio(num, den);
    assert.equal(p.median, 0.5);
    assert.equal(p.min, 0.2);
    assert.equal(p.max, 0.9);
    // 9 rounds: the 2nd smallest and 2nd largest, so one wild round on each side moves nothing.
    assert.equal(p.low, 0.47);
    assert.equal(p.high, 0.55);
  });
});
