// Reads of one app's in-memory data. What it hands out is a copy: callers (the rules) may change
// it freely without touching the stored state.
import type { AppId, AuditEntry, ChatMessage, Member, MessageQuery, RoomAggregate } from '../../core/model.js';
import type { AuditQuery, BadWordList, EntryList, EntryOf, EntryQuery, RoomQuery, StoreReader, Subject } from '../../core/ports/store.js';
import { copyAggregate, copyEntry, copyMember, type AppState, type MemoryState } from './state.js';

export class StateReader implements StoreReader {
  constructor(
    readonly st: MemoryState,
    readonly appId: AppId,
  ) {}

  /** The app's data, or undefined when it has none yet (reads never create it). */
  protected get data(): AppState | undefined {
    return this.st.apps.get(this.appId);
  }

  async room(roomId: string): Promise<RoomAggregate | null> {
    const a = this.data?.rooms.get(roomId);
    return a ? copyAggregate(a) : null;
  }

  async member(roomId: string, userId: string): Promise<Member | null> {
    const m = this.data?.member(roomId, userId);
    return m ? copyMember(m) : null;
  }

  async members(roomId: string, afterUserId: string, limit: number): Promise<Member[]> {
    return (this.data?.memberPage(roomId, afterUserId, limit) ?? []).map(copyMember);
  }

  async membersByIp(roomId: string, ip: string): Promise<Member[]> {
    return (this.data?.membersByIp(roomId, ip) ?? []).map(copyMember);
  }

  async roomsWith(subject: Subject): Promise<string[]> {
    return this.data?.roomsWith(subject) ?? [];
  }

  async matching<L extends EntryList>(list: L, roomId: string, subjects: Subject[], now: number): Promise<EntryOf[L][]> {
    const d = this.data;
    if (!d || subjects.length === 0) return [];
    return d.entries(list).matching(roomId, subjects, now).map(copyEntry);
  }

  async list<L extends EntryList>(list: L, q: EntryQuery): Promise<EntryOf[L][]> {
    const all = this.data?.entries(list).query(q) ?? [];
    const offset = q.offset ?? 0;
    const page = q.limit === undefined ? all.slice(offset) : all.slice(offset, offset + Math.max(0, q.limit));
    return page.map(copyEntry);
  }

  async count(list: EntryList, q: EntryQuery): Promise<number> {
    return this.data?.entries(list).query(q).length ?? 0;
  }

  async badWords(scopes: string[], known?: ReadonlyMap<string, string>): Promise<BadWordList[]> {
    const out: BadWordList[] = [];
    const d = this.data;
    if (!d) return out;
    for (const scope of scopes) {
      const row = d.badWords.get(scope);
      // The stored array itself: rows are never changed in place, and the type is read-only.
      if (row) out.push({ scope, version: row.version, words: known?.get(scope) === row.version ? null : row.words });
    }
    return out;
  }

  async rooms(q: RoomQuery): Promise<RoomAggregate[]> {
    return (this.data?.roomPage(q) ?? []).map(copyAggregate);
  }

  async audit(q: AuditQuery): Promise<AuditEntry[]> {
    return this.st.audit.page(this.appId, q);
  }

  async messages(roomId: string, q: MessageQuery): Promise<ChatMessage[]> {
    return this.st.history.page(this.appId, roomId, q);
  }

  async messageIds(roomId: string, ids: string[]): Promise<string[]> {
    return ids.length === 0 ? [] : this.st.history.held(this.appId, roomId, ids);
  }
}
