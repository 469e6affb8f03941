// The core's typed failures. Dialects map `kind` to their own codes in one table each.

export type ErrorKind =
  | 'InvalidParam' // a field is missing, of the wrong type or out of range (names `field`)
  | 'RoomNotFound'
  | 'RoomExists'
  | 'NotMember' // the user is not in the room
  | 'PermissionDenied' // the actor's role does not allow this
  | 'SeatsDisabled' // the room has no seats
  | 'SeatLocked'
  | 'SeatOccupied'
  | 'SeatsFull'
  | 'AlreadyOnSeat'
  | 'NotOnSeat'
  | 'AlreadyRequested' // a seat application is already pending
  | 'RequestNotFound'
  | 'RoomFull'
  | 'WrongPassword'
  | 'DeniedUser' // a deny entry matches the userId
  | 'DeniedIp' // a deny entry matches the client IP
  | 'Muted' // a mute entry matches the sender
  | 'MessagesDisabled' // the room's IsMessageDisabled is on
  | 'BadWord' // the message contains a word of the room's or the app's bad-word list
  | 'PasswordAttemptsExceeded'; // too many wrong room passwords by this user or IP this minute

/**
 * A finer reason some surfaces answer with their own code (others use the kind's):
 * RoomExists — `sameOwner` (the existing room has the requested owner: reuse it),
 * `justCreated` (it was created less than a second ago); InvalidParam — `tooManyMarks` (a set
 * would put more distinct marks in the room than allowed).
 */
export type ErrorDetail = 'sameOwner' | 'justCreated' | 'tooManyMarks';

export class RoomError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** For InvalidParam: the domain name of the offending field. */
    readonly field?: string,
    readonly detail?: ErrorDetail,
  ) {
    super(message);
    this.name = 'RoomError';
  }
}

export function invalid(field: string, message: string): RoomError {
  return new RoomError('InvalidParam', message, field);
}

export function isRoomError(e: unknown): e is RoomError {
  return e instanceof RoomError;
}
