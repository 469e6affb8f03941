// Who is calling the native API: `Authorization: Bearer <UserSig>`. The UserSig names its app
// (TLS.sdkappid) and identifier itself, so no other header is needed; it must verify with that
// app's key and the identifier must be one of the app's admins. A surface beside the API (the
// console) may add its own way in through `ApiAuthenticator.extra`.
import type { FastifyRequest } from 'fastify';
import type { AppRegistry } from '../config.js';
import type { App, Surface } from '../core/model.js';
import { peekUserSig, UserSigError, type UserSigVerifier } from '../auth/usersig.js';
import { API_ERROR, ApiError } from './errors.js';

export interface Principal {
  app: App;
  identifier: string;
  surface: Surface;
}

/** Another way in (a console session); null when the request does not use it. */
export type ExtraAuth = (req: FastifyRequest) => Principal | null | Promise<Principal | null>;

/** Checks an admin UserSig of an app: the one credential of the API (and the console's sign-in). */
/** The admin a UserSig names, and when the UserSig expires (ms). */
export function verifyAdminSig(apps: AppRegistry, verifier: UserSigVerifier, sig: string): { app: App; identifier: string; expiresAt: number } {
  const claim = peekUserSig(sig);
  if (!claim) throw new ApiError(API_ERROR.unauthenticated, 'the bearer token is not a UserSig');
  const app = apps.get(claim.sdkAppId);
  if (!app) throw new ApiError(API_ERROR.unauthenticated, `no app ${claim.sdkAppId} here`);
  let expiresAt: number;
  try {
    expiresAt = verifier.verify(sig, app.sdkAppId, claim.identifier, app.secretKey).expiresAt;
  } catch (e) {
    if (e instanceof UserSigError) throw new ApiError(API_ERROR.unauthenticated, e.message);
    throw e;
  }
  if (!app.admins.includes(claim.identifier)) throw new ApiError(API_ERROR.forbidden, `${claim.identifier} is not an admin of app ${app.sdkAppId}`);
  return { app, identifier: claim.identifier, expiresAt };
}

export async function authenticate(req: FastifyRequest, apps: AppRegistry, verifier: UserSigVerifier, extra?: ExtraAuth): Promise<Principal> {
  const header = req.headers.authorization;
  if (header === undefined) {
    const other = await extra?.(req);
    if (other) return other;
    throw new ApiError(API_ERROR.unauthenticated, 'send Authorization: Bearer <UserSig of an app admin>');
  }
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!m) throw new ApiError(API_ERROR.unauthenticated, 'the Authorization header must be "Bearer <UserSig>"');
  const { app, identifier } = verifyAdminSig(apps, verifier, m[1]);
  return { app, identifier, surface: 'api' };
}
