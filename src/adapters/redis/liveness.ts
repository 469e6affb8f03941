// Node liveness: which nodes of the cluster are running. Each node keeps a key
// `<prefix>:node:<nodeId>` alive (SET with a TTL, renewed every few seconds). Each node also
// sweeps: the node ids its members are connected through (Store.connectedNodes) whose key is
// gone belong to a node that died without saying goodbye (kill -9, power loss), and their members
// leave (reason 'expired'). A short lock per dead node lets one node do it, not all at once.
//
// Never while Redis is away (no key can be read then), and not until this node has been
// connected for a while: after Redis restarts (keys lost) or comes back, the live nodes need a
// heartbeat to set their keys again before anyone may conclude a key is gone for good.
//
// Fencing: a node that could not renew its own key for the key's lifetime may be taken for dead
// by the others (they evict its members) — or Redis may be down for everyone, and then nobody
// evicts. The store tells which: once a member this node holds is gone from it (`evictionSeen()`), the
// node is *fenced* (`onFence(true)`) until a renewal succeeds again and no eviction of its members
// can still be running. Without that evidence it keeps serving its clients.
import { connectRedis, openRedis, parseRedisUrl, type Redis } from './client.js';

export interface LivenessTimings {
  /** How often a node renews its key, ms. Default 5000. */
  heartbeatMs: number;
  /** The key's time to live, ms: a node is dead this long after its last renewal. Default 15000. */
  ttlMs: number;
  /** How often a node looks for dead nodes, ms. Default 5000. */
  sweepMs: number;
  /** Connected this long (continuously) before the first sweep, ms. Default 2 × heartbeat. */
  settleMs: number;
}

export const LIVENESS_DEFAULTS: LivenessTimings = { heartbeatMs: 5000, ttlMs: 15_000, sweepMs: 5000, settleMs: 10_000 };

export interface LivenessDeps {
  /** Node ids of connected members (Store.connectedNodes). */
  connectedNodes(): Promise<string[]>;
  /** Makes the members connected through that node leave; returns how many left. */
  evict(nodeId: string): Promise<number>;
  /** This node is fenced (true: its members are being evicted) or back (false). */
  onFence?(fenced: boolean): void;
  /**
   * Whether the store shows a member this node holds removed by someone else (the evidence that
   * the others took it for dead). Absent: fence on the lost renewals alone.
   */
  evictionSeen?(): Promise<boolean>;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export class NodeLiveness {
  private readonly key: string;
  private heartbeat: NodeJS.Timeout | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  /** When the connection last became ready (null while it is not). */
  private connectedAt: number | null = null;
  private sweeping = false;
  private closed = false;
  private fenceTimer: NodeJS.Timeout | null = null;
  /** When the last successful renewal was sent: the key lives at least `ttlMs` from then. */
  private renewedAt = Date.now();
  private isFenced = false;

  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly nodeId: string,
    private readonly deps: LivenessDeps,
    private readonly t: LivenessTimings,
  ) {
    this.key = this.nodeKey(nodeId);
  }

  static async start(url: string, nodeId: string, deps: LivenessDeps, timings: Partial<LivenessTimings> = {}): Promise<NodeLiveness> {
    const { url: bare, prefix } = parseRedisUrl(url);
    const t = { ...LIVENESS_DEFAULTS, ...timings };
    const redis = openRedis(bare, 'liveness');
    const live = new NodeLiveness(redis, prefix, nodeId, deps, t);
    redis.on('ready', () => live.onReady());
    redis.on('close', () => (live.connectedAt = null));
    try {
      await connectRedis(redis);
      await live.renew();
    } catch (e) {
      redis.disconnect();
      throw e;
    }
    live.heartbeat = setInterval(() => void live.renew().catch(() => undefined), t.heartbeatMs);
    live.heartbeat.unref();
    live.sweeper = setInterval(() => void live.sweep(), t.sweepMs);
    live.sweeper.unref();
    live.fenceTimer = setInterval(() => void live.checkFence(), Math.min(1000, t.heartbeatMs));
    live.fenceTimer.unref();
    return live;
  }

  /** Stops, and removes this node's key (its members leave through the gateway's shutdown). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.fenceTimer) clearInterval(this.fenceTimer);
    try {
      if (this.redis.status === 'ready') await this.redis.del(this.key);
    } catch {
      // it expires by itself
    }
    this.redis.disconnect();
  }

  /** Looks for dead nodes now and evicts their members; returns the node ids evicted here. */
  async sweep(): Promise<string[]> {
    if (this.closed || this.sweeping || !this.settled()) return [];
    this.sweeping = true;
    const evicted: string[] = [];
    try {
      const others = (await this.deps.connectedNodes()).filter((id) => id !== this.nodeId);
      if (others.length === 0) return evicted;
      const keys = await this.redis.mget(others.map((id) => this.nodeKey(id)));
      for (const [i, id] of others.entries()) {
        if (keys[i] !== null || !this.settled()) continue;
        // One node evicts a dead one at a time; the lock outlives a slow eviction's start, and
        // a failed eviction is taken up again once it expires (leaving is idempotent anyway).
        const lock = await this.redis.set(`${this.prefix}:evict:${id}`, this.nodeId, 'PX', this.t.ttlMs, 'NX');
        if (lock !== 'OK') continue;
        const n = await this.deps.evict(id);
        evicted.push(id);
        this.deps.log?.warn({ node: id, members: n }, 'cluster: a node stopped renewing its liveness key; its members left');
      }
    } catch (err) {
      // Redis or the store away: try again at the next sweep.
      if (!this.closed) this.deps.log?.error({ err }, 'cluster: liveness sweep failed');
    } finally {
      this.sweeping = false;
    }
    return evicted;
  }

  /** Whether this node is fenced now (see the top of this file). */
  get fenced(): boolean {
    return this.isFenced;
  }

  /**
   * Fenced once no renewal got through for the key's lifetime. Back once one does and no other
   * node holds the eviction lock for this node (an eviction started before the renewal would
   * remove members who joined through this node after it).
   */
  private async checkFence(): Promise<void> {
    if (this.closed) return;
    if (!this.isFenced) {
      if (Date.now() - this.renewedAt <= this.t.ttlMs) return;
      if (this.deps.evictionSeen) {
        try {
          if (!(await this.deps.evictionSeen())) return; // Redis down for everyone: nobody evicts
        } catch {
          return; // the store is away too: nobody can evict
        }
        if (this.closed || this.isFenced || Date.now() - this.renewedAt <= this.t.ttlMs) return;
      }
      this.isFenced = true;
      this.deps.log?.error({ node: this.nodeId, sinceMs: Date.now() - this.renewedAt }, 'cluster: liveness key not renewed for its lifetime; this node is fenced off');
      this.deps.onFence?.(true);
      return;
    }
    if (Date.now() - this.renewedAt > this.t.heartbeatMs) return;
    try {
      if ((await this.redis.exists(`${this.prefix}:evict:${this.nodeId}`)) !== 0) return;
    } catch {
      return;
    }
    if (this.closed || !this.isFenced || Date.now() - this.renewedAt > this.t.heartbeatMs) return;
    this.isFenced = false;
    this.deps.log?.info({ node: this.nodeId }, 'cluster: liveness key renewed; this node serves again');
    this.deps.onFence?.(false);
  }

  private nodeKey(id: string): string {
    return `${this.prefix}:node:${id}`;
  }

  private settled(): boolean {
    return this.redis.status === 'ready' && this.connectedAt !== null && Date.now() - this.connectedAt >= this.t.settleMs;
  }

  private onReady(): void {
    this.connectedAt = Date.now();
    if (!this.closed) void this.renew().catch(() => undefined);
  }

  private async renew(): Promise<void> {
    const sent = Date.now();
    await this.redis.set(this.key, String(sent), 'PX', this.t.ttlMs);
    this.renewedAt = Math.max(this.renewedAt, sent);
    if (this.isFenced) void this.checkFence();
  }
}
