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
import { LIMITS, byteLength } from '../core/limits.js';
import type { AppId } from '../core/model.js';
import { normalizeIp } from '../core/ip.js';
import { UserSigError, type UserSigVerifier } from '../auth/usersig.js';
import { CODE as TENCENT } from '../dialects/tencent/codes.js';
import { Connection, closeWithGrace, textFrame } from './connection.js';
import { CODE_BY_KIND, OPS, paramError, type Op, type OpContext } from './ops.js';
import { CLOSE, CODE, REALTIME_PATH, type ReplyFrame } from './protocol.js';

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
  log?: FastifyBaseLogger;
}

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
  /** `${appId}:${roomId}` -> userId -> the connection through which that member is in. */
  private readonly rooms = new Map<string, Map<string, Connection>>();
  /** Leaves of ended connections still running. */
  private readonly leaving = new Set<Promise<void>>();
  private readonly trust: (addr: string, i: number) => boolean;
  private readonly heartbeatMs: number;
  private readonly maxBufferedBytes: number;
  private readonly connPrefix: string;
  private nextConn = 0;
  private readonly unsubscribe: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  private closing = false;
  private server?: Server;

  constructor(private readonly opts: GatewayOptions) {
    this.engine = opts.engine;
    this.trust = trustFunction(opts.trustProxy);
    this.heartbeatMs = (opts.heartbeatSeconds ?? 30) * 1000;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 1024 * 1024;
    // Unique across restarts of the node too, though a restart evicts the old ones first.
    this.connPrefix = `${opts.nodeId}:${randomBytes(4).toString('hex')}.`;
    this.unsubscribe = opts.bus.subscribe((e) => this.onEvent(e));
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

  /** Closes every socket with 1001, waits for their members to leave, and stops. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.heartbeat);
    this.server?.off('upgrade', this.onUpgrade);
    const closed = [...this.sockets].map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())));
    for (const conn of [...this.connections.values()]) conn.drop(CLOSE.goingAway, 'server shutting down');
    for (const ws of this.sockets) closeWithGrace(ws, CLOSE.goingAway, 'server shutting down');
    await Promise.all(closed);
    while (this.leaving.size > 0) await Promise.all([...this.leaving]);
    this.unsubscribe();
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
    if (this.closing) return refuseUpgrade(socket, 503, 'Service Unavailable');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws, req));
  };

  private onSocket(ws: WebSocket, req: IncomingMessage): void {
    ws.on('error', (err) => this.opts.log?.debug({ err }, 'realtime: socket error'));
    if (this.closing) return closeWithGrace(ws, CLOSE.goingAway, 'server shutting down');
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
    const conn = new Connection(
      `${this.connPrefix}${++this.nextConn}`,
      ws,
      auth.appId,
      auth.userId,
      normalizeIp(proxyaddr(req, this.trust) ?? ''),
      auth.expiresAt,
      this.maxBufferedBytes,
      (c) => this.onEnd(c),
    );
    this.connections.set(conn.id, conn);
    ws.on('pong', () => (conn.alive = true));
    ws.on('message', (data, isBinary) => this.onFrame(conn, data, isBinary));
  }

  private authenticate(req: IncomingMessage): { appId: AppId; userId: string; expiresAt: number } {
    const query = new URL(req.url ?? '', 'http://localhost').searchParams;
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
    for (const roomId of conn.rooms) this.unregister(conn, roomId);
    // After its queued requests, so that a room entered by one still in flight is left too.
    const leave = conn.afterQueue(async () => {
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
    const queued = conn.enqueue(() => this.runOp(conn, reqId, name, op, f));
    if (!queued) this.reply(conn, reqId, CODE.tooManyRequests, 'too many requests waiting on this connection');
  }

  private async runOp(conn: Connection, reqId: number | string, name: string, op: Op, f: Record<string, unknown>): Promise<void> {
    try {
      const bad = paramError(op, f);
      if (bad) return this.reply(conn, reqId, CODE.invalidParam, bad);
      const roomId = f.roomId as string;
      if (op.inRoom && !conn.rooms.has(roomId)) {
        return this.reply(conn, reqId, CODE.notMember, `you have not entered room ${roomId} on this connection`);
      }
      const result = await op.run(this.opContext(conn), f as never);
      this.reply(conn, reqId, CODE.ok, '', result);
    } catch (e) {
      if (isRoomError(e)) {
        const message = e.kind === 'InvalidParam' && e.field ? `invalid parameter ${e.field}: ${e.message}` : e.message;
        return this.reply(conn, reqId, CODE_BY_KIND[e.kind], message);
      }
      this.opts.log?.error({ err: e, op: name }, 'realtime: op failed');
      this.reply(conn, reqId, CODE.internal, 'Internal server error, please retry');
    }
  }

  private opContext(conn: Connection): OpContext {
    return {
      engine: this.engine,
      appId: conn.appId,
      actor: { kind: 'user', userId: conn.userId, surface: 'realtime' },
      connId: conn.id,
      clientIp: conn.clientIp,
      joined: (roomId) => this.register(conn, roomId),
      left: (roomId) => this.unregister(conn, roomId),
    };
  }

  private reply(conn: Connection, id: number | string | null, code: number, message: string, data?: object): void {
    const frame: ReplyFrame = data === undefined ? { id, code, message } : { id, code, message, data };
    conn.send(textFrame(Buffer.from(JSON.stringify(frame))));
  }

  // ------------------------------------------------------------------------------- local rooms

  private register(conn: Connection, roomId: string): void {
    conn.rooms.add(roomId);
    if (conn.ended) return; // its leave, queued behind this request, takes it out again
    const key = roomKey(conn.appId, roomId);
    let members = this.rooms.get(key);
    if (!members) this.rooms.set(key, (members = new Map()));
    const previous = members.get(conn.userId);
    if (previous && previous !== conn) previous.rooms.delete(roomId);
    members.set(conn.userId, conn);
  }

  /** The connection is no longer in the room here (the member may still be, elsewhere). */
  private unregister(conn: Connection, roomId: string): void {
    if (!conn.ended) conn.rooms.delete(roomId);
    const key = roomKey(conn.appId, roomId);
    const members = this.rooms.get(key);
    if (members?.get(conn.userId) !== conn) return;
    members.delete(conn.userId);
    if (members.size === 0) this.rooms.delete(key);
  }

  // ------------------------------------------------------------------------------- events

  private onEvent(e: RoomEvent): void {
    try {
      this.deliver(e);
    } catch (err) {
      // The bus calls this inside the command that published: never fail that command.
      this.opts.log?.error({ err, event: e.type }, 'realtime: event delivery failed');
    }
  }

  private deliver(e: RoomEvent): void {
    if (e.type === 'denyChanged' || (e.to && e.to.length === 0)) return;
    const members = this.rooms.get(roomKey(e.appId, e.roomId));
    if (!members) return;
    let frame: Buffer | undefined;
    const send = (conn: Connection | undefined) => {
      if (!conn) return;
      frame ??= textFrame(Buffer.from(JSON.stringify({ event: e.type, roomId: e.roomId, seq: e.seq, ...e.data })));
      conn.send(frame);
    };
    switch (e.type) {
      case 'memberReplaced': {
        // Only the connection that was replaced; the new one is told by its enterRoom reply.
        const old = members.get(e.data.userId);
        if (old && old.id === e.data.connId) {
          send(old);
          this.unregister(old, e.roomId);
        }
        return;
      }
      case 'roomDismissed':
        for (const conn of [...members.values()]) {
          send(conn);
          this.unregister(conn, e.roomId);
        }
        return;
      case 'kickedOutOfRoom':
        for (const userId of e.to ?? []) {
          const conn = members.get(userId);
          send(conn);
          if (conn) this.unregister(conn, e.roomId);
        }
        return;
    }
    if (e.to) {
      for (const userId of e.to.length > 1 ? new Set(e.to) : e.to) send(members.get(userId));
    } else {
      for (const conn of members.values()) send(conn);
    }
    if (e.type === 'memberLeft') {
      const conn = members.get(e.data.userId);
      if (conn && conn.id === e.data.connId) this.unregister(conn, e.roomId);
    }
  }
}

function roomKey(appId: AppId, roomId: string): string {
  return `${appId}:${roomId}`;
}

function trustFunction(trustProxy: boolean | string[] | undefined): (addr: string, i: number) => boolean {
  if (trustProxy === true) return () => true;
  if (!trustProxy || trustProxy.length === 0) return () => false;
  return proxyaddr.compile(trustProxy);
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.on('error', () => undefined);
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
