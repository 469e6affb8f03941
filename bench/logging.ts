// The cost of request logging: the admin scenario (SQLite, 50 rooms of 8 seats, closed loop at 50
// connections) against two Rostrum servers, one logging at the level the CLI runs with ('info',
// to stdout) and one with request logging off, measured in alternating slices. The logging
// server's stdout goes to a file, as a service's does in production.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHAPES, cannon, figures, prepareRooms, printChecks, printHttpHeader, printHttpRow, rate, rostrumTarget, verdict, type HttpFigures } from './admin.js';
import { startChild, type Child } from './lib/child.js';
import { alternate, pairedRatio, rounds, type PairedRatio } from './lib/slices.js';
import { benchApp } from './lib/tencent.js';

const WARMUP_S = 2;
/** Rounds of alternation (BENCH_ROUNDS overrides). */
const SLICES = rounds(9);
const SLICE_S = 2;
/** The goal: logging at info costs at most this share of req/s. */
const MAX_COST = 0.05;

export interface LoggingResult {
  off: HttpFigures;
  on: HttpFigures;
  /** 1 - (req/s logging on) / (req/s logging off), round by round: the median (the goal's). */
  cost: number;
  /** The rounds' ratios of req/s, on / off: the cost's interval is 1 - theirs. */
  paired: PairedRatio;
  /** The same from the totals of all slices. */
  pooledCost: number;
  /** Same, from server CPU per request: steadier under other load. */
  cpuCost: number;
  logBytes: number;
  logLines: number;
  met: boolean;
}

export async function loggingBench(opts: { cpuProf?: string } = {}): Promise<LoggingResult> {
  const shape = SHAPES[0];
  const app = benchApp();
  const dir = mkdtempSync(join(tmpdir(), 'rostrum-bench-log-'));
  const logFile = join(dir, 'rostrum.log');
  const children: Child[] = [];
  try {
    const start = (name: string, env: Record<string, string>, stdout?: string) =>
      startChild(name, 'bench/server-main.ts', {
        env: { BENCH_APP: JSON.stringify(app), ...env },
        stdout,
        nodeFlags: opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProf}`] : [],
      });
    const off = await start('rostrum-log-off', {});
    children.push(off);
    const on = await start('rostrum-log-info', { BENCH_LOG: 'info' }, logFile);
    children.push(on);
    for (const s of children) await prepareRooms(s, app, shape);
    const targets = [rostrumTarget('logging off', off, app, shape), rostrumTarget('logging info, stdout to a file', on, app, shape)];
    const slices = await alternate(targets, { slices: SLICES, warmup: (t) => cannon(t, WARMUP_S) }, (t) => cannon(t, SLICE_S));
    const fOff = figures(slices[0]);
    const fOn = figures(slices[1]);
    const logBytes = statSync(logFile).size;
    let logLines = 0;
    for (const c of readFileSync(logFile)) if (c === 10) logLines++;
    const paired = pairedRatio(slices[1].map(rate), slices[0].map(rate));
    const cost = 1 - paired.median;
    const pooledCost = 1 - fOn.reqPerSec / fOff.reqPerSec;
    const cpuCost = fOn.cpuPerRequest / fOff.cpuPerRequest - 1;
    return { off: fOff, on: fOn, cost, paired, pooledCost, cpuCost, logBytes, logLines, met: cost <= MAX_COST && fOn.failures === 0 && fOff.failures === 0 };
  } finally {
    for (const c of children.reverse()) await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printLogging(r: LoggingResult): void {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  console.log(
    '\nlogging: admin pick/kick (SQLite, %d rooms of %d seats, 50 connections), logging off vs info (stdout to a file), %d x %ds per server in alternating slices after %ds warm-up',
    SHAPES[0].rooms,
    SHAPES[0].seats,
    SLICES,
    SLICE_S,
    WARMUP_S,
  );
  printHttpHeader();
  printHttpRow('logging off', r.off);
  printHttpRow('logging info -> file', r.on);
  // The file also holds the warm-up's and the seat resets' lines: a little over the true figure.
  console.log('  log: %d lines, %d bytes (about %s lines per request)', r.logLines, r.logBytes, (r.logLines / Math.max(1, r.on.requests)).toFixed(2));
  console.log(
    '  cost: %s of req/s (median of %d rounds, %s%% interval %s to %s; pooled %s), %s more CPU per request (goal <= %s of req/s): %s',
    pct(r.cost),
    r.paired.pairs,
    (r.paired.confidence * 100).toFixed(0),
    pct(1 - r.paired.high),
    pct(1 - r.paired.low),
    pct(r.pooledCost),
    pct(r.cpuCost),
    pct(MAX_COST),
    verdict(r.met, r.paired, 1 - MAX_COST),
  );
  printChecks('logging off', r.off);
  printChecks('logging on', r.on);
}
