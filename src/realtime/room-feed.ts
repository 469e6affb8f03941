// One room's events on this node, in order, to the connections in it. A member's view is the
// snapshot its `enterRoom` reply carries (taken at the room's seq S) plus every event after S,
// in seq order, none missing and none twice:
//
// - A connection is registered as *entering* before its entry runs, and keeps every event the
//   room publishes from then on. Once its reply is sent it gets those after S (events committed
//   in the same batch as its entry included: a ban racing the entry reaches it), then it is live.
// - The feed dispatches each seq once, in order. An event that arrives ahead of a missing one is
//   held; if the missing one has not come in a moment, it is read back from the store's outbox
//   (publishes of different commits can arrive out of order).
import type { RoomEvent } from '../core/events.js';
import type { AppId } from '../core/model.js';
import type { Connection } from './connection.js';

/** How long a held event waits for a missing earlier one before the store is asked. */
const GAP_WAIT_MS = 25;
/** Events read per gap fill. */
const GAP_FILL_LIMIT = 1000;

export interface FeedHooks {
  /** One room's committed events after `afterSeq`, in seq order (the store's outbox). */
  roomEvents(appId: AppId, roomId: string, afterSeq: number, limit: number): Promise<RoomEvent[]>;
  /**
   * The room's seq and life now (one row), or null when it does not exist: a resync compares them
   * with what the feed has, to see a tail of events pruned or a room dismissed and created again.
   */
  roomState(appId: AppId, roomId: string): Promise<{ seq: number; life: number } | null>;
  /**
   * A store read made to fill a hole: `gap` when an event came ahead of an earlier one that did not
   * follow in time (the cost of cross-node order), `resync` after the bus between nodes was away.
   */
  filled?(reason: 'gap' | 'resync'): void;
  /** The event as one WebSocket frame. */
  frame(e: RoomEvent): Buffer;
  /** Writes a frame to a connection. */
  send(conn: Connection, frame: Buffer): void;
  /** Dispatch failures are logged, never thrown into the command that published. */
  error(err: unknown, what: string): void;
  /** Members above which entries and exits are not announced one by one (audience mode). */
  audienceThreshold: number;
  /** An audience-mode room's member count changed: announce it (coalesced by the caller). */
  countChanged(feed: RoomFeed, memberCount: number, seq: number): void;
  /**
   * The room's count went out exactly (an entry or exit at or below the threshold): a coalesced
   * update still due is older than it and must not follow it (clients take the last count shown).
   */
  countSettled(feed: RoomFeed): void;
  /**
   * Events this room's connections should have had are gone from the store (retention): they
   * cannot be told what changed, so they are sent away to reconnect and take a fresh snapshot.
   */
  stale(feed: RoomFeed): void;
}

interface Live {
  conn: Connection;
  /** Events up to this seq are in the connection's snapshot (or already sent). */
  since: number;
  /** The seq of its entry's snapshot: of two connections of one member, the later entry's is in. */
  entered: number;
}

/** A connection whose entry is running: the room keeps what it publishes from `from` on. */
export class Entering {
  constructor(
    readonly conn: Connection,
    /** Its first event's position in the feed's log (absolute). */
    readonly from: number,
  ) {}
}

export class RoomFeed {
  /** userId -> the live connection through which that member is in, here. */
  readonly members = new Map<string, Live>();
  readonly entering = new Set<Entering>();
  /**
   * What the room published while someone was entering, in arrival order, shared by all of them
   * (a storm has hundreds entering at once: one log, not one copy each). `logBase` is the
   * absolute position of log[0].
   */
  private log: RoomEvent[] = [];
  private logBase = 0;
  /** seq -> the absolute position of its latest arrival in the log: an admission looks up its few events. */
  private logSeqs = new Map<number, number>();
  /** The next seq to dispatch; null until an entry tells where the room is. */
  private next: number | null = null;
  /** The room's life (see roomLife) the seqs are of; null when no entry told it. */
  private life: number | null = null;
  private readonly held = new Map<number, RoomEvent>();
  private gapTimer: NodeJS.Timeout | null = null;
  private filling = false;
  /** A resync was asked while a fill ran: read again once it is done. */
  private refill = false;
  /**
   * Events to everyone, framed, not yet written: the events of one turn (a chat batch) go to
   * each connection in one write. Written before anything else is sent from this room.
   */
  private broadcast: { seq: number; frame: Buffer }[] = [];
  /**
   * Seqs up to this one were dispatched already and are being dispatched again, to `behind`
   * only: an admission found a hole behind where the feed was (see admit). 0 when none.
   */
  private replayTo = 0;
  private readonly behind = new Set<Live>();
  /**
   * The room's latest dismissal, while connections that were entering when it was dispatched may
   * still be admitted: the life it ended, its seq, the log's end then, and those entrants.
   */
  private dismissal: { life: number | null; event: RoomEvent; logEnd: number; entrants: Set<Entering> } | null = null;

  constructor(
    readonly appId: AppId,
    readonly roomId: string,
    private readonly hooks: FeedHooks,
  ) {}

  get empty(): boolean {
    return this.members.size === 0 && this.entering.size === 0;
  }

  /** Registers a connection about to enter: it will get what the room publishes from now on. */
  enter(conn: Connection): Entering {
    const en = new Entering(conn, this.logBase + this.log.length);
    this.entering.add(en);
    return en;
  }

  /** A committed event of this room, as the bus delivers it (any order). */
  receive(e: RoomEvent): void {
    if (this.entering.size > 0) {
      this.logSeqs.set(e.seq, this.logBase + this.log.length);
      this.log.push(e);
    }
    if (this.next === null || e.seq > this.next) {
      this.held.set(e.seq, e);
      if (this.next !== null) this.scheduleFill();
      return;
    }
    if (e.seq < this.next) return; // already dispatched
    this.dispatch(e);
    this.drain();
  }

  /**
   * The entry of `en` succeeded with the room at seq `snapshot` and its reply is sent: it gets
   * the events after the snapshot that it has seen (and `missed`, read for a catch-up, first),
   * then goes live. False when one of them took it out of the room again.
   */
  admit(en: Entering, snapshot: number, missed: RoomEvent[] = [], life?: number): boolean {
    this.flushBroadcast();
    const d = this.dismissal;
    if (d && d.entrants.has(en) && snapshot < d.event.seq && (life === undefined || d.life === null || life === d.life)) {
      return this.admitDismissed(en, snapshot, missed, d);
    }
    // What it saw after its snapshot and before what the feed dispatches next (read before
    // cancel() may trim the log). An event after its snapshot committed after it registered, so
    // arrived after `en.from`.
    const upTo = this.next === null ? snapshot : this.next - 1;
    const seen = this.seenSince(en, snapshot, upTo, this.logBase + this.log.length);
    this.cancel(en);
    const conn = en.conn;
    if (conn.ended) return false;
    if (this.next === null) {
      this.next = snapshot + 1;
      this.life = life ?? null;
      for (const seq of this.held.keys()) if (seq <= snapshot) this.held.delete(seq);
    }
    // A hole in what it saw: an entry admitted before it (a later snapshot, while nobody here was
    // live) took the feed past events still on their way from another node. It gets what it saw
    // up to the hole now, and the feed goes back to the hole and dispatches from there again to
    // the connections behind it only, the rest of what it saw included, in order.
    let hole = snapshot + 1;
    while (hole - snapshot - 1 < seen.length && seen[hole - snapshot - 1].seq === hole) hole++;
    if (hole <= upTo) {
      for (const e of seen.splice(hole - snapshot - 1)) this.held.set(e.seq, e);
      this.replayTo = Math.max(this.replayTo, upTo);
      this.next = hole;
    }
    // Into the room here first: events replayed below may take it out again.
    const previous = this.members.get(conn.userId);
    // Admissions of one member's connections can run out of commit order (a resume waits for its
    // catch-up read): when the connection already in entered after this one, that later entry
    // replaced this one. Taking its place would leave the member with no connection in the room
    // here (a ghost, whose close removes nothing): this one only gets what it saw up to its
    // memberReplaced, and the other stays in.
    const superseded = previous !== undefined && previous.conn !== conn && previous.entered > snapshot;
    if (previous && previous.conn !== conn && !superseded) previous.conn.rooms.delete(this.roomId);
    const live: Live = { conn, since: snapshot, entered: snapshot };
    if (!superseded) this.members.set(conn.userId, live);
    const isIn = () => (superseded ? conn.rooms.has(this.roomId) : this.isIn(live));
    const frameOf = (e: RoomEvent) => () => this.hooks.frame(e);
    for (const e of missed) {
      if (!isIn()) return false;
      this.deliverTo(live, e, frameOf(e), true);
    }
    // What it saw, in order, once each.
    for (const e of seen) {
      if (!isIn()) return false;
      this.deliverTo(live, e, frameOf(e), false);
    }
    if (superseded) {
      this.remove(conn);
      return false;
    }
    if (!this.isIn(live)) return false;
    live.since = Math.max(snapshot, Math.min(upTo, this.next - 1));
    if (live.since < this.replayTo) this.behind.add(live);
    this.drain();
    return this.isIn(live);
  }

  /**
   * The events in (snapshot, upTo] that reached the log between `en`'s registration and `end`
   * (absolute positions), one per seq, in seq order. In a storm the log is long and nearly all of
   * it older than the snapshot: up to the log's end, the few seqs that matter are looked up (their
   * latest arrival), not the log scanned per entry.
   */
  private seenSince(en: Entering, snapshot: number, upTo: number, end: number): RoomEvent[] {
    const seen: RoomEvent[] = [];
    const start = en.from - this.logBase;
    if (end === this.logBase + this.log.length && upTo - snapshot < end - en.from) {
      for (let seq = snapshot + 1; seq <= upTo; seq++) {
        const at = this.logSeqs.get(seq);
        if (at !== undefined && at >= en.from) seen.push(this.log[at - this.logBase]);
      }
      return seen;
    }
    const bySeq = new Map<number, RoomEvent>();
    for (let i = start; i < end - this.logBase; i++) {
      const e = this.log[i];
      if (e.seq > snapshot && e.seq <= upTo) bySeq.set(e.seq, e);
    }
    return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  /**
   * `en` entered the life of the room that a dismissal dispatched since then ended: it gets what
   * it saw up to that dismissal, the dismissal included, which takes it out again.
   */
  private admitDismissed(en: Entering, snapshot: number, missed: RoomEvent[], d: NonNullable<RoomFeed['dismissal']>): false {
    const seen = [...this.seenSince(en, snapshot, d.event.seq - 1, d.logEnd), d.event];
    this.cancel(en);
    const conn = en.conn;
    if (conn.ended) return false;
    const live: Live = { conn, since: snapshot, entered: snapshot };
    for (const e of missed) this.deliverTo(live, e, () => this.hooks.frame(e), true);
    for (const e of seen) this.deliverTo(live, e, () => this.hooks.frame(e), false);
    if (!conn.ended) conn.rooms.delete(this.roomId);
    return false;
  }

  /** The entry failed (or is done): the log keeps only what those still entering need. */
  cancel(en: Entering): void {
    if (!this.entering.delete(en)) return;
    if (this.entering.size === 0) {
      this.logBase += this.log.length;
      this.log = [];
      this.logSeqs.clear();
      this.dismissal = null;
      return;
    }
    // A short log is never trimmed (below): no need to look for the oldest entry.
    if (this.log.length <= 1024) return;
    // The oldest still entering is the first in the set: positions only grow, in the order they enter.
    const first = this.entering.values().next().value!.from;
    const drop = first - this.logBase;
    if (drop > 1024 && drop > this.log.length / 2) {
      for (let i = 0; i < drop; i++) {
        const seq = this.log[i].seq;
        if (this.logSeqs.get(seq)! < first) this.logSeqs.delete(seq);
      }
      this.log = this.log.slice(drop);
      this.logBase = first;
    }
  }

  /** The connection is no longer in the room here (the member may still be, elsewhere). */
  remove(conn: Connection): void {
    if (!conn.ended) conn.rooms.delete(this.roomId);
    const live = this.members.get(conn.userId);
    if (live?.conn === conn) this.members.delete(conn.userId);
  }

  close(): void {
    this.flushBroadcast();
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.gapTimer = null;
  }

  // ------------------------------------------------------------------------------- order

  private drain(): void {
    while (this.next !== null) {
      const e = this.held.get(this.next);
      if (!e) break;
      this.held.delete(this.next);
      this.dispatch(e);
    }
    if (this.held.size > 0) this.scheduleFill();
  }

  private scheduleFill(): void {
    if (this.gapTimer || this.filling) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = null;
      void this.fill();
    }, GAP_WAIT_MS);
    this.gapTimer.unref();
  }

  /**
   * Events may have been lost on the way here (the bus between nodes was away): reads what the
   * store has after the last seq dispatched, as a gap fill does.
   */
  resync(): Promise<void> {
    if (this.next === null) return Promise.resolve();
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.gapTimer = null;
    if (this.filling) {
      this.refill = true;
      return Promise.resolve();
    }
    return this.fill(true);
  }

  /**
   * Reads the missing events from the store (all of them after the last dispatched, on a resync).
   * Events the store no longer has are skipped, and the room's connections are sent away to
   * take a fresh snapshot (`stale`).
   */
  private async fill(all = false): Promise<void> {
    if (this.next === null || (!all && this.held.size === 0)) return;
    this.filling = true;
    let gone = false;
    try {
      // A resync reads where the room is first (so the events read after cover it): a room of
      // another life (dismissed and created again meanwhile: its seq restarted) or a room whose
      // events after ours are all pruned cannot be caught up from events.
      const state = all ? await this.hooks.roomState(this.appId, this.roomId) : undefined;
      if (state && this.life !== null && state.life !== this.life) {
        this.hooks.error(new Error(`room ${this.roomId} was dismissed and created again`), 'resync');
        this.forget();
        gone = true;
      }
      for (; !gone; ) {
        const from = this.next;
        this.hooks.filled?.(all ? 'resync' : 'gap');
        const events = await this.hooks.roomEvents(this.appId, this.roomId, from - 1, GAP_FILL_LIMIT);
        if (this.next === null) break;
        if (all && events.length > 0 && events[0].seq > this.next) gone = true;
        for (const e of events) if (this.next !== null && e.seq >= this.next && !this.held.has(e.seq)) this.held.set(e.seq, e);
        if (this.next !== null && !this.held.has(this.next) && this.held.size > 0) {
          const first = Math.min(...this.held.keys());
          this.hooks.error(new Error(`events ${this.next}..${first - 1} of room ${this.roomId} are gone`), 'gap');
          this.next = first;
          gone = true;
        }
        this.drain();
        if (!all || events.length < GAP_FILL_LIMIT) break;
      }
      if (!gone && this.next !== null && state !== undefined) {
        // Nothing after ours is left though the room went on (or is gone, its dismissal pruned).
        if (state === null || this.next - 1 < state.seq) {
          this.hooks.error(new Error(`events ${this.next}..${state?.seq ?? ''} of room ${this.roomId} are gone`), 'gap');
          if (state === null) this.forget();
          else {
            this.next = state.seq + 1;
            for (const seq of this.held.keys()) if (seq < this.next) this.held.delete(seq);
          }
          gone = true;
        }
      }
    } catch (err) {
      this.hooks.error(err, 'gap fill');
    } finally {
      this.filling = false;
    }
    this.drain();
    if (gone) this.hooks.stale(this);
    if (this.refill) {
      this.refill = false;
      void this.fill(true);
    }
  }

  // ------------------------------------------------------------------------------- fan-out

  private dispatch(e: RoomEvent): void {
    this.next = e.seq + 1;
    try {
      if (e.seq <= this.replayTo) this.replay(e);
      else this.fanOut(e);
    } catch (err) {
      this.hooks.error(err, e.type);
    }
    // A room dismissed (then maybe created again) starts its seq over: learn it afresh. Those
    // entering now may have entered the life it ended: their admission tells (see admit).
    if (e.type === 'roomDismissed') {
      const entrants = new Set(this.entering);
      this.dismissal = entrants.size > 0 ? { life: this.life, event: e, logEnd: this.logBase + this.log.length, entrants } : null;
      this.forget();
    }
  }

  /** An event dispatched before, again: only the connections admitted behind it get it now. */
  private replay(e: RoomEvent): void {
    this.flushBroadcast();
    let frame: Buffer | undefined;
    const once = () => (frame ??= this.hooks.frame(e));
    for (const live of this.behind) {
      if (!this.isIn(live)) continue;
      this.deliverTo(live, e, once, false);
      live.since = Math.max(live.since, e.seq); // a hole found later goes back no further for it
    }
    if (e.seq === this.replayTo) this.endReplay();
  }

  private endReplay(): void {
    this.replayTo = 0;
    this.behind.clear();
  }

  /** Where the room is is unknown: the next entry tells it. */
  private forget(): void {
    this.next = null;
    this.life = null;
    this.held.clear();
    this.endReplay();
  }

  private fanOut(e: RoomEvent): void {
    if (e.type === 'denyChanged' || (e.to && e.to.length === 0)) return;
    if (!e.to && PLAIN_BROADCAST.has(e.type)) return this.queueBroadcast(e);
    this.flushBroadcast();
    let frame: Buffer | undefined;
    const once = () => (frame ??= this.hooks.frame(e));
    const to = (userId: string) => {
      const live = this.members.get(userId);
      if (live) this.deliverTo(live, e, once, false);
    };
    if ((e.type === 'memberEntered' || e.type === 'memberLeft') && e.data.memberCount > this.hooks.audienceThreshold) {
      // Audience mode: the member itself only; everyone gets a coalesced count instead.
      if (e.type === 'memberLeft') to(e.data.userId);
      this.hooks.countChanged(this, e.data.memberCount, e.seq);
      return;
    }
    if (e.type === 'memberEntered' || e.type === 'memberLeft') this.hooks.countSettled(this);
    if (e.type === 'memberReplaced' || e.type === 'kickedOutOfRoom') return to(e.data.userId);
    if (e.to) {
      for (const userId of e.to.length > 1 ? new Set(e.to) : e.to) to(userId);
      return;
    }
    for (const live of [...this.members.values()]) this.deliverTo(live, e, once, false);
  }

  private queueBroadcast(e: RoomEvent): void {
    if (this.broadcast.length === 0) queueMicrotask(() => this.flushBroadcast());
    this.broadcast.push({ seq: e.seq, frame: this.hooks.frame(e) });
  }

  /** Writes the queued broadcast frames: one write per connection (skipping what it already had). */
  private flushBroadcast(): void {
    const chunks = this.broadcast;
    if (chunks.length === 0) return;
    this.broadcast = [];
    const all = chunks.length === 1 ? chunks[0].frame : Buffer.concat(chunks.map((c) => c.frame));
    for (const live of [...this.members.values()]) {
      if (live.since < chunks[0].seq) this.hooks.send(live.conn, all);
      else {
        const rest = chunks.filter((c) => c.seq > live.since);
        if (rest.length > 0) this.hooks.send(live.conn, Buffer.concat(rest.map((c) => c.frame)));
      }
    }
  }

  /**
   * Sends `e` to one member as its rules say, and takes the connection out of the room when the
   * event ends its membership. `history` marks catch-up events from before this connection's
   * entry: those about the member's earlier connections are not its own and are skipped.
   */
  private deliverTo(live: Live, e: RoomEvent, frame: () => Buffer, history: boolean): void {
    if (e.seq <= live.since && !history) return;
    const conn = live.conn;
    if (e.type === 'denyChanged') return;
    if (e.to && !e.to.includes(conn.userId)) return;
    switch (e.type) {
      case 'memberReplaced':
      case 'kickedOutOfRoom':
        if (e.data.userId !== conn.userId) return;
        if (history || (e.type === 'memberReplaced' && e.data.connId !== conn.id)) return;
        this.hooks.send(conn, frame());
        this.remove(conn);
        return;
      case 'roomDismissed':
        this.hooks.send(conn, frame());
        this.remove(conn);
        return;
      case 'memberLeft':
        if (e.data.userId === conn.userId && e.data.connId !== conn.id) {
          if (history) return;
        }
        if (e.data.memberCount > this.hooks.audienceThreshold && e.data.userId !== conn.userId) return;
        this.hooks.send(conn, frame());
        if (e.data.userId === conn.userId && e.data.connId === conn.id) this.remove(conn);
        return;
      case 'memberEntered':
        // A catch-up after the grace ended holds the member's own entry (this connection's, or an
        // earlier one's): the member entering is never told of it, it has its reply.
        if (history && e.data.member.userId === conn.userId) return;
        if (e.data.memberCount > this.hooks.audienceThreshold) return;
        this.hooks.send(conn, frame());
        return;
      default:
        this.hooks.send(conn, frame());
    }
  }

  private isIn(live: Live): boolean {
    return this.members.get(live.conn.userId) === live;
  }
}

/** Events to everyone with no per-member rule: these may share a write (see `broadcast`). */
const PLAIN_BROADCAST = new Set<RoomEvent['type']>([
  'messageReceived',
  'seatListChanged',
  'roomInfoChanged',
  'ownerChanged',
  'memberInfoChanged',
]);

/** The event's frame payload: `{event, roomId, seq, ...fields}`. */
export function eventPayload(e: RoomEvent): string {
  return JSON.stringify({ event: e.type, roomId: e.roomId, seq: e.seq, ...e.data });
}
