// Chat history in memory: each room's messages in the order they were added (seq order within
// a room's life). Changes come from committed units only, so readers never see a message that
// could still be rolled back.
import type { AppId, ChatMessage } from '../../core/model.js';
import type { HistoryQuery, MessageKey } from '../../core/ports/store.js';

/** What a unit does to the history; applied when it commits. */
export type HistoryChange =
  | { kind: 'append'; appId: AppId; messages: ChatMessage[] }
  | { kind: 'delete'; appId: AppId; roomId: string; ids: string[] }
  | { kind: 'clear'; appId: AppId; roomId: string };

export interface History {
  apply(changes: HistoryChange[]): void;
  page(appId: AppId, roomId: string, q: HistoryQuery): ChatMessage[];
  /** Those of `ids` the room's history holds. */
  held(appId: AppId, roomId: string, ids: string[]): string[];
  prune(beforeMs: number, limit: number): number;
}

const key = (appId: AppId, roomId: string) => `${appId}\n${roomId}`;

/** Strings in code point order (as SQLite's BINARY and PostgreSQL's "C" order UTF-8), not UTF-16's. */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length - b.length;
  // Surrogates (U+D800–DFFF, code points above U+FFFF) go after U+E000–FFFF.
  const rank = (u: number) => (u >= 0xe000 ? u - 0x800 : u >= 0xd800 ? u + 0x2000 : u);
  return rank(a.charCodeAt(i)) - rank(b.charCodeAt(i));
}

/** The order of every room's history (roomId '' pages): see MessageKey. */
export function compareKeys(a: MessageKey, b: MessageKey): number {
  return a.at - b.at || compareCodePoints(a.roomId, b.roomId) || a.seq - b.seq || compareCodePoints(a.id, b.id);
}

export class MemoryHistory implements History {
  private readonly rooms = new Map<string, ChatMessage[]>();
  private readonly ids = new Set<string>();

  apply(changes: HistoryChange[]): void {
    for (const c of changes) {
      if (c.kind === 'append') {
        for (const m of c.messages) {
          const k = key(c.appId, m.roomId);
          if (this.ids.has(`${k}\n${m.id}`)) continue;
          this.ids.add(`${k}\n${m.id}`);
          let list = this.rooms.get(k);
          if (!list) this.rooms.set(k, (list = []));
          list.push({ ...m });
        }
      } else {
        const k = key(c.appId, c.roomId);
        const list = this.rooms.get(k);
        if (!list) continue;
        const drop = c.kind === 'clear' ? null : new Set(c.ids);
        const kept = list.filter((m) => drop !== null && !drop.has(m.id));
        for (const m of list) if (drop === null || drop.has(m.id)) this.ids.delete(`${k}\n${m.id}`);
        if (kept.length === 0) this.rooms.delete(k);
        else this.rooms.set(k, kept);
      }
    }
  }

  page(appId: AppId, roomId: string, q: HistoryQuery): ChatMessage[] {
    const fits = (m: ChatMessage) =>
      m.at >= q.sinceAt && (q.untilAt === undefined || m.at <= q.untilAt) && (q.beforeSeq === undefined || m.seq < q.beforeSeq);
    const offset = q.offset ?? 0;
    if (roomId === '') {
      // Every room of the app: oldest first by time, then room, seq, id; past q.after when given.
      const { after } = q;
      const all: ChatMessage[] = [];
      for (const [k, list] of this.rooms) {
        if (k.startsWith(`${appId}\n`)) for (const m of list) if (fits(m) && (after === undefined || compareKeys(m, after) > 0)) all.push(m);
      }
      all.sort(compareKeys);
      return all.slice(offset, offset + Math.max(0, q.limit)).map((m) => ({ ...m }));
    }
    const list = this.rooms.get(key(appId, roomId)) ?? [];
    const out: ChatMessage[] = [];
    let skipped = 0;
    for (let i = list.length - 1; i >= 0 && out.length < q.limit; i--) {
      const m = list[i];
      if (!fits(m)) continue;
      if (skipped < offset) {
        skipped++;
        continue;
      }
      out.push({ ...m });
    }
    return out.sort((a, b) => b.seq - a.seq);
  }

  held(appId: AppId, roomId: string, ids: string[]): string[] {
    const k = key(appId, roomId);
    return ids.filter((id) => this.ids.has(`${k}\n${id}`));
  }

  prune(beforeMs: number, limit: number): number {
    let n = 0;
    for (const [k, list] of this.rooms) {
      if (n >= limit) break;
      const kept: ChatMessage[] = [];
      for (const m of list) {
        if (m.at < beforeMs && n < limit) {
          n++;
          this.ids.delete(`${k}\n${m.id}`);
        } else kept.push(m);
      }
      if (kept.length === 0) this.rooms.delete(k);
      else this.rooms.set(k, kept);
    }
    return n;
  }
}
