// The CallbackSpool contract over the SQLite spool, plus what only it has: the spool outlives the
// process (rows, cursor and configurations are read back after closing and reopening).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoredCallbackConfig } from '../../src/callbacks/commands.js';
import { CALLBACK_SPOOL_FILE, CALLBACK_TABLES, SqliteSpool } from '../../src/callbacks/spool-sqlite.js';
import { APP, OTHER_APP, asPending, delivery, spoolContract, spoolRows } from './spool-contract.js';
import { withDataDir } from '../support/sqlite-dir.js';

spoolContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rostrum-sqlite-'));
  const spool = new SqliteSpool(dir);
  return {
    spool,
    cleanup: async () => {
      await spool.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('SqliteSpool: durability', () => {
  it('rows (pending and failed), the cursor and configurations survive closing and reopening', () =>
    withDataDir(async (dir) => {
      const config: StoredCallbackConfig = { kind: 'set', target: { url: 'https://hooks.example.com/cb', commands: ['Room.CallbackAfterMemberEnter'] } };
      const rows = [delivery(APP, { body: '{"Nick":"主播 Zoë 🎤"}' }), delivery(OTHER_APP), delivery(APP)];
      const first = new SqliteSpool(dir);
      let ids: number[];
      let cursor: string;
      try {
        ids = await spoolRows(first, rows);
        cursor = await first.cursor();
        await first.fail(ids[2], 4, 'HTTP 500', 1_700_000_009_000);
        await first.setConfig(APP, config);
        await first.setConfig(OTHER_APP, { kind: 'deleted' });
      } finally {
        await first.close();
      }

      const again = new SqliteSpool(dir);
      try {
        assert.equal(await again.cursor(), cursor);
        assert.deepEqual(await again.pending(APP, 0, 10), [asPending(rows[0], ids[0])]);
        assert.deepEqual(await again.pending(OTHER_APP, 0, 10), [asPending(rows[1], ids[1])]);
        assert.deepEqual(await again.failed(null, 10), [
          { ...rows[2], id: ids[2], state: 'failed', attempts: 4, lastError: 'HTTP 500', failedAt: 1_700_000_009_000 },
        ]);
        assert.deepEqual(await again.allConfigs(), new Map<number, StoredCallbackConfig>([[APP, config], [OTHER_APP, { kind: 'deleted' }]]));
        // The feeder carries on from the stored cursor; ids keep growing across the restart.
        assert.equal(await again.enqueue('', [delivery()], 'x'), false);
        const [next] = await spoolRows(again, [delivery(APP)]);
        assert.ok(next > ids[2], `id ${next} after ${ids}`);
        assert.equal(await again.retry('all', null, 1_700_000_010_000), 1);
        assert.ok((await again.pending(APP, 0, 10)).every((d) => d.id !== ids[2]));
      } finally {
        await again.close();
      }
    }));
});

describe('SqliteSpool: schema versions', () => {
  it('a version 1 spool (before retention) gets the index of given-up rows by time, its rows kept, and the prune uses it', () =>
    withDataDir(async (dir) => {
      const v1 = new Database(join(dir, CALLBACK_SPOOL_FILE));
      v1.exec(CALLBACK_TABLES);
      v1.prepare("INSERT INTO callback_deliveries (event_id, app_id, room_id, seq, command, body, created_at, state, attempts, last_error, failed_at) VALUES ('ev-old', ?, 'r1', 1, 'Room.CallbackAfterCreateRoom', '{}', 1, 'failed', 3, 'HTTP 503', 1000)").run(APP);
      v1.pragma('user_version = 1');
      v1.close();

      const spool = new SqliteSpool(dir);
      try {
        assert.equal((await spool.failed(null, 10)).length, 1);
        assert.equal(await spool.pruneFailed(1001, 10), 1);
      } finally {
        await spool.close();
      }
      const db = new Database(join(dir, CALLBACK_SPOOL_FILE), { readonly: true });
      try {
        assert.equal(db.pragma('user_version', { simple: true }), 2);
        const plan = db
          .prepare("EXPLAIN QUERY PLAN SELECT id FROM callback_deliveries WHERE state = 'failed' AND failed_at < ? ORDER BY failed_at LIMIT ?")
          .all(1, 2) as { detail: string }[];
        assert.ok(plan.some((r) => r.detail.includes('callback_deliveries_failed_at')), JSON.stringify(plan));
      } finally {
        db.close();
      }
    }));
});
