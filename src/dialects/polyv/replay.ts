// Refuses a sign that was already used. A Polyv timestamp is valid for 3 minutes either way, so
// without this a captured request could be sent again (and again) for up to 3 minutes — and the
// JSON body of v4 calls is not signed, so a replay could even change who is kicked. The signs
// seen are kept in the store for their timestamp's window: a restart, or another node on the
// same PostgreSQL database, still refuses them.
import type { Store } from '../../core/ports/store.js';

export class ReplayGuard {
  constructor(
    private readonly windowMs: number,
    private readonly store: Pick<Store, 'claimNonce'>,
  ) {}

  /** Records this sign; false if it was already used while its timestamp is still valid. */
  firstUse(appId: string, sign: string, timestamp: number, now: number): Promise<boolean> {
    // A timestamp is valid through timestamp + window inclusive; a nonce is held while its expiry
    // is later than now: so it expires one millisecond after that last valid instant.
    return this.store.claimNonce(`polyv:${appId}`, sign, timestamp + this.windowMs + 1, now);
  }
}
