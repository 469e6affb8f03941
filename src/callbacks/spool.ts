// The callback spool: where the relay keeps callbacks between the outbox and the receiver.
// The feeder moves outbox events into it together with its outbox cursor (one atomic step); each
// app's sender reads its own pending rows in order, deletes what was delivered and marks what it
// gave up on as failed (kept, listed, re-sendable or discarded by an operator, or dropped after
// `callbacks.keepFailedDays` when set). It also keeps the REST-set configurations.
// Adapters: memory (here), SQLite (spool-sqlite.ts), PostgreSQL (spool-postgres.ts).
import type { AppId } from '../core/model.js';
import type { StoredCallbackConfig } from './commands.js';

export interface NewDelivery {
  eventId: string;
  appId: AppId;
  roomId: string;
  seq: number;
  command: string;
  body: string;
  /** The event's time (ms): the give-up age counts from it (or from a re-send). */
  createdAt: number;
}

export interface Delivery extends NewDelivery {
  /** Spool order: increasing in the order rows were spooled (a re-send gets a new, larger id). */
  id: number;
  state: 'pending' | 'failed';
  attempts: number;
  lastError: string;
  /** When it was given up (ms), 0 while pending. */
  failedAt: number;
}

/** A given-up delivery keeps this much of its last error. */
export const MAX_ERROR_LENGTH = 500;

/** The ids a re-send names, each once, in spool order (a room's re-sent rows keep their order). */
export function resendOrder(ids: number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

/**
 * A re-send or discard of all (on SQLite; a discard of all on PostgreSQL too) takes this many rows
 * per statement, the event loop free between them: a long backlog neither blocks the server nor
 * holds the spool's locks past another writer's wait.
 */
export const BULK_PAGE = 2000;

/** What an app has stored over REST now: a target ('set'), a deletion, or nothing ('none'). */
export type StoredConfigState = 'set' | 'deleted' | 'none';

/** The state `config` stands for. */
export function configState(config: StoredCallbackConfig | null): StoredConfigState {
  return config ? config.kind : 'none';
}

export interface SpoolCounts {
  appId: AppId;
  pending: number;
  failed: number;
}

/**
 * Leases among the processes sharing one spool: one feeder (outbox -> spool) at a time, and each
 * app's sending by one process at a time. A lease lasts as long as this process's lease
 * connection: when the process dies or the connection drops, the database lets it go.
 */
export interface SpoolLeases {
  /** Tries to be (or stay) the feeder; true while this process is. */
  lead(): Promise<boolean>;
  /** Tries to take `appId`'s sending; true when this process holds it now. */
  leaseApp(appId: AppId): Promise<boolean>;
  /** Gives `appId`'s sending back. */
  releaseApp(appId: AppId): Promise<void>;
  /** Processes holding a lease connection on this spool now (at least 1). */
  nodes(): Promise<number>;
  /** Called when every lease was lost at once (the lease connection dropped). */
  onLost: () => void;
  /** Called with the apps a commit spooled rows for, by whichever process fed them. */
  onSpooled: (apps: AppId[]) => void;
}

export interface CallbackSpool {
  /** The outbox cursor the feeder has spooled up to ('' = none yet). */
  cursor(): Promise<string>;
  /**
   * Spools deliveries (an eventId already spooled, or given twice, is spooled once) and moves the
   * cursor, atomically. Returns false, spooling nothing, when the cursor is no longer `from`
   * (another node moved it).
   */
  enqueue(from: string, deliveries: NewDelivery[], cursor: string): Promise<boolean>;
  /** An app's pending deliveries with id > afterId, in id order. */
  pending(appId: AppId, afterId: number, limit: number): Promise<Delivery[]>;
  /** Apps with pending deliveries. */
  appsWithPending(): Promise<AppId[]>;
  /** Drops delivered rows. */
  delivered(ids: number[]): Promise<void>;
  /** Marks a pending row failed (given up). */
  fail(id: number, attempts: number, lastError: string, at: number): Promise<void>;
  /** Failed rows (of one app, or all) with id > afterId (default 0), oldest first. */
  failed(appId: AppId | null, limit: number, afterId?: number): Promise<Delivery[]>;
  /**
   * Makes failed rows pending again with new ids (they go to the end of their app's queue, in
   * the order of their old ids, so a room's keep their order; an id given twice counts once)
   * and the give-up age counting from `now`; ids = 'all' re-sends every failed row (of `appId`,
   * or of every app when null). Returns how many.
   */
  retry(ids: number[] | 'all', appId: AppId | null, now: number): Promise<number>;
  /**
   * Removes failed rows for good, chosen as retry() chooses them (pending rows are never
   * removed; an id given twice counts once). Returns how many.
   */
  discard(ids: number[] | 'all', appId: AppId | null): Promise<number>;
  /**
   * Drops up to `limit` failed rows (of every app) given up before `beforeMs` (`failedAt <
   * beforeMs`, oldest first; retention, `callbacks.keepFailedDays`); returns how many. Pending
   * rows are never dropped.
   */
  pruneFailed(beforeMs: number, limit: number): Promise<number>;
  counts(): Promise<SpoolCounts[]>;
  getConfig(appId: AppId): Promise<StoredCallbackConfig | null>;
  setConfig(appId: AppId, config: StoredCallbackConfig | null): Promise<void>;
  /**
   * Stores `config` only when what `appId` has stored now is one of `when`, checking and writing
   * in one step (whatever else writes at the same time, in this process or another on the same
   * spool); true when it stored it.
   */
  setConfigIf(appId: AppId, config: StoredCallbackConfig, when: readonly StoredConfigState[]): Promise<boolean>;
  allConfigs(): Promise<Map<AppId, StoredCallbackConfig>>;
  /** Stores shared by several processes (PostgreSQL): who feeds, who sends which app. Absent = one process. */
  leases?: SpoolLeases;
  close(): Promise<void>;
}

/** Not durable: for the memory store (tests, benchmarks). */
export class MemorySpool implements CallbackSpool {
  private cur = '';
  private nextId = 1;
  private readonly rows = new Map<number, Delivery>();
  private readonly eventIds = new Set<string>();
  private readonly configs = new Map<AppId, StoredCallbackConfig>();

  async cursor(): Promise<string> {
    return this.cur;
  }

  async enqueue(from: string, deliveries: NewDelivery[], cursor: string): Promise<boolean> {
    if (from !== this.cur) return false;
    for (const d of deliveries) {
      if (this.eventIds.has(d.eventId)) continue;
      this.eventIds.add(d.eventId);
      const id = this.nextId++;
      this.rows.set(id, { ...d, id, state: 'pending', attempts: 0, lastError: '', failedAt: 0 });
    }
    this.cur = cursor;
    return true;
  }

  async pending(appId: AppId, afterId: number, limit: number): Promise<Delivery[]> {
    const out: Delivery[] = [];
    for (const d of this.rows.values()) {
      if (out.length >= limit) break;
      if (d.appId === appId && d.state === 'pending' && d.id > afterId) out.push({ ...d });
    }
    return out;
  }

  async appsWithPending(): Promise<AppId[]> {
    const apps = new Set<AppId>();
    for (const d of this.rows.values()) if (d.state === 'pending') apps.add(d.appId);
    return [...apps];
  }

  async delivered(ids: number[]): Promise<void> {
    for (const id of ids) {
      const d = this.rows.get(id);
      if (!d) continue;
      this.rows.delete(id);
      this.eventIds.delete(d.eventId); // as a unique key would: only spooled rows count
    }
  }

  async fail(id: number, attempts: number, lastError: string, at: number): Promise<void> {
    const d = this.rows.get(id);
    if (d?.state === 'pending') Object.assign(d, { state: 'failed', attempts, lastError: lastError.slice(0, MAX_ERROR_LENGTH), failedAt: at });
  }

  async failed(appId: AppId | null, limit: number, afterId = 0): Promise<Delivery[]> {
    return [...this.rows.values()]
      .filter((d) => d.state === 'failed' && d.id > afterId && (appId === null || d.appId === appId))
      .slice(0, limit)
      .map((d) => ({ ...d }));
  }

  /** The failed rows `ids` names (or all), of `appId` when given, in spool order. */
  private chosen(ids: number[] | 'all', appId: AppId | null): Delivery[] {
    return (ids === 'all' ? [...this.rows.keys()] : resendOrder(ids))
      .map((id) => this.rows.get(id))
      .filter((d): d is Delivery => d?.state === 'failed' && (appId === null || d.appId === appId));
  }

  async retry(ids: number[] | 'all', appId: AppId | null, now: number): Promise<number> {
    const chosen = this.chosen(ids, appId);
    for (const d of chosen) {
      this.rows.delete(d.id);
      const id = this.nextId++;
      this.rows.set(id, { ...d, id, state: 'pending', attempts: 0, lastError: '', failedAt: 0, createdAt: now });
    }
    return chosen.length;
  }

  async discard(ids: number[] | 'all', appId: AppId | null): Promise<number> {
    const chosen = this.chosen(ids, appId);
    await this.delivered(chosen.map((d) => d.id));
    return chosen.length;
  }

  async pruneFailed(beforeMs: number, limit: number): Promise<number> {
    const old = [...this.rows.values()]
      .filter((d) => d.state === 'failed' && d.failedAt < beforeMs)
      .sort((a, b) => a.failedAt - b.failedAt || a.id - b.id)
      .slice(0, Math.max(0, limit));
    await this.delivered(old.map((d) => d.id));
    return old.length;
  }

  async counts(): Promise<SpoolCounts[]> {
    const by = new Map<AppId, SpoolCounts>();
    for (const d of this.rows.values()) {
      let c = by.get(d.appId);
      if (!c) by.set(d.appId, (c = { appId: d.appId, pending: 0, failed: 0 }));
      c[d.state]++;
    }
    return [...by.values()];
  }

  async getConfig(appId: AppId): Promise<StoredCallbackConfig | null> {
    return this.configs.get(appId) ?? null;
  }

  async setConfig(appId: AppId, config: StoredCallbackConfig | null): Promise<void> {
    if (config) this.configs.set(appId, config);
    else this.configs.delete(appId);
  }

  async setConfigIf(appId: AppId, config: StoredCallbackConfig, when: readonly StoredConfigState[]): Promise<boolean> {
    if (!when.includes(configState(this.configs.get(appId) ?? null))) return false;
    this.configs.set(appId, config);
    return true;
  }

  async allConfigs(): Promise<Map<AppId, StoredCallbackConfig>> {
    return new Map(this.configs);
  }

  async close(): Promise<void> {}
}
