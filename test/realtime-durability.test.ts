// Durability of the realtime (WebSocket) writes across `kill -9` of the real `rostrum serve`:
// entries and exits, seat takes and leaves, applications and invitations, moderators' kicks,
// locks and Polyv-style kicks (by user and by IP), and chat, fired as a concurrent burst from many connections, the process
// killed right after the last acknowledgement, started again on the same store and port.
//
// What must hold after the restart (docs/realtime-protocol.md, README "Restart"):
// - every chat message answered code 0 is in the history: the `history` op and Polyv's
//   get-history-page list it, once;
// - every acknowledged change is in the room's events: a client that enters again with its
//   `lastSeq` inside the resume window gets `recovered: true` and the events it missed, the last
//   seat list committed before the crash among them;
// - what outlives the members (seat locks, kicks) is still in force;
// - the members whose connections died with the process are removed on start (reason
//   `expired`, their seats emptied): a single node's seat grace does not outlive the process, so
//   a client resuming after the restart enters anew (without its seat) and may take it again.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adminSig, APP, tempData, tencentCall, type TestData, type TestServer } from './support/harness.js';
import { ok as polyvOk, polyvCall } from './support/polyv.js';
import { crash, killServers, serve, stop, unlimitedConfig, writeConfig, type ServerProcess } from './support/process.js';
import { client, closeClients, eventually, RawClient, type Frame } from './realtime-support.js';

const datas: TestData[] = [];
const clients: RawClient[] = [];

after(async () => {
  await closeClients();
  for (const c of clients) c.close();
  killServers();
  for (const data of datas) await data.remove();
});

/** What RawClient needs of a server: its URL. */
const at = (p: ServerProcess) => ({ url: p.url }) as TestServer;

async function connect(p: ServerProcess, userId: string): Promise<RawClient> {
  const c = await RawClient.connect(at(p), userId);
  clients.push(c);
  return c;
}

async function tencent(p: ServerProcess, path: string, body: unknown): Promise<any> {
  const r = await tencentCall(p.url, path, body);
  assert.equal(r.ErrorCode, 0, `${path}: ${r.ErrorInfo}`);
  return r.Response;
}

/** Polyv's day-time parameters are China Standard Time (UTC+8). */
const cst = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');

const SEATS = 8;
const USERS = Array.from({ length: 10 }, (_, i) => `u${i}`);
const MESSAGES_EACH = 4;

describe('realtime writes across kill -9', () => {
  it('keeps every acknowledged message and change; a client resuming after the restart catches up', async () => {
    const started = Date.now();
    const data = tempData('rostrum-rt-durable-');
    datas.push(data);
    const config = writeConfig(data, unlimitedConfig());
    const first = await serve(data, config);
    await tencent(first, 'room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'live', RoomType: 'Conference', Owner_Account: 'owner', IsSeatEnabled: true, MaxSeatCount: SEATS } });
    await tencent(first, 'room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'iproom', RoomType: 'Conference', Owner_Account: 'owner' } });
    await tencent(first, 'room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'stage', RoomType: 'Conference', Owner_Account: 'owner', IsSeatEnabled: true, MaxSeatCount: 4, TakeSeatMode: 'ApplyToTake' } });

    const owner = await connect(first, 'owner');
    await owner.ok('enterRoom', { roomId: 'live' });
    await owner.ok('enterRoom', { roomId: 'iproom' });
    const stageSnapshot = await owner.ok('enterRoom', { roomId: 'stage' });
    const applicants = new Map<string, RawClient>();
    for (const a of ['a1', 'a2', 'a3', 'a4']) {
      const c = await connect(first, a);
      await c.ok('enterRoom', { roomId: 'stage' });
      applicants.set(a, c);
    }
    const watcher = await connect(first, 'watcher');
    const snapshot = await watcher.ok('enterRoom', { roomId: 'live', nick: 'Watcher' });
    const createTime: number = snapshot.room.createTime;
    const victim = await connect(first, 'v1');
    await victim.ok('enterRoom', { roomId: 'iproom' });
    const users = new Map<string, RawClient>();
    for (const u of USERS) users.set(u, await connect(first, u));

    const acked: string[] = [];
    const said = async (c: RawClient, text: string) => {
      const d = await c.ok('sendMessage', { roomId: 'live', text });
      assert.equal(d.held, undefined);
      acked.push(d.msgId);
    };
    const chat = (c: RawClient, tag: string) => Array.from({ length: MESSAGES_EACH }, (_, i) => said(c, `${c.userId} ${tag} ${i}`));

    // Burst 1, every connection at once (a connection runs its own requests in order): entries,
    // seats taken (u6 takes one and leaves it), chat.
    await Promise.all([
      ...USERS.map((u, i) => {
        const c = users.get(u)!;
        const steps: Promise<unknown>[] = [c.ok('enterRoom', { roomId: 'live', nick: u })];
        if (i <= 6) steps.push(c.ok('takeSeat', { roomId: 'live', index: i }));
        if (i === 6) steps.push(c.ok('leaveSeat', { roomId: 'live' }));
        steps.push(...chat(c, 'first'));
        return Promise.all(steps);
      }),
      ...chat(watcher, 'first'),
    ]);

    // Burst 2: the owner moderates (kick off a seat, lock the last one, kick out, a Polyv-style
    // kick by user and one by IP, an invitation that u7 accepts) while members chat and u6
    // leaves; on the stage (ApplyToTake) applications are approved, cancelled, rejected, and an
    // invitation is turned down.
    const u7 = users.get('u7')!;
    const [a1, a2, a3, a4] = ['a1', 'a2', 'a3', 'a4'].map((a) => applicants.get(a)!);
    const apply = async (c: RawClient) => (await c.ok('requestSeat', { roomId: 'stage', index: Number(c.userId.slice(1)) - 1 })).requestId as string;
    await Promise.all([
      owner.ok('kickOffSeat', { roomId: 'live', userId: 'u0', data: 'off you go' }),
      owner.ok('lockSeat', { roomId: 'live', index: SEATS - 1, locked: true }),
      owner.ok('kickOut', { roomId: 'live', userId: 'u8', reason: 'out' }),
      owner.ok('kickUser', { roomId: 'live', userId: 'u9', type: 'userId', reason: 'kicked' }),
      owner.ok('kickUser', { roomId: 'iproom', userId: 'v1', type: 'ip', reason: 'by ip' }),
      owner
        .ok('inviteToSeat', { roomId: 'live', userId: 'u7', index: 6 })
        .then(async ({ requestId }) => {
          await u7.take('seatInvitationReceived', (e) => e.request.id === requestId);
          await u7.ok('acceptSeatInvitation', { roomId: 'live', requestId });
        }),
      ...['u1', 'u2', 'u3', 'u4', 'u5', 'u7'].flatMap((u) => chat(users.get(u)!, 'second')),
      users.get('u6')!.ok('exitRoom', { roomId: 'live' }),
      apply(a1).then((requestId) => owner.ok('approveSeatRequest', { roomId: 'stage', requestId })),
      apply(a2).then((requestId) => a2.ok('cancelSeatRequest', { roomId: 'stage', requestId })),
      apply(a3).then((requestId) => owner.ok('rejectSeatRequest', { roomId: 'stage', requestId })),
      owner.ok('inviteToSeat', { roomId: 'stage', userId: 'a4', index: 3 }).then(({ requestId }) => a4.ok('rejectSeatInvitation', { roomId: 'stage', requestId })),
      ...chat(watcher, 'second'),
    ]);
    await crash(first);

    const expectedSeats = [null, 'u1', 'u2', 'u3', 'u4', 'u5', 'u7', null];
    assert.equal(acked.length, (USERS.length + 1 + 7) * MESSAGES_EACH);
    assert.equal(new Set(acked).size, acked.length);
    // What the watcher got before the crash. It resumes from its entry's snapshot, as a client
    // that lost everything after it: every later event must come back from the store.
    const before = watcher.events.filter((e) => e.roomId === 'live');
    const lastSeq: number = snapshot.seq;

    const second = await serve(data, config, { port: first.port });
    try {
      // The members of the dead process were removed on start; the room's own state stays.
      const seatList = (await tencent(second, 'room_engine_http_mic/get_seat_list', { RoomId: 'live' })).SeatList;
      assert.deepEqual(
        seatList.map((s: { Member_Account: string; IsTakenDisabled: boolean }) => [s.Member_Account ?? '', s.IsTakenDisabled]),
        expectedSeats.map((_, i) => ['', i === SEATS - 1]),
      );
      assert.deepEqual((await tencent(second, 'room_engine_http_srv/get_room_member_list', { RoomId: 'live' })).MemberList, []);
      assert.equal(polyvOk(await polyvCall(second.url, '/live/v3/channel/chat/count-online-user', { channelId: 'live' })), 0);

      // The kicks are in force: by user in `live`, by IP in `iproom`.
      const kicked = polyvOk(await polyvCall(second.url, '/live/v3/channel/chat/list-kicked', { channelId: 'live' }));
      assert.deepEqual(kicked.map((k: { userId: string; type: string }) => [k.userId, k.type]), [['u9', 'userId']]);
      const ipKicked = polyvOk(await polyvCall(second.url, '/live/v3/channel/chat/list-kicked', { channelId: 'iproom' }));
      assert.deepEqual(ipKicked.map((k: { userId: string; type: string; clientIp: string }) => [k.type, k.clientIp, k.userId]), [['ip', '127.0.0.1', 'v1']]);
      await (await connect(second, 'u9')).fails('enterRoom', { roomId: 'live' }, 110003);
      await (await connect(second, 'v2')).fails('enterRoom', { roomId: 'iproom' }, 110004);
      await (await connect(second, 'u8')).ok('enterRoom', { roomId: 'live' }); // kicked out, not banned

      // The watcher resumes from the last event it had: every event it missed follows the reply.
      const back = await connect(second, 'watcher');
      const resumed = await back.ok('enterRoom', { roomId: 'live', nick: 'Watcher', lastSeq, createTime });
      assert.equal(resumed.recovered, true);
      await back.sync();
      const replayed = back.events.filter((e) => e.roomId === 'live');
      assert.ok(replayed.every((e) => e.seq > lastSeq && e.seq <= resumed.seq));
      const all = replayed;
      const seqs = all.map((e) => e.seq);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in seq order');
      assert.equal(new Set(seqs).size, seqs.length, 'none twice');
      // The same events as were pushed before the crash.
      const bySeq = new Map(replayed.map((e) => [e.seq, e]));
      for (const e of before) assert.deepEqual(bySeq.get(e.seq), e);

      // Every acknowledged message, once.
      const received = all.filter((e) => e.event === 'messageReceived').map((e) => e.msgId);
      assert.deepEqual([...received].sort(), [...acked].sort());

      // The seat list committed last before the crash, then the removals made on start.
      const evicted = all.filter((e) => e.event === 'memberLeft' && e.reason === 'expired');
      assert.deepEqual(evicted.map((e) => e.userId).sort(), ['owner', 'u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u7'].sort());
      const firstEviction = Math.min(...evicted.map((e) => e.seq));
      const seatLists = all.filter((e) => e.event === 'seatListChanged');
      const atCrash = seatLists.filter((e) => e.seq < firstEviction).at(-1)!;
      assert.deepEqual(atCrash.seats.map((s: Frame) => s.userId), expectedSeats);
      assert.deepEqual(atCrash.seats.map((s: Frame) => s.locked), expectedSeats.map((_, i) => i === SEATS - 1));
      assert.deepEqual(seatLists.at(-1)!.seats.map((s: Frame) => s.userId), expectedSeats.map(() => null));
      // The moderators' removals are among the events; the member's own earlier life is not.
      const left = (reason: string) => all.filter((e) => e.event === 'memberLeft' && e.reason === reason).map((e) => e.userId);
      assert.deepEqual(left('kicked'), ['u8']);
      assert.deepEqual(left('banned'), ['u9']);
      assert.deepEqual(left('leave'), ['u6']);
      assert.ok(!replayed.some((e) => (e.event === 'memberLeft' || e.event === 'memberEntered') && (e.userId ?? e.member?.userId) === 'watcher'));
      assert.ok(replayed.some((e) => e.event === 'memberEntered' && e.member.userId === 'u8'), 'what happened after the restart too');

      // A member that had a seat enters again after the restart: in, but without its seat.
      const u1 = await connect(second, 'u1');
      const again = await u1.ok('enterRoom', { roomId: 'live', nick: 'u1', lastSeq, createTime });
      assert.equal(again.recovered, true);
      assert.deepEqual(again.seats.map((s: Frame) => s.userId), expectedSeats.map(() => null));
      await u1.ok('takeSeat', { roomId: 'live', index: 1 });

      // The owner resumes on the stage: the applications and the invitation, as they ended.
      const ownerBack = await connect(second, 'owner');
      const stage = await ownerBack.ok('enterRoom', { roomId: 'stage', lastSeq: stageSnapshot.seq, createTime: stageSnapshot.room.createTime });
      assert.equal(stage.recovered, true);
      await ownerBack.sync();
      const requests = ownerBack.events.filter((e) => e.roomId === 'stage' && e.event.startsWith('seat') && e.event !== 'seatListChanged');
      assert.deepEqual(
        requests.map((e) => `${e.event} ${e.request.userId}`).sort(),
        [
          'seatRequestReceived a1',
          'seatRequestReceived a2',
          'seatRequestReceived a3',
          'seatRequestApproved a1',
          'seatRequestCancelled a2',
          'seatRequestRejected a3',
          'seatInvitationRejected a4',
        ].sort(),
      );
      const stageSeats = ownerBack.events.filter((e) => e.roomId === 'stage' && e.event === 'seatListChanged');
      assert.deepEqual(stageSeats.map((e) => e.seats.map((x: Frame) => x.userId)), [
        ['a1', null, null, null],
        [null, null, null, null], // a1 removed on start
      ]);

      // The realtime moderators' actions are in the audit log.
      const res = await fetch(`${second.url}/api/v1/audit?limit=500`, { headers: { authorization: `Bearer ${adminSig()}` } });
      assert.equal(res.status, 200);
      const audit = ((await res.json()) as { items: Frame[] }).items.filter((e) => e.surface === 'realtime').map((e) => `${e.action} ${e.roomId} ${e.targetType}:${e.target}`);
      assert.deepEqual(audit.sort(), ['ban iproom ip:127.0.0.1', 'ban live userId:u9', 'kickOffSeat live userId:u0', 'kickOut live userId:u8', `lockSeat live seat:${SEATS - 1}`].sort());

      // The history: the realtime op, page by page, and Polyv's get-history-page.
      const history: string[] = [];
      for (let beforeSeq: number | undefined; ; ) {
        const page = await back.ok('history', { roomId: 'live', count: 25, ...(beforeSeq ? { beforeSeq } : {}) });
        history.push(...page.messages.map((m: { id: string }) => m.id));
        if (page.next === 0) break;
        beforeSeq = page.next;
      }
      assert.deepEqual([...history].sort(), [...acked].sort());
      const records = polyvOk(
        await polyvCall(second.url, '/live/v3/channel/chat/get-history-page', { channelId: 'live', startDay: cst(started - 2000), endDay: cst(Date.now() + 2000), pageSize: 1000 }),
      );
      assert.deepEqual(records.map((r: { id: string }) => r.id).sort(), [...acked].sort());
    } finally {
      await stop(second);
    }
  });

  it('a crash in the middle of a chat storm loses no acknowledged message, and history and events agree', async () => {
    const started = Date.now();
    const data = tempData('rostrum-rt-storm-');
    datas.push(data);
    const config = writeConfig(data, unlimitedConfig());
    const first = await serve(data, config);
    await tencent(first, 'room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'storm', RoomType: 'Conference', Owner_Account: 'owner' } });
    const watcher = await connect(first, 'watcher');
    const snapshot = await watcher.ok('enterRoom', { roomId: 'storm' });
    // The TypeScript client rides the crash by itself: it reconnects, enters again with its
    // lastSeq and gets what it missed, each message once.
    const rc = client(at(first), 'listener');
    const heard: string[] = [];
    rc.on('messageReceived', (e) => void heard.push(e.msgId));
    const restored: Frame[] = [];
    rc.on('roomRestored', (e) => void restored.push(e.data));
    await rc.connect();
    await rc.enterRoom({ roomId: 'storm' });
    const talkers = await Promise.all(Array.from({ length: 16 }, (_, i) => connect(first, `t${i}`)));
    await Promise.all(talkers.map((c) => c.ok('enterRoom', { roomId: 'storm' })));

    // Every talker keeps 4 messages in flight; the process is killed once 150 are acknowledged.
    // A reply read after the kill was still sent by the server: it counts as acknowledged too.
    const sent = new Set<string>();
    const acked = new Map<string, string>(); // msgId -> text
    let killed = false;
    const pumps = talkers.map((c) => {
      let n = 0;
      const texts = new Map<string, string>();
      const send = () => {
        if (killed || c.ws.readyState !== c.ws.OPEN) return;
        const id = `m${n}`;
        const text = `${c.userId} ${n++}`;
        texts.set(id, text);
        sent.add(text);
        c.ws.send(JSON.stringify({ id, op: 'sendMessage', roomId: 'storm', text }));
      };
      c.ws.on('message', (raw) => {
        const f = JSON.parse(raw.toString());
        if (typeof f.id !== 'string' || !texts.has(f.id)) return;
        assert.equal(f.code, 0, f.message);
        acked.set(f.data.msgId, texts.get(f.id)!);
        if (acked.size >= 150 && !killed) {
          killed = true;
          first.child.kill('SIGKILL');
        }
        send();
      });
      return () => {
        for (let i = 0; i < 4; i++) send();
      };
    });
    for (const start of pumps) start();
    assert.equal(await first.exited, 'SIGKILL');
    await Promise.all(talkers.map((c) => c.closed));
    assert.ok(acked.size >= 150);

    const second = await serve(data, config, { port: first.port });
    try {
      const records = polyvOk(
        await polyvCall(second.url, '/live/v3/channel/chat/get-history-page', { channelId: 'storm', startDay: cst(started - 2000), endDay: cst(Date.now() + 2000), pageSize: 1000 }),
      ) as { id: string; content: string }[];
      const kept = new Map(records.map((r) => [r.id, r.content]));
      assert.equal(kept.size, records.length, 'each message once');
      for (const [msgId, text] of acked) assert.equal(kept.get(msgId), text, `acknowledged ${text} is in the history`);
      for (const text of kept.values()) assert.ok(sent.has(text), `${text} was sent`);
      // What the history has, the room's events have (one transaction): a resuming client gets it all.
      const back = await connect(second, 'watcher');
      const resumed = await back.ok('enterRoom', { roomId: 'storm', lastSeq: snapshot.seq, createTime: snapshot.room.createTime });
      assert.equal(resumed.recovered, true);
      await back.sync();
      const replayed = back.events.filter((e) => e.event === 'messageReceived').map((e) => e.msgId);
      assert.deepEqual(replayed.sort(), [...kept.keys()].sort());
      await eventually(() => restored.length > 0 && heard.length >= kept.size, 10_000, 'the client to catch up');
      assert.equal(restored[0].recovered, true);
      assert.deepEqual(heard.sort(), [...kept.keys()].sort());
    } finally {
      await stop(second);
    }
  });
});
