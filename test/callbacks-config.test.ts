// room_config/* (Tencent's callback configuration commands): answers, codes, durability across a
// restart, and the REST setting winning over the config file's.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP, OTHER_APP, TEST_STORE, startTestServer, tempData, type TestServer } from './support/harness.js';
import { failed, ok } from './support/tencent.js';
import { startReceiver, until } from './support/receiver.js';
import { CallbackService } from '../src/callbacks/service.js';
import { MemorySpool } from '../src/callbacks/spool.js';

const receivers: { close(): Promise<void> }[] = [];
after(async () => {
  for (const r of receivers) await r.close();
});

describe('room_config callback configuration', () => {
  it('set, get, update, delete with the documented answers and codes, kept across a restart', async () => {
    const data = tempData();
    let s = await startTestServer({ data });
    try {
      failed(await s.tencent('room_config/get_callback', {}), 100301);
      const missing = await s.tencent('room_config/update_callback', { Url: 'http://127.0.0.1:9/cb', CallbackCommandList: [] });
      failed(missing, 100301);
      // Tencent's own words (its update_callback page), as for 100300 below.
      assert.equal(missing.ErrorInfo, 'Callback configuration does not exist, you can create it using the Create Callback Configuration interface.');
      failed(await s.tencent('room_config/set_callback', { Url: 'ftp://x/cb', CallbackCommandList: [] }), 100002);
      failed(await s.tencent('room_config/set_callback', { Url: 'http://x/cb', CallbackCommandList: ['Room.Nope'] }), 100002);
      // A user or password in the URL would never be sent: refused, not silently dropped.
      const userinfo = await s.tencent('room_config/set_callback', { Url: 'http://ops:pw@x/cb', CallbackCommandList: [] });
      failed(userinfo, 100002, 'Url');
      assert.match(userinfo.ErrorInfo, /without a user or password/);
      failed(await s.tencent('room_config/set_callback', { Url: 'http://x/cb' }), 100002, 'CallbackCommandList');
      // Over 2048 characters: said so (not "must be an absolute URL"); an unknown name is echoed shortened.
      const long = await s.tencent('room_config/set_callback', { Url: `http://x/${'a'.repeat(2040)}`, CallbackCommandList: [] });
      failed(long, 100002, 'Url');
      assert.match(long.ErrorInfo, /at most 2048 characters/);
      const unknown = await s.tencent('room_config/set_callback', { Url: 'http://x/cb', CallbackCommandList: ['Room.'.repeat(10_000)] });
      failed(unknown, 100002, 'CallbackCommandList');
      assert.ok(unknown.ErrorInfo.length < 600, `ErrorInfo of ${unknown.ErrorInfo.length} characters`);
      failed(await s.tencent('room_config/set_callback', { Url: 'http://x/cb', CallbackCommandList: ['Room.CallbackUpdateRoomInfo'] }), 100002, 'CallbackCommandList');
      const list = ['Room.CallbackAfterMemberLeave', 'Mic.CallbackAfterSeatInfoChanged'];
      ok(await s.tencent('room_config/set_callback', { Url: 'http://www.example.com/callback', CallbackCommandList: list }));
      const exists = await s.tencent('room_config/set_callback', { Url: 'http://www.example.com/other', CallbackCommandList: list });
      failed(exists, 100300);
      assert.equal(exists.ErrorInfo, 'callback configuration already exists, use the update interface');
      const got = await s.tencent('room_config/get_callback', {});
      ok(got);
      assert.deepEqual(got.Response, { Url: 'http://www.example.com/callback', CallbackCommandList: list });
      // Another app sees nothing of it.
      failed(await s.tencent('room_config/get_callback', {}, { app: OTHER_APP }), 100301);
      ok(await s.tencent('room_config/update_callback', { Url: 'https://hooks.example.com/b', CallbackCommandList: ['Room.CallbackAfterCreateRoom'] }));
      await s.close();
      s = await startTestServer({ data });
      const kept = await s.tencent('room_config/get_callback', {});
      assert.deepEqual(kept.Response, { Url: 'https://hooks.example.com/b', CallbackCommandList: ['Room.CallbackAfterCreateRoom'] });
      ok(await s.tencent('room_config/delete_callback', {}));
      failed(await s.tencent('room_config/get_callback', {}), 100301);
      ok(await s.tencent('room_config/delete_callback', {}));
      ok(await s.tencent('room_config/set_callback', { Url: 'http://www.example.com/again', CallbackCommandList: list }));
    } finally {
      await s.close();
      await data.remove();
    }
  });

  it('set on a server that has run without callbacks: only later changes are sent, none from before', async () => {
    const rx = await startReceiver();
    receivers.push(rx);
    const s = await startTestServer();
    try {
      for (let i = 0; i < 20; i++) ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: `before${i}`, RoomType: 'Conference' } }));
      await sleep(2500); // the unconfigured relay moves past them once a second
      ok(await s.tencent('room_config/set_callback', { Url: rx.url, CallbackCommandList: ['Room.CallbackAfterCreateRoom'] }));
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'after', RoomType: 'Conference' } }));
      await until(() => rx.accepted.length >= 1, 'the callback of the room created after');
      await sleep(500);
      assert.deepEqual(rx.accepted.map((d) => d.body.RoomInfo?.RoomId ?? d.body.RoomId), ['after']);
    } finally {
      await s.close();
    }
  });

  it('set again at once after a deletion: the changes committed after the new set are sent (none lost to the quiet relay)', async () => {
    const rx = await startReceiver();
    receivers.push(rx);
    const s = await startTestServer();
    const rooms = () => rx.unique().map((b) => b.RoomInfo.RoomId);
    try {
      const set = { Url: rx.url, CallbackCommandList: ['Room.CallbackAfterCreateRoom'] };
      ok(await s.tencent('room_config/set_callback', set));
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'first', RoomType: 'Conference' } }));
      await until(() => rooms().includes('first'), 'the first callback');
      for (let round = 0; round < 3; round++) {
        ok(await s.tencent('room_config/delete_callback', {}));
        ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: `while-deleted-${round}`, RoomType: 'Conference' } }));
        // The relay, finding no configuration, goes quiet for up to a second; the set comes now.
        ok(await s.tencent('room_config/set_callback', set));
        ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: `after-${round}`, RoomType: 'Conference' } }));
        await until(() => rooms().includes(`after-${round}`), `the callback of the room created after set ${round + 1}`);
        await sleep(1200); // the relay settles into its quiet pace before the next deletion
      }
      // Those committed while deleted may go either way (the relay reads them around the change).
      assert.deepEqual(rooms().filter((r) => !r.startsWith('while-deleted')), ['first', 'after-0', 'after-1', 'after-2']);
    } finally {
      await s.close();
    }
  });

  it('the REST setting wins over the config file; a REST deletion stops the file one too', async () => {
    const fileReceiver = await startReceiver();
    const restReceiver = await startReceiver();
    receivers.push(fileReceiver, restReceiver);
    const s = await startTestServer({ apps: [{ ...APP, callback: { url: fileReceiver.url } }, OTHER_APP] });
    try {
      const got = await s.tencent('room_config/get_callback', {});
      assert.equal(got.Response.Url, fileReceiver.url);
      assert.equal(got.Response.CallbackCommandList.length, 10);
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'r1', RoomType: 'Conference' } }));
      await until(() => fileReceiver.accepted.length === 1, 'the file receiver');
      ok(await s.tencent('room_config/set_callback', { Url: restReceiver.url, CallbackCommandList: ['Room.CallbackAfterCreateRoom'] }));
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'r2', RoomType: 'Conference' } }));
      ok(await s.tencent('room_engine_http_srv/destroy_room', { RoomId: 'r2' })); // not subscribed
      await until(() => restReceiver.accepted.length === 1, 'the REST receiver');
      assert.equal(restReceiver.accepted[0].body.RoomInfo.RoomId, 'r2');
      ok(await s.tencent('room_config/delete_callback', {}));
      failed(await s.tencent('room_config/get_callback', {}), 100301);
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'r3', RoomType: 'Conference' } }));
      ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'r4', RoomType: 'Conference' } }));
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(fileReceiver.accepted.length, 1);
      assert.equal(restReceiver.accepted.length, 1);
    } finally {
      await s.close();
    }
  });
});

/**
 * Sends the calls at once (each to the server given with it) and returns their ErrorCodes in the
 * same order, after checking each answer is one `allowed` for it.
 */
async function atOnce(calls: { s: TestServer; path: string; body: unknown; allowed: number[] }[]): Promise<number[]> {
  const answers = await Promise.all(calls.map((c) => c.s.tencent(c.path, c.body)));
  return answers.map((r, i) => {
    if (r.ErrorCode === 0) ok(r);
    else failed(r, r.ErrorCode);
    assert.ok(calls[i].allowed.includes(r.ErrorCode), `${calls[i].path}: ${r.ErrorCode} ${r.ErrorInfo}`);
    return r.ErrorCode;
  });
}

const setCall = (s: TestServer, i: number) => ({
  s,
  path: 'room_config/set_callback',
  body: { Url: `http://127.0.0.1:9/${i}`, CallbackCommandList: ['Room.CallbackAfterCreateRoom'] },
  allowed: [0, 100300],
});

/** N set_callback at once, over none (first round) then over a deletion: one is stored, the rest 100300. */
async function setRace(servers: TestServer[], n: number, rounds: number): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    if (round > 0) ok(await servers[0].tencent('room_config/delete_callback', {}));
    const ids = Array.from({ length: n }, (_, i) => round * 100 + i);
    const codes = await atOnce(ids.map((id, i) => setCall(servers[i % servers.length], id)));
    assert.equal(codes.filter((c) => c === 0).length, 1, `round ${round}: ${codes}`);
    // The one that answered 0 is the one in effect, on every server.
    const winner = `http://127.0.0.1:9/${ids[codes.indexOf(0)]}`;
    for (const s of servers) {
      await until(async () => (await s.tencent('room_config/get_callback', {})).Response?.Url === winner, `${winner} in effect`, 10_000);
    }
  }
}

describe('room_config changes at once', () => {
  it('of 8 set_callback at once on one app, exactly one answers 0 and is in effect; the others 100300', async () => {
    const s = await startTestServer();
    try {
      await setRace([s], 8, 5);
      // The other app's are its own.
      ok(await s.tencent('room_config/set_callback', { Url: 'http://127.0.0.1:9/other', CallbackCommandList: [] }, { app: OTHER_APP }));
    } finally {
      await s.close();
    }
  });

  it('update_callback racing delete_callback never brings the deleted configuration back', async () => {
    const s = await startTestServer();
    try {
      for (let round = 0; round < 5; round++) {
        ok(await s.tencent('room_config/set_callback', { Url: `http://127.0.0.1:9/set-${round}`, CallbackCommandList: [] }));
        const update = (i: number) => ({ s, path: 'room_config/update_callback', body: { Url: `http://127.0.0.1:9/update-${i}`, CallbackCommandList: [] }, allowed: [0, 100301] });
        await atOnce([update(0), update(1), { s, path: 'room_config/delete_callback', body: {}, allowed: [0] }, update(2), update(3)]);
        // Whatever the order, the deletion was last to apply: an update after it answers 100301.
        failed(await s.tencent('room_config/get_callback', {}), 100301);
        failed(await s.tencent('room_config/update_callback', { Url: 'http://127.0.0.1:9/late', CallbackCommandList: [] }), 100301);
      }
    } finally {
      await s.close();
    }
  });

  it('PostgreSQL, two servers on one schema: of set_callback at once on both, exactly one answers 0', { skip: !TEST_STORE?.startsWith('postgres') }, async () => {
    const data = tempData();
    const a = await startTestServer({ data });
    const b = await startTestServer({ data });
    try {
      await setRace([a, b], 8, 5);
    } finally {
      await a.close();
      await b.close();
      await data.remove();
    }
  });
});

describe('the callback service\'s view of the configurations', () => {
  /** A memory spool whose reads of the configurations take `ms` (as a database's may). */
  class SlowSpool extends MemorySpool {
    reads = 0;
    constructor(private readonly ms: number) {
      super();
    }
    override async allConfigs() {
      this.reads++;
      const snapshot = await super.allConfigs();
      await sleep(this.ms);
      return snapshot;
    }
  }
  const target = { url: 'http://127.0.0.1:9/cb' };

  it('a read begun before a set here does not put the old configuration back when it ends', async () => {
    const spool = new SlowSpool(50);
    const service = new CallbackService(spool, new Map());
    const reading = service.load();
    assert.equal(await service.set(7, target), 'ok');
    await reading;
    assert.equal(service.get(7)?.url, target.url);
  });

  it('a load begun while another is in flight reads again (the earlier read may predate what it must see); callers at once share one read', async () => {
    const spool = new SlowSpool(30);
    const service = new CallbackService(spool, new Map());
    const first = service.load();
    await sleep(5);
    await spool.setConfig(7, { kind: 'set', target }); // another node's set, after the first read began
    await Promise.all([service.load(), service.load(), first]);
    assert.equal(spool.reads, 2);
    assert.equal(service.get(7)?.url, target.url);
  });
});
