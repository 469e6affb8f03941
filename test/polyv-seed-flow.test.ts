// The del-kicked seed flow end to end: real WebSocket clients in a room, moderated through the
// Polyv HTTP API (kick, list-kicked, del-kicked) and a moderator's socket (kickUser by IP).
// Clients pick their source address on the loopback network (127.0.0.x) so that IPs differ.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { genUserSig } from '../src/auth/usersig.js';
import { APP, asAdmin, startTestServer, type TestServer } from './support/harness.js';
import { ok, polyvClient } from './support/polyv.js';

type Frame = Record<string, any>;

/** A raw protocol client: requests answered by id, events kept until taken. */
class Client {
  readonly events: Frame[] = [];
  private nextId = 0;
  private readonly pending = new Map<number, (reply: Frame) => void>();
  private wake: (() => void) | undefined;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (typeof frame.event === 'string') {
        this.events.push(frame);
        this.wake?.();
      } else {
        this.pending.get(frame.id)?.(frame);
        this.pending.delete(frame.id);
      }
    });
  }

  static async connect(s: TestServer, userId: string, localAddress: string): Promise<Client> {
    const sig = genUserSig(APP.sdkAppId, APP.secretKey, userId, 3600);
    const url = `${s.url.replace(/^http/, 'ws')}/realtime?sdkappid=${APP.sdkAppId}&userid=${encodeURIComponent(userId)}&usersig=${encodeURIComponent(sig)}`;
    const ws = new WebSocket(url, { localAddress, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new Client(ws);
  }

  request(op: string, params: Frame = {}): Promise<Frame> {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ id, op, ...params }));
    });
  }

  /** Waits (up to 2 s) for an event of this type and takes it (with the events before it). */
  async next(event: string): Promise<Frame> {
    const deadline = Date.now() + 2000;
    for (;;) {
      const i = this.events.findIndex((e) => e.event === event);
      if (i >= 0) return this.events.splice(0, i + 1)[i];
      if (Date.now() > deadline) throw new Error(`no ${event} event; got ${this.events.map((e) => e.event).join(', ')}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

const ROOM = '329298';
const DENIED_USER = 110003;
const DENIED_IP = 110004;

let s: TestServer;
const clients: Client[] = [];
before(async () => {
  s = await startTestServer();
  await asAdmin(s, { type: 'createRoom', roomId: ROOM, ownerId: 'host' });
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await s.close();
});

async function connect(userId: string, localAddress: string): Promise<Client> {
  const c = await Client.connect(s, userId, localAddress);
  clients.push(c);
  return c;
}

test('seed flow: kicked by userId over Polyv HTTP, refused, del-kicked, back; kicked by IP, both refused, del-kicked type ip, both back', async () => {
  const polyv = polyvClient(s);
  const enter = (c: Client, extra: Frame = {}) => c.request('enterRoom', { roomId: ROOM, ...extra });
  const members = async () => (await asAdmin(s, { type: 'listMembers', roomId: ROOM, after: '', count: 100 })).members.map((m) => m.userId).sort();

  const host = await connect('host', '127.0.0.1');
  assert.equal((await enter(host, { nick: 'Host', userType: 'teacher' })).code, 0);
  const viewer = await connect('1562134139532', '127.0.0.2');
  assert.equal((await enter(viewer, { nick: '123', userType: 'student' })).code, 0);
  const viewerConn = s.server.realtime.listConnections().find((c) => c.userId === '1562134139532');
  assert.equal(viewerConn?.clientIp, '127.0.0.2');

  // 1. Kicked by userId through Polyv's HTTP API: the socket is told at once
  ok(await polyv('/live/v4/chat/channel/forbid/kick-users', { channelId: ROOM }, { json: { viewerIds: ['1562134139532'], nickNames: ['123'] } }));
  const kicked = await viewer.next('kickedOutOfRoom');
  assert.deepEqual([kicked.roomId, kicked.userId, kicked.kind, kicked.until], [ROOM, '1562134139532', 'banned', null]);
  assert.equal((await host.next('memberLeft')).userId, '1562134139532');
  assert.deepEqual(await members(), ['host']);

  // 2. Refused on re-entry, with a clear code
  const refused = await enter(viewer);
  assert.equal(refused.code, DENIED_USER, refused.message);

  // 3. The kicked list, then del-kicked, exactly as the seed page shows them
  const entry = {
    banned: false,
    channelId: ROOM,
    clientIp: '127.0.0.2',
    nick: '123',
    pic: '//livestatic.videocc.net/assets/wimages/missing_face.png', // Polyv's default avatar
    roomId: ROOM,
    type: 'userId',
    uid: viewerConn!.id,
    userId: '1562134139532',
    userType: 'student',
  };
  assert.deepEqual(ok(await polyv('/live/v3/channel/chat/list-kicked', { channelId: ROOM })), [entry]);
  assert.deepEqual(ok(await polyv('/live/v3/channel/chat/del-kicked', { roomId: ROOM, value: '1562134139532', type: 'userId' })), [entry]);

  // 4. Enters again
  assert.equal((await enter(viewer)).code, 0);
  assert.equal((await host.next('memberEntered')).member.userId, '1562134139532');

  // 5. Kicked by IP from the host's socket (Polyv's IP kicks come from the socket side)
  const ipKick = await host.request('kickUser', { roomId: ROOM, userId: '1562134139532', type: 'ip' });
  assert.equal(ipKick.code, 0, ipKick.message);
  assert.equal((await viewer.next('kickedOutOfRoom')).kind, 'banned');
  assert.deepEqual(await members(), ['host']);

  // 6. Everyone from that IP is refused: the kicked user, and a second user from 127.0.0.2
  const second = await connect('second-user', '127.0.0.2');
  assert.equal((await enter(second)).code, DENIED_IP);
  assert.equal((await enter(viewer)).code, DENIED_IP);
  const [ipEntry] = ok(await polyv('/live/v3/channel/chat/list-kicked', { channelId: ROOM }));
  assert.deepEqual([ipEntry.type, ipEntry.clientIp, ipEntry.userId], ['ip', '127.0.0.2', '1562134139532']);

  // 7. del-kicked type ip: both enter again
  const removed = ok(await polyv('/live/v3/channel/chat/del-kicked', { roomId: ROOM, value: '127.0.0.2', type: 'ip' }));
  assert.deepEqual(removed, [ipEntry]);
  assert.equal((await enter(viewer)).code, 0);
  assert.equal((await enter(second)).code, 0);
  assert.deepEqual(await members(), ['1562134139532', 'host', 'second-user']);
  assert.equal(ok(await polyv('/live/v3/channel/chat/count-online-user', { channelId: ROOM })), 3);
  assert.deepEqual(ok(await polyv('/live/v3/channel/chat/list-kicked', { channelId: ROOM })), []);
});
