// Entries whose admission comes late against the room's other events: a resume still reading its
// catch-up while the room is dismissed, or while a later entry on the same node is admitted first
// and an event between the two is on its way from another node; and entering again (a profile
// change) while an earlier event is on its way. Real servers and clients; to make each
// interleaving happen every time, the catch-up read is made slow (as a PostgreSQL round trip under
// load can be) and, on a cluster, one node hears the others' events late (a slow Redis link).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type RostrumServer } from '../src/server.js';
import { RostrumClient } from '../src/client/index.js';
import { APP, startTestServer, tempDir, tencentCall, type TestServer } from './support/harness.js';
import { RawClient, createRoom, sig, sleep } from './realtime-support.js';
import { clusterSkip } from './cluster-support.js';
import { dropSchema, freshSchema, urlWithSchema } from './contract/postgres-support.js';
import { dropPrefix, freshPrefixUrl } from './contract/redis-support.js';

const skipCluster = await clusterSkip();

/** The server's catch-up reads take `ms` longer. */
function slowCatchUp(server: RostrumServer, ms: number): () => void {
  const store = server.store as { roomEvents: (...a: unknown[]) => Promise<unknown> };
  const roomEvents = store.roomEvents;
  store.roomEvents = async (...a: unknown[]) => (await sleep(ms), roomEvents.apply(server.store, a));
  return () => (store.roomEvents = roomEvents);
}

/** The node hears the other nodes' events `ms` late. */
function slowBus(server: RostrumServer, ms: number): void {
  const bus = server.bus as unknown as { receive: (m: string) => void };
  const receive = bus.receive.bind(bus);
  bus.receive = (m: string) => void setTimeout(() => receive(m), ms);
}

function asTestServer(server: RostrumServer): TestServer {
  return { server, url: server.url, dataDir: '', tencent: (p, b, o) => tencentCall(server.url, p, b, o), close: () => server.close() };
}

/** Two nodes on one PostgreSQL schema and one Redis prefix, in this process. */
async function twoNodes(run: (n1: RostrumServer, n2: RostrumServer) => Promise<void>): Promise<void> {
  const schema = freshSchema();
  const bus = freshPrefixUrl();
  const nodes: RostrumServer[] = [];
  try {
    for (const id of ['n1', 'n2']) {
      const opts = { port: 0, apps: [APP], logger: false as const, dataDir: tempDir(), store: urlWithSchema(schema), bus, nodeId: id };
      nodes.push(await startServer({ ...opts, realtime: { seatGraceSeconds: 0, messagesPerSecond: 0 } }));
    }
    await run(nodes[0], nodes[1]);
  } finally {
    for (const n of nodes) await n.close();
    await dropSchema(schema).catch(() => undefined);
    await dropPrefix(bus).catch(() => undefined);
  }
}

test('a resume whose entry committed just before the room was destroyed: its reply, then roomDismissed; it is out, and the room made again is none of its business', async () => {
  const s = await startTestServer({ realtime: { messagesPerSecond: 0 } });
  const clients: RawClient[] = [];
  try {
    await createRoom(s, 'doomed');
    const m = await RawClient.connect(s, 'mia');
    clients.push(m);
    const before = (await m.ok('enterRoom', { roomId: 'doomed' })).seq as number;
    const restore = slowCatchUp(s.server, 300);
    const c = await RawClient.connect(s, 'carl');
    clients.push(c);
    const entering = c.req('enterRoom', { roomId: 'doomed', lastSeq: before });
    await sleep(100); // its entry has committed; its catch-up read is under way
    assert.equal((await s.tencent('room_engine_http_srv/destroy_room', { RoomId: 'doomed' })).ErrorCode, 0);
    await m.take('roomDismissed');
    const reply = await entering;
    assert.equal(reply.code, 0);
    const dismissed = await c.take('roomDismissed');
    assert.ok(dismissed.seq > reply.data.seq);
    restore();
    const server = s.server.realtime.listConnections().find((x) => x.userId === 'carl');
    assert.deepEqual(server?.rooms, []);
    await createRoom(s, 'doomed', { password: 'secret' });
    const d = await RawClient.connect(s, 'dora');
    clients.push(d);
    await d.ok('enterRoom', { roomId: 'doomed', password: 'secret' });
    for (let i = 0; i < 3; i++) await d.ok('sendMessage', { roomId: 'doomed', text: `private ${i}` });
    await sleep(200);
    assert.deepEqual(c.events.map((e) => e.event), [], 'nothing of the new room reaches it');
  } finally {
    for (const c of clients) c.close();
    await s.close();
  }
});

test('cluster: a resume admitted after a later entry on its node, with an event between them still on its way from another node: the resume gets it', { skip: skipCluster, timeout: 60_000 }, async () => {
  await twoNodes(async (n1, n2) => {
    const [s1, s2] = [asTestServer(n1), asTestServer(n2)];
    const clients: RawClient[] = [];
    try {
      await createRoom(s2, 'r1');
      const y = await RawClient.connect(s2, 'yan');
      clients.push(y);
      const before = (await y.ok('enterRoom', { roomId: 'r1' })).seq as number;
      slowBus(n1, 400);
      slowCatchUp(n1, 200);
      const c = await RawClient.connect(s1, 'carl');
      const b = await RawClient.connect(s1, 'bea');
      clients.push(c, b);
      const resuming = c.req('enterRoom', { roomId: 'r1', lastSeq: before });
      await sleep(50);
      await y.ok('sendMessage', { roomId: 'r1', text: 'hello' });
      const bEntry = await b.ok('enterRoom', { roomId: 'r1' });
      const cEntry = await resuming;
      assert.equal(cEntry.code, 0);
      assert.ok(cEntry.data.seq < bEntry.seq, 'the resume entered first and was admitted last');
      const hello = await c.take('messageReceived', () => true, 3000);
      assert.equal(hello.text, 'hello');
      await y.ok('sendMessage', { roomId: 'r1', text: 'after' });
      await c.take('messageReceived', (e) => e.text === 'after', 3000);
      const seqs = c.events.map((e) => e.seq as number);
      assert.deepEqual(seqs, [...new Set(seqs)].sort((p, q) => p - q), 'in order, once');
      assert.ok(seqs.every((q) => q > cEntry.data.seq));
    } finally {
      for (const c of clients) c.close();
    }
  });
});

test('cluster: entering again (a new nick) while an earlier event is on its way: the client still emits that event, once', { skip: skipCluster, timeout: 60_000 }, async () => {
  await twoNodes(async (n1, n2) => {
    const y = await RawClient.connect(asTestServer(n2), 'yan');
    const c = new RostrumClient({ url: n1.url, sdkAppId: APP.sdkAppId, userId: 'carl', userSig: sig('carl'), pingIntervalMs: 0 });
    try {
      await createRoom(asTestServer(n2), 'r1');
      await y.ok('enterRoom', { roomId: 'r1' });
      await c.connect();
      await c.enterRoom({ roomId: 'r1', nick: 'Carl' });
      const got: string[] = [];
      c.on('messageReceived', (e) => got.push(e.text));
      slowBus(n1, 300);
      await y.ok('sendMessage', { roomId: 'r1', text: 'hello' });
      await c.enterRoom({ roomId: 'r1', nick: 'Carl 2' });
      await y.ok('sendMessage', { roomId: 'r1', text: 'after' });
      for (let i = 0; i < 50 && got.length < 2; i++) await sleep(50);
      assert.deepEqual(got, ['hello', 'after']);
    } finally {
      y.close();
      await c.close();
    }
  });
});
