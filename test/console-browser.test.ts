// The console end to end in headless Chromium: sign in with an admin UserSig, find a room, kick
// a real WebSocket client off its seat and ban another (both clients receive the events), and
// find both actions on the audit page; the password sign-in, the session cookie's attributes,
// dismissing a room (only once confirmed), CSRF refusal, sign-in throttling, setting and stopping
// the callback configuration, and re-sending and discarding given-up callbacks. With ROSTRUM_SCREENSHOTS=DIR it keeps screenshots of the main
// pages there (docs/console/ holds the ones the docs show).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { hashPassword } from '../src/console/password.js';
import { APP, OTHER_APP, adminSig, asAdmin, asUser, startTestServer, type TestServer } from './support/harness.js';
import { RawClient } from './realtime-support.js';
import { startReceiver, until } from './support/receiver.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHOTS = process.env.ROSTRUM_SCREENSHOTS;
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`;
const PASSWORD = 'console-pass-1';

let s: TestServer;
let browser: Browser;
const clients: RawClient[] = [];

async function shot(page: Page, name: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

before(async () => {
  if (skip) return;
  execFileSync(process.execPath, ['scripts/build-console.mjs'], { cwd: ROOT });
  s = await startTestServer({ apps: [{ ...APP, consolePassword: await hashPassword(PASSWORD) }, OTHER_APP] });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  for (const c of clients) c.ws.close();
  await browser?.close();
  await s?.close();
});

async function signInWithSig(page: Page): Promise<void> {
  await page.goto(`${s.url}/console/`);
  await page.fill('#userSig', adminSig());
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-test=who]');
}

describe('console in Chromium', { skip }, () => {
  it('signs in, finds a room, kicks a client off its seat and bans another; the audit page shows both', async () => {
    await asAdmin(s, { type: 'createRoom', roomId: 'stage-1', name: 'Main stage', isSeatEnabled: true, maxSeatCount: 6 });
    await asAdmin(s, { type: 'createRoom', roomId: 'green-room', name: 'Green room' });
    await asAdmin(s, { type: 'createRoom', roomId: 'stage-2', name: 'Side stage', isSeatEnabled: true, maxSeatCount: 4 });
    const singer = await RawClient.connect(s, 'singer', 'stage-1');
    const heckler = await RawClient.connect(s, 'heckler', 'stage-1');
    const fan = await RawClient.connect(s, 'fan', 'stage-1');
    clients.push(singer, heckler, fan);
    await singer.ok('takeSeat', { roomId: 'stage-1', index: 2 });
    await fan.ok('sendMessage', { roomId: 'stage-1', text: 'hello stage' });

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await signInWithSig(page);
    assert.match(await page.textContent('[data-test=who]') ?? '', new RegExp(`app ${APP.sdkAppId} · administrator`));
    await page.waitForSelector('[data-test=stat-rooms] .n');
    assert.equal(await page.textContent('[data-test=stat-rooms] .n'), '3');
    assert.equal(await page.textContent('[data-test=stat-members] .n'), '3');
    // The session cookie is not readable by the page.
    assert.equal(await page.evaluate(() => document.cookie), '');

    await page.click('text=Rooms');
    await page.fill('[data-test=room-search]', 'STAGE');
    await page.click('text=Search');
    await page.waitForFunction(() => document.querySelectorAll('[data-test=rooms] tbody tr').length === 2);
    await shot(page, 'rooms');
    await page.click('a:text("stage-1")');
    await page.waitForSelector('[data-test=seat-2] >> text=singer');

    // Kick the singer off seat 2, with a reason.
    await page.fill('[data-test=reason]', 'off-key');
    await page.click('[data-test=seat-2] [data-test=kick-off-seat]');
    const offSeat = await singer.take('kickedOffSeat');
    assert.equal(offSeat.userId, 'singer');
    assert.equal(offSeat.index, 2);
    // The live seat grid follows (server-sent events, no reload).
    await page.waitForSelector('[data-test=seat-2] >> text=empty');

    // Ban the heckler for an hour.
    await page.fill('[data-test=reason]', 'heckling');
    await page.selectOption('[data-test=duration]', '3600');
    await page.click('[data-test=member-heckler] [data-test=ban]');
    const banned = await heckler.take('kickedOutOfRoom');
    assert.equal(banned.userId, 'heckler');
    assert.equal(banned.kind, 'banned');
    assert.equal(banned.reason, 'heckling');
    await page.waitForSelector('[data-test=bans] >> text=heckler');
    await page.waitForFunction(() => !document.querySelector('[data-test=member-heckler]'));
    await page.waitForSelector('[data-test=events] >> text=kickedOutOfRoom');
    await shot(page, 'room');

    await page.click('text=Audit log');
    await page.waitForFunction(() => document.querySelectorAll('[data-test=audit-row]').length >= 2);
    const rows = await page.$$eval('[data-test=audit-row]', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
    const brief = rows.map((r) => r.slice(1, 7).join(' | '));
    assert.deepEqual(brief.slice(0, 2), ['console | administrator | ban | stage-1 | heckler | heckling', 'console | administrator | kickOffSeat | stage-1 | singer | off-key']);
    assert.ok(rows[0][7], 'the ban shows its expiry');
    await shot(page, 'audit');
    await page.click('text=Overview');
    await page.waitForSelector('text=Latest moderation');
    await page.waitForFunction(() => document.querySelectorAll('main tbody tr').length >= 2);
    await shot(page, 'overview');
    await page.close();
  });

  it('dismisses a room only after a confirming click; Cancel dismisses nothing; the members hear it', async () => {
    await asAdmin(s, { type: 'createRoom', roomId: 'doomed-1' });
    await asAdmin(s, { type: 'createRoom', roomId: 'spared-1' });
    const listener = await RawClient.connect(s, 'listener', 'doomed-1');
    clients.push(listener);
    /** The room's status on the native API: 200 while it exists, 404 once dismissed. */
    const roomStatus = async (roomId: string) => (await fetch(`${s.url}/api/v1/rooms/${roomId}`, { headers: { authorization: `Bearer ${adminSig()}` } })).status;
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await signInWithSig(page);
      await page.goto(`${s.url}/console/#/rooms/doomed-1`);
      await page.waitForSelector('[data-test=member-listener]');

      // The first click only asks, and says why.
      await page.click('[data-test=dismiss]');
      await page.waitForSelector('[data-test=dismiss-confirm] >> text=Confirm dismiss');
      assert.match(await page.textContent('[data-test=dismiss-warning]') ?? '', /cannot be undone/);
      assert.equal(await page.locator('[data-test=dismiss]').count(), 0);
      assert.equal(await roomStatus('doomed-1'), 200);
      // Cancel puts the button back; nothing happened.
      await page.click('[data-test=dismiss-cancel]');
      await page.waitForSelector('[data-test=dismiss]');
      assert.equal(await page.locator('[data-test=dismiss-confirm]').count(), 0);
      assert.equal(await roomStatus('doomed-1'), 200);
      await listener.sync();
      assert.ok(!listener.events.some((e) => e.event === 'roomDismissed'));

      // A question left open in one room is not carried to another.
      await page.click('[data-test=dismiss]');
      await page.waitForSelector('[data-test=dismiss-confirm]');
      await page.evaluate(() => (location.hash = '#/rooms/spared-1'));
      await page.waitForSelector('[data-test=room-title] >> text=spared-1');
      await page.waitForSelector('[data-test=dismiss]');
      assert.equal(await page.locator('[data-test=dismiss-confirm]').count(), 0);
      await page.goBack();
      await page.waitForSelector('[data-test=member-listener]');

      // Confirmed: the room is gone and its member is told.
      await page.fill('[data-test=reason]', 'show is over');
      await page.click('[data-test=dismiss]');
      await page.click('[data-test=dismiss-confirm]');
      assert.equal((await listener.take('roomDismissed')).roomId, 'doomed-1');
      await page.waitForSelector('text=This room no longer exists');
      assert.equal(await roomStatus('doomed-1'), 404);
      assert.equal(await roomStatus('spared-1'), 200);
    } finally {
      await page.close();
    }
  });

  it('refuses changes without the CSRF token, or from another origin', async () => {
    const page = await browser.newPage();
    await signInWithSig(page);
    // A string, so the page runs exactly this (no helpers the test's compiler adds).
    const status = await page.evaluate(`(async () => {
      const send = (headers) =>
        fetch('/api/v1/rooms/stage-1/kick', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"userId":"fan"}' })
          .then(async (r) => [r.status, (await r.json()).error?.code]);
      const discard = await fetch('/api/v1/callbacks/deliveries/failed/1', { method: 'DELETE' }).then(async (r) => [r.status, (await r.json()).error?.code]);
      return { none: await send({}), wrong: await send({ 'x-csrf-token': 'guess' }), discard, read: (await fetch('/api/v1/rooms')).status };
    })()`) as { none: unknown[]; wrong: unknown[]; discard: unknown[]; read: number };
    assert.deepEqual(status.none, [403, 'csrf_refused']);
    assert.deepEqual(status.discard, [403, 'csrf_refused'], 'a DELETE is a change too');
    assert.deepEqual(status.wrong, [403, 'csrf_refused']);
    assert.equal(status.read, 200, 'reads need no token');
    // The right token from another origin is refused too.
    const cookies = await page.context().cookies();
    const cookie = cookies.find((c) => c.name === 'rostrum_console')!;
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    const csrf = (await (await fetch(`${s.url}/console/session`, { headers: { cookie: `rostrum_console=${cookie.value}` } })).json()).csrf;
    const cross = await fetch(`${s.url}/api/v1/rooms/stage-1/kick`, {
      method: 'POST',
      headers: { cookie: `rostrum_console=${cookie.value}`, 'x-csrf-token': csrf, origin: 'https://evil.example', 'content-type': 'application/json' },
      body: '{"userId":"fan"}',
    });
    assert.equal(cross.status, 403);
    const same = await fetch(`${s.url}/api/v1/rooms/stage-1/kick`, {
      method: 'POST',
      headers: { cookie: `rostrum_console=${cookie.value}`, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: '{"userId":"fan","reason":"with the token"}',
    });
    assert.equal(same.status, 200, await same.text());
    await page.close();
  });

  it('signs in with the console password; throttles after repeated failures', async () => {
    const page = await browser.newPage();
    await page.goto(`${s.url}/console/`);
    /** Submits the password form and returns the sign-in's HTTP status. */
    const tryPassword = async (password: string) => {
      await page.click('[data-test=mode-password]');
      await page.fill('#sdkAppId', String(APP.sdkAppId));
      await page.fill('#identifier', 'administrator');
      await page.fill('#password', password);
      const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/console/session') && r.request().method() === 'POST'), page.click('button[type=submit]')]);
      return res.status();
    };
    assert.equal(await tryPassword(PASSWORD), 200);
    await page.waitForSelector('[data-test=who]');
    await page.click('text=Sign out');
    await page.waitForSelector('[data-test=signin]');
    for (let i = 0; i < 5; i++) assert.equal(await tryPassword('wrong-password'), 401);
    await page.waitForSelector('[data-test=signin-error] >> text=wrong app, admin or password');
    assert.equal(await tryPassword(PASSWORD), 429, 'the right password too, while throttled');
    await page.waitForSelector('[data-test=signin-error] >> text=too many failed sign-ins');
    const res = await fetch(`${s.url}/console/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userSig: adminSig() }),
    });
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get('retry-after')) > 0);
    assert.equal((await res.json()).error.code, 'sign_in_throttled');
    await page.close();
  });
});

describe('console callbacks page', { skip }, () => {
  it('shows given-up deliveries and the lag, and re-sends them to a receiver that is back up', async () => {
    const rx = await startReceiver();
    rx.mode = 'down';
    const t = await startTestServer({ apps: [{ ...APP, callback: { url: rx.url } }, OTHER_APP], callbacks: { backoffBaseMs: 50, backoffMaxMs: 300, giveUpHours: 1 / 3600 } });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      for (const roomId of ['late-1', 'late-2']) await asAdmin(t, { type: 'createRoom', roomId });
      const deadline = Date.now() + 30_000;
      while ((await t.server.callbacks.service.failed(APP.sdkAppId, 10)).length < 2) {
        assert.ok(Date.now() < deadline, 'the deliveries are given up');
        await new Promise((r) => setTimeout(r, 100));
      }
      await page.goto(`${t.url}/console/`);
      await page.fill('#userSig', adminSig());
      await page.click('button[type=submit]');
      await page.waitForSelector('[data-test=stat-cb-failed] >> text=2');
      assert.equal(await page.textContent('[data-test=stat-lag] .n'), '0 s');
      await page.click('nav >> text=Callbacks');
      await page.waitForFunction(() => document.querySelectorAll('[data-test=failed] tr.delivery').length === 2);
      assert.equal(await page.textContent('[data-test=cb-failed] .n'), '2');
      assert.ok((await page.textContent('[data-test=callback-config]'))?.includes(`Sending to ${rx.url}`));
      assert.match(await page.textContent('[data-test=failed]') ?? '', /late-1[\s\S]*HTTP 503[\s\S]*late-2/);
      await shot(page, 'callbacks');
      rx.mode = 'up';
      await page.click('[data-test=failed] tr.delivery >> nth=0 >> [data-test=resend]');
      await page.waitForSelector('[data-test=notice] >> text=Re-queued 1 delivery');
      await until(() => rx.accepted.length === 1, 'the re-sent delivery');
      assert.equal(rx.accepted[0].body.RoomInfo.RoomId, 'late-1');
      await page.click('[data-test=resend-all]');
      await page.waitForSelector('[data-test=notice] >> text=Re-queued 1 delivery');
      await until(() => rx.unique().length === 2, 'the rest');
      await page.waitForSelector('[data-test=failed] >> text=No given-up deliveries');
    } finally {
      await page.close();
      await t.close();
      await rx.close();
    }
  });

  it('sets the callback configuration from the page (a bad command is refused with the reason), and stops it only after a confirming click', async () => {
    const rx = await startReceiver();
    const t = await startTestServer({ apps: [APP, OTHER_APP], callbacks: { backoffBaseMs: 50, backoffMaxMs: 300 } });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const configOf = async (app = APP) => {
      const res = await fetch(`${t.url}/api/v1/callbacks/config`, { headers: { authorization: `Bearer ${adminSig(app)}` } });
      assert.equal(res.status, 200);
      return (await res.json()).config;
    };
    const settled = () => until(() => t.server.callbacks.relay.idle(), 'the relay to settle');
    try {
      await page.goto(`${t.url}/console/`);
      await page.fill('#userSig', adminSig());
      await page.click('button[type=submit]');
      await page.click('nav >> text=Callbacks');
      await page.waitForSelector('[data-test=callback-config] >> text=No callback configuration');
      assert.equal(await page.locator('[data-test=cb-stop]').count(), 0, 'nothing to stop');

      // An unknown command: refused with the API's reason, nothing stored.
      await page.fill('#cbUrl', rx.url);
      await page.fill('#cbCommands', 'Room.CallbackAfterCreateRoom, Room.NoSuchCallback');
      await page.click('[data-test=cb-save]');
      await page.waitForSelector('.error >> text=body commands.1: expected one of Room.CallbackAfterCreateRoom,');
      assert.equal(await configOf(), null);

      // Saved with one command: shown, and only that command's callbacks go.
      await page.fill('#cbCommands', 'Room.CallbackAfterCreateRoom');
      await page.click('[data-test=cb-save]');
      await page.waitForSelector(`[data-test=notice] >> text=Saved: callbacks go to ${rx.url} (Room.CallbackAfterCreateRoom).`);
      await page.waitForSelector(`[data-test=callback-config] >> text=Sending to ${rx.url} (Room.CallbackAfterCreateRoom; unsigned; set in REST)`);
      assert.deepEqual(await configOf(), { url: rx.url, commands: ['Room.CallbackAfterCreateRoom'], signed: false, source: 'rest' });
      assert.equal(await configOf(OTHER_APP), null, "the other app's configuration is not touched");
      await asAdmin(t, { type: 'createRoom', roomId: 'hooked' });
      await asAdmin(t, { type: 'destroyRoom', roomId: 'hooked' });
      await until(() => rx.accepted.length === 1, 'the create callback');
      await settled();
      assert.deepEqual(rx.unique().map((b) => b.CallbackCommand), ['Room.CallbackAfterCreateRoom']);

      // Blank commands: every command.
      await page.fill('#cbCommands', '');
      await page.click('[data-test=cb-save]');
      await page.waitForSelector(`[data-test=notice] >> text=Saved: callbacks go to ${rx.url} (every command).`);
      assert.equal((await configOf()).commands, null);

      // Stop: the first click only asks, Cancel keeps it; confirmed, nothing more is sent.
      await page.click('[data-test=cb-stop]');
      await page.waitForSelector('[data-test=cb-stop-warning]');
      await page.click('[data-test=cb-stop-cancel]');
      await page.waitForSelector('[data-test=cb-stop]');
      assert.notEqual(await configOf(), null);
      await page.click('[data-test=cb-stop]');
      await page.click('[data-test=cb-stop-confirm]');
      await page.waitForSelector('[data-test=notice] >> text=Callbacks stopped.');
      await page.waitForSelector('[data-test=callback-config] >> text=No callback configuration');
      assert.equal(await configOf(), null);
      // Committed while stopped: never sent, though callbacks are set again later (the next
      // room's callback arriving shows the relay has read past it).
      await asAdmin(t, { type: 'createRoom', roomId: 'unhooked' });
      await sleep(2500); // the relay, with no configuration, moves past the outbox once a second
      await page.fill('#cbUrl', rx.url);
      await page.click('[data-test=cb-save]');
      await page.waitForSelector(`[data-test=notice] >> text=Saved: callbacks go to ${rx.url} (every command).`);
      await asAdmin(t, { type: 'createRoom', roomId: 'rehooked' });
      await until(() => rx.unique().some((b) => b.RoomInfo.RoomId === 'rehooked'), 'the next room\'s callback');
      await settled();
      assert.deepEqual(rx.unique().map((b) => b.RoomInfo.RoomId), ['hooked', 'rehooked']);
    } finally {
      await page.close();
      await t.close();
      await rx.close();
    }
  });

  it('discards one given-up delivery, then all of the app\'s, each only after a confirming click; Cancel discards nothing', async () => {
    const rx = await startReceiver();
    rx.mode = 'down';
    const t = await startTestServer({
      apps: [{ ...APP, callback: { url: rx.url } }, { ...OTHER_APP, callback: { url: rx.url } }],
      callbacks: { backoffBaseMs: 50, backoffMaxMs: 300, giveUpHours: 1 / 3600 },
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    /** The rooms of the app's given-up deliveries, as the native API lists them. */
    const givenUp = async (app = APP): Promise<string[]> => {
      const res = await fetch(`${t.url}/api/v1/callbacks/deliveries/failed`, { headers: { authorization: `Bearer ${adminSig(app)}` } });
      assert.equal(res.status, 200);
      return ((await res.json()).items as { roomId: string }[]).map((d) => d.roomId);
    };
    const row = (roomId: string) => `[data-test=failed] tr.delivery:has-text("${roomId}")`;
    try {
      for (const roomId of ['gone-1', 'gone-2', 'gone-3']) await asAdmin(t, { type: 'createRoom', roomId });
      await asAdmin(t, { type: 'createRoom', roomId: 'other-1' }, OTHER_APP);
      await until(async () => (await givenUp()).length === 3 && (await givenUp(OTHER_APP)).length === 1, 'the deliveries are given up');
      await page.goto(`${t.url}/console/`);
      await page.fill('#userSig', adminSig());
      await page.click('button[type=submit]');
      await page.click('nav >> text=Callbacks');
      await page.waitForFunction(() => document.querySelectorAll('[data-test=failed] tr.delivery').length === 3);

      // The first click only asks; Cancel puts the row back as it was.
      await page.click(`${row('gone-2')} [data-test=discard]`);
      await page.waitForSelector(`${row('gone-2')} [data-test=discard-confirm] >> text=Confirm discard`);
      assert.equal(await page.locator(`${row('gone-2')} [data-test=resend]`).count(), 0);
      assert.deepEqual(await givenUp(), ['gone-1', 'gone-2', 'gone-3']);
      await page.click(`${row('gone-2')} [data-test=discard-cancel]`);
      await page.waitForSelector(`${row('gone-2')} [data-test=discard]`);
      assert.deepEqual(await givenUp(), ['gone-1', 'gone-2', 'gone-3']);

      // Confirmed: exactly that one is gone.
      await page.click(`${row('gone-2')} [data-test=discard]`);
      await page.click(`${row('gone-2')} [data-test=discard-confirm]`);
      await page.waitForSelector('[data-test=notice] >> text=Discarded 1 delivery.');
      await page.waitForFunction(() => document.querySelectorAll('[data-test=failed] tr.delivery').length === 2);
      assert.deepEqual(await givenUp(), ['gone-1', 'gone-3']);
      assert.match(await page.textContent('[data-test=failed]') ?? '', /gone-1[\s\S]*gone-3/);
      await page.waitForSelector('[data-test=cb-failed] .n >> text=2');

      // Discard all asks too, and Cancel keeps them.
      await page.click('[data-test=discard-all]');
      await page.click('[data-test=discard-all-cancel]');
      await page.waitForSelector('[data-test=discard-all]');
      assert.equal(await page.locator('[data-test=discard-all-confirm]').count(), 0);
      assert.deepEqual(await givenUp(), ['gone-1', 'gone-3']);

      // Confirmed: none of the app's is left; the other app's is not touched.
      await page.click('[data-test=discard-all]');
      await page.click('[data-test=discard-all-confirm]');
      await page.waitForSelector('[data-test=notice] >> text=Discarded 2 deliveries.');
      await page.waitForSelector('[data-test=failed] >> text=No given-up deliveries');
      await page.waitForSelector('[data-test=cb-failed] .n >> text=0');
      assert.ok(await page.isDisabled('[data-test=discard-all]'));
      assert.deepEqual(await givenUp(), []);
      assert.deepEqual(await givenUp(OTHER_APP), ['other-1']);
      assert.equal(rx.accepted.length, 0);
    } finally {
      await page.close();
      await t.close();
      await rx.close();
    }
  });
});

describe('console: rooms called "." and ".."', { skip }, () => {
  it('opens no page for them and sends no request that would reach another route (/rooms/../ban is the app-wide /ban)', async () => {
    const t = await startTestServer();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      for (const roomId of ['.', '..']) {
        await asAdmin(t, { type: 'createRoom', roomId });
        await asUser(t, 'dot-member', { type: 'enterRoom', roomId, clientIp: '10.8.8.8', connId: '' });
      }
      const sent: string[] = [];
      page.on('request', (r) => sent.push(new URL(r.url()).pathname));
      await page.goto(`${t.url}/console/`);
      await page.fill('#userSig', adminSig());
      await page.click('button[type=submit]');
      await page.waitForSelector('[data-test=who]');
      // From the room list (its link) and from a typed address.
      await page.goto(`${t.url}/console/#/rooms`);
      await page.click('a[href="#/rooms/.."]');
      await page.waitForSelector('[data-test=error] >> text=cannot be opened here');
      await page.evaluate(() => (location.hash = '#/rooms/.'));
      await page.waitForSelector('h1 >> text="."');
      assert.match((await page.textContent('[data-test=error]')) ?? '', /cannot be opened here/);
      assert.equal(await page.locator('[data-test=dismiss]').count(), 0, 'no action is offered');
      const api = sent.filter((p) => p.startsWith('/api/v1'));
      assert.ok(api.includes('/api/v1/rooms'), api.join(' '));
      assert.deepEqual(api.filter((p) => p !== '/api/v1/rooms' && p !== '/api/v1/audit'), [], 'no request for the room');
      assert.ok(!sent.some((p) => p.startsWith('/console/events')), 'no event stream');
      for (const roomId of ['.', '..']) {
        const listed = (await asAdmin(t, { type: 'listMembers', roomId, after: '', count: 10 })) as { members: { userId: string }[] };
        assert.deepEqual(listed.members.map((m) => m.userId), ['dot-member']);
      }
    } finally {
      await page.close();
      await t.close();
    }
  });
});

describe('console event stream', { skip }, () => {
  it('sends the room\'s events to a signed-in page, and ends open streams when the server closes', async () => {
    const t = await startTestServer();
    try {
      await asAdmin(t, { type: 'createRoom', roomId: 'sse-1' });
      const signIn = await fetch(`${t.url}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userSig: adminSig() }) });
      assert.equal(signIn.status, 200);
      const cookie = signIn.headers.get('set-cookie')!.split(';')[0];
      assert.match(signIn.headers.get('set-cookie')!, /HttpOnly; SameSite=Strict/);
      assert.equal((await fetch(`${t.url}/console/events?roomId=sse-1`)).status, 401, 'no session, no stream');
      const res = await fetch(`${t.url}/console/events?roomId=sse-1`, { headers: { cookie } });
      assert.equal(res.headers.get('content-type'), 'text/event-stream');
      const reader = res.body!.getReader();
      let text = '';
      await asAdmin(t, { type: 'updateRoomInfo', roomId: 'sse-1', patch: { name: 'renamed' } });
      while (!text.includes('roomInfoChanged')) text += new TextDecoder().decode((await reader.read()).value);
      assert.match(text, /data: \{.*"type":"roomInfoChanged"/);
    } finally {
      await t.close(); // returns although the stream is still open
    }
  });
});
