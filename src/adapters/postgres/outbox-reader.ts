// The PostgreSQL outbox as another thread (the callback relay's worker) reads it: a small pool of
// its own on the store's URL, the same queries and cursor as the store's (outbox.ts).
import pg from 'pg';
import type { OutboxPage } from '../../core/ports/store.js';
import { outboxHead, readOutbox } from './outbox.js';
import { TYPES } from './rows.js';
import { connectionSettings } from './store.js';
import { execOn, type Exec } from './writer.js';

export class PostgresOutboxReader {
  private readonly pool: pg.Pool;
  private readonly exec: Exec;

  /** `waitMs`: as the store's outboxWaitMs (how long a read waits for rows behind the horizon). */
  constructor(
    url: string,
    private readonly waitMs = 1_000,
  ) {
    const { connectionString, options } = connectionSettings(url);
    this.pool = new pg.Pool({
      connectionString,
      options,
      max: 2,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: 15_000,
      query_timeout: 20_000,
      application_name: 'rostrum-callbacks',
      types: TYPES,
    });
    // A dropped connection fails the read in flight; the relay reads again later.
    this.pool.on('error', () => {});
    this.pool.on('connect', (c) => c.on('error', () => {}));
    this.exec = execOn(this.pool);
  }

  readOutbox(cursor: string, limit: number): Promise<OutboxPage> {
    return readOutbox(this.exec, cursor, limit, this.waitMs);
  }

  outboxHead(): Promise<string> {
    return outboxHead(this.exec, this.waitMs);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
