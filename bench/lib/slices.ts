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
