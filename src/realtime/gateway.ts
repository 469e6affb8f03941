// The realtime gateway: WebSocket clients on the HTTP server's port. It authenticates a socket
// with a UserSig, runs its ops against the core (ops.ts), and pushes the events the core
// publishes on the bus to the connections in each room, serialised once per event.
import type { IncomingMessage, Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import proxyaddr from 'proxy-addr';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { FastifyBaseLogger } from 'fastify';
import type { AppRegistry } from '../config.js';
import type { Bus } from '../core/ports/bus.js';
import type { Engine } from '../core/engine.js';
import { isRoomError } from '../core/errors.js';
import type { RoomEvent } from '../core/events.js';
import { DEFAULT_RESUME_WINDOW_SECONDS, type Store } from '../core/ports/store.js';
import type { Limits } from '../core/ports/limits.js';
import { PROCESS_LIMITS } from '../core/local-limits.js';
import { LIMITS, byteLength } from '../core/limits.js';
import type { AppId } from '../core/model.js';
import { roomLife } from '../core/views.js';
import { normalizeIp } from '../core/ip.js';
import { UserSigError, type UserSigVerifier } from '../auth/usersig.js';
import { CODE as TENCENT } from '../dialects/tencent/codes.js';
import { Connection, closeWithGrace, textFrame } from './connection.js';
import { CODE_BY_KIND, OPS, Refusal, paramError, type EntryTicket, type Op, type OpContext } from './ops.js';
import { CLOSE, CODE, REALTIME_PATH, type ReplyFrame } from './protocol.js';
import { RoomFeed, eventPayload, type FeedHooks } from './room-feed.js';
import { OpSlots } from './op-slots.js';
import { Pacer } from './pacer.js';

export interface GatewayOptions {
  engine: Engine;
  bus: Bus;
  apps: AppRegistry;
  verifier: UserSigVerifier;
  /** Prefix of every connection id, so that a restart of this node can clear its ghosts. */
  nodeId: string;
  /** The same value Fastify gets: whether (or which) proxies' X-Forwarded-For to believe. */
  trustProxy?: boolean | string[];
  /** A dead connection leaves its rooms within this many seconds. Default 30. */
  heartbeatSeconds?: number;
  /** A client whose unsent frames would exceed this is dropped. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Where catch-up and gap fills read a room's past events. */
  store: Pick<Store, 'roomEvents' | 'read'>;
  /**
   * A dropped connection's members stay in their rooms (with their seats) this long before they
   * leave, so a client reconnecting in time resumes where it was. Default 10. A client's own
   * close (1000) and a server shutdown leave at once.
   */
  seatGraceSeconds?: number;
  /** A reconnecting client gets the events it missed if they are at most this old. Default 120. */
  resumeWindowSeconds?: number;
  /** Above this many members a room announces entries and exits by coalesced counts. Default 100. */
  audienceThreshold?: number;
  /** Audience mode: at most one member-count update per room this often, ms. Default 1000. */
  memberCountIntervalMs?: number;
  /** Chat messages per second per user (sustained; bursts of twice that). Default 5; 0 = unlimited. */
  messagesPerSecond?: number;
  /**
   * Open connections per user on this node (a UserSig is given to every viewer: without a bound,
   * one could hold any number of sockets). Default 32; 0 = unlimited.
   */
  maxConnectionsPerUser?: number;
  /**
   * Several nodes behind a load balancer: at shutdown, clients are told to reconnect (1012) and
   * their members keep their places for the seat grace, so a client that reconnects to another
   * node resumes there (seat included); the rest leave when the grace ends. Alone (false), a
   * shutdown makes every member leave at once.
   */
  handoverOnClose?: boolean;
  /** Where the chat rate is counted: this process's memory, or shared by the nodes (Redis). */
  limits?: Limits;
  log?: FastifyBaseLogger;
}

/** A catch-up longer than this many events is not replayed: the client takes the snapshot. */
const MAX_CATCH_UP_EVENTS = 10_000;

/** Rooms reading their missed events at once after the bus comes back. */
const RESYNC_CONCURRENCY = 8;

/** Member-count frames written per event-loop turn (about 2–3 ms), and handshakes (about 4 ms). */
const COUNT_WRITES_PER_TURN = 256;
const UPGRADES_PER_TURN = 16;
/**
 * Ops running at once over all connections (op-slots.ts): under a SQLite batch's 256 units, so
 * a group commits at the end of its turn. 32 cut `/healthz` waits a little more, and entries/s.
 */
const OPS_AT_ONCE = 128;

/** Largest frame a client may send; ws closes the socket with 1009 above it. */
const MAX_FRAME_BYTES = 64 * 1024;
const MAX_REQUEST_ID_LENGTH = 64;

const SIG_CODE: Record<UserSigError['reason'], number> = {
  malformed: TENCENT.sigMalformed,
  expired: TENCENT.sigExpired,
  wrongKey: TENCENT.sigWrongKey,
  identifierMismatch: TENCENT.sigIdentifierMismatch,
  sdkAppIdMismatch: TENCENT.sigSdkAppIdMismatch,
};

class AuthError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export interface ConnectionInfo {
  id: string;
  appId: AppId;
  userId: string;
  clientIp: string;
  rooms: string[];
}

export class RealtimeGateway {
  private readonly engine: Engine;
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    clientTracking: false,
    maxPayload: MAX_FRAME_BYTES,
  });
  /** Every open socket, authenticated or not (closed on shutdown). */
  private readonly sockets = new Set<WebSocket>();
  private readonly connections = new Map<string, Connection>();
  /** Open connections by `${appId}:${userId}`, for maxConnectionsPerUser. */
  private readonly perUser = new Map<string, number>();
  private readonly maxPerUser: number;
  /** `${appId}:${roomId}` -> the room's feed on this node (while someone is in or entering). */
  private readonly feeds = new Map<string, RoomFeed>();
  private readonly feedHooks: FeedHooks;
  /** Audience-mode rooms with a member-count update due: the count and its seq. */
  private readonly counts = new Map<RoomFeed, { memberCount: number; seq: number }>();
  private countTimer: NodeJS.Timeout | null = null;
  /** Counts go to thousands of members, and storms bring hundreds of handshakes, a slice a turn. */
  private readonly countFanout: Pacer;
  private readonly upgrades: Pacer;
  private readonly opSlots = new OpSlots(OPS_AT_ONCE);
  private readonly limits: Limits;
  private readonly chatPerSecond: number;
  private readonly chatBurst: number;
  /** Seat-grace waits of dropped connections (cut short by shutdown). */
  private readonly graceWaits = new Set<() => void>();
  /** Leaves of ended connections still running. */
  private readonly leaving = new Set<Promise<void>>();
  /** Which proxies' X-Forwarded-For to believe; null when none (the socket's address is the client's). */
  private readonly trust: ((addr: string, i: number) => boolean) | null;
  private readonly heartbeatMs: number;
  private readonly maxBufferedBytes: number;
  private readonly seatGraceMs: number;
  private readonly resumeWindowMs: number;
  private readonly memberCountIntervalMs: number;
  private readonly connPrefix: string;
  private nextConn = 0;
  private readonly unsubscribe: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  private closing = false;
  private readonly handover: boolean;
  /** Store reads made to fill holes in rooms' events (see FeedHooks.filled), for the metrics. */
  readonly fills = { gap: 0, resync: 0 };
  /** Cut off from the cluster (see fence()): no realtime connection is served meanwhile. */
  private fenced = false;
  private server?: Server;

  constructor(private readonly opts: GatewayOptions) {
    this.engine = opts.engine;
    this.trust = trustFunction(opts.trustProxy);
    this.heartbeatMs = (opts.heartbeatSeconds ?? 30) * 1000;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 1024 * 1024;
    this.seatGraceMs = (opts.seatGraceSeconds ?? 10) * 1000;
    this.handover = opts.handoverOnClose ?? false;
    this.resumeWindowMs = (opts.resumeWindowSeconds ?? DEFAULT_RESUME_WINDOW_SECONDS) * 1000;
    this.memberCountIntervalMs = opts.memberCountIntervalMs ?? 1000;
    const failed = (what: string) => (err: unknown) => this.opts.log?.error({ err }, `realtime: ${what} failed`);
    this.countFanout = new Pacer(COUNT_WRITES_PER_TURN, failed('a member-count update'));
    this.upgrades = new Pacer(UPGRADES_PER_TURN, failed('a WebSocket handshake'));
    this.limits = opts.limits ?? PROCESS_LIMITS;
    this.chatPerSecond = opts.messagesPerSecond ?? 5;
    this.maxPerUser = opts.maxConnectionsPerUser ?? 32;
    this.chatBurst = Math.max(1, this.chatPerSecond * 2);
    this.feedHooks = {
      roomEvents: (appId, roomId, afterSeq, limit) => opts.store.roomEvents(appId, roomId, afterSeq, limit),
      roomState: async (appId, roomId) => {
        const agg = await opts.store.read(appId, (r) => r.room(roomId));
        return agg && { seq: agg.seq, life: roomLife(agg.room) };
      },
      filled: (reason) => this.fills[reason]++,
      frame: (e) => textFrame(eventPayload(e)),
      send: (conn, frame) => conn.send(frame),
      error: (err, what) => this.opts.log?.error({ err, what }, 'realtime: event delivery failed'),
      audienceThreshold: opts.audienceThreshold ?? 100,
      countChanged: (feed, memberCount, seq) => this.countChanged(feed, memberCount, seq),
      countSettled: (feed) => this.counts.delete(feed),
      stale: (feed) => {
        for (const live of [...feed.members.values()]) live.conn.drop(CLOSE.resync, 'events were missed: reconnect for a fresh snapshot');
      },
    };
    // Unique across restarts of the node too, though a restart evicts the old ones first.
    this.connPrefix = `${opts.nodeId}:${randomBytes(4).toString('hex')}.`;
    const offEvents = opts.bus.subscribe((e) => this.onEvent(e));
    // Other nodes' events may have been lost (a shared bus was away): every room held here
    // catches up from the store.
    const offResync = opts.bus.onResync?.(() => this.resync());
    this.unsubscribe = () => {
      offEvents();
      offResync?.();
    };
    // A connection silent for two ticks is dead: two ticks fit in heartbeatSeconds.
    this.heartbeat = setInterval(() => this.tick(), this.heartbeatMs / 2);
    this.heartbeat.unref();
  }

  /** Takes over WebSocket upgrades of `GET /realtime` on this HTTP server. */
  attach(server: Server): void {
    this.server = server;
    server.on('upgrade', this.onUpgrade);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Every (app, room, connection) a member is in through this node, as `membershipKey`s. */
  heldMemberships(): Set<string> {
    const held = new Set<string>();
    for (const c of this.connections.values()) for (const roomId of c.rooms) held.add(membershipKey(c.appId, roomId, c.id));
    return held;
  }

  /** The open connections (for operators and tests). */
  listConnections(): ConnectionInfo[] {
    return [...this.connections.values()].map((c) => ({
      id: c.id,
      appId: c.appId,
      userId: c.userId,
      clientIp: c.clientIp,
      rooms: [...c.rooms],
    }));
  }

  /** Drops a connection abruptly, as a network failure would; its member leaves its rooms. */
  terminate(connId: string): boolean {
    const conn = this.connections.get(connId);
    if (!conn) return false;
    conn.terminate();
    return true;
  }

  /**
   * This node lost the cluster: the other nodes have removed (or are about to remove) its
   * members, so its connections' view of their rooms is no longer true. Every connection is
   * closed with 4010 (clients reconnect, to another node) and upgrades are refused with 503
   * until `unfence()`.
   */
  fence(): void {
    if (this.fenced || this.closing) return;
    this.fenced = true;
    this.opts.log?.warn({ connections: this.connections.size }, 'realtime: node fenced off the cluster; closing every connection');
    for (const conn of [...this.connections.values()]) conn.drop(CLOSE.fenced, 'this node lost the cluster: reconnect');
    for (const ws of this.sockets) closeWithGrace(ws, CLOSE.fenced, 'this node lost the cluster: reconnect');
  }

  /** The node is back in the cluster: upgrades are accepted again. */
  unfence(): void {
    this.fenced = false;
  }

  /**
   * Closes every socket and stops, once their members have left: at once (1001), or, handing
   * over to the other nodes, after the seat grace of those that did not resume elsewhere (1012).
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.heartbeat);
    this.server?.off('upgrade', this.onUpgrade);
    this.upgrades.flush();
    const [code, reason] = this.handover ? [CLOSE.serviceRestart, 'node restarting: reconnect'] : [CLOSE.goingAway, 'server shutting down'];
    const closed = [...this.sockets].map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())));
    for (const conn of [...this.connections.values()]) conn.drop(code, reason);
    for (const ws of this.sockets) closeWithGrace(ws, code, reason);
    await Promise.all(closed);
    if (!this.handover) for (const cut of [...this.graceWaits]) cut();
    while (this.leaving.size > 0) await Promise.all([...this.leaving]);
    this.unsubscribe();
    if (this.countTimer) clearTimeout(this.countTimer);
    this.countFanout.flush();
    for (const feed of this.feeds.values()) feed.close();
    this.wss.close();
  }

  // ------------------------------------------------------------------------------- connecting

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== REALTIME_PATH) {
      // Another listener may serve other paths; alone, refuse them.
      if (this.server && this.server.listenerCount('upgrade') === 1) refuseUpgrade(socket, 404, 'Not Found');
      return;
    }
    this.upgrades.run([{ req, socket, head }], this.upgrade);
  };

  private readonly upgrade = ({ req, socket, head }: { req: IncomingMessage; socket: Duplex; head: Buffer }): void => {
    if (this.closing || this.fenced) return refuseUpgrade(socket, 503, 'Service Unavailable');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws, req));
  };

  private onSocket(ws: WebSocket, req: IncomingMessage): void {
    ws.on('error', (err) => this.opts.log?.debug({ err }, 'realtime: socket error'));
    if (this.closing) return closeWithGrace(ws, CLOSE.goingAway, 'server shutting down');
    if (this.fenced) return closeWithGrace(ws, CLOSE.fenced, 'this node lost the cluster: reconnect');
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    let auth: { appId: AppId; userId: string; expiresAt: number };
    try {
      auth = this.authenticate(req);
    } catch (e) {
      if (e instanceof AuthError) return closeWithGrace(ws, CLOSE.unauthorized, `${e.code} ${e.message}`);
      this.opts.log?.error({ err: e }, 'realtime: authentication failed unexpectedly');
      return closeWithGrace(ws, CLOSE.internalError, 'internal error');
    }
    const userKey = `${auth.appId}:${auth.userId}`;
    const open = this.perUser.get(userKey) ?? 0;
    if (this.maxPerUser > 0 && open >= this.maxPerUser) {
      return closeWithGrace(ws, CLOSE.tooManyConnections, `too many connections of this user (${this.maxPerUser})`);
    }
    this.perUser.set(userKey, open + 1);
    const conn = new Connection(
      `${this.connPrefix}${++this.nextConn}`,
      ws,
      auth.appId,
      auth.userId,
      normalizeIp((this.trust ? proxyaddr(req, this.trust) : req.socket.remoteAddress) ?? ''),
      auth.expiresAt,
      this.maxBufferedBytes,
      (c) => this.onEnd(c),
    );
    this.connections.set(conn.id, conn);
    ws.on('pong', () => (conn.alive = true));
    ws.on('message', (data, isBinary) => this.onFrame(conn, data, isBinary));
  }

  private authenticate(req: IncomingMessage): { appId: AppId; userId: string; expiresAt: number } {
    // The query alone, as the WHATWG URL parser would split it (without parsing the whole URL).
    const url = (req.url ?? '').split('#')[0];
    const q = url.indexOf('?');
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const single = (name: string): string => {
      const all = query.getAll(name);
      if (all.length > 1) throw new AuthError(TENCENT.badHttpRequest, `query parameter ${name} is given more than once`);
      return all[0] ?? '';
    };
    const sdkappid = single('sdkappid');
    const userId = single('userid');
    const usersig = single('usersig');
    if (sdkappid === '') throw new AuthError(TENCENT.noSdkAppId, 'sdkappid is required in the URL');
    const app = /^\d{1,10}$/.test(sdkappid) ? this.opts.apps.get(Number(sdkappid)) : undefined;
    if (!app) throw new AuthError(TENCENT.unknownSdkAppId, `invalid sdkappid ${sdkappid}`);
    if (userId === '' || byteLength(userId) > LIMITS.userIdBytes) {
      throw new AuthError(TENCENT.badHttpRequest, `userid is required in the URL (at most ${LIMITS.userIdBytes} bytes)`);
    }
    if (usersig === '') throw new AuthError(TENCENT.badHttpRequest, 'usersig is required in the URL');
    try {
      const ok = this.opts.verifier.verify(usersig, app.sdkAppId, userId, app.secretKey);
      return { appId: app.sdkAppId, userId, expiresAt: ok.expiresAt };
    } catch (e) {
      if (e instanceof UserSigError) throw new AuthError(SIG_CODE[e.reason], e.message);
      throw e;
    }
  }

  /** Every tick: drop the silent and the expired, then ping the rest. */
  private tick(): void {
    const now = Date.now();
    for (const conn of this.connections.values()) {
      if (!conn.alive) {
        conn.drop(CLOSE.heartbeatTimeout, 'heartbeat timeout');
      } else if (now > conn.sigExpiresAt) {
        conn.drop(CLOSE.unauthorized, `${TENCENT.sigExpired} UserSig has expired`);
      } else {
        conn.alive = false;
        conn.ws.ping();
      }
    }
  }

  /** The connection is over: it stops getting events now, and its member leaves its rooms. */
  private onEnd(conn: Connection): void {
    this.connections.delete(conn.id);
    const userKey = `${conn.appId}:${conn.userId}`;
    const open = (this.perUser.get(userKey) ?? 1) - 1;
    if (open > 0) this.perUser.set(userKey, open);
    else this.perUser.delete(userKey);
    for (const roomId of conn.rooms) this.unregister(conn, roomId);
    // A drop keeps the member in for the seat grace, so a reconnect resumes; a client's close
    // frame (it meant to go) and a shutdown leave now.
    const graceMs = (this.closing && !this.handover) || conn.closedByClient ? 0 : this.seatGraceMs;
    // After its queued requests, so that a room entered by one still in flight is left too.
    const leave = conn.afterQueue(async () => {
      if (graceMs > 0 && conn.rooms.size > 0) await this.graceWait(graceMs);
      for (const roomId of conn.rooms) {
        try {
          const actor = { kind: 'user' as const, userId: conn.userId };
          await this.engine.execute(conn.appId, actor, { type: 'leaveRoom', roomId, reason: 'disconnected', connId: conn.id });
        } catch (err) {
          this.opts.log?.error({ err, roomId, userId: conn.userId }, 'realtime: leave on disconnect failed');
        }
      }
      conn.rooms.clear();
    });
    this.leaving.add(leave);
    void leave.finally(() => this.leaving.delete(leave));
  }

  private graceWait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.graceWaits.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.graceWaits.add(done);
    });
  }

  // ------------------------------------------------------------------------------- requests

  private onFrame(conn: Connection, data: RawData, isBinary: boolean): void {
    conn.alive = true;
    if (isBinary) return this.reply(conn, null, CODE.badFrame, 'frames must be JSON text');
    let frame: unknown;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      return this.reply(conn, null, CODE.badFrame, 'frame is not valid JSON');
    }
    if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) {
      return this.reply(conn, null, CODE.badFrame, 'frame must be a JSON object');
    }
    const f = frame as Record<string, unknown>;
    const id = f.id;
    const idOk =
      (typeof id === 'number' && Number.isFinite(id)) ||
      (typeof id === 'string' && id.length > 0 && id.length <= MAX_REQUEST_ID_LENGTH);
    if (!idOk) return this.reply(conn, null, CODE.badFrame, `frame needs an id: a number or a string of 1..${MAX_REQUEST_ID_LENGTH} characters`);
    const reqId = id as number | string;
    if (typeof f.op !== 'string') return this.reply(conn, reqId, CODE.badFrame, 'frame needs an op');
    const name = f.op;
    if (!Object.hasOwn(OPS, name)) return this.reply(conn, reqId, CODE.unknownOp, `unknown op ${name}`);
    const op = OPS[name as keyof typeof OPS];
    const bytes = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
    const queued = conn.enqueue(() => this.opSlots.run(() => this.runOp(conn, reqId, name, op, f)), bytes);
    if (!queued) this.reply(conn, reqId, CODE.tooManyRequests, 'too many requests waiting on this connection');
  }

  private async runOp(conn: Connection, reqId: number | string, name: string, op: Op, f: Record<string, unknown>): Promise<void> {
    // The connection ended while the op waited for a slot: its leaving, queued after it, would
    // only undo it.
    if (conn.ended) return;
    try {
      const bad = paramError(op, f);
      if (bad) return this.reply(conn, reqId, CODE.invalidParam, bad);
      const roomId = f.roomId as string;
      if (op.inRoom && !conn.rooms.has(roomId)) {
        return this.reply(conn, reqId, CODE.notMember, `you have not entered room ${roomId} on this connection`);
      }
      const ctx = this.opContext(conn);
      const result = await op.run(ctx, f as never);
      this.reply(conn, reqId, CODE.ok, '', result);
      ctx.afterReply?.();
    } catch (e) {
      if (e instanceof Refusal) return this.reply(conn, reqId, e.code, e.message);
      if (isRoomError(e)) {
        const message = e.kind === 'InvalidParam' && e.field ? `invalid parameter ${e.field}: ${e.message}` : e.message;
        return this.reply(conn, reqId, CODE_BY_KIND[e.kind], message);
      }
      this.opts.log?.error({ err: e, op: name }, 'realtime: op failed');
      this.reply(conn, reqId, CODE.internal, 'Internal server error, please retry');
    }
  }

  private opContext(conn: Connection): OpContext {
    const ctx: OpContext = {
      engine: this.engine,
      appId: conn.appId,
      actor: { kind: 'user', userId: conn.userId, surface: 'realtime', connId: conn.id },
      connId: conn.id,
      clientIp: conn.clientIp,
      entering: (roomId) => this.entering(conn, roomId, ctx),
      // Per user, shared by the user's connections (on every node when the limits are shared).
      mayChat: () => this.limits.chat(`${conn.appId}\n${conn.userId}`, this.chatPerSecond, this.chatBurst, Date.now()),
      left: (roomId) => this.unregister(conn, roomId),
    };
    return ctx;
  }

  private reply(conn: Connection, id: number | string | null, code: number, message: string, data?: object): void {
    const frame: ReplyFrame = data === undefined ? { id, code, message } : { id, code, message, data };
    conn.send(textFrame(JSON.stringify(frame)));
  }

  // ------------------------------------------------------------------------------- local rooms

  /**
   * Registers the connection for the room's events before its entry runs (see room-feed.ts):
   * what commits meanwhile, in the entry's batch or after, reaches it once its reply is out.
   */
  private entering(conn: Connection, roomId: string, ctx: OpContext): EntryTicket {
    const key = roomKey(conn.appId, roomId);
    let feed = this.feeds.get(key);
    if (!feed) this.feeds.set(key, (feed = new RoomFeed(conn.appId, roomId, this.feedHooks)));
    const f = feed;
    // Entering again on the same connection: it is live already and stays so.
    const already = conn.rooms.has(roomId) && f.members.get(conn.userId)?.conn === conn;
    const en = already ? null : f.enter(conn);
    return {
      missedSince: (lastSeq, seq) => this.missedSince(conn, roomId, lastSeq, seq),
      admit: (seq, missed, life) => {
        conn.rooms.add(roomId);
        ctx.afterReply = () => {
          if (en) f.admit(en, seq, missed, life);
          this.release(key, f);
        };
      },
      cancel: () => {
        if (en) f.cancel(en);
        this.release(key, f);
      },
    };
  }

  /** The events a reconnecting client missed in (lastSeq, seq], or null when they are not all kept. */
  private async missedSince(conn: Connection, roomId: string, lastSeq: number, seq: number): Promise<RoomEvent[] | null> {
    if (lastSeq === seq) return [];
    if (lastSeq > seq || seq - lastSeq > MAX_CATCH_UP_EVENTS) return null;
    try {
      const events = await this.opts.store.roomEvents(conn.appId, roomId, lastSeq, seq - lastSeq);
      if (events.length !== seq - lastSeq || events[0].seq !== lastSeq + 1) return null;
      if (events[0].at < Date.now() - this.resumeWindowMs) return null;
      return events;
    } catch (err) {
      this.opts.log?.error({ err, roomId }, 'realtime: catch-up read failed');
      return null;
    }
  }

  /** The connection is no longer in the room here (the member may still be, elsewhere). */
  private unregister(conn: Connection, roomId: string): void {
    if (!conn.ended) conn.rooms.delete(roomId);
    const key = roomKey(conn.appId, roomId);
    const feed = this.feeds.get(key);
    if (!feed) return;
    feed.remove(conn);
    this.release(key, feed);
  }

  /** Drops the room's feed once nobody here is in it or entering it. */
  private release(key: string, feed: RoomFeed): void {
    if (feed.empty && this.feeds.get(key) === feed) {
      this.feeds.delete(key);
      feed.close();
      this.counts.delete(feed);
    }
  }

  // ------------------------------------------------------------------------------- events

  private onEvent(e: RoomEvent): void {
    try {
      const key = roomKey(e.appId, e.roomId);
      const feed = this.feeds.get(key);
      if (!feed) return;
      feed.receive(e);
      this.release(key, feed);
    } catch (err) {
      // The bus calls this inside the command that published: never fail that command.
      this.opts.log?.error({ err, event: e.type }, 'realtime: event delivery failed');
    }
  }

  /** Every room held here reads what it missed, a few at a time (a node may hold thousands). */
  private resync(): void {
    this.opts.log?.info({ rooms: this.feeds.size }, 'realtime: the bus is back; rooms catch up from the store');
    const feeds = [...this.feeds.values()];
    const worker = async () => {
      for (let feed = feeds.pop(); feed; feed = feeds.pop()) await feed.resync();
    };
    for (let i = 0; i < RESYNC_CONCURRENCY; i++) void worker();
  }

  /** Audience mode: the room's count goes out at most once per interval, the latest one. */
  private countChanged(feed: RoomFeed, memberCount: number, seq: number): void {
    this.counts.set(feed, { memberCount, seq });
    if (this.countTimer) return;
    this.countTimer = setTimeout(() => this.sendCounts(), this.memberCountIntervalMs);
    this.countTimer.unref();
  }

  private sendCounts(): void {
    this.countTimer = null;
    const due = [...this.counts];
    this.counts.clear();
    for (const [feed, { memberCount, seq }] of due) {
      const frame = textFrame(JSON.stringify({ event: 'memberCountChanged', roomId: feed.roomId, seq, memberCount }));
      this.countFanout.run(Array.from(feed.members.values(), (live) => live.conn), (conn) => conn.send(frame));
    }
  }
}

export function membershipKey(appId: AppId, roomId: string, connId: string): string {
  return `${appId}\n${roomId}\n${connId}`;
}

function roomKey(appId: AppId, roomId: string): string {
  return `${appId}:${roomId}`;
}

function trustFunction(trustProxy: boolean | string[] | undefined): ((addr: string, i: number) => boolean) | null {
  if (trustProxy === true) return () => true;
  if (!trustProxy || trustProxy.length === 0) return null;
  return proxyaddr.compile(trustProxy);
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.on('error', () => undefined);
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
