// RostrumClient in a real browser (headless Chromium): the client bundle is served from a
// loopback page, connects over the browser's own WebSocket, and feels admin actions made
// through the Tencent REST dialect. Skipped only where no Chromium is installed; .ci/run
// installs it, so CI always runs this.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { genUserSig } from '../src/auth/usersig.js';
import { APP, startTestServer } from './support/harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const PAGE = `<!doctype html><meta charset="utf-8"><title>rostrum client</title>
<script type="module">
  import { RostrumClient } from '/client.js';
  window.events = [];
  window.start = async (cfg) => {
    const client = new RostrumClient(cfg);
    for (const name of ['kickedOffSeat', 'seatListChanged', 'roomLost']) client.on(name, (e) => window.events.push({ name, e }));
    await client.connect();
    const entered = await client.enterRoom({ roomId: 'b1', nick: 'Browser' });
    const taken = await client.takeSeat({ roomId: 'b1', index: 1 });
    window.client = client;
    return { seats: entered.seats.length, index: taken.seat.index };
  };
</script>`;

test('RostrumClient in Chromium: enters, takes a seat, gets kickedOffSeat with Data, then loses the room when kicked out', {
  skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`,
}, async () => {
  const s = await startTestServer();
  const bundle = await build({
    entryPoints: ['src/client/index.ts'],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    external: ['ws'], // Node fallback only; a browser has its own WebSocket
    write: false,
  });
  const pages = createServer((req, res) => {
    if (req.url === '/client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle.outputFiles[0].text);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    }
  });
  await new Promise<void>((r) => pages.listen(0, '127.0.0.1', r));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  try {
    const created = await s.tencent('room_engine_http_srv/create_room', {
      RoomInfo: { RoomId: 'b1', RoomType: 'Conference', IsSeatEnabled: true, MaxSeatCount: 4 },
    });
    assert.equal(created.ErrorCode, 0);
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(pages.address() as AddressInfo).port}/`);
    const started = await page.evaluate(
      (cfg) => (window as any).start(cfg),
      { url: s.url, sdkAppId: APP.sdkAppId, userId: 'browser-user', userSig: genUserSig(APP.sdkAppId, APP.secretKey, 'browser-user', 600) },
    );
    assert.deepEqual(started, { seats: 4, index: 1 });

    const list = await s.tencent('room_engine_http_srv/get_room_member_list', { RoomId: 'b1' });
    assert.deepEqual(list.Response.MemberList.map((m: any) => m.Member_Account), ['browser-user']);

    const kick = await s.tencent('room_engine_http_mic/kick_user_off_seat', { RoomId: 'b1', Member_Account: 'browser-user', Data: 'time over' });
    assert.equal(kick.ErrorCode, 0);
    await page.waitForFunction(() => (window as any).events.some((x: any) => x.name === 'kickedOffSeat'));
    const kicked = await page.evaluate(() => (window as any).events.find((x: any) => x.name === 'kickedOffSeat').e);
    assert.equal(kicked.roomId, 'b1');
    assert.equal(kicked.userId, 'browser-user');
    assert.equal(kicked.data, 'time over');

    const out = await s.tencent('room_engine_http_srv/kick_user_out', { RoomId: 'b1', MemberList_Account: ['browser-user'], Reason: 'bye' });
    assert.equal(out.ErrorCode, 0);
    await page.waitForFunction(() => (window as any).events.some((x: any) => x.name === 'roomLost'));
    const lost = await page.evaluate(() => (window as any).events.find((x: any) => x.name === 'roomLost').e);
    assert.equal(lost.roomId, 'b1');
    assert.equal(lost.reason, 'kicked');
    const after = await s.tencent('room_engine_http_srv/get_room_member_list', { RoomId: 'b1' });
    assert.deepEqual(after.Response.MemberList, []);
  } finally {
    await browser.close();
    pages.close();
    await s.close();
  }
});

const RESUME_PAGE = `<!doctype html><meta charset="utf-8"><title>rostrum resume</title>
<script type="module">
  import { RostrumClient } from '/client.js';
  window.texts = [];
  window.restored = [];
  window.start = async (cfg) => {
    const client = new RostrumClient({ ...cfg, reconnect: { initialDelayMs: 300, maxDelayMs: 1000 } });
    client.on('messageReceived', (e) => window.texts.push(e.text));
    client.on('roomRestored', (e) => window.restored.push({ recovered: e.data.recovered, seat: e.data.seats[0].userId }));
    await client.connect();
    await client.enterRoom({ roomId: 'b2' });
    await client.takeSeat({ roomId: 'b2', index: 0 });
    window.client = client;
  };
</script>`;

test('RostrumClient in Chromium: after a drop it reconnects, keeps its seat and gets the missed messages once, in order', {
  skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`,
}, async () => {
  const s = await startTestServer({ realtime: { seatGraceSeconds: 10 } });
  const bundle = await build({ entryPoints: ['src/client/index.ts'], bundle: true, format: 'esm', platform: 'browser', external: ['ws'], write: false });
  const pages = createServer((req, res) => {
    if (req.url === '/client.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle.outputFiles[0].text);
    else res.writeHead(200, { 'content-type': 'text/html' }).end(RESUME_PAGE);
  });
  await new Promise<void>((r) => pages.listen(0, '127.0.0.1', r));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  try {
    const created = await s.tencent('room_engine_http_srv/create_room', {
      RoomInfo: { RoomId: 'b2', RoomType: 'Conference', IsSeatEnabled: true, MaxSeatCount: 2 },
    });
    assert.equal(created.ErrorCode, 0);
    // The app's server speaking in the room (as the Polyv admin message endpoint does).
    const say = (text: string) =>
      s.server.engine.execute(APP.sdkAppId, { kind: 'admin', userId: 'administrator' }, { type: 'sendAdminMessage', roomId: 'b2', text, nick: 'host', avatar: '' });
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(pages.address() as AddressInfo).port}/`);
    await page.evaluate(
      (cfg) => (window as any).start(cfg),
      { url: s.url, sdkAppId: APP.sdkAppId, userId: 'tab', userSig: genUserSig(APP.sdkAppId, APP.secretKey, 'tab', 600) },
    );
    await say('one');
    await page.waitForFunction(() => (window as any).texts.length === 1);

    const conn = s.server.realtime.listConnections().find((c) => c.userId === 'tab')!;
    s.server.realtime.terminate(conn.id);
    for (const text of ['two', 'three']) await say(text);
    await page.waitForFunction(() => (window as any).restored.length === 1, undefined, { timeout: 10_000 });
    assert.deepEqual(await page.evaluate(() => (window as any).restored[0]), { recovered: true, seat: 'tab' });
    await say('four');
    await page.waitForFunction(() => (window as any).texts.length >= 4);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(await page.evaluate(() => (window as any).texts), ['one', 'two', 'three', 'four']);
  } finally {
    await browser.close();
    pages.close();
    await s.close();
  }
});
