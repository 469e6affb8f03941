// The embedded Store: the memory store's state is the authority while the process runs (one
// process owns the data dir), loaded whole from SQLite at open; SQLite makes it durable. A unit
// of work runs against memory; when it succeeds its change set joins the open batch (as rows to
// write, write-ops.ts), its locks are released, and it resolves once the batch commits.
//
// Group commit: a batch collects the units of one event-loop turn and commits from setImmediate,
// or at once when it reaches MAX_UNITS units or MAX_MS of age, so no reply waits for a storm to
// end. WAL with synchronous=NORMAL keeps every commit across a crash of the process. A failed
// statement or COMMIT fails every unit of the batch and reloads memory from the database, so
// memory matches disk again; units already running on the old state fail too.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { RoomEvent } from '../../core/events.js';
import type { AppId, Room, RoomAggregate } from '../../core/model.js';
import { DEFAULT_RESUME_WINDOW_SECONDS, type OutboxPage } from '../../core/ports/store.js';
import { MemoryStore, nonceKey } from '../memory/store.js';
import { NonceTable } from './nonces.js';
import type { Unit } from '../memory/unit.js';
import { Checkpointer } from './checkpointer.js';
import { DataDirError, describe, lockDataDir, prepareDataDir, privateFile } from './data-dir.js';
import { SqliteAuditLog } from './audit-log.js';
import { SqliteHistory } from './history.js';
import { cursorId, outboxPage } from './outbox-reader.js';
import { migrate } from './migrate.js';
import { parseEvent, roomStateText } from './packed.js';
import { RoomEventIndex } from './room-index.js';
import { indexRecentEvents, loadState, Writer } from './rows.js';
import { counts, isEmpty, unitOps, type WriteOp } from './write-ops.js';

/** Bounds of one batch (see above). */
export const MAX_UNITS = 256;
export const MAX_MS = 2;

export interface SqliteStoreOptions {
  /** How long a room's events stay readable by roomEvents (catch-up after a reconnect): the realtime resume window. */
  resumeWindowSeconds?: number;
}

interface Batch {
  ops: WriteOp[];
  /** Each room's last state in the batch, written once at its end. */
  rooms: Map<string, [AppId, string, RoomAggregate | null]>;
  units: number;
  openedAt: number;
  /** Ops answering a count (the prunes). */
  counted: number;
  /** Resolves with the counts, once committed. */
  done: Promise<number[]>;
  resolve(counts: number[]): void;
  reject(e: unknown): void;
}

export class SqliteStore extends MemoryStore {
  private readonly db: Database.Database;
  private readonly writer: Writer;
  private readonly checkpointer: Checkpointer;
  private readonly history: SqliteHistory;
  private readonly audit: SqliteAuditLog;
  private readonly outboxRows;
  private readonly roomIndex: RoomEventIndex;
  private batch: Batch | null = null;
  /** Each room's settings as last handed to the writer: written again only when they change. */
  private readonly settingsWritten = new Map<string, Room>();
  private closed = false;
  private readonly dirLock: { release(): void };
  /** Set when the last commit failed and none has succeeded since (readiness). */
  writeFailing = false;
  /** How many batches have committed (observability, and group-commit tests). */
  commits = 0;

  constructor(dataDir: string, opts: SqliteStoreOptions = {}) {
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
    this.recordChanges = true;
    this.history = new SqliteHistory(this.db);
    this.audit = new SqliteAuditLog(this.db);
    const nonces = new NonceTable(this.db);
    const windowMs = (opts.resumeWindowSeconds ?? DEFAULT_RESUME_WINDOW_SECONDS) * 1000;
    this.roomIndex = new RoomEventIndex(windowMs);
    indexRecentEvents(this.db, this.roomIndex, Date.now() - windowMs);
    this.writer = new Writer(this.db, this.history, this.audit, nonces, this.roomIndex);
    this.outboxRows = {
      read: this.db.prepare('SELECT id, event FROM outbox WHERE id > ? AND id <= ? ORDER BY id LIMIT ?'),
      byIds: this.db.prepare('SELECT event FROM outbox WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id').pluck(),
    };
    this.state = this.load();
    for (const [scope, nonce, expiresAt] of nonces.load(Date.now())) this.nonces.set(nonceKey(scope, nonce), expiresAt);
    this.checkpointer = new Checkpointer(file);
  }

  /** The memory state from disk, with the history and the audit log on disk. */
  private load() {
    const state = loadState(this.db);
    state.history = this.history;
    state.audit = this.audit;
    this.settingsWritten.clear();
    for (const [appId, app] of state.apps) for (const [roomId, agg] of app.rooms) this.settingsWritten.set(`${appId}/${roomId}`, agg.room);
    return state;
  }

  /**
   * The room's settings as JSON when they are not those last written, else null. Settings are
   * replaced, never changed in place (core/model.ts): the same object is the same settings.
   */
  private changedSettings(key: string, room: Room): string | null {
    if (this.settingsWritten.get(key) === room) return null;
    this.settingsWritten.set(key, room);
    return JSON.stringify(room);
  }

  protected override commitUnit(unit: Unit): Promise<void> | undefined {
    if (this.closed) throw new Error('the store is closed');
    if (unit.st !== this.state) throw new Error('the store reloaded from disk after a failed commit while this unit ran; nothing was written');
    const c = unit.changes!;
    if (isEmpty(c) && unit.events.length === 0 && unit.history.length === 0 && unit.auditEntries.length === 0) {
      // Nothing to write, but it may have read what an open batch has not committed yet.
      return this.batch?.done.then(() => undefined);
    }
    const b = this.open();
    for (const roomId of c.deletedRooms) {
      b.rooms.delete(`${unit.appId}/${roomId}`);
      this.settingsWritten.delete(`${unit.appId}/${roomId}`);
    }
    unitOps(b.ops, unit.appId, c, unit.events, unit.history, unit.auditEntries);
    for (const [roomId, agg] of c.rooms) b.rooms.set(`${unit.appId}/${roomId}`, [unit.appId, roomId, agg]);
    this.added(b);
    return b.done.then(() => undefined);
  }

  /** The open batch, beginning one if needed. */
  private open(): Batch {
    if (this.batch) return this.batch;
    let resolve!: Batch['resolve'];
    let reject!: Batch['reject'];
    const done = new Promise<number[]>((res, rej) => ((resolve = res), (reject = rej)));
    done.catch(() => {}); // a batch nobody waits for must not be an unhandled rejection
    const b: Batch = { ops: [], rooms: new Map(), units: 0, openedAt: performance.now(), counted: 0, done, resolve, reject };
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
    for (const [key, [appId, roomId, agg]] of b.rooms) {
      if (agg) b.ops.push(['room', appId, roomId, roomStateText(agg), this.changedSettings(key, agg.room)]);
      else {
        this.settingsWritten.delete(key);
        b.ops.push(['room', appId, roomId, null, null]);
      }
    }
    let counts: number[];
    try {
      counts = this.writer.write(b.ops);
    } catch (e) {
      // The batch is lost: fail its units, and make memory match the disk again.
      this.writeFailing = true;
      b.reject(e);
      this.state = this.load();
      return;
    }
    this.writeFailing = false;
    this.commits++;
    this.checkpointer.committed();
    b.resolve(counts);
  }

  /** Runs store-level writes in the batch and waits for its commit; the counts of the counting ones. */
  private async inBatch(...ops: WriteOp[]): Promise<number[]> {
    if (this.closed) throw new Error('the store is closed');
    const b = this.open();
    const first = b.counted;
    for (const op of ops) {
      b.ops.push(op);
      if (counts(op)) b.counted++;
    }
    const last = b.counted;
    this.added(b);
    return (await b.done).slice(first, last);
  }

  override async readOutbox(cursor: string, limit: number): Promise<OutboxPage> {
    const rows = this.outboxRows.read.all(cursorId(cursor), this.writer.outboxId, Math.max(0, limit)) as { id: number; event: string }[];
    return outboxPage(rows, cursor);
  }

  override async outboxHead(): Promise<string> {
    return String(this.writer.outboxId);
  }

  /** Of the catch-up window only (see SqliteStoreOptions). */
  override async roomEvents(appId: AppId, roomId: string, afterSeq: number, limit: number): Promise<RoomEvent[]> {
    const ids = this.roomIndex.ids(appId, roomId, afterSeq, limit);
    if (ids.length === 0) return [];
    return (this.outboxRows.byIds.all(JSON.stringify(ids)) as string[]).map(parseEvent);
  }

  override async pruneOutbox(beforeMs: number, limit: number): Promise<number> {
    return (await this.inBatch(['pruneOutbox', beforeMs, limit]))[0];
  }

  override async pruneAudit(beforeMs: number, limit: number): Promise<number> {
    return (await this.inBatch(['pruneAudit', beforeMs, limit]))[0];
  }

  override async pruneMessages(beforeMs: number, limit: number): Promise<number> {
    return (await this.inBatch(['pruneMessages', beforeMs, limit]))[0];
  }

  /** Out of memory first, then their rows (a failed batch reloads memory from the file). */
  override async pruneEntries(beforeMs: number, limit: number): Promise<number> {
    const dropped = this.dropEnded(beforeMs, limit);
    if (dropped.length > 0) await this.inBatch(...dropped.map(([appId, list, id]): WriteOp => [list, appId, id, null]));
    return dropped.length;
  }

  override async setMeta(key: string, value: string): Promise<void> {
    await this.inBatch(['meta', key, value]);
    this.state.meta.set(key, value);
  }

  override async claimNonce(scope: string, nonce: string, expiresAt: number, now: number): Promise<boolean> {
    const key = nonceKey(scope, nonce);
    if (!this.claimInMemory(key, expiresAt, now)) return false;
    try {
      await this.inBatch(['nonce', scope, nonce, expiresAt, now]);
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
