// The CallbackSpool contract against PostgresSpool, each open() in a schema of its own (migrated
// as the store would: the spool's tables are one of its migration steps).
import { test } from 'node:test';
import { migrate } from '../../src/adapters/postgres/index.js';
import { PostgresSpool } from '../../src/callbacks/spool-postgres.js';
import { spoolContract } from './spool-contract.js';
import { adminClient, dropSchema, freshSchema, pgSkip, urlWithSchema } from './postgres-support.js';

const skip = await pgSkip();

if (skip) {
  test('CallbackSpool contract: postgres', { skip }, () => {});
} else {
  spoolContract('postgres', async () => {
    const schema = freshSchema();
    const c = await adminClient();
    try {
      await migrate(c, schema);
    } finally {
      await c.end();
    }
    const spool = PostgresSpool.open(urlWithSchema(schema));
    return {
      spool,
      cleanup: async () => {
        await spool.close().catch(() => {});
        await dropSchema(schema);
      },
    };
  });
}
