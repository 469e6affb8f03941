// The nonces table: one-time tokens, loaded at open (only those still valid: a few minutes' worth)
// and written in the store's batch before a claim resolves.
import type Database from 'better-sqlite3';

export class NonceTable {
  private readonly upsert: Database.Statement;
  private readonly prune: Database.Statement;
  private nextPrune = 0;

  constructor(private readonly db: Database.Database) {
    this.upsert = db.prepare('INSERT INTO nonces (scope, nonce, expires_at) VALUES (?, ?, ?) ON CONFLICT (scope, nonce) DO UPDATE SET expires_at = excluded.expires_at');
    this.prune = db.prepare('DELETE FROM nonces WHERE expires_at <= ?');
  }

  /** The tokens still valid at `now`: [scope, nonce, expiresAt]. */
  load(now: number): [string, string, number][] {
    const rows = this.db.prepare('SELECT scope, nonce, expires_at FROM nonces WHERE expires_at > ?').all(now) as { scope: string; nonce: string; expires_at: number }[];
    return rows.map((r) => [r.scope, r.nonce, r.expires_at]);
  }

  /** Inside the open batch: records the token, and drops expired ones about once a minute. */
  put(scope: string, nonce: string, expiresAt: number, now: number): void {
    this.upsert.run(scope, nonce, expiresAt);
    if (now >= this.nextPrune) {
      this.nextPrune = now + 60_000;
      this.prune.run(now);
    }
  }
}
