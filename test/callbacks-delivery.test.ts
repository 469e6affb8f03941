// Callback delivery end to end: a real receiver on loopback checks every signature, order per
// room (also with commands racing on a room) and completeness; receiver down then up; give-up and
// re-send; a room whose callbacks keep failing does not hold back the app's others, nor one app's
// dead receiver another app's.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { APP, OTHER_APP, TEST_STORE, enter, asUser, startTestServer, tempData, type TestServer } from './support/harness.js';
import { ok } from './support/tencent.js';
import { ok as polyvOk, polyvClient } from './support/polyv.js';
import { receiversClosedAfter, until } from './support/receiver.js';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer as createNetServer, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { RelayThread } from '../src/callbacks/relay-thread.js';
import { signOf, verifyCallback } from '../src/callbacks/sign.js';
import { ConfigError, parseConfig } from '../src/config.js';

const TOKEN = 'callback-token-1';
const receiver = receiversClosedAfter();

/** Per room, the Seq of the unique bodies must increase. */
function assertOrdered(bodies: any[]): void {
  const last = new Map<string, number>();
  const roomOf = (b: any): string => b.RoomId ?? b.RoomInfo.RoomId;
  bodies.forEach((b, i) => {
    const room = roomOf(b);
    // The room's arrivals around the one out of order, to tell a late one from a skipped one.
    const around = () => bodies.slice(Math.max(0, i - 8), i + 8).filter((x) => roomOf(x) === room).map((x) => x.Seq).join(' ');
    if (b.Seq <= (last.get(room) ?? 0)) assert.fail(`room ${room}: Seq ${b.Seq} after ${last.get(room)} (the room's arrivals around it: ${around()})`);
    last.set(room, b.Seq);
  });
}

const fast = { backoffBaseMs: 50, backoffMaxMs: 400 };

/** Creates the room, then updates it `count` times at once (CustomInfo 0, 1, …): 1 + count callbacks. */
async function roomWithUpdates(s: TestServer, roomId: string, count: number): Promise<void> {
  ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: roomId, RoomType: 'Conference' } }));
  const updates = Array.from({ length: count }, (_, i) => s.tencent('room_engine_http_srv/update_room_info', { RoomInfo: { RoomId: roomId, CustomInfo: String(i) } }));
  for (const r of await Promise.all(updates)) ok(r);
}

/**
 * A receiver on raw sockets that, while `drip` is on, answers a byte at a time, one every `gapMs`
 * (the whole answer takes ~90 gaps); otherwise at once. Records each request's EventId, how long
 * its connection stayed open after it, and whether a dripped answer was ever written out in full.
 */
async function dripReceiver(gapMs: number) {
  const OK = '{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}';
  const answer = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${OK.length}\r\n\r\n${OK}`;
  const sockets = new Set<Socket>();
  const r = {
    url: '',
    drip: true,
    requests: [] as { eventId: string; openMs: number; dripped: boolean }[],
    drippedInFull: 0,
    /** How long the last answer written out in full took (ms). */
    drippedFor: 0,
    answeredAtOnce: 0,
    close: async () => {
      for (const sock of sockets) sock.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server = createNetServer((sock) => {
    sockets.add(sock);
    let buf = '';
    let current: (typeof r.requests)[number] | null = null;
    let t0 = 0;
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      const len = Number(/content-length: (\d+)/i.exec(buf)?.[1] ?? 0);
      if (end < 0 || buf.length < end + 4 + len) return;
      const body = JSON.parse(Buffer.from(buf.slice(end + 4, end + 4 + len), 'latin1').toString('utf8'));
      buf = buf.slice(end + 4 + len);
      current = { eventId: body.EventId, openMs: -1, dripped: r.drip };
      r.requests.push(current);
      t0 = Date.now();
      if (!r.drip) {
        r.answeredAtOnce++;
        current.openMs = 0;
        return void sock.write(answer);
      }
      let i = 0;
      const timer = setInterval(() => {
        if (sock.destroyed) return clearInterval(timer);
        sock.write(answer[i++]);
        if (i === answer.length) {
          clearInterval(timer);
          r.drippedInFull++;
          r.drippedFor = Date.now() - t0;
        }
      }, gapMs);
      sock.once('close', () => clearInterval(timer));
    });
    sock.on('close', () => {
      sockets.delete(sock);
      if (current && current.openMs < 0) current.openMs = Date.now() - t0;
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/callback`;
  return r;
}

describe('callback delivery', () => {
  it('sends every callback with Tencent query parameters, signature, EventTime in ms, unique ids, in order', async () => {
    const rx = await receiver(TOKEN);
    const s = await startTestServer({ apps: [{ ...APP, callback: { url: rx.url, token: TOKEN } }, OTHER_APP] });
    try {
      const t0 = Date.now();
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'r1', RoomType: 'Conference', IsSeatEnabled: true, MaxSeatCount: 3 } }));
      ok(await s.tencent('room_engine_http_srv/update_room_info', { RoomInfo: { RoomId: 'r1', RoomName: 'renamed' } }));
      await enter(s, 'r1', 'alice');
      await enter(s, 'r1', 'bob');
      ok(await s.tencent('room_engine_http_mic/pick_user_on_seat', { RoomId: 'r1', Member_Account: 'alice', Index: 1 }));
      ok(await s.tencent('room_engine_http_mic/lock_seat', { RoomId: 'r1', Index: 2, ForbidTaken: true }));
      await s.server.engine.execute(APP.sdkAppId, { kind: 'admin', userId: 'administrator' }, {
        type: 'setMuted', roomId: 'r1', subjectType: 'userId', subjects: ['bob'], muted: true, origin: 'tencent', durationSec: 60, reason: 'flood',
      } as never);
      ok(await s.tencent('room_engine_http_srv/ban_room_member', { RoomId: 'r1', MemberList_Account: ['bob'], Reason: 'spam', Duration: 600 }));
      ok(await s.tencent('room_engine_http_srv/unban_room_member', { RoomId: 'r1', MemberList_Account: ['bob'] }));
      await asUser(s, 'alice', { type: 'leaveRoom', roomId: 'r1' } as never);
      ok(await s.tencent('room_engine_http_srv/destroy_room', { RoomId: 'r1' }));
      await until(() => rx.unique().some((b) => b.CallbackCommand === 'Room.CallbackAfterDestroyRoom'), 'the destroy callback');
      const bodies = rx.unique();
      const commands = bodies.map((b) => b.CallbackCommand);
      for (const c of [
        'Room.CallbackAfterCreateRoom',
        'Room.CallbackAfterUpdateRoomInfo',
        'Room.CallbackAfterMemberEnter',
        'Mic.CallbackAfterSeatInfoChanged',
        'Moderation.CallbackAfterSeatLockChanged',
        'Moderation.CallbackAfterMuteChanged',
        'Moderation.CallbackAfterDenyAdded',
        'Room.CallbackAfterMemberLeave',
        'Moderation.CallbackAfterDenyLifted',
        'Room.CallbackAfterDestroyRoom',
      ]) assert.ok(commands.includes(c), `missing ${c}: ${commands.join(', ')}`);
      assert.equal(rx.accepted.length, bodies.length, 'no repeats when nothing failed');
      assertOrdered(bodies);
      for (const r of rx.accepted) {
        assert.ok(r.verified, 'signature verifies');
        assert.equal(r.query.get('SdkAppid'), String(APP.sdkAppId));
        assert.equal(r.query.get('CallbackCommand'), r.body.CallbackCommand);
        assert.equal(r.query.get('contenttype'), 'json');
        assert.equal(r.query.get('OptPlatform'), 'RESTAPI');
        assert.ok(r.query.has('ClientIP'));
        assert.ok(r.body.EventTime >= t0 - 1000 && r.body.EventTime <= Date.now(), 'EventTime in ms');
        assert.match(r.body.EventId, /^[0-9a-f]{32}$/);
      }
      assert.equal(new Set(bodies.map((b) => b.EventId)).size, bodies.length);
      const create = bodies.find((b) => b.CallbackCommand === 'Room.CallbackAfterCreateRoom');
      assert.equal(create.Operator_Account, 'administrator');
      assert.equal(create.RoomInfo.RoomId, 'r1');
      assert.equal(create.RoomInfo.MaxSeatCount, 3);
      const enterBody = bodies.find((b) => b.CallbackCommand === 'Room.CallbackAfterMemberEnter');
      assert.deepEqual({ ...enterBody, EventTime: 0, EventId: '', Seq: 0 }, {
        CallbackCommand: 'Room.CallbackAfterMemberEnter', Operator_Account: 'alice', RoomId: 'r1', MemberCount: 1, Type: 'Enter', MemberList_Account: ['alice'], EventTime: 0, EventId: '', Seq: 0,
      });
      const kicked = bodies.find((b) => b.CallbackCommand === 'Room.CallbackAfterMemberLeave' && b.MemberList_Account[0] === 'bob');
      assert.equal(kicked.Type, 'Kicked');
      const left = bodies.find((b) => b.CallbackCommand === 'Room.CallbackAfterMemberLeave' && b.MemberList_Account[0] === 'alice');
      assert.equal(left.Type, 'Leave');
      const deny = bodies.find((b) => b.CallbackCommand === 'Moderation.CallbackAfterDenyAdded');
      assert.equal(deny.EntryList[0].Subject, 'bob');
      assert.equal(deny.EntryList[0].Reason, 'spam');
      assert.ok(deny.EntryList[0].Until > Date.now());
      const mute = bodies.find((b) => b.CallbackCommand === 'Moderation.CallbackAfterMuteChanged');
      assert.deepEqual([mute.Member_Account, mute.Type, mute.Reason, mute.Operator_Account], ['bob', 'Muted', 'flood', 'administrator']);
      const lock = bodies.find((b) => b.CallbackCommand === 'Moderation.CallbackAfterSeatLockChanged');
      assert.deepEqual([lock.Index, lock.IsTakenDisabled], [2, true]);
      // The receiver has answered the last one; the relay records it a moment later.
      await until(() => s.server.callbacks.relay.idle(), 'the relay to settle');
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      const app = `app="${APP.sdkAppId}"`;
      assert.match(metrics, new RegExp(`rostrum_callbacks_queued_total\\{${app}\\} ${bodies.length}\\b`));
      assert.match(metrics, new RegExp(`rostrum_callbacks_delivered_total\\{${app}\\} ${bodies.length}\\b`));
      assert.match(metrics, new RegExp(`rostrum_callbacks_delivery_lag_seconds_count\\{${app}\\} ${bodies.length}\\b`));
      const seats = bodies.filter((b) => b.CallbackCommand === 'Mic.CallbackAfterSeatInfoChanged');
      assert.equal(seats[0].SeatList[1].Member_Account, 'alice');
      assert.equal(seats[0].SeatList[0].Member_Account, undefined);
    } finally {
      await s.close();
    }
  });

  it('app-wide kicks, bans and mutes yield the same moderation callbacks as per-room ones, with RoomId ""', async () => {
    const rx = await receiver(TOKEN);
    const s = await startTestServer({ apps: [{ ...APP, callback: { url: rx.url, token: TOKEN } }, OTHER_APP] });
    try {
      const polyv = polyvClient(s);
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'r1', RoomType: 'Conference' } }));
      await enter(s, 'r1', 'roamer');
      // Polyv app-wide kick of a member present in r1 and of a user present nowhere.
      assert.equal(polyvOk(await polyv('/live/v4/chat/forbid/kick-users', {}, { json: { viewerIds: ['roamer', 'absent'], nickNames: ['R', 'A'] } })), 'SUCCESS');
      // An app-wide IP ban through the core (the native and Tencent surfaces name a room).
      await s.server.engine.execute(APP.sdkAppId, { kind: 'admin', userId: 'administrator' }, {
        type: 'banIp', roomId: '', ip: '203.0.113.9', reason: 'abuse', origin: 'tencent', durationSec: 600,
      } as never);
      assert.equal(polyvOk(await polyv('/live/v4/chat/forbid/unkick-users', {}, { json: { viewerIds: ['absent'], nickNames: ['A'] } })), 'SUCCESS');
      // Polyv app-wide chat ban of someone in no room, then lifted.
      polyvOk(await polyv('/live/v3/user/chat/banned-user/update', { viewerIds: JSON.stringify(['quiet']), banned: 'Y' }));
      polyvOk(await polyv('/live/v3/user/chat/banned-user/update', { viewerIds: JSON.stringify(['quiet']), banned: 'N' }));
      const appWide = () => rx.unique().filter((b) => b.RoomId === '');
      await until(() => appWide().filter((b) => b.CallbackCommand === 'Moderation.CallbackAfterMuteChanged').length === 2, 'the app-wide mute callbacks');
      const bodies = appWide();
      assert.deepEqual(
        bodies.map((b) => b.CallbackCommand),
        [
          'Moderation.CallbackAfterDenyAdded',
          'Moderation.CallbackAfterDenyAdded',
          'Moderation.CallbackAfterDenyLifted',
          'Moderation.CallbackAfterMuteChanged',
          'Moderation.CallbackAfterMuteChanged',
        ],
      );
      assertOrdered(bodies);
      for (const r of rx.accepted) assert.ok(r.verified, 'signature verifies');
      const [kick, ip, lift, mute, unmute] = bodies;
      assert.deepEqual(
        kick.EntryList.map((e: any) => [e.SubjectType, e.Subject, e.Origin, e.Until]),
        [['UserId', 'roamer', 'polyv', 0], ['UserId', 'absent', 'polyv', 0]],
      );
      assert.equal(kick.Operator_Account, APP.polyv!.appId, 'the Polyv app acts');
      assert.deepEqual([ip.EntryList[0].SubjectType, ip.EntryList[0].Subject, ip.EntryList[0].Reason], ['IP', '203.0.113.9', 'abuse']);
      assert.ok(ip.EntryList[0].Until > Date.now());
      assert.deepEqual(lift.EntryList.map((e: any) => e.Subject), ['absent']);
      assert.deepEqual({ ...mute, EventTime: 0, EventId: '', Seq: 0, Operator_Account: '' }, {
        CallbackCommand: 'Moderation.CallbackAfterMuteChanged', Operator_Account: '', RoomId: '', Member_Account: 'quiet', Type: 'Muted',
        SubjectType: 'UserId', Reason: '', Until: 0, Subject: 'quiet', EventTime: 0, EventId: '', Seq: 0,
      });
      assert.equal(unmute.Type, 'Unmuted');
      // The kicked member's removal from r1 still comes as r1's own leave callback.
      await until(() => rx.unique().some((b) => b.CallbackCommand === 'Room.CallbackAfterMemberLeave' && b.RoomId === 'r1'), 'r1 leave');
      const leave = rx.unique().find((b) => b.CallbackCommand === 'Room.CallbackAfterMemberLeave' && b.RoomId === 'r1');
      assert.deepEqual([leave.MemberList_Account, leave.Type], [['roamer'], 'Kicked']);
    } finally {
      await s.close();
    }
  });

  it('forged and stale deliveries are told apart from real ones', async () => {
    const rx = await receiver(TOKEN);
    const s = await startTestServer({ apps: [{ ...APP, callback: { url: rx.url, token: TOKEN } }, OTHER_APP] });
    try {
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'r1', RoomType: 'Conference' } }));
      await until(() => rx.accepted.length === 1, 'the callback');
      const q = rx.accepted[0].query;
      assert.ok(verifyCallback(q, TOKEN));
      assert.ok(!verifyCallback(q, 'another-token'), 'signed with another token');
      const forged = new URLSearchParams(q);
      forged.set('Sign', signOf('guess', q.get('RequestTime')!));
      assert.ok(!verifyCallback(forged, TOKEN), 'forged');
      const stale = new URLSearchParams(q);
      const old = Number(q.get('RequestTime')) - 600;
      stale.set('RequestTime', String(old));
      stale.set('Sign', signOf(TOKEN, old)); // a genuine signature, replayed ten minutes later
      assert.ok(!verifyCallback(stale, TOKEN), 'stale');
      const unsigned = new URLSearchParams(q);
      unsigned.delete('Sign');
      assert.ok(!verifyCallback(unsigned, TOKEN), 'unsigned');
      // Tencent's documented example
      assert.equal(signOf('xxxxyyyy', 1669872112), '17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061');
    } finally {
      await s.close();
    }
  });

  it('receiver down for a while, then up: everything arrives, in order per room', async () => {
    const rx = await receiver(TOKEN);
    rx.mode = 'down';
    const s = await startTestServer({ apps: [{ ...APP, callback: { url: rx.url, token: TOKEN } }, OTHER_APP], callbacks: fast });
    try {
      const rooms = ['a', 'b', 'c'];
      for (const r of rooms) ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: r, RoomType: 'Conference' } }));
      for (let i = 0; i < 10; i++) {
        for (const r of rooms) ok(await s.tencent('room_engine_http_srv/update_room_info', { RoomInfo: { RoomId: r, CustomInfo: String(i) } }));
      }
      await until(() => rx.attempts >= 6, 'failed attempts');
      assert.equal(rx.accepted.length, 0);
      rx.mode = 'up';
      await until(() => rx.unique().length === 33, 'all 33 callbacks');
      const bodies = rx.unique();
      assertOrdered(bodies);
      for (const r of rooms) {
        const infos = bodies.filter((b) => b.CallbackCommand === 'Room.CallbackAfterUpdateRoomInfo' && b.RoomInfo.RoomId === r).map((b) => b.RoomInfo.CustomInfo);
        assert.deepEqual(infos, Array.from({ length: 10 }, (_, i) => String(i)));
      }
      assert.ok(rx.accepted.every((x) => x.verified));
    } finally {
      await s.close();
    }
  });

  it('SQLite on Linux: the relay thread runs at nice 10 (requests first under a burst), at the server\'s priority with relayNice 0', { skip: TEST_STORE !== undefined || process.platform !== 'linux' }, async () => {
    // The nice value of each thread of this process (field 19 of its stat, after the name).
    const threadNices = () =>
      readdirSync('/proc/self/task').map((tid) => {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
      });
    assert.deepEqual([...new Set(threadNices())], [0], 'no thread lowered before');
    for (const [callbacks, expected] of [[fast, [0, 10]], [{ ...fast, relayNice: 0 }, [0]]] as const) {
      const s = await startTestServer({ apps: [{ ...APP, callback: { url: 'http://127.0.0.1:9/', token: TOKEN } }, OTHER_APP], callbacks });
      try {
        assert.ok(s.server.callbacks.relay instanceof RelayThread);
        assert.deepEqual([...new Set(threadNices())].sort((a, b) => a - b), expected);
        assert.equal(threadNices().filter((n) => n === 10).length, expected.length - 1, 'one thread, the relay\'s');
      } finally {
        await s.close();
      }
    }
  });

  it('SQLite: the relay runs on a thread of its own; when that thread dies it is started again and nothing is lost', { skip: TEST_STORE !== undefined }, async () => {
    const rx = await receiver(TOKEN);
    const s = await startTestServer({ apps: [{ ...APP, callback: { url: rx.url, token: TOKEN } }, OTHER_APP], callbacks: fast });
    try {
      const relay = s.server.callbacks.relay;
      assert.ok(relay instanceof RelayThread, 'a worker thread on SQLite');
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'r1', RoomType: 'Conference' } }));
      for (let i = 0; i < 10; i++) ok(await s.tencent('room_engine_http_srv/update_room_info', { RoomInfo: { RoomId: 'r1', CustomInfo: String(i) } }));
      // The thread dies in the middle of the burst (as on an uncaught error in it).
      await (relay as unknown as { worker: Worker }).worker.terminate();
      for (let i = 10; i < 20; i++) ok(await s.tencent('room_engine_http_srv/update_room_info', { RoomInfo: { RoomId: 'r1', CustomInfo: String(i) } }));
      await until(() => rx.unique().length === 21, 'all 21 callbacks after the restart');
      const infos = rx.unique().filter((b) => b.CallbackCommand === 'Room.CallbackAfterUpdateRoomInfo').map((b) => b.RoomInfo.CustomInfo);
      assert.deepEqual(infos, Array.from({ length: 20 }, (_, i) => String(i)));
      assertOrdered(rx.unique());
      assert.ok(rx.accepted.every((x) => x.verified));
      await until(() => relay.idle(), 'the restarted relay to settle');
      assert.match(await (await fetch(`${s.url}/metrics`)).text(), /rostrum_callbacks_relay_restarts_total 1\b/);
    } finally {
      await s.close();
    }
  });

  it('gives up after the give-up age, keeps the delivery, and re-sends it on request', async () => {
    const rx = await receiver();
    rx.mode = 'down';
    const s = await startTestServer({ apps: [{ ...APP, callback: { url: rx.url } }, OTHER_APP], callbacks: { ...fast, giveUpHours: 1 / 3600 } });
    try {
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'r1', RoomType: 'Conference' } }));
      const svc = s.server.callbacks.service;
      let failedList: Awaited<ReturnType<typeof svc.failed>> = [];
      const deadline = Date.now() + 30_000;
      while (failedList.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        failedList = await svc.failed(APP.sdkAppId, 10);
      }
      assert.equal(failedList.length, 1);
      assert.equal(failedList[0].command, 'Room.CallbackAfterCreateRoom');
      assert.match(failedList[0].lastError, /HTTP 503/);
      assert.ok(failedList[0].attempts >= 1);
      // The relay's metrics reach the registry within a moment (on SQLite it posts them from its thread).
      let metrics = '';
      const failedTotal = new RegExp(`rostrum_callbacks_failed_total\\{app="${APP.sdkAppId}"\\} 1`);
      await until(async () => failedTotal.test((metrics = await (await fetch(`${s.url}/metrics`)).text())), 'the failed metric');
      assert.match(metrics, /rostrum_callbacks_retried_total/);
      rx.mode = 'up';
      assert.equal(await svc.retry([failedList[0].id], null), 1);
      await until(() => rx.accepted.length === 1, 'the re-sent callback');
      assert.equal(rx.accepted[0].body.RoomInfo.RoomId, 'r1');
      assert.deepEqual(await svc.failed(null, 10), []);
      await until(() => s.server.callbacks.relay.idle(), 'the relay to settle');
    } finally {
      await s.close();
    }
  });

  it('with keepFailedDays, a given-up delivery is removed once that long has passed, with one log line', async () => {
    const rx = await receiver();
    rx.mode = 'down';
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const s = await startTestServer({
      apps: [{ ...APP, callback: { url: rx.url } }, OTHER_APP],
      // Given up after 1 s, removed 1 s after that; the pruner looks every 100 ms.
      callbacks: { ...fast, giveUpHours: 1 / 3600, keepFailedDays: 1 / 86400, failedPruneIntervalMs: 100 },
      logger: { level: 'info', stream },
    });
    try {
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'kept-1s', RoomType: 'Conference' } }));
      const svc = s.server.callbacks.service;
      let given: Awaited<ReturnType<typeof svc.failed>> = [];
      await until(async () => (given = await svc.failed(APP.sdkAppId, 10)).length === 1, 'the delivery to be given up');
      assert.equal(given[0].command, 'Room.CallbackAfterCreateRoom');
      await until(async () => (await svc.failed(null, 10)).length === 0, 'the given-up delivery to be removed', 10_000);
      assert.ok(Date.now() - given[0].failedAt >= 1000, 'kept for keepFailedDays first');
      assert.deepEqual(await s.server.callbacks.spool.counts().then((c) => c.filter((x) => x.pending + x.failed > 0)), []);
      const removed = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'given-up callback deliveries removed');
      assert.equal(removed.length, 1, lines.join(''));
      assert.equal(removed[0].removed, 1);
      assert.equal(removed[0].level, 30);
      assert.ok(!lines.join('').includes('kept-1s'), 'no delivery body in the log');
      assert.equal(rx.accepted.length, 0);
    } finally {
      await s.close();
    }
  });

  it('PostgreSQL, two servers on one schema: one sends, the other takes over when it stops', { skip: !TEST_STORE?.startsWith('postgres') }, async () => {
    const rx = await receiver();
    const data = tempData();
    const apps = [{ ...APP, callback: { url: rx.url } }, OTHER_APP];
    const a = await startTestServer({ apps, data });
    const b = await startTestServer({ apps, data });
    try {
      for (let i = 0; i < 10; i++) ok(await (i % 2 ? a : b).tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: `r${i}`, RoomType: 'Conference' } }));
      await until(() => rx.unique().length === 10, 'ten callbacks');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(rx.accepted.length, 10, 'each sent once');
      await a.close();
      for (let i = 10; i < 15; i++) ok(await b.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: `r${i}`, RoomType: 'Conference' } }));
      await until(() => rx.unique().length === 15, 'the survivor to send');
    } finally {
      await a.close();
      await b.close();
      await data.remove();
    }
  });

  it('PostgreSQL, two servers on one schema: a configuration set on one shows on the other, and its callbacks go', { skip: !TEST_STORE?.startsWith('postgres') }, async () => {
    const rx = await receiver(TOKEN);
    const data = tempData();
    const apps = [{ ...APP, callback: { url: 'http://127.0.0.1:9/', token: TOKEN } }, OTHER_APP];
    const a = await startTestServer({ apps, data, callbacks: fast });
    const b = await startTestServer({ apps, data, callbacks: fast });
    try {
      ok(await a.tencent('room_config/set_callback', { Url: rx.url, CallbackCommandList: ['Room.CallbackAfterCreateRoom'] }));
      // b's answer shows a's configuration once it has read it again (a few seconds at most).
      await until(async () => (await b.tencent('room_config/get_callback', {})).Response?.Url === rx.url, "a's configuration on b", 10_000);
      ok(await b.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'after-set', RoomType: 'Conference' } }));
      await until(() => rx.unique().some((x) => x.RoomInfo?.RoomId === 'after-set'), 'the callback to the new address');
      assert.ok(rx.accepted.every((x) => x.verified));
    } finally {
      await a.close();
      await b.close();
      await data.remove();
    }
  });

  it('PostgreSQL, two servers on one schema: a configuration set (or a command added) on either, and a change right after it on the same server, is delivered', { skip: !TEST_STORE?.startsWith('postgres') }, async () => {
    const rx = await receiver();
    const other = await receiver();
    const data = tempData();
    // APP keeps the relay reading pages (its file configuration); OTHER_APP is set and deleted.
    const apps = [{ ...APP, callback: { url: rx.url } }, OTHER_APP];
    const a = await startTestServer({ apps, data, callbacks: fast });
    const b = await startTestServer({ apps, data, callbacks: fast });
    try {
      for (let round = 0; round < 6; round++) {
        const s = round % 2 === 0 ? a : b;
        const traffic = (async () => {
          for (let k = 0; k < 5; k++) ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: `busy-${round}-${k}`, RoomType: 'Conference' } }));
        })();
        ok(await s.tencent('room_config/set_callback', { Url: other.url, CallbackCommandList: ['Room.CallbackAfterCreateRoom'] }, { app: OTHER_APP }));
        ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: `after-set-${round}`, RoomType: 'Conference' } }, { app: OTHER_APP }));
        await traffic;
        await until(() => other.unique().some((x) => x.RoomInfo?.RoomId === `after-set-${round}`), `round ${round}'s callback`, 15_000);
        // A command added on the other server, and at once a change of that command there.
        const t = s === a ? b : a;
        const both = ['Room.CallbackAfterCreateRoom', 'Room.CallbackAfterDestroyRoom'];
        ok(await t.tencent('room_config/update_callback', { Url: other.url, CallbackCommandList: both }, { app: OTHER_APP }));
        ok(await t.tencent('room_engine_http_srv/destroy_room', { RoomId: `after-set-${round}` }, { app: OTHER_APP }));
        const destroyed = (x: any) => x.CallbackCommand === 'Room.CallbackAfterDestroyRoom' && x.RoomId === `after-set-${round}`;
        await until(() => other.unique().some(destroyed), `round ${round}'s added command`, 15_000);
        ok(await s.tencent('room_config/delete_callback', {}, { app: OTHER_APP }));
      }
      assert.deepEqual(await a.server.callbacks.service.failed(OTHER_APP.sdkAppId, 10), [], 'none given up');
    } finally {
      await a.close();
      await b.close();
      await data.remove();
    }
  });

  it('commands racing on one room: its callbacks arrive in Seq order', async () => {
    // On PostgreSQL, units waiting for a room's row lock took their transaction ids as they began
    // to wait, and were not woken in that order: the outbox, read in transaction id order, then
    // had a room's events out of Seq order.
    const rx = await receiver();
    const s = await startTestServer({ apps: [{ ...APP, callback: { url: rx.url } }] });
    try {
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'race', RoomType: 'Conference' } }));
      for (let i = 0; i < 200; i += 20) {
        const updates = Array.from({ length: 20 }, (_, j) => s.tencent('room_engine_http_srv/update_room_info', { RoomInfo: { RoomId: 'race', CustomInfo: String(i + j) } }));
        for (const r of await Promise.all(updates)) ok(r);
      }
      await until(() => rx.unique().length === 201, 'all 201 callbacks');
      assertOrdered(rx.unique());
    } finally {
      await s.close();
    }
  });

  it("app-wide kicks racing the rooms' own commands: each room's callbacks and the app-wide ones arrive in Seq order", async () => {
    // Each kick locks the app, then both rooms: app-wide commands in one millisecond, or taking
    // their time before waiting for the app's lock, once gave the app-wide callbacks equal or
    // decreasing Seq; and a unit that took its PostgreSQL transaction id before waiting for a
    // room would reach the outbox ahead of that room's earlier commits.
    const rx = await receiver();
    const s = await startTestServer({ apps: [{ ...APP, callback: { url: rx.url } }] });
    try {
      const polyv = polyvClient(s);
      for (const room of ['ka', 'kb']) ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: room, RoomType: 'Conference' } }));
      const users = Array.from({ length: 12 }, (_, i) => `k${i}`);
      for (const u of users) {
        await enter(s, 'ka', u);
        await enter(s, 'kb', u);
      }
      const kicks = users.map((u) => polyv('/live/v4/chat/forbid/kick-users', {}, { json: { viewerIds: [u], nickNames: [u] } }));
      const updates = Array.from({ length: 24 }, (_, i) =>
        s.tencent('room_engine_http_srv/update_room_info', { RoomInfo: { RoomId: i % 2 ? 'ka' : 'kb', CustomInfo: String(i) } }),
      );
      const [kicked, updated] = await Promise.all([Promise.all(kicks), Promise.all(updates)]);
      for (const r of kicked) assert.equal(polyvOk(r), 'SUCCESS');
      for (const r of updated) ok(r);
      // 2 creates, 24 entries, 24 leaves (Kicked), 24 updates in the rooms; 12 deny entries app-wide.
      await until(() => rx.unique().length === 86, 'all 86 callbacks');
      assertOrdered(rx.unique());
    } finally {
      await s.close();
    }
  });

  it('order room (the default): a slow receiver never has two of one room\'s deliveries at once', async () => {
    const rx = await receiver();
    rx.delayMs = 20;
    const s = await startTestServer({ apps: [{ ...APP, callback: { url: rx.url } }], callbacks: { concurrency: 4 } });
    try {
      await roomWithUpdates(s, 'slow', 12);
      await until(() => rx.unique().length === 13, 'all 13 callbacks');
      assert.equal(rx.maxInFlight, 1);
      assertOrdered(rx.unique());
    } finally {
      await s.close();
    }
  });

  it('config: callbacks.order takes room or none', () => {
    assert.deepEqual(parseConfig({ callbacks: { order: 'none' } }).callbacks, { order: 'none' });
    assert.deepEqual(parseConfig({ callbacks: { order: 'room' } }).callbacks, { order: 'room' });
    assert.throws(
      () => parseConfig({ callbacks: { order: 'fifo' } }),
      (e: Error) => e instanceof ConfigError && e.message === 'invalid config: callbacks.order: expected one of room, none',
    );
  });

  it("order none: one room's deliveries go in parallel, up to concurrency, and a refused one holds back none of them", async () => {
    const rx = await receiver();
    rx.delayMs = 200;
    rx.refuse = (b) => b.RoomInfo?.CustomInfo === '3';
    const s = await startTestServer({ apps: [{ ...APP, callback: { url: rx.url } }], callbacks: { ...fast, concurrency: 4, order: 'none' } });
    try {
      await roomWithUpdates(s, 'busy', 16);
      await until(() => rx.unique().length === 16, 'every callback but the refused one');
      assert.ok(rx.maxInFlight >= 2 && rx.maxInFlight <= 4, `${rx.maxInFlight} at once`);
      rx.refuse = undefined;
      await until(() => rx.unique().length === 17, 'the refused one, retried');
      const infos = rx.unique().filter((b) => b.CallbackCommand === 'Room.CallbackAfterUpdateRoomInfo').map((b) => b.RoomInfo.CustomInfo);
      assert.equal(infos.at(-1), '3', 'the refused one came last');
      assert.deepEqual(infos.map(Number).sort((a, b) => a - b), Array.from({ length: 16 }, (_, i) => i));
      assert.equal(rx.accepted.length, 17, 'none accepted twice');
    } finally {
      await s.close();
    }
  });

  it("a room whose callbacks keep failing does not delay the app's other rooms", async () => {
    const rx = await receiver();
    rx.refuse = (b) => (b.RoomId ?? b.RoomInfo?.RoomId) === 'poison';
    const s = await startTestServer({ apps: [{ ...APP, callback: { url: rx.url } }], callbacks: fast });
    try {
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'poison', RoomType: 'Conference' } }));
      // More of the failing room's callbacks than the relay keeps in memory per app.
      for (let i = 0; i < 600; i++) ok(await s.tencent('room_engine_http_srv/update_room_info', { RoomInfo: { RoomId: 'poison', CustomInfo: String(i) } }));
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'fine', RoomType: 'Conference' } }));
      for (let i = 0; i < 5; i++) ok(await s.tencent('room_engine_http_srv/update_room_info', { RoomInfo: { RoomId: 'fine', CustomInfo: String(i) } }));
      await until(() => rx.unique().length === 6, "the other room's 6 callbacks", 15_000);
      assert.ok(rx.attempts > 6, 'the failing room was tried');
      // Then the failing room's are accepted too: all of them, in order, none sent twice.
      rx.refuse = undefined;
      await until(() => rx.unique().length === 607, 'all 607 callbacks');
      const bodies = rx.unique();
      assertOrdered(bodies);
      const infos = bodies.filter((b) => b.CallbackCommand === 'Room.CallbackAfterUpdateRoomInfo' && b.RoomInfo.RoomId === 'poison').map((b) => b.RoomInfo.CustomInfo);
      assert.deepEqual(infos, Array.from({ length: 600 }, (_, i) => String(i)));
      assert.equal(rx.accepted.length, 607, 'no callback accepted twice');
    } finally {
      await s.close();
    }
  });

  it("one app's dead receiver does not delay another app's callbacks", async () => {
    const dead = await receiver();
    dead.mode = 'dead';
    const live = await receiver();
    const s = await startTestServer({
      apps: [{ ...APP, callback: { url: dead.url } }, { ...OTHER_APP, callback: { url: live.url } }],
      callbacks: { timeoutMs: 20_000 },
    });
    try {
      for (let i = 0; i < 20; i++) ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: `dead-${i}`, RoomType: 'Conference' } }));
      await until(() => dead.attempts >= 8, 'the dead receiver to hold every in-flight slot');
      for (let i = 0; i < 20; i++) {
        ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: `live-${i}`, RoomType: 'Conference' } }, { app: OTHER_APP }));
      }
      // Well before the dead receiver's 20 s timeout could free anything.
      await until(() => live.unique().length === 20, "the live app's callbacks", 15_000);
      assert.equal(dead.accepted.length, 0);
    } finally {
      await s.close();
    }
  });

  it('timeoutMs bounds the whole answer: one trickled in a byte at a time is cut off at the limit and retried, not delivered', async () => {
    // A byte every 100 ms, well within timeoutMs 400 each, ~9 s for the whole answer.
    const rx = await dripReceiver(100);
    const s = await startTestServer({ apps: [{ ...APP, callback: { url: rx.url } }, OTHER_APP], callbacks: { ...fast, timeoutMs: 400 } });
    const metric = async (name: string) => {
      const text = await (await fetch(`${s.url}/metrics`)).text();
      return Number(new RegExp(`rostrum_callbacks_${name}_total\\{app="${APP.sdkAppId}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    };
    try {
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'drip', RoomType: 'Conference' } }));
      await until(() => rx.requests.filter((x) => x.openMs >= 0).length >= 3 || rx.drippedInFull > 0, 'three attempts cut off', 20_000);
      assert.equal(rx.drippedInFull, 0, `an answer trickled in over ${rx.drippedFor} ms was waited for (timeoutMs 400)`);
      for (const x of rx.requests.filter((q) => q.openMs >= 0)) {
        assert.ok(x.openMs >= 350 && x.openMs < 1500, `attempt cut off after ${x.openMs} ms, timeoutMs 400`);
      }
      assert.equal(new Set(rx.requests.map((x) => x.eventId)).size, 1, 'each attempt is the same delivery');
      await until(async () => (await metric('retried')) >= 2, 'the failed attempts in rostrum_callbacks_retried_total');
      assert.equal(await metric('delivered'), 0, 'not counted delivered');
      assert.equal(await metric('failed'), 0, 'not given up');
      // The receiver answers at once again: the same delivery is accepted, once.
      rx.drip = false;
      await until(() => rx.answeredAtOnce > 0, 'an attempt answered at once');
      await until(async () => (await metric('delivered')) === 1, 'rostrum_callbacks_delivered_total 1');
      await until(() => s.server.callbacks.relay.idle(), 'the relay to settle');
      assert.equal(rx.answeredAtOnce, 1);
      assert.equal(new Set(rx.requests.map((x) => x.eventId)).size, 1);
      assert.equal(rx.drippedInFull, 0);
    } finally {
      await s.close();
      await rx.close();
    }
  });
});
