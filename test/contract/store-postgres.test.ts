// The Store contract against PostgresStore, each open() in a schema of its own.
import { test } from 'node:test';
import type { Store } from '../../src/core/ports/store.js';
import { PostgresStore } from '../../src/adapters/postgres/index.js';
import { storeContract } from './store-contract.js';
import { dropSchema, freshSchema, pgSkip, urlWithSchema } from './postgres-support.js';

const skip = await pgSkip();

if (skip) {
  test('Store contract: postgres', { skip }, () => {});
} else {
  storeContract('postgres', async () => {
    const schema = freshSchema();
    const url = urlWithSchema(schema);
    // The outbox horizon is server-wide: other users of the test server can hold it back for a
    // while, so readOutbox waits long enough for the events a test has just committed.
    const opts = { poolSize: 4, outboxWaitMs: 20_000 };
    let current: Store = await PostgresStore.open(url, opts);
    return {
      store: current,
      reopen: async () => {
        await current.close();
        current = await PostgresStore.open(url, opts);
        return current;
      },
      cleanup: async () => {
        await current.close().catch(() => {});
        await dropSchema(schema);
      },
    };
  });
}
