// The Store contract over the SQLite adapter, plus what only it has: migration of the previous
// release's layout, recovery from a failed statement or COMMIT, group commit.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore, MAX_UNITS } from '../../src/adapters/sqlite/store.js';
import { SqliteOutboxReader } from '../../src/adapters/sqlite/outbox-reader.js';
import { legacyEntryId } from '../../src/adapters/sqlite/migrate.js';
import { SCHEMA, SCHEMA_VERSION } from '../../src/adapters/sqlite/schema.js';
import { newId } from '../../src/core/ids.js';
import type { Store } from '../../src/core/ports/store.js';
import { makeAgg, makeDeny, makeEvent, makeMember, storeContract } from './store-contract.js';
import { makeAudit } from './operator-contract.js';
import { rawDb, withDataDir } from '../support/sqlite-dir.js';

const APP = 1400000001;

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'rostrum-sqlite-'));
}

storeContract('sqlite', async () => {
  const dir = await tempDir();
  let current: Store = new SqliteStore(dir);
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = new SqliteStore(dir);
      return current;
    },
    cleanup: async () => {
      await current.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

/** Opens a store in a fresh dir, runs the body, closes and removes it. */
async function withSqlite(body: (s: SqliteStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  const s = new SqliteStore(dir);
  try {
    await body(s, dir);
  } finally {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The raw connection, for provoking failures the way a full disk would. */
const dbOf = (s: SqliteStore) => (s as unknown as { db: Database.Database }).db;

// The previous release's layout (src/store/sqlite.ts before the redesign), as a fixture.
const V1_SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE rooms (
  app_id INTEGER NOT NULL, room_id TEXT NOT NULL, info TEXT NOT NULL, seq INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, room_id)) WITHOUT ROWID;
CREATE TABLE members (
  app_id INTEGER NOT NULL, room_id TEXT NOT NULL, user_id TEXT NOT NULL,
  client_ip TEXT NOT NULL, conn_id TEXT NOT NULL, info TEXT NOT NULL,
  PRIMARY KEY (app_id, room_id, user_id)) WITHOUT ROWID;
CREATE INDEX members_user ON members (app_id, user_id);
CREATE INDEX members_ip ON members (app_id, client_ip);
CREATE INDEX members_conn ON members (conn_id);
CREATE TABLE roles (
  app_id INTEGER NOT NULL, room_id TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL,
  PRIMARY KEY (app_id, room_id, user_id)) WITHOUT ROWID;
CREATE TABLE seats (
  app_id INTEGER NOT NULL, room_id TEXT NOT NULL, idx INTEGER NOT NULL, user_id TEXT,
  locked INTEGER NOT NULL, video_disabled INTEGER NOT NULL, audio_disabled INTEGER NOT NULL,
  PRIMARY KEY (app_id, room_id, idx)) WITHOUT ROWID;
CREATE UNIQUE INDEX seats_one_per_user ON seats (app_id, room_id, user_id) WHERE user_id IS NOT NULL;
CREATE TABLE seat_requests (
  app_id INTEGER NOT NULL, room_id TEXT NOT NULL, id TEXT NOT NULL, info TEXT NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (app_id, room_id, id)) WITHOUT ROWID;
CREATE TABLE deny (
  id INTEGER PRIMARY KEY AUTOINCREMENT, app_id INTEGER NOT NULL, room_id TEXT NOT NULL,
  subject_type TEXT NOT NULL, subject TEXT NOT NULL, origin TEXT NOT NULL, expires_at INTEGER,
  reason TEXT NOT NULL, actor TEXT NOT NULL, created_at INTEGER NOT NULL, snapshot TEXT);
CREATE INDEX deny_subject ON deny (app_id, subject_type, subject);
CREATE INDEX deny_room ON deny (app_id, room_id, created_at);
CREATE TABLE mutes (
  id INTEGER PRIMARY KEY AUTOINCREMENT, app_id INTEGER NOT NULL, room_id TEXT NOT NULL,
  subject_type TEXT NOT NULL, subject TEXT NOT NULL, origin TEXT NOT NULL, expires_at INTEGER,
  reason TEXT NOT NULL, actor TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX mutes_subject ON mutes (app_id, subject_type, subject);
CREATE INDEX mutes_room ON mutes (app_id, room_id, created_at);
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, app_id INTEGER NOT NULL, room_id TEXT NOT NULL,
  seq INTEGER NOT NULL, at INTEGER NOT NULL, event TEXT NOT NULL);
CREATE INDEX outbox_at ON outbox (at);
`;

describe('SqliteStore', () => {
  it('migrates a previous-release (v1) database: rooms, seats, admins, requests, members, bans, mutes, outbox, meta', async () => {
    const dir = await tempDir();
    try {
      const old = new Database(join(dir, 'rostrum.sqlite'));
      old.pragma('journal_mode = WAL');
      old.exec(V1_SCHEMA);
      const room = makeAgg(APP, 'r1', 2).room;
      old.prepare('INSERT INTO rooms (app_id, room_id, info, seq) VALUES (?, ?, ?, ?)').run(APP, 'r1', JSON.stringify(room), 7);
      old.prepare('INSERT INTO rooms (app_id, room_id, info, seq) VALUES (?, ?, ?, ?)').run(APP, 'empty', JSON.stringify({ ...room, roomId: 'empty' }), 0);
      const seat = old.prepare('INSERT INTO seats VALUES (?, ?, ?, ?, ?, ?, ?)');
      seat.run(APP, 'r1', 1, null, 1, 0, 1);
      seat.run(APP, 'r1', 0, 'u1', 0, 1, 0);
      old.prepare('INSERT INTO roles VALUES (?, ?, ?, ?)').run(APP, 'r1', 'u2', 'Admin');
      const request = { id: 'q1', userId: 'u2', kind: 'apply', index: 1, actor: 'u2', createdAt: 5 };
      old.prepare('INSERT INTO seat_requests VALUES (?, ?, ?, ?, ?)').run(APP, 'r1', 'q1', JSON.stringify(request), 5);
      for (const u of ['u1', 'u2']) {
        const { clientIp, connId, ...info } = makeMember(u, '1.1.1.1', `n1:${u}`);
        old.prepare('INSERT INTO members VALUES (?, ?, ?, ?, ?, ?)').run(APP, 'r1', u, clientIp, connId, JSON.stringify(info));
      }
      const snap = { userId: 'bad', nick: 'n', pic: 'p', userType: 'viewer', clientIp: '6.6.6.6', uid: 'c' };
      const deny = old.prepare(
        'INSERT INTO deny (app_id, room_id, subject_type, subject, origin, expires_at, reason, actor, created_at, snapshot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      deny.run(APP, 'r1', 'userId', 'bad', 'polyv', null, 'spam', 'admin', 100, JSON.stringify(snap));
      deny.run(APP, '', 'ip', '6.6.6.6', 'tencent', 9_999_999_999_999, 'flood', 'admin', 100, null);
      old.prepare(
        'INSERT INTO mutes (app_id, room_id, subject_type, subject, origin, expires_at, reason, actor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(APP, 'r1', 'userId', 'loud', 'tencent', null, 'x', 'admin', 50);
      old.prepare('INSERT INTO outbox (app_id, room_id, seq, at, event) VALUES (?, ?, ?, ?, ?)').run(APP, 'r1', 7, 10, JSON.stringify(makeEvent(APP, 'r1', 7, 10)));
      old.prepare('INSERT INTO meta VALUES (?, ?)').run('dev-app', '{"sdkAppId":1}');
      old.close();

      const s = new SqliteStore(dir);
      try {
        await s.read(APP, async (r) => {
          const agg = (await r.room('r1'))!;
          assert.deepEqual(agg.room, room);
          assert.deepEqual(agg.seats, [
            { index: 0, userId: 'u1', locked: false, videoDisabled: true, audioDisabled: false },
            { index: 1, userId: null, locked: true, videoDisabled: false, audioDisabled: true },
          ]);
          assert.deepEqual(agg.admins, ['u2']);
          assert.deepEqual(agg.requests, [request]);
          assert.equal(agg.memberCount, 2);
          assert.equal(agg.seq, 7);
          const empty = (await r.room('empty'))!;
          assert.deepEqual([empty.seats, empty.admins, empty.requests, empty.memberCount], [[], [], [], 0]);
          assert.deepEqual(await r.member('r1', 'u1'), makeMember('u1', '1.1.1.1', 'n1:u1'));
          const bans = await r.list('deny', { activeAt: 0 });
          assert.deepEqual(bans.map((e) => e.id), ['000000000001', '000000000002']);
          assert.deepEqual(bans[0].snapshot, snap);
          assert.equal(bans[1].expiresAt, 9_999_999_999_999);
          assert.equal((await r.matching('deny', 'r9', [{ subjectType: 'ip', subject: '6.6.6.6' }], 1)).length, 1);
          assert.deepEqual((await r.list('mute', { activeAt: 0 })).map((e) => [e.id, e.subject]), [['000000000001', 'loud']]);
        });
        assert.equal(await s.getMeta('dev-app'), '{"sdkAppId":1}');
        assert.deepEqual((await s.readOutbox('', 10)).events, [makeEvent(APP, 'r1', 7, 10)]);
        // New entries (the core's time-based ids) list after the migrated ones of the same time.
        const fresh = makeDeny({ id: newId(Date.now()), subject: 'new', roomId: 'r1', createdAt: 100 });
        await s.write(APP, (w) => w.insertEntry('deny', fresh));
        assert.deepEqual((await s.read(APP, (r) => r.list('deny', { activeAt: 0 }))).map((e) => e.id), ['000000000001', '000000000002', fresh.id]);
      } finally {
        await s.close();
      }
      const db = new Database(join(dir, 'rostrum.sqlite'));
      assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[]).filter(
        (n) => !n.startsWith('sqlite_'),
      );
      assert.deepEqual(tables, ['audit', 'bad_words', 'deny', 'members', 'messages', 'meta', 'mutes', 'nonces', 'outbox', 'room_settings', 'rooms']);
      db.close();
      // Opening again is a no-op migration.
      const again = new SqliteStore(dir);
      assert.equal((await again.read(APP, (r) => r.room('r1')))!.seq, 7);
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('upgrades a version 2 database to 3 (bad-word lists), keeping its data', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rostrum-v2-'));
    try {
      const v2 = new SqliteStore(dir);
      await v2.write(1, (w) => w.insertRoom(makeAgg(1, 'kept')));
      await v2.close();
      // Back to the version 2 layout: no bad_words table.
      const db = new Database(join(dir, 'rostrum.sqlite'));
      db.exec('DROP TABLE bad_words');
      db.pragma('user_version = 2');
      db.close();
      const v3 = new SqliteStore(dir);
      try {
        assert.ok(await v3.read(1, (r) => r.room('kept')));
        await v3.write(1, (w) => w.setBadWords('kept', ['word'], 'v1'));
        assert.deepEqual(await v3.read(1, (r) => r.badWords(['kept'])), [{ scope: 'kept', version: 'v1', words: ['word'] }]);
      } finally {
        await v3.close();
      }
      const check = new Database(join(dir, 'rostrum.sqlite'));
      assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      check.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('legacy padded ids sort before the core\'s time-based ids', () => {
    // Padded ids below 10^10 start with '00'; a time-based id after 1972 never does.
    for (const t of [Date.UTC(1973, 0, 1), Date.now(), Date.UTC(2090, 0, 1)]) {
      assert.ok(legacyEntryId(9_999_999_999) < newId(t), newId(t));
      assert.ok(legacyEntryId(2) < legacyEntryId(10));
    }
  });

  it('group commit: the units of one turn share a COMMIT; a storm commits every MAX_UNITS units', () =>
    withSqlite(async (s) => {
      const before = s.commits;
      await Promise.all(Array.from({ length: 10 }, (_, i) => s.write(APP, (w) => w.putMember('r1', makeMember(`u${i}`)))));
      // One COMMIT for the turn, unless the time bound split it on a loaded machine.
      assert.ok(s.commits - before <= 3, `${s.commits - before} commits for 10 units of one turn`);

      const mid = s.commits;
      const n = MAX_UNITS * 2 + 10;
      await Promise.all(Array.from({ length: n }, (_, i) => s.write(APP, (w) => w.putMember('r2', makeMember(`u${i}`)))));
      assert.ok(s.commits - mid >= 3, `${s.commits - mid} commits for ${n} units`);
      assert.equal((await s.read(APP, (r) => r.members('r2', '', 10_000))).length, n);
    }));

  it('a batch\'s outbox events keep their order and ids, in any number (they are inserted several rows at a time)', () =>
    withDataDir(async (dir) => {
      const now = Date.now();
      const s = new SqliteStore(dir);
      // 75 units in one turn, one to three events each, over two rooms: one or a few batches.
      const seqs = new Map<string, number>();
      const next = (room: string) => {
        seqs.set(room, (seqs.get(room) ?? 0) + 1);
        return seqs.get(room)!;
      };
      const expected = Array.from({ length: 75 }, (_, i) =>
        Array.from({ length: 1 + (i % 3) }, () => {
          const room = i % 2 ? 'r1' : 'r2';
          return makeEvent(APP, room, next(room), now + i);
        }),
      );
      await Promise.all(expected.map((events) => s.write(APP, (w) => w.appendEvents(events))));
      const all = expected.flat();
      const page = await s.readOutbox('', 1000);
      assert.deepEqual(page.events, all);
      assert.deepEqual(await s.roomEvents(APP, 'r1', 0, 1000), all.filter((e) => e.roomId === 'r1'));
      assert.deepEqual(await s.roomEvents(APP, 'r2', 40, 5), all.filter((e) => e.roomId === 'r2').slice(40, 45));
      // Paging by cursor sees every event once, in order.
      const paged = [];
      for (let cursor = ''; ; ) {
        const p = await s.readOutbox(cursor, 7);
        if (p.events.length === 0) break;
        paged.push(...p.events);
        cursor = p.cursor;
      }
      assert.deepEqual(paged, all);
      await s.close();
      const again = new SqliteStore(dir);
      try {
        assert.deepEqual(await again.roomEvents(APP, 'r1', 0, 1000), all.filter((e) => e.roomId === 'r1'));
      } finally {
        await again.close();
      }
    }));

  it('a batch of many rooms and audit entries writes every one of them (several rows a statement)', () =>
    withDataDir(async (dir) => {
      const s = new SqliteStore(dir);
      const rooms = Array.from({ length: 45 }, (_, i) => `room-${i}`);
      const entries = rooms.map((roomId, i) => makeAudit({ roomId, at: 1000 + i }));
      await Promise.all(
        rooms.map((roomId, i) =>
          s.write(APP, async (w) => {
            await w.insertRoom(makeAgg(APP, roomId));
            await w.appendAudit([entries[i]]);
          }),
        ),
      );
      await Promise.all(
        rooms.map((roomId) =>
          s.write(APP, async (w) => {
            const agg = (await w.room(roomId))!;
            agg.seq = 7;
            await w.saveRoom(APP, agg);
          }),
        ),
      );
      await s.close();
      const again = new SqliteStore(dir);
      try {
        for (const roomId of rooms) assert.equal((await again.read(APP, (r) => r.room(roomId)))?.seq, 7, roomId);
        const read = await again.read(APP, (r) => r.audit({ limit: 100 }));
        assert.deepEqual(read.map((e) => e.id).sort(), entries.map((e) => e.id).sort());
      } finally {
        await again.close();
      }
    }));

  it('a later unit reads an earlier one\'s state before it commits; the outbox shows only committed events', () =>
    withSqlite(async (s) => {
      await s.write(APP, (w) => w.insertRoom(makeAgg(APP, 'r1')));
      const commits = s.commits;
      const a = s.write(APP, async (w) => {
        const agg = (await w.room('r1'))!;
        agg.seq = 1;
        await w.saveRoom(APP, agg);
        await w.appendEvents([makeEvent(APP, 'r1', 1, 1)]);
      });
      const b = s.write(APP, async (w) => {
        const agg = (await w.room('r1'))!; // waits for A's locks, not for A's commit
        assert.equal(s.commits, commits, 'A has not committed yet');
        assert.equal(agg.seq, 1);
        assert.deepEqual((await s.readOutbox('', 10)).events, []);
        agg.seq = 2;
        await w.saveRoom(APP, agg);
      });
      await Promise.all([a, b]);
      assert.equal(s.commits, commits + 1);
      assert.equal((await s.readOutbox('', 10)).events.length, 1);
    }));

  it('a failed statement fails its whole batch, memory is reloaded from disk, and the store carries on', () =>
    withSqlite(async (s, dir) => {
      await s.write(APP, (w) => w.insertRoom(makeAgg(APP, 'r1')));
      dbOf(s).exec(`CREATE TRIGGER boom BEFORE INSERT ON members WHEN NEW.user_id = 'boom' BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END`);
      const ok = s.write(APP, (w) => w.putMember('r1', makeMember('fine')));
      const bad = s.write(APP, (w) => w.putMember('r1', makeMember('boom')));
      const [okResult, badResult] = await Promise.allSettled([ok, bad]);
      assert.equal(badResult.status, 'rejected');
      // Both normally share the failed batch; on a loaded machine the first unit's batch can reach
      // its age bound and commit before the second joins it. Either way memory matches the disk.
      const fineKept = okResult.status === 'fulfilled';
      await s.read(APP, async (r) => {
        assert.equal((await r.member('r1', 'fine')) !== null, fineKept);
        assert.equal(await r.member('r1', 'boom'), null);
        assert.ok(await r.room('r1'));
      });
      await s.write(APP, (w) => w.putMember('r1', makeMember('later')));
      assert.ok(await s.read(APP, (r) => r.member('r1', 'later')));
      // And the disk agrees.
      await s.close();
      const s2 = new SqliteStore(dir);
      try {
        assert.deepEqual((await s2.read(APP, (r) => r.members('r1', '', 10))).map((m) => m.userId), fineKept ? ['fine', 'later'] : ['later']);
      } finally {
        await s2.close();
      }
    }));

  it('a failed COMMIT fails every unit of the batch and memory goes back to what is on disk', () =>
    withSqlite(async (s) => {
      const db = dbOf(s);
      await s.write(APP, (w) => w.insertRoom(makeAgg(APP, 'r1')));
      // A deferred foreign key is checked at COMMIT: a trigger makes it fail for one room.
      db.exec(`
        PRAGMA foreign_keys = ON;
        CREATE TABLE parent (id INTEGER PRIMARY KEY);
        CREATE TABLE child (pid INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
        CREATE TRIGGER late AFTER INSERT ON outbox WHEN NEW.room_id = 'late' BEGIN INSERT INTO child VALUES (42); END;
      `);
      const units = [
        s.write(APP, async (w) => {
          const a = (await w.room('r1'))!;
          a.seq = 9;
          await w.saveRoom(APP, a);
        }),
        s.write(APP, (w) => w.appendEvents([makeEvent(APP, 'late', 1, 1)])),
      ];
      const results = await Promise.allSettled(units);
      assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
      assert.equal((await s.read(APP, (r) => r.room('r1')))!.seq, 0);
      assert.deepEqual((await s.readOutbox('', 10)).events, []);
      assert.deepEqual(await s.roomEvents(APP, 'late', 0, 10), [], 'catch-up never serves a rolled-back event');
      db.exec('DROP TRIGGER late');
      await s.write(APP, async (w) => {
        const a = (await w.room('r1'))!;
        a.seq = 3;
        await w.saveRoom(APP, a);
      });
      assert.equal((await s.read(APP, (r) => r.room('r1')))!.seq, 3);
    }));

  it('a unit running while the store reloads fails instead of writing over the reloaded state', () =>
    withSqlite(async (s) => {
      await s.write(APP, (w) => w.insertRoom(makeAgg(APP, 'r1')));
      dbOf(s).exec(`CREATE TRIGGER boom BEFORE INSERT ON members WHEN NEW.user_id = 'boom' BEGIN SELECT RAISE(ABORT, 'simulated'); END`);
      let go!: () => void;
      const gate = new Promise<void>((r) => (go = r));
      const slow = s.write(APP, async (w) => {
        await w.putMember('r1', makeMember('slow'));
        await gate;
      });
      await assert.rejects(s.write(APP, (w) => w.putMember('r1', makeMember('boom'))));
      go();
      await assert.rejects(slow, /reloaded/);
      assert.equal(await s.read(APP, (r) => r.member('r1', 'slow')), null);
    }));
});

describe('SqliteStore: schema version 3', () => {
  it('adds the audit table to a version 2 database and keeps its data', async () => {
    const dir = await tempDir();
    try {
      const s = new SqliteStore(dir);
      await s.write(APP, (w) => w.insertRoom(makeAgg(APP, 'r1')));
      await s.close();
      const db = new Database(join(dir, 'rostrum.sqlite'));
      db.exec('DROP TABLE audit');
      db.pragma('user_version = 2');
      db.close();
      const s2 = new SqliteStore(dir);
      try {
        assert.ok(await s2.read(APP, (r) => r.room('r1')));
        const entry = { id: newId(5), at: 5, roomId: 'r1', actor: 'a', actorKind: 'admin' as const, surface: 'api' as const, action: 'ban' as const, targetType: 'userId' as const, target: 'u', reason: '', expiresAt: null };
        await s2.write(APP, (w) => w.appendAudit([entry]));
        assert.deepEqual(await s2.read(APP, (r) => r.audit({ limit: 5 })), [entry]);
      } finally {
        await s2.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('SqliteStore: schema version 3 (nonces)', () => {
  it('upgrades a version 2 database: its data kept, the nonces table added', async () => {
    const dir = await tempDir();
    try {
      const db = new Database(join(dir, 'rostrum.sqlite'));
      db.exec(SCHEMA);
      db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('kept', 'yes');
      db.pragma('user_version = 2');
      db.close();
      const s = new SqliteStore(dir);
      try {
        assert.equal(await s.getMeta('kept'), 'yes');
        const now = Date.now();
        assert.equal(await s.claimNonce('polyv:a', 'S', now + 1000, now), true);
        assert.equal(await s.claimNonce('polyv:a', 'S', now + 1000, now), false);
      } finally {
        await s.close();
      }
      const after = new Database(join(dir, 'rostrum.sqlite'));
      assert.equal(after.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      after.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('SqliteStore: catch-up reads of the resume window (schema version 7)', () => {
  const now = Date.now();
  const events = (n: number, at = now) => Array.from({ length: n }, (_, i) => makeEvent(APP, 'r1', i + 1, at + i));

  it('upgrades a version 6 database: room_events goes, and its rooms\' recent events are still read after a restart', () =>
    withDataDir(async (dir) => {
      const s = new SqliteStore(dir);
      await s.write(APP, (w) => w.appendEvents(events(3)));
      await s.close();
      // Back to the version 6 layout, with its room_events table.
      const db = rawDb(dir);
      db.exec('CREATE TABLE room_events (id INTEGER PRIMARY KEY, app_id INTEGER NOT NULL, room_id TEXT NOT NULL, seq INTEGER NOT NULL)');
      db.pragma('user_version = 6');
      db.close();
      const s2 = new SqliteStore(dir);
      try {
        assert.deepEqual(await s2.roomEvents(APP, 'r1', 1, 10), events(3).slice(1));
      } finally {
        await s2.close();
      }
      const after = rawDb(dir);
      assert.equal(after.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.equal(after.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'room_events'").pluck().get(), 0);
      after.close();
    }));

  it('at open, indexes the outbox\'s events of the window only; pruned events are gone from catch-up', () =>
    withDataDir(async (dir) => {
      const s = new SqliteStore(dir, { resumeWindowSeconds: 60 });
      const old = events(2, now - 120_000);
      const recent = events(4).slice(2);
      await s.write(APP, (w) => w.appendEvents(old));
      await s.write(APP, (w) => w.appendEvents(recent));
      // While running, what was committed is read, whatever its event time.
      assert.deepEqual(await s.roomEvents(APP, 'r1', 0, 10), [...old, ...recent]);
      await s.close();
      const s2 = new SqliteStore(dir, { resumeWindowSeconds: 60 });
      try {
        assert.deepEqual(await s2.roomEvents(APP, 'r1', 0, 10), recent);
        assert.deepEqual(await s2.roomEvents(APP, 'r1', 3, 10), [recent[1]]);
        await s2.write(APP, (w) => w.appendEvents([makeEvent(APP, 'r1', 5, now)]));
        assert.deepEqual((await s2.roomEvents(APP, 'r1', 2, 10)).map((e) => e.seq), [3, 4, 5]);
        // Retention removes outbox rows: catch-up has nothing left to read.
        assert.equal(await s2.pruneOutbox(Number.MAX_SAFE_INTEGER, 10), 5);
        assert.deepEqual(await s2.roomEvents(APP, 'r1', 0, 10), []);
      } finally {
        await s2.close();
      }
    }));
});

describe('SqliteStore: room settings in rows of their own (schema version 6)', () => {
  it('writes a room\'s settings only when they change, and deletes them with the room', () =>
    withDataDir(async (dir) => {
      const s = new SqliteStore(dir);
      await s.write(APP, (w) => w.insertRoom(makeAgg(APP, 'r1', 4)));
      const counter = rawDb(dir);
      counter.exec(`
        CREATE TABLE settings_writes (n INTEGER NOT NULL); INSERT INTO settings_writes VALUES (0);
        CREATE TRIGGER count_settings AFTER INSERT ON room_settings BEGIN UPDATE settings_writes SET n = n + 1; END;
      `);
      const writes = () => counter.prepare('SELECT n FROM settings_writes').pluck().get() as number;
      for (let i = 0; i < 5; i++) {
        await s.write(APP, async (w) => {
          const agg = (await w.room('r1'))!;
          agg.seats[0] = { ...agg.seats[0], userId: i % 2 ? null : 'u1' };
          agg.seq++;
          await w.saveRoom(APP, agg);
        });
      }
      assert.equal(writes(), 0, 'seat changes leave the settings alone');
      await s.write(APP, async (w) => {
        const agg = (await w.room('r1'))!;
        agg.room = { ...agg.room, name: 'renamed', inviteeIds: ['u2'] };
        await w.saveRoom(APP, agg);
      });
      assert.equal(writes(), 1);
      // Settings are replaced, never changed in place: a room saved with the object it was read
      // with (the memory state's) leaves its settings row alone.
      await s.write(APP, async (w) => {
        const agg = (await w.room('r1'))!;
        agg.memberCount++;
        await w.saveRoom(APP, agg);
      });
      assert.equal(writes(), 1, 'unchanged settings are not written again');
      counter.close();
      await s.close();

      const s2 = new SqliteStore(dir);
      try {
        const agg = (await s2.read(APP, (r) => r.room('r1')))!;
        assert.equal(agg.room.name, 'renamed');
        assert.deepEqual(agg.room.inviteeIds, ['u2']);
        assert.equal(agg.seats[0].userId, 'u1');
        assert.equal(agg.seq, 5);
        await s2.write(APP, (w) => w.deleteRoom('r1'));
      } finally {
        await s2.close();
      }
      const after = rawDb(dir);
      assert.equal(after.prepare('SELECT count(*) FROM room_settings').pluck().get(), 0);
      after.close();
    }));

  it('upgrades a version 5 database: each room\'s settings move out of its state', () =>
    withDataDir(async (dir) => {
      const agg = makeAgg(APP, 'r1', 3);
      const s = new SqliteStore(dir);
      await s.write(APP, (w) => w.insertRoom(agg));
      await s.close();
      // Back to version 5: the settings inside the state, no room_settings table.
      const v5 = rawDb(dir);
      v5.exec(`
        UPDATE rooms SET state = json_set(state, '$.room', json((SELECT settings FROM room_settings s WHERE s.app_id = rooms.app_id AND s.room_id = rooms.room_id)));
        DROP TABLE room_settings;
      `);
      v5.pragma('user_version = 5');
      v5.close();
      const s2 = new SqliteStore(dir);
      try {
        assert.deepEqual(await s2.read(APP, (r) => r.room('r1')), agg);
      } finally {
        await s2.close();
      }
      const after = rawDb(dir);
      assert.equal(after.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.equal(after.prepare("SELECT json_type(state, '$.room') FROM rooms").pluck().get(), null);
      assert.deepEqual(JSON.parse(after.prepare('SELECT settings FROM room_settings').pluck().get() as string), agg.room);
      after.close();
    }));
});

describe('SqliteStore: the audit log on disk (schema version 5)', () => {
  it('reads the log from the database, not from memory, and upgrades a version 4 database with its index', async () => {
    const dir = await tempDir();
    try {
      const s = new SqliteStore(dir);
      const entries = [1000, 2000, 3000].map((at) => makeAudit({ at }));
      await s.write(APP, (w) => w.appendAudit(entries));
      // A change made by another connection is what the store reads: nothing of the log is cached.
      const other = new Database(join(dir, 'rostrum.sqlite'));
      other.prepare("UPDATE audit SET reason = 'edited on disk' WHERE id = ?").run(entries[1].id);
      other.close();
      await s.read(APP, async (r) => {
        assert.deepEqual((await r.audit({ limit: 10 })).map((e) => e.reason), ['spam', 'edited on disk', 'spam']);
        // Time bounds are exact at their edges.
        assert.deepEqual((await r.audit({ limit: 10, from: 2000, to: 3000 })).map((e) => e.at), [2000]);
        assert.deepEqual((await r.audit({ limit: 10, from: 2001, to: 3001 })).map((e) => e.at), [3000]);
      });
      await s.close();

      // Back to version 4: no audit_app index.
      const db = new Database(join(dir, 'rostrum.sqlite'));
      db.exec('DROP INDEX audit_app');
      db.pragma('user_version = 4');
      db.close();
      const s2 = new SqliteStore(dir);
      try {
        await s2.read(APP, async (r) => assert.deepEqual((await r.audit({ limit: 2 })).map((e) => e.at), [3000, 2000]));
      } finally {
        await s2.close();
      }
      const after = new Database(join(dir, 'rostrum.sqlite'));
      assert.equal(after.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      const plan = after
        .prepare("EXPLAIN QUERY PLAN SELECT * FROM audit WHERE app_id = 1 AND id < 'z' AND id >= '0' ORDER BY id DESC LIMIT 5")
        .all() as { detail: string }[];
      assert.match(plan.map((p) => p.detail).join('\n'), /audit_app/, 'pages walk the (app_id, id) index');
      after.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('SqliteOutboxReader (the callback relay thread\'s view of the outbox)', () => {
  it('pages committed events with the store\'s own cursors, and never an uncommitted one', async () => {
    const dir = await tempDir();
    try {
      const s = new SqliteStore(dir);
      const evs = [1, 2, 3].map((i) => makeEvent(APP, 'r1', i, 1000 * i));
      await s.write(APP, (w) => w.appendEvents(evs));
      const reader = new SqliteOutboxReader(dir);
      try {
        const first = await reader.readOutbox('', 2);
        assert.deepEqual(first, await s.readOutbox('', 2), 'the same page and cursor as the store');
        assert.deepEqual((await reader.readOutbox(first.cursor, 10)).events, [evs[2]]);
        assert.equal(await reader.outboxHead(), await s.outboxHead());
        // A transaction still open on another connection: its row is not there yet.
        const head = await reader.outboxHead();
        const writer = new Database(join(dir, 'rostrum.sqlite'));
        writer.exec('BEGIN IMMEDIATE');
        writer.prepare('INSERT INTO outbox (app_id, room_id, seq, at, event) VALUES (?, ?, ?, ?, ?)').run(APP, 'r1', 4, 4000, JSON.stringify(makeEvent(APP, 'r1', 4, 4000)));
        assert.deepEqual((await reader.readOutbox(head, 10)).events, []);
        assert.equal(await reader.outboxHead(), head);
        writer.exec('ROLLBACK');
        writer.close();
        await assert.rejects(reader.readOutbox('x', 1), /bad outbox cursor/);
      } finally {
        reader.close();
        await s.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
