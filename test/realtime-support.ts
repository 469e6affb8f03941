// Helpers for the realtime tests: raw `ws` clients that speak the protocol frame by frame,
// RostrumClients with short timers, and rooms made through the Tencent REST dialect.
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { genUserSig } from '../src/auth/usersig.js';
import { RostrumClient, type RostrumClientOptions } from '../src/client/index.js';
import type { App } from '../src/core/model.js';
import { APP, type TestServer } from './support/harness.js';

export function sig(userId: string, app: App = APP, expireSeconds = 3600): string {
  return genUserSig(app.sdkAppId, app.secretKey, userId, expireSeconds);
}

export function wsUrl(s: TestServer, query: string): string {
  return `${s.url.replace(/^http/, 'ws')}/realtime?${query}`;
}

export function authQuery(userId: string, app: App = APP, usersig = sig(userId, app)): string {
  return `sdkappid=${app.sdkAppId}&userid=${encodeURIComponent(userId)}&usersig=${encodeURIComponent(usersig)}`;
}

export interface Reply {
  id: number | string | null;
  code: number;
  message: string;
  data?: any;
}

export type Frame = Record<string, any>;

/** A plain `ws` client: sends requests by id, keeps every event it gets until a test takes it. */
export class RawClient {
  /** Events received and not yet taken, in order. */
  readonly events: Frame[] = [];
  /** Replies with id null (answers to frames the server could not read). */
  readonly orphanReplies: Reply[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private nextId = 0;
  private readonly pending = new Map<number | string, (r: Reply) => void>();
  private readonly waiters = new Set<() => void>();

  constructor(readonly ws: WebSocket, readonly userId: string) {
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const frame = JSON.parse(data.toString());
      if (typeof frame.event === 'string') {
        this.events.push(frame);
        for (const w of [...this.waiters]) w();
      } else if (frame.id === null) {
        this.orphanReplies.push(frame);
        for (const w of [...this.waiters]) w();
      } else {
        this.pending.get(frame.id)?.(frame);
        this.pending.delete(frame.id);
      }
    });
  }

  /** Connects as `userId` (a valid sig unless `query` says otherwise) and waits for the socket to open. */
  static async open(s: TestServer, userId: string, opts: { query?: string; headers?: Record<string, string>; autoPong?: boolean } = {}): Promise<RawClient> {
    const ws = new WebSocket(wsUrl(s, opts.query ?? authQuery(userId)), {
      headers: opts.headers,
      autoPong: opts.autoPong ?? true,
      perMessageDeflate: false,
    });
    const client = new RawClient(ws, userId);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  /** Connects, checks authentication passed, and enters `roomId` if given. */
  static async connect(s: TestServer, userId: string, roomId?: string, enter: Frame = {}): Promise<RawClient> {
    const c = await RawClient.open(s, userId);
    await c.ok('ping');
    if (roomId !== undefined) await c.ok('enterRoom', { roomId, ...enter });
    return c;
  }

  req(op: string, params: Frame = {}): Promise<Reply> {
    const id = ++this.nextId;
    return this.send({ ...params, id, op });
  }

  /** Sends a frame as is; resolves with the reply to its id. */
  send(frame: Frame): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${JSON.stringify(frame).slice(0, 100)}`)), 5000);
      this.pending.set(frame.id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.ws.send(JSON.stringify(frame));
    });
  }

  /** Sends `op` and asserts success; returns the data. */
  async ok(op: string, params: Frame = {}): Promise<any> {
    const r = await this.req(op, params);
    assert.equal(r.code, 0, `${this.userId} ${op}: ${r.code} ${r.message}`);
    return r.data;
  }

  /** Sends `op` and asserts it fails with `code`; returns the message. */
  async fails(op: string, params: Frame, code: number): Promise<string> {
    const r = await this.req(op, params);
    assert.equal(r.code, code, `${this.userId} ${op}: expected ${code}, got ${r.code} ${r.message}`);
    assert.equal(r.data, undefined);
    return r.message;
  }

  /** A round trip: every frame the server sent before it has now arrived. */
  async sync(): Promise<void> {
    await this.ok('ping');
  }

  /** Takes the first held `event` matching `filter`, waiting for it if need be. */
  take(event: string, filter: (f: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const look = () => {
        const i = this.events.findIndex((f) => f.event === event && filter(f));
        if (i < 0) return false;
        const [f] = this.events.splice(i, 1);
        this.waiters.delete(look);
        clearTimeout(timer);
        resolve(f);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(look);
        reject(new Error(`${this.userId}: no ${event} event; held: ${this.events.map((e) => e.event).join(', ')}`));
      }, timeoutMs);
      if (!look()) this.waiters.add(look);
    });
  }

  /** After a round trip, the names of the events held (and forgets them). */
  async drain(): Promise<string[]> {
    await this.sync();
    return this.events.splice(0).map((e) => e.event);
  }

  close(code?: number): void {
    this.ws.close(code);
  }
}

const made = new Set<RostrumClient>();

/** A RostrumClient with timers short enough for tests (closed by closeClients). */
export function client(s: TestServer, userId: string, opts: Partial<RostrumClientOptions> = {}): RostrumClient {
  const c = new RostrumClient({
    url: s.url,
    sdkAppId: APP.sdkAppId,
    userId,
    userSig: sig(userId),
    requestTimeoutMs: 3000,
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    pingIntervalMs: 0,
    WebSocket: WebSocket as never,
    ...opts,
  });
  made.add(c);
  return c;
}

/** Closes every client `client` made, so that a failed test leaves none reconnecting. */
export async function closeClients(): Promise<void> {
  await Promise.all([...made].map((c) => c.close()));
  made.clear();
}

export interface RoomOptions {
  owner?: string;
  seats?: number;
  maxMembers?: number;
  takeSeatMode?: 'FreeToTake' | 'ApplyToTake';
  password?: string;
  messagesDisabled?: boolean;
}

/** Creates a room through the Tencent REST dialect. */
export async function createRoom(s: TestServer, roomId: string, o: RoomOptions = {}): Promise<void> {
  const r = await s.tencent('room_engine_http_srv/create_room', {
    RoomInfo: {
      RoomId: roomId,
      RoomType: 'Conference',
      Owner_Account: o.owner ?? 'owner',
      IsSeatEnabled: o.seats !== 0,
      ...(o.seats !== 0 ? { MaxSeatCount: o.seats ?? 4 } : {}),
      ...(o.maxMembers ? { MaxMemberCount: o.maxMembers } : {}),
      ...(o.takeSeatMode ? { TakeSeatMode: o.takeSeatMode } : {}),
      ...(o.password ? { IsPasswordEnabled: true, Password: o.password } : {}),
      ...(o.messagesDisabled ? { IsMessageDisabled: true } : {}),
    },
  });
  assert.equal(r.ErrorCode, 0, r.ErrorInfo);
}

/** The room's members as get_room_member_list lists them. */
export async function memberIds(s: TestServer, roomId: string): Promise<string[]> {
  const r = await s.tencent('room_engine_http_srv/get_room_member_list', { RoomId: roomId });
  assert.equal(r.ErrorCode, 0, r.ErrorInfo);
  return r.Response.MemberList.map((m: { Member_Account: string }) => m.Member_Account).sort();
}

export async function seatOf(s: TestServer, roomId: string, index: number): Promise<string | undefined> {
  const r = await s.tencent('room_engine_http_mic/get_seat_list', { RoomId: roomId });
  assert.equal(r.ErrorCode, 0, r.ErrorInfo);
  return r.Response.SeatList[index].Member_Account || undefined;
}

/** Polls `check` until it holds (for what happens without a frame to wait on). */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asserts that `events` come in rising seq order after `from`; returns their seqs. */
export function assertOrdered(who: string, events: Frame[], from: number): number[] {
  let last = from;
  for (const e of events) {
    assert.ok(e.seq > last, `${who}: ${e.event} seq ${e.seq} after ${last}`);
    last = e.seq;
  }
  return events.map((e) => e.seq);
}

/**
 * A member that resumed around the end of its seat grace, as an observer's `events` tell it:
 * either it kept its seat (its resume reply had it there; no leave, no entry announced) or it
 * lost it (its leave, reason `disconnected`, then its entry, each announced once, and the seat
 * is free). `seatNow`: who holds that seat in the store. True when it kept its seat.
 */
export function assertGraceOutcome(events: Frame[], userId: string, resumedOnSeat: boolean, seatNow: string | null): boolean {
  const left = events.filter((e) => e.event === 'memberLeft' && e.userId === userId);
  const entered = events.filter((e) => e.event === 'memberEntered' && e.member.userId === userId);
  if (resumedOnSeat) {
    assert.deepEqual([left.length, entered.length], [0, 0], `${userId} kept its seat: no leave, no entry announced`);
    assert.equal(seatNow, userId, `${userId} kept its seat`);
    return true;
  }
  assert.equal(left.length, 1, `${userId} lost its seat: its leave is announced once`);
  assert.equal(left[0].reason, 'disconnected');
  assert.equal(entered.length, 1, `${userId} came back: its entry is announced once`);
  assert.ok(left[0].seq < entered[0].seq, `${userId}: its leave before its entry`);
  assert.equal(seatNow, null, `${userId}'s seat is free`);
  return false;
}
