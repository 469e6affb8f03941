// room_config/* (Tencent's callback configuration commands): answers, codes, durability across a
// restart, and the REST setting winning over the config file's.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP, OTHER_APP, startTestServer, tempData } from './support/harness.js';
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
