// One unit of work over the in-memory state. Writes apply at once (so the unit's own reads see
// them) and each pushes its inverse on an undo log, replayed backwards when the unit throws.
// Aggregates are the exception: the unit works on a private copy (the rules mutate it in place
// and may throw after), which saveRoom then stores. A persistent store may also ask the unit to
// record a compact change set: the final value of every key it wrote.
import type { RoomEvent } from '../../core/events.js';
import type { AppId, AuditEntry, ChatMessage, DenyEntry, Member, MuteEntry, RoomAggregate } from '../../core/model.js';
import type { HistoryChange } from './history.js';
import type { EntryList, EntryOf, StoreWriter } from '../../core/ports/store.js';
import type { AppLocks, LockMode } from './locks.js';
import { StateReader } from './reader.js';
import { copyAggregate, copyEntry, copyMember, type AppState, type BadWordsRow, type MemoryState } from './state.js';

/** What a successful unit changed, by key, with final values (null = deleted). */
export interface Changes {
  /** Rooms deleted with their members and room-scoped entries; applied before the rest. */
  deletedRooms: string[];
  rooms: Map<string, RoomAggregate | null>;
  members: Map<string, { roomId: string; userId: string; member: Member | null }>;
  deny: Map<string, DenyEntry | null>;
  mute: Map<string, MuteEntry | null>;
  /** Bad-word lists by scope (null = deleted). */
  badWords: Map<string, BadWordsRow | null>;
}

export class Unit extends StateReader implements StoreWriter {
  /** Committed with the unit: they join the outbox only if it succeeds. */
  readonly events: RoomEvent[] = [];
  /** Chat history changes: applied only if it succeeds. */
  readonly history: HistoryChange[] = [];
  /** Audit entries: appended to the log only if it succeeds. */
  readonly auditEntries: AuditEntry[] = [];
  readonly changes: Changes | null;
  private readonly undo: (() => void)[] = [];
  /** The unit's private aggregates (null: known not to exist), by room. */
  private readonly working = new Map<string, RoomAggregate | null>();
  private readonly heldRooms: string[] = [];
  private appMode: LockMode | null = null;

  constructor(
    st: MemoryState,
    appId: AppId,
    private readonly locks: AppLocks,
    recordChanges: boolean,
  ) {
    super(st, appId);
    this.changes = recordChanges
      ? { deletedRooms: [], rooms: new Map(), members: new Map(), deny: new Map(), mute: new Map(), badWords: new Map() }
      : null;
  }

  /** The app's data, created on the first write. */
  private get w(): AppState {
    return this.st.app(this.appId);
  }

  // ----------------------------------------------------------------------------- locks

  async lockApp(mode: LockMode): Promise<void> {
    if (this.appMode === 'exclusive' || this.appMode === mode) return;
    // Upgrading, or taking it after a room lock, breaks the lock order: a bug in the caller.
    if (this.appMode === 'shared') throw new Error('the app lock cannot be upgraded from shared to exclusive');
    if (this.heldRooms.length > 0) throw new Error('the app lock must be taken before any room lock');
    const wait = this.locks.app.acquire(mode);
    if (wait) await wait;
    this.appMode = mode;
  }

  private async lockRoom(roomId: string): Promise<void> {
    if (this.heldRooms.includes(roomId)) return;
    const wait = this.locks.lockRoom(roomId);
    if (wait) await wait;
    this.heldRooms.push(roomId);
  }

  async lock(roomIds: string[]): Promise<Map<string, RoomAggregate>> {
    const sorted = [...new Set(roomIds)].sort();
    for (const id of sorted) await this.lockRoom(id);
    const out = new Map<string, RoomAggregate>();
    for (const id of sorted) {
      const a = this.aggregate(id);
      if (a) out.set(id, a);
    }
    return out;
  }

  /** Releases every lock the unit holds; called once, when it ends. */
  release(): void {
    for (const id of this.heldRooms) this.locks.unlockRoom(id);
    this.heldRooms.length = 0;
    if (this.appMode) this.locks.app.release(this.appMode);
    this.appMode = null;
  }

  /** Undoes every write of the unit, newest first. */
  rollback(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]();
    this.undo.length = 0;
  }

  // ----------------------------------------------------------------------------- rooms

  /** The unit's copy of a (locked) room's aggregate, made on first use. */
  private aggregate(roomId: string): RoomAggregate | null {
    let a = this.working.get(roomId);
    if (a === undefined) {
      const stored = this.data?.rooms.get(roomId);
      a = stored ? copyAggregate(stored) : null;
      this.working.set(roomId, a);
    }
    return a;
  }

  override async room(roomId: string): Promise<RoomAggregate | null> {
    await this.lockRoom(roomId);
    return this.aggregate(roomId);
  }

  async insertRoom(agg: RoomAggregate): Promise<boolean> {
    const roomId = agg.room.roomId;
    await this.lockRoom(roomId);
    if (this.aggregate(roomId)) return false;
    const rooms = this.w.rooms;
    // Stored as it is now; the caller's object becomes the unit's working copy.
    const stored = copyAggregate(agg);
    rooms.set(roomId, stored);
    this.undo.push(() => rooms.delete(roomId));
    this.working.set(roomId, agg);
    this.changes?.rooms.set(roomId, stored);
    return true;
  }

  async saveRoom(appId: AppId, agg: RoomAggregate): Promise<void> {
    if (appId !== this.appId) throw new Error(`saveRoom: app ${appId} in a unit of app ${this.appId}`);
    const roomId = agg.room.roomId;
    await this.lockRoom(roomId);
    const rooms = this.w.rooms;
    const prev = rooms.get(roomId);
    // No copy: the working copy is private to this unit, and later units copy it before use.
    rooms.set(roomId, agg);
    this.undo.push(() => (prev ? rooms.set(roomId, prev) : rooms.delete(roomId)));
    this.working.set(roomId, agg);
    this.changes?.rooms.set(roomId, agg);
  }

  async deleteRoom(roomId: string): Promise<void> {
    await this.lockRoom(roomId);
    this.working.set(roomId, null);
    // The room's chat history goes with it, in this unit (applied at commit, like any history change).
    if (roomId !== '') this.history.push({ kind: 'clear', appId: this.appId, roomId });
    const d = this.data;
    if (!d) return;
    const prev = d.rooms.get(roomId);
    const members = [...d.roomMembers(roomId)];
    const deny = roomId === '' ? [] : [...d.deny.inRoom(roomId)];
    const mute = roomId === '' ? [] : [...d.mute.inRoom(roomId)];
    const badWords = roomId === '' ? undefined : d.badWords.get(roomId);
    d.rooms.delete(roomId);
    if (badWords) d.badWords.delete(roomId);
    for (const m of members) d.removeMember(roomId, m.userId);
    for (const e of deny) d.deny.remove(e.id);
    for (const e of mute) d.mute.remove(e.id);
    this.undo.push(() => {
      if (prev) d.rooms.set(roomId, prev);
      if (badWords) d.badWords.set(roomId, badWords);
      for (const m of members) d.setMember(roomId, m);
      for (const e of deny) d.deny.add(e);
      for (const e of mute) d.mute.add(e);
    });
    const c = this.changes;
    if (c) {
      // The room's rows go as a whole: earlier puts of its members and entries are moot.
      c.deletedRooms.push(roomId);
      c.rooms.set(roomId, null);
      for (const [k, v] of c.members) if (v.roomId === roomId) c.members.delete(k);
      for (const e of deny) c.deny.delete(e.id);
      for (const e of mute) c.mute.delete(e.id);
      c.badWords.delete(roomId);
    }
  }

  // ----------------------------------------------------------------------------- members

  async putMember(roomId: string, member: Member): Promise<void> {
    const d = this.w;
    const m = copyMember(member);
    const prev = d.setMember(roomId, m);
    this.undo.push(() => (prev ? d.setMember(roomId, prev) : d.removeMember(roomId, m.userId)));
    this.changes?.members.set(`${roomId}\n${m.userId}`, { roomId, userId: m.userId, member: m });
  }

  async deleteMember(roomId: string, userId: string): Promise<void> {
    const d = this.data;
    const prev = d?.removeMember(roomId, userId);
    if (!d || !prev) return;
    this.undo.push(() => d.setMember(roomId, prev));
    this.changes?.members.set(`${roomId}\n${userId}`, { roomId, userId, member: null });
  }

  // ----------------------------------------------------------------------------- entries

  async insertEntry<L extends EntryList>(list: L, entry: EntryOf[L]): Promise<void> {
    const idx = this.w.entries(list);
    const e = copyEntry(entry);
    const prev = idx.byId.get(e.id);
    idx.add(e);
    this.undo.push(() => {
      idx.remove(e.id);
      if (prev) idx.add(prev);
    });
    (this.changes?.[list] as Map<string, EntryOf[L] | null> | undefined)?.set(e.id, e);
  }

  async deleteEntries(list: EntryList, ids: string[]): Promise<void> {
    const d = this.data;
    if (!d) return;
    const idx = d.entries(list);
    for (const id of ids) {
      const prev = idx.remove(id);
      if (!prev) continue;
      this.undo.push(() => idx.add(prev));
      this.changes?.[list].set(id, null);
    }
  }

  async setBadWords(scope: string, words: string[], version: string): Promise<void> {
    const lists = this.w.badWords;
    const prev = lists.get(scope);
    const row: BadWordsRow | null = words.length > 0 ? { version, words: words.slice() } : null;
    if (row) lists.set(scope, row);
    else lists.delete(scope);
    this.undo.push(() => (prev ? lists.set(scope, prev) : lists.delete(scope)));
    this.changes?.badWords.set(scope, row);
  }

  async appendEvents(events: RoomEvent[]): Promise<void> {
    for (const e of events) {
      this.events.push(e);
      if (e.roomId !== '') continue;
      const w = this.w;
      const prev = w.lastAppSeq;
      w.lastAppSeq = Math.max(prev, e.seq);
      this.undo.push(() => (w.lastAppSeq = prev));
    }
  }

  async lastAppSeq(): Promise<number> {
    return this.w.lastAppSeq;
  }

  async appendAudit(entries: AuditEntry[]): Promise<void> {
    for (const e of entries) this.auditEntries.push({ ...e });
  }

  async appendMessages(messages: ChatMessage[]): Promise<void> {
    if (messages.length > 0) this.history.push({ kind: 'append', appId: this.appId, messages });
  }

  async deleteMessages(roomId: string, ids: string[]): Promise<void> {
    if (ids.length > 0) this.history.push({ kind: 'delete', appId: this.appId, roomId, ids });
  }

  async clearMessages(roomId: string): Promise<void> {
    this.history.push({ kind: 'clear', appId: this.appId, roomId });
  }
}
