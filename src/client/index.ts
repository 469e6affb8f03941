// RostrumClient: the realtime protocol for browsers and Node. Uses the global WebSocket when
// there is one, else the `ws` package. Requests are answered by id; the server's events are
// re-emitted typed. After a network drop it reconnects with exponential backoff and enters its
// rooms again — but never a room it was kicked or banned from, replaced in, or that was
// dismissed: those end with a `roomLost` event instead.
import {
  CLOSE,
  CODE,
  REALTIME_PATH,
  type EnterRoomData,
  type EnterRoomParams,
  type EventFrame,
  type EventName,
  type OpMap,
  type OpName,
  type ReplyFrame,
} from '../realtime/protocol.js';

export { CLOSE, CODE, REALTIME_PATH };
export type * from '../realtime/protocol.js';

/** Codes of failures the client detects itself (the server's codes are all positive). */
export const CLIENT_CODE = {
  /** No reply within `requestTimeoutMs`. */
  timeout: -1,
  /** Not connected, or the connection was lost before the reply. */
  notConnected: -2,
} as const;

export class RostrumError extends Error {
  constructor(
    /** A server reply code (protocol CODE), a Tencent auth code from a 4401 close, or a CLIENT_CODE. */
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'RostrumError';
  }
}

/** The part of the WebSocket API the client needs: browsers' WebSocket and `ws` both have it. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface RostrumClientOptions {
  /** The server: http(s):// or ws(s)://, optionally with a path prefix; `/realtime` is added. */
  url: string;
  sdkAppId: number;
  userId: string;
  /** The user's UserSig, or a function giving a fresh one (called on every (re)connect). */
  userSig: string | (() => string | Promise<string>);
  /** Default 10 000. */
  requestTimeoutMs?: number;
  /** Reconnect after a drop (default on); false to never. */
  reconnect?: false | { initialDelayMs?: number; maxDelayMs?: number; maxAttempts?: number };
  /** Sends a `ping` op this often (default 25 000; 0 = never): no reply in time counts as a drop. */
  pingIntervalMs?: number;
  /** A WebSocket implementation to use instead of the global one / `ws`. */
  WebSocket?: WebSocketConstructor;
}

export type RoomLostReason =
  | 'kicked' // kickedOutOfRoom, kind kicked; or, with `code` 110015, kicked while the client was away
  | 'banned' // kickedOutOfRoom, kind banned
  | 'replaced' // the same user entered the room from another connection
  | 'dismissed' // the room was destroyed
  | 'removed' // the server removed the member otherwise (memberLeft for this user)
  | 'refused'; // entering again after a reconnect was refused (`code` says why)

export interface RoomLost {
  roomId: string;
  reason: RoomLostReason;
  /** The server's text: the kick reason, or the refusal's message. */
  message: string;
  /** For 'refused', and a kick while away: the reply code. */
  code?: number;
}

export type ClientEvents = { [E in EventName]: EventFrame<E> } & {
  /** Open and authenticated; `reconnected` after a drop (rooms are entered again next). */
  connected: { reconnected: boolean };
  disconnected: { code: number; reason: string; willReconnect: boolean };
  /** The client is out of a room and will not enter it again by itself. */
  roomLost: RoomLost;
  /** A room entered again after a reconnect, with a fresh snapshot. */
  roomRestored: { roomId: string; data: EnterRoomData };
};

export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

interface Pending {
  /** Runs as the reply is read, before any frame after it (resolve's callers run later). */
  onData?: (data: unknown) => void;
  resolve(data: unknown): void;
  reject(err: RostrumError): void;
  timer: ReturnType<typeof setTimeout>;
}

type Listener = (event: never) => void;

export class RostrumClient {
  private socket: WebSocketLike | null = null;
  private currentState: ClientState = 'idle';
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  /** Rooms entered and not left, with what they were entered with (to enter again). */
  private readonly rooms = new Map<string, EnterRoomParams>();
  /** The seq of the last event (or snapshot) of each room: a reconnect resumes from it. */
  private readonly lastSeq = new Map<string, number>();
  /** Each room's createTime as last entered: a resume into another life of it is refused. */
  private readonly createTime = new Map<string, number>();
  /** Rooms entered on the current socket: entering one again (a profile change) keeps its events coming. */
  private socketRooms = new Set<string>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  /** Reconnect attempts since the last connection that lasted (the backoff's exponent). */
  private attempts = 0;
  /** When the current connection was made (a drop soon after it does not reset the backoff). */
  private openedAt = 0;
  private closedByUser = false;
  private connecting: Promise<void> | undefined;
  /** The reconnect attempt in flight: resolves once connected, rejects if it failed. */
  private reconnecting: Promise<void> | undefined;
  /** Ends the socket being opened, if any, with this error (close() during a connect). */
  private abortOpen: ((err: RostrumError) => void) | undefined;

  private userSig: RostrumClientOptions['userSig'];

  constructor(private readonly opts: RostrumClientOptions) {
    this.userSig = opts.userSig;
  }

  /**
   * Replaces the UserSig (or the function giving one) for the next connects: after a 4401 stopped
   * the client, set a fresh one and call connect() again.
   */
  setUserSig(userSig: RostrumClientOptions['userSig']): void {
    this.userSig = userSig;
  }

  get state(): ClientState {
    return this.currentState;
  }

  get userId(): string {
    return this.opts.userId;
  }

  /** The rooms this client is in (and would enter again after a reconnect). */
  get roomIds(): string[] {
    return [...this.rooms.keys()];
  }

  /** Subscribes to a server event or a client event; returns the unsubscribe function. */
  on<K extends keyof ClientEvents>(name: K, fn: (event: ClientEvents[K]) => void): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(fn as Listener);
    return () => this.off(name, fn);
  }

  off<K extends keyof ClientEvents>(name: K, fn: (event: ClientEvents[K]) => void): void {
    this.listeners.get(name)?.delete(fn as Listener);
  }

  /** Resolves with the next `name` event that passes `filter` (or rejects after `timeoutMs`). */
  once<K extends keyof ClientEvents>(name: K, filter: (e: ClientEvents[K]) => boolean = () => true, timeoutMs = 10_000): Promise<ClientEvents[K]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new RostrumError(CLIENT_CODE.timeout, `no ${name} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on(name, (e) => {
        if (!filter(e)) return;
        clearTimeout(timer);
        off();
        resolve(e);
      });
    });
  }

  /**
   * Connects and authenticates. Rejects (without retrying) if the first connection fails; a
   * 4401 refusal rejects with the Tencent code of the reason (e.g. 70001 expired UserSig).
   */
  connect(): Promise<void> {
    if (this.currentState === 'open') return Promise.resolve();
    if (this.connecting) return this.connecting;
    if (this.currentState === 'reconnecting') {
      // No second socket: the reconnect is tried now (or the one in flight awaited).
      if (!this.reconnecting) {
        clearTimeout(this.reconnectTimer);
        void this.reconnect();
      }
      return this.reconnecting!;
    }
    this.closedByUser = false;
    this.currentState = 'connecting';
    this.connecting = this.open()
      .then(
        () => {
          this.currentState = 'open';
          this.openedAt = Date.now();
          this.startPinging();
          // Rooms are still held only when the client stopped by itself (4401, or it gave up
          // reconnecting): they are entered again, as after a drop.
          const resume = this.rooms.size > 0;
          this.emit('connected', { reconnected: resume });
          if (resume) void this.enterRoomsAgain();
        },
        (err) => {
          this.currentState = 'closed';
          throw err;
        },
      )
      .finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** Closes for good: no reconnect. The server removes the member from its rooms. */
  async close(): Promise<void> {
    this.closedByUser = true;
    clearTimeout(this.reconnectTimer);
    this.stopPinging();
    const socket = this.socket;
    this.socket = null;
    const wasConnected = this.currentState === 'open' || this.currentState === 'reconnecting';
    this.currentState = 'closed';
    // The server removes the member from its rooms: a later connect() starts without them.
    this.rooms.clear();
    this.lastSeq.clear();
    this.createTime.clear();
    this.failPending('client closed');
    this.abortOpen?.(new RostrumError(CLIENT_CODE.notConnected, 'client closed'));
    if (socket) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        socket.onopen = null;
        socket.onmessage = null;
        socket.onclose = () => {
          clearTimeout(timer);
          resolve();
        };
        socket.onerror = () => undefined;
        socket.close(CLOSE.normal, 'client closed');
      });
    }
    if (wasConnected) this.emit('disconnected', { code: CLOSE.normal, reason: 'client closed', willReconnect: false });
  }

  // ------------------------------------------------------------------------------- ops

  /** Sends any op and resolves with its `data`, or rejects with a RostrumError. */
  request<N extends OpName>(op: N, params: OpMap[N]['params']): Promise<OpMap[N]['data']> {
    return this.send(op, params);
  }

  private send<N extends OpName>(op: N, params: OpMap[N]['params'], onData?: (data: OpMap[N]['data']) => void): Promise<OpMap[N]['data']> {
    const socket = this.socket;
    if (!socket || socket.readyState !== 1) {
      return Promise.reject(new RostrumError(CLIENT_CODE.notConnected, 'not connected'));
    }
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      const timeoutMs = this.opts.requestTimeoutMs ?? 10_000;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RostrumError(CLIENT_CODE.timeout, `${op}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { onData: onData as ((d: unknown) => void) | undefined, resolve: resolve as (d: unknown) => void, reject, timer });
      socket.send(JSON.stringify({ ...params, id, op }));
    });
  }

  enterRoom(params: EnterRoomParams): Promise<EnterRoomData> {
    const { lastSeq: _resume, createTime: _life, ...rest } = params;
    // Kept as the reply is read: an event right behind it in the same chunk (a kick, a
    // replacement, a dismissal) takes the room out again, and a reconnect must not enter it.
    return this.enter(rest, () => this.rooms.set(params.roomId, rest));
  }

  /** Enters; the events after the snapshot (or, recovered, after `lastSeq`) are the ones to take. */
  private enter(params: EnterRoomParams, then?: (data: EnterRoomData) => void): Promise<EnterRoomData> {
    return this.send('enterRoom', params, (data) => {
      // Entered again on the same socket: the connection stayed in the room, and events older
      // than this reply's seq may still follow it (held for a gap); the last one seen stands.
      const again = this.socketRooms.has(params.roomId) && this.lastSeq.has(params.roomId);
      this.socketRooms.add(params.roomId);
      if (!data.recovered && !again) this.lastSeq.set(params.roomId, data.seq);
      this.createTime.set(params.roomId, data.room.createTime);
      then?.(data);
    });
  }

  async exitRoom(params: OpMap['exitRoom']['params']) {
    // Forgotten first: even if the reply is lost, a reconnect must not enter it again.
    this.rooms.delete(params.roomId);
    this.lastSeq.delete(params.roomId);
    return this.request('exitRoom', params);
  }

  takeSeat(params: OpMap['takeSeat']['params']) {
    return this.request('takeSeat', params);
  }

  leaveSeat(params: OpMap['leaveSeat']['params']) {
    return this.request('leaveSeat', params);
  }

  sendMessage(params: OpMap['sendMessage']['params']) {
    return this.request('sendMessage', params);
  }

  kickOffSeat(params: OpMap['kickOffSeat']['params']) {
    return this.request('kickOffSeat', params);
  }

  kickOut(params: OpMap['kickOut']['params']) {
    return this.request('kickOut', params);
  }

  lockSeat(params: OpMap['lockSeat']['params']) {
    return this.request('lockSeat', params);
  }

  requestSeat(params: OpMap['requestSeat']['params']) {
    return this.request('requestSeat', params);
  }

  cancelSeatRequest(params: OpMap['cancelSeatRequest']['params']) {
    return this.request('cancelSeatRequest', params);
  }

  approveSeatRequest(params: OpMap['approveSeatRequest']['params']) {
    return this.request('approveSeatRequest', params);
  }

  rejectSeatRequest(params: OpMap['rejectSeatRequest']['params']) {
    return this.request('rejectSeatRequest', params);
  }

  inviteToSeat(params: OpMap['inviteToSeat']['params']) {
    return this.request('inviteToSeat', params);
  }

  acceptSeatInvitation(params: OpMap['acceptSeatInvitation']['params']) {
    return this.request('acceptSeatInvitation', params);
  }

  rejectSeatInvitation(params: OpMap['rejectSeatInvitation']['params']) {
    return this.request('rejectSeatInvitation', params);
  }

  listSeatRequests(params: OpMap['listSeatRequests']['params']) {
    return this.request('listSeatRequests', params);
  }

  history(params: OpMap['history']['params']) {
    return this.request('history', params);
  }

  listMembers(params: OpMap['listMembers']['params']) {
    return this.request('listMembers', params);
  }

  kickUser(params: OpMap['kickUser']['params']) {
    return this.request('kickUser', params);
  }

  ping() {
    return this.request('ping', {});
  }

  // ------------------------------------------------------------------------------- the socket

  /** Opens a socket and waits until the server has answered a ping (so auth passed). */
  private async open(): Promise<void> {
    // close() while the UserSig is still being fetched rejects at once too, not when it comes.
    let abortEarly!: (err: Error) => void;
    const aborted = new Promise<never>((_, reject) => (abortEarly = reject));
    aborted.catch(() => undefined);
    this.abortOpen = abortEarly;
    let Ctor: WebSocketConstructor;
    let sig: string;
    try {
      Ctor = await Promise.race([resolveWebSocket(this.opts.WebSocket), aborted]);
      sig = typeof this.userSig === 'function' ? await Promise.race([this.userSig(), aborted]) : this.userSig;
    } finally {
      this.abortOpen = undefined;
    }
    if (this.closedByUser) throw new RostrumError(CLIENT_CODE.notConnected, 'client closed');
    const socket = new Ctor(this.socketUrl(sig));
    this.socket = socket;
    this.socketRooms = new Set();
    await new Promise<void>((resolve, reject) => {
      const timeoutMs = this.opts.requestTimeoutMs ?? 10_000;
      this.abortOpen = (err) => {
        clearTimeout(timer);
        reject(err);
      };
      const timer = setTimeout(() => {
        this.abandon(socket, CLOSE.heartbeatTimeout, 'connect timeout');
        reject(new RostrumError(CLIENT_CODE.timeout, `not connected within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.onerror = () => undefined; // a close event follows
      socket.onmessage = (ev) => this.onMessage(socket, ev.data);
      socket.onclose = (ev) => {
        clearTimeout(timer);
        this.onClose(socket, ev);
        reject(closeError(ev));
      };
      socket.onopen = () => {
        this.request('ping', {}).then(
          () => {
            clearTimeout(timer);
            resolve();
          },
          (err) => {
            clearTimeout(timer);
            reject(err);
          },
        );
      };
    }).finally(() => (this.abortOpen = undefined));
  }

  private socketUrl(sig: string): string {
    const url = new URL(this.opts.url);
    if (url.protocol === 'http:') url.protocol = 'ws:';
    if (url.protocol === 'https:') url.protocol = 'wss:';
    if (!url.pathname.endsWith(REALTIME_PATH)) url.pathname = url.pathname.replace(/\/$/, '') + REALTIME_PATH;
    url.search = '';
    url.searchParams.set('sdkappid', String(this.opts.sdkAppId));
    url.searchParams.set('userid', this.opts.userId);
    url.searchParams.set('usersig', sig);
    return url.toString();
  }

  /** Stops listening to a socket we no longer trust and handles it as closed. */
  private abandon(socket: WebSocketLike, code: number, reason: string): void {
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = () => undefined;
    try {
      socket.close(code, reason);
    } catch {
      // closing a socket still connecting may throw in some implementations
    }
    this.onClose(socket, { code, reason });
  }

  private onClose(socket: WebSocketLike, ev: { code: number; reason: string }): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.stopPinging();
    this.failPending('connection lost');
    if (this.currentState !== 'open') return; // connect() / the reconnect loop handles it
    const willReconnect = this.mayReconnect(ev);
    this.currentState = willReconnect ? 'reconnecting' : 'closed';
    this.emit('disconnected', { code: ev.code, reason: ev.reason, willReconnect });
    if (!willReconnect) return;
    // A server that takes connections and drops them at once must not be hit at the first delay
    // in a loop: the backoff starts over only after a connection that lasted its cap.
    const stableMs = (this.opts.reconnect || {}).maxDelayMs ?? 30_000;
    // A node restarting (1012) hands its clients to the others: the first delay, whatever came before.
    if (Date.now() - this.openedAt >= stableMs || ev.code === CLOSE.serviceRestart) this.attempts = 0;
    this.scheduleReconnect();
  }

  private mayReconnect(ev: { code: number; reason: string }): boolean {
    if (this.closedByUser || this.opts.reconnect === false) return false;
    if (ev.code === CLOSE.unauthorized) {
      // Only an expired UserSig can be cured, and only with a function giving a fresh one.
      return typeof this.userSig === 'function' && ev.reason.startsWith('70001');
    }
    // Everything else reconnects: drops, shutdowns (1001), 4009 (a fresh snapshot is due), 4010
    // (the node fenced itself off the cluster: the balancer sends the reconnect elsewhere).
    return true;
  }

  private scheduleReconnect(): void {
    const r = this.opts.reconnect || {};
    if (this.attempts >= (r.maxAttempts ?? Infinity)) {
      this.currentState = 'closed';
      this.emit('disconnected', { code: CLOSE.goingAway, reason: 'gave up reconnecting', willReconnect: false });
      return;
    }
    const base = Math.min(r.maxDelayMs ?? 30_000, (r.initialDelayMs ?? 500) * 2 ** this.attempts);
    const delay = base / 2 + (Math.random() * base) / 2; // jitter: clients dropped together spread out
    this.attempts++;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      // connect() may have started an attempt meanwhile (even from a disconnected listener).
      if (!this.reconnecting && this.currentState === 'reconnecting') void this.reconnect();
    }, delay);
  }

  /** One reconnect attempt; the next is scheduled if it fails. Kept in `reconnecting`. */
  private reconnect(): Promise<void> {
    const attempt = this.open().then(
      () => {
        if (this.closedByUser) throw new RostrumError(CLIENT_CODE.notConnected, 'client closed');
        this.currentState = 'open';
        this.openedAt = Date.now();
        this.startPinging();
        this.emit('connected', { reconnected: true });
        void this.enterRoomsAgain();
      },
      (err) => {
        if (this.closedByUser) throw err;
        const code = err instanceof RostrumError ? err.code : 0;
        const curable = code === 70001 && typeof this.userSig === 'function';
        if (code > 0 && !curable) {
          // Authentication is refused: retrying will not help.
          this.currentState = 'closed';
          this.emit('disconnected', { code: CLOSE.unauthorized, reason: (err as Error).message, willReconnect: false });
        } else {
          this.scheduleReconnect();
        }
        throw err;
      },
    );
    this.reconnecting = attempt.finally(() => (this.reconnecting = undefined));
    this.reconnecting.catch(() => undefined); // settled by whoever awaits it, if anyone does
    return this.reconnecting;
  }

  private async enterRoomsAgain(): Promise<void> {
    const socket = this.socket;
    for (const [roomId, params] of [...this.rooms]) {
      if (!this.rooms.has(roomId)) continue; // exited meanwhile
      try {
        // Resumes from the last event seen: the reply says whether the missed ones follow.
        const lastSeq = this.lastSeq.get(roomId);
        const createTime = this.createTime.get(roomId);
        // roomRestored is emitted as the reply is read: before the events that follow it.
        await this.enter(lastSeq === undefined ? params : { ...params, lastSeq, createTime }, (data) =>
          this.emit('roomRestored', { roomId, data }),
        );
      } catch (err) {
        const e = err as RostrumError;
        if (e.code === CLIENT_CODE.notConnected) return; // dropped again: the next reconnect retries
        if (e.code === CLIENT_CODE.timeout) {
          // The room is kept, and must not stay un-entered on a connection that looks up: as with
          // an unanswered ping, the socket is given up and the reconnect enters it again.
          if (socket && socket === this.socket) this.abandon(socket, CLOSE.heartbeatTimeout, 'no reply to enterRoom');
          return;
        }
        this.rooms.delete(roomId);
        this.lastSeq.delete(roomId);
        // Kicked out while away: lost as a kick seen live would be.
        if (e.code === CODE.kickedWhileAway) this.emit('roomLost', { roomId, reason: 'kicked', message: e.message, code: e.code });
        else this.emit('roomLost', { roomId, reason: 'refused', message: e.message, code: e.code });
      }
    }
  }

  private startPinging(): void {
    this.stopPinging();
    const every = this.opts.pingIntervalMs ?? 25_000;
    if (every <= 0) return;
    this.pingTimer = setInterval(() => {
      const socket = this.socket;
      this.ping().catch((err: RostrumError) => {
        if (err.code === CLIENT_CODE.timeout && socket && socket === this.socket) {
          this.abandon(socket, CLOSE.heartbeatTimeout, 'no reply to ping');
        }
      });
    }, every);
  }

  private stopPinging(): void {
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  private failPending(why: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new RostrumError(CLIENT_CODE.notConnected, why));
    }
  }

  // ------------------------------------------------------------------------------- frames

  private onMessage(socket: WebSocketLike, data: unknown): void {
    if (socket !== this.socket || typeof data !== 'string') return;
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof frame.event === 'string') return this.onEvent(frame as unknown as EventFrame);
    const reply = frame as unknown as ReplyFrame;
    const p = typeof reply.id === 'number' ? this.pending.get(reply.id) : undefined;
    if (!p) return;
    this.pending.delete(reply.id as number);
    clearTimeout(p.timer);
    if (reply.code === CODE.ok) p.onData?.(reply.data);
    if (reply.code === CODE.ok) p.resolve(reply.data);
    else p.reject(new RostrumError(reply.code, reply.message));
  }

  private onEvent(e: EventFrame): void {
    if (e.event !== 'memberCountChanged') {
      // Each event once: after a resume, what the snapshot or the catch-up already had is skipped.
      const last = this.lastSeq.get(e.roomId);
      if (last !== undefined && e.seq <= last) return;
      if (this.rooms.has(e.roomId) || last !== undefined) this.lastSeq.set(e.roomId, e.seq);
    }
    this.emit(e.event, e as never);
    const lost = (reason: RoomLostReason, message = '') => {
      this.lastSeq.delete(e.roomId);
      if (!this.rooms.delete(e.roomId)) return;
      this.emit('roomLost', { roomId: e.roomId, reason, message });
    };
    switch (e.event) {
      case 'kickedOutOfRoom': {
        const k = e as EventFrame<'kickedOutOfRoom'>;
        if (k.userId === this.opts.userId) lost(k.kind, k.reason);
        break;
      }
      case 'roomDismissed':
        lost('dismissed');
        break;
      case 'memberReplaced':
        lost('replaced');
        break;
      case 'memberLeft': {
        const m = e as EventFrame<'memberLeft'>;
        if (m.userId !== this.opts.userId) break;
        if (m.reason === 'leave') this.rooms.delete(e.roomId);
        else lost('removed', m.reason);
        break;
      }
    }
  }

  private emit<K extends keyof ClientEvents>(name: K, event: ClientEvents[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as (e: ClientEvents[K]) => void)(event);
      } catch (err) {
        console.error(`RostrumClient: a ${name} listener threw`, err);
      }
    }
  }
}

/** The error a refused or dropped connect ends with: 4401 carries "<code> <message>". */
function closeError(ev: { code: number; reason: string }): RostrumError {
  if (ev.code === CLOSE.unauthorized) {
    const m = /^(\d+) (.*)$/s.exec(ev.reason);
    if (m) return new RostrumError(Number(m[1]), m[2]);
  }
  return new RostrumError(CLIENT_CODE.notConnected, `connection closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})`);
}

async function resolveWebSocket(given?: WebSocketConstructor): Promise<WebSocketConstructor> {
  if (given) return given;
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof global === 'function') return global;
  // A variable name keeps bundlers from pulling `ws` into browser builds.
  const name = 'ws';
  const mod = await import(name);
  return (mod.WebSocket ?? mod.default) as WebSocketConstructor;
}
