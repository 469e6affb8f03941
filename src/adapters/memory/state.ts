// The in-memory data of the store and its indexes. Every read the port offers is a lookup here:
// members by (room, user) with secondary indexes by user and by client IP, deny/mute entries by
// subject, by room and in creation order. This module stores what it is given and hands out what
// it stores; copying in and out (isolation) is the store's business (see reader.ts, unit.ts).
import type { RoomEvent } from '../../core/events.js';
import { MemoryAuditLog, type AuditLog } from './audit-log.js';
import { MemoryHistory, type History } from './history.js';
import { byString, insertSorted, lowerBound, removeSorted } from './sorted.js';
import type { AppId, DenyEntry, Member, MuteEntry, RoomAggregate } from '../../core/model.js';
import type { EntryList, EntryOf, EntryQuery, RoomQuery, Subject } from '../../core/ports/store.js';

type Entry = DenyEntry | MuteEntry;

// ------------------------------------------------------------------------------- entry order

function byCreation(a: Entry, b: Entry): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

const subjectKey = (subjectType: string, subject: string) => `${subjectType}\n${subject}`;

const active = (e: Entry, now: number) => e.expiresAt === null || e.expiresAt > now;

// ------------------------------------------------------------------------------- entries

/** One app's deny or mute list with its indexes. */
export class EntryIndex<E extends Entry> {
  readonly byId = new Map<string, E>();
  private readonly bySubject = new Map<string, Map<string, E>>();
  private readonly byRoom = new Map<string, E[]>();
  private readonly all: E[] = [];

  get size(): number {
    return this.byId.size;
  }

  add(e: E): void {
    if (this.byId.has(e.id)) this.remove(e.id);
    this.byId.set(e.id, e);
    const key = subjectKey(e.subjectType, e.subject);
    let s = this.bySubject.get(key);
    if (!s) this.bySubject.set(key, (s = new Map()));
    s.set(e.id, e);
    let r = this.byRoom.get(e.roomId);
    if (!r) this.byRoom.set(e.roomId, (r = []));
    insertSorted(r, e, byCreation);
    insertSorted(this.all, e, byCreation);
  }

  remove(id: string): E | undefined {
    const e = this.byId.get(id);
    if (!e) return undefined;
    this.byId.delete(id);
    const key = subjectKey(e.subjectType, e.subject);
    const s = this.bySubject.get(key)!;
    s.delete(id);
    if (s.size === 0) this.bySubject.delete(key);
    const r = this.byRoom.get(e.roomId)!;
    removeSorted(r, e, byCreation);
    if (r.length === 0) this.byRoom.delete(e.roomId);
    removeSorted(this.all, e, byCreation);
    return e;
  }

  /** The entries scoped to one room ('' = app-wide), in creation order. */
  inRoom(roomId: string): readonly E[] {
    return this.byRoom.get(roomId) ?? [];
  }

  /** Active entries of the subjects in `roomId` or app-wide: O(entries of those subjects). */
  matching(roomId: string, subjects: Subject[], now: number): E[] {
    const out: E[] = [];
    for (let i = 0; i < subjects.length; i++) {
      const s = this.bySubject.get(subjectKey(subjects[i].subjectType, subjects[i].subject));
      if (!s) continue;
      for (const e of s.values()) {
        if ((e.roomId === roomId || e.roomId === '') && active(e, now)) out.push(e);
      }
    }
    // An entry is under one subject: it shows twice only when a subject was given twice.
    return out.length > 1 ? [...new Set(out)].sort(byCreation) : out;
  }

  /** The filtered list in creation order, from the narrowest index the query allows. */
  query(q: EntryQuery): E[] {
    let source: readonly E[];
    if (q.subjectType !== undefined && q.subject !== undefined) {
      const s = this.bySubject.get(subjectKey(q.subjectType, q.subject));
      source = s ? [...s.values()].sort(byCreation) : [];
    } else if (q.roomId !== undefined) {
      source = this.inRoom(q.roomId);
    } else {
      source = this.all;
    }
    return source.filter(
      (e) =>
        active(e, q.activeAt) &&
        (q.roomId === undefined || e.roomId === q.roomId) &&
        (q.subjectType === undefined || e.subjectType === q.subjectType) &&
        (q.subject === undefined || e.subject === q.subject) &&
        (q.origin === undefined || e.origin === q.origin),
    );
  }
}

// ------------------------------------------------------------------------------- members

interface RoomMembers {
  byUser: Map<string, Member>;
  /** userIds in order, for paging without sorting a big room on every page. */
  order: string[];
}

// ------------------------------------------------------------------------------- one app

/** One stored bad-word list: never changed in place (a change stores a new one). */
export interface BadWordsRow {
  version: string;
  words: readonly string[];
}

/** The rooms by id, with their ids also kept sorted (the operator's room list pages them). */
export class RoomMap extends Map<string, RoomAggregate> {
  readonly sortedIds: string[] = [];

  override set(roomId: string, agg: RoomAggregate): this {
    // Map's constructor calls set before the field exists; RoomMap is always built empty.
    if (this.sortedIds && !this.has(roomId)) insertSorted(this.sortedIds, roomId, byString);
    return super.set(roomId, agg);
  }

  override delete(roomId: string): boolean {
    if (!super.delete(roomId)) return false;
    removeSorted(this.sortedIds, roomId, byString);
    return true;
  }

  override clear(): void {
    super.clear();
    this.sortedIds.length = 0;
  }
}

export class AppState {
  readonly rooms = new RoomMap();
  private readonly members = new Map<string, RoomMembers>();
  /** userId -> rooms with that member */
  private readonly userRooms = new Map<string, Set<string>>();
  /** client IP -> room -> userIds */
  private readonly ipRooms = new Map<string, Map<string, Set<string>>>();
  readonly deny = new EntryIndex<DenyEntry>();
  readonly mute = new EntryIndex<MuteEntry>();
  /** Bad-word lists by scope (room id, '' = app-wide); a change replaces the list object. */
  readonly badWords = new Map<string, BadWordsRow>();
  /** The seq of the latest app-wide event (room ''), 0 when none is known. */
  lastAppSeq = 0;

  constructor(readonly appId: AppId) {}

  /** A page of rooms in id order, from the sorted ids (a search scans on from `after`). */
  roomPage(q: RoomQuery): RoomAggregate[] {
    const needle = (q.search ?? '').toLowerCase();
    const ids = this.rooms.sortedIds;
    let i = lowerBound(ids, q.after, byString);
    if (ids[i] === q.after) i++;
    const out: RoomAggregate[] = [];
    for (; i < ids.length && out.length < q.limit; i++) {
      const id = ids[i];
      const a = this.rooms.get(id)!;
      if (needle === '' || id.toLowerCase().includes(needle) || a.room.name.toLowerCase().includes(needle)) out.push(a);
    }
    return out;
  }

  entries<L extends EntryList>(list: L): EntryIndex<EntryOf[L]> {
    return (list === 'deny' ? this.deny : this.mute) as unknown as EntryIndex<EntryOf[L]>;
  }

  member(roomId: string, userId: string): Member | undefined {
    return this.members.get(roomId)?.byUser.get(userId);
  }

  /** Ordered by userId, those after `afterUserId`. */
  memberPage(roomId: string, afterUserId: string, limit: number): Member[] {
    const rm = this.members.get(roomId);
    if (!rm || limit <= 0) return [];
    let i = lowerBound(rm.order, afterUserId, byString);
    if (rm.order[i] === afterUserId) i++;
    return rm.order.slice(i, i + limit).map((u) => rm.byUser.get(u)!);
  }

  membersByIp(roomId: string, ip: string): Member[] {
    const users = this.ipRooms.get(ip)?.get(roomId);
    if (!users) return [];
    const rm = this.members.get(roomId)!;
    return [...users].sort(byString).map((u) => rm.byUser.get(u)!);
  }

  roomsWith(subject: Subject): string[] {
    const rooms = subject.subjectType === 'userId' ? this.userRooms.get(subject.subject) : this.ipRooms.get(subject.subject)?.keys();
    return rooms ? [...rooms].sort(byString) : [];
  }

  /** Every member of the room (for deleting the room); the live map, not a copy. */
  roomMembers(roomId: string): Iterable<Member> {
    return this.members.get(roomId)?.byUser.values() ?? [];
  }

  allMembers(): Iterable<[string, Member]> {
    const members = this.members;
    return (function* () {
      for (const [roomId, rm] of members) for (const m of rm.byUser.values()) yield [roomId, m] as [string, Member];
    })();
  }

  /** Stores the member (replacing any with the same userId); returns the one replaced. */
  setMember(roomId: string, m: Member): Member | undefined {
    let rm = this.members.get(roomId);
    if (!rm) this.members.set(roomId, (rm = { byUser: new Map(), order: [] }));
    const prev = rm.byUser.get(m.userId);
    if (prev) {
      this.unindexIp(roomId, prev);
    } else {
      insertSorted(rm.order, m.userId, byString);
      let rooms = this.userRooms.get(m.userId);
      if (!rooms) this.userRooms.set(m.userId, (rooms = new Set()));
      rooms.add(roomId);
    }
    rm.byUser.set(m.userId, m);
    let byRoom = this.ipRooms.get(m.clientIp);
    if (!byRoom) this.ipRooms.set(m.clientIp, (byRoom = new Map()));
    let users = byRoom.get(roomId);
    if (!users) byRoom.set(roomId, (users = new Set()));
    users.add(m.userId);
    return prev;
  }

  removeMember(roomId: string, userId: string): Member | undefined {
    const rm = this.members.get(roomId);
    const prev = rm?.byUser.get(userId);
    if (!rm || !prev) return undefined;
    rm.byUser.delete(userId);
    removeSorted(rm.order, userId, byString);
    if (rm.byUser.size === 0) this.members.delete(roomId);
    const rooms = this.userRooms.get(userId)!;
    rooms.delete(roomId);
    if (rooms.size === 0) this.userRooms.delete(userId);
    this.unindexIp(roomId, prev);
    return prev;
  }

  private unindexIp(roomId: string, m: Member): void {
    const byRoom = this.ipRooms.get(m.clientIp);
    const users = byRoom?.get(roomId);
    if (!byRoom || !users) return;
    users.delete(m.userId);
    if (users.size === 0) byRoom.delete(roomId);
    if (byRoom.size === 0) this.ipRooms.delete(m.clientIp);
  }
}

// ------------------------------------------------------------------------------- outbox

/** The memory store's outbox: events with increasing numeric ids; the cursor is the last id read. */
export class Outbox {
  private readonly rows: { id: number; event: RoomEvent }[] = [];
  private nextId = 1;
  /** `${appId}\n${roomId}` -> the events of the room's current life, in seq order. */
  private readonly byRoom = new Map<string, RoomEvent[]>();

  append(events: RoomEvent[]): void {
    for (const event of events) {
      this.rows.push({ id: this.nextId++, event });
      const key = `${event.appId}\n${event.roomId}`;
      const list = this.byRoom.get(key);
      // A seq that does not follow is a new life of the room (dismissed, then created again).
      if (!list || (list.length > 0 && list[list.length - 1].seq >= event.seq)) this.byRoom.set(key, [event]);
      else list.push(event);
    }
  }

  roomEvents(appId: AppId, roomId: string, afterSeq: number, limit: number): RoomEvent[] {
    const list = this.byRoom.get(`${appId}\n${roomId}`);
    if (!list || limit <= 0) return [];
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid].seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    return list.slice(lo, lo + limit);
  }

  /** The cursor after the last event appended. */
  head(): string {
    return String(this.nextId - 1);
  }

  read(cursor: string, limit: number): { events: RoomEvent[]; cursor: string } {
    const after = cursor === '' ? 0 : Number(cursor);
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rows[mid].id <= after) lo = mid + 1;
      else hi = mid;
    }
    const page = this.rows.slice(lo, lo + Math.max(0, limit));
    return { events: page.map((r) => r.event), cursor: page.length > 0 ? String(page[page.length - 1].id) : cursor };
  }

  /**
   * Drops up to `limit` events older than `beforeMs`, in id order. Linear: the rows are compacted
   * in one pass, then each room touched is filtered once (no splice per event).
   */
  prune(beforeMs: number, limit: number): number {
    const rows = this.rows;
    const gone = new Map<string, Set<RoomEvent>>();
    let n = 0;
    let kept = 0;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      if (n < limit && row.event.at < beforeMs) {
        const key = `${row.event.appId}\n${row.event.roomId}`;
        let set = gone.get(key);
        if (!set) gone.set(key, (set = new Set()));
        set.add(row.event);
        n++;
      } else rows[kept++] = row;
    }
    rows.length = kept;
    for (const [key, set] of gone) {
      const list = this.byRoom.get(key);
      if (!list) continue;
      const left = list.filter((e) => !set.has(e));
      if (left.length === 0) this.byRoom.delete(key);
      else if (left.length !== list.length) this.byRoom.set(key, left);
    }
    return n;
  }
}

// ------------------------------------------------------------------------------- the whole store

export class MemoryState {
  readonly apps = new Map<AppId, AppState>();
  readonly meta = new Map<string, string>();
  readonly outbox = new Outbox();
  /** Chat history; a persistent store puts its own (on disk) here. */
  history: History = new MemoryHistory();
  /** The moderation audit log; a persistent store puts its own (on disk) here. */
  audit: AuditLog = new MemoryAuditLog();

  app(appId: AppId): AppState {
    let a = this.apps.get(appId);
    if (!a) this.apps.set(appId, (a = new AppState(appId)));
    return a;
  }
}

// ------------------------------------------------------------------------------- copies

/**
 * A private copy of an aggregate: everything the rules mutate in place is duplicated. The room's
 * settings and seats are shared: the rules replace them rather than change them.
 */
export function copyAggregate(a: RoomAggregate): RoomAggregate {
  return {
    room: a.room,
    seats: a.seats.slice(),
    admins: a.admins.slice(),
    requests: a.requests.map((r) => ({ ...r })),
    memberCount: a.memberCount,
    seq: a.seq,
  };
}

export function copyMember(m: Member): Member {
  return { ...m, marks: m.marks.slice() };
}

export function copyEntry<E extends Entry>(e: E): E {
  const c = { ...e };
  if ('snapshot' in c && c.snapshot) c.snapshot = { ...c.snapshot };
  return c;
}
