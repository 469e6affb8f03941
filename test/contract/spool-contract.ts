// The CallbackSpool port's contract (src/callbacks/spool.ts): every adapter (memory, sqlite,
// postgres) runs these tests, so the relay, the REST API and the CLI can rely on one behaviour
// whatever keeps the callbacks.
//
// `open()` must give an EMPTY spool of its own (no rows, cursor '', no configurations);
// `cleanup()` closes it and removes its data.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredCallbackConfig } from '../../src/callbacks/commands.js';
import { BULK_PAGE, type CallbackSpool, type Delivery, type NewDelivery, type SpoolCounts } from '../../src/callbacks/spool.js';

export interface OpenedSpool {
  spool: CallbackSpool;
  cleanup: () => Promise<void>;
}

// ------------------------------------------------------------------------------- builders

export const APP = 1400000001;
export const OTHER_APP = 1400000002;
const THIRD_APP = 1400000003;
const T0 = 1_700_000_000_000;

let made = 0;
/** A delivery with an eventId of its own (unique within the run); `p` overrides any field. */
export function delivery(appId = APP, p: Partial<NewDelivery> = {}): NewDelivery {
  const n = ++made;
  return {
    eventId: `ev-${n}`,
    appId,
    roomId: `room-${n}`,
    seq: n,
    command: 'Room.CallbackAfterMemberEnter',
    body: JSON.stringify({ EventId: n, UserId: `user-${n}` }),
    createdAt: T0 + n,
    ...p,
  };
}

/** How a delivery spooled under `id` reads back while pending. */
export const asPending = (d: NewDelivery, id: number): Delivery => ({ ...d, id, state: 'pending', attempts: 0, lastError: '', failedAt: 0 });

const idsOf = (rows: Delivery[]) => rows.map((d) => d.id);

/** Each row's spool id, read back by its eventId (pending or failed; 0: not in the spool). */
async function idsIn(s: CallbackSpool, rows: NewDelivery[]): Promise<number[]> {
  const byEvent = new Map<string, number>();
  for (const appId of new Set(rows.map((r) => r.appId))) {
    for (const d of [...(await s.pending(appId, 0, 1000)), ...(await s.failed(appId, 1000))]) byEvent.set(d.eventId, d.id);
  }
  return rows.map((r) => byEvent.get(r.eventId) ?? 0);
}

/** Spools rows from the current cursor (moving it on) and returns their ids, none skipped. */
export async function spoolRows(s: CallbackSpool, rows: NewDelivery[]): Promise<number[]> {
  assert.equal(await s.enqueue(await s.cursor(), rows, `cursor-${++made}`), true, 'enqueue from the current cursor');
  const ids = await idsIn(s, rows);
  assert.ok(ids.every((id) => id > 0), `none skipped: ${ids}`);
  return ids;
}

/** Per-app counts in app order (an app with nothing left may or may not be listed). */
async function countsOf(s: CallbackSpool): Promise<SpoolCounts[]> {
  return (await s.counts()).filter((c) => c.pending + c.failed > 0).sort((a, b) => a.appId - b.appId);
}

const sortNum = (a: number[]) => [...a].sort((x, y) => x - y);
const isIncreasing = (a: number[]) => a.every((x, i) => i === 0 || x > a[i - 1]);

// ------------------------------------------------------------------------------- the contract

export function spoolContract(name: string, open: () => Promise<OpenedSpool>): void {
  /** Runs a test body over a fresh spool and always cleans up. */
  const withSpool = (body: (s: CallbackSpool) => Promise<void>) => async () => {
    const o = await open();
    try {
      await body(o.spool);
    } finally {
      await o.cleanup();
    }
  };

  describe(`CallbackSpool contract: ${name}`, () => {
    describe('cursor and enqueue', () => {
      it('the cursor starts empty and moves with each enqueue; a stale `from` spools nothing and returns false', withSpool(async (s) => {
        assert.equal(await s.cursor(), '');
        assert.equal(await s.enqueue('elsewhere', [delivery()], 'c1'), false);
        assert.equal(await s.cursor(), '');
        assert.deepEqual(await s.pending(APP, 0, 10), []);

        const a = delivery();
        assert.equal(await s.enqueue('', [a], 'c1'), true);
        const [id] = await idsIn(s, [a]);
        assert.equal(await s.cursor(), 'c1');
        // Another feeder already moved the cursor past '': nothing of this page is spooled.
        assert.equal(await s.enqueue('', [delivery(), delivery(OTHER_APP)], 'c2'), false);
        assert.equal(await s.cursor(), 'c1');
        assert.deepEqual(await s.pending(APP, 0, 10), [asPending(a, id)]);
        assert.deepEqual(await s.pending(OTHER_APP, 0, 10), []);
        assert.deepEqual(await countsOf(s), [{ appId: APP, pending: 1, failed: 0 }]);

        // An empty page still moves the cursor.
        assert.equal(await s.enqueue('c1', [], 'c2'), true);
        assert.equal(await s.cursor(), 'c2');
        const b = delivery();
        assert.equal(await s.enqueue('c2', [b], 'c3'), true);
        assert.equal(await s.cursor(), 'c3');
        assert.deepEqual(await s.pending(APP, 0, 10), [asPending(a, id), asPending(b, (await idsIn(s, [b]))[0])]);
      }));

      it('rows get increasing ids in the order given; an eventId still spooled is skipped, not spooled twice', withSpool(async (s) => {
        const rows = [delivery(APP), delivery(OTHER_APP), delivery(APP)];
        assert.equal(await s.enqueue('', rows, 'c1'), true);
        const ids = await idsIn(s, rows);
        assert.ok(ids[0] > 0 && isIncreasing(ids), `ids ${ids}`);
        assert.deepEqual(await s.pending(APP, 0, 10), [asPending(rows[0], ids[0]), asPending(rows[2], ids[2])]);
        assert.deepEqual(await s.pending(OTHER_APP, 0, 10), [asPending(rows[1], ids[1])]);

        // The next page repeats a spooled event (with another body): it is skipped, the rest spooled.
        const [x, y] = [delivery(OTHER_APP), delivery(APP)];
        assert.equal(await s.enqueue('c1', [x, { ...rows[1], body: 'changed' }, y], 'c2'), true);
        const [xId, yId] = await idsIn(s, [x, y]);
        assert.ok(xId > ids[2] && yId > xId, `ids ${[xId, yId]} after ${ids}`);
        assert.equal(await s.cursor(), 'c2');
        assert.deepEqual(await s.pending(OTHER_APP, 0, 10), [asPending(rows[1], ids[1]), asPending(x, xId)]);
        assert.deepEqual(await s.pending(APP, 0, 10), [asPending(rows[0], ids[0]), asPending(rows[2], ids[2]), asPending(y, yId)]);

        // A failed row is still spooled: its event is skipped too.
        await s.fail(ids[0], 3, 'HTTP 503', T0);
        assert.equal(await s.enqueue('c2', [rows[0]], 'c3'), true);
        assert.deepEqual(await countsOf(s), [
          { appId: APP, pending: 2, failed: 1 },
          { appId: OTHER_APP, pending: 2, failed: 0 },
        ]);
      }));

      it('an eventId given twice in one page is spooled once', withSpool(async (s) => {
        const a = delivery();
        assert.equal(await s.enqueue('', [a, { ...a, body: 'again' }], 'c1'), true);
        const [id] = await idsIn(s, [a]);
        assert.deepEqual(await s.pending(APP, 0, 10), [asPending(a, id)]);
      }));
    });

    describe('pending rows', () => {
      it('pending() reads one app\'s pending rows with id > afterId, in id order, at most `limit`; every field round-trips', withSpool(async (s) => {
        const rows = [
          delivery(APP, { body: '{"Nick":"主播 Zoë 🎤","Text":"ça va? привет"}', roomId: '直播间-1', seq: 9_007_199_254, createdAt: 1_750_000_000_123 }),
          delivery(OTHER_APP),
          delivery(APP, { command: 'Moderation.CallbackAfterDenyAdded' }),
          delivery(APP),
          delivery(OTHER_APP),
          delivery(APP),
        ];
        const ids = await spoolRows(s, rows);
        const mine = [0, 2, 3, 5].map((i) => asPending(rows[i], ids[i]));
        assert.deepEqual(await s.pending(APP, 0, 100), mine);
        assert.deepEqual(await s.pending(OTHER_APP, 0, 100), [1, 4].map((i) => asPending(rows[i], ids[i])));
        assert.deepEqual(await s.pending(THIRD_APP, 0, 100), []);
        // Paging: after an id, at most `limit`.
        assert.deepEqual(await s.pending(APP, 0, 2), mine.slice(0, 2));
        assert.deepEqual(await s.pending(APP, mine[1].id, 2), mine.slice(2, 4));
        assert.deepEqual(await s.pending(APP, mine[1].id - 1, 1), [mine[1]]);
        assert.deepEqual(await s.pending(APP, mine[3].id, 10), []);
        assert.deepEqual(await s.pending(APP, 0, 0), []);
        // Failed and delivered rows are not pending.
        await s.fail(mine[1].id, 1, 'x', T0);
        await s.delivered([mine[2].id]);
        assert.deepEqual(await s.pending(APP, 0, 100), [mine[0], mine[3]]);
      }));

      it('appsWithPending() lists exactly the apps with pending rows', withSpool(async (s) => {
        assert.deepEqual(await s.appsWithPending(), []);
        const rows = [delivery(APP), delivery(OTHER_APP), delivery(THIRD_APP), delivery(APP), delivery(OTHER_APP)];
        const ids = await spoolRows(s, rows);
        assert.deepEqual(sortNum(await s.appsWithPending()), [APP, OTHER_APP, THIRD_APP]);
        // OTHER_APP: one delivered, one failed; THIRD_APP: delivered.
        await s.delivered([ids[1], ids[2]]);
        await s.fail(ids[4], 2, 'timeout', T0);
        assert.deepEqual(await s.appsWithPending(), [APP]);
        await s.fail(ids[0], 2, 'timeout', T0);
        await s.delivered([ids[3]]);
        assert.deepEqual(await s.appsWithPending(), []);
      }));

      it('delivered() drops rows (an empty list and unknown ids are fine)', withSpool(async (s) => {
        const rows = [delivery(APP), delivery(APP), delivery(OTHER_APP), delivery(APP)];
        const ids = await spoolRows(s, rows);
        await s.delivered([]);
        assert.equal((await s.pending(APP, 0, 10)).length, 3);
        await s.delivered([ids[0], ids[2], ids[3] + 1000]);
        assert.deepEqual(await s.pending(APP, 0, 10), [asPending(rows[1], ids[1]), asPending(rows[3], ids[3])]);
        assert.deepEqual(await s.pending(OTHER_APP, 0, 10), []);
        assert.deepEqual(await countsOf(s), [{ appId: APP, pending: 2, failed: 0 }]);
        // Delivering again is harmless.
        await s.delivered([ids[0]]);
        assert.equal((await s.pending(APP, 0, 10)).length, 2);
        // Only rows in the spool hold their eventId: a delivered event may be spooled again.
        assert.equal(await s.enqueue(await s.cursor(), [rows[0]], 'again'), true);
        const [again] = await idsIn(s, [rows[0]]);
        assert.ok(again > ids[3], `id ${again} after ${ids}`);
      }));
    });

    describe('failed rows', () => {
      it('fail() moves a row out of pending into failed(): state, attempts, lastError, failedAt; the rest kept', withSpool(async (s) => {
        const rows = [delivery(APP, { body: '{"Nick":"Zoë 主播"}' }), delivery(APP)];
        const ids = await spoolRows(s, rows);
        await s.fail(ids[0], 7, 'HTTP 503: サービス利用不可', T0 + 5000);
        assert.deepEqual(await s.pending(APP, 0, 10), [asPending(rows[1], ids[1])]);
        assert.deepEqual(await s.failed(APP, 10), [
          { ...rows[0], id: ids[0], state: 'failed', attempts: 7, lastError: 'HTTP 503: サービス利用不可', failedAt: T0 + 5000 },
        ]);
        assert.deepEqual(await countsOf(s), [{ appId: APP, pending: 1, failed: 1 }]);
        // An unknown id changes nothing, nor does failing a failed row again.
        await s.fail(ids[1] + 1000, 1, 'x', T0);
        await s.fail(ids[0], 8, 'again', T0 + 6000);
        assert.equal((await s.failed(APP, 10))[0].lastError, 'HTTP 503: サービス利用不可');
        assert.deepEqual(await countsOf(s), [{ appId: APP, pending: 1, failed: 1 }]);
        // The error is kept to its first 500 characters.
        await s.fail(ids[1], 1, 'e'.repeat(2000), T0);
        assert.equal((await s.failed(APP, 10))[1].lastError, 'e'.repeat(500));
      }));

      it('failed() filters by app (null = all), pages by afterId and limit, oldest first', withSpool(async (s) => {
        const rows = [delivery(APP), delivery(OTHER_APP), delivery(APP), delivery(APP), delivery(OTHER_APP), delivery(APP)];
        const ids = await spoolRows(s, rows);
        // Given up in another order than spooled: listed by id all the same.
        for (const i of [3, 0, 4, 1, 2]) await s.fail(ids[i], i + 1, `error ${i}`, T0 + i);
        const failedRow = (i: number): Delivery => ({ ...rows[i], id: ids[i], state: 'failed', attempts: i + 1, lastError: `error ${i}`, failedAt: T0 + i });
        assert.deepEqual(await s.failed(null, 10), [0, 1, 2, 3, 4].map(failedRow));
        assert.deepEqual(await s.failed(APP, 10), [0, 2, 3].map(failedRow));
        assert.deepEqual(await s.failed(OTHER_APP, 10), [1, 4].map(failedRow));
        assert.deepEqual(await s.failed(THIRD_APP, 10), []);
        assert.deepEqual(idsOf(await s.failed(APP, 2)), [ids[0], ids[2]]);
        assert.deepEqual(idsOf(await s.failed(APP, 2, ids[2])), [ids[3]]);
        assert.deepEqual(idsOf(await s.failed(APP, 10, ids[0])), [ids[2], ids[3]]);
        assert.deepEqual(idsOf(await s.failed(null, 2, ids[1])), [ids[2], ids[3]]);
        assert.deepEqual(await s.failed(null, 10, ids[4]), []);
        assert.deepEqual(await s.pending(APP, 0, 10), [asPending(rows[5], ids[5])]);
      }));

      it('retry() re-sends the given failed rows of the app with new, larger ids, as new; pending, unknown and other apps\' ids are ignored', withSpool(async (s) => {
        const rows = [delivery(APP), delivery(APP), delivery(APP), delivery(OTHER_APP), delivery(APP)];
        const ids = await spoolRows(s, rows);
        for (const i of [0, 1, 3]) await s.fail(ids[i], 5, `error ${i}`, T0 + 10);
        const now = T0 + 60_000;
        // ids[2] is pending, ids[3] is OTHER_APP's, the last one is unknown.
        assert.equal(await s.retry([ids[0], ids[2], ids[3], ids[4] + 1000], APP, now), 1);
        const pending = await s.pending(APP, 0, 10);
        assert.deepEqual(idsOf(pending).slice(0, 2), [ids[2], ids[4]]);
        assert.equal(pending.length, 3);
        // At the end of the queue, with a new id larger than any spooled before, given up on nothing yet.
        const resent = pending[2];
        assert.ok(resent.id > ids[4], `new id ${resent.id} after ${ids}`);
        assert.deepEqual(resent, { ...asPending(rows[0], resent.id), createdAt: now });
        assert.deepEqual(idsOf(await s.failed(null, 10)), [ids[1], ids[3]]);
        // Its old id is gone: retrying it again does nothing.
        assert.equal(await s.retry([ids[0]], APP, now), 0);
        assert.equal(await s.retry([], APP, now), 0);
        // With no app given, any app's failed row.
        assert.equal(await s.retry([ids[3]], null, now + 1), 1);
        const [other] = await s.pending(OTHER_APP, 0, 10);
        assert.ok(other.id > resent.id);
        assert.deepEqual(other, { ...asPending(rows[3], other.id), createdAt: now + 1 });
        assert.deepEqual(await countsOf(s), [
          { appId: APP, pending: 3, failed: 1 },
          { appId: OTHER_APP, pending: 1, failed: 0 },
        ]);
      }));

      it('retry() of an id given twice re-sends the row once; rows go back in the order they were spooled, whatever the order given', withSpool(async (s) => {
        const rows = [delivery(APP), delivery(APP), delivery(APP, { roomId: 'r' }), delivery(APP, { roomId: 'r' })];
        const ids = await spoolRows(s, rows);
        for (const i of [0, 2, 3]) await s.fail(ids[i], 5, 'timeout', T0);
        assert.equal(await s.retry([ids[0], ids[0]], APP, T0 + 1), 1);
        assert.deepEqual((await s.pending(APP, 0, 10)).map((d) => d.eventId), [rows[1].eventId, rows[0].eventId]);
        // A room's callbacks keep their order when re-sent.
        assert.equal(await s.retry([ids[3], ids[2]], APP, T0 + 2), 2);
        assert.deepEqual((await s.pending(APP, 0, 10)).map((d) => d.eventId), [1, 0, 2, 3].map((i) => rows[i].eventId));
        assert.deepEqual(await s.failed(null, 10), []);
      }));

      it('retry(\'all\') re-sends every failed row of the app, or of every app with null', withSpool(async (s) => {
        const rows = [delivery(APP), delivery(APP), delivery(OTHER_APP), delivery(APP), delivery(OTHER_APP), delivery(THIRD_APP)];
        const ids = await spoolRows(s, rows);
        for (const i of [0, 2, 3, 4]) await s.fail(ids[i], 5, 'timeout', T0);
        const now = T0 + 60_000;
        assert.equal(await s.retry('all', APP, now), 2);
        const mine = await s.pending(APP, 0, 10);
        assert.deepEqual(mine[0], asPending(rows[1], ids[1]));
        const resent = mine.slice(1);
        assert.ok(resent.every((d) => d.id > ids[5]), `new ids ${idsOf(resent)} after ${ids}`);
        assert.deepEqual(
          resent.map((d) => ({ ...d, id: 0 })).sort((a, b) => a.seq - b.seq),
          [0, 3].map((i) => ({ ...asPending(rows[i], 0), createdAt: now })),
        );
        assert.deepEqual(idsOf(await s.failed(null, 10)), [ids[2], ids[4]]);
        assert.equal(await s.retry('all', THIRD_APP, now), 0);

        await s.fail(mine[0].id, 9, 'timeout', T0);
        assert.equal(await s.retry('all', null, now + 1), 3);
        assert.deepEqual(await s.failed(null, 10), []);
        assert.equal(await s.retry('all', null, now + 2), 0);
        assert.deepEqual(await countsOf(s), [
          { appId: APP, pending: 3, failed: 0 },
          { appId: OTHER_APP, pending: 2, failed: 0 },
          { appId: THIRD_APP, pending: 1, failed: 0 },
        ]);
        const others = (await s.pending(OTHER_APP, 0, 10)).sort((a, b) => a.seq - b.seq);
        assert.deepEqual(others, [2, 4].map((i, k) => ({ ...asPending(rows[i], others[k].id), createdAt: now + 1 })));
      }));

      it('discard() removes the given failed rows of the app for good; pending, unknown, duplicate and other apps\' ids remove nothing more', withSpool(async (s) => {
        const rows = [delivery(APP), delivery(APP), delivery(APP), delivery(OTHER_APP), delivery(APP)];
        const ids = await spoolRows(s, rows);
        for (const i of [0, 1, 3]) await s.fail(ids[i], 5, `error ${i}`, T0 + 10);
        // ids[0] twice, ids[2] pending, ids[3] OTHER_APP's, the last unknown: only ids[0] goes.
        assert.equal(await s.discard([ids[0], ids[0], ids[2], ids[3], ids[4] + 1000], APP), 1);
        assert.deepEqual(idsOf(await s.failed(null, 10)), [ids[1], ids[3]]);
        assert.deepEqual(await s.pending(APP, 0, 10), [asPending(rows[2], ids[2]), asPending(rows[4], ids[4])]);
        assert.deepEqual(await countsOf(s), [
          { appId: APP, pending: 2, failed: 1 },
          { appId: OTHER_APP, pending: 0, failed: 1 },
        ]);
        // Gone: neither discarded again nor re-sendable.
        assert.equal(await s.discard([ids[0]], APP), 0);
        assert.equal(await s.retry([ids[0]], APP, T0), 0);
        assert.equal(await s.discard([], APP), 0);
        // A pending row stays pending, whoever asks.
        assert.equal(await s.discard([ids[2], ids[4]], null), 0);
        assert.equal((await s.pending(APP, 0, 10)).length, 2);
        // With no app given, any app's failed row.
        assert.equal(await s.discard([ids[3], ids[1]], null), 2);
        assert.deepEqual(await s.failed(null, 10), []);
        assert.deepEqual(await countsOf(s), [{ appId: APP, pending: 2, failed: 0 }]);
        // Its eventId no longer counts as spooled (as after a delivery): spooled again, not skipped.
        const [again] = await spoolRows(s, [rows[0]]);
        assert.ok(again > ids[4], `id ${again} after ${ids}`);
      }));

      it('discard(\'all\') removes every failed row of the app, or of every app with null; never a pending one', withSpool(async (s) => {
        const rows = [delivery(APP), delivery(APP), delivery(OTHER_APP), delivery(APP), delivery(OTHER_APP), delivery(THIRD_APP)];
        const ids = await spoolRows(s, rows);
        for (const i of [0, 2, 3, 4]) await s.fail(ids[i], 5, 'timeout', T0);
        assert.equal(await s.discard('all', APP), 2);
        assert.deepEqual(await s.pending(APP, 0, 10), [asPending(rows[1], ids[1])]);
        assert.deepEqual(idsOf(await s.failed(null, 10)), [ids[2], ids[4]]);
        assert.equal(await s.discard('all', APP), 0);
        assert.equal(await s.discard('all', THIRD_APP), 0);
        assert.deepEqual(await countsOf(s), [
          { appId: APP, pending: 1, failed: 0 },
          { appId: OTHER_APP, pending: 0, failed: 2 },
          { appId: THIRD_APP, pending: 1, failed: 0 },
        ]);
        await s.fail(ids[1], 9, 'timeout', T0);
        assert.equal(await s.discard('all', null), 3);
        assert.equal(await s.discard('all', null), 0);
        assert.deepEqual(await s.failed(null, 10), []);
        assert.deepEqual(await countsOf(s), [{ appId: THIRD_APP, pending: 1, failed: 0 }]);
        assert.deepEqual(await s.pending(THIRD_APP, 0, 10), [asPending(rows[5], ids[5])]);
      }));

      it('discard(\'all\') goes through a backlog of several pages, and leaves the pending rows among them', withSpool(async (s) => {
        const rows = Array.from({ length: BULK_PAGE * 2 + 10 }, (_, i) => delivery(i % 4 === 3 ? OTHER_APP : APP));
        assert.equal(await s.enqueue(await s.cursor(), rows, `cursor-${++made}`), true);
        const pendingIds = async (appId: number) => {
          const out: number[] = [];
          for (let page: Delivery[]; (page = await s.pending(appId, out.at(-1) ?? 0, 1000)).length > 0; ) out.push(...idsOf(page));
          return out;
        };
        const mine = await pendingIds(APP);
        const theirs = await pendingIds(OTHER_APP);
        // Every 100th of the app's rows stays pending, spread over the pages.
        const kept = mine.filter((_, i) => i % 100 === 0);
        const toFail = [...mine.filter((_, i) => i % 100 !== 0), ...theirs];
        for (let i = 0; i < toFail.length; i += 100) await Promise.all(toFail.slice(i, i + 100).map((id) => s.fail(id, 1, 'x', T0)));
        assert.equal(await s.discard('all', APP), mine.length - kept.length);
        assert.deepEqual(await pendingIds(APP), kept);
        assert.deepEqual(await countsOf(s), [
          { appId: APP, pending: kept.length, failed: 0 },
          { appId: OTHER_APP, pending: 0, failed: theirs.length },
        ]);
        assert.equal(await s.discard('all', null), theirs.length);
        assert.deepEqual(await countsOf(s), [{ appId: APP, pending: kept.length, failed: 0 }]);
      }));

      it('retry(\'all\') goes through a backlog of several pages: the app\'s rows back in their order, the other app\'s left failed', withSpool(async (s) => {
        const rows = Array.from({ length: BULK_PAGE * 2 + 10 }, (_, i) => delivery(i % 4 === 3 ? OTHER_APP : APP));
        assert.equal(await s.enqueue(await s.cursor(), rows, `cursor-${++made}`), true);
        const pendingOf = async (appId: number) => {
          const out: Delivery[] = [];
          for (let page: Delivery[]; (page = await s.pending(appId, out.at(-1)?.id ?? 0, 1000)).length > 0; ) out.push(...page);
          return out;
        };
        const ids = [...idsOf(await pendingOf(APP)), ...idsOf(await pendingOf(OTHER_APP))];
        for (let i = 0; i < ids.length; i += 100) await Promise.all(ids.slice(i, i + 100).map((id) => s.fail(id, 1, 'x', T0)));
        const mine = rows.filter((r) => r.appId === APP);
        assert.equal(await s.retry('all', APP, T0 + 1), mine.length);
        assert.deepEqual((await pendingOf(APP)).map((d) => d.eventId), mine.map((r) => r.eventId));
        assert.deepEqual(await countsOf(s), [
          { appId: APP, pending: mine.length, failed: 0 },
          { appId: OTHER_APP, pending: 0, failed: rows.length - mine.length },
        ]);
      }));

      it('pruneFailed() drops failed rows of every app given up before the time, never a pending one nor a later one', withSpool(async (s) => {
        const rows = [delivery(APP), delivery(APP), delivery(OTHER_APP), delivery(APP), delivery(THIRD_APP), delivery(OTHER_APP)];
        const ids = await spoolRows(s, rows);
        // Given up at T0+10, T0+20 (the other app), T0+30 (the third app), T0+40; rows 1 and 5 stay pending.
        await s.fail(ids[0], 3, 'HTTP 500', T0 + 10);
        await s.fail(ids[2], 3, 'HTTP 500', T0 + 20);
        await s.fail(ids[4], 3, 'HTTP 500', T0 + 30);
        await s.fail(ids[3], 3, 'HTTP 500', T0 + 40);
        assert.equal(await s.pruneFailed(T0 + 10, 100), 0, 'failedAt equal to the cut stays');
        assert.equal(await s.pruneFailed(T0 + 31, 100), 3);
        assert.deepEqual(idsOf(await s.failed(null, 10)), [ids[3]]);
        assert.deepEqual(await s.pending(APP, 0, 10), [asPending(rows[1], ids[1])]);
        assert.deepEqual(await s.pending(OTHER_APP, 0, 10), [asPending(rows[5], ids[5])]);
        assert.deepEqual(await countsOf(s), [
          { appId: APP, pending: 1, failed: 1 },
          { appId: OTHER_APP, pending: 1, failed: 0 },
        ]);
        // Pending rows stay pending whatever the time (their failedAt is 0).
        assert.equal(await s.pruneFailed(Number.MAX_SAFE_INTEGER, 100), 1);
        assert.deepEqual(await s.failed(null, 10), []);
        assert.deepEqual(idsOf(await s.pending(APP, 0, 10)), [ids[1]]);
        assert.deepEqual(idsOf(await s.pending(OTHER_APP, 0, 10)), [ids[5]]);
        // A pruned eventId no longer counts as spooled (as after a discard).
        const [again] = await spoolRows(s, [rows[0]]);
        assert.ok(again > ids[5], `id ${again} after ${ids}`);
      }));

      it('pruneFailed() drops at most `limit` rows a call, the longest given up first', withSpool(async (s) => {
        const rows = Array.from({ length: 7 }, (_, i) => delivery(i % 2 === 0 ? APP : OTHER_APP));
        const ids = await spoolRows(s, rows);
        // Given up in the reverse of spool order: the last row is the oldest.
        for (const [i, id] of ids.entries()) await s.fail(id, 1, 'timeout', T0 + 100 - i);
        assert.equal(await s.pruneFailed(T0 + 1000, 3), 3);
        assert.deepEqual(idsOf(await s.failed(null, 10)), ids.slice(0, 4));
        assert.equal(await s.pruneFailed(T0 + 1000, 0), 0);
        assert.equal(await s.pruneFailed(T0 + 1000, 3), 3);
        assert.deepEqual(idsOf(await s.failed(null, 10)), [ids[0]]);
        assert.equal(await s.pruneFailed(T0 + 1000, 3), 1);
        assert.equal(await s.pruneFailed(T0 + 1000, 3), 0);
        assert.deepEqual(await countsOf(s), []);
      }));

      it('a re-sent row is pending again: pruneFailed() leaves it, whenever it was given up', withSpool(async (s) => {
        const rows = [delivery(APP), delivery(APP)];
        const ids = await spoolRows(s, rows);
        await s.fail(ids[0], 2, 'x', T0 + 1);
        await s.fail(ids[1], 2, 'x', T0 + 2);
        assert.equal(await s.retry([ids[0]], APP, T0 + 5), 1);
        assert.equal(await s.pruneFailed(T0 + 10, 100), 1);
        assert.deepEqual((await s.pending(APP, 0, 10)).map((d) => d.eventId), [rows[0].eventId]);
        assert.deepEqual(await s.failed(null, 10), []);
      }));

      it('counts() gives pending and failed per app', withSpool(async (s) => {
        assert.deepEqual(await countsOf(s), []);
        const rows = [delivery(APP), delivery(APP), delivery(APP), delivery(OTHER_APP), delivery(THIRD_APP)];
        const ids = await spoolRows(s, rows);
        await s.fail(ids[0], 1, 'x', T0);
        await s.fail(ids[3], 1, 'x', T0);
        await s.delivered([ids[4]]);
        assert.deepEqual(await countsOf(s), [
          { appId: APP, pending: 2, failed: 1 },
          { appId: OTHER_APP, pending: 0, failed: 1 },
        ]);
      }));
    });

    describe('configurations', () => {
      it('getConfig, setConfig (null removes) and allConfigs, per app', withSpool(async (s) => {
        const set: StoredCallbackConfig = { kind: 'set', target: { url: 'https://hooks.example.com/rostrum?x=1', commands: ['Room.CallbackAfterCreateRoom'] } };
        const deleted: StoredCallbackConfig = { kind: 'deleted' };
        assert.equal(await s.getConfig(APP), null);
        assert.deepEqual(await s.allConfigs(), new Map());
        await s.setConfig(APP, set);
        await s.setConfig(OTHER_APP, deleted);
        assert.deepEqual(await s.getConfig(APP), set);
        assert.deepEqual(await s.getConfig(OTHER_APP), deleted);
        assert.equal(await s.getConfig(THIRD_APP), null);
        assert.deepEqual(await s.allConfigs(), new Map<number, StoredCallbackConfig>([[APP, set], [OTHER_APP, deleted]]));
        // Replaced, then removed: the other app's stays.
        const every: StoredCallbackConfig = { kind: 'set', target: { url: 'http://127.0.0.1:9000/cb' } };
        await s.setConfig(APP, every);
        assert.deepEqual(await s.getConfig(APP), every);
        await s.setConfig(APP, null);
        assert.equal(await s.getConfig(APP), null);
        assert.deepEqual(await s.allConfigs(), new Map<number, StoredCallbackConfig>([[OTHER_APP, deleted]]));
        await s.setConfig(THIRD_APP, null);
        // Configurations are not rows, nor the cursor.
        assert.equal(await s.cursor(), '');
        assert.deepEqual(await countsOf(s), []);
      }));

      it('setConfigIf() stores only over what `when` names (none, a set one, a deletion), and says whether it did', withSpool(async (s) => {
        const first: StoredCallbackConfig = { kind: 'set', target: { url: 'http://127.0.0.1:9000/first' } };
        const second: StoredCallbackConfig = { kind: 'set', target: { url: 'http://127.0.0.1:9000/second', commands: [] } };
        const deleted: StoredCallbackConfig = { kind: 'deleted' };
        // Nothing stored: only a `when` naming none writes.
        assert.equal(await s.setConfigIf(APP, first, ['set']), false);
        assert.equal(await s.setConfigIf(APP, first, ['deleted']), false);
        assert.equal(await s.getConfig(APP), null);
        assert.equal(await s.setConfigIf(APP, first, ['none', 'deleted']), true);
        assert.deepEqual(await s.getConfig(APP), first);
        // A set one: kept unless `when` names set.
        assert.equal(await s.setConfigIf(APP, second, ['none', 'deleted']), false);
        assert.deepEqual(await s.getConfig(APP), first);
        assert.equal(await s.setConfigIf(APP, second, ['set']), true);
        assert.deepEqual(await s.getConfig(APP), second);
        // A deletion: kept unless `when` names deleted.
        await s.setConfig(APP, deleted);
        assert.equal(await s.setConfigIf(APP, first, ['set', 'none']), false);
        assert.deepEqual(await s.getConfig(APP), deleted);
        assert.equal(await s.setConfigIf(APP, first, ['none', 'deleted']), true);
        assert.deepEqual(await s.getConfig(APP), first);
        // A deletion may be written conditionally too; an empty `when` never writes.
        assert.equal(await s.setConfigIf(APP, deleted, []), false);
        assert.equal(await s.setConfigIf(APP, deleted, ['set']), true);
        assert.deepEqual(await s.getConfig(APP), deleted);
        // Per app: the other apps' are untouched, and theirs go by their own.
        assert.equal(await s.getConfig(OTHER_APP), null);
        assert.equal(await s.setConfigIf(OTHER_APP, second, ['none']), true);
        assert.deepEqual(await s.allConfigs(), new Map<number, StoredCallbackConfig>([[APP, deleted], [OTHER_APP, second]]));
      }));

      it('setConfigIf() at once: of writes that each require what the others change, exactly one is stored', withSpool(async (s) => {
        const target = (i: number): StoredCallbackConfig => ({ kind: 'set', target: { url: `http://127.0.0.1:9000/${i}` } });
        for (let round = 0; round < 5; round++) {
          // Over nothing (first round) or a deletion: as set_callback.
          const applied = await Promise.all(Array.from({ length: 8 }, (_, i) => s.setConfigIf(APP, target(round * 10 + i), ['none', 'deleted'])));
          assert.equal(applied.filter(Boolean).length, 1, `round ${round}: ${applied}`);
          assert.deepEqual(await s.getConfig(APP), target(round * 10 + applied.indexOf(true)));
          // Replacing what is set (as update_callback) racing a deletion: whatever the order, the
          // deletion is what stays (a replacement after it does not apply).
          const [, ...updated] = await Promise.all([
            s.setConfig(APP, { kind: 'deleted' }),
            ...Array.from({ length: 4 }, (_, i) => s.setConfigIf(APP, target(round * 10 + 8 + (i % 2)), ['set'])),
          ]);
          assert.deepEqual(await s.getConfig(APP), { kind: 'deleted' }, `round ${round}: updates applied ${updated}`);
        }
      }));
    });
  });
}
