// The shared lower layer of the rules: one command's view of the store, with the checks every
// module needs (room exists, member present, roles) and, for writes, event emission. Rule
// modules depend on this and on nothing of each other's beyond the helpers they export.
import type { Actor, AppId, AuditEntry, ChatMessage, Member, Role, RoomAggregate } from './model.js';
import { newId } from './ids.js';
import type { NewEvent, RoomEvent } from './events.js';
import type { StoreReader, StoreWriter } from './ports/store.js';
import type { Limits } from './ports/limits.js';
import { PROCESS_LIMITS } from './local-limits.js';
import { RoomError } from './errors.js';
import { LIMITS, checkId } from './limits.js';

export class ReadContext<S extends StoreReader = StoreReader> {
  constructor(
    readonly store: S,
    readonly appId: AppId,
    readonly actor: Actor,
    readonly now: number,
    /** How long chat history is kept (ms): older messages are not read, whether or not pruned yet. */
    readonly chatRetentionMs: number = Infinity,
  ) {}

  /**
   * The room's aggregate (locked, in a write); RoomNotFound when there is none. `member`: the user
   * the command reads next (see StoreReader.room).
   */
  async room(roomId: string, member?: string): Promise<RoomAggregate> {
    checkId('roomId', roomId, LIMITS.roomIdBytes);
    const agg = await this.store.room(roomId, member);
    if (!agg) throw new RoomError('RoomNotFound', `room ${roomId} does not exist`);
    return agg;
  }

  /**
   * The member; NotMember when there is none. The caller itself, acting through a connection, is
   * a member only through that one: once the same user has entered through another connection
   * (on any node), what the old one sends is refused, even when its node has not heard yet.
   */
  async member(roomId: string, userId: string): Promise<Member> {
    const m = await this.store.member(roomId, userId);
    if (!m) throw new RoomError('NotMember', `${userId} is not a member of room ${roomId}`);
    const a = this.actor;
    if (a.kind === 'user' && a.connId !== undefined && a.userId === userId && m.connId !== a.connId) {
      throw new RoomError('NotMember', `${userId} is in room ${roomId} through another connection`);
    }
    return m;
  }
}

export class WriteContext extends ReadContext<StoreWriter> {
  constructor(
    store: StoreWriter,
    appId: AppId,
    actor: Actor,
    now: number,
    /** Counts shared by the rules (wrong room passwords). */
    readonly limits: Limits = PROCESS_LIMITS,
  ) {
    super(store, appId, actor, now);
  }

  /** Events of this command, in emission order; published after commit. */
  readonly events: RoomEvent[] = [];
  /** Audit entries of this command, written with its changes. */
  readonly audits: AuditEntry[] = [];
  private readonly dirty = new Map<string, RoomAggregate>();
  private readonly deleted = new Set<string>();
  /** The seq of the app's latest app-wide event, once lockAppWide has read it. */
  private lastAppSeq: number | null = null;

  /** Marks the aggregate as changed: it is saved when the command ends. */
  changed(agg: RoomAggregate): void {
    this.dirty.set(agg.room.roomId, agg);
  }

  /** Emits an event in the aggregate's room with the room's next sequence number. */
  emit(agg: RoomAggregate, event: NewEvent): void {
    // Filled in place (the rule built the object for this call): no copy on the hot path.
    const e = event as RoomEvent;
    e.appId = this.appId;
    e.roomId = agg.room.roomId;
    e.seq = ++agg.seq;
    e.at = this.now;
    this.events.push(e);
    this.dirty.set(agg.room.roomId, agg);
  }

  /**
   * Takes the app's exclusive lock, for a change to app-wide state: app-wide commands then run
   * one at a time, and this one's app-wide events follow the last one committed.
   */
  async lockAppWide(): Promise<void> {
    await this.store.lockApp('exclusive');
    this.lastAppSeq ??= await this.store.lastAppSeq();
  }

  /**
   * Emits an app-wide event (room ''): no room carries it and no member receives it, but it goes
   * through the outbox like any other (callbacks). Its seq is its time in ms × 1000, or one more
   * than the app's last app-wide seq when that is not less: increasing, whatever the order the
   * commands took their time in and however many share a millisecond.
   */
  emitApp(event: NewEvent): void {
    if (this.lastAppSeq === null) throw new Error('emitApp needs lockAppWide first');
    const e = event as RoomEvent;
    e.appId = this.appId;
    e.roomId = '';
    e.seq = this.lastAppSeq = Math.max(this.now * 1000, this.lastAppSeq + 1);
    e.at = this.now;
    this.events.push(e);
  }

  async deleteRoom(agg: RoomAggregate): Promise<void> {
    await this.store.deleteRoom(agg.room.roomId);
    this.deleted.add(agg.room.roomId);
  }

  /** Writes the changed aggregates and the events: the last step of every write command. */
  async flush(): Promise<void> {
    for (const [roomId, agg] of this.dirty) {
      if (!this.deleted.has(roomId)) await this.store.saveRoom(this.appId, agg);
    }
    // Audit first: an adapter may defer it into the events' statement (one round trip).
    if (this.audits.length > 0) await this.store.appendAudit(this.audits);
    const history = historyOf(this.events);
    if (history.length > 0) await this.store.appendMessages(history);
    if (this.events.length > 0) await this.store.appendEvents(this.events);
  }

  /** Records a moderation action in the audit log (written by flush, in this unit). */
  audit(e: Pick<AuditEntry, 'roomId' | 'action' | 'targetType' | 'target'> & { reason?: string; expiresAt?: number | null }): void {
    this.audits.push({
      id: newId(this.now),
      at: this.now,
      roomId: e.roomId,
      actor: this.actor.userId,
      actorKind: this.actor.kind,
      surface: this.actor.surface ?? '',
      action: e.action,
      targetType: e.targetType,
      target: e.target,
      reason: e.reason ?? '',
      expiresAt: e.expiresAt ?? null,
    });
  }
}

/** The chat messages among these events, as the room's history keeps them (any path that delivers one). */
export function historyOf(events: RoomEvent[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const e of events) {
    if (e.type !== 'messageReceived') continue;
    const d = e.data;
    out.push({ id: d.msgId, roomId: e.roomId, seq: e.seq, at: e.at, from: d.from, nick: d.nick, avatar: d.avatar, text: d.text, imageUrl: d.imageUrl ?? '', admin: d.admin });
  }
  return out;
}

// ------------------------------------------------------------------------------- roles

const RANK = { Owner: 2, Admin: 1, Member: 0 } as const;

export function roleOf(agg: RoomAggregate, userId: string): Role {
  if (agg.room.ownerId === userId) return 'Owner';
  return agg.admins.includes(userId) ? 'Admin' : 'Member';
}

/** App admins may do anything; users must be the owner or a room admin. */
export function requireModerator(agg: RoomAggregate, actor: Actor): Role | 'AppAdmin' {
  if (actor.kind === 'admin') return 'AppAdmin';
  const role = roleOf(agg, actor.userId);
  if (role === 'Member') throw new RoomError('PermissionDenied', 'only the room owner or an admin may do this');
  return role;
}

/** A moderator may act on members of a lower rank only (the owner on everyone but itself). */
export function requireOutranks(agg: RoomAggregate, actor: Actor, targetId: string, message = `you may not do this to ${targetId}`): void {
  const actorRole = requireModerator(agg, actor);
  if (actorRole === 'AppAdmin') return;
  if (targetId === actor.userId || RANK[actorRole] <= RANK[roleOf(agg, targetId)]) {
    throw new RoomError('PermissionDenied', message);
  }
}

/** App-wide scope ('') is for app admins only. */
export function requireAppAdmin(actor: Actor, what: string): void {
  if (actor.kind !== 'admin') throw new RoomError('PermissionDenied', `app-wide ${what} are for app admins`);
}

export function moderatorIds(agg: RoomAggregate): string[] {
  return [agg.room.ownerId, ...agg.admins.filter((a) => a !== agg.room.ownerId)];
}
