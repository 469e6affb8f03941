// WAL checkpoints in a worker thread. A checkpoint copies the WAL into the database file and
// fsyncs both; run by SQLite's automatic checkpoint, that happens inside a COMMIT and stalls the
// event loop for milliseconds. The worker, on its own connection, runs passive checkpoints often
// enough that the automatic one (left on as the fallback, at 1,000 frames) finds nothing left to
// copy. Its pace follows the write rate, aiming at about TARGET_FRAMES new frames per checkpoint
// (every 5 ms under a storm of writes, every 100 ms when they are few). Small and frequent on
// purpose: while a checkpoint's fsyncs run, the main thread's COMMIT can wait on the filesystem
// (on ext4, 1-6 ms, longer the more a checkpoint flushes); at 250 frames a checkpoint, one COMMIT
// in 150 took over 1 ms under a steady 2,000 commands/s, at 100 frames one in 1,000.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: 0 });
const { minMs, maxMs, targetFrames } = workerData;
let intervalMs = minMs;
let lastLog = 0;
let timer;
const tick = () => {
  let fresh = targetFrames;
  try {
    // [{ busy, log: frames in the WAL, checkpointed }]; the WAL starts over once all were copied,
    // so the frames written since the last checkpoint are the growth of log, or all of it.
    const log = db.pragma('wal_checkpoint(PASSIVE)')[0].log;
    fresh = log >= lastLog ? log - lastLog : log;
    lastLog = log;
  } catch {
    // busy or failing: SQLite's automatic checkpoint still runs on the main connection
  }
  intervalMs = fresh > targetFrames ? Math.max(minMs, intervalMs / 2) : Math.min(maxMs, intervalMs * 1.25);
  timer = setTimeout(tick, intervalMs);
};
timer = setTimeout(tick, intervalMs);
parentPort.once('message', () => {
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
`;

/** Commits after which the worker starts: stores that see little traffic never start one. */
const START_AFTER_COMMITS = 100;
const MIN_INTERVAL_MS = 5;
const MAX_INTERVAL_MS = 100;
/** Well under the automatic checkpoint's 1,000 frames. */
const TARGET_FRAMES = 100;

export class Checkpointer {
  private worker?: Worker;
  private commits = 0;
  private failed = false;

  constructor(private readonly file: string) {}

  /** Counts a commit; starts the worker once there have been enough. */
  committed(): void {
    if (this.worker || this.failed || ++this.commits < START_AFTER_COMMITS) return;
    try {
      const driver = createRequire(import.meta.url).resolve('better-sqlite3');
      const worker = new Worker(WORKER, { eval: true, workerData: { file: this.file, driver, minMs: MIN_INTERVAL_MS, maxMs: MAX_INTERVAL_MS, targetFrames: TARGET_FRAMES } });
      worker.unref();
      worker.on('error', () => (this.failed = true));
      worker.on('exit', () => {
        if (this.worker === worker) this.worker = undefined;
        this.failed = true; // not restarted: the automatic checkpoint carries on alone
      });
      this.worker = worker;
    } catch {
      this.failed = true;
    }
  }

  /** Stops the worker and waits for it to close its connection. */
  async stop(): Promise<void> {
    const worker = this.worker;
    this.failed = true;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.ref(); // until it has exited
    worker.postMessage('stop');
    await exited;
  }
}
