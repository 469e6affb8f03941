// The embedded Store: the memory store's state is the authority while the process runs (one
// process owns the data dir), loaded whole from SQLite at open; SQLite makes it durable. A unit
// of work runs against memory; when it succeeds its change set is written into the open batch
// transaction, its locks are released, and it resolves once the batch commits.
//
// Group commit: a batch (BEGIN IMMEDIATE … COMMIT) collects the units of one event-loop turn and
// commits from setImmediate, or at once when it reaches MAX_UNITS units or MAX_MS of age, so no
// reply waits for a storm to end. WAL with synchronous=NORMAL keeps every commit across a crash of
// the process. A failed statement or COMMIT fails every unit of the batch and reloads memory from
// the database, so memory matches disk again; units already running on the old state fail too.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { RoomEvent } from '../../core/events.js';
import type { AppId } from '../../core/model.js';
import type { OutboxPage } from '../../core/ports/store.js';
import { MemoryStore, nonceKey } from '../memory/store.js';
import { NonceTable } from './nonces.js';
import type { Unit } from '../memory/unit.js';
import { Checkpointer } from './checkpointer.js';
import { DataDirError, describe, lockDataDir, prepareDataDir, privateFile } from './data-dir.js';
import { SqliteAuditLog } from './audit-log.js';
import { SqliteHistory } from './history.js';
import { cursorId, outboxPage } from './outbox-reader.js';
import { migrate } from './migrate.js';
import { isEmpty, loadState, Writer } from './rows.js';

/** Bounds of one batch (see above). */
export const MAX_UNITS = 256;
export const MAX_MS = 2;

interface Batch {
  units: number;
  openedAt: number;
  /** The last outbox id written in the batch (readable once it commits). */
  outboxMax: number;
  done: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

export class SqliteStore extends MemoryStore {
  private readonly db: Database.Database;
  private readonly writer: Writer;
  private readonly checkpointer: Checkpointer;
  private readonly history: SqliteHistory;
  private readonly audit: SqliteAuditLog;
  private batch: Batch | null = null;
  /** Outbox readers see only committed events: ids up to this one. */
  private committedOutboxId: number;
  private closed = false;
  private readonly dirLock: { release(): void };
  private readonly nonceTable: NonceTable;
  /** Set when the last commit failed and none has succeeded since (readiness). */
  writeFailing = false;
  /** How many batches have committed (observability, and group-commit tests). */
  commits = 0;

  constructor(dataDir: string) {
    super();
    prepareDataDir(dataDir);
    this.dirLock = lockDataDir(dataDir);
    const file = join(dataDir, 'rostrum.sqlite');
    try {
      // SQLite gives the -wal and -shm files the database file's mode.
      privateFile(file);
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
      migrate(this.db);
    } catch (e) {
      this.dirLock.release();
      if (e instanceof DataDirError) throw e;
      throw new DataDirError(`cannot open the database in data directory ${dataDir}: ${describe(e)}`);
    }
    this.writer = new Writer(this.db);
    this.recordChanges = true;
    this.history = new SqliteHistory(this.db);
    this.audit = new SqliteAuditLog(this.db);
    this.state = this.load();
    this.committedOutboxId = this.writer.maxOutboxId();
    this.nonceTable = new NonceTable(this.db);
    for (const [scope, nonce, expiresAt] of this.nonceTable.load(Date.now())) this.nonces.set(nonceKey(scope, nonce), expiresAt);
    this.checkpointer = new Checkpointer(file);
  }

  /** The memory state from disk, with the history and the audit log on disk. */
  private load() {
    const state = loadState(this.db);
    state.history = this.history;
    state.audit = this.audit;
    return state;
  }

  protected override commitUnit(unit: Unit): Promise<void> | undefined {
    if (this.closed) throw new Error('the store is closed');
    if (unit.st !== this.state) throw new Error('the store reloaded from disk after a failed commit while this unit ran; nothing was written');
    const c = unit.changes!;
    if (isEmpty(c) && unit.events.length === 0 && unit.history.length === 0 && unit.auditEntries.length === 0) {
      // Nothing to write, but it may have read what an open batch has not committed yet.
      return this.batch?.done;
    }
    const b = this.open();
    try {
      const last = this.writer.unit(unit.appId, c, unit.events);
      if (last > 0) b.outboxMax = last;
      if (unit.history.length > 0) this.history.apply(unit.history);
      if (unit.auditEntries.length > 0) this.audit.append(unit.appId, unit.auditEntries);
    } catch (e) {
      this.fail(b, e);
      throw e;
    }
    this.added(b);
    return b.done;
  }

  /** The open batch, beginning one if needed. */
  private open(): Batch {
    if (this.batch) return this.batch;
    this.writer.begin();
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    done.catch(() => {}); // a batch nobody waits for must not be an unhandled rejection
    const b: Batch = { units: 0, openedAt: performance.now(), outboxMax: 0, done, resolve, reject };
    this.batch = b;
    setImmediate(() => {
      if (this.batch === b) this.commit();
    });
    return b;
  }

  /** Counts a unit into the batch; commits now when the batch reached a bound. */
  private added(b: Batch): void {
    b.units++;
    if (b.units >= MAX_UNITS || performance.now() - b.openedAt >= MAX_MS) this.commit();
  }

  private commit(): void {
    const b = this.batch;
    if (!b) return;
    this.batch = null;
    try {
      this.writer.commit();
    } catch (e) {
      this.fail(b, e);
      return;
    }
    if (b.outboxMax > this.committedOutboxId) this.committedOutboxId = b.outboxMax;
    this.writeFailing = false;
    this.history.committed();
    this.commits++;
    this.checkpointer.committed();
    b.resolve();
  }

  /** The batch is lost: roll it back, fail its units, and make memory match the disk again. */
  private fail(b: Batch, error: unknown): void {
    if (this.batch === b) this.batch = null;
    this.writeFailing = true;
    this.writer.discard();
    if (this.db.inTransaction) {
      try {
        this.db.exec('ROLLBACK');
      } catch {
        // already rolled back by SQLite
      }
    }
    b.reject(error);
    this.state = this.load();
  }

  /** Runs one store-level write in the batch and waits for its commit. */
  private async inBatch<T>(write: () => T): Promise<T> {
    if (this.closed) throw new Error('the store is closed');
    const b = this.open();
    let out: T;
    try {
      out = write();
    } catch (e) {
      this.fail(b, e);
      throw e;
    }
    this.added(b);
    await b.done;
    return out;
  }

  override async readOutbox(cursor: string, limit: number): Promise<OutboxPage> {
    return outboxPage(this.writer.readOutbox(cursorId(cursor), this.committedOutboxId, Math.max(0, limit)), cursor);
  }

  override async outboxHead(): Promise<string> {
    return String(this.committedOutboxId);
  }

  override async roomEvents(appId: AppId, roomId: string, afterSeq: number, limit: number): Promise<RoomEvent[]> {
    if (limit <= 0) return [];
    // Catch-up is rare: it writes the room_events rows still waiting for it (one group commit).
    const upTo = this.committedOutboxId;
    if (this.writer.indexedUpTo < upTo) await this.inBatch(() => this.writer.indexRooms());
    return this.writer.roomEvents(appId, roomId, afterSeq, upTo, limit).map((e) => JSON.parse(e) as RoomEvent);
  }

  override async pruneOutbox(beforeMs: number, limit: number): Promise<number> {
    return this.inBatch(() => this.writer.pruneOutbox(beforeMs, this.committedOutboxId, limit));
  }

  override async pruneAudit(beforeMs: number, limit: number): Promise<number> {
    return this.inBatch(() => this.audit.prune(beforeMs, limit));
  }

  override async pruneMessages(beforeMs: number, limit: number): Promise<number> {
    return this.inBatch(() => this.history.prune(beforeMs, limit));
  }

  override async setMeta(key: string, value: string): Promise<void> {
    await this.inBatch(() => this.writer.meta(key, value));
    this.state.meta.set(key, value);
  }

  override async claimNonce(scope: string, nonce: string, expiresAt: number, now: number): Promise<boolean> {
    const key = nonceKey(scope, nonce);
    if (!this.claimInMemory(key, expiresAt, now)) return false;
    try {
      await this.inBatch(() => this.nonceTable.put(scope, nonce, expiresAt, now));
    } catch (e) {
      this.nonces.delete(key); // not recorded: the request fails, and may be sent again
      throw e;
    }
    return true;
  }

  override async close(): Promise<void> {
    if (this.closed) return;
    this.commit(); // synchronous; a failure rejects the batch's own units, not close()
    this.closed = true;
    await this.checkpointer.stop();
    this.db.close();
    this.dirLock.release();
  }
}
