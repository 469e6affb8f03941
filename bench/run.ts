// Benchmarks: `npm run bench -- [admin] [realtime]` (none = both). Every figure is printed beside a
// baseline measured in the same run, on the same machine, over 127.0.0.1.
// Options: --cpu-prof=<dir> writes CPU profiles of the Rostrum server processes there.
import { cpus, totalmem } from 'node:os';
import { SHAPES, adminBench, printAdmin } from './admin.js';
import { openFileLimits } from './lib/child.js';
import { printRealtime, realtimeBench } from './realtime.js';

const args = process.argv.slice(2);
const names = args.filter((a) => !a.startsWith('--'));
const cpuProf = args.find((a) => a.startsWith('--cpu-prof='))?.slice('--cpu-prof='.length);
const known = ['admin', 'realtime'];
for (const n of names) {
  if (!known.includes(n)) {
    console.error(`unknown scenario ${n}; use ${known.join(' | ')}`);
    process.exit(2);
  }
}
const selected = names.length ? names : known;

const limits = openFileLimits();
console.log(
  'machine: %d cores (%s), %d GiB, node %s, open files %s/%s',
  cpus().length,
  cpus()[0]?.model.trim() ?? '?',
  Math.round(totalmem() / 2 ** 30),
  process.version,
  limits.soft,
  limits.hard,
);

const started = Date.now();
let failed = false;
if (selected.includes('admin')) {
  try {
    for (const shape of SHAPES) printAdmin(await adminBench(shape, { cpuProf }));
  } catch (e) {
    failed = true;
    console.error('admin benchmark failed:', e);
  }
}
if (selected.includes('realtime')) {
  try {
    printRealtime(await realtimeBench({ cpuProf }));
  } catch (e) {
    failed = true;
    console.error('realtime benchmark failed:', e);
  }
}
console.log('\ntotal %ds', Math.round((Date.now() - started) / 1000));
process.exit(failed ? 1 : 0);
