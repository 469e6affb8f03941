// The Store port's contract: every adapter (memory, sqlite, postgres) runs these tests, so the
// core can rely on one behaviour whatever is underneath.
//
// `open()` must give an EMPTY store (no rooms, no outbox events, no meta) of its own.
// `reopen()`, when given, closes the current store (and any earlier reopened one) and returns a
// fresh Store over the same data; `cleanup()` closes the latest store and removes the data.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RoomEvent } from '../../src/core/events.js';
import type { ChatMessage, DenyEntry, MessageQuery, Member, MuteEntry, RoomAggregate } from '../../src/core/model.js';
import type { EntryQuery, HistoryQuery, MessageKey, Store } from '../../src/core/ports/store.js';
import { operatorReadsContract } from './operator-contract.js';

export interface OpenedStore {
  store: Store;
  reopen?: () => Promise<Store>;
  cleanup: () => Promise<void>;
}

// ------------------------------------------------------------------------------- builders

const APP = 1400000001;
const OTHER_APP = 1400000002;

export function makeAgg(appId: number, roomId: string, seats = 3): RoomAggregate {
  return {
    room: {
      appId,
      roomId,
      name: `room ${roomId}`,
      type: 'Conference',
      ownerId: 'owner',
      maxMemberCount: 300,
      maxSeatCount: seats,
      isSeatEnabled: true,
      takeSeatMode: 'FreeToTake',
      isVideoDisabled: false,
      isAudioDisabled: false,
      isMessageDisabled: false,
      isScreenSharingDisabled: false,
      isCloudRecordingDisabled: false,
      customInfo: '',
      isPasswordEnabled: false,
      password: '',
      scheduleStartTime: 0,
      scheduleEndTime: 0,
      createTime: 1700000000,
      inviteeIds: [],
    },
    seats: Array.from({ length: seats }, (_, index) => ({ index, userId: null, locked: false, videoDisabled: false, audioDisabled: false })),
    admins: [],
    requests: [],
    memberCount: 0,
    seq: 0,
  };
}

export function makeMember(userId: string, clientIp = '10.0.0.1', connId = ''): Member {
  return {
    userId,
    role: 'Member',
    nameCard: `nick ${userId}`,
    avatar: `https://img/${userId}.png`,
    userType: 'viewer',
    marks: [1, 2],
    customInfo: '',
    clientIp,
    connId,
    joinedAt: 1700000000000,
  };
}

let entrySeq = 0;
function entryId(createdAt: number): string {
  // Time-ordered like the core's ids (src/core/ids.ts), and unique within the test run.
  return `${createdAt.toString(36).padStart(9, '0')}${(++entrySeq).toString(36).padStart(5, '0')}cafe0001`;
}

export function makeDeny(p: Partial<DenyEntry> & { subject: string }): DenyEntry {
  const createdAt = p.createdAt ?? 1000;
  return {
    id: p.id ?? entryId(createdAt),
    roomId: p.roomId ?? 'r1',
    subjectType: p.subjectType ?? 'userId',
    subject: p.subject,
    origin: p.origin ?? 'tencent',
    expiresAt: p.expiresAt === undefined ? null : p.expiresAt,
    reason: p.reason ?? 'spam',
    actor: p.actor ?? 'admin',
    createdAt,
    snapshot:
      p.snapshot === undefined
        ? { userId: p.subject, nick: 'n', pic: 'p', userType: 'viewer', clientIp: '10.0.0.9', uid: 'c1' }
        : p.snapshot,
  };
}

export function makeMute(p: Partial<MuteEntry> & { subject: string }): MuteEntry {
  const { snapshot: _snapshot, ...mute } = makeDeny(p);
  return mute;
}

export function makeEvent(appId: number, roomId: string, seq: number, at: number): RoomEvent {
  return {
    appId,
    roomId,
    seq,
    at,
    type: 'kickedOffSeat',
    actor: 'admin',
    data: { userId: 'u1', index: 0, data: 'bye', reason: '' },
  };
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Fails instead of hanging when units deadlock. */
export async function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer!: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

class Boom extends Error {}

async function createRoom(store: Store, appId: number, roomId: string, seats = 3): Promise<void> {
  const ok = await store.write(appId, (w) => w.insertRoom(makeAgg(appId, roomId, seats)));
  assert.equal(ok, true);
}

const sortStr = (a: string[]) => [...a].sort();
const ids = (es: { id: string }[]) => es.map((e) => e.id);

// ------------------------------------------------------------------------------- the contract

export function storeContract(name: string, open: () => Promise<OpenedStore>): void {
  /** Runs a test body over a fresh store and always cleans up. */
  const withStore = (body: (s: Store, o: OpenedStore) => Promise<void>) => async () => {
    const o = await open();
    try {
      await body(o.store, o);
    } finally {
      await o.cleanup();
    }
  };

  describe(`Store contract: ${name}`, () => {
    describe('rooms', () => {
      it('inserts, reads, locks, saves and deletes a room aggregate', withStore(async (s) => {
        assert.equal(await s.read(APP, (r) => r.room('r1')), null);
        await createRoom(s, APP, 'r1');
        assert.deepEqual(await s.read(APP, (r) => r.room('r1')), makeAgg(APP, 'r1'));

        await s.write(APP, async (w) => {
          const agg = (await w.room('r1'))!;
          agg.room = { ...agg.room, name: 'renamed', inviteeIds: [...agg.room.inviteeIds, 'guest'] };
          agg.seats[1] = { ...agg.seats[1], userId: 'u1' };
          agg.admins.push('adm');
          agg.requests.push({ id: 'q1', userId: 'u2', kind: 'apply', index: 2, actor: 'u2', createdAt: 5 });
          agg.memberCount = 2;
          agg.seq = 7;
          await w.saveRoom(APP, agg);
        });
        const after = (await s.read(APP, (r) => r.room('r1')))!;
        assert.equal(after.room.name, 'renamed');
        assert.deepEqual(after.room.inviteeIds, ['guest']);
        assert.equal(after.seats[1].userId, 'u1');
        assert.deepEqual(after.admins, ['adm']);
        assert.deepEqual(after.requests, [{ id: 'q1', userId: 'u2', kind: 'apply', index: 2, actor: 'u2', createdAt: 5 }]);
        assert.equal(after.memberCount, 2);
        assert.equal(after.seq, 7);

        const locked = await s.write(APP, (w) => w.lock(['r1', 'nope']));
        assert.deepEqual([...locked.keys()], ['r1']);
        assert.equal(locked.get('r1')!.room.name, 'renamed');
      }));

      it('insertRoom returns false for an existing room and keeps it unchanged', withStore(async (s) => {
        await createRoom(s, APP, 'r1');
        const again = makeAgg(APP, 'r1');
        again.room = { ...again.room, name: 'other' };
        assert.equal(await s.write(APP, (w) => w.insertRoom(again)), false);
        assert.equal((await s.read(APP, (r) => r.room('r1')))!.room.name, 'room r1');
      }));

      it('deleteRoom takes the members and the room-scoped entries with it, not app-wide or other rooms', withStore(async (s) => {
        await createRoom(s, APP, 'r1');
        await createRoom(s, APP, 'r2');
        const d1 = makeDeny({ subject: 'u9', roomId: 'r1' });
        const d2 = makeDeny({ subject: 'u9', roomId: 'r2' });
        const dApp = makeDeny({ subject: 'u9', roomId: '' });
        const m1 = makeMute({ subject: 'u8', roomId: 'r1' });
        const mApp = makeMute({ subject: 'u8', roomId: '' });
        await s.write(APP, async (w) => {
          await w.putMember('r1', makeMember('u1', '1.1.1.1'));
          await w.putMember('r1', makeMember('u2', '1.1.1.1'));
          await w.putMember('r2', makeMember('u1', '1.1.1.1'));
          for (const e of [d1, d2, dApp]) await w.insertEntry('deny', e);
          for (const e of [m1, mApp]) await w.insertEntry('mute', e);
        });
        await s.write(APP, async (w) => {
          assert.ok(await w.room('r1'));
          await w.deleteRoom('r1');
          assert.equal(await w.room('r1'), null, 'gone inside the unit');
          assert.equal(await w.member('r1', 'u1'), null);
        });
        await s.read(APP, async (r) => {
          assert.equal(await r.room('r1'), null);
          assert.ok(await r.room('r2'));
          assert.equal(await r.member('r1', 'u1'), null);
          assert.deepEqual(await r.members('r1', '', 100), []);
          assert.deepEqual(await r.membersByIp('r1', '1.1.1.1'), []);
          assert.deepEqual(await r.roomsWith({ subjectType: 'userId', subject: 'u1' }), ['r2']);
          assert.deepEqual(await r.roomsWith({ subjectType: 'ip', subject: '1.1.1.1' }), ['r2']);
          assert.deepEqual(await r.roomsWith({ subjectType: 'userId', subject: 'u2' }), []);
          assert.deepEqual(sortStr(ids(await r.list('deny', { activeAt: 0 }))), sortStr([d2.id, dApp.id]));
          assert.deepEqual(ids(await r.list('mute', { activeAt: 0 })), [mApp.id]);
          assert.equal(await r.count('deny', { activeAt: 0, roomId: 'r1' }), 0);
        });
        // The id is free again.
        await createRoom(s, APP, 'r1');
        assert.deepEqual(await s.read(APP, (r) => r.members('r1', '', 100)), []);
      }));
    });

    describe('members', () => {
      it('puts, gets, replaces, pages, finds by IP, and deletes members', withStore(async (s) => {
        await createRoom(s, APP, 'r1');
        await createRoom(s, APP, 'r2');
        await s.write(APP, async (w) => {
          for (const u of ['u3', 'u1', 'u5', 'u2', 'u4']) await w.putMember('r1', makeMember(u, u === 'u2' || u === 'u4' ? '2.2.2.2' : '1.1.1.1'));
          await w.putMember('r2', makeMember('u1', '3.3.3.3'));
        });
        await s.read(APP, async (r) => {
          assert.deepEqual(await r.member('r1', 'u3'), makeMember('u3', '1.1.1.1'));
          assert.equal(await r.member('r1', 'nobody'), null);
          assert.equal(await r.member('nope', 'u1'), null);
          assert.deepEqual((await r.members('r1', '', 2)).map((m) => m.userId), ['u1', 'u2']);
          assert.deepEqual((await r.members('r1', 'u2', 2)).map((m) => m.userId), ['u3', 'u4']);
          assert.deepEqual((await r.members('r1', 'u4', 2)).map((m) => m.userId), ['u5']);
          assert.deepEqual(await r.members('r1', 'u5', 2), []);
          assert.deepEqual((await r.membersByIp('r1', '2.2.2.2')).map((m) => m.userId).sort(), ['u2', 'u4']);
          assert.deepEqual(await r.membersByIp('r1', '3.3.3.3'), []);
          assert.deepEqual(sortStr(await r.roomsWith({ subjectType: 'userId', subject: 'u1' })), ['r1', 'r2']);
          assert.deepEqual(await r.roomsWith({ subjectType: 'ip', subject: '3.3.3.3' }), ['r2']);
          assert.deepEqual(await r.roomsWith({ subjectType: 'ip', subject: '1.1.1.1' }), ['r1']);
          assert.deepEqual(await r.roomsWith({ subjectType: 'userId', subject: 'nobody' }), []);
        });
        // Replacing a member moves it between IP indexes.
        await s.write(APP, async (w) => {
          const m = { ...makeMember('u1', '9.9.9.9', 'node1:c7'), role: 'Admin' as const, nameCard: 'new' };
          await w.putMember('r1', m);
          await w.deleteMember('r1', 'u2');
          await w.deleteMember('r1', 'not-there');
        });
        await s.read(APP, async (r) => {
          const m = (await r.member('r1', 'u1'))!;
          assert.equal(m.role, 'Admin');
          assert.equal(m.nameCard, 'new');
          assert.equal(m.connId, 'node1:c7');
          assert.deepEqual((await r.membersByIp('r1', '9.9.9.9')).map((x) => x.userId), ['u1']);
          assert.deepEqual((await r.membersByIp('r1', '1.1.1.1')).map((x) => x.userId).sort(), ['u3', 'u5']);
          assert.deepEqual((await r.membersByIp('r1', '2.2.2.2')).map((x) => x.userId), ['u4']);
          assert.equal(await r.member('r1', 'u2'), null);
          assert.deepEqual(await r.roomsWith({ subjectType: 'userId', subject: 'u2' }), []);
          assert.deepEqual(await r.roomsWith({ subjectType: 'ip', subject: '9.9.9.9' }), ['r1']);
          assert.deepEqual((await r.members('r1', '', 10)).map((x) => x.userId), ['u1', 'u3', 'u4', 'u5']);
        });
      }));

      it('a member read back is a copy: changing it changes nothing stored', withStore(async (s) => {
        await createRoom(s, APP, 'r1');
        await s.write(APP, (w) => w.putMember('r1', makeMember('u1')));
        const m = (await s.read(APP, (r) => r.member('r1', 'u1')))!;
        m.nameCard = 'mutated';
        m.marks.push(99);
        assert.deepEqual(await s.read(APP, (r) => r.member('r1', 'u1')), makeMember('u1'));
      }));

      it('connectedMembers lists the members of every app on connections with the prefix', withStore(async (s) => {
        await createRoom(s, APP, 'r1');
        await createRoom(s, OTHER_APP, 'r1');
        await s.write(APP, async (w) => {
          await w.putMember('r1', makeMember('a', '1.1.1.1', 'n1:1'));
          await w.putMember('r1', makeMember('b', '1.1.1.1', 'n2:1'));
          await w.putMember('r1', makeMember('c', '1.1.1.1', ''));
        });
        await s.write(OTHER_APP, (w) => w.putMember('r1', makeMember('d', '1.1.1.1', 'n1:2')));
        const got = (await s.connectedMembers('n1:')).sort((x, y) => x.connId.localeCompare(y.connId));
        assert.deepEqual(got, [
          { appId: APP, roomId: 'r1', userId: 'a', connId: 'n1:1' },
          { appId: OTHER_APP, roomId: 'r1', userId: 'd', connId: 'n1:2' },
        ]);
        assert.equal((await s.connectedMembers('')).length, 3, 'an empty prefix: every connected member, never the unconnected');
        assert.deepEqual(await s.connectedMembers('n3:'), []);
      }));

      it('connectedNodes lists each node of connected members once, of every app', withStore(async (s) => {
        assert.deepEqual(await s.connectedNodes(), []);
        await createRoom(s, APP, 'r1');
        await createRoom(s, APP, 'r2');
        await createRoom(s, OTHER_APP, 'r1');
        // Ids that are prefixes of one another, or sort around ':' and ';', are told apart.
        const conns = ['n1:a.1', 'n1:b.2', 'n1-x:c.1', 'n1x:d.1', 'n1.5:e.1', 'n2:f.1', 'n1:g.3'];
        await s.write(APP, async (w) => {
          for (const [i, conn] of conns.entries()) await w.putMember(i % 2 ? 'r1' : 'r2', makeMember(`u${i}`, '1.1.1.1', conn));
          await w.putMember('r1', makeMember('offline', '1.1.1.1', ''));
          await w.putMember('r1', makeMember('nonode', '1.1.1.1', 'plain'));
        });
        await s.write(OTHER_APP, (w) => w.putMember('r1', makeMember('z', '1.1.1.1', 'n3:z.1')));
        assert.deepEqual((await s.connectedNodes()).sort(), ['n1', 'n1-x', 'n1.5', 'n1x', 'n2', 'n3']);
        await s.write(APP, async (w) => {
          await w.deleteMember('r1', 'u5');
        });
        assert.deepEqual((await s.connectedNodes()).sort(), ['n1', 'n1-x', 'n1.5', 'n1x', 'n3'], 'n2 had one member, now gone');
      }));
    });

    describe('deny and mute entries', () => {
      it('matching() finds active entries of the subjects in the room and app-wide', withStore(async (s) => {
        await createRoom(s, APP, 'r1');
        const now = 10_000;
        const inRoom = makeDeny({ subject: 'u1', roomId: 'r1' });
        const appWide = makeDeny({ subject: 'u1', roomId: '', expiresAt: now + 1 });
        const otherRoom = makeDeny({ subject: 'u1', roomId: 'r2' });
        const expired = makeDeny({ subject: 'u1', roomId: 'r1', expiresAt: now });
        const byIp = makeDeny({ subject: '7.7.7.7', subjectType: 'ip', roomId: 'r1' });
        const userNamedLikeIp = makeDeny({ subject: '7.7.7.7', subjectType: 'userId', roomId: 'r1' });
        const otherUser = makeDeny({ subject: 'u2', roomId: 'r1' });
        const mute = makeMute({ subject: 'u1', roomId: 'r1' });
        await s.write(APP, async (w) => {
          for (const e of [inRoom, appWide, otherRoom, expired, byIp, userNamedLikeIp, otherUser]) await w.insertEntry('deny', e);
          await w.insertEntry('mute', mute);
        });
        await s.read(APP, async (r) => {
          const got = await r.matching('deny', 'r1', [{ subjectType: 'userId', subject: 'u1' }, { subjectType: 'ip', subject: '7.7.7.7' }], now);
          assert.deepEqual(sortStr(ids(got)), sortStr([inRoom.id, appWide.id, byIp.id]));
          assert.deepEqual(got.find((e) => e.id === inRoom.id), inRoom, 'the whole entry, snapshot included');
          const later = await r.matching('deny', 'r1', [{ subjectType: 'userId', subject: 'u1' }], now + 1);
          assert.deepEqual(ids(later), [inRoom.id], 'the app-wide one expired at now + 1');
          const inOther = await r.matching('deny', 'r3', [{ subjectType: 'userId', subject: 'u1' }], now);
          assert.deepEqual(ids(inOther), [appWide.id]);
          assert.deepEqual(await r.matching('deny', 'r1', [], now), []);
          assert.deepEqual(await r.matching('mute', 'r1', [{ subjectType: 'userId', subject: 'u1' }], now), [mute]);
          assert.deepEqual(await r.matching('mute', 'r1', [{ subjectType: 'ip', subject: 'u1' }], now), []);
        });
        // A deny entry without a snapshot keeps null.
        const bare = makeDeny({ subject: 'u5', snapshot: null });
        await s.write(APP, (w) => w.insertEntry('deny', bare));
        assert.deepEqual(await s.read(APP, (r) => r.matching('deny', 'r1', [{ subjectType: 'userId', subject: 'u5' }], now)), [bare]);
      }));

      it('pruneEntries() drops deny and mute entries that ended before the time (every app), up to the limit, for good', withStore(async (s, o) => {
        const ended = [
          makeDeny({ subject: 'e1', roomId: 'r1', expiresAt: 100 }),
          makeDeny({ subject: 'e2', roomId: '', expiresAt: 200 }),
          makeDeny({ subject: 'e3', roomId: 'r2', expiresAt: 300 }),
        ];
        const endedMute = makeMute({ subject: 'e4', roomId: 'r1', expiresAt: 250 });
        const endedOther = makeDeny({ subject: 'e5', roomId: 'r1', expiresAt: 100 });
        const kept = [makeDeny({ subject: 'k1', roomId: 'r1', expiresAt: 1000 }), makeDeny({ subject: 'k2', roomId: 'r1' }), makeDeny({ subject: 'k3', roomId: 'r1', expiresAt: 999 })];
        const keptMute = makeMute({ subject: 'k4', roomId: '', expiresAt: 999 });
        await s.write(APP, async (w) => {
          for (const e of [...ended, ...kept]) await w.insertEntry('deny', e);
          await w.insertEntry('mute', endedMute);
          await w.insertEntry('mute', keptMute);
        });
        await s.write(OTHER_APP, (w) => w.insertEntry('deny', endedOther));
        // Ended at or after the time: kept (an entry is in force until its end, excluded).
        assert.equal(await s.pruneEntries(100, 10), 0);
        assert.equal(await s.pruneEntries(999, 2), 2);
        assert.equal(await s.pruneEntries(999, 10), 3);
        assert.equal(await s.pruneEntries(999, 10), 0);
        const all = async (store: Store, appId: number, list: 'deny' | 'mute') => sortStr(ids(await store.read(appId, (r) => r.list(list, { activeAt: 0 }))));
        const check = async (store: Store) => {
          assert.deepEqual(await all(store, APP, 'deny'), sortStr(ids(kept)));
          assert.deepEqual(await all(store, APP, 'mute'), [keptMute.id]);
          assert.deepEqual(await all(store, OTHER_APP, 'deny'), []);
          assert.deepEqual(await store.read(APP, (r) => r.matching('deny', 'r1', [{ subjectType: 'userId', subject: 'e1' }], 0)), []);
        };
        await check(s);
        if (o.reopen) await check(await o.reopen());
      }));

      it('list() and count() filter by scope, subject, origin and activity, ordered by (createdAt, id), paged', withStore(async (s) => {
        const e = [
          makeDeny({ subject: 'u1', roomId: 'r1', createdAt: 30, origin: 'polyv' }),
          makeDeny({ subject: 'u2', roomId: 'r1', createdAt: 10, origin: 'tencent' }),
          makeDeny({ subject: '1.2.3.4', subjectType: 'ip', roomId: 'r1', createdAt: 20, origin: 'polyv' }),
          makeDeny({ subject: 'u1', roomId: '', createdAt: 20, origin: 'tencent' }),
          makeDeny({ subject: 'u3', roomId: 'r2', createdAt: 40, origin: 'realtime', expiresAt: 500 }),
          makeDeny({ subject: 'u4', roomId: 'r1', createdAt: 10, origin: 'polyv', expiresAt: 100 }),
        ];
        // Same createdAt: the id decides.
        const [a, b] = [makeDeny({ id: 'zz-late', subject: 'u5', roomId: 'r1', createdAt: 50 }), makeDeny({ id: 'aa-early', subject: 'u6', roomId: 'r1', createdAt: 50 })];
        await s.write(APP, async (w) => {
          for (const x of [...e, a, b]) await w.insertEntry('deny', x);
        });
        const L = (q: EntryQuery) =>
          s.read(APP, async (r) => ({ list: ids(await r.list('deny', q)), count: await r.count('deny', q) }));

        assert.deepEqual(await L({ activeAt: 0 }), { list: [e[1].id, e[5].id, e[2].id, e[3].id, e[0].id, e[4].id, b.id, a.id], count: 8 });
        assert.deepEqual(await L({ activeAt: 100 }), { list: [e[1].id, e[2].id, e[3].id, e[0].id, e[4].id, b.id, a.id], count: 7 }, 'expired at 100');
        assert.deepEqual(await L({ activeAt: 500 }), { list: [e[1].id, e[2].id, e[3].id, e[0].id, b.id, a.id], count: 6 });
        assert.deepEqual(await L({ activeAt: 0, roomId: 'r1' }), { list: [e[1].id, e[5].id, e[2].id, e[0].id, b.id, a.id], count: 6 });
        assert.deepEqual(await L({ activeAt: 0, roomId: '' }), { list: [e[3].id], count: 1 });
        assert.deepEqual(await L({ activeAt: 0, roomId: 'zz' }), { list: [], count: 0 });
        assert.deepEqual(await L({ activeAt: 0, subjectType: 'ip' }), { list: [e[2].id], count: 1 });
        assert.deepEqual(await L({ activeAt: 0, subjectType: 'userId', subject: 'u1' }), { list: [e[3].id, e[0].id], count: 2 });
        assert.deepEqual(await L({ activeAt: 0, subject: 'u1', roomId: 'r1' }), { list: [e[0].id], count: 1 });
        assert.deepEqual(await L({ activeAt: 0, origin: 'polyv' }), { list: [e[5].id, e[2].id, e[0].id], count: 3 });
        assert.deepEqual(await L({ activeAt: 0, origin: 'polyv', roomId: 'r1', subjectType: 'userId' }), { list: [e[5].id, e[0].id], count: 2 });
        // Paging: limit/offset over the same order; count ignores them.
        assert.deepEqual(await L({ activeAt: 0, limit: 3 }), { list: [e[1].id, e[5].id, e[2].id], count: 8 });
        assert.deepEqual(await L({ activeAt: 0, limit: 3, offset: 3 }), { list: [e[3].id, e[0].id, e[4].id], count: 8 });
        assert.deepEqual(await L({ activeAt: 0, limit: 3, offset: 6 }), { list: [b.id, a.id], count: 8 });
        assert.deepEqual(await L({ activeAt: 0, offset: 7 }), { list: [a.id], count: 8 });
        assert.deepEqual(await L({ activeAt: 0, limit: 0 }), { list: [], count: 8 });
        // Full entries come back.
        const got = await s.read(APP, (r) => r.list('deny', { activeAt: 0, subject: 'u2' }));
        assert.deepEqual(got, [e[1]]);
      }));

      it('mute lists work the same way and are separate from deny lists', withStore(async (s) => {
        const m1 = makeMute({ subject: 'u1', roomId: 'r1', createdAt: 2 });
        const m2 = makeMute({ subject: '5.5.5.5', subjectType: 'ip', roomId: '', createdAt: 1, origin: 'polyv' });
        await s.write(APP, async (w) => {
          await w.insertEntry('mute', m1);
          await w.insertEntry('mute', m2);
        });
        await s.read(APP, async (r) => {
          assert.deepEqual(await r.list('mute', { activeAt: 0 }), [m2, m1]);
          assert.equal(await r.count('mute', { activeAt: 0, origin: 'polyv' }), 1);
          assert.deepEqual(await r.list('deny', { activeAt: 0 }), []);
          assert.deepEqual(await r.matching('mute', 'r9', [{ subjectType: 'ip', subject: '5.5.5.5' }], 0), [m2]);
        });
      }));

      it('deleteEntries removes by id from every index, ignoring unknown ids', withStore(async (s) => {
        const d1 = makeDeny({ subject: 'u1', roomId: 'r1' });
        const d2 = makeDeny({ subject: 'u1', roomId: '' });
        const d3 = makeDeny({ subject: 'u2', roomId: 'r1' });
        const m1 = makeMute({ subject: 'u1', roomId: 'r1' });
        await s.write(APP, async (w) => {
          for (const x of [d1, d2, d3]) await w.insertEntry('deny', x);
          await w.insertEntry('mute', m1);
        });
        await s.write(APP, (w) => w.deleteEntries('deny', [d1.id, d2.id, 'unknown', m1.id]));
        await s.read(APP, async (r) => {
          assert.deepEqual(await r.matching('deny', 'r1', [{ subjectType: 'userId', subject: 'u1' }], 0), []);
          assert.deepEqual(ids(await r.list('deny', { activeAt: 0 })), [d3.id]);
          assert.equal(await r.count('deny', { activeAt: 0, subject: 'u1' }), 0);
          assert.deepEqual(await r.list('mute', { activeAt: 0 }), [m1], 'a deny delete leaves mutes alone');
        });
        await s.write(APP, (w) => w.deleteEntries('mute', [m1.id]));
        assert.equal(await s.read(APP, (r) => r.count('mute', { activeAt: 0 })), 0);
      }));
    });

    describe('outbox and meta', () => {
      it('appendEvents then readOutbox pages in order with a cursor; pruneOutbox drops old ones', withStore(async (s) => {
        const empty = await s.readOutbox('', 10);
        assert.deepEqual([empty.events, empty.cursor], [[], '']);
        await createRoom(s, APP, 'r1');
        const evs = [1, 2, 3, 4, 5].map((i) => makeEvent(APP, 'r1', i, 1000 * i));
        await s.write(APP, (w) => w.appendEvents(evs.slice(0, 2)));
        await s.write(APP, (w) => w.appendEvents([]));
        await s.write(APP, (w) => w.appendEvents(evs.slice(2, 3)));
        const otherApp = makeEvent(OTHER_APP, 'x', 1, 3500);
        await s.write(OTHER_APP, (w) => w.appendEvents([otherApp]));
        await s.write(APP, (w) => w.appendEvents(evs.slice(3)));

        const p1 = await s.readOutbox('', 2);
        assert.deepEqual(p1.events, evs.slice(0, 2));
        // A store that gives the events' stored text gives each event's own.
        if (p1.texts) assert.deepEqual(p1.texts.map((t) => JSON.parse(t)), p1.events);
        const p2 = await s.readOutbox(p1.cursor, 2);
        assert.deepEqual(p2.events, [evs[2], otherApp]);
        const p3 = await s.readOutbox(p2.cursor, 10);
        assert.deepEqual(p3.events, evs.slice(3));
        const p4 = await s.readOutbox(p3.cursor, 10);
        assert.deepEqual(p4.events, []);
        assert.equal(p4.cursor, p3.cursor, 'an empty page keeps the cursor');

        // More events after the end: the old cursor finds exactly them.
        const late = makeEvent(APP, 'r1', 6, 6000);
        await s.write(APP, (w) => w.appendEvents([late]));
        assert.deepEqual((await s.readOutbox(p3.cursor, 10)).events, [late]);

        // Retention: at < 3500, at most 2 per call.
        assert.equal(await s.pruneOutbox(3500, 2), 2);
        assert.equal(await s.pruneOutbox(3500, 10), 1);
        assert.equal(await s.pruneOutbox(3500, 10), 0);
        assert.deepEqual((await s.readOutbox('', 10)).events, [otherApp, evs[3], evs[4], late]);
      }));

      it('outboxHead is a cursor past every committed event: reading from it yields only later ones', withStore(async (s) => {
        assert.deepEqual((await s.readOutbox(await s.outboxHead(), 10)).events, []);
        await createRoom(s, APP, 'r1');
        const evs = [1, 2, 3].map((i) => makeEvent(APP, 'r1', i, 1000 * i));
        await s.write(APP, (w) => w.appendEvents(evs.slice(0, 2)));
        await s.write(OTHER_APP, (w) => w.appendEvents([makeEvent(OTHER_APP, 'x', 1, 1500)]));
        const head = await s.outboxHead();
        assert.deepEqual((await s.readOutbox(head, 10)).events, []);
        await s.write(APP, (w) => w.appendEvents(evs.slice(2)));
        assert.deepEqual((await s.readOutbox(head, 10)).events, [evs[2]]);
        assert.equal(await s.outboxHead(), (await s.readOutbox('', 10)).cursor, 'the same cursor as reading them all');
      }));

      it('roomEvents reads one room\'s events after a seq, in seq order, of its current life only', withStore(async (s) => {
        await createRoom(s, APP, 'r1');
        const r1 = [1, 2, 3, 4, 5].map((i) => makeEvent(APP, 'r1', i, 1000 * i));
        await s.write(APP, (w) => w.appendEvents(r1.slice(0, 3)));
        await s.write(APP, (w) => w.appendEvents([makeEvent(APP, 'r2', 1, 1500), makeEvent(APP, 'r2', 2, 1600)]));
        await s.write(OTHER_APP, (w) => w.appendEvents([makeEvent(OTHER_APP, 'r1', 4, 1700)]));
        await s.write(APP, (w) => w.appendEvents(r1.slice(3)));
        assert.deepEqual(await s.roomEvents(APP, 'r1', 0, 10), r1);
        assert.deepEqual(await s.roomEvents(APP, 'r1', 2, 2), r1.slice(2, 4));
        assert.deepEqual(await s.roomEvents(APP, 'r1', 5, 10), []);
        assert.deepEqual(await s.roomEvents(APP, 'r1', 1, 0), []);
        assert.deepEqual(await s.roomEvents(APP, 'nope', 0, 10), []);
        assert.deepEqual((await s.roomEvents(OTHER_APP, 'r1', 0, 10)).map((e) => e.seq), [4]);

        // Dismissed and created again: seq starts over, and the earlier life's events are not returned.
        const next = [1, 2].map((i) => makeEvent(APP, 'r1', i, 9000 + i));
        await s.write(APP, (w) => w.appendEvents(next));
        assert.deepEqual(await s.roomEvents(APP, 'r1', 0, 10), next);
        assert.deepEqual(await s.roomEvents(APP, 'r1', 1, 10), [next[1]]);

        // Pruned events are gone: the reader sees where its events start.
        await s.pruneOutbox(3500, 100);
        assert.deepEqual((await s.roomEvents(APP, 'r2', 0, 10)), []);
        assert.deepEqual(await s.roomEvents(APP, 'r1', 0, 10), next);
      }));

      it('chat history: appended in a unit, paged newest first by seq, deleted by id, cleared, pruned', withStore(async (s) => {
        const msg = (roomId: string, seq: number, at = 1000 * seq, id = `${roomId}-m${seq}`): ChatMessage => ({
          id, roomId, seq, at, from: 'u1', nick: 'U', avatar: '', text: `t${seq}`, imageUrl: '', admin: false,
        });
        const page = (roomId: string, q: Partial<MessageQuery> = {}, app = APP) =>
          s.read(app, (r) => r.messages(roomId, { sinceAt: 0, limit: 100, ...q }));
        assert.deepEqual(await page('r1'), []);
        await s.write(APP, (w) => w.appendMessages([msg('r1', 1), msg('r1', 2), msg('r2', 1)]));
        await s.write(APP, (w) => w.appendMessages([msg('r1', 3), msg('r1', 4)]));
        await s.write(OTHER_APP, (w) => w.appendMessages([msg('r1', 9)]));
        assert.deepEqual((await page('r1')).map((m) => m.seq), [4, 3, 2, 1]);
        assert.deepEqual(await page('r1', { limit: 1 }), [msg('r1', 4)]);
        assert.deepEqual((await page('r1', { beforeSeq: 3, limit: 10 })).map((m) => m.id), ['r1-m2', 'r1-m1']);
        assert.deepEqual((await page('r1', { sinceAt: 2500 })).map((m) => m.seq), [4, 3]);
        assert.deepEqual((await page('r1', {}, OTHER_APP)).map((m) => m.seq), [9]);
        // An id already kept is ignored (a retried write never doubles a message).
        await s.write(APP, (w) => w.appendMessages([msg('r1', 4)]));
        assert.equal((await page('r1')).length, 4);
        // Which ids a room's history holds: that room's, that app's, inside a unit too.
        const held = async (roomId: string, ids: string[], app = APP) => (await s.read(app, (r) => r.messageIds(roomId, ids))).sort();
        assert.deepEqual(await held('r1', ['r1-m4', 'nope', 'r1-m1', 'r2-m1']), ['r1-m1', 'r1-m4']);
        assert.deepEqual(await held('r2', ['r1-m4', 'r2-m1']), ['r2-m1']);
        assert.deepEqual(await held('r1', ['r1-m9']), [], 'another app');
        assert.deepEqual(await held('r1', ['r1-m9'], OTHER_APP), ['r1-m9']);
        assert.deepEqual(await held('r1', []), []);
        assert.deepEqual((await s.write(APP, (w) => w.messageIds('r1', ['r1-m3']))), ['r1-m3']);
        // A unit that throws keeps none of its history changes.
        await assert.rejects(s.write(APP, async (w) => {
          await w.appendMessages([msg('r1', 5)]);
          await w.clearMessages('r2');
          throw new Boom('no');
        }), Boom);
        assert.equal((await page('r1')).length, 4);
        assert.equal((await page('r2')).length, 1);

        await s.write(APP, (w) => w.deleteMessages('r1', ['r1-m2', 'nope', 'r2-m1']));
        assert.deepEqual((await page('r1')).map((m) => m.seq), [4, 3, 1]);
        assert.deepEqual(await held('r1', ['r1-m2', 'r1-m1']), ['r1-m1'], 'a deleted message is no longer held');
        assert.equal((await page('r2')).length, 1, 'ids of another room are not deleted');
        await s.write(APP, (w) => w.clearMessages('r2'));
        assert.deepEqual(await page('r2'), []);
        assert.equal(await s.pruneMessages(3500, 1), 1);
        assert.equal(await s.pruneMessages(3500, 10), 1); // r1 m3 (at 3000) — and OTHER_APP m9 is at 9000
        assert.deepEqual((await page('r1')).map((m) => m.seq), [4]);
        assert.deepEqual((await page('r1', {}, OTHER_APP)).map((m) => m.seq), [9]);
      }));

      it('chat history: deleteRoom takes the room history with it, in the same unit (rolled back with it); other rooms and apps keep theirs', withStore(async (s) => {
        const msg = (roomId: string, seq: number): ChatMessage => ({
          id: `${roomId}-m${seq}`, roomId, seq, at: 1000 * seq, from: 'u1', nick: 'U', avatar: '', text: `t${seq}`, imageUrl: '', admin: false,
        });
        const seqs = async (roomId: string, app = APP) => (await s.read(app, (r) => r.messages(roomId, { sinceAt: 0, limit: 100 }))).map((m) => m.seq);
        await createRoom(s, APP, 'r1');
        await createRoom(s, APP, 'r2');
        await createRoom(s, OTHER_APP, 'r1');
        await s.write(APP, (w) => w.appendMessages([msg('r1', 1), msg('r1', 2), msg('r2', 1)]));
        await s.write(OTHER_APP, (w) => w.appendMessages([msg('r1', 7)]));
        // A dismissal that fails keeps the history.
        await assert.rejects(s.write(APP, async (w) => {
          await w.deleteRoom('r1');
          throw new Boom('no');
        }), Boom);
        assert.deepEqual(await seqs('r1'), [2, 1]);
        await s.write(APP, (w) => w.deleteRoom('r1'));
        assert.deepEqual(await seqs('r1'), []);
        assert.deepEqual(await seqs('r2'), [1]);
        assert.deepEqual(await seqs('r1', OTHER_APP), [7]);
        // A room created again under the id starts with no history.
        await createRoom(s, APP, 'r1');
        assert.deepEqual(await seqs('r1'), []);
        assert.deepEqual((await s.read(APP, (r) => r.messages('', { sinceAt: 0, limit: 100 }))).map((m) => m.id), ['r2-m1']);
      }));

      it('chat history: a time range, numbered pages (offset), and every room of the app oldest first', withStore(async (s) => {
        const msg = (roomId: string, seq: number, at: number): ChatMessage => ({
          id: `${roomId}-m${seq}`, roomId, seq, at, from: 'u1', nick: 'U', avatar: '', text: `t${seq}`, imageUrl: '', admin: false,
        });
        const page = (roomId: string, q: Partial<MessageQuery> = {}, app = APP) =>
          s.read(app, (r) => r.messages(roomId, { sinceAt: 0, limit: 100, ...q }));
        await s.write(APP, (w) => w.appendMessages([msg('r1', 1, 1000), msg('r1', 2, 2000), msg('r1', 3, 3000), msg('r2', 1, 2000), msg('r2', 2, 4000)]));
        await s.write(OTHER_APP, (w) => w.appendMessages([msg('r1', 1, 1500)]));
        // untilAt is inclusive, like sinceAt.
        assert.deepEqual((await page('r1', { untilAt: 2000 })).map((m) => m.seq), [2, 1]);
        assert.deepEqual((await page('r1', { sinceAt: 2000, untilAt: 2000 })).map((m) => m.seq), [2]);
        // offset skips that many of the matching messages, newest first.
        assert.deepEqual((await page('r1', { offset: 1, limit: 1 })).map((m) => m.seq), [2]);
        assert.deepEqual(await page('r1', { offset: 3 }), []);
        // '' = every room of the app, oldest first by time, then room id, then seq.
        assert.deepEqual((await page('')).map((m) => m.id), ['r1-m1', 'r1-m2', 'r2-m1', 'r1-m3', 'r2-m2']);
        assert.deepEqual((await page('', { sinceAt: 2000, untilAt: 3000, offset: 1, limit: 1 })).map((m) => m.id), ['r2-m1']);
        assert.deepEqual((await page('', {}, OTHER_APP)).map((m) => m.id), ['r1-m1']);
        await s.write(APP, (w) => w.deleteMessages('r2', ['r2-m1']));
        assert.deepEqual((await page('', { sinceAt: 2000 })).map((m) => m.id), ['r1-m2', 'r1-m3', 'r2-m2']);
      }));

      it('chat history: every room of the app paged past a key (time, room id in code point order, seq, id), whatever was deleted meanwhile', withStore(async (s) => {
        const msg = (roomId: string, seq: number, at: number, id: string): ChatMessage => ({
          id, roomId, seq, at, from: 'u1', nick: 'U', avatar: '', text: id, imageUrl: '', admin: false,
        });
        const page = async (q: Partial<HistoryQuery> = {}, app = APP) =>
          (await s.read(app, (r) => r.messages('', { sinceAt: 0, limit: 100, ...q }))).map((m) => m.id);
        const key = (m: ChatMessage): MessageKey => ({ at: m.at, roomId: m.roomId, seq: m.seq, id: m.id });
        // Four rooms at one time: U+FF21 sorts before U+1F600 by code point (not by UTF-16 unit);
        // two records of one room and seq (an earlier life's and this one's) by id.
        const all = [
          msg('r1', 1, 1000, 'a'), msg('r2', 1, 1000, 'b'), msg('\uFF21', 1, 1000, 'c'), msg('\u{1F600}', 1, 1000, 'd'),
          msg('r1', 2, 2000, 'e'), msg('r1', 2, 2000, 'f'), msg('r2', 2, 3000, 'g'),
        ];
        await s.write(APP, (w) => w.appendMessages([...all].reverse()));
        await s.write(OTHER_APP, (w) => w.appendMessages([msg('r1', 1, 1500, 'other')]));
        const ids = all.map((m) => m.id);
        assert.deepEqual(await page(), ids);
        for (let i = 0; i < all.length; i++) assert.deepEqual(await page({ after: key(all[i]) }), ids.slice(i + 1), `past ${ids[i]}`);
        // A key between records; with a limit, a time range and an offset.
        assert.deepEqual(await page({ after: { at: 1500, roomId: '', seq: 0, id: '' } }), ['e', 'f', 'g']);
        assert.deepEqual(await page({ after: key(all[0]), limit: 2 }), ['b', 'c']);
        assert.deepEqual(await page({ after: key(all[0]), untilAt: 2000 }), ['b', 'c', 'd', 'e', 'f']);
        assert.deepEqual(await page({ after: key(all[0]), sinceAt: 2000 }), ['e', 'f', 'g']);
        assert.deepEqual(await page({ after: key(all[0]), offset: 4, limit: 1 }), ['f']);
        assert.deepEqual(await page({ after: { at: 0, roomId: '', seq: 0, id: '' } }, OTHER_APP), ['other']);
        // Records deleted, the key's own among them: the page still starts right past the key.
        await s.write(APP, (w) => w.deleteMessages('r2', ['b']));
        await s.write(APP, (w) => w.deleteMessages('r1', ['e']));
        assert.deepEqual(await page({ after: key(all[0]), limit: 2 }), ['c', 'd']);
        assert.deepEqual(await page({ after: key(all[1]), limit: 2 }), ['c', 'd']);
        assert.deepEqual(await page({ after: key(all[4]) }), ['f', 'g']);
        await s.write(APP, (w) => w.clearMessages('r1'));
        assert.deepEqual(await page({ after: key(all[3]) }), ['g']);
      }));

      it('events of a unit that throws never reach the outbox', withStore(async (s) => {
        await assert.rejects(
          s.write(APP, async (w) => {
            await w.appendEvents([makeEvent(APP, 'r1', 1, 1)]);
            throw new Boom('no');
          }),
          Boom,
        );
        assert.deepEqual((await s.readOutbox('', 10)).events, []);
      }));

      it("lastAppSeq: the app's latest app-wide seq, from committed units only, per app, kept across a reopen", withStore(async (s, o) => {
        const last = (store: Store, appId = APP) => store.write(appId, (w) => w.lastAppSeq());
        assert.equal(await last(s), 0);
        await s.write(APP, (w) => w.appendEvents([makeEvent(APP, '', 5000, 5), makeEvent(APP, 'r1', 9_000_000, 6), makeEvent(APP, '', 5001, 5)]));
        await s.write(OTHER_APP, (w) => w.appendEvents([makeEvent(OTHER_APP, '', 7000, 7)]));
        await assert.rejects(
          s.write(APP, async (w) => {
            await w.appendEvents([makeEvent(APP, '', 8000, 8)]);
            assert.equal(await w.lastAppSeq(), 8000, "the unit's own");
            throw new Boom('no');
          }),
          Boom,
        );
        assert.equal(await last(s), 5001, 'a room event or a unit that threw moves it not');
        assert.equal(await last(s, OTHER_APP), 7000);
        if (o.reopen) assert.equal(await last(await o.reopen()), 5001);
      }));

      it('meta keeps small settings', withStore(async (s) => {
        assert.equal(await s.getMeta('k'), null);
        await s.setMeta('k', 'v1');
        assert.equal(await s.getMeta('k'), 'v1');
        await s.setMeta('k', 'v2');
        await s.setMeta('other', '');
        assert.equal(await s.getMeta('k'), 'v2');
        assert.equal(await s.getMeta('other'), '');
      }));
    });

    describe('units of work', () => {
      it('a unit that throws keeps none of its writes, of any kind', withStore(async (s) => {
        await createRoom(s, APP, 'r1');
        await createRoom(s, APP, 'r2');
        const keepDeny = makeDeny({ subject: 'u1', roomId: 'r1' });
        const keepMute = makeMute({ subject: 'u1', roomId: '' });
        const r2Deny = makeDeny({ subject: 'u7', roomId: 'r2' });
        await s.write(APP, async (w) => {
          await w.putMember('r1', makeMember('u1', '1.1.1.1', 'c:1'));
          await w.putMember('r1', makeMember('u2', '1.1.1.1', 'c:2'));
          await w.putMember('r2', makeMember('u3', '2.2.2.2', 'c:3'));
          await w.insertEntry('deny', keepDeny);
          await w.insertEntry('mute', keepMute);
          await w.insertEntry('deny', r2Deny);
        });
        const snapshot = () =>
          s.read(APP, async (r) => ({
            r1: await r.room('r1'),
            r2: await r.room('r2'),
            r3: await r.room('r3'),
            m1: await r.members('r1', '', 100),
            m2: await r.members('r2', '', 100),
            ip: await r.membersByIp('r1', '9.9.9.9'),
            u1: sortStr(await r.roomsWith({ subjectType: 'userId', subject: 'u1' })),
            deny: await r.list('deny', { activeAt: 0 }),
            mute: await r.list('mute', { activeAt: 0 }),
            matchDeny: await r.matching('deny', 'r1', [{ subjectType: 'userId', subject: 'u1' }, { subjectType: 'userId', subject: 'u9' }], 0),
            conn: (await s.connectedMembers('c:')).length,
          }));
        const before = await snapshot();

        await assert.rejects(
          s.write(APP, async (w) => {
            // Mutated in place and saved, mutated again without saving.
            const a1 = (await w.room('r1'))!;
            a1.room = { ...a1.room, name: 'changed' };
            a1.seats[0] = { ...a1.seats[0], userId: 'u1' };
            a1.admins.push('u2');
            a1.requests.push({ id: 'q', userId: 'u2', kind: 'invite', index: null, actor: 'owner', createdAt: 1 });
            a1.seq += 3;
            a1.memberCount = 99;
            await w.saveRoom(APP, a1);
            a1.room = { ...a1.room, name: 'changed twice' };
            a1.seats[1] = { ...a1.seats[1], locked: true };
            await w.putMember('r1', { ...makeMember('u1', '9.9.9.9', 'c:9'), nameCard: 'changed' });
            await w.putMember('r1', makeMember('u9', '9.9.9.9'));
            await w.deleteMember('r1', 'u2');
            await w.insertEntry('deny', makeDeny({ subject: 'u9', roomId: 'r1' }));
            await w.deleteEntries('deny', [keepDeny.id]);
            await w.deleteEntries('mute', [keepMute.id]);
            await w.insertEntry('mute', makeMute({ subject: 'u9', roomId: 'r1' }));
            assert.equal(await w.insertRoom(makeAgg(APP, 'r3')), true);
            await w.putMember('r3', makeMember('u1'));
            await w.deleteRoom('r2');
            await w.appendEvents([makeEvent(APP, 'r1', 1, 1)]);
            throw new Boom('rolled back');
          }),
          Boom,
        );
        assert.deepEqual(await snapshot(), before);
        assert.deepEqual((await s.readOutbox('', 10)).events, []);

        // A unit that only mutates the aggregate it read, without saving, then throws.
        await assert.rejects(
          s.write(APP, async (w) => {
            const a = (await w.room('r1'))!;
            a.seats[2] = { ...a.seats[2], userId: 'x' }; // seats are replaced, never changed in place
            a.room = { ...a.room, inviteeIds: ['y'] }; // so are the room's settings
            throw new Boom('x');
          }),
          Boom,
        );
        assert.deepEqual(await snapshot(), before);
        // And the store still works.
        await s.write(APP, (w) => w.putMember('r1', makeMember('u4')));
        assert.ok(await s.read(APP, (r) => r.member('r1', 'u4')));
      }));

      it('reads inside a unit see its own earlier writes', withStore(async (s) => {
        await createRoom(s, APP, 'r1');
        await s.write(APP, async (w) => {
          const a = (await w.room('r1'))!;
          a.seq = 5;
          assert.equal((await w.room('r1'))!.seq, 5, 'the same locked aggregate within the unit');
          await w.saveRoom(APP, a);
          assert.equal((await w.lock(['r1'])).get('r1')!.seq, 5);

          await w.putMember('r1', makeMember('u1', '4.4.4.4'));
          assert.equal((await w.member('r1', 'u1'))!.clientIp, '4.4.4.4');
          assert.deepEqual((await w.members('r1', '', 10)).map((m) => m.userId), ['u1']);
          assert.deepEqual((await w.membersByIp('r1', '4.4.4.4')).map((m) => m.userId), ['u1']);
          assert.deepEqual(await w.roomsWith({ subjectType: 'ip', subject: '4.4.4.4' }), ['r1']);

          const d = makeDeny({ subject: 'u1', roomId: 'r1' });
          await w.insertEntry('deny', d);
          assert.deepEqual(ids(await w.matching('deny', 'r1', [{ subjectType: 'userId', subject: 'u1' }], 0)), [d.id]);
          assert.equal(await w.count('deny', { activeAt: 0 }), 1);
          await w.deleteEntries('deny', [d.id]);
          assert.deepEqual(await w.list('deny', { activeAt: 0 }), []);

          await w.deleteMember('r1', 'u1');
          assert.equal(await w.member('r1', 'u1'), null);

          assert.equal(await w.insertRoom(makeAgg(APP, 'r2')), true);
          assert.ok(await w.room('r2'));
          assert.equal(await w.insertRoom(makeAgg(APP, 'r2')), false);
        });
        assert.equal((await s.read(APP, (r) => r.room('r1')))!.seq, 5);
        assert.ok(await s.read(APP, (r) => r.room('r2')));
      }));

      it('returns what fn returns', withStore(async (s) => {
        assert.deepEqual(await s.write(APP, async () => ({ ok: 1 })), { ok: 1 });
        assert.equal(await s.read(APP, async () => 'x'), 'x');
      }));
    });

    describe('locks', () => {
      it('two concurrent units on one room run one after the other', withStore(async (s) => {
        await createRoom(s, APP, 'r1');
        const order: string[] = [];
        const bump = (tag: string, pause: number) =>
          s.write(APP, async (w) => {
            const a = (await w.room('r1'))!;
            order.push(`${tag} read ${a.seq}`);
            await delay(pause);
            a.seq += 1;
            await w.saveRoom(APP, a);
            order.push(`${tag} saved ${a.seq}`);
          });
        await within(5000, Promise.all([bump('A', 30), bump('B', 0)]), 'room lock');
        // Either may take the lock first (on PostgreSQL, whichever gets its connection first);
        // the other reads only after the first saved.
        const [first, second] = order[0].startsWith('A') ? ['A', 'B'] : ['B', 'A'];
        assert.deepEqual(order, [`${first} read 0`, `${first} saved 1`, `${second} read 1`, `${second} saved 2`]);
        assert.equal((await s.read(APP, (r) => r.room('r1')))!.seq, 2);
      }));

      it('a room read naming a member sees that member as the previous lock holder left it', withStore(async (s) => {
        await createRoom(s, APP, 'r1');
        await s.write(APP, (w) => w.putMember('r1', makeMember('u2', '1.1.1.1')));
        // Two units at once first, so that neither below waits for a new connection.
        await Promise.all([s.write(APP, (w) => w.room('r2')), s.write(APP, (w) => w.room('r3'))]);
        // A holds the room while B waits for it; A adds u1 and changes u2 before it commits.
        let held!: () => void;
        const holding = new Promise<void>((resolve) => (held = resolve));
        const a = s.write(APP, async (w) => {
          await w.room('r1');
          held();
          await delay(100);
          await w.putMember('r1', makeMember('u1', '5.5.5.5'));
          await w.putMember('r1', makeMember('u2', '6.6.6.6'));
        });
        await Promise.race([holding, a]);
        const b = s.write(APP, async (w) => {
          assert.ok(await w.room('r1', 'u1'));
          const u1 = await w.member('r1', 'u1');
          assert.ok(await w.room('r1', 'u2'), 'the same locked room');
          return { u1, u2: await w.member('r1', 'u2') };
        });
        const [, got] = await within(5000, Promise.all([a, b]), 'room lock');
        assert.equal(got.u1!.clientIp, '5.5.5.5');
        assert.equal(got.u2!.clientIp, '6.6.6.6');
        await s.write(APP, async (w) => {
          assert.ok(await w.room('r1', 'nobody'));
          assert.equal(await w.member('r1', 'nobody'), null);
          assert.equal(await w.room('nope', 'u1'), null);
        });
        assert.ok(await s.read(APP, (r) => r.room('r1', 'u1')));
      }));

      it('many concurrent units on one room lose no update', withStore(async (s) => {
        await createRoom(s, APP, 'r1');
        await within(
          10000,
          Promise.all(
            Array.from({ length: 50 }, () =>
              s.write(APP, async (w) => {
                const [a] = (await w.lock(['r1'])).values();
                await Promise.resolve();
                a.seq += 1;
                await w.saveRoom(APP, a);
              }),
            ),
          ),
          '50 units',
        );
        assert.equal((await s.read(APP, (r) => r.room('r1')))!.seq, 50);
      }));

      it('units locking {A,B} and {B,A} do not deadlock', withStore(async (s) => {
        await createRoom(s, APP, 'A');
        await createRoom(s, APP, 'B');
        const both = (order: string[]) =>
          s.write(APP, async (w) => {
            const got = await w.lock(order);
            await delay(20);
            for (const a of got.values()) {
              a.seq += 1;
              await w.saveRoom(APP, a);
            }
          });
        await within(5000, Promise.all([both(['A', 'B']), both(['B', 'A']), both(['B', 'A'])]), '{A,B} vs {B,A}');
        await s.read(APP, async (r) => {
          assert.equal((await r.room('A'))!.seq, 3);
          assert.equal((await r.room('B'))!.seq, 3);
        });
      }));

      it('units on different rooms do not wait for each other', withStore(async (s) => {
        await createRoom(s, APP, 'A');
        await createRoom(s, APP, 'B');
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const holder = s.write(APP, async (w) => {
          await w.room('A');
          await gate;
        });
        await within(5000, s.write(APP, async (w) => { await w.room('B'); }), 'room B while A is held');
        release();
        await holder;
      }));

      it('the app lock: shared units run together, exclusive waits for them and they for it', withStore(async (s) => {
        await createRoom(s, APP, 'r1');
        const log: string[] = [];
        // Two shared holders that each wait for the other to be inside: only possible if shared.
        // They stay in until X (exclusive) and then C (shared) have asked for the lock.
        let inA!: () => void, inB!: () => void, release!: () => void;
        const aIn = new Promise<void>((r) => (inA = r));
        const bIn = new Promise<void>((r) => (inB = r));
        const released = new Promise<void>((r) => (release = r));
        const shared = (tag: string, mine: () => void, other: Promise<void>) =>
          s.write(APP, async (w) => {
            await w.lockApp('shared');
            log.push(`${tag} in`);
            mine();
            await other;
            await released;
            log.push(`${tag} out`);
          });
        const a = shared('A', () => inA(), bIn);
        const b = shared('B', () => inB(), aIn);
        await Promise.all([aIn, bIn]);
        const x = s.write(APP, async (w) => {
          await w.lockApp('exclusive');
          log.push('X in');
          await delay(20);
          log.push('X out');
        });
        // Time for each request to reach the lock (a networked store needs a connection and BEGIN first).
        await delay(250);
        const c = s.write(APP, async (w) => {
          await w.lockApp('shared');
          log.push('C in');
        });
        await delay(250);
        release();
        await within(5000, Promise.all([a, b, x, c]), 'app lock');
        const xIn = log.indexOf('X in');
        assert.ok(xIn > log.indexOf('A out') && xIn > log.indexOf('B out'), log.join(', '));
        assert.ok(log.indexOf('C in') > log.indexOf('X out'), `a shared lock asked for after the exclusive one waits for it: ${log.join(', ')}`);
        // Another app's lock is another lock.
        let hold!: () => void;
        const held = new Promise<void>((r) => (hold = r));
        const excl = s.write(APP, async (w) => {
          await w.lockApp('exclusive');
          await held;
        });
        await within(5000, s.write(OTHER_APP, (w) => w.lockApp('exclusive')), 'other app');
        hold();
        await excl;
      }));

      it('locks are released when a unit throws', withStore(async (s) => {
        await createRoom(s, APP, 'r1');
        await assert.rejects(
          s.write(APP, async (w) => {
            await w.lockApp('exclusive');
            await w.room('r1');
            throw new Boom('x');
          }),
          Boom,
        );
        await within(5000, s.write(APP, async (w) => {
          await w.lockApp('exclusive');
          await w.room('r1');
        }), 'after a throw');
      }));
    });

    describe('apps', () => {
      it('apps never see each other\'s data', withStore(async (s) => {
        await createRoom(s, APP, 'r1');
        await s.write(APP, async (w) => {
          await w.putMember('r1', makeMember('u1', '1.1.1.1'));
          await w.insertEntry('deny', makeDeny({ subject: 'u1', roomId: '' }));
          await w.insertEntry('mute', makeMute({ subject: 'u1', roomId: 'r1' }));
        });
        await s.read(OTHER_APP, async (r) => {
          assert.equal(await r.room('r1'), null);
          assert.equal(await r.member('r1', 'u1'), null);
          assert.deepEqual(await r.members('r1', '', 10), []);
          assert.deepEqual(await r.membersByIp('r1', '1.1.1.1'), []);
          assert.deepEqual(await r.roomsWith({ subjectType: 'userId', subject: 'u1' }), []);
          assert.deepEqual(await r.roomsWith({ subjectType: 'ip', subject: '1.1.1.1' }), []);
          assert.deepEqual(await r.matching('deny', 'r1', [{ subjectType: 'userId', subject: 'u1' }], 0), []);
          assert.deepEqual(await r.list('mute', { activeAt: 0 }), []);
          assert.equal(await r.count('deny', { activeAt: 0 }), 0);
        });
        // The same room id in another app is another room.
        await createRoom(s, OTHER_APP, 'r1');
        await s.write(OTHER_APP, async (w) => {
          const a = (await w.room('r1'))!;
          a.room = { ...a.room, name: 'theirs' };
          await w.saveRoom(OTHER_APP, a);
          await w.deleteRoom('r1');
        });
        assert.equal((await s.read(APP, (r) => r.room('r1')))!.room.name, 'room r1');
        assert.ok(await s.read(APP, (r) => r.member('r1', 'u1')));
      }));
    });

    describe('bad words', () => {
      it('stores a list per scope with its version, skips known versions, deletes with [] and with the room', withStore(async (s) => {
        await createRoom(s, APP, 'r1');
        await createRoom(s, APP, 'r2');
        assert.deepEqual(await s.read(APP, (r) => r.badWords(['r1', ''])), []);
        await s.write(APP, async (w) => {
          await w.setBadWords('r1', ['foo', '坏词'], 'v1');
          await w.setBadWords('', ['bar'], 'v2');
          await w.setBadWords('r2', ['baz'], 'v3');
          // A unit sees its own writes.
          assert.deepEqual(await w.badWords(['r1']), [{ scope: 'r1', version: 'v1', words: ['foo', '坏词'] }]);
        });
        await s.write(OTHER_APP, (w) => w.setBadWords('r1', ['theirs'], 'v9'));
        assert.deepEqual(await s.read(APP, (r) => r.badWords(['r1', ''])), [
          { scope: 'r1', version: 'v1', words: ['foo', '坏词'] },
          { scope: '', version: 'v2', words: ['bar'] },
        ]);
        // Known versions come back without their words; a changed list with its new words.
        assert.deepEqual(await s.read(APP, (r) => r.badWords(['r1', ''], new Map([['r1', 'v1'], ['', 'old']]))), [
          { scope: 'r1', version: 'v1', words: null },
          { scope: '', version: 'v2', words: ['bar'] },
        ]);
        // A failed unit changes nothing.
        await assert.rejects(
          s.write(APP, async (w) => {
            await w.setBadWords('r1', ['changed'], 'v4');
            throw new Error('boom');
          }),
          /boom/,
        );
        assert.deepEqual(await s.read(APP, (r) => r.badWords(['r1'])), [{ scope: 'r1', version: 'v1', words: ['foo', '坏词'] }]);
        await s.write(APP, async (w) => {
          await w.setBadWords('', [], 'v5');
          await w.room('r2');
          await w.deleteRoom('r2');
        });
        assert.deepEqual(await s.read(APP, (r) => r.badWords(['r1', 'r2', ''])), [{ scope: 'r1', version: 'v1', words: ['foo', '坏词'] }]);
        assert.deepEqual(await s.read(OTHER_APP, (r) => r.badWords(['r1'])), [{ scope: 'r1', version: 'v9', words: ['theirs'] }]);
        // A room made again with the same id starts without a list.
        await createRoom(s, APP, 'r2');
        assert.deepEqual(await s.read(APP, (r) => r.badWords(['r2'])), []);
      }));
    });

    it('keeps everything across a reopen (when the adapter persists)', async (t) => {
      const o = await open();
      try {
        if (!o.reopen) {
          t.skip('not persistent');
          return;
        }
        const s = o.store;
        await createRoom(s, APP, 'r1');
        await createRoom(s, APP, 'gone');
        await createRoom(s, OTHER_APP, 'r1');
        const d = makeDeny({ subject: 'u1', roomId: 'r1', expiresAt: 99_999 });
        const dGone = makeDeny({ subject: 'u1', roomId: 'gone' });
        const dDel = makeDeny({ subject: 'u2', roomId: '' });
        const m = makeMute({ subject: '1.1.1.1', subjectType: 'ip', roomId: '' });
        const ev = [makeEvent(APP, 'r1', 1, 10), makeEvent(APP, 'r1', 2, 20)];
        let agg!: RoomAggregate;
        await s.write(APP, async (w) => {
          agg = (await w.room('r1'))!;
          agg.seats[0] = { ...agg.seats[0], userId: 'u1' };
          agg.admins = ['u2'];
          agg.requests = [{ id: 'q1', userId: 'u3', kind: 'apply', index: 1, actor: 'u3', createdAt: 3 }];
          agg.memberCount = 2;
          agg.seq = 2;
          await w.saveRoom(APP, agg);
          await w.putMember('r1', makeMember('u1', '1.1.1.1', 'n1:a'));
          await w.putMember('r1', makeMember('u2', '2.2.2.2'));
          await w.putMember('r1', makeMember('u3', '2.2.2.2'));
          await w.putMember('gone', makeMember('u1'));
          for (const e of [d, dGone, dDel]) await w.insertEntry('deny', e);
          await w.insertEntry('mute', m);
          await w.appendEvents(ev);
          await w.setBadWords('r1', ['kept'], 'bw1');
          await w.setBadWords('gone', ['dropped'], 'bw2');
        });
        await s.write(APP, async (w) => {
          await w.deleteMember('r1', 'u3');
          await w.deleteEntries('deny', [dDel.id]);
          await w.room('gone');
          await w.deleteRoom('gone');
        });
        await s.write(OTHER_APP, (w) => w.putMember('r1', makeMember('z')));
        await s.setMeta('cursor', '42');
        const page = await s.readOutbox('', 1);

        const s2 = await o.reopen();
        await s2.read(APP, async (r) => {
          assert.deepEqual(await r.room('r1'), agg);
          assert.equal(await r.room('gone'), null);
          assert.deepEqual((await r.members('r1', '', 10)).map((x) => x.userId), ['u1', 'u2']);
          assert.deepEqual(await r.member('r1', 'u1'), makeMember('u1', '1.1.1.1', 'n1:a'));
          assert.deepEqual((await r.membersByIp('r1', '2.2.2.2')).map((x) => x.userId), ['u2']);
          assert.deepEqual(sortStr(await r.roomsWith({ subjectType: 'userId', subject: 'u1' })), ['r1']);
          assert.deepEqual(await r.list('deny', { activeAt: 0 }), [d]);
          assert.deepEqual(await r.matching('deny', 'r1', [{ subjectType: 'userId', subject: 'u1' }], 1), [d]);
          assert.deepEqual(await r.matching('mute', 'r7', [{ subjectType: 'ip', subject: '1.1.1.1' }], 1), [m]);
          assert.deepEqual(await r.badWords(['r1', 'gone']), [{ scope: 'r1', version: 'bw1', words: ['kept'] }]);
        });
        assert.ok(await s2.read(OTHER_APP, (r) => r.member('r1', 'z')));
        assert.equal(await s2.getMeta('cursor'), '42');
        assert.deepEqual(await s2.connectedMembers('n1:'), [{ appId: APP, roomId: 'r1', userId: 'u1', connId: 'n1:a' }]);
        assert.deepEqual((await s2.readOutbox(page.cursor, 10)).events, [ev[1]], 'the cursor survives the reopen');
        // Writable after reopen, and new events come after the old ones.
        const ev3 = makeEvent(APP, 'r1', 3, 30);
        await s2.write(APP, (w) => w.appendEvents([ev3]));
        assert.deepEqual((await s2.readOutbox('', 10)).events, [...ev, ev3]);
      } finally {
        await o.cleanup();
      }
    });

    operatorReadsContract(withStore);
    describe('nonces', () => {
      it('claims a token once while it is valid, per scope; an expired one can be claimed again', withStore(async (s) => {
        const now = Date.now();
        assert.equal(await s.claimNonce('polyv:a', 'S1', now + 180_000, now), true);
        assert.equal(await s.claimNonce('polyv:a', 'S1', now + 180_000, now + 1), false);
        assert.equal(await s.claimNonce('polyv:b', 'S1', now + 180_000, now + 1), true, 'scopes are apart');
        assert.equal(await s.claimNonce('polyv:a', 'S2', now + 180_000, now + 1), true);
        assert.equal(await s.claimNonce('polyv:a', 'S1', now + 400_000, now + 180_000), true, 'expired: claimable again');
        assert.equal(await s.claimNonce('polyv:a', 'S1', now + 400_000, now + 180_001), false);
      }));

      it('of many identical claims at once, exactly one wins', withStore(async (s) => {
        const now = Date.now();
        const results = await Promise.all(Array.from({ length: 20 }, () => s.claimNonce('polyv:a', 'RACE', now + 180_000, now)));
        assert.equal(results.filter(Boolean).length, 1);
      }));

      it('keeps claimed tokens across a reopen (when the adapter persists)', async (t) => {
        const o = await open();
        try {
          if (!o.reopen) return t.skip('not persistent');
          const now = Date.now();
          assert.equal(await o.store.claimNonce('polyv:a', 'KEEP', now + 180_000, now), true);
          assert.equal(await o.store.claimNonce('polyv:a', 'OLD', now - 1, now - 180_000), true);
          const s2 = await o.reopen();
          assert.equal(await s2.claimNonce('polyv:a', 'KEEP', now + 180_000, now + 1), false, 'still refused after a restart');
          assert.equal(await s2.claimNonce('polyv:a', 'OLD', now + 180_000, now + 1), true, 'an expired one is not kept');
        } finally {
          await o.cleanup();
        }
      });
    });
  });
}
