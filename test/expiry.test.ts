// Everything that expires, end to end, with durations of a few seconds: before the end it
// applies, after it no longer does (entry, chat, the lists), and the same after a restart on the
// same store (data directory, or PostgreSQL schema); what ran out does not come back after one.
// Covered here: Tencent ban Duration and mute MuteTime (and their edges: 0, negative, 32 bits),
// the native API's timed bans and mutes (user, IP, range, app-wide; durationSec 0), re-bans, the
// exact millisecond of an end, the deletion of ended entries, chat retention, the seat grace, the
// resume window, UserSig expiry (admin APIs, realtime), console sessions (in process and in Redis),
// the Polyv sign's replay window, and the callback give-up age.
// Not here: Polyv kicks and chat bans have no duration (until lifted); wrong-password counters
// and the console sign-in throttle live in the process (or Redis) by design (docs/security.md).
// The cases are independent (a server each) and run three at a time.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { genUserSig } from '../src/auth/usersig.js';
import { Engine } from '../src/core/engine.js';
import { RoomError } from '../src/core/errors.js';
import { APP, adminSig, startTestServer, tempData, type TestData, type TestServer } from './support/harness.js';
import { RawClient, authQuery, createRoom, memberIds, seatOf, sleep } from './realtime-support.js';
import { authenticate, TIMESTAMP_WINDOW_MS } from '../src/dialects/polyv/auth.js';
import { Params } from '../src/dialects/polyv/params.js';
import { ReplayGuard } from '../src/dialects/polyv/replay.js';
import { ok, polyvCall, polyvTestSign } from './support/polyv.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { dropPrefix, freshPrefixUrl } from './contract/redis-support.js';

const datas: TestData[] = [];
const servers = new Set<TestServer>();
const receivers: Receiver[] = [];
after(async () => {
  for (const s of servers) await s.close();
  for (const r of receivers) await r.close();
  for (const d of datas) await d.remove();
});

type Opts = Parameters<typeof startTestServer>[0];

/** A server on state of its own that `restart` can start again (gracefully) on the same state. */
async function fresh(opts: Opts = {}): Promise<{ s: TestServer; restart(): Promise<TestServer> }> {
  const data = tempData('rostrum-expiry-');
  datas.push(data);
  const box = { s: await startTestServer({ ...opts, data }) };
  servers.add(box.s);
  return {
    get s() {
      return box.s;
    },
    async restart() {
      servers.delete(box.s);
      await box.s.close();
      box.s = await startTestServer({ ...opts, data });
      servers.add(box.s);
      return box.s;
    },
  };
}

/** Sleeps until `at` (ms) plus a margin for the clocks of the server and the test. */
async function until(at: number): Promise<void> {
  await sleep(Math.max(0, at - Date.now()) + 150);
}

/** The subject's end as the server set it, which waits go by: on a loaded machine a call may run well after the test's clock read. */
function endOf(items: { subject: string; expiresAt: number }[], subject: string, notBefore: number): number {
  const at = items.find((e) => e.subject === subject)!.expiresAt;
  assert.ok(at >= notBefore && at - notBefore < 60_000, `expiresAt ${at}, not before ${notBefore}`);
  return at;
}

/** A native API call as the app's admin: [status, body]. */
async function api(s: TestServer, method: string, path: string, body?: unknown, sig = adminSig()): Promise<[number, any]> {
  const res = await fetch(`${s.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${sig}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return [res.status, await res.json()];
}

/** The code `enterRoom` answers for `userId` (0 = entered; the client leaves again). */
async function entryCode(s: TestServer, userId: string, roomId: string): Promise<number> {
  const c = await RawClient.connect(s, userId);
  try {
    return (await c.req('enterRoom', { roomId })).code;
  } finally {
    c.close();
    await c.closed;
  }
}

/** Enters `roomId` as `userId`, sends one message: [enterRoom's `muted`, sendMessage's code]. */
async function chatCode(s: TestServer, userId: string, roomId: string): Promise<[boolean, number]> {
  const c = await RawClient.connect(s, userId);
  try {
    const entered = await c.ok('enterRoom', { roomId });
    const sent = await c.req('sendMessage', { roomId, text: 'hello' });
    return [entered.muted, sent.code];
  } finally {
    c.close();
    await c.closed;
  }
}

const banned = async (s: TestServer, roomId: string, all = false) => {
  const r = await s.tencent('room_engine_http_srv/get_banned_member_list', { RoomId: roomId, ...(all ? { IncludeAllOrigins: true } : {}) });
  assert.equal(r.ErrorCode, 0, r.ErrorInfo);
  return r.Response.BannedAccountList as { Member_Account: string; BannedUntil: number }[];
};

// Three at a time: the machine is shared, and each case's "before the end" checks (a restart
// included) must fit in its few seconds (6 s at least: on a slow machine 3 s were too few).
describe('expiry', { concurrency: 3 }, () => {
  it('the server deletes entries that ended over a minute ago (its 10 s pruner); those in force stay, also after a restart', async () => {
    const h = await fresh();
    await createRoom(h.s, 'pruned');
    // Made three minutes ago, through an engine on that clock over the server's store.
    const past = new Engine(h.s.server.store, h.s.server.bus, () => Date.now() - 180_000);
    const admin = { kind: 'admin', userId: APP.admins[0] } as const;
    await past.execute(APP.sdkAppId, admin, { type: 'banUsers', roomId: 'pruned', userIds: ['ended'], durationSec: 1, reason: '', origin: 'tencent' });
    await past.execute(APP.sdkAppId, admin, { type: 'setMuted', roomId: '', subjectType: 'ip', subjects: ['10.1.2.3'], muted: true, origin: 'tencent', durationSec: 60 });
    await past.execute(APP.sdkAppId, admin, { type: 'banUsers', roomId: 'pruned', userIds: ['kept'], durationSec: null, reason: '', origin: 'tencent' });
    await past.execute(APP.sdkAppId, admin, { type: 'banUsers', roomId: 'pruned', userIds: ['recent'], durationSec: 150, reason: '', origin: 'tencent' });
    const stored = (s: TestServer) =>
      s.server.store.read(APP.sdkAppId, async (r) => [...(await r.list('deny', { activeAt: 0 })), ...(await r.list('mute', { activeAt: 0 }))].map((e) => e.subject).sort());
    assert.deepEqual(await stored(h.s), ['10.1.2.3', 'ended', 'kept', 'recent']);
    await sleep(10_500);
    assert.deepEqual(await stored(h.s), ['kept', 'recent'], 'ended more than a minute ago: deleted');
    const s = await h.restart();
    assert.deepEqual(await stored(s), ['kept', 'recent']);
    assert.equal(await entryCode(s, 'ended', 'pruned'), 0);
    assert.equal(await entryCode(s, 'kept', 'pruned'), 110003);
  });

  it('a Tencent ban_room_member Duration: refused and listed until it ends, then neither; the same across restarts', async () => {
    const h = await fresh();
    await createRoom(h.s, 'ban-room');
    const t0 = Date.now();
    const r = await h.s.tencent('room_engine_http_srv/ban_room_member', { RoomId: 'ban-room', MemberList_Account: ['short'], Reason: 'spam', Duration: 6 });
    assert.equal(r.ErrorCode, 0, r.ErrorInfo);
    // The shortest ban (1 s) is checked after its end only: before it, the check could come too late.
    assert.equal((await h.s.tencent('room_engine_http_srv/ban_room_member', { RoomId: 'ban-room', MemberList_Account: ['soon'], Reason: 'spam', Duration: 1 })).ErrorCode, 0);
    assert.equal((await h.s.tencent('room_engine_http_srv/ban_room_member', { RoomId: 'ban-room', MemberList_Account: ['long'], Reason: 'spam', Duration: 3600 })).ErrorCode, 0);
    const end = t0 + 6000;

    // In force: refused, listed with its end (unix seconds).
    assert.equal(await entryCode(h.s, 'short', 'ban-room'), 110003);
    const list = await banned(h.s, 'ban-room');
    assert.equal(list[0].Member_Account, 'short');
    assert.deepEqual(list.map((b) => b.Member_Account).filter((u) => u !== 'soon'), ['short', 'long']);
    assert.ok(Math.abs(list[0].BannedUntil - Math.floor(end / 1000)) <= 1, `BannedUntil ${list[0].BannedUntil} ~ ${end / 1000}`);

    const serverEnd = endOf((await api(h.s, 'GET', '/rooms/ban-room/bans'))[1].items, 'short', end);

    const kicked = async (s: TestServer) =>
      ok(await polyvCall(s.url, '/live/v3/channel/chat/list-kicked', { channelId: 'ban-room', includeAllOrigins: 'Y' })).map((e: { userId: string }) => e.userId);
    assert.ok((await kicked(h.s)).includes('short'), "Polyv's list shows it with includeAllOrigins");

    // Still in force after a restart, with the same end.
    let s = await h.restart();
    assert.equal(await entryCode(s, 'short', 'ban-room'), 110003);
    assert.deepEqual((await banned(s, 'ban-room')).filter((b) => b.Member_Account !== 'soon'), list.filter((b) => b.Member_Account !== 'soon'));

    // Over: entry allowed, no list shows it (Tencent's, every origin, the native API's).
    await until(serverEnd);
    assert.equal(await entryCode(s, 'short', 'ban-room'), 0);
    assert.deepEqual((await banned(s, 'ban-room')).map((b) => b.Member_Account), ['long']);
    assert.deepEqual((await banned(s, 'ban-room', true)).map((b) => b.Member_Account), ['long']);
    assert.deepEqual(await kicked(s), ['long']);
    const [status, bans] = await api(s, 'GET', '/rooms/ban-room/bans');
    assert.equal(status, 200);
    assert.deepEqual([bans.total, bans.items.map((e: { subject: string }) => e.subject)], [1, ['long']]);
    assert.equal(await entryCode(s, 'long', 'ban-room'), 110003);

    // And it does not come back after another restart.
    s = await h.restart();
    assert.equal(await entryCode(s, 'soon', 'ban-room'), 0);
    assert.deepEqual((await banned(s, 'ban-room')).map((b) => b.Member_Account), ['long']);
    assert.equal(await entryCode(s, 'long', 'ban-room'), 110003);
  });

  it('a Tencent ban Duration of 0 or less, or over 32 bits, is refused (100002); 4294967295 is accepted and kept exactly', async () => {
    const h = await fresh();
    await createRoom(h.s, 'ban-edge');
    const ban = (Duration: unknown) => h.s.tencent('room_engine_http_srv/ban_room_member', { RoomId: 'ban-edge', MemberList_Account: ['edge'], Reason: '', Duration });
    for (const d of [0, -1, 4294967296, 1.5, '10']) assert.equal((await ban(d)).ErrorCode, 100002, `Duration ${JSON.stringify(d)}`);
    assert.deepEqual(await banned(h.s, 'ban-edge'), [], 'a refused ban leaves nothing');
    const t0 = Date.now();
    assert.equal((await ban(4294967295)).ErrorCode, 0);
    const [entry] = await banned(h.s, 'ban-edge');
    assert.ok(Math.abs(entry.BannedUntil - (Math.floor(t0 / 1000) + 4294967295)) <= 1);
    const s = await h.restart();
    assert.deepEqual(await banned(s, 'ban-edge'), [entry]);
    assert.equal(await entryCode(s, 'edge', 'ban-edge'), 110003);
  });

  it('a Tencent mute_room_member MuteTime: messages refused until it ends, then allowed; the same across restarts', async () => {
    const h = await fresh();
    await createRoom(h.s, 'mute-room');
    const t0 = Date.now();
    const r = await h.s.tencent('room_engine_http_srv/mute_room_member', { RoomId: 'mute-room', MemberList_Account: ['quiet'], MuteTime: 6 });
    assert.equal(r.ErrorCode, 0, r.ErrorInfo);
    const end = t0 + 6000;
    assert.deepEqual(await chatCode(h.s, 'quiet', 'mute-room'), [true, 110005]);
    let [, mutes] = await api(h.s, 'GET', '/rooms/mute-room/mutes');
    assert.deepEqual(mutes.items.map((e: { subject: string }) => e.subject), ['quiet']);
    const serverEnd = endOf(mutes.items, 'quiet', end);

    let s = await h.restart();
    assert.deepEqual(await chatCode(s, 'quiet', 'mute-room'), [true, 110005]);

    await until(serverEnd);
    assert.deepEqual(await chatCode(s, 'quiet', 'mute-room'), [false, 0]);
    [, mutes] = await api(s, 'GET', '/rooms/mute-room/mutes');
    assert.deepEqual(mutes.items, []);

    s = await h.restart();
    assert.deepEqual(await chatCode(s, 'quiet', 'mute-room'), [false, 0]);
    [, mutes] = await api(s, 'GET', '/rooms/mute-room/mutes');
    assert.deepEqual(mutes.items, []);
  });

  it('a Tencent MuteTime of 0 lifts, negative or over 32 bits is refused (100002), 4294967295 is kept', async () => {
    const h = await fresh();
    await createRoom(h.s, 'mute-edge');
    const mute = (MuteTime: unknown) => h.s.tencent('room_engine_http_srv/mute_room_member', { RoomId: 'mute-edge', MemberList_Account: ['m'], MuteTime });
    for (const t of [-1, 4294967296, 1.5]) assert.equal((await mute(t)).ErrorCode, 100002, `MuteTime ${t}`);
    assert.equal((await mute(4294967295)).ErrorCode, 0);
    let [, mutes] = await api(h.s, 'GET', '/rooms/mute-edge/mutes');
    const until = mutes.items[0].expiresAt;
    assert.ok(Math.abs(until - (Date.now() + 4294967295 * 1000)) < 5000);
    const s = await h.restart();
    [, mutes] = await api(s, 'GET', '/rooms/mute-edge/mutes');
    assert.equal(mutes.items[0].expiresAt, until, 'the end survives the restart to the millisecond');
    assert.deepEqual(await chatCode(s, 'm', 'mute-edge'), [true, 110005]);
    assert.equal((await s.tencent('room_engine_http_srv/mute_room_member', { RoomId: 'mute-edge', MemberList_Account: ['m'], MuteTime: 0 })).ErrorCode, 0);
    assert.deepEqual(await chatCode(s, 'm', 'mute-edge'), [false, 0]);
  });

  it('native API: timed app-wide IP ban, room user ban and IP mute end on time, also after restarts; durationSec 0 is refused', async () => {
    const h = await fresh();
    await createRoom(h.s, 'nat-a');
    await createRoom(h.s, 'nat-b');
    // Test clients connect from 127.0.0.1: an app-wide ban of it refuses everyone, in every room.
    const t0 = Date.now();
    // Each entry's end as the server set it: on a loaded machine the calls take a while, so the
    // later ones end later than t0 + their duration.
    const ends: number[] = [];
    let [status, body] = await api(h.s, 'POST', '/ban', { ip: '127.0.0.1', durationSec: 6, reason: 'flood' });
    assert.equal(status, 200, JSON.stringify(body));
    ends.push(body.items[0].expiresAt);
    [status, body] = await api(h.s, 'POST', '/mute', { userId: 'hush', durationSec: 6 });
    assert.equal(status, 200, JSON.stringify(body));
    ends.push(body.items[0].expiresAt);
    [status, body] = await api(h.s, 'POST', '/rooms/nat-a/ban', { userId: 'troll', durationSec: 10 });
    assert.equal(status, 200, JSON.stringify(body));
    ends.push(body.items[0].expiresAt);
    [status, body] = await api(h.s, 'POST', '/rooms/nat-b/mute', { ip: '127.0.0.0/24', durationSec: 10 });
    assert.equal(status, 200, JSON.stringify(body));
    ends.push(body.items[0].expiresAt);
    assert.ok(Math.abs(body.items[0].expiresAt - (t0 + 10000)) < 1000);

    for (const [path, b] of [
      ['/ban', { ip: '10.0.0.1', durationSec: 0 }],
      ['/rooms/nat-a/ban', { userId: 'x', durationSec: 0 }],
      ['/rooms/nat-a/mute', { userId: 'x', durationSec: 0 }],
      ['/rooms/nat-a/ban', { userId: 'x', durationSec: -5 }],
      ['/rooms/nat-a/ban', { userId: 'x', durationSec: 4294967296 }],
    ] as const) {
      const [st, err] = await api(h.s, 'POST', path, b);
      assert.equal(st, 400, `${path} ${JSON.stringify(b)}: ${JSON.stringify(err)}`);
    }

    assert.equal(await entryCode(h.s, 'anyone', 'nat-b'), 110004);
    let s = await h.restart();
    assert.equal(await entryCode(s, 'anyone', 'nat-b'), 110004);
    [, body] = await api(s, 'GET', '/bans');
    assert.deepEqual(body.items.map((e: { subject: string }) => e.subject), ['127.0.0.1']);
    [, body] = await api(s, 'GET', '/mutes');
    assert.deepEqual(body.items.map((e: { subject: string }) => e.subject), ['hush']);

    await until(Math.max(ends[0], ends[1]));
    [, body] = await api(s, 'GET', '/bans');
    assert.deepEqual([body.total, body.items], [0, []]);
    [, body] = await api(s, 'GET', '/mutes');
    assert.deepEqual(body.items, [], 'the app-wide mute ended too');
    assert.deepEqual(await chatCode(s, 'hush', 'nat-a'), [false, 0]);
    assert.equal(await entryCode(s, 'troll', 'nat-a'), 110003, 'the longer room ban still holds');
    assert.deepEqual(await chatCode(s, 'anyone', 'nat-b'), [true, 110005], 'the range mute still holds');
    s = await h.restart();
    assert.equal(await entryCode(s, 'anyone', 'nat-a'), 0, 'the ended app-wide ban stays ended');
    assert.equal(await entryCode(s, 'troll', 'nat-a'), 110003);

    await until(Math.max(ends[2], ends[3]));
    assert.equal(await entryCode(s, 'troll', 'nat-a'), 0);
    assert.deepEqual(await chatCode(s, 'anyone', 'nat-b'), [false, 0]);
    s = await h.restart();
    assert.equal(await entryCode(s, 'troll', 'nat-a'), 0);
    assert.deepEqual(await chatCode(s, 'anyone', 'nat-b'), [false, 0]);
    for (const path of ['/bans', '/mutes', '/rooms/nat-a/bans', '/rooms/nat-b/mutes']) {
      [, body] = await api(s, 'GET', path);
      assert.deepEqual(body.items, [], path);
    }
  });

  it('a UserSig ends on time: the admin APIs answer 70001 / 401, a realtime connection is closed 4401', async () => {
    const h = await fresh({ realtime: { heartbeatSeconds: 1 } });
    const t0 = Date.now();
    const short = genUserSig(APP.sdkAppId, APP.secretKey, APP.admins[0], 2);
    const end = (Math.floor(t0 / 1000) + 2) * 1000;
    await createRoom(h.s, 'sig-room');
    const info = () => h.s.tencent('room_engine_http_srv/get_room_info', { RoomId: 'sig-room' }, { usersig: short });
    assert.equal((await info()).ErrorCode, 0);
    assert.equal((await info()).ErrorCode, 0, 'a reused sig (answered from the cache) still holds');
    assert.equal((await api(h.s, 'GET', '/me', undefined, short))[0], 200);
    const userSig = genUserSig(APP.sdkAppId, APP.secretKey, 'sig-user', 2);
    const c = await RawClient.open(h.s, 'sig-user', { query: authQuery('sig-user', APP, userSig) });
    await c.ok('ping');
    // Over (the check is `now > time + expire`, in whole seconds).
    await sleep(end - Date.now() + 1100);
    assert.equal((await info()).ErrorCode, 70001);
    assert.equal((await api(h.s, 'GET', '/me', undefined, short))[0], 401);
    const closed = await Promise.race([c.closed, sleep(3000).then(() => null)]);
    assert.equal(closed?.code, 4401);
    assert.match(closed!.reason, /^70001/);
  });

  it('with a Redis bus a console session outlives a restart, and still ends with its UserSig', async () => {
    const bus = freshPrefixUrl();
    // Long enough for a restart on a loaded machine (3 s was not, under a parallel test run).
    const SIG_SECONDS = 8;
    try {
      const h = await fresh({ bus, nodeId: 'expiry-node' });
      const t0 = Date.now();
      const res = await fetch(`${h.s.url}/console/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userSig: genUserSig(APP.sdkAppId, APP.secretKey, APP.admins[0], SIG_SECONDS) }),
      });
      assert.equal(res.status, 200);
      const cookie = res.headers.get('set-cookie')!.split(';')[0];
      const session = async (s: TestServer) => (await fetch(`${s.url}/console/session`, { headers: { cookie } })).status;
      assert.equal(await session(h.s), 200);
      const s = await h.restart();
      assert.ok(Date.now() < t0 + (SIG_SECONDS - 1) * 1000, 'the restart took longer than the UserSig lives');
      assert.equal(await session(s), 200, 'kept in Redis');
      await sleep((Math.floor(t0 / 1000) + SIG_SECONDS) * 1000 - Date.now() + 1100);
      assert.equal(await session(s), 401);
    } finally {
      await dropPrefix(bus);
    }
  });

  it('a console session made from a UserSig ends with it; a restart signs out', async () => {
    const h = await fresh();
    const signIn = async (s: TestServer, userSig: string) => {
      const res = await fetch(`${s.url}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userSig }) });
      assert.equal(res.status, 200);
      return res.headers.get('set-cookie')!.split(';')[0];
    };
    const session = async (s: TestServer, cookie: string) => (await fetch(`${s.url}/console/session`, { headers: { cookie } })).status;
    const t0 = Date.now();
    const cookie = await signIn(h.s, genUserSig(APP.sdkAppId, APP.secretKey, APP.admins[0], 2));
    assert.equal(await session(h.s, cookie), 200);
    await sleep((Math.floor(t0 / 1000) + 2) * 1000 - Date.now() + 1100);
    assert.equal(await session(h.s, cookie), 401);
    const long = await signIn(h.s, adminSig());
    assert.equal(await session(h.s, long), 200);
    const s = await h.restart();
    assert.equal(await session(s, long), 401, 'sessions are kept in the process (docs/console.md)');
  });
  it('chat history keeps a message chatRetentionHours, not until the next prune: the realtime history and Polyv records, also after a restart', async () => {
    // 3 s of retention; the pruner runs every 10 s, so only the reads can make this exact.
    const h = await fresh({ chatRetentionHours: 3 / 3600 });
    await createRoom(h.s, 'keep-chat');
    const say = async (s: TestServer, text: string) => {
      ok(await polyvCall(s.url, '/live/v3/channel/chat/send', { channelId: 'keep-chat', content: text, role: 'ADMIN' }));
    };
    const history = async (s: TestServer): Promise<string[]> => {
      const c = await RawClient.connect(s, 'reader', 'keep-chat');
      try {
        return (await c.ok('history', { roomId: 'keep-chat' })).messages.map((m: { text: string }) => m.text);
      } finally {
        c.close();
        await c.closed;
      }
    };
    const records = async (s: TestServer): Promise<string[]> =>
      ok(await polyvCall(s.url, '/live/v3/user/chat/get-speak-list', { size: 100 }, { method: 'GET', style: 'ts' })).list.map((m: { content: string }) => m.content);
    const sentAt = Date.now();
    await say(h.s, 'old');
    assert.deepEqual(await history(h.s), ['old']);
    assert.deepEqual(await records(h.s), ['old']);
    await until(sentAt + 3000);
    await say(h.s, 'new');
    assert.deepEqual(await history(h.s), ['new']);
    assert.deepEqual(await records(h.s), ['new']);
    const s = await h.restart();
    assert.deepEqual(await history(s), ['new']);
    assert.deepEqual(await records(s), ['new']);
  });
  it('retention settings that come to a fraction of a millisecond: history reads work on every store', async () => {
    // 0.1428571 h is 514,285.56 ms: a cutoff made from it was not an integer, which PostgreSQL's
    // bigint columns refuse (every app-wide history read failed, and the pruners with it).
    const h = await fresh({ chatRetentionHours: 0.1428571, auditRetentionDays: 0.0000123, outboxRetentionHours: 0.1428571 });
    await createRoom(h.s, 'fraction');
    ok(await polyvCall(h.s.url, '/live/v3/channel/chat/send', { channelId: 'fraction', content: 'kept', role: 'ADMIN' }));
    const records = ok(await polyvCall(h.s.url, '/live/v3/user/chat/get-speak-list', { size: 100 }, { method: 'GET', style: 'ts' }));
    assert.deepEqual(records.list.map((m: { content: string }) => m.content), ['kept']);
  });
  it('the resume window holds across a restart: events kept in the store replay within it, not after', async () => {
    const h = await fresh({ realtime: { resumeWindowSeconds: 4 } });
    await createRoom(h.s, 'resume');
    const ann = await RawClient.connect(h.s, 'ann');
    const lastSeq = (await ann.ok('enterRoom', { roomId: 'resume' })).seq;
    let s = await h.restart(); // ann's connection is closed and she leaves (her own leave is not replayed to her)
    await ann.closed;
    const [status] = await api(s, 'POST', '/rooms/resume/messages', { text: 'while away' });
    assert.equal(status, 200);
    const sentBy = Date.now(); // the event's time is no later (on a loaded machine it may be well after the call began)
    const back = await RawClient.connect(s, 'ann');
    const data = await back.ok('enterRoom', { roomId: 'resume', lastSeq });
    assert.equal(data.recovered, true, 'the restarted server still has the events of the window');
    await back.sync();
    assert.deepEqual(
      back.events.splice(0).map((e) => (e.event === 'messageReceived' ? e.text : e.event)),
      ['while away'],
    );
    back.close();
    await back.closed;
    // Past the window (counted from the first missed event), also on a server started after it.
    await until(sentBy + 4000);
    s = await h.restart();
    const late = await RawClient.connect(s, 'ann');
    assert.equal((await late.ok('enterRoom', { roomId: 'resume', lastSeq })).recovered, false);
    late.close();
    await late.closed;
  });

  it('a callback still failing giveUpHours after its event is given up, the age counted across a restart; a given-up one is not re-sent after one', async () => {
    const rx = await startReceiver();
    receivers.push(rx);
    rx.mode = 'down';
    const h = await fresh({ apps: [{ ...APP, callback: { url: rx.url } }], callbacks: { backoffBaseMs: 50, backoffMaxMs: 200, giveUpHours: 4 / 3600 } });
    const t0 = Date.now();
    await createRoom(h.s, 'cb-room');
    const counts = async (s: TestServer) => (await api(s, 'GET', '/callbacks/deliveries'))[1] as { failed: number; pending: number };
    // The restart comes 2.5 s in: had it reset the age, nothing would be given up before 6.5 s.
    await until(t0 + 2350);
    assert.ok(rx.attempts >= 1, 'tried');
    let s = await h.restart();
    // Pending after the restart (once the new relay has read its spool); given up 4 s after the
    // event (not 4 s after the restart), within a backoff step or so.
    for (;;) {
      const c = await counts(s);
      if (c.failed === 1) break;
      assert.ok(Date.now() < t0 + 4000 + 2000, `given up in time: ${JSON.stringify(c)}`);
      await sleep(50);
    }
    assert.ok(Date.now() >= t0 + 4000 - 50, 'not before its age');
    rx.mode = 'up';
    s = await h.restart();
    await sleep(500);
    assert.deepEqual([(await counts(s)).failed, (await counts(s)).pending], [1, 0]);
    assert.equal(rx.accepted.length, 0, 'a given-up delivery waits for a retry');
  });
  it('a Polyv sign stays used through the last millisecond its timestamp is accepted, also after a restart', async () => {
    // The server's clock cannot be set from outside: the dialect's own check runs at chosen
    // instants, on the server's store (the SQLite file or the PostgreSQL schema).
    const h = await fresh();
    const ts = Date.now();
    const pairs: [string, string][] = [['appId', APP.polyv!.appId], ['timestamp', String(ts)], ['channelId', 'replayed']];
    pairs.push(['sign', polyvTestSign(pairs, APP.polyv!.appSecret)]);
    const check = (s: TestServer, now: number) =>
      authenticate(s.server.apps, new ReplayGuard(TIMESTAMP_WINDOW_MS, s.server.store), new Params(pairs), now, async () => {}).then(
        () => 'accepted',
        (e: Error) => e.message,
      );
    const last = ts + TIMESTAMP_WINDOW_MS; // |now - timestamp| <= the window: still a valid timestamp
    assert.equal(await check(h.s, ts), 'accepted');
    assert.equal(await check(h.s, ts + 1), 'invalid timestamp.');
    assert.equal(await check(h.s, last), 'invalid timestamp.', 'a replay at the last valid millisecond');
    const s = await h.restart();
    assert.equal(await check(s, ts + 2), 'invalid timestamp.');
    assert.equal(await check(s, last), 'invalid timestamp.', 'the same after a restart');
    assert.equal(await check(s, last + 1), 'invalid timestamp.', 'past the window: a stale timestamp');
  });
  it('the seat grace keeps a dropped member and seat until it ends; a restart ends it (the member leaves, the seat is free)', async () => {
    const h = await fresh({ realtime: { seatGraceSeconds: 3 } });
    await createRoom(h.s, 'grace', { seats: 4 });
    for (const [user, index] of [['ann', 1], ['bob', 2]] as const) {
      const c = await RawClient.connect(h.s, user, 'grace');
      await c.ok('takeSeat', { roomId: 'grace', index });
      const conn = h.s.server.realtime.listConnections().find((x) => x.userId === user)!;
      h.s.server.realtime.terminate(conn.id);
      await c.closed;
    }
    const dropped = Date.now();
    assert.deepEqual(await memberIds(h.s, 'grace'), ['ann', 'bob'], 'kept through the grace');
    assert.equal(await seatOf(h.s, 'grace', 1), 'ann');
    // bob resumes in time and keeps his seat; ann does not come back.
    const bob = await RawClient.connect(h.s, 'bob');
    assert.equal((await bob.ok('enterRoom', { roomId: 'grace' })).seats[2].userId, 'bob');
    await until(dropped + 3000);
    assert.deepEqual(await memberIds(h.s, 'grace'), ['bob'], 'ann left when her grace ended');
    assert.equal(await seatOf(h.s, 'grace', 1), undefined);
    // A dropped member's grace does not outlive the process: a restart removes it.
    h.s.server.realtime.terminate(h.s.server.realtime.listConnections().find((x) => x.userId === 'bob')!.id);
    await bob.closed;
    assert.deepEqual(await memberIds(h.s, 'grace'), ['bob']);
    const s = await h.restart();
    assert.deepEqual(await memberIds(s, 'grace'), []);
    assert.equal(await seatOf(s, 'grace', 2), undefined);
  });
  it('at the boundary: a ban or mute of D seconds holds through the last millisecond before now + D, and not at it, before and after a restart', async () => {
    // An engine on a chosen clock over the server's own store (SQLite file or PostgreSQL schema).
    const h = await fresh();
    await createRoom(h.s, 'edge');
    const at = (s: TestServer, now: number) => new Engine(s.server.store, s.server.bus, () => now);
    const admin = { kind: 'admin', userId: APP.admins[0] } as const;
    const t = Date.now();
    await at(h.s, t).execute(APP.sdkAppId, admin, { type: 'banUsers', roomId: 'edge', userIds: ['b'], durationSec: 1, reason: '', origin: 'tencent' });
    await at(h.s, t).execute(APP.sdkAppId, admin, { type: 'setMuted', roomId: 'edge', subjectType: 'userId', subjects: ['m'], muted: true, origin: 'tencent', durationSec: 1 });
    const enters = (s: TestServer, now: number) =>
      at(s, now)
        .execute(APP.sdkAppId, { kind: 'user', userId: 'b' }, { type: 'enterRoom', roomId: 'edge', clientIp: '10.9.9.9', connId: '' })
        .then(
          async (r) => (await at(s, now).execute(APP.sdkAppId, { kind: 'user', userId: 'b' }, { type: 'leaveRoom', roomId: 'edge', reason: 'leave' }), r && 'entered'),
          (e: RoomError) => e.kind,
        );
    const listed = async (s: TestServer, now: number) => [
      (await at(s, now).execute(APP.sdkAppId, admin, { type: 'listDeny', roomId: 'edge' })).total,
      (await at(s, now).execute(APP.sdkAppId, admin, { type: 'listMutes', roomId: 'edge' })).length,
    ];
    const speaks = async (s: TestServer, now: number) => {
      const m = { kind: 'user', userId: 'm' } as const;
      await at(s, now).execute(APP.sdkAppId, m, { type: 'enterRoom', roomId: 'edge', clientIp: '10.9.9.8', connId: '' });
      return at(s, now)
        .execute(APP.sdkAppId, m, { type: 'sendMessage', roomId: 'edge', text: 'hi' })
        .then(() => 'sent', (e: RoomError) => e.kind);
    };
    const check = async (s: TestServer) => {
      assert.equal(await enters(s, t + 999), 'DeniedUser');
      assert.equal(await speaks(s, t + 999), 'Muted');
      assert.deepEqual(await listed(s, t + 999), [1, 1]);
      assert.equal(await enters(s, t + 1000), 'entered');
      assert.equal(await speaks(s, t + 1000), 'sent');
      assert.deepEqual(await listed(s, t + 1000), [0, 0]);
    };
    await check(h.s);
    await check(await h.restart());
  });
  it('banning again replaces the earlier timed ban, for an IP as for a user: the new duration counts from now, shorter or not', async () => {
    const h = await fresh();
    await createRoom(h.s, 'reban');
    // 5 s, not 1: the list read after both bans must come before the first one's end on a loaded machine.
    const windows: [number, number][] = [];
    for (const subject of [{ userId: 'again' }, { ip: '127.0.0.1' }]) {
      let [status, body] = await api(h.s, 'POST', '/rooms/reban/ban', { ...subject, durationSec: 3600 });
      assert.equal(status, 200, JSON.stringify(body));
      const before = Date.now();
      [status, body] = await api(h.s, 'POST', '/rooms/reban/ban', { ...subject, durationSec: 5 });
      assert.equal(status, 200, JSON.stringify(body));
      windows.push([before + 5000, Date.now() + 5000]);
    }
    let [, bans] = await api(h.s, 'GET', '/rooms/reban/bans');
    assert.deepEqual(bans.items.map((e: { subject: string }) => e.subject), ['again', '127.0.0.1'], 'one entry per subject');
    bans.items.forEach((e: { expiresAt: number }, i: number) => {
      const [from, to] = windows[i];
      assert.ok(e.expiresAt >= from && e.expiresAt <= to, `ends at ${e.expiresAt}, 5 s after the second ban (${from}–${to})`);
    });
    await until(windows[1][1]);
    const s = await h.restart();
    [, bans] = await api(s, 'GET', '/rooms/reban/bans');
    assert.deepEqual(bans.items, []);
    assert.equal(await entryCode(s, 'again', 'reban'), 0);
  });
});
