// The TypeScript client when things go wrong: drops during a reconnect, close() at any moment,
// calls at the wrong time, listeners that throw, and the order of a resume's events.
import { createHook } from 'node:async_hooks';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { genUserSig } from '../src/auth/usersig.js';
import { RostrumError } from '../src/client/index.js';
import { APP, asAdmin, startTestServer, type TestServer } from './support/harness.js';
import { client, closeClients, createRoom, eventually, memberIds, sig, sleep } from './realtime-support.js';

let s: TestServer;
before(async () => {
  s = await startTestServer({ realtime: { seatGraceSeconds: 5, resumeWindowSeconds: 60 } });
});
after(async () => {
  await closeClients();
  await s.close();
});

const conns = (userId: string) => s.server.realtime.listConnections().filter((c) => c.userId === userId);
const say = (t: TestServer, roomId: string, text: string) => asAdmin(t, { type: 'sendAdminMessage', roomId, text, nick: 'host', avatar: '' });

/** Drops `userId`'s connections from the server side (no close frame: the client sees 1006). */
function drop(userId: string): void {
  for (const c of conns(userId)) s.server.realtime.terminate(c.id);
}

test('roomRestored comes before the events of the resume (replayed or live), so the app applies them to the snapshot', async () => {
  await createRoom(s, 'rr-order');
  const c = client(s, 'ann', { reconnect: { initialDelayMs: 300, maxDelayMs: 300 } });
  await c.connect();
  await c.enterRoom({ roomId: 'rr-order' });
  const log: string[] = [];
  c.on('messageReceived', (e) => log.push(e.text));
  c.on('roomRestored', (e) => log.push(`restored ${e.data.recovered}`));
  drop('ann');
  for (const text of ['m1', 'm2', 'm3']) await say(s, 'rr-order', text);
  await eventually(() => log.length >= 4, 5000, 'the resume');
  await sleep(50);
  assert.deepEqual(log, ['restored true', 'm1', 'm2', 'm3']);
  await c.close();
});

test('close() then connect() again: the rooms left by close() are not entered again after a later drop', async () => {
  await createRoom(s, 'rr-closed');
  await createRoom(s, 'rr-later');
  const c = client(s, 'bob');
  await c.connect();
  await c.enterRoom({ roomId: 'rr-closed' });
  await c.close();
  assert.deepEqual(c.roomIds, []);
  await eventually(async () => (await memberIds(s, 'rr-closed')).length === 0, 3000, 'bob to leave');
  await c.connect();
  await c.enterRoom({ roomId: 'rr-later' });
  assert.deepEqual(c.roomIds, ['rr-later']);
  const restored: string[] = [];
  c.on('roomRestored', (e) => restored.push(e.roomId));
  drop('bob');
  await c.once('roomRestored', () => true, 5000);
  await sleep(100);
  assert.deepEqual(restored, ['rr-later']);
  assert.deepEqual(await memberIds(s, 'rr-closed'), []);
  await c.close();
});

test('connect() while it is reconnecting: one socket, no second connection left behind', async () => {
  await createRoom(s, 'rr-dup');
  const c = client(s, 'cal', { reconnect: { initialDelayMs: 200, maxDelayMs: 200 } });
  await c.connect();
  await c.enterRoom({ roomId: 'rr-dup' });
  const dropped = c.once('disconnected');
  drop('cal');
  await dropped;
  assert.equal(c.state, 'reconnecting');
  await c.connect();
  assert.equal(c.state, 'open');
  await c.once('roomRestored', () => true, 3000).catch(() => undefined);
  await sleep(500);
  assert.equal(conns('cal').length, 1, 'one connection');
  assert.deepEqual(conns('cal')[0].rooms, ['rr-dup']);
  await c.ping();
  await c.close();
  await eventually(() => conns('cal').length === 0, 3000, 'no connection left');
});

/** A TCP server that takes connections and never answers (a stuck handshake), counting them. */
async function blackHole(): Promise<{ url: string; count: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const srv = createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  let n = 0;
  srv.on('connection', () => n++);
  return {
    url: `ws://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    count: () => n,
    close: async () => {
      for (const sock of sockets) sock.destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}

/** A WebSocket server that answers every request as a ping (`onPing` runs after each answer). */
async function pingServer(onPing: (ws: WebSocket) => void = () => undefined): Promise<WebSocketServer> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  wss.on('connection', (ws) => {
    ws.on('message', (raw) => {
      const f = JSON.parse(raw.toString());
      ws.send(JSON.stringify({ id: f.id, code: 0, message: '', data: { pong: true, time: Date.now() } }));
      onPing(ws);
    });
  });
  await new Promise((r) => wss.once('listening', r));
  return wss;
}

/**
 * Counts the live timers the client created (from src/client, directly or through `ws`) that keep
 * the process alive. The test server shares this process and arms and fires timers of its own at
 * any moment, so a count of all the process's timers would measure the server too.
 */
function clientTimers(): { count(): number; stop(): void } {
  const live = new Map<number, { hasRef(): boolean }>();
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (type !== 'Timeout') return;
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 50;
      const stack = new Error().stack ?? '';
      Error.stackTraceLimit = limit;
      if (/[\\/]src[\\/]client[\\/]/.test(stack)) live.set(id, resource as { hasRef(): boolean });
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  return { count: () => [...live.values()].filter((t) => t.hasRef()).length, stop: () => void hook.disable() };
}

test('close() while the socket is still opening: connect() rejects at once, no timer left running', async () => {
  const hole = await blackHole();
  const timers = clientTimers();
  try {
    const c = client(s, 'dan', { url: hole.url, requestTimeoutMs: 5000 });
    const connecting = c.connect();
    await eventually(() => hole.count() === 1, 3000, 'the socket to open');
    const t0 = Date.now();
    await c.close();
    await assert.rejects(connecting, (e: RostrumError) => e instanceof RostrumError && e.code === -2 && /closed/.test(e.message));
    assert.ok(Date.now() - t0 < 1500, `rejected after ${Date.now() - t0} ms`);
    assert.equal(c.state, 'closed');
    await sleep(20);
    assert.equal(timers.count(), 0, 'no timer of the client keeps the process alive');
  } finally {
    timers.stop();
    await hole.close();
  }
});

test('close() while the UserSig function is still running: connect() rejects at once, and no socket opens', async () => {
  let opened = 0;
  let release!: (sig: string) => void;
  const c = client(s, 'dan', { userSig: () => new Promise<string>((resolve) => (release = resolve)) });
  const before = s.server.realtime.listConnections().length;
  c.on('connected', () => opened++);
  const connecting = c.connect();
  await sleep(20);
  const t0 = Date.now();
  await c.close();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise((resolve) => (timer = setTimeout(resolve, 1000, 'still pending')));
  const outcome = await Promise.race([connecting.then(() => 'connected', (e: RostrumError) => e.code), late]);
  clearTimeout(timer);
  release(sig('dan'));
  assert.equal(outcome, -2, 'connect() rejected as closed');
  assert.ok(Date.now() - t0 < 200, `rejected after ${Date.now() - t0} ms`);
  await connecting.catch(() => undefined);
  await sleep(100); // the UserSig came late: nothing is done with it
  assert.equal(opened, 0);
  assert.equal(s.server.realtime.listConnections().length, before, 'no socket was opened');
  assert.equal(c.state, 'closed');
});

test('server gone for a while: backoff, no storm; close() during a reconnect attempt stops it and leaves no timer', async () => {
  const timers = clientTimers();
  const wss = await pingServer();
  const port = (wss.address() as AddressInfo).port;
  const c = client(s, 'eve', { url: `ws://127.0.0.1:${port}`, reconnect: { initialDelayMs: 20, maxDelayMs: 200 }, requestTimeoutMs: 1000 });
  await c.connect();
  const dropped = Date.now();
  for (const ws of wss.clients) ws.terminate();
  await new Promise((r) => wss.close(r));
  // The port refuses every connection (dropped as soon as taken), then takes them and never answers.
  const held = new Set<Socket>();
  let hang = false;
  let attempts = 0;
  const hole = createServer((sock) => {
    attempts++;
    sock.on('error', () => undefined);
    if (hang) held.add(sock);
    else sock.destroy();
  });
  await new Promise<void>((r, j) => hole.once('error', j).listen(port, '127.0.0.1', r));
  try {
    await sleep(1200);
    // Delays of 10–20, 20–40, 40–80, 80–160, then 100–200 ms: at most as many attempts as the
    // shortest delays fit in the time since the drop (14 in 1.2 s; a loaded machine's late timer
    // gives a few more), where a client without backoff would make hundreds.
    const elapsed = Date.now() - dropped;
    let most = 0;
    for (let at = 0, k = 0; (at += Math.min(100, 10 * 2 ** k)) <= elapsed; k++) most++;
    assert.ok(attempts >= 3 && attempts <= most, `${attempts} attempts in ${elapsed} ms (at most ${most})`);
    assert.equal(c.state, 'reconnecting');
    hang = true;
    const n = attempts;
    await eventually(() => attempts > n, 3000, 'an attempt that hangs');
    await c.close();
    const m = attempts;
    await sleep(400);
    assert.equal(attempts, m, 'no attempt after close()');
    assert.equal(c.state, 'closed');
    assert.equal(timers.count(), 0, 'no timer of the client keeps the process alive');
  } finally {
    timers.stop();
    for (const sock of held) sock.destroy();
    await new Promise((r) => hole.close(r));
  }
});

test('a server that accepts and drops every connection is not hit at the first delay in a loop', async () => {
  let connections = 0;
  const wss = await pingServer((ws) => {
    connections++;
    setTimeout(() => ws.terminate(), 5);
  });
  const c = client(s, 'fay', { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, reconnect: { initialDelayMs: 20, maxDelayMs: 400 } });
  try {
    await c.connect();
    await sleep(1500);
    // Backing off (10–20, 20–40, 40–80 … 200–400 ms): about 8 connections in 1.5 s; with the
    // backoff starting over at each short-lived connection, 50 and more.
    assert.ok(connections <= 12, `${connections} connections in 1.5 s`);
  } finally {
    await c.close();
    for (const ws of wss.clients) ws.terminate();
    await new Promise((r) => wss.close(r));
  }
});

test('requests in flight at a drop reject with -2 (none hangs); requests while reconnecting reject at once', async () => {
  await createRoom(s, 'rr-flight');
  const c = client(s, 'gus', { reconnect: { initialDelayMs: 300, maxDelayMs: 300 } });
  await c.connect();
  await c.enterRoom({ roomId: 'rr-flight' });
  const inFlight = [c.sendMessage({ roomId: 'rr-flight', text: 'x' }), c.ping(), c.listMembers({ roomId: 'rr-flight' })];
  drop('gus');
  const results = await Promise.allSettled(inFlight);
  // Each settles: answered before the drop, or rejected with -2.
  for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as RostrumError).code, -2);
  await eventually(() => c.state === 'reconnecting', 2000, 'the drop');
  await assert.rejects(c.ping(), (e: RostrumError) => e.code === -2);
  await c.once('roomRestored', () => true, 3000);
  await c.close();
});

test('a listener that throws does not stop the others nor the connection; off() stops delivery; each event once, in seq order', async () => {
  await createRoom(s, 'rr-listen');
  const c = client(s, 'hal');
  await c.connect();
  await c.enterRoom({ roomId: 'rr-listen' });
  const errors: unknown[] = [];
  const consoleError = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    const seen: number[] = [];
    const removed: number[] = [];
    c.on('messageReceived', () => {
      throw new Error('app bug');
    });
    c.on('messageReceived', (e) => seen.push(e.seq));
    const off = c.on('messageReceived', (e) => removed.push(e.seq));
    await say(s, 'rr-listen', 'a');
    await eventually(() => seen.length === 1);
    off();
    for (const text of ['b', 'c', 'd']) await say(s, 'rr-listen', text);
    await eventually(() => seen.length === 4);
    await c.ping();
    assert.equal(removed.length, 1);
    assert.deepEqual(seen, [...new Set(seen)].sort((a, b) => a - b));
    assert.equal(errors.length, 4);
    assert.equal(c.state, 'open');
  } finally {
    console.error = consoleError;
  }
  await c.close();
});

test('misuse: ops before connect() and after close() reject with -2; exiting a room not entered rejects with 100005', async () => {
  await createRoom(s, 'rr-misuse');
  const c = client(s, 'ida');
  await assert.rejects(c.enterRoom({ roomId: 'rr-misuse' }), (e: RostrumError) => e.code === -2 && /not connected/.test(e.message));
  assert.deepEqual(c.roomIds, []);
  await c.connect();
  await assert.rejects(c.exitRoom({ roomId: 'rr-misuse' }), (e: RostrumError) => e.code === 100005);
  await c.enterRoom({ roomId: 'rr-misuse' });
  const again = await c.enterRoom({ roomId: 'rr-misuse' });
  assert.equal(again.member.userId, 'ida');
  assert.deepEqual(c.roomIds, ['rr-misuse']);
  await c.close();
  await c.close(); // twice is fine
  await assert.rejects(c.ping(), (e: RostrumError) => e.code === -2);
  assert.equal(c.state, 'closed');
});

test('a UserSig refused at a reconnect stops it; setUserSig() and connect() resume its rooms, seat kept within the grace', async () => {
  const hb = await startTestServer({ realtime: { heartbeatSeconds: 1, seatGraceSeconds: 10 } });
  try {
    await createRoom(hb, 'rr-sig', { seats: 2 });
    const c = client(hb, 'jon', { userSig: genUserSig(APP.sdkAppId, APP.secretKey, 'jon', 1) });
    await c.connect();
    await c.enterRoom({ roomId: 'rr-sig' });
    await c.takeSeat({ roomId: 'rr-sig', index: 1 });
    const stopped = await c.once('disconnected', () => true, 4000);
    assert.deepEqual([stopped.code, stopped.willReconnect], [4401, false]);
    assert.equal(c.state, 'closed');
    assert.deepEqual(c.roomIds, ['rr-sig'], 'still held: it may connect again');

    c.setUserSig(sig('jon'));
    const restored = c.once('roomRestored', () => true, 3000);
    const connected = c.once('connected');
    await c.connect();
    assert.deepEqual(await connected, { reconnected: true });
    const r = await restored;
    assert.equal(r.data.seats[1].userId, 'jon', 'the seat was kept');
    await c.close();
  } finally {
    await hb.close();
  }
});

test('past the resume window: roomRestored (recovered false) first, nothing replayed, live events after it', async () => {
  const t = await startTestServer({ realtime: { seatGraceSeconds: 5, resumeWindowSeconds: 0.2 } });
  try {
    await createRoom(t, 'rr-window', { seats: 2 });
    const c = client(t, 'kay', { reconnect: { initialDelayMs: 800, maxDelayMs: 800 } });
    await c.connect();
    await c.enterRoom({ roomId: 'rr-window' });
    await c.takeSeat({ roomId: 'rr-window', index: 0 });
    const log: string[] = [];
    c.on('messageReceived', (e) => log.push(e.text));
    c.on('roomRestored', (e) => log.push(`restored ${e.data.recovered} ${e.data.seats[0].userId}`));
    for (const conn of t.server.realtime.listConnections()) t.server.realtime.terminate(conn.id);
    await say(t, 'rr-window', 'missed');
    const restored = c.once('roomRestored', () => true, 5000);
    // Sent while it reconnects: those after the snapshot come live, after roomRestored.
    const sending = (async () => {
      for (let i = 0; i < 40 && log.length === 0; i++) {
        await say(t, 'rr-window', `live ${i}`);
        await sleep(10);
      }
    })();
    await restored;
    await sending;
    await say(t, 'rr-window', 'after');
    await eventually(() => log.at(-1) === 'after', 3000, 'the live message');
    assert.equal(log[0], 'restored false kay', 'a fresh snapshot, seat kept, before any event');
    assert.ok(!log.includes('missed'));
    await c.close();
  } finally {
    await t.close();
  }
});

test('entering a room again after a reconnect gets no reply: the socket is given up and the next one enters it', async () => {
  // A fake server: the second connection never answers enterRoom; the others answer everything.
  let connections = 0;
  const entries: number[] = [];
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  wss.on('connection', (ws) => {
    const n = ++connections;
    ws.on('message', (raw) => {
      const f = JSON.parse(raw.toString());
      if (f.op !== 'enterRoom') return ws.send(JSON.stringify({ id: f.id, code: 0, message: '', data: { pong: true, time: Date.now() } }));
      entries.push(n);
      if (n === 2) return;
      const data = { room: { roomId: f.roomId, createTime: 1 }, seats: [], memberCount: 1, member: { userId: 'lou' }, muted: false, seq: 1, ...(f.lastSeq !== undefined ? { recovered: true } : {}) };
      ws.send(JSON.stringify({ id: f.id, code: 0, message: '', data }));
    });
  });
  await new Promise((r) => wss.once('listening', r));
  const c = client(s, 'lou', { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, requestTimeoutMs: 300, reconnect: { initialDelayMs: 10, maxDelayMs: 10 } });
  try {
    await c.connect();
    await c.enterRoom({ roomId: 'fake' });
    const restored = c.once('roomRestored', () => true, 3000);
    for (const ws of wss.clients) ws.terminate();
    await restored;
    assert.deepEqual(entries, [1, 2, 3]);
    assert.equal(c.state, 'open');
  } finally {
    await c.close();
    for (const ws of wss.clients) ws.terminate();
    await new Promise((r) => wss.close(r));
  }
});

test('connect() called from a disconnected listener: still one socket', async () => {
  await createRoom(s, 'rr-listener');
  const c = client(s, 'max', { reconnect: { initialDelayMs: 100, maxDelayMs: 100 } });
  await c.connect();
  await c.enterRoom({ roomId: 'rr-listener' });
  const reconnects: Promise<void>[] = [];
  c.on('disconnected', (e) => {
    if (e.willReconnect) reconnects.push(c.connect());
  });
  drop('max');
  await eventually(() => reconnects.length === 1, 3000, 'the drop');
  await reconnects[0];
  await sleep(400);
  assert.equal(conns('max').length, 1, 'one connection');
  await c.close();
});
