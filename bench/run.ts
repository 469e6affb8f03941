// Benchmarks: `npm run bench -- [admin] [callbacks] [callbacks-remote] [admin-pg] [store] [chat-store] [logging] [growth] [realtime] [badwords] [live] [cluster]` (none = all but callbacks,
// which admin measures too).
// Every figure is printed beside a baseline measured in the same run, on the same machine, over
// 127.0.0.1. Options: --cpu-prof=<dir> writes CPU profiles of the Rostrum server processes there.
// BENCH_PG_URL names the PostgreSQL database of admin-pg, chat-store, growth and cluster (default
// postgres://postgres@127.0.0.1:5432/test); each run works in schemas of its own, dropped after.
import { cpus, totalmem } from 'node:os';
import { SHAPES, adminBench, printAdmin } from './admin.js';
import { callbacksRemoteBench } from './callbacks-remote.js';
import { growthBench, printGrowth } from './growth.js';
import { openFileLimits } from './lib/child.js';
import { rounds } from './lib/slices.js';
import { loggingBench, printLogging } from './logging.js';
import { printRealtime, realtimeBench } from './realtime.js';
import { badWordsBench, printBadWords } from './bad-words.js';
import { liveBench, printLive } from './live.js';
import { clusterBench, printCluster } from './cluster.js';
import { printStore, storeBench } from './store.js';
import { chatStoreBench, printChatStore } from './chat-store.js';

const args = process.argv.slice(2);
const names = args.filter((a) => !a.startsWith('--'));
const cpuProf = args.find((a) => a.startsWith('--cpu-prof='))?.slice('--cpu-prof='.length);

const scenarios: Record<string, () => Promise<void>> = {
  async admin() {
    // The fixed-load (open loop) measurement runs on the typical shape.
    for (const shape of SHAPES) {
      printAdmin(await adminBench(shape, { baselines: ['bare-http'], openLoop: shape === SHAPES[0], callbacks: true, memoryStore: true, cpuProf }));
    }
  },
  // Callbacks on beside off alone, each round's pair back to back: a narrower interval for the
  // callbacks goal than admin's, where other servers' slices come between the two.
  async callbacks() {
    for (const shape of SHAPES) printAdmin(await adminBench(shape, { baselines: [], callbacks: true, rounds: rounds(15), cpuProf }));
  },
  // One busy room's callbacks to a receiver 10 ms away, in order per room and in none.
  async 'callbacks-remote'() {
    await callbacksRemoteBench();
  },
  async 'admin-pg'() {
    for (const shape of SHAPES) {
      // No fixed-load run: 2,000 req/s is above what either side sustains on PostgreSQL here.
      printAdmin(await adminBench(shape, { store: 'postgres', baselines: ['bare-pg', 'bare-http'], callbacks: true, cpuProf }));
    }
  },
  async store() {
    for (const shape of SHAPES) printStore(await storeBench(shape));
  },
  async 'chat-store'() {
    printChatStore(await chatStoreBench());
  },
  async logging() {
    printLogging(await loggingBench({ cpuProf }));
  },
  async growth() {
    for (const store of ['sqlite', 'postgres'] as const) printGrowth(await growthBench(store));
  },
  async realtime() {
    printRealtime(await realtimeBench({ cpuProf }));
  },
  async badwords() {
    printBadWords(await badWordsBench());
  },
  async live() {
    printLive(await liveBench({ cpuProf }));
  },
  async cluster() {
    printCluster(await clusterBench());
  },
};
const known = Object.keys(scenarios);
for (const n of names) {
  if (!known.includes(n)) {
    console.error(`unknown scenario ${n}; use ${known.join(' | ')}`);
    process.exit(2);
  }
}
/** Run only when named: admin already measures what they do, in a full run. */
const NAMED_ONLY = ['callbacks', 'callbacks-remote'];
const selected = names.length ? names : known.filter((n) => !NAMED_ONLY.includes(n));

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
for (const name of selected) {
  const t0 = Date.now();
  try {
    await scenarios[name]();
  } catch (e) {
    failed = true;
    console.error(`${name} benchmark failed:`, e);
  }
  console.log('  (%s: %ds)', name, Math.round((Date.now() - t0) / 1000));
}
console.log('\ntotal %ds', Math.round((Date.now() - started) / 1000));
process.exit(failed ? 1 : 0);
