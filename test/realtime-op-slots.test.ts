// The bound on realtime ops running at once: never more than its slots, first come first served,
// and a slot freed whatever the op did.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { OpSlots } from '../src/realtime/op-slots.js';

/** An op that runs until `finish` is called. */
function gatedOp(log: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    finish: () => finish(),
    run: async () => {
      log.push(`start ${name}`);
      await done;
      log.push(`end ${name}`);
    },
  };
}

describe('OpSlots', () => {
  it('runs at most its slots at once; the others wait and start in arrival order as slots free', async () => {
    const slots = new OpSlots(2);
    const log: string[] = [];
    const ops = ['a', 'b', 'c', 'd'].map((n) => gatedOp(log, n));
    const all = Promise.all(ops.map((op) => slots.run(op.run)));
    await nextTurn();
    assert.deepEqual(log, ['start a', 'start b']);
    ops[1].finish();
    await nextTurn();
    assert.deepEqual(log, ['start a', 'start b', 'end b', 'start c']);
    ops[0].finish();
    await nextTurn();
    assert.deepEqual(log.slice(4), ['end a', 'start d']);
    ops[2].finish();
    ops[3].finish();
    await all;
    // All slots are free again: two new ops start at once.
    const more = ['e', 'f'].map((n) => gatedOp(log, n));
    const both = Promise.all(more.map((op) => slots.run(op.run)));
    await nextTurn();
    assert.deepEqual(log.slice(-2), ['start e', 'start f']);
    more.forEach((op) => op.finish());
    await both;
  });

  it('frees the slot of an op that throws, and passes the error on', async () => {
    const slots = new OpSlots(1);
    const failing = slots.run(async () => {
      throw new Error('op failed');
    });
    let ran = false;
    const next = slots.run(async () => {
      ran = true;
    });
    await assert.rejects(failing, /op failed/);
    await next;
    assert.equal(ran, true);
  });

  it('keeps arrival order through a long queue that keeps refilling (a storm)', async () => {
    const slots = new OpSlots(3);
    const started: number[] = [];
    const runs: Promise<void>[] = [];
    // Ops keep arriving while earlier ones wait, so the queue never empties in between.
    for (let wave = 0; wave < 5; wave++) {
      for (let i = 0; i < 1_000; i++) {
        const n = wave * 1_000 + i;
        runs.push(slots.run(async () => {
          started.push(n);
          await nextTurn();
        }));
      }
      await nextTurn();
    }
    await Promise.all(runs);
    assert.deepEqual(started, Array.from({ length: 5_000 }, (_, n) => n));
  });
});
