// Every code and message the Polyv dialect answers with, and the mapping from the core's typed
// errors. Messages are Polyv's documented ones, character for character (see docs/polyv-dialect.md).
import type { ErrorKind, RoomError } from '../../core/errors.js';

export type PolyvCode = 200 | 400 | 403 | 404 | 500;

export const MESSAGE = {
  appIdRequired: 'appId is required.',
  appNotFound: 'application not found.',
  invalidTimestamp: 'invalid timestamp.',
  invalidSignature: 'invalid signature.',
  channelNotFound: 'channel not found.',
  qpsExceeded: 'qps exceeds number of calls',
  paramValidate: 'param validate error',
  jsonFormat: 'json format error',
  notBoolean: 'param is not boolean (Y / N)',
  numberRange: 'number range error',
  accessForbidden: 'access forbidden',
  illegalOperation: 'illegal operation',
  apiError: 'api error.',
  apiNotFound: 'api not found.', // Rostrum's own: Polyv documents no answer for an unknown path
} as const;

/** A failure answered with Polyv's envelope: `code` (also the HTTP status) and `message`. */
export class PolyvError extends Error {
  constructor(
    readonly code: Exclude<PolyvCode, 200>,
    message: string,
  ) {
    super(message);
    this.name = 'PolyvError';
  }
}

export const fail = {
  appIdRequired: () => new PolyvError(400, MESSAGE.appIdRequired),
  appNotFound: () => new PolyvError(400, MESSAGE.appNotFound),
  invalidTimestamp: () => new PolyvError(400, MESSAGE.invalidTimestamp),
  invalidSignature: () => new PolyvError(403, MESSAGE.invalidSignature),
  channelNotFound: () => new PolyvError(404, MESSAGE.channelNotFound),
  qpsExceeded: () => new PolyvError(403, MESSAGE.qpsExceeded),
  empty: (name: string) => new PolyvError(400, `param should not be empty: ${name}`),
  notDigit: (name: string) => new PolyvError(400, `param is not digit: ${name}`),
  length: (name: string) => new PolyvError(400, `param length is incorrect: ${name}`),
  invalid: () => new PolyvError(400, MESSAGE.paramValidate),
  jsonFormat: () => new PolyvError(400, MESSAGE.jsonFormat),
  notBoolean: () => new PolyvError(400, MESSAGE.notBoolean),
  numberRange: () => new PolyvError(400, MESSAGE.numberRange),
  apiNotFound: () => new PolyvError(404, MESSAGE.apiNotFound),
  apiError: () => new PolyvError(500, MESSAGE.apiError),
};

/**
 * The core's errors as Polyv answers. Only RoomNotFound and InvalidParam can arise from the
 * endpoints this dialect serves (it always acts as the app admin, on rooms and deny/mute
 * entries); the rest are mapped so that no core error can ever become a crash page.
 */
const BY_KIND: Record<Exclude<ErrorKind, 'InvalidParam' | 'RoomNotFound'>, () => PolyvError> = {
  RoomExists: () => new PolyvError(500, MESSAGE.illegalOperation),
  NotMember: () => new PolyvError(500, MESSAGE.illegalOperation),
  PermissionDenied: () => new PolyvError(500, MESSAGE.accessForbidden),
  SeatsDisabled: () => new PolyvError(500, MESSAGE.illegalOperation),
  SeatLocked: () => new PolyvError(500, MESSAGE.illegalOperation),
  SeatOccupied: () => new PolyvError(500, MESSAGE.illegalOperation),
  SeatsFull: () => new PolyvError(500, MESSAGE.illegalOperation),
  AlreadyOnSeat: () => new PolyvError(500, MESSAGE.illegalOperation),
  NotOnSeat: () => new PolyvError(500, MESSAGE.illegalOperation),
  AlreadyRequested: () => new PolyvError(500, MESSAGE.illegalOperation),
  RequestNotFound: () => new PolyvError(500, MESSAGE.illegalOperation),
  RoomFull: () => new PolyvError(500, MESSAGE.illegalOperation),
  WrongPassword: () => new PolyvError(500, MESSAGE.accessForbidden),
  DeniedUser: () => new PolyvError(500, MESSAGE.accessForbidden),
  DeniedIp: () => new PolyvError(500, MESSAGE.accessForbidden),
  Muted: () => new PolyvError(500, MESSAGE.accessForbidden),
  MessagesDisabled: () => new PolyvError(500, MESSAGE.accessForbidden),
  BadWord: () => new PolyvError(500, MESSAGE.accessForbidden),
  PasswordAttemptsExceeded: () => new PolyvError(500, MESSAGE.accessForbidden),
};

/**
 * `wireNames` maps the core's field names to this endpoint's parameter names. A bad room id
 * (empty or over 48 bytes) names a channel that cannot exist. Every other InvalidParam the core
 * raises for these endpoints is a size bound (too many IDs, an ID or a message too long).
 */
export function fromRoomError(e: RoomError, wireNames: Record<string, string> = {}): PolyvError {
  if (e.kind === 'RoomNotFound') return fail.channelNotFound();
  if (e.kind === 'InvalidParam') {
    if (e.field === 'roomId') return fail.channelNotFound();
    return fail.length((e.field && wireNames[e.field]) ?? e.field ?? 'param');
  }
  return BY_KIND[e.kind]();
}

export function statusOf(code: PolyvCode): 'success' | 'error' | 'fail' {
  return code === 200 ? 'success' : code >= 500 ? 'fail' : 'error';
}
