// Several real `rostrum serve` processes on one PostgreSQL schema and one Redis prefix: limits
// hold for the cluster, replays are refused on every node, every callback is sent once by one
// node (and by another when that one is killed), and a node cut off from PostgreSQL answers
// errors, reports itself not ready, loses nothing and recovers by itself.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { CODE as RT } from '../src/realtime/protocol.js';
import { CODE as TC } from '../src/dialects/tencent/codes.js';
import type { App } from '../src/core/model.js';
import { waitFor } from './support/cli.js';
import { genUserSig } from '../src/auth/usersig.js';
import { APP, adminSig, tencentCall, type TestServer } from './support/harness.js';
import { polyvCall } from './support/polyv.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { RawClient } from './realtime-support.js';
import { PG_URL, pgSkip } from './contract/postgres-support.js';
import { redisSkip } from './contract/redis-support.js';
import { Cluster, tcpProxy, type Node } from './cluster-support.js';

const skip = (await pgSkip()) || (await redisSkip());

const LIMIT = 6;
const LIMITED: App = {
  sdkAppId: 1400000009,
  secretKey: 'cluster-limited-key',
  admins: ['administrator'],
  rateLimit: { perCommandPerSecond: LIMIT, perEndpointPerSecond: LIMIT },
  polyv: { appId: 'polyvlimited', appSecret: 'polyv-limited-secret' },
};

/** The room a callback is about (some commands carry it inside RoomInfo). */
const roomOf = (body: any): string => body.RoomId ?? body.RoomInfo?.RoomId;

describe('several nodes on one PostgreSQL and one Redis', { skip, timeout: 240_000 }, () => {
  let cluster: Cluster;
  let rx: Receiver;
  let a: Node;
  let b: Node;
  /** The node left after the kill. */
  let survivor: Node;

  const tencent = (n: Node, path: string, body: unknown, app: App = APP) => tencentCall(n.url, path, body, { app });
  const createRoom = async (n: Node, roomId: string) => {
    const r = await tencent(n, 'room_engine_http_srv/create_room', { RoomInfo: { RoomId: roomId, RoomType: 'Conference' } });
    assert.equal(r.ErrorCode, 0, JSON.stringify(r));
  };

  before(async () => {
    if (skip) return;
    rx = await startReceiver();
    // The chat rate at its default (5 a second): one test counts it.
    cluster = new Cluster(undefined, { messagesPerSecond: 5 }, [{ ...APP, callback: { url: rx.url } }, { ...LIMITED, callback: { url: rx.url } }]);
    [a, b] = await cluster.startAll(['a', 'b']);
  });

  after(async () => {
    if (skip) return;
    await cluster?.cleanup();
    await rx?.close();
  });

  it('a rate limit holds for the cluster: exactly N calls a second over both nodes', async () => {
    for (let attempt = 0; ; attempt++) {
      // Start just after a second begins, so the whole burst falls in one window.
      await sleep(1000 - (Date.now() % 1000) + 20);
      const second = Math.floor(Date.now() / 1000);
      const answers = await Promise.all(
        Array.from({ length: LIMIT * 3 }, (_, i) => tencent(i % 2 ? a : b, 'room_engine_http_srv/get_room_info', { RoomId: 'nowhere' }, LIMITED)),
      );
      if (Math.floor(Date.now() / 1000) !== second && attempt < 3) continue; // crossed a window: again
      const accepted = answers.filter((r) => r.ErrorCode !== TC.rateLimited);
      assert.equal(accepted.length, LIMIT, JSON.stringify(answers.map((r) => r.ErrorCode)));
      return;
    }
  });

  it('wrong room passwords count on every node: a burst of 30 at once over two gets 10 checked, and exhausts both', async () => {
    const r = await tencent(a, 'room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'pw', RoomType: 'Conference', IsPasswordEnabled: true, Password: '2468' } });
    assert.equal(r.ErrorCode, 0, JSON.stringify(r));
    // Thirty users from one address (loopback), half through each node, all guessing at once.
    const guessers = await Promise.all(Array.from({ length: 30 }, (_, i) => RawClient.open({ url: (i % 2 ? a : b).url } as TestServer, `guesser-${i}`)));
    try {
      const codes = await Promise.all(guessers.map((c, i) => c.req('enterRoom', { roomId: 'pw', password: String(1000 + i) }).then((x) => x.code)));
      const count = (code: number) => codes.filter((x) => x === code).length;
      assert.deepEqual([count(RT.wrongPassword), count(RT.passwordAttemptsExceeded)], [10, 20], JSON.stringify(codes));
      await guessers[0].fails('enterRoom', { roomId: 'pw', password: '2468' }, RT.passwordAttemptsExceeded);
      await guessers[1].fails('enterRoom', { roomId: 'pw', password: '2468' }, RT.passwordAttemptsExceeded);
    } finally {
      for (const c of guessers) c.ws.close();
    }
  });

  it('the chat rate holds for a user on every node: its connections on two nodes share one bucket', async () => {
    await createRoom(a, 'chatty1');
    await createRoom(a, 'chatty2');
    // One user, a connection on each node, each in its own room (one room would replace the other).
    const onA = await RawClient.connect({ url: a.url } as TestServer, 'chatter', 'chatty1');
    const onB = await RawClient.connect({ url: b.url } as TestServer, 'chatter', 'chatty2');
    try {
      const started = Date.now();
      const replies = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? onA : onB).req('sendMessage', { roomId: i % 2 ? 'chatty1' : 'chatty2', text: `m${i}` })),
      );
      const seconds = (Date.now() - started) / 1000;
      const accepted = replies.filter((r) => r.code === 0).length;
      const refused = replies.filter((r) => r.code === RT.rateLimited).length;
      assert.equal(accepted + refused, 40, JSON.stringify(replies.filter((r) => r.code !== 0 && r.code !== RT.rateLimited)));
      // Default 5 a second with bursts of 10, per user: one bucket for the cluster, not one per node.
      assert.ok(accepted <= 10 + Math.ceil(seconds * 5), `${accepted} accepted in ${seconds} s`);
      assert.ok(accepted >= 10, `${accepted} accepted`);
    } finally {
      onA.ws.close();
      onB.ws.close();
    }
  });

  it('a console session made through one node is good on the other, and its sign-out too', async () => {
    const signIn = await fetch(`${a.url}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userSig: adminSig() }) });
    assert.equal(signIn.status, 200, await signIn.clone().text());
    const cookie = /rostrum_console=([^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')![1];
    const { csrf } = (await signIn.json()) as { csrf: string };
    const headers = { cookie: `rostrum_console=${cookie}` };
    const onB = await fetch(`${b.url}/console/session`, { headers });
    assert.equal(onB.status, 200);
    assert.equal(((await onB.json()) as { identifier: string }).identifier, 'administrator');
    // The native API takes the cookie on the other node too.
    assert.equal((await fetch(`${b.url}/api/v1/rooms`, { headers })).status, 200);
    const out = await fetch(`${b.url}/console/session/end`, { method: 'POST', headers: { ...headers, 'x-csrf-token': csrf } });
    assert.equal(out.status, 200);
    assert.equal((await fetch(`${a.url}/console/session`, { headers })).status, 401, 'signed out on every node');
  });

  it('failed console sign-ins count for the cluster: a parallel burst spread over two nodes gets 5 checked, and throttles both', async () => {
    // A UserSig for the admin signed with the wrong key: an account and an IP that fail.
    const forged = genUserSig(APP.sdkAppId, 'not-the-secret-key', 'administrator', 3600);
    const signIn = (node: Node, userSig: string) =>
      fetch(`${node.url}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userSig }) });
    const statuses = await Promise.all(Array.from({ length: 40 }, async (_, i) => (await signIn(i % 2 ? a : b, forged)).status));
    assert.equal(statuses.filter((st) => st === 401).length, 5, `statuses: ${statuses.join(',')}`);
    assert.equal(statuses.filter((st) => st === 429).length, 35, `statuses: ${statuses.join(',')}`);
    for (const node of [a, b]) {
      const res = await signIn(node, adminSig());
      assert.equal(res.status, 429, 'the right UserSig too, from that IP');
      assert.ok(Number(res.headers.get('retry-after')) > 14 * 60, 'held for the rest of the 15 minutes');
    }
  });

  it('a Polyv request accepted on one node is refused as a replay on the other', async () => {
    await createRoom(a, 'polyv-room');
    const timestamp = Date.now();
    const first = await polyvCall(a.url, '/live/v3/channel/chat/list-kicked', { channelId: 'polyv-room' }, { timestamp });
    assert.equal(first.code, 200, JSON.stringify(first));
    const replay = await polyvCall(b.url, '/live/v3/channel/chat/list-kicked', { channelId: 'polyv-room' }, { timestamp });
    assert.equal(replay.code, 400);
    assert.equal(replay.message, 'invalid timestamp.');
  });

  const sends = async (n: Node, app: App = APP) => (await (await fetch(`${n.url}/metrics`)).text()).includes(`rostrum_callbacks_sending{app="${app.sdkAppId}"} 1`);

  /** Which node sends APP's callbacks (its /metrics say so), once exactly one does. */
  async function sender(nodes: Node[]): Promise<Node> {
    let found: Node[] = [];
    await waitFor('one node to send the app', async () => {
      found = [];
      for (const n of nodes) if (await sends(n)) found.push(n);
      return found.length === 1;
    });
    return found[0];
  }

  it('callbacks: two apps, two nodes: each node sends one app', async () => {
    await waitFor('the apps to spread over the nodes', async () => {
      const [aApp, aLimited, bApp, bLimited] = await Promise.all([sends(a), sends(a, LIMITED), sends(b), sends(b, LIMITED)]);
      return aApp !== bApp && aLimited !== bLimited && aApp !== aLimited;
    });
  });

  /** Every callback of `rooms`, in Seq order per room, with no gap. */
  function assertOrdered(rooms: string[]): void {
    for (const roomId of rooms) {
      const seqs = rx.accepted.filter((x) => roomOf(x.body) === roomId).map((x) => x.body.Seq);
      const unique = [...new Set(seqs)];
      assert.deepEqual(unique, [...unique].sort((x, y) => x - y), `room ${roomId} in Seq order: ${seqs}`);
    }
  }

  it('callbacks: a burst over both nodes arrives exactly once, in order per room', async () => {
    const holder = await sender([a, b]);
    assert.ok(holder);
    const start = rx.accepted.length;
    const rooms = ['cb0', 'cb1', 'cb2', 'cb3'];
    await Promise.all(rooms.map((roomId, i) => createRoom(i % 2 ? a : b, roomId)));
    let calls = rooms.length;
    await Promise.all(
      rooms.map(async (roomId, i) => {
        for (let k = 0; k < 6; k++) {
          const r = await tencent((i + k) % 2 ? a : b, 'room_engine_http_srv/update_room_info', { RoomInfo: { RoomId: roomId, RoomName: `name ${k}` } });
          assert.equal(r.ErrorCode, 0, JSON.stringify(r));
          calls++;
        }
      }),
    );
    const mine = () => rx.accepted.slice(start).filter((x) => rooms.includes(roomOf(x.body)));
    await waitFor(`${calls} callbacks`, () => mine().length >= calls, 30_000).catch((e) => {
      throw new Error(`${e.message}: ${mine().length} arrived, ${rx.accepted.length} in all, ${rx.attempts} attempts: ${JSON.stringify(rx.accepted.slice(-50).map((x) => [roomOf(x.body), x.body.Seq]))}`);
    });
    await sleep(1000); // a duplicate would show by now
    const got = mine();
    assert.equal(got.length, calls, 'each sent once');
    assert.equal(new Set(got.map((x) => x.body.EventId)).size, calls);
    assertOrdered(rooms);
  });

  it('callbacks: the node sending the app is killed mid-burst; the other takes over, nothing acknowledged is lost', async () => {
    const holder = await sender([a, b]);
    survivor = holder === a ? b : a;
    const acked: string[] = [];
    let n = 0;
    const burst = async (node: Node, count: number) => {
      for (let i = 0; i < count; i++) {
        const roomId = `k${n++}`;
        try {
          const r = await tencent(node, 'room_engine_http_srv/create_room', { RoomInfo: { RoomId: roomId, RoomType: 'Conference' } });
          if (r.ErrorCode === 0) acked.push(roomId);
        } catch {
          // the killed node: not acknowledged
        }
      }
    };
    const both = Promise.all([burst(holder, 15), burst(survivor, 15)]);
    await waitFor('a few acknowledged changes', () => acked.length >= 6);
    holder.c.child.kill('SIGKILL');
    await both;
    await burst(survivor, 10);
    assert.ok(acked.length >= 16);
    const arrived = () => new Set(rx.accepted.map((x) => roomOf(x.body)));
    await waitFor('every acknowledged change to be called back', () => acked.every((r) => arrived().has(r)), 45_000);
    assert.equal(await sender([survivor]), survivor);
    assertOrdered(acked);
  });

  it('PostgreSQL unreachable: writes answer internal errors, /readyz says why, nothing is lost, and the node recovers', async () => {
    const pgPort = Number(new URL(PG_URL).port || 5432);
    const proxy = await tcpProxy(pgPort);
    const c = await cluster.start('c', { pgPort: proxy.port });
    await createRoom(c, 'before-cut');
    // Two apps, two nodes: the new node takes one of them over from the survivor.
    let taken: App | undefined;
    await waitFor('the new node to send one app', async () => {
      taken = (await sends(c)) ? APP : (await sends(c, LIMITED)) ? LIMITED : undefined;
      return taken !== undefined && !(await sends(survivor, taken));
    });
    await proxy.cut();
    // Its lease connection is gone: it stops sending at once, and the survivor takes the app back.
    assert.equal(await sends(c, taken), false);
    await waitFor('the survivor to send the app again', () => sends(survivor, taken));
    const r = await tencent(survivor, 'room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'while-cut', RoomType: 'Conference' } }, taken);
    assert.equal(r.ErrorCode, 0, JSON.stringify(r));
    await waitFor('its callback', () => rx.accepted.some((x) => roomOf(x.body) === 'while-cut'));

    const t = await tencent(c, 'room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'during-cut', RoomType: 'Conference' } });
    assert.equal(t.ErrorCode, TC.internal, JSON.stringify(t));
    const p = await polyvCall(c.url, '/live/v3/channel/chat/list-kicked', { channelId: 'before-cut' });
    assert.equal(p.httpStatus, 500);
    assert.equal(p.code, 500);
    assert.equal(p.message, 'api error.');
    const api = await fetch(`${c.url}/api/v1/rooms/before-cut/kick`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminSig()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userIds: ['x'] }),
    });
    assert.equal(api.status, 500);
    assert.equal((await api.json()).error.code, 'internal');
    const ready = await fetch(`${c.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.match((await ready.json()).reason, /store cannot write/);

    await proxy.restore();
    await waitFor('the node to be ready again', async () => (await fetch(`${c.url}/readyz`)).status === 200, 30_000);
    await createRoom(c, 'after-cut');
    for (const roomId of ['before-cut', 'after-cut', 'pw', 'cb0']) {
      const r = await tencent(c, 'room_engine_http_srv/get_room_info', { RoomId: roomId });
      assert.equal(r.ErrorCode, 0, `${roomId}: ${JSON.stringify(r)}`);
    }
    await proxy.close();
  });
});
