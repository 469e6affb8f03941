// The native API's JSON shapes as TypeBox schemas: request checks and the OpenAPI document's
// components. Field names are Rostrum's own (the core's), in camelCase.
import { Type, type TSchema } from '@sinclair/typebox';

const Str = Type.String();
const Int = Type.Integer();
const Bool = Type.Boolean();
const Opt = Type.Optional;
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const RoomId = Type.String({ minLength: 1, maxLength: 48, description: 'Room id' });
export const UserId = Type.String({ minLength: 1, maxLength: 64 });
export const Ip = Type.String({ minLength: 1, maxLength: 64, description: 'A client IP address' });
export const Reason = Type.String({ maxLength: 1000, description: 'Why (kept in the audit log); at most 1000 bytes in UTF-8' });
const Limit = (max: number, dflt: number) => Type.Integer({ minimum: 1, maximum: max, default: dflt });

export const Room = Type.Object(
  {
    roomId: Str,
    name: Str,
    type: Str,
    ownerId: Str,
    status: Type.Union([Type.Literal('NotStarted'), Type.Literal('Running')]),
    memberCount: Int,
    maxMemberCount: Int,
    maxSeatCount: Int,
    isSeatEnabled: Bool,
    takeSeatMode: Str,
    isMessageDisabled: Bool,
    createTime: Type.Integer({ description: 'unix seconds' }),
  },
  { $id: 'Room', additionalProperties: true },
);

export const RoomListItem = Type.Composite([Room, Type.Object({ seatCount: Int, seatedCount: Int })], { $id: 'RoomListItem' });

export const Seat = Type.Object({ index: Int, userId: Nullable(Str), locked: Bool, videoDisabled: Bool, audioDisabled: Bool }, { $id: 'Seat' });

export const SeatRequest = Type.Object(
  { id: Str, userId: Str, kind: Type.Union([Type.Literal('apply'), Type.Literal('invite')]), index: Nullable(Int), actor: Str, createdAt: Int },
  { $id: 'SeatRequest' },
);

export const Member = Type.Object(
  { userId: Str, role: Str, nameCard: Str, avatar: Str, userType: Str, customInfo: Str, clientIp: Str, joinedAt: Type.Integer({ description: 'ms' }) },
  { $id: 'Member' },
);

const EntryFields = {
  id: Str,
  roomId: Type.String({ description: "'' = app-wide" }),
  subjectType: Type.Union([Type.Literal('userId'), Type.Literal('ip')]),
  subject: Str,
  origin: Str,
  expiresAt: Nullable(Type.Integer({ description: 'ms; null = until lifted' })),
  reason: Str,
  actor: Str,
  createdAt: Int,
};
export const DenyEntry = Type.Object(EntryFields, { $id: 'DenyEntry', additionalProperties: true });
export const MuteEntry = Type.Object(EntryFields, { $id: 'MuteEntry' });

export const AuditEntry = Type.Object(
  {
    id: Str,
    at: Type.Integer({ description: 'ms' }),
    roomId: Type.String({ description: "'' = app-wide" }),
    actor: Str,
    actorKind: Type.Union([Type.Literal('admin'), Type.Literal('user')]),
    surface: Type.String({ description: "tencent, polyv, realtime, api, console ('' = unknown)" }),
    action: Str,
    targetType: Type.Union([Type.Literal('userId'), Type.Literal('ip'), Type.Literal('room'), Type.Literal('seat')]),
    target: Str,
    reason: Str,
    expiresAt: Nullable(Int),
  },
  { $id: 'AuditEntry' },
);

// ------------------------------------------------------------------------------- requests

export const RoomParams = Type.Object({ roomId: RoomId });
export const SeatParams = Type.Object({ roomId: RoomId, index: Type.Integer({ minimum: 0 }) });
export const RoomListQuery = Type.Object({ limit: Opt(Limit(500, 50)), after: Opt(Type.String({ maxLength: 48 })), search: Opt(Type.String({ maxLength: 100 })) });
export const MemberQuery = Type.Object({
  limit: Opt(Type.Integer({ minimum: 1, maximum: 500, default: 100, description: 'a page holds at most 100 members whatever the limit: follow next' })),
  after: Opt(Type.String({ maxLength: 64 })),
});
export const EntryListQuery = Type.Object({ limit: Opt(Limit(500, 100)), offset: Opt(Type.Integer({ minimum: 0, default: 0 })) });
export const AuditQuery = Type.Object({
  roomId: Opt(Type.String({ maxLength: 48, description: "'' for app-wide entries" })),
  actor: Opt(Type.String({ maxLength: 64 })),
  target: Opt(Type.String({ maxLength: 64 })),
  action: Opt(Str),
  from: Opt(Type.Integer({ minimum: 0, description: 'ms, inclusive' })),
  to: Opt(Type.Integer({ minimum: 0, description: 'ms, exclusive' })),
  before: Opt(Type.String({ maxLength: 64, description: 'the previous page\'s `next`' })),
  limit: Opt(Limit(500, 50)),
});

/** Exactly one subject: a user (or several) or an IP. */
export const SubjectBody = {
  userId: Opt(UserId),
  userIds: Opt(Type.Array(UserId, { minItems: 1, maxItems: 100 })),
  ip: Opt(Ip),
};
const Duration = Opt(Nullable(Type.Integer({ minimum: 1, description: 'seconds; absent or null = until lifted' })));

export const BanBody = Type.Object({ ...SubjectBody, durationSec: Duration, reason: Opt(Reason) }, { additionalProperties: false });
export const UnbanBody = Type.Object(SubjectBody, { additionalProperties: false });
export const MuteBody = BanBody;
export const KickBody = Type.Object({ userId: Opt(UserId), userIds: Opt(Type.Array(UserId, { minItems: 1, maxItems: 100 })), reason: Opt(Reason) }, { additionalProperties: false });
export const KickOffSeatBody = Type.Object({ userId: UserId, reason: Opt(Reason) }, { additionalProperties: false });
export const LockSeatBody = Type.Object({ locked: Bool, reason: Opt(Reason) }, { additionalProperties: false });
export const DismissBody = Type.Object({ reason: Opt(Reason) }, { additionalProperties: false });
export const MessageBody = Type.Object(
  { text: Type.String({ minLength: 1, maxLength: 2000, description: 'at most 2000 bytes in UTF-8' }), nick: Opt(Type.String({ maxLength: 64 })), avatar: Opt(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);

export const Ok = Type.Object({ ok: Type.Literal(true) });
