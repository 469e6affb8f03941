// Polyv authentication: appId -> app, 13-digit millisecond timestamp within 3 minutes of now,
// sign over the request parameters, each sign used once.
import { safeEqual } from '../../auth/safe-equal.js';
import type { AppRegistry } from '../../config.js';
import type { App } from '../../core/model.js';
import { fail } from './errors.js';
import type { Params } from './params.js';
import type { ReplayGuard } from './replay.js';
import { acceptableSigns, type Digest } from './sign.js';

/** How far a request's timestamp may be from the server's clock, either way. */
export const TIMESTAMP_WINDOW_MS = 3 * 60_000;

function digestOf(signatureMethod: string | undefined): Digest {
  const m = signatureMethod?.toUpperCase();
  if (m === undefined || m === 'MD5') return 'MD5';
  if (m === 'SHA256') return 'SHA256';
  throw fail.invalidSignature();
}

type PolyvApp = App & { polyv: NonNullable<App['polyv']> };

/**
 * The app whose Polyv credentials signed these parameters; throws the documented errors.
 * `admit` runs once the signature holds and before the sign is marked used (the rate limit): a
 * request refused there may be sent again as it was.
 */
export async function authenticate(apps: AppRegistry, replay: ReplayGuard, params: Params, now: number, admit: (app: PolyvApp) => Promise<void>): Promise<PolyvApp> {
  const appId = params.optional('appId');
  if (appId === undefined) throw fail.appIdRequired();
  const app = apps.getByPolyvAppId(appId);
  if (!app?.polyv) throw fail.appNotFound();

  const timestamp = params.optional('timestamp');
  if (timestamp === undefined || !/^\d{13}$/.test(timestamp) || Math.abs(now - Number(timestamp)) > TIMESTAMP_WINDOW_MS) {
    throw fail.invalidTimestamp();
  }

  const sign = params.optional('sign')?.toUpperCase();
  if (sign === undefined) throw fail.invalidSignature();
  const digest = digestOf(params.optional('signatureMethod'));
  let valid = false;
  for (const expected of acceptableSigns(params.pairs, app.polyv.appSecret, digest)) {
    if (safeEqual(sign, expected)) valid = true; // no early exit: every candidate costs the same
  }
  if (!valid) throw fail.invalidSignature();
  const signed = { ...app, polyv: app.polyv };
  await admit(signed);

  // A replayed request carries a timestamp that was already used: the client's fix is the same
  // as for a stale one (a new timestamp), so it is answered the same way.
  if (!(await replay.firstUse(appId, sign, Number(timestamp), now))) throw fail.invalidTimestamp();
  return signed;
}
