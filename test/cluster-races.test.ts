// Races across nodes: moderation committed on one node while the users it is about act on
// another. Real nodes on one PostgreSQL schema and one Redis prefix (a fourth one's Redis link
// through a proxy a test cuts), real WebSocket clients. What holds on one node
// (test/realtime-consistency, test/realtime-races) must hold here too: a member banned while
// entering is refused, or told and removed, and never stays inside — in the store, in every
// node's room, in an observer's view; a kick racing a resume leaves the client and the store
// agreeing; a connection replaced through another node is out from the replacement's commit,
// whether or not its node has heard; a resume around the seat grace's end keeps the seat or is
// announced as a leave and an entry; a message sent after its sender's mute was acknowledged is
// never accepted, and one acknowledged before is delivered once to every member on every node;
// a seat lock racing seat takes leaves no one on a locked seat, and every client with the
// store's seat list. RACE_DEBUG=1 prints how each race came out.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, clusterSkip, sleep, tcpProxy, until, type Node } from './cluster-support.js';
import { REDIS_URL } from './contract/redis-support.js';
import { RawClient, assertGraceOutcome, assertOrdered, createRoom, type Frame, type Reply } from './realtime-support.js';
import { adminSig } from './support/harness.js';
import { polyvCall } from './support/polyv.js';
import { CODE } from '../src/realtime/protocol.js';

const skip = await clusterSkip();
const GRACE_SECONDS = 3;

/** Runs `fn` over `items`, `width` at a time. */
async function inWaves<T, R>(items: T[], width: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) out.push(...(await Promise.all(items.slice(i, i + width).map((x, j) => fn(x, i + j)))));
  return out;
}

/** The room's members as the native API lists them (as an operator's tool sees them). */
async function apiMembers(n: Node, roomId: string): Promise<string[]> {
  const out: string[] = [];
  for (let after = ''; ; ) {
    const res = await fetch(`${n.url}/api/v1/rooms/${roomId}/members?limit=500&after=${encodeURIComponent(after)}`, {
      headers: { authorization: `Bearer ${adminSig()}` },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { items: { userId: string }[]; next: string };
    out.push(...body.items.map((m) => m.userId));
    if (!body.next) return out.sort();
    after = body.next;
  }
}

/** A native API call as the app's admin. */
async function api(n: Node, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${n.url}/api/v1${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminSig()}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, `${path}: ${await res.text()}`);
}

/** Seqs strictly increasing after `from` (each event once, in order). */
/** The members an observer sees: its snapshot's count aside, who entered and who left since. */
function presentFromEvents(events: Frame[]): Set<string> {
  const present = new Set<string>();
  for (const e of events) {
    if (e.event === 'memberEntered') present.add(e.member.userId);
    else if (e.event === 'memberLeft') present.delete(e.userId);
  }
  return present;
}

describe('cluster: moderation racing members on other nodes', { skip, timeout: 120_000 }, () => {
  let cluster: Cluster;
  let a: Node;
  let b: Node;
  let c: Node;
  /** A fourth node, whose link to Redis goes through a proxy a test can cut. */
  let d: Node;
  let proxy: Awaited<ReturnType<typeof tcpProxy>>;
  const clients: RawClient[] = [];
  const connect = async (n: Node, userId: string, roomId?: string, ip?: string) => {
    const cl = await RawClient.open(n.s, userId, ip ? { headers: { 'x-forwarded-for': ip } } : {});
    clients.push(cl);
    await cl.ok('ping');
    if (roomId !== undefined) await cl.ok('enterRoom', { roomId });
    return cl;
  };

  before(async () => {
    // X-Forwarded-For taken as the client IP: each racer has an address of its own, for IP bans.
    cluster = new Cluster(undefined, { seatGraceSeconds: GRACE_SECONDS }, undefined, { trustProxy: true });
    proxy = await tcpProxy(Number(new URL(REDIS_URL).port || 6379));
    a = await cluster.start('ra');
    [b, c, d] = await Promise.all([cluster.start('rb'), cluster.start('rc'), cluster.start('rd', { redisPort: proxy.port })]);
  });
  after(async () => {
    for (const cl of clients) cl.ws.terminate();
    await cluster?.cleanup();
    await proxy?.close();
  });

  it('bans on node A racing 60 entries on node B: each is refused, or told and removed; none stays inside', async () => {
    const roomId = 'ban-race';
    await createRoom(a.s, roomId, { maxMembers: 1000 });
    const talker = await connect(a, 'talker', roomId);
    const watcher = await connect(c, 'watcher', roomId);
    const watcherFrom = Math.max(0, ...watcher.events.map((e) => e.seq));
    // Tencent ban_room_member (the room), Polyv kick-users (the channel, and app-wide), IP
    // denies through the native API (the room, and app-wide).
    const kinds = ['tencent-ban', 'polyv-kick', 'polyv-kick-app', 'api-ip', 'api-ip-app'] as const;
    const users = Array.from({ length: 60 }, (_, i) => `bu${i}`);
    const ipOf = (u: string) => `10.77.0.${Number(u.slice(2)) + 1}`;
    const racers = await inWaves(users, 20, (u) => connect(b, u, undefined, ipOf(u)));
    // Those banned app-wide are also in another room, through node C: they are removed there too.
    const elsewhere = 'ban-race-other';
    await createRoom(a.s, elsewhere, { maxMembers: 1000 });
    const appWide = (i: number) => kinds[i % kinds.length].endsWith('-app');
    const others = await inWaves(users.filter((_, i) => appWide(i)), 20, (u) => connect(c, u, elsewhere, ipOf(u)));
    const moderate = async (u: string, kind: (typeof kinds)[number]) => {
      if (kind === 'tencent-ban') {
        const r = await a.s.tencent('room_engine_http_srv/ban_room_member', { RoomId: roomId, MemberList_Account: [u], Reason: 'race', Duration: 600 });
        assert.equal(r.ErrorCode, 0, r.ErrorInfo);
      } else if (kind === 'api-ip' || kind === 'api-ip-app') {
        await api(a, kind === 'api-ip' ? `/rooms/${roomId}/ban` : '/ban', { ip: ipOf(u), reason: 'race' });
      } else {
        const path = kind === 'polyv-kick' ? '/live/v4/chat/channel/forbid/kick-users' : '/live/v4/chat/forbid/kick-users';
        const params = kind === 'polyv-kick' ? { channelId: roomId } : {};
        const r = await polyvCall(a.url, path, params, { json: { viewerIds: [u], nickNames: [u] } });
        assert.equal(r.code, 200, JSON.stringify(r));
      }
    };
    // Each entry and its ban go out 0..45 ms apart, either first: the ban commits on node A
    // before, beside and after the entry commits on node B.
    const outcomes = await inWaves(racers, 30, async (cl, i) => {
      const kind = kinds[i % kinds.length];
      const entryAt = (i % 10) * 5;
      const banAt = ((i * 3) % 10) * 5;
      const [entry] = await Promise.all([
        sleep(entryAt).then(async () => {
          const r = await cl.req('enterRoom', { roomId });
          // In: it takes a seat at once, racing its ban too (any free one; four for sixty).
          if (r.code === 0) {
            const seat = await cl.req('takeSeat', { roomId });
            assert.ok([0, CODE.notMember, CODE.seatsFull].includes(seat.code), `${cl.userId} takeSeat: ${seat.code} ${seat.message}`);
          }
          return r;
        }),
        sleep(banAt).then(() => moderate(cl.userId, kind)),
      ]);
      return { cl, kind, entry };
    });
    let refused = 0;
    let told = 0;
    /** Each user's last seq in the room: the removal's (or 0 when refused). */
    const outAt = new Map<string, number>();
    for (const { cl, kind, entry } of outcomes) {
      if (entry.code !== 0) {
        assert.equal(entry.code, kind.startsWith('api-ip') ? CODE.deniedIp : CODE.deniedUser, `${cl.userId} (${kind}): ${entry.code} ${entry.message}`);
        refused++;
        outAt.set(cl.userId, 0);
        continue;
      }
      const kicked = await cl.take('kickedOutOfRoom', (e) => e.roomId === roomId, 10_000);
      outAt.set(cl.userId, kicked.seq);
      assert.equal(kicked.kind, 'banned', cl.userId);
      assert.ok(kicked.seq > entry.data.seq, `${cl.userId}: the removal comes after its snapshot`);
      told++;
      await cl.fails('sendMessage', { roomId, text: 'still here?' }, CODE.notMember);
      await cl.fails('takeSeat', { roomId }, CODE.notMember);
    }
    assert.equal(refused + told, users.length);
    if (process.env.RACE_DEBUG) console.log({ refused, told });
    // App-wide: out of the other room as well, told on node C.
    for (const o of others) {
      const kicked = await o.take('kickedOutOfRoom', (e) => e.roomId === elsewhere, 10_000);
      assert.equal(kicked.kind, 'banned', o.userId);
      await o.fails('sendMessage', { roomId: elsewhere, text: 'still here?' }, CODE.notMember);
    }
    assert.deepEqual(await apiMembers(a, elsewhere), [], 'no one banned app-wide is left in the other room');
    // Node B held no one else in the room during the race (its room feed started from nothing,
    // from the racers' entries); a member there now, for the checks below.
    const bystander = await connect(b, 'bystander', roomId);

    // The store, as the native API on the third node lists it.
    await until('no banned member in the room', async () => (await apiMembers(c, roomId)).every((m) => !m.startsWith('bu')), 10_000);
    assert.deepEqual(await apiMembers(c, roomId), ['bystander', 'talker', 'watcher']);
    // Every one is refused from now on, on any node.
    for (const { cl, kind } of outcomes.slice(0, 10)) await cl.fails('enterRoom', { roomId }, kind.startsWith('api-ip') ? CODE.deniedIp : CODE.deniedUser);

    // The room's chat reaches the members on every node and none of the banned connections.
    await talker.ok('sendMessage', { roomId, text: 'after the bans' });
    for (const m of [watcher, bystander]) await m.take('messageReceived', (e) => e.text === 'after the bans', 10_000);
    for (const { cl } of outcomes) {
      await cl.sync();
      const late = cl.events.filter((e) => e.roomId === roomId && e.seq > outAt.get(cl.userId)!);
      assert.deepEqual(late.map((e) => e.event), [], `${cl.userId} got the room's events after its removal`);
    }
    // The observer on the third node: each banned user that entered left again, in order.
    const seen = watcher.events.filter((e) => e.roomId === roomId);
    assertOrdered('watcher', seen, watcherFrom);
    const left = seen.filter((e) => e.event === 'memberLeft' && e.userId.startsWith('bu'));
    assert.equal(left.length, told, 'one memberLeft per banned user who got in');
    for (const e of left) assert.equal(e.reason, 'banned');
    assert.deepEqual([...presentFromEvents(seen)].filter((u) => u.startsWith('bu')), [], 'the observer sees no banned user inside');
    // No banned user is left on a seat, and the observers on two nodes hold the store's seats.
    const list = await c.s.tencent('room_engine_http_mic/get_seat_list', { RoomId: roomId });
    assert.equal(list.ErrorCode, 0, list.ErrorInfo);
    const seats = list.Response.SeatList.map((x: { Member_Account: string }) => x.Member_Account || null);
    assert.deepEqual(seats.filter(Boolean), [], 'every seat is free again');
    const lastSeats = seen.filter((e) => e.event === 'seatListChanged').at(-1);
    if (lastSeats) assert.deepEqual(lastSeats.seats.map((x: { userId: string | null }) => x.userId), seats, 'the watcher\'s last seat list');
    if (process.env.RACE_DEBUG) console.log({ seatChanges: seen.filter((e) => e.event === 'seatListChanged').length });
  });

  it('kicks on node A racing the same user\'s resume on node B: out and told, or back in and really in', async () => {
    const roomId = 'kick-resume';
    await createRoom(a.s, roomId, { owner: 'kboss', maxMembers: 1000 });
    const boss = await connect(a, 'kboss', roomId);
    const watcher = await connect(c, 'kwatcher', roomId);
    const users = Array.from({ length: 30 }, (_, i) => `kr${i}`);
    const ipOf = (u: string) => `10.79.0.${Number(u.slice(2)) + 1}`;
    // Tencent kick_user_out (may come back), Polyv kick-users over HTTP, the owner's kickUser by
    // IP on its socket (both refuse until lifted).
    const kinds = ['kick-out', 'polyv-kick', 'owner-kick-ip'] as const;
    // Each is in through node A. Half drop (no close frame: the seat grace keeps them in); the
    // other half keep their old socket open, as a client whose network changed would.
    const last = new Map<string, number>();
    const old = new Map<string, RawClient>();
    await inWaves(users, 15, async (u, i) => {
      const cl = await connect(a, u, undefined, ipOf(u));
      last.set(u, (await cl.ok('enterRoom', { roomId })).seq);
      old.set(u, cl);
      if (i % 2 === 0) {
        cl.ws.terminate();
        await cl.closed;
      }
    });
    assert.deepEqual((await apiMembers(c, roomId)).filter((m) => m.startsWith('kr')), [...users].sort(), 'all in (the dropped within their grace)');
    const outcomes = await Promise.all(
      users.map(async (u, i) => {
        const kind = kinds[i % kinds.length];
        const cl = await connect(b, u, undefined, ipOf(u));
        const moderate = async (): Promise<number> => {
          await sleep((i * 7) % 30);
          if (kind === 'kick-out') {
            // The member may be between its old connection and its new one: then not in.
            return (await a.s.tencent('room_engine_http_srv/kick_user_out', { RoomId: roomId, MemberList_Account: [u], Reason: 'race' })).ErrorCode;
          }
          if (kind === 'owner-kick-ip') return (await boss.req('kickUser', { roomId, userId: u, type: 'ip' })).code;
          const r = await polyvCall(a.url, '/live/v4/chat/channel/forbid/kick-users', { channelId: roomId }, { json: { viewerIds: [u], nickNames: [u] } });
          assert.equal(r.code, 200, JSON.stringify(r));
          return 0;
        };
        const [entry, modCode] = await Promise.all([
          sleep((i * 11) % 30).then(() => cl.req('enterRoom', { roomId, lastSeq: last.get(u) })),
          moderate(),
        ]);
        return { u, i, kind, cl, entry, modCode };
      }),
    );
    await sleep(200);
    const members = await apiMembers(c, roomId);
    let out = 0;
    let back = 0;
    for (const { u, i, kind, cl, entry, modCode } of outcomes) {
      await cl.sync();
      const what = `${u} (${kind}, ${i % 2 === 0 ? 'dropped' : 'still open'}, moderation answered ${modCode})`;
      if (i % 2 === 1) {
        // The old socket, still open on node A, is out of the room either way.
        const o = old.get(u)!;
        const outEvent = (e: Frame) => (e.event === 'memberReplaced' || e.event === 'kickedOutOfRoom') && e.roomId === roomId;
        // Told through Redis when the change committed on another node: a moment later.
        await until(`${u}'s old socket told it is out`, () => o.events.some(outEvent), 10_000);
        await o.sync();
        const told = o.events.filter(outEvent);
        assert.equal(told.length, 1, `${what}: the old socket is told once that it is out (${told.map((e) => e.event)})`);
        await o.fails('sendMessage', { roomId, text: 'old socket' }, CODE.notMember);
        const after = o.events.filter((e) => e.roomId === roomId && e.seq > told[0].seq).map((e) => e.event);
        assert.deepEqual(after, [], `${what}: the old socket got the room's events after it was out`);
      }
      if (kind === 'owner-kick-ip' || kind === 'kick-out') assert.ok(modCode === 0 || modCode === CODE.notMember, what);
      if (entry.code !== 0) {
        // A kick out is no ban: its resume is refused only when the kick came first (110015).
        const refusal = kind === 'owner-kick-ip' ? CODE.deniedIp : kind === 'kick-out' ? CODE.kickedWhileAway : CODE.deniedUser;
        assert.equal(entry.code, refusal, `${what}: ${entry.code} ${entry.message}`);
        assert.ok(!members.includes(u), `${what}: refused but a member`);
        out++;
        continue;
      }
      // The store has the last word: out of it, the client must be told (through Redis, a
      // moment later when the kick committed on node A).
      if (!members.includes(u)) await until(`${what} told it is out`, () => cl.events.some((e) => e.event === 'kickedOutOfRoom'), 10_000);
      const kicked = cl.events.filter((e) => e.event === 'kickedOutOfRoom' && e.roomId === roomId);
      if (kicked.length === 0) {
        // The kick found it away (between its old connection and its new one): it is in.
        assert.ok(kind === 'kick-out' || modCode !== 0, `${what}: the kick let it stay in`);
        assert.ok(members.includes(u), `${what}: neither told it is out nor a member`);
        await cl.ok('sendMessage', { roomId, text: `${u} back` });
        back++;
        continue;
      }
      assert.equal(kicked.length, 1, `${what}: told twice`);
      assert.equal(kicked[0].kind, kind === 'kick-out' ? 'kicked' : 'banned', what);
      assert.ok(kicked[0].seq > entry.data.seq, `${what}: the removal comes after its snapshot`);
      assert.ok(!members.includes(u), `${what}: told it is out but still a member`);
      await cl.fails('sendMessage', { roomId, text: 'still here?' }, CODE.notMember);
      const after = cl.events.filter((e) => e.roomId === roomId && e.seq > kicked[0].seq).map((e) => e.event);
      assert.deepEqual(after, [], `${what}: got the room's events after it was out`);
      out++;
    }
    if (process.env.RACE_DEBUG) console.log({ out, back });
    // The store agrees with the clients, and stays so past the dropped connections' grace.
    await sleep(GRACE_SECONDS * 1000 + 300);
    const later = await apiMembers(c, roomId);
    const inside = (x: { entry: Reply; cl: RawClient }) => x.entry.code === 0 && x.cl.events.every((e) => e.event !== 'kickedOutOfRoom');
    for (const x of outcomes) assert.equal(later.includes(x.u), inside(x), `${x.u} (${x.kind}): a member ${later.includes(x.u)}, its client thinks ${inside(x)}`);
    await watcher.ok('sendMessage', { roomId, text: 'roll call' });
    for (const x of outcomes) if (inside(x)) await x.cl.take('messageReceived', (e) => e.text === 'roll call', 10_000);
    await boss.take('messageReceived', (e) => e.text === 'roll call', 10_000);
    for (const x of outcomes) {
      await x.cl.sync();
      if (!inside(x)) assert.ok(!x.cl.events.some((e) => e.text === 'roll call'), `${x.u} is out but got the room's chat`);
      const o = old.get(x.u)!;
      if (x.i % 2 === 1) {
        await o.sync();
        assert.ok(!o.events.some((e) => e.text === 'roll call'), `${x.u}'s old socket got the room's chat`);
      }
    }
  });

  it('a connection replaced from another node is out from the replacement\'s commit: nothing it sends is accepted after it', async () => {
    const roomId = 'replace-race';
    await createRoom(a.s, roomId, { maxMembers: 1000 });
    const users = Array.from({ length: 16 }, (_, i) => `rp${i}`);
    const first = await inWaves(users, 16, (u) => connect(a, u, roomId));
    const listener = await connect(c, 'rplistener', roomId);
    /** Per user, the seq of its replacement. */
    const replacedAt = new Map<string, number>();
    let late = 0;
    let after = 0;
    let accepted = 0;
    const acceptedTexts: string[] = [];
    await Promise.all(
      first.map(async (old, i) => {
        const sent: { sentAt: number; code: number; text: string }[] = [];
        let repliedAt = Infinity;
        let stop = false;
        // The old socket chats on node A without pause, while the same user enters on node B.
        const lanes = [0, 1].map(async (lane) => {
          for (let n = 0; !stop; n++) {
            const text = `${old.userId}:${lane}:${n}`;
            const sentAt = Date.now();
            const r = await old.req('sendMessage', { roomId, text });
            sent.push({ sentAt, code: r.code, text });
          }
        });
        await sleep(10 + (i % 8) * 3);
        const again = await connect(b, old.userId);
        await again.ok('enterRoom', { roomId });
        repliedAt = Date.now();
        await sleep(60);
        stop = true;
        await Promise.all(lanes);
        for (const s of sent) {
          if (s.code === 0) accepted++, acceptedTexts.push(s.text);
          else assert.equal(s.code, CODE.notMember, `${s.text}: ${s.code}`);
          if (s.sentAt > repliedAt && s.code === 0) late++;
          if (s.sentAt > repliedAt) after++;
        }
        await until(`${old.userId}: the old socket is told`, () => old.events.some((e) => e.event === 'memberReplaced'), 10_000);
        const replaced = old.events.find((e) => e.event === 'memberReplaced')!;
        replacedAt.set(old.userId, replaced.seq);
      }),
    );
    // Every message accepted reaches a member on the third node once, and no other.
    await listener.ok('sendMessage', { roomId, text: 'rp-end' });
    await listener.take('messageReceived', (e) => e.text === 'rp-end', 10_000);
    const got = listener.events.filter((e) => e.event === 'messageReceived').map((e) => e.text as string);
    assert.deepEqual([...got].sort(), [...acceptedTexts].sort(), 'the listener gets the accepted messages, each once');
    // In the room's order too: nothing of the old socket's comes after its replacement, not even
    // a message already on its way when the replacement committed (the store decides which
    // connection is the member's; node A may learn of it later).
    const inFlight = listener.events
      .filter((e) => e.event === 'messageReceived' && e.from !== 'rplistener' && e.seq > replacedAt.get(e.from)!)
      .map((e) => `${e.text} (seq ${e.seq}, replaced at ${replacedAt.get(e.from)})`);
    if (process.env.RACE_DEBUG) console.log({ accepted, after, late, inFlight: inFlight.length });
    assert.ok(accepted > 0);
    assert.equal(late, 0, `${late} messages sent through a replaced connection after the replacement was answered were accepted`);
    assert.deepEqual(inFlight, [], 'messages of a replaced connection committed after its replacement');
  });

  it('a connection replaced while its node cannot hear it (Redis cut) is refused all the same, and told once Redis is back', async () => {
    const roomId = 'replace-cut';
    await createRoom(a.s, roomId, { maxMembers: 100 });
    const listener = await connect(a, 'cutlistener', roomId);
    const old = await connect(d, 'cutuser', roomId);
    await old.ok('sendMessage', { roomId, text: 'before' });
    await proxy.cut();
    try {
      // The same user enters through node A: node D does not hear of it while its link is cut.
      const again = await connect(a, 'cutuser', roomId);
      await sleep(100);
      assert.ok(!old.events.some((e) => e.event === 'memberReplaced'), 'node D heard of it: the cut did not hold');
      await old.fails('sendMessage', { roomId, text: 'through the replaced socket' }, CODE.notMember);
      await old.fails('takeSeat', { roomId }, CODE.notMember);
      await again.ok('sendMessage', { roomId, text: 'through the new one' });
    } finally {
      await proxy.restore();
    }
    // Back: node D catches up from the outbox and tells the old socket.
    await old.take('memberReplaced', () => true, 15_000);
    await listener.ok('sendMessage', { roomId, text: 'cut-end' });
    await listener.take('messageReceived', (e) => e.text === 'cut-end', 10_000);
    const texts = listener.events.filter((e) => e.event === 'messageReceived').map((e) => e.text);
    assert.deepEqual(texts, ['before', 'through the new one'], 'the room got nothing through the replaced socket');
  });

  it('resumes on node B around the end of the seat grace on node A: the seat kept without a leave, or freed with the events that say so; never a ghost', async () => {
    const roomId = 'grace-race';
    const users = Array.from({ length: 8 }, (_, i) => `gr${i}`);
    await createRoom(a.s, roomId, { seats: users.length, maxMembers: 100 });
    const watcher = await connect(c, 'gwatcher', roomId);
    const last = new Map<string, number>();
    const olds: RawClient[] = [];
    for (const [i, u] of users.entries()) {
      const cl = await connect(a, u, roomId);
      await cl.ok('takeSeat', { roomId, index: i });
      olds.push(cl);
    }
    for (const cl of olds) {
      await cl.sync();
      last.set(cl.userId, Math.max(...cl.events.map((e) => e.seq)));
    }
    await until('the watcher sees every seat taken', () => watcher.events.filter((e) => e.event === 'seatListChanged').at(-1)?.seats.every((s: { userId: string | null }) => s.userId !== null), 10_000);
    const watcherFrom = Math.max(...watcher.events.map((e) => e.seq));
    watcher.events.splice(0);
    // All drop at once on node A; each comes back on node B between 150 ms before and 130 ms
    // after its grace ends there.
    for (const cl of olds) cl.ws.terminate();
    const dropped = Date.now();
    const outcomes = await Promise.all(
      users.map(async (u, i) => {
        await sleep(Math.max(0, dropped + GRACE_SECONDS * 1000 - 150 + i * 40 - Date.now()));
        const cl = await connect(b, u);
        const data = await cl.ok('enterRoom', { roomId, lastSeq: last.get(u) });
        return { u, i, cl, data };
      }),
    );
    await sleep(200);
    await watcher.ok('sendMessage', { roomId, text: 'settled' });
    for (const { cl } of outcomes) await cl.take('messageReceived', (e) => e.text === 'settled', 10_000);
    await watcher.take('messageReceived', (e) => e.text === 'settled', 10_000);
    const list = await c.s.tencent('room_engine_http_mic/get_seat_list', { RoomId: roomId });
    const seats = list.Response.SeatList.map((s: { Member_Account: string }) => s.Member_Account || null);
    const events = watcher.events.filter((e) => e.roomId === roomId);
    assertOrdered('gwatcher', events, watcherFrom);
    let kept = 0;
    for (const { u, i, cl, data } of outcomes) {
      assert.equal(data.recovered, true, u);
      if (assertGraceOutcome(events, u, data.seats[i].userId === u, seats[i])) kept++;
      const own = cl.events.filter((e) => e.roomId === roomId);
      assertOrdered(u, own, last.get(u)!);
      const lastSeats = [...own].reverse().find((e) => e.event === 'seatListChanged');
      assert.deepEqual((lastSeats && lastSeats.seq > data.seq ? lastSeats.seats : data.seats).map((s: { userId: string | null }) => s.userId), seats, `${u}: final seats`);
    }
    const lastSeats = [...events].reverse().find((e) => e.event === 'seatListChanged');
    assert.deepEqual(lastSeats?.seats.map((s: { userId: string | null }) => s.userId) ?? seats, seats, 'the watcher\'s final seats');
    assert.deepEqual(await apiMembers(c, roomId), [...users, 'gwatcher'].sort());
    if (process.env.RACE_DEBUG) console.log({ kept, of: users.length });
    // Each is in through its new connection: closing it takes the member out at once (a member
    // left on the dead connection of node A would stay).
    for (const { cl } of outcomes) cl.close();
    await until('every gr* member gone', async () => (await apiMembers(c, roomId)).every((m) => !m.startsWith('gr')), 5000);
  });

  it('mutes on node A racing chat on node B: nothing sent after the mute\'s answer is accepted; everything accepted reaches every member once', async () => {
    const roomId = 'mute-race';
    await createRoom(a.s, roomId, { maxMembers: 1000 });
    const listeners = [await connect(a, 'la', roomId), await connect(b, 'lb', roomId), await connect(c, 'lc', roomId)];
    // Tencent mute_room_member (the room), a native API app-wide mute, a Polyv IP chat ban.
    const kinds = ['tencent-mute', 'api-mute-app', 'polyv-ip'] as const;
    const ipOf = (u: string) => `10.78.0.${Number(u.slice(2)) + 1}`;
    const talkers = await inWaves(
      Array.from({ length: 9 }, (_, i) => `mt${i}`),
      9,
      (u) => connect(b, u, roomId, ipOf(u)),
    );
    interface Sent {
      from: string;
      text: string;
      sentAt: number;
      reply: Reply;
    }
    const sent: Sent[] = [];
    const mutedAt = new Map<string, number>();
    // Each talker sends as fast as its replies come, a few in flight; each is muted on node A
    // at its own moment, and keeps sending a while after.
    await Promise.all(
      talkers.map(async (t, i) => {
        const stopAt = Date.now() + 400 + i * 40;
        const mute = (async () => {
          await sleep(60 + i * 30);
          const kind = kinds[i % kinds.length];
          if (kind === 'tencent-mute') {
            const r = await a.s.tencent('room_engine_http_srv/mute_room_member', { RoomId: roomId, MemberList_Account: [t.userId], MuteTime: 600 });
            assert.equal(r.ErrorCode, 0, r.ErrorInfo);
          } else if (kind === 'api-mute-app') {
            await api(a, '/mute', { userId: t.userId, durationSec: 600 });
          } else {
            const r = await polyvCall(a.url, `/live/v2/chat/${roomId}/addBannedIP`, { ip: ipOf(t.userId) });
            assert.equal(r.code, 200, JSON.stringify(r));
          }
          mutedAt.set(t.userId, Date.now());
        })();
        const lanes = [0, 1, 2].map(async (lane) => {
          for (let n = 0; Date.now() < stopAt; n++) {
            const text = `${t.userId}:${lane}:${n}`;
            const sentAt = Date.now();
            const reply = await t.req('sendMessage', { roomId, text });
            sent.push({ from: t.userId, text, sentAt, reply });
          }
        });
        await Promise.all([mute, ...lanes]);
      }),
    );
    const accepted = sent.filter((s) => s.reply.code === 0);
    for (const s of sent) {
      if (s.reply.code !== 0) assert.equal(s.reply.code, CODE.muted, `${s.text}: ${s.reply.code} ${s.reply.message}`);
      // Sent after the mute was answered: refused.
      if (s.sentAt > mutedAt.get(s.from)!) assert.equal(s.reply.code, CODE.muted, `${s.text} sent ${s.sentAt - mutedAt.get(s.from)!} ms after the mute's answer was accepted`);
    }
    for (const t of talkers) {
      assert.ok(accepted.some((s) => s.from === t.userId), `${t.userId}: something accepted before its mute`);
      assert.ok(sent.some((s) => s.from === t.userId && s.reply.code === CODE.muted), `${t.userId}: something refused after its mute`);
    }
    // Every member, on every node, gets each accepted message once and nothing else.
    const marker = 'muted-race-end';
    await listeners[0].ok('sendMessage', { roomId, text: marker });
    const want = accepted.map((s) => s.text).sort();
    for (const m of [...listeners, ...talkers]) {
      await m.take('messageReceived', (e) => e.text === marker, 10_000);
      const got = m.events.filter((e) => e.event === 'messageReceived' && e.roomId === roomId).map((e) => e.text as string);
      const twice = got.filter((t, i) => got.indexOf(t) !== i);
      assert.deepEqual(twice, [], `${m.userId} got messages twice`);
      assert.deepEqual([...got].sort(), want, `${m.userId}: the accepted messages, each once`);
      assertOrdered(m.userId, m.events.filter((e) => e.roomId === roomId), 0);
      // The muted talker is told, on its node.
      if (m.userId.startsWith('mt')) assert.equal(m.events.filter((e) => e.event === 'muteChanged' && e.muted).length, 1, `${m.userId}: told of its mute once`);
    }
    // And the room's history holds exactly them.
    const stored: string[] = [];
    for (let beforeSeq: number | undefined; beforeSeq !== 0; ) {
      const page = await listeners[2].ok('history', { roomId, beforeSeq });
      stored.push(...page.messages.map((x: { text: string }) => x.text).filter((t: string) => t !== marker));
      beforeSeq = page.next;
    }
    stored.sort();
    assert.deepEqual(stored, want, 'the history is the accepted messages');
  });

  it('seat locks on node A racing seat takes on node B: no one on a locked seat; every client ends with the store\'s seats', async () => {
    const roomId = 'lock-race';
    const SEATS = 8;
    await createRoom(a.s, roomId, { maxMembers: 1000, seats: SEATS });
    const nodes = [a, b, c];
    const viewers = await Promise.all(nodes.map((n, i) => connect(n, `sv${i}`, roomId)));
    const takers = await inWaves(
      Array.from({ length: 16 }, (_, i) => `st${i}`),
      16,
      (u) => connect(b, u, roomId),
    );
    const from = new Map<string, number>();
    for (const cl of [...viewers, ...takers]) {
      await cl.sync();
      from.set(cl.userId, Math.max(0, ...cl.events.filter((e) => e.roomId === roomId).map((e) => e.seq)));
      cl.events.splice(0);
    }
    const lockedByUs = new Set<number>();
    // Seats 0..3 are locked on node A, one every 10 ms, while everyone takes a seat on node B,
    // some a chosen one (0..7), some any free one; those that got one take another after a leave.
    const locks = (async () => {
      for (let index = 0; index < 4; index++) {
        await sleep(10);
        const r = await a.s.tencent('room_engine_http_mic/lock_seat', { RoomId: roomId, Index: index, ForbidTaken: true });
        assert.equal(r.ErrorCode, 0, r.ErrorInfo);
        lockedByUs.add(index);
      }
    })();
    const takes = Promise.all(
      takers.map(async (t, i) => {
        await sleep((i * 3) % 40);
        const codes: number[] = [];
        for (let round = 0; round < 3; round++) {
          const r = i % 2 === 0 ? await t.req('takeSeat', { roomId, index: (i + round) % SEATS }) : await t.req('takeSeat', { roomId });
          codes.push(r.code);
          const fine = [0, CODE.seatLocked, CODE.seatOccupied, CODE.alreadyOnSeat, CODE.seatsFull];
          assert.ok(fine.includes(r.code), `${t.userId} takeSeat: ${r.code} ${r.message}`);
          if (r.code === 0 && round < 2) await t.req('leaveSeat', { roomId });
        }
        return codes;
      }),
    );
    await Promise.all([locks, takes]);
    const list = await c.s.tencent('room_engine_http_mic/get_seat_list', { RoomId: roomId });
    assert.equal(list.ErrorCode, 0, list.ErrorInfo);
    const stored = list.Response.SeatList as { Index: number; Member_Account: string; IsSeatLocked?: boolean; ForbidTaken?: boolean }[];
    for (const index of lockedByUs) {
      assert.equal(stored[index].Member_Account || '', '', `seat ${index} is locked but held by ${stored[index].Member_Account}`);
    }
    // Each client's view: its last seat list (after a round trip past the last change) is the store's.
    const final = list.Response.SeatList.map((s: { Member_Account: string }) => s.Member_Account || null);
    const lastSeats = (cl: RawClient) =>
      cl.events.filter((e) => e.event === 'seatListChanged' && e.roomId === roomId).at(-1)?.seats.map((s: { userId: string | null }) => s.userId);
    await until(
      'every client holds the stored seat list',
      () => [...viewers, ...takers].every((cl) => JSON.stringify(lastSeats(cl)) === JSON.stringify(final)),
      10_000,
    ).catch(() => {
      assert.fail(`clients disagree with the store ${JSON.stringify(final)}: ${[...viewers, ...takers].map((cl) => `${cl.userId}=${JSON.stringify(lastSeats(cl))}`).join(' ')}`);
    });
    const lockedView = (cl: RawClient) => cl.events.filter((e) => e.event === 'seatListChanged' && e.roomId === roomId).at(-1)!.seats.map((s: { locked: boolean }) => s.locked);
    for (const cl of [...viewers, ...takers]) {
      assertOrdered(cl.userId, cl.events.filter((e) => e.roomId === roomId), from.get(cl.userId)!);
      assert.deepEqual(lockedView(cl).slice(0, 4), [true, true, true, true], `${cl.userId}: the locks`);
    }
  });
});
