// The native API's one error shape, `{"error":{"code","message","field"?}}`, and the one table
// from the core's error kinds (and the API's own failures) to its HTTP status and code.
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorKind } from '../core/errors.js';
import { JSON_TYPE } from '../http/json-type.js';

export interface ApiErrorCode {
  status: number;
  code: string;
}

/** The API's own failures, besides those of the core. */
export const API_ERROR = {
  unauthenticated: { status: 401, code: 'unauthenticated' },
  forbidden: { status: 403, code: 'forbidden' },
  invalidRequest: { status: 400, code: 'invalid_request' },
  notFound: { status: 404, code: 'not_found' },
  bodyTooLarge: { status: 413, code: 'body_too_large' },
  headersTooLarge: { status: 431, code: 'headers_too_large' },
  rateLimited: { status: 429, code: 'rate_limited' },
  csrf: { status: 403, code: 'csrf_refused' },
  throttled: { status: 429, code: 'sign_in_throttled' },
  tooManyStreams: { status: 429, code: 'too_many_streams' },
  internal: { status: 500, code: 'internal' },
  deliveryNotFound: { status: 404, code: 'delivery_not_found' },
  callbacksNotConfigured: { status: 409, code: 'callbacks_not_configured' },
} satisfies Record<string, ApiErrorCode>;

export const ERROR_BY_KIND: Record<ErrorKind, ApiErrorCode> = {
  InvalidParam: { status: 400, code: 'invalid_param' },
  RoomNotFound: { status: 404, code: 'room_not_found' },
  RoomExists: { status: 409, code: 'room_exists' },
  NotMember: { status: 404, code: 'not_member' },
  PermissionDenied: { status: 403, code: 'permission_denied' },
  SeatsDisabled: { status: 409, code: 'seats_disabled' },
  SeatLocked: { status: 409, code: 'seat_locked' },
  SeatOccupied: { status: 409, code: 'seat_occupied' },
  SeatsFull: { status: 409, code: 'seats_full' },
  AlreadyOnSeat: { status: 409, code: 'already_on_seat' },
  NotOnSeat: { status: 409, code: 'not_on_seat' },
  AlreadyRequested: { status: 409, code: 'already_requested' },
  RequestNotFound: { status: 404, code: 'request_not_found' },
  RoomFull: { status: 409, code: 'room_full' },
  WrongPassword: { status: 403, code: 'wrong_password' },
  DeniedUser: { status: 403, code: 'denied_user' },
  DeniedIp: { status: 403, code: 'denied_ip' },
  Muted: { status: 403, code: 'muted' },
  MessagesDisabled: { status: 409, code: 'messages_disabled' },
  BadWord: { status: 422, code: 'bad_word' },
  PasswordAttemptsExceeded: { status: 429, code: 'password_attempts_exceeded' },
};

/** Thrown by the API's own code; answered in the error shape. */
export class ApiError extends Error {
  constructor(
    readonly error: ApiErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable machine-readable code (see the docs table)' }),
      message: Type.String(),
      field: Type.Optional(Type.String({ description: 'The offending field, for invalid_param and invalid_request' })),
    }),
  },
  { $id: 'Error', description: 'Every failure has this shape' },
);

export function errorBody(code: string, message: string, field?: string): { error: { code: string; message: string; field?: string } } {
  return { error: field ? { code, message, field } : { code, message } };
}

/** Writes the API's error shape: every failure of the native API and the console goes out here. */
export function sendError(reply: FastifyReply, e: ApiErrorCode, message: string, field?: string): FastifyReply {
  return reply.code(e.status).header('content-type', JSON_TYPE).send(JSON.stringify(errorBody(e.code, message, field)));
}

/** Fastify's error handler for the API's routes (and the console's): `surface` names the log line. */
export function apiErrorHandler(surface: string) {
  return (err: Error & { code?: string; statusCode?: number }, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (err instanceof ApiError) return sendError(reply, err.error, err.message, err.field);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, API_ERROR.bodyTooLarge, 'request body is too large');
    if (err.statusCode && err.statusCode < 500) return sendError(reply, API_ERROR.invalidRequest, err.message);
    req.log.error({ reqId: req.id, err }, `${surface}: unexpected error`);
    return sendError(reply, API_ERROR.internal, 'internal error, please retry');
  };
}
