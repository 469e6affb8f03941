// Every realtime op and the one core command it runs through `execute` as the connected user,
// and the table from the core's error kinds to reply codes. The gateway only parses frames and
// runs these; the rules (roles, admission, seats) are the core's.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { Command, ResultOf } from '../core/commands.js';
import type { Engine } from '../core/engine.js';
import type { ErrorKind } from '../core/errors.js';
import type { RoomEvent } from '../core/events.js';
import { LIMITS } from '../core/limits.js';
import type { Actor, AppId } from '../core/model.js';
import { memberView } from '../core/views.js';
import { CODE, type OpMap, type OpName } from './protocol.js';

export const CODE_BY_KIND: Record<ErrorKind, number> = {
  InvalidParam: CODE.invalidParam,
  RoomNotFound: CODE.roomNotFound,
  RoomExists: CODE.roomExists,
  NotMember: CODE.notMember,
  PermissionDenied: CODE.permissionDenied,
  SeatsDisabled: CODE.seatsDisabled,
  SeatLocked: CODE.seatLocked,
  SeatOccupied: CODE.seatOccupied,
  SeatsFull: CODE.seatsFull,
  AlreadyOnSeat: CODE.alreadyOnSeat,
  NotOnSeat: CODE.notOnSeat,
  AlreadyRequested: CODE.alreadyRequested,
  RequestNotFound: CODE.requestNotFound,
  RoomFull: CODE.roomFull,
  WrongPassword: CODE.wrongPassword,
  DeniedUser: CODE.deniedUser,
  DeniedIp: CODE.deniedIp,
  Muted: CODE.muted,
  MessagesDisabled: CODE.messagesDisabled,
  BadWord: CODE.badWord,
  PasswordAttemptsExceeded: CODE.passwordAttemptsExceeded,
};

/** A refusal of the realtime surface's own, with no core error kind: answered with its code. */
export class Refusal extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A chat message over the user's rate limit. */
const rateLimited = () => new Refusal(CODE.rateLimited, 'too many messages: slow down');

/**
 * A resume refused: the member was kicked out of the room while its connection was away.
 * Entering without `lastSeq` comes back, as after any kick that did not ban.
 */
const kickedWhileAway = (reason: string) => new Refusal(CODE.kickedWhileAway, `you were kicked out of the room while away${reason ? `: ${reason}` : ''}`);

/**
 * The kick that ended the membership a resume comes back to, if any: the user's last
 * `kickedOutOfRoom` among the missed events, unless the user entered again after it (on another
 * connection) before this entry, whose own `memberEntered` is the last of them. The resume's
 * entry was then a new one: it is taken back, so the kick holds as if the client had been there.
 */
function kickWhileAway(missed: RoomEvent[], userId: string): { reason: string } | null {
  let kick: { reason: string } | null = null;
  let entries = 0;
  for (const e of missed) {
    if (e.type === 'kickedOutOfRoom' && e.data.userId === userId) {
      kick = { reason: e.data.reason };
      entries = 0;
    } else if (e.type === 'memberEntered' && e.data.member.userId === userId) entries++;
  }
  return kick && entries <= 1 ? kick : null;
}

/** What an op knows about the connection calling it. */
export interface OpContext {
  engine: Engine;
  appId: AppId;
  /** The connected user: commands on the caller themselves act on `actor.userId`. */
  actor: Actor;
  connId: string;
  clientIp: string;
  /** Call before entering `roomId`: the connection gets the room's events from now on. */
  entering(roomId: string): EntryTicket;
  /** The member is out: this connection stops getting the room's events. */
  left(roomId: string): void;
  /** Set by an op: runs right after its reply is sent. */
  afterReply?: () => void;
  /** Takes one chat message from the user's rate limit; false when over it. */
  mayChat(): boolean | Promise<boolean>;
}

/** One entry of a connection into a room, from before it runs until its reply is out. */
export interface EntryTicket {
  /** A reconnect's catch-up: the room's events in (lastSeq, seq], or null when not all are kept. */
  missedSince(lastSeq: number, seq: number): Promise<RoomEvent[] | null>;
  /** The entry committed with the room at `seq`: after the reply, `missed` then what came since. */
  admit(seq: number, missed?: RoomEvent[], life?: number): void;
  /** The entry failed. */
  cancel(): void;
}

export interface Op {
  /** Params besides `id` and `op`; other fields are ignored. */
  check: TypeCheck<TSchema>;
  /** The connection must have entered `roomId` (every op but enterRoom and ping). */
  inRoom: boolean;
  run(ctx: OpContext, params: never): Promise<object>;
}

function op<S extends TSchema, N extends OpName>(
  _name: N,
  schema: S,
  inRoom: boolean,
  run: (ctx: OpContext, p: Static<S>) => Promise<OpMap[N]['data']>,
): Op {
  return { check: TypeCompiler.Compile(schema), inRoom, run: run as Op['run'] };
}

/** Runs one core command as the connected user. */
function exec<C extends Command>(c: OpContext, cmd: C): Promise<ResultOf<C>> {
  return c.engine.execute(c.appId, c.actor, cmd);
}

const Str = Type.String();
const Index = Type.Integer({ minimum: 0 });
const Opt = Type.Optional;
const RoomOnly = Type.Object({ roomId: Str });
const ByRequest = Type.Object({ roomId: Str, requestId: Str });
const none = {} as Record<string, never>;

export const OPS: Record<OpName, Op> = {
  enterRoom: op(
    'enterRoom',
    Type.Object({
      roomId: Str,
      password: Opt(Str),
      nick: Opt(Str),
      avatar: Opt(Str),
      userType: Opt(Str),
      customInfo: Opt(Str),
      lastSeq: Opt(Type.Integer({ minimum: 0 })),
      createTime: Opt(Type.Integer({ minimum: 0 })),
    }),
    false,
    async (c, p) => {
      const ticket = c.entering(p.roomId);
      try {
        const r = await exec(c, {
          type: 'enterRoom',
          roomId: p.roomId,
          password: p.password,
          nick: p.nick,
          avatar: p.avatar,
          userType: p.userType,
          customInfo: p.customInfo,
          clientIp: c.clientIp,
          connId: c.connId,
        });
        // Another life of the room (dismissed and created again): its seqs are not the ones missed.
        const sameLife = p.createTime === undefined || p.createTime === r.room.createTime;
        const missed = p.lastSeq === undefined || !sameLife ? null : await ticket.missedSince(p.lastSeq, r.seq);
        const kick = missed && !r.replaced ? kickWhileAway(missed, c.actor.userId) : null;
        if (kick) {
          await exec(c, { type: 'leaveRoom', roomId: p.roomId, reason: 'leave', connId: c.connId });
          throw kickedWhileAway(kick.reason);
        }
        ticket.admit(r.seq, missed ?? [], r.life);
        const data = { room: r.room, seats: r.seats, memberCount: r.memberCount, member: r.member, muted: r.muted, seq: r.seq };
        return p.lastSeq === undefined ? data : { ...data, recovered: missed !== null };
      } catch (e) {
        ticket.cancel();
        throw e;
      }
    },
  ),

  exitRoom: op('exitRoom', RoomOnly, true, async (c, p) => {
    await exec(c, { type: 'leaveRoom', roomId: p.roomId, reason: 'leave', connId: c.connId });
    c.left(p.roomId);
    return none;
  }),

  takeSeat: op('takeSeat', Type.Object({ roomId: Str, index: Opt(Index) }), true, async (c, p) => takeSeat(c, p.roomId, p.index)),

  leaveSeat: op('leaveSeat', RoomOnly, true, async (c, p) => {
    await exec(c, { type: 'leaveSeat', roomId: p.roomId });
    return none;
  }),

  sendMessage: op('sendMessage', Type.Object({ roomId: Str, text: Str }), true, async (c, p) => {
    if (!(await c.mayChat())) throw rateLimited();
    return exec(c, { type: 'sendMessage', roomId: p.roomId, text: p.text });
  }),

  kickOffSeat: op('kickOffSeat', Type.Object({ roomId: Str, userId: Str, data: Opt(Str) }), true, async (c, p) => {
    await exec(c, { type: 'kickOffSeat', roomId: p.roomId, userId: p.userId, data: p.data ?? '' });
    return none;
  }),

  kickOut: op('kickOut', Type.Object({ roomId: Str, userId: Str, reason: Opt(Str) }), true, async (c, p) => {
    await exec(c, { type: 'kickOut', roomId: p.roomId, userIds: [p.userId], reason: p.reason ?? '' });
    return none;
  }),

  lockSeat: op(
    'lockSeat',
    Type.Object({ roomId: Str, index: Index, locked: Opt(Type.Boolean()), videoDisabled: Opt(Type.Boolean()), audioDisabled: Opt(Type.Boolean()) }),
    true,
    async (c, p) => ({
      seat: await exec(c, {
        type: 'lockSeat',
        roomId: p.roomId,
        index: p.index,
        locked: p.locked,
        videoDisabled: p.videoDisabled,
        audioDisabled: p.audioDisabled,
      }),
    }),
  ),

  // The core decides: in ApplyToTake rooms a plain member's request waits for approval;
  // elsewhere (or for owners/admins) the seat is taken at once.
  requestSeat: op('requestSeat', Type.Object({ roomId: Str, index: Opt(Index) }), true, async (c, p) => takeSeat(c, p.roomId, p.index)),

  cancelSeatRequest: op('cancelSeatRequest', ByRequest, true, async (c, p) => {
    await exec(c, { type: 'cancelSeatRequest', roomId: p.roomId, requestId: p.requestId });
    return none;
  }),

  approveSeatRequest: op('approveSeatRequest', ByRequest, true, async (c, p) => {
    await exec(c, { type: 'answerSeatRequest', roomId: p.roomId, requestId: p.requestId, approve: true });
    return none;
  }),

  rejectSeatRequest: op('rejectSeatRequest', ByRequest, true, async (c, p) => {
    await exec(c, { type: 'answerSeatRequest', roomId: p.roomId, requestId: p.requestId, approve: false });
    return none;
  }),

  inviteToSeat: op('inviteToSeat', Type.Object({ roomId: Str, userId: Str, index: Opt(Index) }), true, async (c, p) => {
    const req = await exec(c, { type: 'inviteToSeat', roomId: p.roomId, userId: p.userId, index: p.index ?? null });
    return { requestId: req.id };
  }),

  acceptSeatInvitation: op('acceptSeatInvitation', ByRequest, true, async (c, p) => {
    await exec(c, { type: 'answerSeatInvitation', roomId: p.roomId, requestId: p.requestId, accept: true });
    return none;
  }),

  rejectSeatInvitation: op('rejectSeatInvitation', ByRequest, true, async (c, p) => {
    await exec(c, { type: 'answerSeatInvitation', roomId: p.roomId, requestId: p.requestId, accept: false });
    return none;
  }),

  listSeatRequests: op('listSeatRequests', RoomOnly, true, async (c, p) => ({
    requests: await exec(c, { type: 'listSeatRequests', roomId: p.roomId }),
  })),

  // Polyv-style kick: removed now and refused until lifted (Polyv del-kicked / unkick).
  kickUser: op(
    'kickUser',
    Type.Object({ roomId: Str, userId: Str, type: Type.Union([Type.Literal('userId'), Type.Literal('ip')]), reason: Opt(Str) }),
    true,
    async (c, p) => {
      const reason = p.reason ?? '';
      if (p.type === 'userId') {
        await exec(c, { type: 'banUsers', roomId: p.roomId, userIds: [p.userId], durationSec: null, reason, origin: 'polyv' });
      } else {
        await exec(c, { type: 'banIpOf', roomId: p.roomId, userId: p.userId, scope: 'room', reason, origin: 'polyv' });
      }
      return none;
    },
  ),

  ping: op('ping', Type.Object({}), false, async () => ({ pong: true as const, time: Date.now() })),

  history: op(
    'history',
    Type.Object({ roomId: Str, beforeSeq: Opt(Type.Integer({ minimum: 0 })), count: Opt(Type.Integer({ minimum: 1, maximum: LIMITS.historyPage })) }),
    true,
    async (c, p) => exec(c, { type: 'listMessages', roomId: p.roomId, beforeSeq: p.beforeSeq, count: p.count ?? LIMITS.historyPageDefault }),
  ),

  listMembers: op(
    'listMembers',
    Type.Object({ roomId: Str, after: Opt(Str), count: Opt(Type.Integer({ minimum: 1, maximum: LIMITS.memberListPage })) }),
    true,
    async (c, p) => {
      const page = await exec(c, { type: 'listMembers', roomId: p.roomId, after: p.after ?? '', count: p.count ?? LIMITS.memberListDefault });
      return { members: page.members.map(memberView), next: page.next };
    },
  ),
};

async function takeSeat(c: OpContext, roomId: string, index: number | undefined) {
  const r = await exec(c, { type: 'takeSeat', roomId, index: index ?? null });
  return 'requested' in r ? { requestId: r.requested.id } : { seat: r.seat };
}

/** The first schema error as "invalid parameter <field>: <message>", or null. */
export function paramError(op: Op, frame: unknown): string | null {
  if (op.check.Check(frame)) return null; // the common case, without building an error list
  const first = op.check.Errors(frame).First();
  if (!first) return null;
  const field = first.path.replace(/^\//, '').replace(/\//g, '.');
  return `invalid parameter ${field || '(frame)'}: ${first.message}`;
}
