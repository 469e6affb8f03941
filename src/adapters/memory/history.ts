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
    const list = this.rooms.get(key(appId, roomId)) ?? [];
    const out: ChatMessage[] = [];
    for (let i = list.length - 1; i >= 0 && out.length < q.limit; i--) {
      const m = list[i];
      if (m.at < q.sinceAt) continue;
      if (q.beforeSeq !== undefined && m.seq >= q.beforeSeq) continue;
      out.push({ ...m });
    }
    return out.sort((a, b) => b.seq - a.seq);
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
