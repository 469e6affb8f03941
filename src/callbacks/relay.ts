// The callback relay. A feeder moves committed events from the store's outbox into the spool
// (with its outbox cursor, atomically), so an acknowledged change yields its callback even if the
// process dies right after; nothing is taken from the in-process bus but a wake-up. Each app has
// its own sender over its own spool rows: a dead receiver holds back only its own app, and memory
// holds at most a window of rows per app (the backlog stays in the spool).
//
// Order and retries: within a room one delivery is in flight at a time, the oldest first; a failed
// one is retried with exponential backoff (jittered, capped) until it is accepted or older than
// the give-up age, then marked failed (kept, re-sendable) and the room's next one goes. While a
// room waits for a retry, the sender keeps only that delivery of it in memory and reads past the
// room's others, so a room whose callbacks keep failing holds back no other room of its app; the
// room's others are read again, in order, once it moves on. With order 'none', every delivery is
// a "room" of its own (its order key), so one room's deliveries go in parallel too.
//
// Several nodes on one spool (PostgreSQL): the feeder runs on one node at a time, and each app is
// sent by one node at a time, under a lease (spool.leases). Every LEASE_TICK_MS a node takes the
// apps nobody holds, up to its share (apps / nodes), and hands back extras gracefully (its sender
// stops, what is in flight settles, delivered rows leave the spool, then the lease goes), so apps
// spread over the nodes without a duplicate. When the lease connection drops, the node stops
// sending at once; the database frees its leases and another node takes over from the spool.
import type { Store } from '../core/ports/store.js';
import type { RoomEvent } from '../core/events.js';
import type { AppId } from '../core/model.js';
import type { PrivateAddresses } from './address-policy.js';
import type { RelayMetrics } from './metrics.js';
import { bodyOf, callbackOf, eventIdOf } from './payloads.js';
import { CallbackSender } from './sender.js';
import type { CallbackService, EffectiveConfig } from './service.js';
import { callbackUrl } from './sign.js';
import type { CallbackSpool, Delivery, NewDelivery, SpoolLeases } from './spool.js';

export interface RelayOptions {
  /** Per delivery: the whole answer within this (ms). Default 2000. */
  timeoutMs?: number;
  /** Give a delivery up when its event is older than this (ms). Default 24 h. */
  giveUpAfterMs?: number;
  /** First retry delay (ms), doubling per attempt up to backoffMaxMs. Defaults 500 and 60000. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Deliveries in flight per app (each in a different room, unless order is 'none'). Default 8. */
  concurrency?: number;
  /** 'room' (default): a room's deliveries one at a time, in order; 'none': in parallel too. */
  order?: CallbackOrder;
  /** callbacks.privateAddresses: 'deny' keeps deliveries off internal addresses. Default allow. */
  privateAddresses?: PrivateAddresses;
}

export type CallbackOrder = 'room' | 'none';
export const CALLBACK_ORDERS: readonly CallbackOrder[] = ['room', 'none'];

/** Where the relay reads committed events: the store, or a reader of its outbox (worker thread). */
export type OutboxSource = Pick<Store, 'readOutbox' | 'outboxHead'>;

/** What wakes the feeder: the bus (a commit somewhere), or the main thread's wake-ups. */
export interface Wakeups {
  subscribe(handler: () => void): () => void;
}

export interface RelayLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Whether a configuration takes callbacks of `command`. */
function takes(cfg: EffectiveConfig | null, command: string): cfg is EffectiveConfig {
  return cfg !== null && (cfg.commands === null || cfg.commands.has(command));
}

const PAGE = 500;
const LEASE_TICK_MS = 2000;
const WINDOW = 256;
/** Pages of the spool one read goes through at most (past the rows of rooms that wait). */
const MAX_PAGES = 8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref?.());

interface Attempt {
  attempts: number;
  nextAt: number;
  lastError: string;
}

/** One app's sender. */
class AppSender {
  /** The app's pending deliveries in memory, at most WINDOW, each room's in spool order. */
  private window: Delivery[] = [];
  /** Deliveries in the window per room: the pump stops once it has seen every room's oldest. */
  private readonly rooms = new Map<string, number>();
  /** Every pending row up to this id is in the window, or its room is in `skipped`. */
  private loadedUpTo = 0;
  /** Rooms waiting for a retry: the window holds their oldest delivery only. */
  private readonly blocked = new Set<string>();
  /** Per room, its first pending row left out of the window (its room was blocked). */
  private readonly skipped = new Map<string, number>();
  /** Read the spool again from this id (a room with skipped rows moved on); Infinity: no need. */
  private rereadFrom = Infinity;
  /** Spool updates of given-up deliveries under way: a reread waits for them. */
  private readonly failing = new Set<Promise<void>>();
  private more = true;
  private loading = false;
  private wakes = 0;
  private readonly inFlight = new Set<string>();
  private readonly retries = new Map<number, Attempt>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly appId: AppId,
    private readonly relay: CallbackRelay,
  ) {}

  /** New rows may be in the spool. */
  wake(): void {
    this.more = true;
    this.wakes++;
    this.pump();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  get idle(): boolean {
    return this.window.length === 0 && this.inFlight.size === 0 && !this.more && !this.loading;
  }

  /** Nothing in flight (after stop(): every delivery sent has its answer). */
  get settled(): boolean {
    return this.inFlight.size === 0;
  }

  private pump(): void {
    if (this.stopped) return;
    if (this.more && !this.loading && this.window.length < WINDOW / 2) void this.load();
    const now = Date.now();
    const seen = new Set<string>();
    let wakeAt = Infinity;
    for (const d of this.window) {
      if (this.inFlight.size >= this.relay.concurrency || seen.size === this.rooms.size) break;
      const key = this.relay.orderKey(d);
      if (seen.has(key)) continue; // only a room's oldest goes
      seen.add(key);
      if (this.inFlight.has(key)) continue;
      const r = this.retries.get(d.id);
      if (r && r.nextAt > now) {
        wakeAt = Math.min(wakeAt, r.nextAt);
        continue;
      }
      this.inFlight.add(key);
      void this.deliver(d);
    }
    if (wakeAt !== Infinity) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => ((this.timer = null), this.pump()), Math.max(1, wakeAt - now));
      this.timer.unref();
    }
  }

  /**
   * Reads pending rows into the window: on from the last one read, or, when a room with skipped
   * rows has moved on, again from its first. Rows already delivered or given up must be gone from
   * the spool before a reread, and rows in the window or delivered meanwhile are known by id.
   */
  private async load(): Promise<void> {
    this.loading = true;
    const wakes = this.wakes;
    try {
      let after = Math.min(this.rereadFrom - 1, this.loadedUpTo);
      this.rereadFrom = Infinity;
      // Taken before the flush: a row delivered from here on is in it, one delivered before is flushed.
      const known = new Set(this.window.map((d) => d.id));
      if (after < this.loadedUpTo) {
        await this.relay.flush();
        await Promise.allSettled(this.failing);
      }
      let end = false;
      for (let page = 0; page < MAX_PAGES && this.window.length < WINDOW && !end; page++) {
        const limit = WINDOW - this.window.length;
        const rows = await this.relay.spool.pending(this.appId, after, limit);
        end = rows.length < limit;
        for (const d of rows) {
          if (this.window.length >= WINDOW) {
            end = false;
            break;
          }
          after = d.id;
          if (!known.has(d.id)) this.take(d);
        }
      }
      if (after > this.loadedUpTo) this.loadedUpTo = after;
      else if (!end) this.rereadFrom = Math.min(this.rereadFrom, after + 1); // the reread goes on next time
      this.more = !end || wakes !== this.wakes || this.rereadFrom !== Infinity;
    } catch (err) {
      this.relay.log?.error({ err, appId: this.appId }, 'callbacks: reading the spool failed');
      this.more = true;
      await sleep(1000);
    } finally {
      this.loading = false;
    }
    this.pump();
  }

  /**
   * A pending row not in the window: kept, or skipped while its room waits. A room's rows after
   * its first skipped one wait for that one to be read again (only this sender takes the app's
   * pending rows out of the spool, so it is there).
   */
  private take(d: Delivery): void {
    const room = this.relay.orderKey(d);
    const first = this.skipped.get(room);
    if (first !== undefined && first < d.id) return;
    if (this.blocked.has(room)) {
      if (first === undefined || d.id < first) this.skipped.set(room, d.id);
      return;
    }
    if (first === d.id) this.skipped.delete(room);
    this.window.push(d);
    this.rooms.set(room, (this.rooms.get(room) ?? 0) + 1);
  }

  /** The room's oldest delivery failed and waits for a retry: its others leave the window. */
  private block(head: Delivery): void {
    const room = this.relay.orderKey(head);
    this.blocked.add(room);
    if (this.rooms.get(room) === 1) return;
    let first = this.skipped.get(room) ?? Infinity;
    this.window = this.window.filter((d) => {
      if (this.relay.orderKey(d) !== room || d === head) return true;
      first = Math.min(first, d.id);
      return false;
    });
    this.rooms.set(room, 1);
    this.skipped.set(room, first);
  }

  private async deliver(d: Delivery): Promise<void> {
    const relay = this.relay;
    const app = String(this.appId);
    let cfg = relay.service.get(this.appId);
    // Spooled, so some node had a configuration taking it: this node's view may be older than
    // that (set on another node a moment ago). Looked at again once, unless it is from after.
    if (!takes(cfg, d.command) && relay.service.readBefore(d.createdAt)) {
      await relay.service.load().catch(() => {});
      cfg = relay.service.get(this.appId);
    }
    let error: string | null;
    if (!cfg) error = 'no callback configuration';
    else if (!takes(cfg, d.command)) error = null; // unsubscribed since: drop it
    else {
      const r = await relay.sender.send(relay.urlFor(this.appId, cfg, d.command), d.body);
      error = r.ok ? null : r.error;
    }
    this.inFlight.delete(this.relay.orderKey(d));
    const now = Date.now();
    try {
      if (error === null) {
        this.remove(d);
        relay.metrics?.delivered.inc({ app });
        relay.metrics?.lag.observe({ app }, Math.max(0, now - d.createdAt) / 1000);
        relay.markDelivered(d.id);
      } else {
        const prev = this.retries.get(d.id);
        const attempts = (prev?.attempts ?? 0) + 1;
        if (now - d.createdAt >= relay.giveUpAfterMs || !cfg) {
          this.remove(d);
          relay.metrics?.failed.inc({ app });
          relay.log?.warn({ appId: this.appId, id: d.id, command: d.command, error, attempts }, 'callbacks: gave up a delivery');
          const failing = relay.spool.fail(d.id, attempts, error, now);
          this.failing.add(failing);
          await failing.finally(() => this.failing.delete(failing));
        } else {
          const delay = Math.min(relay.backoffMaxMs, relay.backoffBaseMs * 2 ** (attempts - 1));
          this.retries.set(d.id, { attempts, lastError: error, nextAt: now + delay * (0.75 + Math.random() * 0.5) });
          this.block(d);
          relay.metrics?.retried.inc({ app });
        }
      }
    } catch (err) {
      relay.log?.error({ err, appId: this.appId }, 'callbacks: updating the spool failed');
    }
    this.pump();
  }

  /** The room's oldest delivery is done (delivered or given up): the room's next may go. */
  private remove(d: Delivery): void {
    this.retries.delete(d.id);
    const i = this.window.indexOf(d);
    if (i < 0) return;
    this.window.splice(i, 1);
    const room = this.relay.orderKey(d);
    const n = this.rooms.get(room)! - 1;
    if (n === 0) this.rooms.delete(room);
    else this.rooms.set(room, n);
    this.blocked.delete(room);
    const first = this.skipped.get(room);
    if (first !== undefined) {
      this.rereadFrom = Math.min(this.rereadFrom, first);
      this.more = true;
    }
  }
}

/** What a process that does not send gets: wakes do nothing. */
const IDLE_SENDER = { wake() {}, stop() {}, idle: true } as unknown as AppSender;

export class CallbackRelay {
  readonly sender: CallbackSender;
  readonly giveUpAfterMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly concurrency: number;
  /** The order key of a delivery: one of a key is in flight at a time, the oldest first. */
  readonly orderKey: (d: Delivery) => string;
  private readonly senders = new Map<AppId, AppSender>();
  private cursor = '';
  private running = false;
  private wakeFeeder: (() => void) | null = null;
  private pendingWake = false;
  private unsubscribe: (() => void) | null = null;
  private feeding: Promise<void> | null = null;
  private delivered: number[] = [];
  private readonly urls = new Map<string, { second: number; cfg: EffectiveConfig; url: string }>();
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  /** Events before this time (ms) are all spooled: the outbox may drop them. */
  private spooledBefore = 0;
  private leading = false;
  private readonly leases: SpoolLeases | undefined;
  private balancing: Promise<void> | null = null;
  private close_!: () => void;
  private readonly closing = new Promise<void>((r) => (this.close_ = r));

  constructor(
    private readonly store: OutboxSource,
    readonly spool: CallbackSpool,
    private readonly wakeups: Wakeups,
    readonly service: CallbackService,
    opts: RelayOptions = {},
    readonly metrics?: RelayMetrics,
    readonly log?: RelayLog,
  ) {
    this.sender = new CallbackSender(opts.timeoutMs ?? 2000, opts.privateAddresses);
    this.giveUpAfterMs = opts.giveUpAfterMs ?? 24 * 3600_000;
    this.backoffBaseMs = opts.backoffBaseMs ?? 500;
    this.backoffMaxMs = opts.backoffMaxMs ?? 60_000;
    this.concurrency = opts.concurrency ?? 8;
    this.orderKey = opts.order === 'none' ? (d) => String(d.id) : (d) => d.roomId;
    this.leases = spool.leases;
    if (this.leases) {
      this.leases.onLost = () => this.leasesLost();
      this.leases.onSpooled = (apps) => {
        for (const appId of apps) this.senders.get(appId)?.wake();
      };
    }
    service.onChange = () => {
      this.kick();
      for (const s of this.senders.values()) s.wake();
      void this.startBacklog();
    };
  }

  async start(): Promise<void> {
    this.running = true;
    this.cursor = await this.spool.cursor();
    this.unsubscribe = this.wakeups.subscribe(() => this.kick());
    await this.lead();
    if (this.leases) {
      await this.balance().catch((err) => this.log?.error({ err }, 'callbacks: balancing the app leases failed'));
      this.balancing = this.keepBalancing();
    } else await this.startBacklog();
    this.feeding = this.feed();
  }

  /**
   * The outbox may drop events older than this (ms): all of them are spooled. A margin covers
   * PostgreSQL transactions still open below the horizon when the feeder caught up.
   */
  pruneHorizon(): number {
    return this.spooledBefore === 0 ? 0 : this.spooledBefore - 5 * 60_000;
  }

  private kick(): void {
    this.pendingWake = true;
    const w = this.wakeFeeder;
    this.wakeFeeder = null;
    w?.();
  }

  private senderOf(appId: AppId): AppSender {
    let s = this.senders.get(appId);
    if (s || this.leases) return s ?? IDLE_SENDER; // with leases, only held apps have a sender
    this.senders.set(appId, (s = new AppSender(appId, this)));
    return s;
  }

  /** Whether this process feeds the spool (one process at a time on a shared spool). */
  private async lead(): Promise<boolean> {
    this.leading = this.leases ? await this.leases.lead() : true;
    return this.leading;
  }

  /** The lease connection dropped: every lease is gone, so this node stops sending now. */
  private leasesLost(): void {
    this.leading = false;
    for (const s of this.senders.values()) s.stop();
    this.senders.clear();
    this.log?.warn({}, 'callbacks: leases lost (connection to the database dropped); sending stops until they are taken again');
  }

  private async keepBalancing(): Promise<void> {
    while (this.running) {
      await this.pause(LEASE_TICK_MS);
      if (!this.running) break;
      await this.balance().catch((err) => this.log?.error({ err }, 'callbacks: balancing the app leases failed'));
    }
  }

  /**
   * Takes unheld apps up to this node's share and hands back one extra per tick (gracefully);
   * wakes the senders it keeps (re-sends from the CLI and missed notifications show this way).
   */
  private async balance(): Promise<void> {
    const leases = this.leases!;
    const apps = new Set<AppId>([...this.service.configuredApps(), ...(await this.spool.appsWithPending())]);
    const share = Math.ceil(apps.size / (await leases.nodes()));
    if (this.senders.size > share) await this.release([...this.senders.keys()].pop()!);
    const candidates = [...apps].filter((a) => !this.senders.has(a));
    // A random order, so nodes starting together do not all go for the same apps first.
    for (let i = candidates.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
    }
    for (const appId of candidates) {
      if (this.senders.size >= share || !this.running) break;
      if (!(await leases.leaseApp(appId))) continue;
      const s = new AppSender(appId, this);
      this.senders.set(appId, s);
    }
    for (const s of this.senders.values()) s.wake();
  }

  /** Hands an app's sending back without a duplicate: stop, let in-flight settle, drop delivered rows, unlock. */
  private async release(appId: AppId): Promise<void> {
    const s = this.senders.get(appId);
    if (!s) return;
    s.stop();
    const deadline = Date.now() + 30_000;
    while (!s.settled && Date.now() < deadline) await sleep(20);
    await this.flush();
    if (this.senders.get(appId) === s) this.senders.delete(appId);
    await this.leases!.releaseApp(appId);
  }

  /** Senders for apps with rows spooled (by an earlier run, or re-sent from the CLI). */
  private async startBacklog(): Promise<void> {
    if (!this.running) return;
    if (this.leases) {
      for (const s of this.senders.values()) s.wake();
      return;
    }
    try {
      for (const appId of await this.spool.appsWithPending()) this.senderOf(appId).wake();
    } catch (err) {
      this.log?.error({ err }, 'callbacks: reading the spool failed');
    }
  }

  /** Resolves after `ms`, or at once when woken (a commit, a change, close). */
  private async waitForWork(ms: number): Promise<void> {
    if (this.pendingWake || !this.running) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      t.unref();
      this.wakeFeeder = () => (clearTimeout(t), resolve());
    });
  }

  private async feed(): Promise<void> {
    let reads = 0;
    let lastRead = 0;
    while (this.running) {
      await this.waitForWork(1000);
      if (!this.running) break;
      if (!(await this.lead())) {
        // Another process sends; this one keeps its view of the configurations fresh.
        this.pendingWake = false;
        await this.pause(2000);
        await this.service.load().catch(() => {});
        continue;
      }
      // A short pause lets a burst's commits gather into one page. Without any configuration
      // the cursor still follows the outbox, once a second, past its events without reading them.
      let configured = this.service.anyConfigured();
      const gap = configured ? 10 : 1000 - (Date.now() - lastRead);
      if (gap > 0) await this.pause(gap);
      if (!this.running) break;
      this.pendingWake = false;
      lastRead = Date.now();
      try {
        for (;;) {
          const startedAt = Date.now();
          if (!configured) {
            const head = await this.store.outboxHead();
            // Skip only what no configuration applies to. One set since the last look was
            // stored before the events it applies to were committed, so the configurations
            // read now, after the head, show it: then the events up to the head are read.
            await this.service.load();
            configured = this.service.anyConfigured();
            if (!configured) {
              if (head !== this.cursor) await this.spoolPage([], head);
              this.spooledBefore = startedAt;
              break;
            }
          }
          const page = await this.store.readOutbox(this.cursor, PAGE);
          if (page.events.length > 0) await this.spoolPage(page.events, page.cursor, page.texts);
          if (page.events.length < PAGE) {
            this.spooledBefore = startedAt;
            break;
          }
          if (!this.running) return;
        }
        // Other nodes' configuration changes and re-sends from the CLI show within a few reads.
        if (++reads % 5 === 0) {
          await this.service.load();
          await this.startBacklog();
        }
      } catch (err) {
        this.log?.error({ err }, 'callbacks: reading the outbox failed');
        await this.pause(1000);
      }
    }
  }

  /** A sleep that close() cuts short. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      t.unref();
      this.closing.then(() => (clearTimeout(t), resolve()));
    });
  }

  private async spoolPage(events: RoomEvent[], cursor: string, texts?: string[]): Promise<void> {
    let rows = this.deliveriesOf(events, texts, false);
    // An event this view does not take may go by a configuration just set on another node (or,
    // on SQLite, in the main thread): the configurations are read again, then the page is built.
    if (!rows) {
      await this.service.load();
      rows = this.deliveriesOf(events, texts, true)!;
    }
    if (!(await this.spool.enqueue(this.cursor, rows, cursor))) {
      this.cursor = await this.spool.cursor(); // another node spooled it
      return;
    }
    this.cursor = cursor;
    const apps = new Set<AppId>();
    for (const r of rows) {
      apps.add(r.appId);
      this.metrics?.queued.inc({ app: String(r.appId) });
    }
    for (const appId of apps) this.senderOf(appId).wake();
  }

  /**
   * The page's deliveries; null, at the first event the view skips that a newer view might take
   * (the page is built once the configurations are read again). `fresh`: the view was read after
   * these events were, so it is never in doubt.
   */
  private deliveriesOf(events: RoomEvent[], texts: string[] | undefined, fresh: boolean): NewDelivery[] | null {
    const rows: NewDelivery[] = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      const cb = callbackOf(e);
      if (!cb) continue;
      const cfg = this.service.get(e.appId);
      if (!takes(cfg, cb.command)) {
        if (!fresh && this.service.readBefore(e.at)) return null;
        continue;
      }
      const eventId = eventIdOf(e, texts?.[i]);
      rows.push({ eventId, appId: e.appId, roomId: e.roomId, seq: e.seq, command: cb.command, body: bodyOf(e, cb, eventId), createdAt: e.at });
    }
    return rows;
  }

  /** The callback URL with its query; the same within one second (RequestTime), so kept. */
  urlFor(appId: AppId, cfg: EffectiveConfig, command: string): string {
    const second = Math.floor(Date.now() / 1000);
    const key = `${appId}\n${command}`;
    const hit = this.urls.get(key);
    if (hit && hit.second === second && hit.cfg === cfg) return hit.url;
    const url = callbackUrl(cfg.url, { sdkAppId: appId, command, token: cfg.token, requestTime: second });
    if (this.urls.size > 10_000) this.urls.clear();
    this.urls.set(key, { second, cfg, url });
    return url;
  }

  /** Delivered rows leave the spool in batches (a crash before that re-sends them). */
  markDelivered(id: number): void {
    this.delivered.push(id);
    if (this.delivered.length >= 200) void this.flush();
    else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => void this.flush(), 50);
      this.flushTimer.unref();
    }
  }

  /** Removes the delivered rows from the spool (batched; see markDelivered). */
  flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const ids = this.delivered;
    this.delivered = [];
    this.flushing = this.flushing.then(() => this.spool.delivered(ids)).catch((err) => this.log?.error({ err }, 'callbacks: updating the spool failed'));
    return this.flushing;
  }

  /** The apps this node sends now (with leases: the ones it holds). */
  sendingApps(): AppId[] {
    return [...this.senders.keys()];
  }

  /** Nothing queued, in flight or left to read (tests, shutdown). */
  async idle(): Promise<boolean> {
    return [...this.senders.values()].every((s) => s.idle);
  }

  async close(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.close_();
    this.kick();
    await this.feeding?.catch(() => {});
    await this.balancing?.catch(() => {});
    for (const s of this.senders.values()) s.stop();
    await this.flush();
    await this.sender.close();
  }
}
