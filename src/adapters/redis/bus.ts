// The Redis bus: committed events reach every node sharing one Redis. This node's subscribers
// get an event synchronously, as on the local bus; other nodes get it through one pub/sub channel
// (`<prefix>:events`). The events published in one event-loop turn travel as one message, so a
// chat batch costs one Redis publish, and each node frames it once for all its clients.
//
// Redis is not the record: the store's outbox is. A publish never waits for Redis and never
// fails: while Redis is away, events for other nodes are dropped (counted), and when the link
// comes back the bus tells its subscribers to resync (`onResync`): they read what they hold
// from the store. A node whose own publishes were dropped says so on the channel when it is
// back, so the others resync too.
//
// A Redis that is connected but slow (or a link that went silent without a reset) would let
// publishes pile up in the client without bound: at most `maxPendingBytes` / `maxPendingMessages`
// wait for Redis; past that, events are dropped as when Redis is away, and the others are told to
// resync once the backlog has drained.
import { randomBytes } from 'node:crypto';
import type { Bus, EventHandler } from '../../core/ports/bus.js';
import type { RoomEvent } from '../../core/events.js';
import { connectRedis, openRedis, parseRedisUrl, type Redis } from './client.js';

/** What travels on the channel: the sender (node id and this process's instance), and its events. */
interface Envelope {
  /** The node id (for operators reading the channel). */
  n: string;
  /** The sending bus instance: a node skips its own messages by it. */
  i: string;
  /** Events, in publish order. */
  e?: RoomEvent[];
  /** The sender dropped events while Redis was away: everyone should resync. */
  resync?: true;
}

export interface RedisBusStats {
  /** Events sent to the other nodes. */
  sent: number;
  /** Events that could not be sent (Redis away): other nodes catch up from the store. */
  dropped: number;
  /** Events received from other nodes. */
  received: number;
}

export interface RedisBusOptions {
  /** How long the first connection may take, ms. Default 5000. */
  connectMs?: number;
  /** Bytes of publishes waiting for Redis's answer, at most. Default 8 MiB. */
  maxPendingBytes?: number;
  /** Publishes waiting for Redis's answer, at most. Default 10 000. */
  maxPendingMessages?: number;
}

export class RedisBus implements Bus {
  private readonly handlers = new Set<EventHandler>();
  private readonly resyncHandlers = new Set<() => void>();
  private readonly instance = randomBytes(8).toString('hex');
  private readonly channel: string;
  /** Events of this turn, not yet sent to Redis. */
  private pending: RoomEvent[] = [];
  private flushing: NodeJS.Immediate | null = null;
  /** The subscriber was ready, then lost: the next `ready` means a resync. */
  private subLost = false;
  /** Events were dropped since the publisher was last ready: say so once it is back. */
  private pubDropped = false;
  private closed = false;
  /** Publishes sent to Redis and not answered yet: their bytes and count. */
  private waitingBytes = 0;
  private waiting = 0;
  private announcing = false;
  private readonly maxBytes: number;
  private readonly maxMessages: number;
  readonly stats: RedisBusStats = { sent: 0, dropped: 0, received: 0 };

  private constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    prefix: string,
    readonly nodeId: string,
    opts: RedisBusOptions,
  ) {
    this.channel = `${prefix}:events`;
    this.maxBytes = opts.maxPendingBytes ?? 8 * 1024 * 1024;
    this.maxMessages = opts.maxPendingMessages ?? 10_000;
  }

  /** Connects (failing clearly if Redis does not answer in `connectMs`) and subscribes. */
  static async open(url: string, nodeId: string, opts: RedisBusOptions = {}): Promise<RedisBus> {
    const connectMs = opts.connectMs ?? 5000;
    const { url: bare, prefix } = parseRedisUrl(url);
    const pub = openRedis(bare, 'bus-publish');
    const sub = openRedis(bare, 'bus-subscribe');
    const bus = new RedisBus(pub, sub, prefix, nodeId, opts);
    try {
      await Promise.all([connectRedis(pub, connectMs), connectRedis(sub, connectMs)]);
      await sub.subscribe(bus.channel);
    } catch (e) {
      pub.disconnect();
      sub.disconnect();
      throw e;
    }
    bus.watch();
    return bus;
  }

  publish(event: RoomEvent): void {
    if (this.closed) return;
    for (const h of this.handlers) h(event);
    this.pending.push(event);
    this.flushing ??= setImmediate(() => this.flush());
  }

  subscribe(handler: EventHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  onResync(handler: () => void): () => void {
    this.resyncHandlers.add(handler);
    return () => this.resyncHandlers.delete(handler);
  }

  ready(): boolean {
    return !this.closed && this.pub.status === 'ready' && this.sub.status === 'ready';
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.flushing) clearImmediate(this.flushing);
    this.flush();
    this.closed = true;
    this.handlers.clear();
    this.resyncHandlers.clear();
    this.sub.disconnect();
    // QUIT waits for the last publish to be written; a Redis that is away gets cut instead.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.pub.quit().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
    this.pub.disconnect();
  }

  // ------------------------------------------------------------------------------- internals

  private flush(): void {
    this.flushing = null;
    const events = this.pending;
    if (events.length === 0 || this.closed) return;
    this.pending = [];
    if (this.pub.status !== 'ready') return this.drop(events.length);
    const message = JSON.stringify({ n: this.nodeId, i: this.instance, e: events } satisfies Envelope);
    const bytes = Buffer.byteLength(message);
    // A backlog at its cap: Redis is not keeping up; the others will read these from the store.
    if (this.waiting + 1 > this.maxMessages || this.waitingBytes + bytes > this.maxBytes) return this.drop(events.length);
    this.stats.sent += events.length;
    this.waiting++;
    this.waitingBytes += bytes;
    this.pub.publish(this.channel, message).then(
      () => this.answered(bytes),
      () => {
        this.stats.sent -= events.length;
        this.drop(events.length);
        this.answered(bytes);
      },
    );
  }

  private answered(bytes: number): void {
    this.waiting--;
    this.waitingBytes -= bytes;
    // Drained (to half the cap) after drops: tell the others.
    if (this.pubDropped && this.waiting <= this.maxMessages / 2 && this.waitingBytes <= this.maxBytes / 2) this.announce();
  }

  private drop(n: number): void {
    this.stats.dropped += n;
    this.pubDropped = true;
  }

  /** Says on the channel that this node dropped events: every other node resyncs. */
  private announce(): void {
    if (!this.pubDropped || this.announcing || this.closed || this.pub.status !== 'ready') return;
    this.announcing = true;
    // Cleared now: a drop after this message goes out needs another one.
    this.pubDropped = false;
    const message = JSON.stringify({ n: this.nodeId, i: this.instance, resync: true } satisfies Envelope);
    this.pub.publish(this.channel, message).then(
      () => (this.announcing = false),
      () => {
        this.announcing = false;
        this.pubDropped = true;
      },
    );
  }

  private watch(): void {
    this.sub.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.receive(message);
    });
    this.sub.on('close', () => (this.subLost = true));
    this.sub.on('ready', () => {
      if (!this.subLost || this.closed) return;
      this.subLost = false;
      // ioredis subscribes again by itself; this reply comes after its own, so from here on
      // nothing published can be missed: what came before is in the store.
      this.sub.subscribe(this.channel).then(
        () => this.resync(),
        () => (this.subLost = true),
      );
    });
    this.pub.on('ready', () => this.announce());
  }

  private receive(message: string): void {
    let env: Envelope;
    try {
      env = JSON.parse(message) as Envelope;
    } catch {
      return; // not ours
    }
    if (env === null || typeof env !== 'object' || env.i === this.instance) return;
    if (env.resync) return this.resync();
    if (!Array.isArray(env.e)) return;
    this.stats.received += env.e.length;
    for (const e of env.e) {
      for (const h of this.handlers) {
        try {
          h(e, true);
        } catch {
          // A subscriber's failure is its own (the gateway logs its own); the others carry on.
        }
      }
    }
  }

  private resync(): void {
    if (this.closed) return;
    for (const h of this.resyncHandlers) {
      try {
        h();
      } catch {
        // as above
      }
    }
  }
}
