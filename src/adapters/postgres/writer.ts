// The StoreReader and StoreWriter over one PostgreSQL connection (a write's transaction) or the
// pool (a read: no transaction, no locks).
import type pg from 'pg';
import type { RoomEvent } from '../../core/events.js';
import type { AppId, AuditEntry, ChatMessage, DenyEntry, MessageQuery, Member, MuteEntry, RoomAggregate } from '../../core/model.js';
import type { AuditQuery, BadWordList, EntryList, EntryOf, EntryQuery, RoomQuery, StoreReader, StoreWriter, Subject } from '../../core/ports/store.js';
import { toAudit, type AuditRow } from '../audit-row.js';
import { AUDIT_INSERT, SAVE_AUDIT_APPEND, auditFilter } from './audit.js';
import type { Deferred } from './unit.js';
import { HISTORY_SQL, pageMessages } from './history.js';
import { SQL, type Stmt } from './sql.js';
import { ipSubjects, normalizeIp } from '../../core/ip.js';
import { ENTRY_COLUMNS, TABLE, entryFilter, roomState, toAggregate, toEntry, toMember, type EntryRow, type RoomRow } from './rows.js';

/** Runs one statement: named (prepared once per connection) when `stmt` has a name. */
export type Exec = <R extends pg.QueryResultRow = any>(stmt: Stmt | string, values: unknown[]) => Promise<pg.QueryResult<R>>;

export function execOn(q: pg.Pool | pg.PoolClient): Exec {
  return (stmt, values) =>
    typeof stmt === 'string' ? q.query({ text: stmt, values }) : q.query({ name: stmt.name, text: stmt.text, values });
}

/** Text that goes to PostgreSQL and back unchanged. */
function storable(s: string): boolean {
  return !UNSTORABLE.test(s);
}
const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export class PgReader implements StoreReader {
  constructor(
    protected readonly run: Exec,
    protected readonly appId: AppId,
  ) {}

  /** Every statement goes through here (the writer flushes deferred saves first). */
  protected exec<R extends pg.QueryResultRow = any>(stmt: Stmt | string, values: unknown[]): Promise<pg.QueryResult<R>> {
    return this.run<R>(stmt, values);
  }

  async room(roomId: string): Promise<RoomAggregate | null> {
    const r = await this.exec<RoomRow>(SQL.roomRead, [this.appId, roomId]);
    return r.rows.length ? toAggregate(r.rows[0]) : null;
  }

  async member(roomId: string, userId: string): Promise<Member | null> {
    const r = await this.exec<{ info: Member }>(SQL.member, [this.appId, roomId, userId]);
    return r.rows.length ? toMember(r.rows[0]) : null;
  }

  async members(roomId: string, afterUserId: string, limit: number): Promise<Member[]> {
    return (await this.exec<{ info: Member }>(SQL.members, [this.appId, roomId, afterUserId, limit])).rows.map(toMember);
  }

  async membersByIp(roomId: string, ip: string): Promise<Member[]> {
    return (await this.exec<{ info: Member }>(SQL.membersByIp, [this.appId, roomId, ip])).rows.map(toMember);
  }

  async roomsWith(subject: Subject): Promise<string[]> {
    const stmt = subject.subjectType === 'ip' ? SQL.roomsWithIp : SQL.roomsWithUser;
    return (await this.exec<{ room_id: string }>(stmt, [this.appId, subject.subject])).rows.map((r) => r.room_id);
  }

  async matching<L extends EntryList>(list: L, roomId: string, subjects: Subject[], now: number): Promise<EntryOf[L][]> {
    if (subjects.length === 0) return [];
    const stmt = list === 'deny' ? SQL.denyMatching : SQL.muteMatching;
    const r = await this.exec<EntryRow>(stmt, [
      this.appId,
      roomId,
      subjects.map((s) => s.subjectType),
      subjects.map((s) => s.subject),
      now,
    ]);
    return r.rows.map((row) => toEntry(list, row) as EntryOf[L]);
  }

  async list<L extends EntryList>(list: L, q: EntryQuery): Promise<EntryOf[L][]> {
    const { where, values } = entryFilter(this.appId, q);
    let sql = `SELECT ${ENTRY_COLUMNS}${list === 'deny' ? ', snapshot' : ''} FROM ${TABLE[list]} WHERE ${where} ORDER BY created_at, id`;
    if (q.limit !== undefined) sql += ` LIMIT ${values.push(q.limit) && `$${values.length}`}`;
    if (q.offset) sql += ` OFFSET ${values.push(q.offset) && `$${values.length}`}`;
    return (await this.exec<EntryRow>(sql, values)).rows.map((row) => toEntry(list, row) as EntryOf[L]);
  }

  async count(list: EntryList, q: EntryQuery): Promise<number> {
    const { where, values } = entryFilter(this.appId, q);
    const r = await this.exec<{ n: number }>(`SELECT count(*)::int AS n FROM ${TABLE[list]} WHERE ${where}`, values);
    return r.rows[0].n;
  }

  async badWords(scopes: string[], known?: ReadonlyMap<string, string>): Promise<BadWordList[]> {
    if (scopes.length === 0) return [];
    const k = [...(known ?? new Map<string, string>())];
    const r = await this.exec<{ scope: string; version: string; words: string[] | null }>(SQL.badWords, [
      this.appId,
      scopes,
      k.map(([scope]) => scope),
      k.map(([, version]) => version),
    ]);
    const byScope = new Map(r.rows.map((row) => [row.scope, row]));
    // In the order asked (the room's list before the app's).
    return scopes.flatMap((scope) => {
      const row = byScope.get(scope);
      return row ? [{ scope, version: row.version, words: row.words }] : [];
    });
  }

  async rooms(q: RoomQuery): Promise<RoomAggregate[]> {
    const values: unknown[] = [this.appId, q.after, q.limit];
    let where = 'app_id = $1 AND room_id > $2';
    if (q.search) {
      values.push(`%${q.search.replace(/[\\%_]/g, (ch) => '\\' + ch)}%`);
      where += ` AND (room_id ILIKE $4 OR state->'room'->>'name' ILIKE $4)`;
    }
    const sql = `SELECT room_id, state, member_count, seq FROM rooms WHERE ${where} ORDER BY room_id LIMIT $3`;
    return (await this.exec<RoomRow>(sql, values)).rows.map(toAggregate);
  }

  async audit(q: AuditQuery): Promise<AuditEntry[]> {
    const { where, values } = auditFilter(this.appId, q);
    values.push(q.limit);
    const sql = `SELECT * FROM audit WHERE ${where} ORDER BY id DESC LIMIT $${values.length}`;
    return (await this.exec<AuditRow>(sql, values)).rows.map(toAudit);
  }

  async messages(roomId: string, q: MessageQuery): Promise<ChatMessage[]> {
    return pageMessages((stmt, values) => this.exec(stmt, values), this.appId, roomId, q);
  }

  async messageIds(roomId: string, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    return (await this.exec<{ id: string }>(HISTORY_SQL.held, [this.appId, roomId, ids])).rows.map((r) => r.id);
  }
}

/**
 * One unit of work on a connection inside BEGIN … COMMIT. Rooms it has locked are cached: the
 * core mutates the aggregate it got in place and hands the same object to saveRoom.
 *
 * saveRoom is deferred to the unit's next statement, which is nearly always appendEvents: the
 * write-back and the events then go in one statement (one round trip fewer per command). Any
 * other statement, and the commit, flush it first, so every later read still sees it.
 * appendEvents' statement is deferred in turn: when it is the unit's last, it goes with the
 * COMMIT (see unit.ts).
 */
export class PgWriter extends PgReader implements StoreWriter {
  private readonly locked = new Map<string, RoomAggregate>();
  /**
   * Members read or written in rooms this unit has locked (key room \0 user; null = absent).
   * Members change only under their room's lock, so within the unit these stay current, and
   * the rules' repeated reads (e.g. takeSeat reads its member twice) cost no round trip.
   * Handed out as copies: the caller may change what it got.
   */
  private readonly memberCache = new Map<string, string | null>();
  private readonly pendingSaves = new Map<string, { room_id: string; state: string; member_count: number; seq: number }>();
  /**
   * The entries prefetched for a batch in one room (see prefetch): every mute (and deny, when
   * fetched) entry of the room or app-wide, whatever its expiry, for each subject in `subjects`
   * (type \0 subject), in the order of the matching statements. matching() answers from it when
   * it holds every subject asked about; an entry this unit inserts or deletes drops its list.
   */
  private entryCache: { roomId: string; subjects: Set<string>; lists: Map<EntryList, EntryRow[]> } | null = null;
  /**
   * Bad-word lists this unit has read, by scope (null = none), with their words when it got them
   * (a caller that knew the version got none): each message of a batch checks the same two
   * scopes. A list this unit changes, or a room it deletes, drops them.
   */
  private readonly badWordCache = new Map<string, { version: string; words: readonly string[] | null } | null>();
  /** History added and not yet written (JSON): it goes with the next events, or alone. */
  private pendingMessages: string | null = null;

  constructor(
    run: Exec,
    appId: AppId,
    /** The advisory lock class of this store's apps (see store.ts). */
    private readonly appLockClass: number,
    /** The unit's connection, which counts its round trips (see Unit.roundTrips). */
    private readonly unit?: { readonly roundTrips: number },
  ) {
    super(run, appId);
  }

  /** Round trips this unit has made so far (its COMMIT comes after): tests count them. */
  get roundTrips(): number {
    return this.unit?.roundTrips ?? 0;
  }

  /** Audit entries (JSON array) waiting to go with the unit's events, or its commit. */
  private pendingAudit: string | null = null;

  /** appendEvents' statement, not yet sent: it goes before any other, or with the COMMIT. */
  private deferred: Deferred | null = null;

  protected override async exec<R extends pg.QueryResultRow = any>(stmt: Stmt | string, values: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.deferred !== null || this.pendingSaves.size > 0 || this.pendingMessages !== null) await this.flushSaves();
    return this.run<R>(stmt, values);
  }

  /**
   * Before COMMIT: writes what is pending, except a last statement that can go with the COMMIT
   * itself, which it returns (see unit.ts).
   */
  async beforeCommit(): Promise<Deferred | null> {
    const last = this.deferred;
    if (last !== null && this.pendingAudit === null && this.pendingMessages === null && this.pendingSaves.size === 0) {
      this.deferred = null;
      return last;
    }
    await this.flushSaves();
    return null;
  }

  /** Writes deferred saves (the events' statement, audit entries, history). */
  private async flushSaves(): Promise<void> {
    if (this.deferred !== null) {
      const { stmt, values } = this.deferred;
      this.deferred = null;
      await this.run(stmt, values);
    }
    if (this.pendingAudit !== null) {
      const audit = this.pendingAudit;
      this.pendingAudit = null;
      await this.run(AUDIT_INSERT, [this.appId, audit]);
    }
    if (this.pendingMessages !== null) {
      const messages = this.pendingMessages;
      this.pendingMessages = null;
      await this.run(HISTORY_SQL.append, [this.appId, messages]);
    }
    if (this.pendingSaves.size === 0) return;
    const rows = this.takeSaves();
    await this.run(SQL.roomsSave, [this.appId, rows]);
  }

  private takeSaves(): string {
    // The states were serialised at saveRoom (the state then, as a write-back means); spliced, not re-encoded.
    const parts: string[] = [];
    for (const p of this.pendingSaves.values()) {
      parts.push(`{"room_id":${JSON.stringify(p.room_id)},"state":${p.state},"member_count":${p.member_count},"seq":${p.seq}}`);
    }
    this.pendingSaves.clear();
    return `[${parts.join(',')}]`;
  }

  override async member(roomId: string, userId: string): Promise<Member | null> {
    if (!this.locked.has(roomId)) return super.member(roomId, userId);
    const key = `${roomId}\0${userId}`;
    let json = this.memberCache.get(key);
    if (json === undefined) {
      const m = await super.member(roomId, userId);
      json = m ? JSON.stringify(m) : null;
      this.memberCache.set(key, json);
    }
    return json === null ? null : (JSON.parse(json) as Member);
  }

  /** With `member`, that member comes in the lock's round trip (see StoreReader.room). */
  override async room(roomId: string, member?: string): Promise<RoomAggregate | null> {
    const cached = this.locked.get(roomId);
    if (cached) return cached;
    if (member === undefined) {
      const r = await this.exec<RoomRow & { room_id: string }>(SQL.roomLock, [this.appId, roomId]);
      if (r.rows.length === 0) return null;
      const agg = toAggregate(r.rows[0]);
      this.locked.set(roomId, agg);
      return agg;
    }
    const r = await this.exec<RoomRow & { room_id: string; member: string | null }>(SQL.roomLockMember, [this.appId, roomId, member]);
    if (r.rows.length === 0) return null;
    const agg = toAggregate(r.rows[0]);
    this.locked.set(roomId, agg);
    this.memberCache.set(`${roomId}\0${member}`, r.rows[0].member);
    return agg;
  }

  /**
   * Locks the room and reads the batch's members in one round trip, then, in one more, the mute
   * entries (and deny entries when the batch has entries: `entryIps` not empty) matching any
   * subject its commands can ask about: each user id, each member's client IP, each entry's
   * client IP (as given and as it will be stored), with the ranges they fall in (ip.ts).
   */
  async prefetch(roomId: string, userIds: string[], entryIps: string[]): Promise<void> {
    // Only as a unit's first look at the room (the core may hold and have changed its aggregate).
    if (this.locked.has(roomId) || this.entryCache !== null) return;
    // Text PostgreSQL cannot hold as given (NUL, lone surrogates) is left to the uncached reads.
    const users = [...new Set(userIds)].filter(storable);
    // The users as JSON text: a string, so the unit's BEGIN still goes with this first statement.
    const r = await this.exec<RoomRow & { room_id: string; user_ids: string[] | null; client_ips: string[] | null; members: string[] | null }>(
      SQL.roomLockMembers,
      [this.appId, roomId, JSON.stringify(users)],
    );
    if (r.rows.length === 0) return;
    const row = r.rows[0];
    this.locked.set(roomId, toAggregate(row));
    for (const u of users) this.memberCache.set(`${roomId}\0${u}`, null);
    const ips = new Set<string>();
    (row.user_ids ?? []).forEach((u, i) => {
      this.memberCache.set(`${roomId}\0${u}`, row.members![i]);
      ips.add(row.client_ips![i]);
    });
    for (const ip of entryIps) ips.add(ip).add(normalizeIp(ip));
    const subjects = new Set<string>();
    const types: string[] = [];
    const values: string[] = [];
    const add = (type: string, subject: string) => {
      const key = `${type}\0${subject}`;
      if (subjects.has(key) || !storable(subject)) return;
      subjects.add(key);
      types.push(type);
      values.push(subject);
    };
    for (const u of users) add('userId', u);
    for (const ip of ips) for (const s of ipSubjects(ip)) add('ip', s);
    if (types.length === 0) return;
    const deny = entryIps.length > 0;
    const e = await this.exec<EntryRow & { list: EntryList }>(SQL.entriesMatching, [this.appId, roomId, types, values, deny]);
    const lists = new Map<EntryList, EntryRow[]>([['mute', []]]);
    if (deny) lists.set('deny', []);
    for (const entry of e.rows) lists.get(entry.list)!.push(entry);
    this.entryCache = { roomId, subjects, lists };
  }

  /**
   * From the batch's prefetched entries when they hold every subject asked about, filtered as
   * the matching statements filter (same subjects, not expired at `now`, same order); else from
   * the database.
   */
  override async matching<L extends EntryList>(list: L, roomId: string, subjects: Subject[], now: number): Promise<EntryOf[L][]> {
    const cache = this.entryCache;
    const rows = cache !== null && cache.roomId === roomId && Number.isSafeInteger(now) ? cache.lists.get(list) : undefined;
    if (rows === undefined) return super.matching(list, roomId, subjects, now);
    const asked = new Set<string>();
    for (const s of subjects) {
      const key = `${s.subjectType}\0${s.subject}`;
      if (!cache!.subjects.has(key)) return super.matching(list, roomId, subjects, now);
      asked.add(key);
    }
    return rows
      .filter((row) => asked.has(`${row.subject_type}\0${row.subject}`) && (row.expires_at === null || row.expires_at > now))
      .map((row) => structuredClone(toEntry(list, row)) as EntryOf[L]);
  }

  /** As the statement answers (see PgReader.badWords), from the lists this unit has read when it has them. */
  override async badWords(scopes: string[], known?: ReadonlyMap<string, string>): Promise<BadWordList[]> {
    const out: BadWordList[] = [];
    for (const scope of scopes) {
      const row = this.badWordCache.get(scope);
      if (row === null) continue;
      const knows = row !== undefined && known?.get(scope) === row.version;
      if (row === undefined || (!knows && row.words === null)) return this.readBadWords(scopes, known);
      out.push({ scope, version: row.version, words: knows ? null : [...row.words!] });
    }
    return out;
  }

  private async readBadWords(scopes: string[], known?: ReadonlyMap<string, string>): Promise<BadWordList[]> {
    const lists = await super.badWords(scopes, known);
    const byScope = new Map(lists.map((l) => [l.scope, l]));
    for (const scope of scopes) {
      const l = byScope.get(scope);
      const had = this.badWordCache.get(scope);
      // Words already held for this very version are kept when the caller knew it.
      const words = l?.words ?? (had && had.version === l?.version ? had.words : null);
      this.badWordCache.set(scope, l ? { version: l.version, words: words === null ? null : [...words] } : null);
    }
    return lists;
  }

  async lastAppSeq(): Promise<number> {
    return Number((await this.exec<{ seq: string }>(SQL.lastAppSeq, [this.appId])).rows[0].seq);
  }

  async lockApp(mode: 'shared' | 'exclusive'): Promise<void> {
    // Two-int form: class = this store's app-lock class, key = the app id folded to 32 bits
    // (two apps folding together only share a lock, never lose one).
    await this.exec(mode === 'shared' ? SQL.appLockShared : SQL.appLockExclusive, [this.appLockClass, this.appId | 0]);
  }

  async lock(roomIds: string[]): Promise<Map<string, RoomAggregate>> {
    const ids = [...new Set(roomIds)].sort();
    const missing = ids.filter((id) => !this.locked.has(id));
    if (missing.length === 1) {
      await this.room(missing[0]);
    } else if (missing.length > 1) {
      const r = await this.exec<RoomRow & { room_id: string }>(SQL.roomsLock, [this.appId, missing]);
      for (const row of r.rows) this.locked.set(row.room_id, toAggregate(row));
    }
    const out = new Map<string, RoomAggregate>();
    for (const id of ids) {
      const agg = this.locked.get(id);
      if (agg) out.set(id, agg);
    }
    return out;
  }

  async insertRoom(agg: RoomAggregate): Promise<boolean> {
    const r = await this.exec(SQL.roomInsert, [this.appId, agg.room.roomId, roomState(agg), agg.memberCount, agg.seq]);
    if (r.rowCount !== 1) return false;
    // The new row is this unit's until it ends (no one else sees it before the commit).
    this.locked.set(agg.room.roomId, agg);
    return true;
  }

  async saveRoom(_appId: AppId, agg: RoomAggregate): Promise<void> {
    const roomId = agg.room.roomId;
    this.pendingSaves.set(roomId, { room_id: roomId, state: roomState(agg), member_count: agg.memberCount, seq: agg.seq });
  }

  async deleteRoom(roomId: string): Promise<void> {
    this.pendingSaves.delete(roomId);
    await this.exec(SQL.roomDelete, [this.appId, roomId]);
    this.locked.delete(roomId);
    this.entryCache = null;
    this.badWordCache.clear();
    for (const key of this.memberCache.keys()) if (key.startsWith(`${roomId}\0`)) this.memberCache.delete(key);
  }

  async putMember(roomId: string, m: Member): Promise<void> {
    const json = JSON.stringify(m);
    await this.exec(SQL.memberPut, [this.appId, roomId, m.userId, m.clientIp, m.connId, json]);
    if (this.locked.has(roomId)) this.memberCache.set(`${roomId}\0${m.userId}`, json);
    else this.memberCache.delete(`${roomId}\0${m.userId}`);
  }

  async deleteMember(roomId: string, userId: string): Promise<void> {
    await this.exec(SQL.memberDelete, [this.appId, roomId, userId]);
    if (this.locked.has(roomId)) this.memberCache.set(`${roomId}\0${userId}`, null);
    else this.memberCache.delete(`${roomId}\0${userId}`);
  }

  async insertEntry<L extends EntryList>(list: L, entry: EntryOf[L]): Promise<void> {
    this.entryCache?.lists.delete(list);
    const e = entry as MuteEntry;
    const values: unknown[] = [e.id, e.roomId, e.subjectType, e.subject, e.origin, e.expiresAt, e.reason, e.actor, e.createdAt, this.appId];
    if (list === 'deny') {
      const snapshot = (entry as DenyEntry).snapshot;
      values.push(snapshot ? JSON.stringify(snapshot) : null);
      await this.exec(SQL.denyInsert, values);
    } else {
      await this.exec(SQL.muteInsert, values);
    }
  }

  async deleteEntries(list: EntryList, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    this.entryCache?.lists.delete(list);
    await this.exec(list === 'deny' ? SQL.denyDelete : SQL.muteDelete, [this.appId, ids]);
  }

  async setBadWords(scope: string, words: string[], version: string): Promise<void> {
    this.badWordCache.delete(scope);
    if (words.length === 0) await this.exec(SQL.badWordsDelete, [this.appId, scope]);
    else await this.exec(SQL.badWordsPut, [this.appId, scope, version, JSON.stringify(words)]);
  }

  /** Deferred to the events' statement (or the commit): no round trip of its own. */
  async appendAudit(entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    if (this.pendingAudit !== null) await this.flushSaves();
    this.pendingAudit = JSON.stringify(entries);
  }

  async appendEvents(events: RoomEvent[]): Promise<void> {
    if (events.length === 0) return this.flushSaves();
    // An earlier unsent statement goes first (events stay in the order appended).
    if (this.deferred !== null) await this.flushSaves();
    const json = JSON.stringify(events);
    if (this.pendingAudit !== null) {
      const audit = this.pendingAudit;
      this.pendingAudit = null;
      this.deferred = { stmt: SAVE_AUDIT_APPEND, values: [this.appId, this.takeSaves(), json, audit] };
    } else if (this.pendingMessages !== null) {
      const messages = this.pendingMessages;
      this.pendingMessages = null;
      this.deferred = { stmt: HISTORY_SQL.saveAppendMessages, values: [this.appId, this.takeSaves(), json, messages] };
    } else if (this.pendingSaves.size > 0) {
      this.deferred = { stmt: SQL.saveAndAppend, values: [this.appId, this.takeSaves(), json] };
    } else {
      this.deferred = { stmt: SQL.append, values: [this.appId, json] };
    }
  }

  async appendMessages(messages: ChatMessage[]): Promise<void> {
    if (messages.length === 0) return;
    // Deferred like saveRoom: written with the unit's events in one statement when they follow.
    const json = JSON.stringify(messages);
    this.pendingMessages = this.pendingMessages === null ? json : `${this.pendingMessages.slice(0, -1)},${json.slice(1)}`;
  }

  async deleteMessages(roomId: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.exec(HISTORY_SQL.delete, [this.appId, roomId, ids]);
  }

  async clearMessages(roomId: string): Promise<void> {
    await this.exec(HISTORY_SQL.clear, [this.appId, roomId]);
  }
}
