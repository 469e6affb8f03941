// WAL checkpoints in a worker thread. A checkpoint copies the WAL into the database file and
// fsyncs both; run by SQLite's automatic checkpoint, that happens inside a COMMIT and stalls the
// event loop for milliseconds. The worker, on its own connection, runs passive checkpoints often
// enough that the automatic one (left on as the fallback) finds nothing left to copy.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: 0 });
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // busy or failing: SQLite's automatic checkpoint still runs on the main connection
  }
}, workerData.intervalMs);
parentPort.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** Commits after which the worker starts: stores that see little traffic never start one. */
const START_AFTER_COMMITS = 100;
const INTERVAL_MS = 10;

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
      const worker = new Worker(WORKER, { eval: true, workerData: { file: this.file, driver, intervalMs: INTERVAL_MS } });
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
