// The 18 Room Engine commands: each one's request schema (documented fields, types and
// Mandatory/Optional) and its translation onto one core command, run through `execute`.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { Command as CoreCommand, ResultOf, RoomPatch } from '../../core/commands.js';
import type { Engine } from '../../core/engine.js';
import type { Actor, AppId } from '../../core/model.js';
import { LIMITS } from '../../core/limits.js';
import type { CallbackAdmin } from '../../callbacks/service.js';
import { ROOM_CONFIG } from './room-config.js';
import { invalid } from '../../core/errors.js';
import { CODE, TencentError } from './codes.js';
import { bannedToWire, memberToWire, roomInfoToWire, seatToWire } from './wire.js';

export interface CommandContext {
  engine: Engine;
  appId: AppId;
  actor: Actor;
  callbacks?: CallbackAdmin;
}

export interface Command<S extends TSchema = TSchema> {
  schema: S;
  /** Core field -> wire name, where this command names a field differently. */
  fields?: Record<string, string>;
  /** Returns the `Response` payload, or undefined for envelope-only answers. */
  run(ctx: CommandContext, body: Static<S>): Promise<object | undefined>;
}

const Str = Type.String();
// Never empty: the core reads an empty room id as "the whole app" for deny and mute entries.
const RoomIdStr = Type.String({ minLength: 1 });
const Int = Type.Integer();
/**
 * Integers Rostrum keeps and answers back (schedule times in unix seconds, marks): within 0..2^32-1,
 * so every answer is a JSON integer a typed client reads (an int64, a Java long; 1e308 is neither).
 */
const UINT32_MAX = 0xffff_ffff;
const UnixSeconds = Type.Integer({ minimum: 0, maximum: UINT32_MAX });
const Mark = Type.Integer({ maximum: UINT32_MAX }); // the core refuses marks under 1000, with its own message
const Bool = Type.Boolean();
const Opt = Type.Optional;
const Accounts = Type.Array(Type.String());
const RoomOnly = Type.Object({ RoomId: RoomIdStr });
const TakeSeatMode = Type.Union([Type.Literal('None'), Type.Literal('FreeToTake'), Type.Literal('ApplyToTake')]);

const RoomFlags = {
  RoomName: Opt(Str),
  MaxMemberCount: Opt(Int),
  IsVideoDisabled: Opt(Bool),
  IsAudioDisabled: Opt(Bool),
  IsMessageDisabled: Opt(Bool),
  IsScreenSharingDisabled: Opt(Bool),
  IsCloudRecordingDisabled: Opt(Bool),
  CustomInfo: Opt(Str),
  TakeSeatMode: Opt(TakeSeatMode),
  IsPasswordEnabled: Opt(Bool),
  Password: Opt(Str),
};

function command<S extends TSchema>(c: Command<S>): Command {
  return c as unknown as Command;
}

/** Runs one core command as the calling admin. */
function exec<C extends CoreCommand>({ engine, appId, actor }: CommandContext, cmd: C): Promise<ResultOf<C>> {
  return engine.execute(appId, actor, cmd);
}

function roomPatch(i: Static<typeof UpdateRoom>['RoomInfo']): RoomPatch {
  return {
    name: i.RoomName,
    maxMemberCount: i.MaxMemberCount,
    isVideoDisabled: i.IsVideoDisabled,
    isAudioDisabled: i.IsAudioDisabled,
    isMessageDisabled: i.IsMessageDisabled,
    isScreenSharingDisabled: i.IsScreenSharingDisabled,
    isCloudRecordingDisabled: i.IsCloudRecordingDisabled,
    customInfo: i.CustomInfo,
    takeSeatMode: i.TakeSeatMode,
    isPasswordEnabled: i.IsPasswordEnabled,
    password: i.Password,
  };
}

const CreateRoom = Type.Object({
  RoomInfo: Type.Object({
    RoomId: RoomIdStr,
    RoomType: Str, // Conference or Live; another string is Tencent's 100015 (invalid room type)
    Owner_Account: Opt(Str),
    ScheduleStartTime: Opt(UnixSeconds),
    ScheduleEndTime: Opt(UnixSeconds),
    IsSeatEnabled: Opt(Bool),
    MaxSeatCount: Opt(Int),
    ...RoomFlags,
  }),
  ScheduleInviteeList_Account: Opt(Accounts),
});

const UpdateRoom = Type.Object({ RoomInfo: Type.Object({ RoomId: RoomIdStr, ...RoomFlags }) });

/** get_banned_member_list's `Next` (the reference's table: a String holding a NextOffset) as an offset. */
function offsetOfNext(next: string | number | undefined): number {
  if (next === undefined || next === '') return 0;
  const n = typeof next === 'number' ? next : /^\d{1,15}$/.test(next) ? Number(next) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new TencentError(CODE.invalidParam, 'invalid parameter Next: must be a NextOffset (a non-negative integer)');
  }
  return n;
}

const srv: Record<string, Command> = {
  create_room: command({
    schema: CreateRoom,
    fields: { roomId: 'RoomInfo.RoomId', name: 'RoomInfo.RoomName', roomType: 'RoomInfo.RoomType' },
    async run(ctx, { RoomInfo: i, ScheduleInviteeList_Account }) {
      if (i.RoomType !== 'Conference' && i.RoomType !== 'Live') {
        throw new TencentError(CODE.invalidRoomType, `invalid room type ${JSON.stringify(i.RoomType)}: Conference or Live`);
      }
      await exec(ctx, {
        type: 'createRoom',
        roomId: i.RoomId,
        roomType: i.RoomType,
        ownerId: i.Owner_Account,
        scheduleStartTime: i.ScheduleStartTime,
        scheduleEndTime: i.ScheduleEndTime,
        isSeatEnabled: i.IsSeatEnabled,
        maxSeatCount: i.MaxSeatCount,
        inviteeIds: ScheduleInviteeList_Account,
        ...roomPatch(i),
      });
      return undefined;
    },
  }),

  destroy_room: command({
    schema: RoomOnly,
    async run(ctx, b) {
      await exec(ctx, { type: 'destroyRoom', roomId: b.RoomId });
      return undefined;
    },
  }),

  update_room_info: command({
    schema: UpdateRoom,
    // `patch`: the core names the room's fields together (e.g. a NUL in any of them).
    fields: { roomId: 'RoomInfo.RoomId', takeSeatMode: 'RoomInfo.TakeSeatMode', patch: 'RoomInfo' },
    async run(ctx, { RoomInfo: i }) {
      await exec(ctx, { type: 'updateRoomInfo', roomId: i.RoomId, patch: roomPatch(i) });
      return undefined;
    },
  }),

  get_room_info: command({
    schema: RoomOnly,
    async run(ctx, b) {
      return { RoomInfo: roomInfoToWire(await exec(ctx, { type: 'getRoomInfo', roomId: b.RoomId })) };
    },
  }),

  get_room_member_list: command({
    schema: Type.Object({ RoomId: RoomIdStr, Count: Opt(Int), Next: Opt(Str) }),
    fields: { count: 'Count', after: 'Next' },
    async run(ctx, b) {
      const { members, next } = await exec(ctx, { type: 'listMembers', roomId: b.RoomId, after: b.Next ?? '', count: b.Count ?? LIMITS.memberListDefault });
      return { Next: next, MemberList: members.map(memberToWire) };
    },
  }),

  update_room_member_info: command({
    schema: Type.Object({
      RoomId: RoomIdStr,
      MemberInfo: Type.Object({
        Member_Account: Str,
        NameCard: Opt(Str),
        Role: Opt(Type.Union([Type.Literal('Admin'), Type.Literal('Member')])),
        CustomInfo: Opt(Str),
      }),
    }),
    fields: { userId: 'MemberInfo.Member_Account', customInfo: 'MemberInfo.CustomInfo' },
    async run(ctx, { RoomId, MemberInfo: m }) {
      await exec(ctx, {
        type: 'updateMemberInfo',
        roomId: RoomId,
        userId: m.Member_Account,
        nameCard: m.NameCard,
        customInfo: m.CustomInfo,
        role: m.Role,
      });
      return undefined;
    },
  }),

  change_room_owner: command({
    schema: Type.Object({ RoomId: RoomIdStr, From_Account: Str, NewOwner_Account: Str }),
    fields: { userId: 'NewOwner_Account', toUserId: 'NewOwner_Account' },
    async run(ctx, b) {
      await exec(ctx, { type: 'changeOwner', roomId: b.RoomId, fromUserId: b.From_Account, toUserId: b.NewOwner_Account });
      return undefined;
    },
  }),

  mark_room_member: command({
    schema: Type.Object({
      RoomId: RoomIdStr,
      CommandType: Type.Union([Type.Literal(1), Type.Literal(2), Type.Literal('1'), Type.Literal('2')]),
      MemberList: Type.Array(Type.Object({ Member_Account: Str, Marks: Type.Array(Mark) })),
    }),
    fields: { list: 'MemberList' },
    async run(ctx, b) {
      await exec(ctx, {
        type: 'markMembers',
        roomId: b.RoomId,
        op: Number(b.CommandType) === 1 ? 'set' : 'delete',
        list: b.MemberList.map((m) => ({ userId: m.Member_Account, marks: m.Marks })),
      });
      return undefined;
    },
  }),

  ban_room_member: command({
    schema: Type.Object({ RoomId: RoomIdStr, MemberList_Account: Accounts, Reason: Str, Duration: Int }),
    async run(ctx, b) {
      await exec(ctx, {
        type: 'banUsers',
        roomId: b.RoomId,
        userIds: b.MemberList_Account,
        durationSec: b.Duration,
        reason: b.Reason,
        origin: 'tencent',
      });
      return undefined;
    },
  }),

  unban_room_member: command({
    schema: Type.Object({ RoomId: RoomIdStr, MemberList_Account: Accounts }),
    async run(ctx, b) {
      await exec(ctx, { type: 'unbanUsers', roomId: b.RoomId, userIds: b.MemberList_Account });
      return undefined;
    },
  }),

  get_banned_member_list: command({
    // The reference's sample pages with integer `Offset`, its table with string `Next`: both work.
    // `IncludeAllOrigins` (Rostrum extension) also lists entries made through other dialects.
    schema: Type.Object({ RoomId: RoomIdStr, Limit: Opt(Int), Offset: Opt(Int), Next: Opt(Type.Union([Str, Int])), IncludeAllOrigins: Opt(Bool) }),
    fields: { limit: 'Limit', offset: 'Offset' },
    async run(ctx, b) {
      const limit = Math.min(Math.max(b.Limit ?? LIMITS.bannedListPage, 1), LIMITS.bannedListPage);
      const offset = b.Offset ?? offsetOfNext(b.Next); // the core checks Offset
      const { entries, total } = await exec(ctx, {
        type: 'listDeny',
        roomId: b.RoomId,
        subjectType: 'userId',
        origin: b.IncludeAllOrigins ? undefined : 'tencent',
        limit,
        offset,
      });
      const nextOffset = offset + entries.length < total ? offset + entries.length : 0;
      return { BannedAccountList: entries.map(bannedToWire), NextOffset: nextOffset };
    },
  }),

  mute_room_member: command({
    // MuteTime: seconds of chat mute from now; 0 lifts the users' mutes in the room.
    schema: Type.Object({ RoomId: RoomIdStr, MemberList_Account: Type.Array(Str, { maxItems: LIMITS.membersPerCall }), MuteTime: Int }),
    fields: { userIds: 'MemberList_Account', subjects: 'MemberList_Account', duration: 'MuteTime' },
    async run(ctx, b) {
      if (b.MuteTime < 0) throw invalid('duration', 'must be 0 (unmute) or a number of seconds');
      await exec(ctx, {
        type: 'setMuted',
        roomId: b.RoomId,
        subjectType: 'userId',
        subjects: b.MemberList_Account,
        muted: b.MuteTime > 0,
        origin: 'tencent',
        durationSec: b.MuteTime > 0 ? b.MuteTime : null,
      });
      return undefined;
    },
  }),

  kick_user_out: command({
    schema: Type.Object({ RoomId: RoomIdStr, MemberList_Account: Accounts, Reason: Str }),
    async run(ctx, b) {
      await exec(ctx, { type: 'kickOut', roomId: b.RoomId, userIds: b.MemberList_Account, reason: b.Reason });
      return undefined;
    },
  }),
};

const mic: Record<string, Command> = {
  get_seat_list: command({
    schema: RoomOnly,
    async run(ctx, b) {
      return { SeatList: (await exec(ctx, { type: 'getSeats', roomId: b.RoomId })).map(seatToWire) };
    },
  }),

  pick_user_on_seat: command({
    schema: Type.Object({ RoomId: RoomIdStr, Member_Account: Str, Index: Int }),
    async run(ctx, b) {
      await exec(ctx, { type: 'pickOnSeat', roomId: b.RoomId, userId: b.Member_Account, index: b.Index });
      return undefined;
    },
  }),

  kick_user_off_seat: command({
    // Data is Mandatory in the reference, but public server helpers omit it: absent = "".
    schema: Type.Object({ RoomId: RoomIdStr, Member_Account: Str, Data: Opt(Str) }),
    async run(ctx, b) {
      await exec(ctx, { type: 'kickOffSeat', roomId: b.RoomId, userId: b.Member_Account, data: b.Data ?? '' });
      return undefined;
    },
  }),

  lock_seat: command({
    schema: Type.Object({ RoomId: RoomIdStr, Index: Int, ForbidTaken: Opt(Bool), ForbidVideo: Opt(Bool), ForbidAudio: Opt(Bool) }),
    async run(ctx, b) {
      await exec(ctx, {
        type: 'lockSeat',
        roomId: b.RoomId,
        index: b.Index,
        locked: b.ForbidTaken,
        videoDisabled: b.ForbidVideo,
        audioDisabled: b.ForbidAudio,
      });
      return undefined;
    },
  }),

  switch_seat: command({
    schema: Type.Object({ RoomId: RoomIdStr, ToIndex: Int, Member_Account: Str }),
    fields: { index: 'ToIndex' },
    async run(ctx, b) {
      await exec(ctx, { type: 'moveToSeat', roomId: b.RoomId, userId: b.Member_Account, index: b.ToIndex, policy: 0 });
      return undefined;
    },
  }),

  move_user_to_seat: command({
    schema: Type.Object({
      RoomId: RoomIdStr,
      SeatIndex: Int,
      Member_Account: Str,
      Policy: Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)]),
    }),
    fields: { index: 'SeatIndex' },
    async run(ctx, b) {
      await exec(ctx, { type: 'moveToSeat', roomId: b.RoomId, userId: b.Member_Account, index: b.SeatIndex, policy: b.Policy });
      return undefined;
    },
  }),
};

export const COMMANDS: Record<string, Record<string, Command>> = {
  room_engine_http_srv: srv,
  room_engine_http_mic: mic,
  room_config: ROOM_CONFIG,
};
