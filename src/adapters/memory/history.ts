// Chat history in memory: each room's messages in the order they were added (seq order within
// a room's life). Changes come from committed units only, so readers never see a message that
// could still be rolled back.
import type { AppId, ChatMessage, MessageQuery } from '../../core/model.js';

/** What a unit does to the history; applied when it commits. */
export type HistoryChange =
  | { kind: 'append'; appId: AppId; messages: ChatMessage[] }
  | { kind: 'delete'; appId: AppId; roomId: string; ids: string[] }
  | { kind: 'clear'; appId: AppId; roomId: string };

export interface History {
  apply(changes: HistoryChange[]): void;
  page(appId: AppId, roomId: string, q: MessageQuery): ChatMessage[];
  /** Those of `ids` the room's history holds. */
  held(appId: AppId, roomId: string, ids: string[]): string[];
  prune(beforeMs: number, limit: number): number;
}

const key = (appId: AppId, roomId: string) => `${appId}\n${roomId}`;

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

  page(appId: AppId, roomId: string, q: MessageQuery): ChatMessage[] {
    const fits = (m: ChatMessage) =>
      m.at >= q.sinceAt && (q.untilAt === undefined || m.at <= q.untilAt) && (q.beforeSeq === undefined || m.seq < q.beforeSeq);
    const offset = q.offset ?? 0;
    if (roomId === '') {
      // Every room of the app: oldest first by time, then room, seq.
      const all: ChatMessage[] = [];
      for (const [k, list] of this.rooms) if (k.startsWith(`${appId}\n`)) for (const m of list) if (fits(m)) all.push(m);
      all.sort((a, b) => a.at - b.at || (a.roomId < b.roomId ? -1 : a.roomId > b.roomId ? 1 : a.seq - b.seq));
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
