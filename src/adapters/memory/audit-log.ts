// The moderation audit log in memory: each app's entries in id (time) order. Entries come from
// committed units only. The SQLite store keeps its log on disk instead (sqlite/audit-log.ts): a
// log kept for months must not live on the heap nor be loaded at every start.
import type { AppId, AuditEntry } from '../../core/model.js';
import type { AuditQuery } from '../../core/ports/store.js';
import { byString, insertSorted, lowerBound } from './sorted.js';

export interface AuditLog {
  append(appId: AppId, entries: AuditEntry[]): void;
  /** Newest first, filtered, up to `q.limit`, older than `q.before`. */
  page(appId: AppId, q: AuditQuery): AuditEntry[];
  /** Drops up to `limit` entries (of every app) older than `beforeMs`; returns how many. */
  prune(beforeMs: number, limit: number): number;
}

const byId = (a: AuditEntry, b: AuditEntry) => byString(a.id, b.id);

export class MemoryAuditLog implements AuditLog {
  private readonly apps = new Map<AppId, AuditEntry[]>();

  append(appId: AppId, entries: AuditEntry[]): void {
    let log = this.apps.get(appId);
    if (!log) this.apps.set(appId, (log = []));
    for (const e of entries) insertSorted(log, { ...e }, byId);
  }

  page(appId: AppId, q: AuditQuery): AuditEntry[] {
    const log = this.apps.get(appId) ?? [];
    const out: AuditEntry[] = [];
    let i = q.before ? lowerBound(log, { id: q.before } as AuditEntry, byId) - 1 : log.length - 1;
    for (; i >= 0 && out.length < q.limit; i--) {
      const e = log[i];
      if (q.to !== undefined && e.at >= q.to) continue;
      if (q.from !== undefined && e.at < q.from) break;
      if (
        (q.roomId === undefined || e.roomId === q.roomId) &&
        (q.actor === undefined || e.actor === q.actor) &&
        (q.target === undefined || e.target === q.target) &&
        (q.action === undefined || e.action === q.action)
      ) {
        out.push({ ...e });
      }
    }
    return out;
  }

  prune(beforeMs: number, limit: number): number {
    let n = 0;
    for (const log of this.apps.values()) {
      // In id (time) order: the old ones are at the front.
      let k = 0;
      while (k < log.length && n + k < limit && log[k].at < beforeMs) k++;
      log.splice(0, k);
      n += k;
    }
    return n;
  }
}
