// What the contract cannot see: PostgreSQL-specific behaviour of PostgresStore (migrations under
// concurrency, the outbox visibility horizon, lock queues, retries, an unreachable server).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { PostgresStore, parseUrl } from '../../src/adapters/postgres/index.js';
import { MIGRATIONS } from '../../src/adapters/postgres/migrations.js';
import { delay, makeAgg, makeDeny, makeEvent, makeMember, makeMute, within } from './store-contract.js';
import { PgWriter } from '../../src/adapters/postgres/writer.js';
import { ipSubjects, normalizeIp } from '../../src/core/ip.js';
import type { StoreWriter, Subject } from '../../src/core/ports/store.js';
import { PG_URL, adminClient, dropSchema, freshSchema, pgSkip, urlWithSchema } from './postgres-support.js';
import { freePort } from '../support/harness.js';
import { RoomError } from '../../src/core/errors.js';

const skip = await pgSkip();
const APP = 1400000001;

/** A store in a fresh schema, dropped after the test. */
const schemas: string[] = [];
async function fresh(opts: Parameters<typeof PostgresStore.open>[1] = {}): Promise<{ store: PostgresStore; schema: string; url: string }> {
  const schema = freshSchema();
  schemas.push(schema);
  const url = urlWithSchema(schema);
  // The outbox horizon is server-wide: other users of the test server (other test files) can
  // hold it back for a while, so reads that must see committed events wait long enough.
  return { store: await PostgresStore.open(url, { poolSize: 4, outboxWaitMs: 20_000, ...opts }), schema, url };
}
after(async () => {
  if (!skip) for (const s of schemas) await dropSchema(s);
});

describe('PostgresStore (PostgreSQL specifics)', { skip }, () => {
  describe('URL and schema', () => {
    it('takes schema= (and options=) out of the URL and validates the name', () => {
      const p = parseUrl('postgres://u:p@h:5433/db?schema=abc_1&sslmode=disable&options=-c%20work_mem%3D8MB');
      assert.equal(p.schema, 'abc_1');
      assert.equal(p.options, '-c work_mem=8MB');
      assert.equal(p.connectionString, 'postgres://u:p@h:5433/db?sslmode=disable');
      assert.equal(parseUrl('postgres://h/db').schema, null);
      for (const bad of ['a-b', 'a;drop', '1abc', 'a"b', 'x'.repeat(64), '']) {
        assert.throws(() => parseUrl(`postgres://h/db?schema=${encodeURIComponent(bad)}`), /invalid schema name/, bad);
      }
    });

    it('puts every table in the schema, creating it', async () => {
      const { store, schema } = await fresh();
      try {
        await store.write(APP, (w) => w.insertRoom(makeAgg(APP, 'r1')));
        const c = await adminClient();
        try {
          const t = await c.query<{ table_name: string }>(
            'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
            [schema],
          );
          assert.deepEqual(
            t.rows.map((r) => r.table_name),
            ['audit', 'bad_words', 'callback_deliveries', 'callback_state', 'deny', 'members', 'messages', 'meta', 'mutes', 'nonces', 'outbox', 'rooms', 'schema_migrations'],
          );
          const n = await c.query(`SELECT count(*)::int AS n FROM "${schema}".rooms`);
          assert.equal(n.rows[0].n, 1);
        } finally {
          await c.end();
        }
      } finally {
        await store.close();
      }
    });
  });

  describe('migrations', () => {
    it('four processes opening a fresh schema at once: all open, each step applied once', async () => {
      const schema = freshSchema();
      schemas.push(schema);
      const url = urlWithSchema(schema);
      const stores = await within(20_000, Promise.all(Array.from({ length: 4 }, () => PostgresStore.open(url, { poolSize: 1 }))), '4 opens');
      try {
        const c = await adminClient();
        try {
          const r = await c.query<{ version: number }>(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
          assert.deepEqual(r.rows.map((x) => x.version), MIGRATIONS.map((m) => m.version));
        } finally {
          await c.end();
        }
        // Each works on the shared schema.
        await stores[0].write(APP, (w) => w.insertRoom(makeAgg(APP, 'r1')));
        assert.ok(await stores[3].read(APP, (r) => r.room('r1')));
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
      // Reopening finds everything applied.
      const again = await PostgresStore.open(url, { poolSize: 1 });
      await again.close();
    });

    it('refuses a schema a newer release has migrated (a rollback), as the embedded store does', async () => {
      const { store, schema, url } = await fresh();
      await store.close();
      const newer = Math.max(...MIGRATIONS.map((m) => m.version)) + 1;
      const c = await adminClient();
      try {
        await c.query(`INSERT INTO "${schema}".schema_migrations (version, name) VALUES ($1, 'from a newer release')`, [newer]);
      } finally {
        await c.end();
      }
      await assert.rejects(PostgresStore.open(url, { poolSize: 1 }), new RegExp(`schema version ${newer}, newer than this release's \\(${newer - 1}\\)`));
    });
  });

  describe('outbox horizon', () => {
    it('never moves the cursor past an event whose transaction commits later', async () => {
      const { store, schema, url } = await fresh();
      // A second reader that gives up quickly, so the open transaction below is short: the
      // horizon is server-wide and other test files may be reading their outboxes meanwhile.
      const quick = await PostgresStore.open(url, { poolSize: 1, outboxWaitMs: 50 });
      const e0 = makeEvent(APP, 'r1', 1, 100);
      const e1 = makeEvent(APP, 'r1', 2, 200); // written by a transaction held open
      const e2 = makeEvent(APP, 'r2', 1, 300); // inserted after e1, committed before it
      const c = await adminClient();
      try {
        await store.write(APP, (w) => w.appendEvents([e0]));
        const p0 = await store.readOutbox('', 10);
        assert.deepEqual(p0.events, [e0]);

        await c.query(`SET search_path TO "${schema}"`);
        await c.query('BEGIN');
        await c.query(
          'INSERT INTO outbox (app_id, room_id, seq, at, event) VALUES ($1, $2, $3, $4, $5)',
          [APP, e1.roomId, e1.seq, e1.at, JSON.stringify(e1)],
        );
        await store.write(APP, (w) => w.appendEvents([e2]));

        // e2 is committed and has the larger id, but e1's transaction is older and still open.
        const blocked = await quick.readOutbox(p0.cursor, 10);
        assert.deepEqual(blocked.events, [], 'nothing past the open transaction');
        assert.equal(blocked.cursor, p0.cursor);
        // Ordered by id alone, a reader would have returned e2 and moved past e1 for good.
        const r = await c.query<{ id: string }>('SELECT id::text FROM outbox ORDER BY id');
        assert.equal(r.rows.length, 3, 'the open transaction sees its own row');
        assert.ok(BigInt(r.rows[1].id) < BigInt(r.rows[2].id));

        await c.query('COMMIT');
        const p1 = await store.readOutbox(p0.cursor, 10);
        assert.deepEqual(p1.events, [e1, e2], 'both, in transaction order');
        assert.deepEqual((await store.readOutbox(p1.cursor, 10)).events, []);
        assert.deepEqual((await store.readOutbox('', 10)).events, [e0, e1, e2]);
      } finally {
        await c.query('ROLLBACK').catch(() => {});
        await c.end();
        await quick.close();
        await store.close();
      }
    });

    it('reads and pages in transaction id order where the ids gain a digit (99 → 100), none twice, none skipped', async () => {
      // Sorted as text, 100 and 101 came before 98 and 99: a page then went out of order, and
      // the next page began after its last row, reading some again or, past a full page, none.
      const { store, schema } = await fresh();
      const c = await adminClient();
      try {
        await c.query(`SET search_path TO "${schema}"`);
        const txids = ['98', '99', '100', '101'];
        const events = txids.map((_, i) => makeEvent(APP, 'r1', i + 1, 100 + i));
        for (const [i, e] of events.entries()) {
          // Transaction ids long past (the server's counter is higher): final, as committed rows are.
          await c.query('INSERT INTO outbox (txid, app_id, room_id, seq, at, event) VALUES ($1::xid8, $2, $3, $4, $5, $6)', [
            txids[i], APP, e.roomId, e.seq, e.at, JSON.stringify(e),
          ]);
        }
        assert.deepEqual((await store.readOutbox('', 10)).events, events);
        for (const limit of [1, 2, 3]) {
          const read: typeof events = [];
          for (let cursor = '', page = 0; page < 10; page++) {
            const p = await store.readOutbox(cursor, limit);
            if (p.events.length === 0) break;
            read.push(...p.events);
            cursor = p.cursor;
          }
          assert.deepEqual(read, events, `pages of ${limit}`);
        }
        const head = await store.outboxHead();
        assert.match(head, /^101:/);
        assert.deepEqual((await store.readOutbox(head, 10)).events, []);
      } finally {
        await c.end();
        await store.close();
      }
    });

    /**
     * An event committed while an older transaction (another client's) is still open, which
     * commits 100 ms later: `check` runs meanwhile.
     */
    async function behindAnOpenTransaction(check: (store: PostgresStore, ev: ReturnType<typeof makeEvent>) => Promise<void>) {
      const { store, schema } = await fresh();
      const c = await adminClient();
      try {
        await c.query(`SET search_path TO "${schema}"`);
        await c.query('BEGIN');
        await c.query('INSERT INTO meta (key, value) VALUES ($1, $2)', ['held', 'x']); // takes a txid
        const ev = makeEvent(APP, 'r1', 1, 1);
        await store.write(APP, (w) => w.appendEvents([ev]));
        setTimeout(() => void c.query('COMMIT'), 100);
        await check(store, ev);
      } finally {
        await c.end();
        await store.close();
      }
    }

    it('waits briefly for a short transaction instead of returning a short page', () =>
      behindAnOpenTransaction(async (store, ev) => {
        const t0 = Date.now();
        assert.deepEqual((await store.readOutbox('', 10)).events, [ev]);
        assert.ok(Date.now() - t0 >= 90, 'waited for the older transaction');
      }));

    it('outboxHead waits for an older transaction too, so reading from it yields nothing committed before', () =>
      behindAnOpenTransaction(async (store) => {
        const head = await store.outboxHead();
        assert.notEqual(head, '', 'past the event committed behind the open transaction');
        assert.deepEqual((await store.readOutbox(head, 10)).events, []);
      }));
  });

  describe('locks', () => {
    it('units locking {a,b} and {b,a} concurrently both complete', async () => {
      const { store } = await fresh({ poolSize: 6 });
      try {
        await store.write(APP, async (w) => {
          await w.insertRoom(makeAgg(APP, 'a'));
          await w.insertRoom(makeAgg(APP, 'b'));
        });
        const unit = (order: string[], pause: number) =>
          store.write(APP, async (w) => {
            // One room first, then both: the second call must still lock in sorted order.
            const got = await w.lock(order);
            await delay(pause);
            for (const agg of got.values()) {
              agg.seq += 1;
              await w.saveRoom(APP, agg);
            }
          });
        await within(
          10_000,
          Promise.all([unit(['a', 'b'], 30), unit(['b', 'a'], 30), unit(['b', 'a'], 0), unit(['a', 'b'], 0), unit(['b', 'a'], 10)]),
          '{a,b} vs {b,a}',
        );
        await store.read(APP, async (r) => {
          assert.equal((await r.room('a'))!.seq, 5);
          assert.equal((await r.room('b'))!.seq, 5);
        });
      } finally {
        await store.close();
      }
    });

    it('with rostrum.check_lock_order on, a room locked after the unit took its transaction id is refused; rooms locked in the first call are not', async () => {
      const schema = freshSchema();
      schemas.push(schema);
      const url = new URL(urlWithSchema(schema));
      url.searchParams.set('options', '-c rostrum.check_lock_order=on');
      const checked = await PostgresStore.open(url.toString(), { poolSize: 2 });
      const unchecked = await PostgresStore.open(urlWithSchema(schema), { poolSize: 2 });
      const oneThenAnother = async (w: StoreWriter) => {
        await w.lock(['a']); // its row lock gives the unit a transaction id
        await w.lock(['b']);
      };
      try {
        await checked.write(APP, async (w) => {
          await w.lockApp('exclusive');
          await w.lock(['a', 'c']); // no rows yet: no transaction id
          await w.insertRoom(makeAgg(APP, 'a'));
          await w.insertRoom(makeAgg(APP, 'b'));
        });
        await checked.write(APP, async (w) => {
          for (const agg of (await w.lock(['b', 'a'])).values()) {
            agg.seq += 1;
            await w.saveRoom(APP, agg);
          }
          await w.room('a'); // already locked: not queued again
        });
        await assert.rejects(checked.write(APP, oneThenAnother), /room b locked after the unit took its transaction id/);
        await assert.rejects(
          checked.write(APP, async (w) => {
            await w.insertRoom(makeAgg(APP, 'd'));
            await w.room('a');
          }),
          /room a locked after the unit took its transaction id/,
        );
        await unchecked.write(APP, oneThenAnother);
        await checked.read(APP, async (r) => assert.deepEqual([(await r.room('a'))!.seq, (await r.room('b'))!.seq, await r.room('d')], [1, 1, null]));
      } finally {
        await checked.close();
        await unchecked.close();
      }
    });

    it('lockApp: an exclusive holder blocks shared units until it ends', async () => {
      const { store } = await fresh();
      try {
        const log: string[] = [];
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        let holding!: () => void;
        const held = new Promise<void>((r) => (holding = r));
        const x = store.write(APP, async (w) => {
          await w.lockApp('exclusive');
          holding();
          await gate;
          log.push('X out');
        });
        await held;
        const s = store.write(APP, async (w) => {
          await w.lockApp('shared');
          log.push('S in');
        });
        await delay(100);
        assert.deepEqual(log, [], 'the shared unit waits');
        release();
        await within(5_000, Promise.all([x, s]), 'after release');
        assert.deepEqual(log, ['X out', 'S in']);
      } finally {
        await store.close();
      }
    });

    it('the same app in another schema is another lock', async () => {
      const one = await fresh();
      const two = await fresh();
      try {
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        let holding!: () => void;
        const held = new Promise<void>((r) => (holding = r));
        const x = one.store.write(APP, async (w) => {
          await w.lockApp('exclusive');
          holding();
          await gate;
        });
        await held;
        await within(5_000, two.store.write(APP, (w) => w.lockApp('exclusive')), 'other schema');
        release();
        await x;
      } finally {
        await one.store.close();
        await two.store.close();
      }
    });
  });

  describe('units of work', () => {
    it("a rule's refusal or an SQL error rolls the unit back and keeps its connection in the pool; a lost connection is not reused", async () => {
      const name = `rostrum-refusal-${process.pid}`;
      const { store } = await fresh({ poolSize: 2, applicationName: name });
      const pool = (store as unknown as { pool: { on(e: 'connect', f: () => void): void } }).pool;
      let opened = 0;
      pool.on('connect', () => opened++);
      try {
        await store.write(APP, (w) => w.insertRoom(makeAgg(APP, 'r1')));
        await store.write(APP, async (w) => void (await w.room('r1')));
        const before = opened;
        for (let i = 0; i < 10; i++) {
          await assert.rejects(
            store.write(APP, async (w) => {
              const agg = (await w.room('r1'))!;
              agg.seq += 1;
              await w.saveRoom(APP, agg);
              throw new RoomError('NotMember', 'refused by a rule');
            }),
            /refused by a rule/,
          );
          await assert.rejects(
            store.write(APP, async (w) => {
              await w.room('r1');
              throw Object.assign(new Error('an SQL error'), { code: '23505' });
            }),
            /an SQL error/,
          );
        }
        assert.equal(opened - before, 0, 'no connection opened for units that failed on a rule or an SQL error');
        await store.read(APP, async (r) => assert.equal((await r.room('r1'))!.seq, 0, 'their writes rolled back'));
        // A connection the server ends is not handed out again.
        await assert.rejects(
          store.write(APP, async (w) => {
            await w.room('r1');
            const admin = await adminClient();
            await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [name]);
            await admin.end();
            await w.room('r1');
          }),
        );
        await store.write(APP, async (w) => void (await w.room('r1')));
      } finally {
        await store.close();
      }
    });

    it('retries fn on serialization failures and deadlocks, then gives up', async () => {
      const { store } = await fresh();
      try {
        await store.write(APP, (w) => w.insertRoom(makeAgg(APP, 'r1')));
        let calls = 0;
        const out = await store.write(APP, async (w) => {
          const agg = (await w.room('r1'))!;
          agg.seq += 1;
          await w.saveRoom(APP, agg);
          await w.putMember('r1', makeMember(`u${calls}`));
          if (++calls < 3) throw Object.assign(new Error('conflict'), { code: calls === 1 ? '40001' : '40P01' });
          return 'done';
        });
        assert.equal(out, 'done');
        assert.equal(calls, 3);
        await store.read(APP, async (r) => {
          assert.equal((await r.room('r1'))!.seq, 1, 'only the last attempt is kept');
          assert.deepEqual((await r.members('r1', '', 10)).map((m) => m.userId), ['u2']);
        });
        let tries = 0;
        await assert.rejects(
          store.write(APP, async () => {
            tries++;
            throw Object.assign(new Error('always'), { code: '40001' });
          }),
          /always/,
        );
        assert.ok(tries > 1 && tries <= 10, `bounded retries (${tries})`);
        // Other errors are not retried.
        let once = 0;
        await assert.rejects(store.write(APP, async () => { once++; throw new Error('plain'); }), /plain/);
        assert.equal(once, 1);
      } finally {
        await store.close();
      }
    });

    it('a real deadlock between units (locks taken out of order by hand) resolves by retry', async () => {
      const { store } = await fresh({ poolSize: 4 });
      try {
        await store.write(APP, async (w) => {
          await w.insertRoom(makeAgg(APP, 'a'));
          await w.insertRoom(makeAgg(APP, 'b'));
        });
        // Going around the sorted lock() on purpose: room() one at a time, in opposite orders.
        const unit = (first: string, second: string) =>
          store.write(APP, async (w) => {
            const x = (await w.room(first))!;
            await delay(50);
            const y = (await w.room(second))!;
            x.seq += 1;
            y.seq += 1;
            await w.saveRoom(APP, x);
            await w.saveRoom(APP, y);
          });
        await within(15_000, Promise.all([unit('a', 'b'), unit('b', 'a')]), 'deadlock retry');
        assert.equal((await store.read(APP, (r) => r.room('a')))!.seq, 2);
      } finally {
        await store.close();
      }
    });

    it('orders members and rooms by bytes whatever the database collation', async () => {
      const { store } = await fresh();
      try {
        await store.write(APP, async (w) => {
          await w.insertRoom(makeAgg(APP, 'r1'));
          for (const u of ['b', 'B', 'a', '_x', 'A', 'é']) await w.putMember('r1', makeMember(u));
        });
        const got = (await store.read(APP, (r) => r.members('r1', '', 10))).map((m) => m.userId);
        assert.deepEqual(got, ['A', 'B', '_x', 'a', 'b', 'é']);
      } finally {
        await store.close();
      }
    });

    it('connectedMembers treats % and _ in the prefix literally', async () => {
      const { store } = await fresh();
      try {
        await store.write(APP, async (w) => {
          await w.insertRoom(makeAgg(APP, 'r1'));
          await w.putMember('r1', makeMember('a', '1.1.1.1', 'n_1:1'));
          await w.putMember('r1', makeMember('b', '1.1.1.1', 'nx1:1'));
          await w.putMember('r1', makeMember('c', '1.1.1.1', 'n%:1'));
        });
        assert.deepEqual((await store.connectedMembers('n_')).map((m) => m.userId), ['a']);
        assert.deepEqual((await store.connectedMembers('n%')).map((m) => m.userId), ['c']);
      } finally {
        await store.close();
      }
    });
  });

  describe("a batch's prefetch", () => {
    // What the core asks about a user (entries.ts): the user id, the address and its ranges.
    const subjectsOf = (userId: string, ip: string): Subject[] => [
      { subjectType: 'userId', subject: userId },
      ...ipSubjects(ip).map((subject): Subject => ({ subjectType: 'ip', subject })),
    ];
    const T = 1_700_000_000_000;
    // With an SQL error's code (not a retried one): the unit rolls back and keeps its connection
    // (and the statements prepared on it).
    const ROLLBACK = Object.assign(new Error('rollback'), { code: 'P0001' });
    /** Runs fn in a unit that is rolled back, and returns what it got and the unit's round trips. */
    async function inUnit<R>(store: PostgresStore, fn: (w: StoreWriter) => Promise<R>): Promise<{ got: R; trips: number }> {
      let out: { got: R; trips: number } | undefined;
      await assert.rejects(
        store.write(APP, async (w) => {
          out = { got: await fn(w), trips: (w as PgWriter).roundTrips };
          throw ROLLBACK;
        }),
        (e) => e === ROLLBACK,
      );
      return out!;
    }

    it('answers member() and matching() exactly as the uncached reads, the unit\'s own writes included', async () => {
      const { store } = await fresh({ poolSize: 1 });
      try {
        const mutedA = makeMute({ subject: 'a', createdAt: T - 10 });
        await store.write(APP, async (w) => {
          await w.insertRoom(makeAgg(APP, 'r1'));
          await w.insertRoom(makeAgg(APP, 'r2'));
          await w.putMember('r1', makeMember('a', '10.0.0.1'));
          await w.putMember('r1', makeMember('b', '10.0.0.2'));
          await w.putMember('r1', makeMember('c', '10.1.2.3'));
          await w.putMember('r1', makeMember('d', '2001:db8::7'));
          await w.putMember('r1', makeMember('e', '10.0.0.5'));
          await w.putMember('r1', makeMember('f', '10.0.0.6'));
          for (const m of [
            mutedA,
            // IP mutes: a range, app-wide; an IPv6 address in the room.
            makeMute({ subject: '10.1.0.0/16', subjectType: 'ip', roomId: '' }),
            makeMute({ subject: '2001:db8::7', subjectType: 'ip' }),
            // App-wide by user; ended before the batch's clock; ending between its two clocks.
            makeMute({ subject: 'd', roomId: '' }),
            makeMute({ subject: 'e', expiresAt: T - 1 }),
            makeMute({ subject: 'f', expiresAt: T + 1000 }),
            // Only reachable through subjects the batch does not name as given (see p and q below).
            makeMute({ subject: '10.1.3.3', subjectType: 'ip' }),
            makeMute({ subject: 'q' }),
            // Another room's: never an answer for r1.
            makeMute({ subject: 'b', roomId: 'r2' }),
          ])
            await w.insertEntry('mute', m);
          for (const d of [
            makeDeny({ subject: 'x', createdAt: T - 5 }),
            makeDeny({ subject: '192.168.0.5', subjectType: 'ip', roomId: '', createdAt: T - 5 }),
            makeDeny({ subject: 'y', expiresAt: T }),
          ])
            await w.insertEntry('deny', d);
        });

        const muteB = makeMute({ subject: 'b', createdAt: T - 1 });
        const denyN = makeDeny({ subject: 'n', roomId: '' });
        const script = (prefetch: boolean) => async (w: StoreWriter) => {
          const out: unknown[] = [];
          const muted = async (u: string, ip: string) => {
            for (const now of [T, T + 2000]) out.push(u, now, await w.matching('mute', 'r1', subjectsOf(u, ip), now));
          };
          const denied = async (u: string, ip: string) => out.push(u, ip, await w.matching('deny', 'r1', subjectsOf(u, ip), T));
          // Senders a-f and z (no member); entries by x, y and n (n from an IPv4-mapped address).
          const senders = ['a', 'b', 'c', 'd', 'e', 'f', 'z'];
          // (p's address comes with a port, which the member's stored address drops.)
          const entering = [['x', '192.168.0.5'], ['y', '10.0.0.9'], ['n', '::ffff:10.1.9.9'], ['b', '10.1.7.7'], ['p', '10.1.3.3:443']];
          if (prefetch) {
            assert.ok(w.prefetch);
            await w.prefetch('r1', [...senders, ...entering.map(([u]) => u)], entering.map(([, ip]) => ip));
          }
          out.push(await w.room('r1', 'a'));
          for (const u of senders) {
            const m = await w.member('r1', u);
            out.push(u, m);
            await muted(u, m?.clientIp ?? '');
          }
          for (const [u, ip] of entering) await denied(u, ip);
          // Subjects the batch did not name.
          await muted('q', '10.1.1.1');
          await denied('q', '192.168.0.5');
          // Entries change members: n and p come in, b comes back from another address (all in the muted range).
          for (const [u, ip] of entering.slice(2)) {
            await w.putMember('r1', { ...makeMember(u), clientIp: normalizeIp(ip) });
            const m = await w.member('r1', u);
            out.push(u, m);
            await muted(u, m!.clientIp);
            await muted(u, ip);
          }
          // A member leaves; entries added and lifted in the unit.
          await w.deleteMember('r1', 'c');
          out.push(await w.member('r1', 'c'));
          await w.insertEntry('mute', muteB);
          await w.deleteEntries('mute', [mutedA.id]);
          await w.insertEntry('deny', denyN);
          await muted('a', '10.0.0.1');
          await muted('b', '10.1.7.7');
          await denied('n', '10.0.0.9');
          return out;
        };
        const plain = await inUnit(store, script(false));
        const cached = await inUnit(store, script(true));
        assert.deepEqual(cached.got, plain.got);
        // The answers are the expected ones (not only alike).
        const muteOf = (got: unknown[], u: string, now: number) => {
          for (let i = 0; i < got.length - 2; i++) if (got[i] === u && got[i + 1] === now) return (got[i + 2] as unknown[]).length > 0;
          throw new Error(`no answer for ${u}`);
        };
        assert.deepEqual(
          ['a', 'b', 'c', 'd', 'e', 'f', 'z'].map((u) => [u, muteOf(plain.got, u, T), muteOf(plain.got, u, T + 2000)]),
          [['a', true, true], ['b', false, false], ['c', true, true], ['d', true, true], ['e', false, false], ['f', true, false], ['z', false, false]],
        );
        // Nothing of the rolled-back units stayed.
        assert.equal((await store.read(APP, (r) => r.member('r1', 'n'))), null);
      } finally {
        await store.close();
      }
    });

    it('a batch of 15 chat messages reads its members, mutes and bad words in three round trips (the lock included) instead of 45', async () => {
      const { store } = await fresh({ poolSize: 1 });
      try {
        const users = Array.from({ length: 15 }, (_, i) => `u${i}`);
        await store.write(APP, async (w) => {
          await w.insertRoom(makeAgg(APP, 'r1'));
          for (const [i, u] of users.entries()) await w.putMember('r1', makeMember(u, `10.0.${i}.1`));
          await w.insertEntry('mute', makeMute({ subject: 'u3' }));
          await w.insertEntry('mute', makeMute({ subject: '10.0.4.0/24', subjectType: 'ip', roomId: '' }));
          await w.setBadWords('', ['darn'], 'v1');
        });
        // What sendMessage reads of each sender (chat.ts, bad-words.ts), after the batch's lock.
        const batch = (prefetch: boolean) => async (w: StoreWriter) => {
          if (prefetch) await w.prefetch!('r1', users, []);
          await w.room('r1', users[0]);
          const muted: string[] = [];
          const known = new Map<string, string>();
          for (const u of users) {
            const m = (await w.member('r1', u))!;
            if ((await w.matching('mute', 'r1', subjectsOf(u, m.clientIp), T)).length > 0) muted.push(u);
            const lists = await w.badWords(['r1', ''], known);
            assert.deepEqual(lists, [{ scope: '', version: 'v1', words: known.size ? null : ['darn'] }]);
            known.set('', 'v1');
          }
          return muted;
        };
        // Once each first: the connection prepares the statements it inlines with BEGIN once.
        await inUnit(store, batch(false));
        await inUnit(store, batch(true));
        const plain = await inUnit(store, batch(false));
        const cached = await inUnit(store, batch(true));
        assert.deepEqual(plain.got, ['u3', 'u4']);
        assert.deepEqual(cached.got, plain.got);
        // Members and mutes: one round trip each per message without the prefetch (the bad-word
        // lists are read once per unit either way).
        assert.equal(plain.trips, 31);
        assert.equal(cached.trips, 3);
      } finally {
        await store.close();
      }
    });
    it("reads each scope's bad-word lists once per unit, and again after the unit changes one", async () => {
      const { store } = await fresh({ poolSize: 1 });
      try {
        await store.write(APP, async (w) => {
          await w.insertRoom(makeAgg(APP, 'r1'));
          await w.setBadWords('r1', ['heck'], 'v1');
          await w.setBadWords('', ['darn'], 'v2');
        });
        const { got } = await inUnit(store, async (w) => {
          const out: unknown[] = [];
          const ask = async (scopes: string[], known?: Map<string, string>) => {
            const before = (w as PgWriter).roundTrips;
            out.push(await w.badWords(scopes, known), (w as PgWriter).roundTrips - before);
          };
          await ask(['r1', ''], new Map([['', 'v2']]));
          await ask(['r1', ''], new Map([['r1', 'v1']]));
          await ask(['r1', '']);
          await ask(['', 'r1'], new Map([['', 'old']]));
          // The app's words were not fetched (known at first): asked without it, they are read.
          await ask(['', 'r2']);
          await ask(['r2']);
          await w.setBadWords('r1', ['gosh'], 'v3');
          await ask(['r1', ''], new Map([['r1', 'v1'], ['', 'v2']]));
          await w.setBadWords('', [], 'v4');
          await ask(['r1', '']);
          return out;
        });
        const r1 = (words: string[] | null, version = 'v1') => ({ scope: 'r1', version, words });
        const app = (words: string[] | null) => ({ scope: '', version: 'v2', words });
        assert.deepEqual(got, [
          [r1(['heck']), app(null)], 2, // BEGIN and the lookup
          [r1(null), app(['darn'])], 1,
          [r1(['heck']), app(['darn'])], 0,
          [app(['darn']), r1(['heck'])], 0,
          [app(['darn'])], 1, // r2 not read yet
          [], 0,
          [r1(['gosh'], 'v3'), app(null)], 1,
          [r1(['gosh'], 'v3')], 1, // the app's list deleted in the unit
        ]);
      } finally {
        await store.close();
      }
    });
  });

  describe('the last statement sent with the COMMIT', () => {
    it('keeps quotes, backslashes and any character of its values; one that fails commits nothing', async () => {
      // One connection: every unit below reuses its prepared statements.
      const { store } = await fresh({ poolSize: 1 });
      try {
        await store.write(APP, (w) => w.insertRoom(makeAgg(APP, 'r1')));
        const tricky = `it's \\ a back'slash \\' ''); COMMIT; -- "q" é 中 😀 \n\t $1 $$ E'x'`;
        const ev = makeEvent(APP, 'r1', 1, 1);
        ev.actor = tricky;
        const bump = (seq: number, events: ReturnType<typeof makeEvent>[], name?: string) =>
          store.write(APP, async (w) => {
            const a = (await w.room('r1'))!;
            a.seq = seq;
            if (name !== undefined) a.room = { ...a.room, name };
            await w.saveRoom(APP, a);
            await w.appendEvents(events);
          });
        await bump(1, [ev], tricky);
        assert.equal((await store.read(APP, (r) => r.room('r1')))!.room.name, tricky);
        assert.deepEqual((await store.readOutbox('', 10)).events, [ev]);

        // jsonb refuses \u0000: the statement fails, and the COMMIT sent with it does not run.
        await assert.rejects(bump(2, [{ ...makeEvent(APP, 'r1', 2, 2), actor: 'a\u0000b' }]), /Unicode|escape/);
        assert.equal((await store.read(APP, (r) => r.room('r1')))!.seq, 1);
        // The connection still works, its prepared statement too.
        await bump(3, [makeEvent(APP, 'r1', 3, 3)]);
        assert.equal((await store.read(APP, (r) => r.room('r1')))!.seq, 3);
        assert.deepEqual((await store.readOutbox('', 10)).events.map((e) => e.seq), [1, 3]);
      } finally {
        await store.close();
      }
    });
  });

  describe('an unreachable or lost server', () => {
    it('open rejects quickly when nothing listens (wrong port)', async () => {
      const port = await freePort();
      const u = new URL(PG_URL);
      u.port = String(port);
      const t0 = Date.now();
      await assert.rejects(within(10_000, PostgresStore.open(u.toString(), { connectionTimeoutMs: 1_000 }), 'open'), /ECONNREFUSED|connect/);
      assert.ok(Date.now() - t0 < 5_000);
    });

    it('open rejects (no hang) when the server accepts but never answers', async () => {
      const sockets = new Set<net.Socket>();
      const blackhole = net.createServer((s) => sockets.add(s));
      await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
      const u = new URL(PG_URL);
      u.hostname = '127.0.0.1';
      u.port = String((blackhole.address() as net.AddressInfo).port);
      try {
        await assert.rejects(within(10_000, PostgresStore.open(u.toString(), { connectionTimeoutMs: 500 }), 'open'), /timeout/i);
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise((r) => blackhole.close(r));
      }
    });

    it('writes and reads reject, not hang, once the server is gone; they work again when it is back', async () => {
      const schema = freshSchema();
      schemas.push(schema);
      const target = new URL(PG_URL);
      const proxy = await tcpProxy(target.hostname, Number(target.port || 5432));
      const u = new URL(urlWithSchema(schema));
      u.hostname = '127.0.0.1';
      u.port = String(proxy.port);
      const store = await PostgresStore.open(u.toString(), { poolSize: 2, connectionTimeoutMs: 1_000 });
      try {
        await store.write(APP, (w) => w.insertRoom(makeAgg(APP, 'r1')));
        await proxy.stop(); // every connection cut, nothing listening
        const t0 = Date.now();
        await assert.rejects(within(10_000, store.write(APP, async (w) => { await w.room('r1'); }), 'write'));
        await assert.rejects(within(10_000, store.write(APP, (w) => w.appendEvents([makeEvent(APP, 'r1', 1, 1)])), 'write'));
        await assert.rejects(within(10_000, store.read(APP, (r) => r.room('r1')), 'read'));
        await assert.rejects(within(10_000, store.readOutbox('', 10), 'readOutbox'));
        assert.ok(Date.now() - t0 < 8_000, `rejected in ${Date.now() - t0} ms`);

        await proxy.start(); // the server is back: fresh connections replace the dead ones
        await within(10_000, store.write(APP, (w) => w.putMember('r1', makeMember('u1'))), 'write after recovery');
        assert.ok(await store.read(APP, (r) => r.member('r1', 'u1')));
      } finally {
        await store.close();
        await proxy.stop();
      }
    });

    it('a write whose connection dies mid-unit rejects and keeps nothing', async () => {
      // Its own application name: the test ends that backend and no other user's.
      const appName = `rostrum_kill_${Date.now()}_${process.pid}`;
      const { store } = await fresh({ poolSize: 1, applicationName: appName });
      try {
        await store.write(APP, (w) => w.insertRoom(makeAgg(APP, 'r1')));
        await assert.rejects(
          within(
            10_000,
            store.write(APP, async (w) => {
              await w.putMember('r1', makeMember('ghost'));
              const c = await adminClient();
              try {
                // Ends this unit's backend: the next statement finds the connection gone.
                const r = await c.query<{ ok: boolean }>(
                  'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1',
                  [appName],
                );
                assert.deepEqual(r.rows, [{ ok: true }], 'exactly the one connection of the pool');
              } finally {
                await c.end();
              }
              await delay(50);
              await w.member('r1', 'ghost');
            }),
            'unit',
          ),
        );
        assert.equal(await store.read(APP, (r) => r.member('r1', 'ghost')), null);
        assert.ok(await store.read(APP, (r) => r.room('r1')), 'the pool replaced the dead connection');
      } finally {
        await store.close();
      }
    });
  });
});

/** A TCP forwarder that can be stopped (cutting every connection) and started again. */
async function tcpProxy(host: string, port: number): Promise<{ port: number; stop(): Promise<void>; start(): Promise<void> }> {
  let server: net.Server | null = null;
  const open = new Set<net.Socket>();
  let listenPort = 0;
  const start = async () => {
    const srv = net.createServer((client) => {
      const upstream = net.connect(port, host);
      open.add(client);
      open.add(upstream);
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
        open.delete(client);
        open.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((r) => srv.listen(listenPort, '127.0.0.1', r));
    listenPort = (srv.address() as net.AddressInfo).port;
    server = srv;
  };
  await start();
  return {
    get port() {
      return listenPort;
    },
    start,
    async stop() {
      const srv = server;
      server = null;
      for (const s of open) s.destroy();
      open.clear();
      if (srv) await new Promise((r) => srv.close(r));
    },
  };
}
