// The TypeScript client against a real server: typed ops and events, and its reconnect rules.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { genUserSig } from '../src/auth/usersig.js';
import { RostrumClient, RostrumError, type ClientEvents } from '../src/client/index.js';
import { APP, startTestServer, tempData, type TestServer } from './support/harness.js';
import { RawClient, client, closeClients, createRoom, eventually, memberIds, sig, sleep } from './realtime-support.js';

let s: TestServer;

before(async () => {
  s = await startTestServer();
});
after(async () => {
  await closeClients();
  await s.close();
});

/** Records a client's client-side events in order. */
function record(c: RostrumClient, names: (keyof ClientEvents)[]): { name: string; e: any }[] {
  const log: { name: string; e: any }[] = [];
  for (const name of names) c.on(name, (e) => log.push({ name, e }));
  return log;
}

/** The id of the connection through which `userId` is in `roomId`. */
function connOf(userId: string, roomId: string): string {
  const conns = s.server.realtime.listConnections().filter((c) => c.userId === userId && c.rooms.includes(roomId));
  assert.equal(conns.length, 1, `${userId} is in ${roomId} through one connection`);
  return conns[0].id;
}

test('typed ops and events (Node without a global WebSocket: loads ws)', async () => {
  await createRoom(s, 'cl-ops', { owner: 'ann' });
  const ann = client(s, 'ann', { WebSocket: undefined });
  const ben = client(s, 'ben');
  await ann.connect();
  await ben.connect();
  assert.equal(ann.state, 'open');

  await ann.enterRoom({ roomId: 'cl-ops', nick: 'Ann' });
  const entered = ann.once('memberEntered');
  const data = await ben.enterRoom({ roomId: 'cl-ops', nick: 'Ben' });
  assert.equal(data.room.ownerId, 'ann');
  assert.equal(data.member.nameCard, 'Ben');
  assert.equal((await entered).member.userId, 'ben');
  assert.deepEqual(ben.roomIds, ['cl-ops']);

  const seatChange = ann.once('seatListChanged');
  const taken = await ben.takeSeat({ roomId: 'cl-ops', index: 2 });
  assert.ok('seat' in taken && taken.seat.userId === 'ben');
  assert.equal((await seatChange).seats[2].userId, 'ben');

  const kicked = ben.once('kickedOffSeat');
  await ann.kickOffSeat({ roomId: 'cl-ops', userId: 'ben', data: 'thanks' });
  assert.equal((await kicked).data, 'thanks');

  const msg = ann.once('messageReceived');
  const { msgId } = await ben.sendMessage({ roomId: 'cl-ops', text: 'hi' });
  const m = await msg;
  assert.deepEqual([m.msgId, m.from, m.text, m.roomId], [msgId, 'ben', 'hi', 'cl-ops']);
  assert.equal((await ann.ping()).pong, true);

  // Refusals reject with the reply code.
  await assert.rejects(ben.kickOut({ roomId: 'cl-ops', userId: 'ann' }), (e: RostrumError) => e.code === 100006);
  await assert.rejects(ben.enterRoom({ roomId: 'nope' }), (e: RostrumError) => e instanceof RostrumError && e.code === 100004);
  assert.deepEqual(ben.roomIds, ['cl-ops'], 'a refused room is not remembered');

  const left = ann.once('memberLeft');
  await ben.exitRoom({ roomId: 'cl-ops' });
  assert.equal((await left).reason, 'leave');
  assert.deepEqual(ben.roomIds, []);
  await ann.close();
  await ben.close();
  assert.equal(ann.state, 'closed');
  await eventually(async () => (await memberIds(s, 'cl-ops')).length === 0, 3000, 'ann to leave');
});

test('a refused connect rejects with the Tencent code and does not retry', async () => {
  const c = client(s, 'eve', { userSig: genUserSig(APP.sdkAppId, 'not-the-key', 'eve', 3600) });
  await assert.rejects(c.connect(), (e: RostrumError) => e.code === 70009 && /signature/.test(e.message));
  assert.equal(c.state, 'closed');
  await sleep(100);
  assert.equal(s.server.realtime.listConnections().filter((x) => x.userId === 'eve').length, 0);
  await assert.rejects(c.ping(), (e: RostrumError) => e.code === -2);
});

test('after a network drop it reconnects and enters its rooms again', async () => {
  await createRoom(s, 'cl-drop-a');
  await createRoom(s, 'cl-drop-b');
  const c = client(s, 'dan');
  const log = record(c, ['disconnected', 'connected', 'roomRestored', 'roomLost']);
  await c.connect();
  await c.enterRoom({ roomId: 'cl-drop-a', nick: 'Dan' });
  await c.enterRoom({ roomId: 'cl-drop-b' });

  const restoredA = c.once('roomRestored', (e) => e.roomId === 'cl-drop-a');
  const restored = c.once('roomRestored', (e) => e.roomId === 'cl-drop-b');
  assert.ok(s.server.realtime.terminate(connOf('dan', 'cl-drop-a')));
  assert.equal((await restoredA).data.member.nameCard, 'Dan', 'entered with what it entered with before');
  await restored;
  assert.deepEqual(
    log.map((l) => l.name),
    ['connected', 'disconnected', 'connected', 'roomRestored', 'roomRestored'],
  );
  assert.equal(log[0].e.reconnected, false);
  assert.equal(log[1].e.willReconnect, true);
  assert.equal(log[2].e.reconnected, true);
  assert.deepEqual(await memberIds(s, 'cl-drop-a'), ['dan']);
  assert.deepEqual(await memberIds(s, 'cl-drop-b'), ['dan']);
  await c.sendMessage({ roomId: 'cl-drop-a', text: 'back' });

  // A request in flight when the connection drops fails with -2.
  const inflight = c.sendMessage({ roomId: 'cl-drop-a', text: 'lost?' }).catch((e) => e);
  s.server.realtime.terminate(connOf('dan', 'cl-drop-a'));
  const err = await inflight;
  // Either the reply made it out before the drop, or the request fails with -2.
  assert.ok(err instanceof RostrumError ? err.code === -2 : typeof err.msgId === 'string', `got ${JSON.stringify(err)}`);
  await c.once('roomRestored', (e) => e.roomId === 'cl-drop-b');
  await c.close();
});

test('kicked, banned, replaced or dismissed: roomLost, and that room is not entered again', async () => {
  for (const roomId of ['cl-kick', 'cl-ban', 'cl-rep', 'cl-dis', 'cl-keep']) await createRoom(s, roomId);
  const c = client(s, 'fay');
  const lost = record(c, ['roomLost']);
  await c.connect();
  for (const roomId of ['cl-kick', 'cl-ban', 'cl-rep', 'cl-dis', 'cl-keep']) await c.enterRoom({ roomId });

  let r = await s.tencent('room_engine_http_srv/kick_user_out', { RoomId: 'cl-kick', MemberList_Account: ['fay'], Reason: 'bye' });
  assert.equal(r.ErrorCode, 0);
  r = await s.tencent('room_engine_http_srv/ban_room_member', { RoomId: 'cl-ban', MemberList_Account: ['fay'], Reason: 'no', Duration: 60 });
  assert.equal(r.ErrorCode, 0);
  const other = await RawClient.connect(s, 'fay', 'cl-rep'); // fay on another device
  r = await s.tencent('room_engine_http_srv/destroy_room', { RoomId: 'cl-dis' });
  assert.equal(r.ErrorCode, 0);
  await eventually(() => lost.length === 4, 3000, 'four rooms lost');
  assert.deepEqual(
    lost.map((l) => [l.e.roomId, l.e.reason, l.e.message]),
    [
      ['cl-kick', 'kicked', 'bye'],
      ['cl-ban', 'banned', 'no'],
      ['cl-rep', 'replaced', ''],
      ['cl-dis', 'dismissed', ''],
    ],
  );
  assert.deepEqual(c.roomIds, ['cl-keep']);

  const restored = c.once('roomRestored');
  s.server.realtime.terminate(connOf('fay', 'cl-keep'));
  assert.equal((await restored).roomId, 'cl-keep');
  await c.ping();
  assert.deepEqual(await memberIds(s, 'cl-kick'), []);
  assert.deepEqual(await memberIds(s, 'cl-ban'), []);
  assert.deepEqual(await other.drain(), [], 'the other device was not replaced back');
  assert.deepEqual(await memberIds(s, 'cl-rep'), ['fay']);
  assert.equal(lost.length, 4);
  other.close();
  await c.close();
});

test('kicked in the same batch as its entry (the kick right behind the reply): roomLost, and not entered again after a drop', async () => {
  await createRoom(s, 'cl-kick-at-entry');
  // The app's kick is issued just after the entry starts, so that it commits in the entry's batch
  // or right after it, and its event reaches the client in the reply's chunk.
  const engine = s.server.engine;
  const execute = engine.execute;
  engine.execute = ((appId, actor, cmd) => {
    const p = execute.call(engine, appId, actor, cmd);
    if (cmd.type === 'enterRoom' && actor.userId === 'gil') {
      const kick = () => engine.execute(APP.sdkAppId, { kind: 'admin', userId: APP.admins[0] }, { type: 'kickOut', roomId: 'cl-kick-at-entry', userIds: ['gil'], reason: 'go' });
      // On SQLite the kick joins the entry's batch; on PostgreSQL it may come before the entry
      // commits (not a member yet): then it is made again as soon as the entry has committed.
      setImmediate(() => void kick().catch(() => p.then(kick)).catch(() => undefined));
    }
    return p;
  }) as typeof engine.execute;
  const c = client(s, 'gil');
  const lost = record(c, ['roomLost']);
  try {
    await c.connect();
    await c.enterRoom({ roomId: 'cl-kick-at-entry' });
    await eventually(() => lost.length === 1, 3000, 'roomLost');
  } finally {
    engine.execute = execute;
  }
  assert.deepEqual(lost.map((l) => [l.e.roomId, l.e.reason]), [['cl-kick-at-entry', 'kicked']]);
  assert.deepEqual(c.roomIds, []);
  const reconnected = c.once('connected');
  s.server.realtime.terminate(s.server.realtime.listConnections().find((x) => x.userId === 'gil')!.id);
  await reconnected;
  await c.ping();
  assert.deepEqual(await memberIds(s, 'cl-kick-at-entry'), [], 'not back in by itself');
  await c.close();
});

test('entering again after a reconnect may be refused: roomLost refused with the code', async () => {
  await createRoom(s, 'cl-refused');
  const c = client(s, 'gus', { reconnect: { initialDelayMs: 300, maxDelayMs: 300 } });
  await c.connect();
  await c.enterRoom({ roomId: 'cl-refused' });
  const lost = c.once('roomLost');
  s.server.realtime.terminate(connOf('gus', 'cl-refused'));
  await eventually(async () => (await memberIds(s, 'cl-refused')).length === 0, 3000, 'gus to leave');
  const r = await s.tencent('room_engine_http_srv/ban_room_member', { RoomId: 'cl-refused', MemberList_Account: ['gus'], Reason: 'r', Duration: 60 });
  assert.equal(r.ErrorCode, 0);
  const e = await lost;
  assert.deepEqual([e.roomId, e.reason, e.code], ['cl-refused', 'refused', 110003]);
  assert.deepEqual(c.roomIds, []);
  assert.equal(c.state, 'open');
  await c.close();
});

test('close() ends it for good: no reconnect, the member leaves', async () => {
  await createRoom(s, 'cl-close');
  const c = client(s, 'hal');
  await c.connect();
  await c.enterRoom({ roomId: 'cl-close' });
  const log = record(c, ['disconnected', 'connected']);
  await c.close();
  await sleep(100);
  assert.deepEqual(log.map((l) => [l.name, l.e.willReconnect]), [['disconnected', false]]);
  assert.deepEqual(await memberIds(s, 'cl-close'), []);
  assert.equal(s.server.realtime.listConnections().filter((x) => x.userId === 'hal').length, 0);
});

test('server restart (1001): it reconnects once the server is back, and re-enters', async () => {
  const data = tempData();
  try {
    const first = await startTestServer({ data });
    await createRoom(first, 'cl-restart');
    const c = client(first, 'ivy', { reconnect: { initialDelayMs: 20, maxDelayMs: 100 } });
    await c.connect();
    await c.enterRoom({ roomId: 'cl-restart' });
    const dropped = c.once('disconnected');
    await first.close();
    assert.deepEqual(await dropped, { code: 1001, reason: 'server shutting down', willReconnect: true });
    const second = await startTestServer({ data, port: first.server.port });
    try {
      await c.once('roomRestored');
      assert.deepEqual(await memberIds(second, 'cl-restart'), ['ivy']);
      await c.close();
    } finally {
      await second.close();
    }
  } finally {
    await data.remove();
  }
});

test('an expired UserSig closes with 4401: a sig function reconnects with a fresh one, a fixed sig stops', async () => {
  const hb = await startTestServer({ realtime: { heartbeatSeconds: 1 } });
  try {
    await createRoom(hb, 'cl-sig');
    let calls = 0;
    const fresh = client(hb, 'jon', { userSig: () => (++calls === 1 ? genUserSig(APP.sdkAppId, APP.secretKey, 'jon', 1) : sig('jon')) });
    const fixed = client(hb, 'kim', { userSig: genUserSig(APP.sdkAppId, APP.secretKey, 'kim', 1) });
    await fresh.connect();
    await fixed.connect();
    await fresh.enterRoom({ roomId: 'cl-sig' });
    await fixed.enterRoom({ roomId: 'cl-sig' });

    const fixedDropped = await fixed.once('disconnected', () => true, 4000);
    assert.equal(fixedDropped.code, 4401);
    assert.match(fixedDropped.reason, /^70001 /);
    assert.equal(fixedDropped.willReconnect, false);
    assert.equal(fixed.state, 'closed');

    await fresh.once('roomRestored', () => true, 4000);
    assert.equal(calls, 2);
    // kim's leave runs after its socket closed: wait for it rather than race it.
    await eventually(async () => (await memberIds(hb, 'cl-sig')).join() === 'jon', 10_000, 'kim to leave');
    await fresh.close();
  } finally {
    await hb.close();
  }
});

test('no reply to its pings: it gives up on the socket and reconnects', async () => {
  // A fake server that stops answering the first connection after its handshake ping.
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  let connections = 0;
  wss.on('connection', (ws) => {
    const n = ++connections;
    let answered = 0;
    ws.on('message', (raw) => {
      const f = JSON.parse(raw.toString());
      if (n === 1 && answered++ > 0) return;
      ws.send(JSON.stringify({ id: f.id, code: 0, message: '', data: { pong: true, time: Date.now() } }));
    });
  });
  await new Promise((r) => wss.once('listening', r));
  const port = (wss.address() as { port: number }).port;
  const c = new RostrumClient({
    url: `ws://127.0.0.1:${port}`,
    sdkAppId: APP.sdkAppId,
    userId: 'lee',
    userSig: 'unchecked',
    requestTimeoutMs: 100,
    pingIntervalMs: 50,
    reconnect: { initialDelayMs: 10, maxDelayMs: 10 },
  });
  try {
    const log = record(c, ['disconnected', 'connected']);
    await c.connect();
    await c.once('connected', (e) => e.reconnected, 3000);
    assert.deepEqual(log.slice(0, 3).map((l) => l.name), ['connected', 'disconnected', 'connected']);
    assert.deepEqual([log[1].e.code, log[1].e.willReconnect], [4000, true]);
    assert.equal(connections, 2);
  } finally {
    await c.close();
    for (const ws of wss.clients) ws.terminate();
    await new Promise((r) => wss.close(r));
  }
});

test('with a standard (browser-style) global WebSocket', async () => {
  // Node 20 has the WHATWG WebSocket browsers have behind a flag; the client must prefer it.
  await createRoom(s, 'cl-global');
  const clientModule = fileURLToPath(new URL('../src/client/index.ts', import.meta.url));
  const script = `
    const { RostrumClient } = await import(${JSON.stringify(clientModule)});
    const out = { global: typeof WebSocket };
    const bad = new RostrumClient({ url: process.env.URL, sdkAppId: ${APP.sdkAppId}, userId: 'mo', userSig: 'garbage' });
    out.refused = await bad.connect().then(() => 0, (e) => e.code);
    const c = new RostrumClient({ url: process.env.URL, sdkAppId: ${APP.sdkAppId}, userId: 'mo', userSig: process.env.SIG });
    await c.connect();
    out.memberCount = (await c.enterRoom({ roomId: 'cl-global' })).memberCount;
    const change = c.once('seatListChanged');
    await c.takeSeat({ roomId: 'cl-global', index: 1 });
    out.seat = (await change).seats[1].userId;
    await c.close();
    console.log(JSON.stringify(out));
  `;
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      ['--experimental-websocket', '--no-warnings', '--import', 'tsx', '--input-type=module', '-e', script],
      { env: { ...process.env, URL: s.url, SIG: sig('mo') }, timeout: 15_000 },
      (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)),
    ),
  );
  assert.deepEqual(JSON.parse(stdout.trim().split('\n').pop()!), { global: 'function', refused: 70003, memberCount: 1, seat: 'mo' });
  await eventually(async () => (await memberIds(s, 'cl-global')).length === 0, 3000, 'mo to leave');
});
