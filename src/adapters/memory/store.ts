// The in-memory Store: the whole state in indexed maps, units of work with locks and an undo log.
// Used by tests as is, and by the SQLite store as its authority while the process runs (it adds
// persistence through the `commitUnit` hook and reloads `state` from disk).
import type { RoomEvent } from '../../core/events.js';
import type { AppId } from '../../core/model.js';
import type { ConnectedMember, EntryList, OutboxPage, Store, StoreReader, StoreWriter } from '../../core/ports/store.js';
import { AppLocks } from './locks.js';
import { StateReader } from './reader.js';
import { MemoryState } from './state.js';
import { Unit } from './unit.js';

export class MemoryStore implements Store {
  /** Replaced as a whole when a persistent subclass reloads from disk. */
  protected state = new MemoryState();
  /** Set by a persistent subclass: units then record their change sets. */
  protected recordChanges = false;
  private readonly locks = new Map<AppId, AppLocks>();
  /** One-time tokens: scope + nonce -> expiry (ms). Not part of `state`: a reload keeps them. */
  protected readonly nonces = new Map<string, number>();
  private nextNonceSweep = 0;
  /** Set while a turn's units wait for its end (turnEnd). */
  private turnEnded: Promise<void> | null = null;

  private appLocks(appId: AppId): AppLocks {
    let l = this.locks.get(appId);
    if (!l) this.locks.set(appId, (l = new AppLocks()));
    return l;
  }

  async write<T>(appId: AppId, fn: (w: StoreWriter) => Promise<T>): Promise<T> {
    const unit = new Unit(this.state, appId, this.appLocks(appId), this.recordChanges);
    let result: T;
    let durable: Promise<void> | undefined;
    try {
      result = await fn(unit);
      durable = this.commitUnit(unit);
    } catch (e) {
      unit.rollback();
      unit.release();
      throw e;
    }
    // Locks go before durability: the next unit on these rooms reads this one's state while it
    // commits, and commits after it (in the same batch or a later one).
    unit.release();
    if (durable) await durable;
    return result;
  }

  /**
   * Makes a finished unit's writes final; synchronous up to the returned promise (durability),
   * and throwing means the unit failed (it is then rolled back). Memory: the events join the
   * outbox, and the unit completes with the others of its event-loop turn (see turnEnd).
   */
  protected commitUnit(unit: Unit): Promise<void> | undefined {
    if (unit.events.length > 0) this.state.outbox.append(unit.events);
    if (unit.history.length > 0) this.state.history.apply(unit.history);
    if (unit.auditEntries.length > 0) this.state.audit.append(unit.appId, unit.auditEntries);
    return this.turnEnd();
  }

  /**
   * Resolves once this turn of the event loop is over, for every unit that asks during it: as in
   * the SQLite store's group commit, a turn's replies then go out back to back. Completed one by
   * one, replies interleave with the turn's next requests: under load the admin API then spent
   * 1.7 times the CPU a request (more turns of fewer requests, each reply waking its peer).
   */
  private turnEnd(): Promise<void> {
    return (this.turnEnded ??= new Promise((resolve) =>
      setImmediate(() => {
        this.turnEnded = null;
        resolve();
      }),
    ));
  }

  async read<T>(appId: AppId, fn: (r: StoreReader) => Promise<T>): Promise<T> {
    return fn(new StateReader(this.state, appId));
  }

  async connectedMembers(prefix: string): Promise<ConnectedMember[]> {
    const out: ConnectedMember[] = [];
    for (const [appId, app] of this.state.apps) {
      for (const [roomId, m] of app.allMembers()) {
        if (m.connId !== '' && m.connId.startsWith(prefix)) out.push({ appId, roomId, userId: m.userId, connId: m.connId });
      }
    }
    return out;
  }

  async connectedNodes(): Promise<string[]> {
    const out = new Set<string>();
    for (const app of this.state.apps.values()) {
      for (const [, m] of app.allMembers()) {
        const colon = m.connId.indexOf(':');
        if (colon > 0) out.add(m.connId.slice(0, colon));
      }
    }
    return [...out];
  }

  async readOutbox(cursor: string, limit: number): Promise<OutboxPage> {
    return this.state.outbox.read(cursor, limit);
  }

  async outboxHead(): Promise<string> {
    return this.state.outbox.head();
  }

  async pruneOutbox(beforeMs: number, limit: number): Promise<number> {
    return this.state.outbox.prune(beforeMs, limit);
  }

  async roomEvents(appId: AppId, roomId: string, afterSeq: number, limit: number): Promise<RoomEvent[]> {
    return this.state.outbox.roomEvents(appId, roomId, afterSeq, limit);
  }

  async pruneMessages(beforeMs: number, limit: number): Promise<number> {
    return this.state.history.prune(beforeMs, limit);
  }

  async pruneEntries(beforeMs: number, limit: number): Promise<number> {
    return this.dropEnded(beforeMs, limit).length;
  }

  /**
   * Takes up to `limit` entries that ended before `beforeMs` out of memory; returns which. Units
   * never touch ended entries (they read and lift those in force), so none holds one of these.
   */
  protected dropEnded(beforeMs: number, limit: number): [AppId, EntryList, string][] {
    const out: [AppId, EntryList, string][] = [];
    for (const [appId, app] of this.state.apps) {
      for (const list of ['deny', 'mute'] as const) {
        const idx = app.entries(list);
        for (const e of idx.byId.values()) { // a Map may lose its current entry as it is iterated
          if (out.length >= limit) return out;
          if (e.expiresAt !== null && e.expiresAt < beforeMs) {
            idx.remove(e.id);
            out.push([appId, list, e.id]);
          }
        }
      }
    }
    return out;
  }

  async getMeta(key: string): Promise<string | null> {
    return this.state.meta.get(key) ?? null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.state.meta.set(key, value);
  }

  async pruneAudit(beforeMs: number, limit: number): Promise<number> {
    return this.state.audit.prune(beforeMs, limit);
  }

  async claimNonce(scope: string, nonce: string, expiresAt: number, now: number): Promise<boolean> {
    return this.claimInMemory(nonceKey(scope, nonce), expiresAt, now);
  }

  /** Check-and-set in one synchronous step: of two identical claims, one wins. */
  protected claimInMemory(key: string, expiresAt: number, now: number): boolean {
    if (now >= this.nextNonceSweep) {
      this.nextNonceSweep = now + 10_000;
      for (const [k, until] of this.nonces) if (until <= now) this.nonces.delete(k);
    }
    const until = this.nonces.get(key);
    if (until !== undefined && until > now) return false;
    this.nonces.set(key, expiresAt);
    return true;
  }

  async close(): Promise<void> {}
}

export function nonceKey(scope: string, nonce: string): string {
  return `${scope}\n${nonce}`;
}
