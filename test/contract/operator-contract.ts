// The Store contract's part for the operator reads: the room list and the audit log (written in
// a unit of work, rolled back with it, paged newest first, filtered, pruned, isolated by app,
// kept across a reopen).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEntry } from '../../src/core/model.js';
import type { Store } from '../../src/core/ports/store.js';
import type { OpenedStore } from './store-contract.js';
import { makeAgg } from './store-contract.js';

const APP = 1400000001;
const OTHER_APP = 1400000002;

let seq = 0;
export function makeAudit(p: Partial<AuditEntry> & { at: number }): AuditEntry {
  return {
    id: `${p.at.toString(36).padStart(9, '0')}${(++seq).toString(36).padStart(5, '0')}aud00001`,
    roomId: 'r1',
    actor: 'administrator',
    actorKind: 'admin',
    surface: 'api',
    action: 'ban',
    targetType: 'userId',
    target: 'u1',
    reason: 'spam',
    expiresAt: null,
    ...p,
  };
}

type WithStore = (body: (s: Store, o: OpenedStore) => Promise<void>) => () => Promise<void>;

export function operatorReadsContract(withStore: WithStore): void {
  describe('audit log', () => {
    it('keeps entries written in a unit, newest first, and nothing of a unit that threw', withStore(async (s) => {
      const a = makeAudit({ at: 1000 });
      const b = makeAudit({ at: 2000, action: 'kickOut', target: 'u2', reason: '' });
      await s.write(APP, (w) => w.appendAudit([a, b]));
      await assert.rejects(
        s.write(APP, async (w) => {
          await w.appendAudit([makeAudit({ at: 3000 })]);
          throw new Error('boom');
        }),
        /boom/,
      );
      await s.read(APP, async (r) => assert.deepEqual(await r.audit({ limit: 10 }), [b, a]));
      await s.read(OTHER_APP, async (r) => assert.deepEqual(await r.audit({ limit: 10 }), [], 'apps never see each other'));
    }));

    it('filters by room, actor, target, action and time, and pages by cursor', withStore(async (s) => {
      const all = [
        makeAudit({ at: 1000, roomId: 'r1', actor: 'x', target: 'u1', action: 'ban' }),
        makeAudit({ at: 2000, roomId: 'r2', actor: 'y', target: 'u2', action: 'mute', targetType: 'userId' }),
        makeAudit({ at: 3000, roomId: 'r1', actor: 'y', target: '10.0.0.9', targetType: 'ip', action: 'ban' }),
        makeAudit({ at: 4000, roomId: '', actor: 'x', target: 'u1', action: 'unban' }),
      ];
      await s.write(APP, (w) => w.appendAudit(all.slice(0, 2)));
      await s.write(APP, (w) => w.appendAudit(all.slice(2)));
      await s.write(OTHER_APP, (w) => w.appendAudit([makeAudit({ at: 2500, roomId: 'r1' })]));
      const ids = (xs: AuditEntry[]) => xs.map((e) => e.at);
      await s.read(APP, async (r) => {
        assert.deepEqual(ids(await r.audit({ limit: 10, roomId: 'r1' })), [3000, 1000]);
        assert.deepEqual(ids(await r.audit({ limit: 10, roomId: '' })), [4000]);
        assert.deepEqual(ids(await r.audit({ limit: 10, actor: 'y' })), [3000, 2000]);
        assert.deepEqual(ids(await r.audit({ limit: 10, target: 'u1' })), [4000, 1000]);
        assert.deepEqual(ids(await r.audit({ limit: 10, action: 'ban' })), [3000, 1000]);
        assert.deepEqual(ids(await r.audit({ limit: 10, from: 2000, to: 4000 })), [3000, 2000]);
        const first = await r.audit({ limit: 3 });
        assert.deepEqual(ids(first), [4000, 3000, 2000]);
        assert.deepEqual(ids(await r.audit({ limit: 3, before: first[2].id })), [1000]);
      });
    }));

    it('prunes entries older than the retention, in every app, up to the limit', withStore(async (s) => {
      await s.write(APP, (w) => w.appendAudit([makeAudit({ at: 1000 }), makeAudit({ at: 2000 }), makeAudit({ at: 5000 })]));
      await s.write(OTHER_APP, (w) => w.appendAudit([makeAudit({ at: 1500 })]));
      assert.equal(await s.pruneAudit(3000, 10), 3);
      assert.equal(await s.pruneAudit(3000, 10), 0);
      await s.read(APP, async (r) => assert.deepEqual((await r.audit({ limit: 10 })).map((e) => e.at), [5000]));
      await s.read(OTHER_APP, async (r) => assert.deepEqual(await r.audit({ limit: 10 }), []));
    }));

    it('survives a reopen', withStore(async (_s, o) => {
      if (!o.reopen) return;
      const a = makeAudit({ at: 1000, expiresAt: 99_000, surface: 'tencent', actorKind: 'user' });
      await o.store.write(APP, (w) => w.appendAudit([a]));
      const s2 = await o.reopen();
      await s2.read(APP, async (r) => assert.deepEqual(await r.audit({ limit: 10 }), [a]));
      // and is pruned from disk too
      assert.equal(await s2.pruneAudit(2000, 10), 1);
      const s3 = await o.reopen();
      await s3.read(APP, async (r) => assert.deepEqual(await r.audit({ limit: 10 }), []));
    }));
  });

  describe('room list', () => {
    it('pages an app\'s rooms in id order and searches ids and names', withStore(async (s) => {
      for (const id of ['b', 'a', 'c-Studio', 'd']) {
        const agg = makeAgg(APP, id);
        if (id === 'd') agg.room = { ...agg.room, name: 'Late Night studio' };
        await s.write(APP, (w) => w.insertRoom(agg));
      }
      await s.write(OTHER_APP, (w) => w.insertRoom(makeAgg(OTHER_APP, 'zz')));
      await s.read(APP, async (r) => {
        const ids = async (q: Parameters<typeof r.rooms>[0]) => (await r.rooms(q)).map((a) => a.room.roomId);
        assert.deepEqual(await ids({ after: '', limit: 2 }), ['a', 'b']);
        assert.deepEqual(await ids({ after: 'b', limit: 10 }), ['c-Studio', 'd']);
        assert.deepEqual(await ids({ after: '', limit: 10, search: 'STUDIO' }), ['c-Studio', 'd']);
        assert.deepEqual(await ids({ after: '', limit: 10, search: '%' }), [], 'LIKE wildcards are literal');
        const [a] = await r.rooms({ after: '', limit: 1 });
        assert.deepEqual(a, makeAgg(APP, 'a'));
      });
    }));

    it('follows deletes and rolled-back inserts', withStore(async (s) => {
      for (const id of ['m', 'k', 'z']) await s.write(APP, (w) => w.insertRoom(makeAgg(APP, id)));
      await s.write(APP, async (w) => {
        await w.lock(['k']);
        await w.deleteRoom('k');
      });
      await assert.rejects(
        s.write(APP, async (w) => {
          await w.insertRoom(makeAgg(APP, 'b'));
          throw new Error('undo');
        }),
        /undo/,
      );
      await s.write(APP, (w) => w.insertRoom(makeAgg(APP, 'a')));
      const ids = await s.read(APP, async (r) => (await r.rooms({ after: '', limit: 10 })).map((x) => x.room.roomId));
      assert.deepEqual(ids, ['a', 'm', 'z']);
    }));
  });
}
