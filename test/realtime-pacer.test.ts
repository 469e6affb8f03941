// The realtime gateway's pacer: big fan-outs and handshake bursts a slice per event-loop turn.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Pacer } from '../src/realtime/pacer.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const noErrors = (err: unknown) => assert.fail(`unexpected error: ${String(err)}`);

describe('Pacer', () => {
  it('does a turn\'s allowance at once and the rest a slice per turn, with other work run in between', async () => {
    const pacer = new Pacer(100, noErrors);
    const done: number[] = [];
    pacer.run(range(1000), (i) => done.push(i));
    assert.equal(done.length, 100);
    // Other work queued now runs after the next slice, not after the whole job.
    const seenByOtherWork = await new Promise<number>((resolve) => setImmediate(() => resolve(done.length)));
    assert.equal(seenByOtherWork, 200);
    for (let turn = 0; turn < 20 && done.length < 1000; turn++) await nextTurn();
    assert.deepEqual(done, range(1000));
  });

  it('keeps the order the jobs came in: a job waits behind the ones before it, even a small one', async () => {
    const pacer = new Pacer(10, noErrors);
    const got: string[] = [];
    pacer.run(range(25), (i) => got.push(`a${i}`));
    pacer.run([0], () => got.push('b'));
    assert.equal(got.length, 10);
    while (got.length < 26) await nextTurn();
    assert.deepEqual(got, [...range(25).map((i) => `a${i}`), 'b']);
  });

  it('counts single-item jobs against the same allowance: a burst of them is paced too', async () => {
    const pacer = new Pacer(16, noErrors);
    let handled = 0;
    for (let i = 0; i < 100; i++) pacer.run([i], () => handled++);
    assert.equal(handled, 16);
    await nextTurn();
    assert.equal(handled, 32);
    while (handled < 100) await nextTurn();
    // A fresh turn gives a fresh allowance.
    await nextTurn();
    pacer.run(range(16), () => handled++);
    assert.equal(handled, 116);
  });

  it('reports an item that throws and goes on with the rest', async () => {
    const errors: unknown[] = [];
    const pacer = new Pacer(4, (err) => errors.push(err));
    const done: number[] = [];
    pacer.run(range(10), (i) => {
      if (i === 2 || i === 7) throw new Error(`item ${i}`);
      done.push(i);
    });
    while (done.length < 8) await nextTurn();
    assert.deepEqual(done, [0, 1, 3, 4, 5, 6, 8, 9]);
    assert.deepEqual(
      errors.map((e) => (e as Error).message),
      ['item 2', 'item 7'],
    );
  });

  it('flush does everything still waiting at once (shutdown)', () => {
    const pacer = new Pacer(5, noErrors);
    const done: number[] = [];
    pacer.run(range(12), (i) => done.push(i));
    pacer.run([100], (i) => done.push(i));
    pacer.flush();
    assert.deepEqual(done, [...range(12), 100]);
  });
});
