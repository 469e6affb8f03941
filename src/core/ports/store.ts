// The Store port, owned by the core and shaped around the room: a command locks the rooms it
// changes, reads their aggregates (one row each), reads members and deny/mute entries by key,
// and writes what changed plus its events in one transaction. Adapters: adapters/memory (tests),
// adapters/sqlite (embedded default), adapters/postgres.
import type { RoomEvent } from '../events.js';
import type { AppId, AuditEntry, ChatMessage, DenyEntry, MessageQuery, Member, MuteEntry, Origin, RoomAggregate, SubjectType } from '../model.js';

export type EntryList = 'deny' | 'mute';

export interface EntryOf {
  deny: DenyEntry;
  mute: MuteEntry;
}

export interface Subject {
  subjectType: SubjectType;
  subject: string;
}

/**
 * A record's place in the order of every room's chat history (roomId '' pages): oldest first by
 * time, then room id, seq and message id (strings in code point order). Unique per record.
 */
export interface MessageKey {
  at: number;
  roomId: string;
  seq: number;
  id: string;
}

/**
 * A page of chat history; `after` (roomId '' pages only) keeps the records past that key: a
 * page that starts where the previous one ended, whatever was deleted or expired meanwhile.
 */
export type HistoryQuery = MessageQuery & { after?: MessageKey };

/** A filtered, paged read of one list (what the dialects' list endpoints show). */
export interface EntryQuery {
  roomId?: string; // exact scope ('' = app-wide); absent = any scope
  subjectType?: SubjectType;
  subject?: string;
  origin?: Origin;
  /** Only entries not expired at this time (ms). */
  activeAt: number;
  /** Ordered by creation (createdAt, id). */
  limit?: number;
  offset?: number;
}

/**
 * One bad-word list: a room's, or the app's ('' scope). `version` changes with every change of
 * the list (made by the core, unique), so a compiled matcher is reused until the list changes.
 * `words` is null when the caller already knows this version.
 */
export interface BadWordList {
  scope: string;
  version: string;
  words: readonly string[] | null;
}

/** Reads of one app's data. In a write they see the writes made before them in it. */
export interface StoreReader {
  /**
   * The room's aggregate; in a write it is locked (see StoreWriter.lock). `member` names a user
   * the caller reads next with member(): a hint only, which an adapter may use to fetch that
   * member together with the lock (one round trip fewer); results are the same either way.
   */
  room(roomId: string, member?: string): Promise<RoomAggregate | null>;
  member(roomId: string, userId: string): Promise<Member | null>;
  /** Ordered by userId, those after `afterUserId`. */
  members(roomId: string, afterUserId: string, limit: number): Promise<Member[]>;
  membersByIp(roomId: string, ip: string): Promise<Member[]>;
  /** The rooms of this app with a member matching the subject (by userId or client IP). */
  roomsWith(subject: Subject): Promise<string[]>;
  /**
   * The entries active at `now` that match any of the subjects, in `roomId` or app-wide ('').
   * An indexed lookup by subject: its cost does not grow with the size of the list.
   */
  matching<L extends EntryList>(list: L, roomId: string, subjects: Subject[], now: number): Promise<EntryOf[L][]>;
  list<L extends EntryList>(list: L, q: EntryQuery): Promise<EntryOf[L][]>;
  count(list: EntryList, q: EntryQuery): Promise<number>;
  /**
   * The non-empty bad-word lists of these scopes (a room id, '' = app-wide), in one lookup.
   * `known` maps scopes to versions the caller has: those lists come back with `words: null`.
   */
  badWords(scopes: string[], known?: ReadonlyMap<string, string>): Promise<BadWordList[]>;
  /** Rooms ordered by roomId, those after `q.after`, optionally matching `q.search`. */
  rooms(q: RoomQuery): Promise<RoomAggregate[]>;
  /** Audit entries newest first (by id), filtered (see AuditQuery). */
  audit(q: AuditQuery): Promise<AuditEntry[]>;
  /**
   * A page of the room's chat history, newest first by seq (committed messages only). roomId ''
   * = every room of the app, oldest first in MessageKey order, past `q.after` when given.
   */
  messages(roomId: string, q: HistoryQuery): Promise<ChatMessage[]>;
  /** Those of `ids` that the room's chat history holds (committed messages only), in any order. */
  messageIds(roomId: string, ids: string[]): Promise<string[]>;
}

/**
 * One unit of work. Locks are taken in a fixed order — the app lock first, then rooms sorted by
 * id — and held until the unit ends, so units never deadlock. A room read through `room()` is
 * locked as if by `lock([roomId])`; a command that needs several rooms locks them in one call.
 */
export interface StoreWriter extends StoreReader {
  /**
   * The app-level lock. Entry takes it shared, app-wide deny/mute changes exclusive, so an entry
   * never slips past an app-wide ban committing beside it. Must come before any room lock.
   */
  lockApp(mode: 'shared' | 'exclusive'): Promise<void>;
  /** Locks the rooms (in sorted order whatever the order given) and returns those that exist. */
  lock(roomIds: string[]): Promise<Map<string, RoomAggregate>>;
  /**
   * Optional, a hint: a batch of commands on one room (see room-batch.ts) is about to run in this
   * unit, as `userIds` (members it reads with member(), and whose mute — and, for entries, deny —
   * entries it looks up with matching()) and `entryIps` (the client IPs its entries give; empty
   * when it has no entry). An adapter whose reads cost round trips may lock the room (as room()
   * does) and fetch all of that at once, then answer those reads from it. Answers must be exactly
   * those the reads would give without it (at each read's own `now`), including after the unit's
   * own writes. Called before the unit's first room lock (after lockApp, when it takes it).
   */
  prefetch?(roomId: string, userIds: string[], entryIps: string[]): Promise<void>;
  /** Creates the room (locked by this unit from now on); false when it already exists. */
  insertRoom(agg: RoomAggregate): Promise<boolean>;
  /** Writes a locked room's aggregate back. */
  saveRoom(appId: AppId, agg: RoomAggregate): Promise<void>;
  /** Deletes a locked room with its members and its room-scoped deny and mute entries. */
  deleteRoom(roomId: string): Promise<void>;
  putMember(roomId: string, member: Member): Promise<void>;
  deleteMember(roomId: string, userId: string): Promise<void>;
  insertEntry<L extends EntryList>(list: L, entry: EntryOf[L]): Promise<void>;
  deleteEntries(list: EntryList, ids: string[]): Promise<void>;
  /** Replaces a scope's bad-word list (`[]` deletes it); deleting a room deletes its list. */
  setBadWords(scope: string, words: string[], version: string): Promise<void>;
  /** Appends committed-with-the-unit events to the outbox (their seq already assigned). */
  appendEvents(events: RoomEvent[]): Promise<void>;
  /**
   * The seq of the app's latest app-wide event (room ''), 0 when none is known. Asked under the
   * app's exclusive lock, so every earlier app-wide unit has committed.
   */
  lastAppSeq(): Promise<number>;
  /** Appends audit entries of this app, committed with the unit. */
  appendAudit(entries: AuditEntry[]): Promise<void>;
  /** Adds messages to their rooms' chat history (ids unique; an id already kept is ignored). */
  appendMessages(messages: ChatMessage[]): Promise<void>;
  /** Deletes messages of the room by id (unknown ids ignored); applied at commit. */
  deleteMessages(roomId: string, ids: string[]): Promise<void>;
  /** Deletes the room's whole chat history; applied at commit. */
  clearMessages(roomId: string): Promise<void>;
}

/** A page of the outbox and the cursor to read the next one from. */
export interface OutboxPage {
  events: RoomEvent[];
  cursor: string;
  /** The events' stored JSON text, when the store keeps it as text (SQLite): hashing it is cheaper than serialising them again. */
  texts?: string[];
}

export interface ConnectedMember {
  appId: AppId;
  roomId: string;
  userId: string;
  connId: string;
}

/**
 * How long a reconnecting client can catch up on the events it missed, by default (seconds): the
 * realtime gateway's resume window, and how long the SQLite store keeps a room's events readable.
 */
export const DEFAULT_RESUME_WINDOW_SECONDS = 120;

export interface Store {
  /**
   * Runs `fn` as one atomic unit of work of one app, and resolves once it is durable. When `fn`
   * throws, nothing it wrote is kept. Adapters may retry `fn` on a serialization failure.
   */
  write<T>(appId: AppId, fn: (w: StoreWriter) => Promise<T>): Promise<T>;
  /** Read-only work: takes no lock and no write path. */
  read<T>(appId: AppId, fn: (r: StoreReader) => Promise<T>): Promise<T>;
  /** Members (of every app) connected through connections whose id starts with `prefix`. */
  connectedMembers(prefix: string): Promise<ConnectedMember[]>;
  /**
   * The node ids that connected members (of every app) are connected through: the part of each
   * connId before its first ':' (connIds without one belong to no node). Each id once, any order.
   */
  connectedNodes(): Promise<string[]>;
  /**
   * Outbox events after `cursor` ('' = from the start), in commit order per room. The cursor never
   * skips an event that commits later than one already read (see the adapter for how).
   */
  readOutbox(cursor: string, limit: number): Promise<OutboxPage>;
  /**
   * A cursor past every event committed so far, without reading them: readOutbox from it yields
   * only what commits later (a consumer that wants none of the earlier events, such as the
   * callbacks while no app has any).
   */
  outboxHead(): Promise<string>;
  /** Drops up to `limit` outbox events older than `beforeMs` (retention); returns how many. */
  pruneOutbox(beforeMs: number, limit: number): Promise<number>;
  /**
   * One room's committed events with `seq > afterSeq`, in seq order, at most `limit` (an indexed
   * read, for catch-up after a reconnect and gaps in delivery). Only the room's current life: a
   * room dismissed and created again starts its seq at 1, and events of its earlier life are not
   * returned. Events pruned by retention are gone, and an adapter may keep them readable here for
   * a shorter time (SQLite: the realtime resume window): callers check the first seq they get.
   */
  roomEvents(appId: AppId, roomId: string, afterSeq: number, limit: number): Promise<RoomEvent[]>;
  /** Drops up to `limit` chat messages older than `beforeMs` (history retention); returns how many. */
  pruneMessages(beforeMs: number, limit: number): Promise<number>;
  /**
   * Drops up to `limit` deny and mute entries (of every app) that ended before `beforeMs`
   * (`expiresAt < beforeMs`); returns how many. Ended entries no longer apply: this only frees
   * their space, so a store does not grow with every timed ban or mute ever made.
   */
  pruneEntries(beforeMs: number, limit: number): Promise<number>;
  /** Small key/value settings kept beside the data (the development app, consumer cursors). */
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
  /** Drops up to `limit` audit entries (of every app) older than `beforeMs`; returns how many. */
  pruneAudit(beforeMs: number, limit: number): Promise<number>;
  close(): Promise<void>;
  /**
   * Records a one-time token (a Polyv request's sign) in `scope` until `expiresAt` (ms), durably
   * before it resolves, so a restart still refuses it; false when it is already recorded and not
   * expired at `now`. Expired tokens may be forgotten at any time.
   */
  claimNonce(scope: string, nonce: string, expiresAt: number, now: number): Promise<boolean>;
  /**
   * Readiness: true while the store's last commit failed and none has succeeded since (SQLite,
   * whose commits are batched). Adapters whose every write reports its own failure leave it out.
   */
  readonly writeFailing?: boolean;
}

/** A page of an app's rooms (the operator's room list). */
export interface RoomQuery {
  /** Rooms whose id is after this one ('' = from the start). */
  after: string;
  limit: number;
  /** Case-insensitive substring of the room id or name; '' or absent = every room. */
  search?: string;
}

/** A filtered page of an app's audit log; every filter is exact but the time range. */
export interface AuditQuery {
  roomId?: string;
  actor?: string;
  target?: string;
  action?: string;
  /** at >= from, at < to (ms). */
  from?: number;
  to?: number;
  /** Entries older than this id (the previous page's last), '' or absent = the newest. */
  before?: string;
  limit: number;
}
