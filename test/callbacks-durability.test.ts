// Callbacks survive kill -9: every change the server acknowledged yields its callback after a
// restart on the same store. And the CLI lists, re-sends and discards given-up deliveries while
// the server runs.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP, OTHER_APP, storeArgs, tempData, tencentCall, type TestData } from './support/harness.js';
import type { App } from '../src/core/model.js';
import { cleanEnv, killServers, ROOT, serve as serveProcess, stop, writeConfig as writeConfigFile } from './support/process.js';
import { startReceiver, until, type Receiver } from './support/receiver.js';

const TOKEN = 'durable-token';
const datas: TestData[] = [];
const receivers: Receiver[] = [];

after(async () => {
  killServers();
  for (const data of datas) await data.remove();
  for (const r of receivers) await r.close();
});

const serve = (data: TestData, config: string) => serveProcess(data, config, { logLevel: 'error' });

function writeConfig(data: TestData, callbackUrl: string, callbacks: object = {}, apps: App[] = [APP]): string {
  return writeConfigFile(data, {
    apps: apps.map((a) => ({ sdkAppId: a.sdkAppId, secretKey: a.secretKey, admins: a.admins, rateLimit: { perCommandPerSecond: 0 }, callback: { url: callbackUrl, token: TOKEN } })),
    callbacks: { ...callbacks },
  });
}

const run = promisify(execFile);
function cli(data: TestData, args: string[]) {
  return run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'webhooks', ...args, '--data', data.dataDir, ...storeArgs(data)], { cwd: ROOT, env: cleanEnv() });
}

describe('callbacks across kill -9', () => {
  it("every acknowledged change's callback arrives after a restart", async () => {
    const rx = await startReceiver(TOKEN);
    receivers.push(rx);
    rx.mode = 'down'; // nothing can be delivered before the crash
    const data = tempData('rostrum-cb-durable-');
    datas.push(data);
    const config = writeConfig(data, rx.url);
    const first = await serve(data, config);
    const acked: string[] = [];
    const early: unknown[] = [];
    let killed = false;
    const burst = Array.from({ length: 60 }, (_, i) => `burst-${i}`);
    const calls = burst.map((id) =>
      tencentCall(first.url, 'room_engine_http_srv/create_room', { RoomInfo: { RoomId: id, RoomType: 'Conference' } }).then(
        (r) => void (r.ErrorCode === 0 && acked.push(id)),
        (e) => void (killed || early.push(e)), // after the kill: cut off, not acknowledged
      ),
    );
    // Crash in the middle of the burst: some calls are acknowledged, the rest fail or never answer.
    await until(() => acked.length >= 20, 'some acknowledgements');
    killed = true;
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, 'SIGKILL');
    await Promise.allSettled(calls);
    assert.deepEqual(early, [], 'no call failed before the crash');
    assert.ok(acked.length >= 20);

    rx.mode = 'up';
    const second = await serve(data, config);
    try {
      const created = () => new Set(rx.unique().filter((b) => b.CallbackCommand === 'Room.CallbackAfterCreateRoom').map((b) => b.RoomInfo.RoomId));
      await until(() => acked.every((id) => created().has(id)), 'a callback for every acknowledged create', 60_000);
      assert.ok(rx.accepted.every((x) => x.verified), 'every delivery verifies');
    } finally {
      second.child.kill('SIGKILL');
      await second.exited;
    }
  });

  it('rostrum webhooks failed / retry list and re-send given-up deliveries while the server runs', async () => {
    const rx = await startReceiver(TOKEN);
    receivers.push(rx);
    rx.mode = 'down';
    const data = tempData('rostrum-cb-cli-');
    datas.push(data);
    const config = writeConfig(data, rx.url, { giveUpHours: 1 / 3600 });
    const p = await serve(data, config);
    try {
      for (const id of ['x', 'y']) {
        assert.equal((await tencentCall(p.url, 'room_engine_http_srv/create_room', { RoomInfo: { RoomId: id, RoomType: 'Conference' } })).ErrorCode, 0);
      }
      let rows: { id: number; roomId: string; command: string; body: { RoomInfo: { RoomId: string } } }[] = [];
      const deadline = Date.now() + 40_000;
      while (rows.length < 2 && Date.now() < deadline) {
        await sleep(500);
        rows = JSON.parse((await cli(data, ['failed', '--json'])).stdout);
      }
      assert.deepEqual(rows.map((r) => r.roomId).sort(), ['x', 'y']);
      assert.equal(rows[0].command, 'Room.CallbackAfterCreateRoom');
      const table = (await cli(data, ['failed'])).stdout;
      assert.match(table, /^ID\tAPP\tROOM/);
      assert.match(table, /HTTP 503/);
      await assert.rejects(cli(data, ['retry']), /give --all or one or more IDs/);
      await assert.rejects(cli(data, ['failed', '--limit', '0']), { code: 2, stderr: /invalid --limit: 0 \(1 to 999999\)/ });
      assert.match((await cli(data, ['failed', '--limit', '1'])).stdout, /\(the oldest 1: there may be more, see --limit\)\n$/);
      rx.mode = 'up';
      const one = rows.find((r) => r.roomId === 'x')!;
      // The app's target is in the config file the server reads: without it, the command warns.
      const blind = await cli(data, ['retry', String(one.id)]);
      assert.match(blind.stdout, /re-queued 1 delivery/);
      assert.match(blind.stderr, new RegExp(`^warning: no callback configuration is set over REST, nor in a config file \\(none given: --config FILE\\) for app ${APP.sdkAppId}: `));
      await until(() => rx.unique().length === 1, 'the re-sent delivery', 30_000);
      assert.equal(rx.unique()[0].RoomInfo.RoomId, 'x');
      const seen = await cli(data, ['retry', '--all', '--config', config]);
      assert.match(seen.stdout, /re-queued 1 delivery/);
      assert.equal(seen.stderr, '', 'the config file names the target: no warning');
      await until(() => rx.unique().length === 2, 'the other one', 30_000);
      assert.match((await cli(data, ['failed'])).stdout, /no failed deliveries/);
    } finally {
      await stop(p);
    }
  });

  it('rostrum webhooks discard removes given-up deliveries for good, of one app with --app; bad input is refused', async () => {
    const rx = await startReceiver(TOKEN);
    receivers.push(rx);
    rx.mode = 'down';
    const data = tempData('rostrum-cb-discard-');
    datas.push(data);
    const config = writeConfig(data, rx.url, { giveUpHours: 1 / 3600 }, [APP, OTHER_APP]);
    const p = await serve(data, config);
    const create = async (roomId: string, app = APP) =>
      assert.equal((await tencentCall(p.url, 'room_engine_http_srv/create_room', { RoomInfo: { RoomId: roomId, RoomType: 'Conference' } }, { app })).ErrorCode, 0);
    const failed = async (app = APP): Promise<{ id: number; roomId: string }[]> => JSON.parse((await cli(data, ['failed', '--json', '--app', String(app.sdkAppId)])).stdout);
    try {
      for (const id of ['d1', 'd2', 'd3']) await create(id);
      await create('o1', OTHER_APP);
      const deadline = Date.now() + 40_000;
      while ((await failed()).length < 3 || (await failed(OTHER_APP)).length < 1) {
        assert.ok(Date.now() < deadline, 'the deliveries are given up');
        await sleep(500);
      }
      const [d1, d2, d3] = (await failed()).sort((a, b) => a.roomId.localeCompare(b.roomId));
      const [o1] = await failed(OTHER_APP);

      // Bad input: exit code 2, one clear line, nothing removed.
      for (const [args, message] of [
        [[], /^rostrum: webhooks discard: give --all or one or more IDs\n$/],
        [['--all', String(d1.id)], /^rostrum: webhooks discard: give --all or one or more IDs\n$/],
        [[String(d1.id), 'abc'], /^rostrum: webhooks discard: invalid ID in \d+ abc\n$/],
        [['1.5'], /^rostrum: webhooks discard: invalid ID in 1\.5\n$/],
        [['--all', '--app', 'x'], /^rostrum: invalid --app: x\n$/],
      ] as const) {
        await assert.rejects(cli(data, ['discard', ...args]), { code: 2, stderr: message });
      }
      await assert.rejects(cli(data, ['drop', '--all']), { code: 2, stderr: /use failed, retry or discard/ });

      // Another app's deliveries are out of reach with --app, by id and with --all.
      const other = ['--app', String(OTHER_APP.sdkAppId)];
      assert.equal((await cli(data, ['discard', String(d1.id), String(d2.id), ...other])).stdout, 'discarded 0 deliveries\n2 of the IDs are not failed deliveries of this app\n');
      assert.equal((await cli(data, ['discard', '--all', ...other])).stdout, 'discarded 1 delivery\n');
      assert.deepEqual(await failed(OTHER_APP), []);
      assert.equal((await failed()).length, 3);

      // By id (an id twice counts once; an unknown one is named), then all.
      assert.equal((await cli(data, ['discard', String(d1.id), String(d1.id), String(o1.id)])).stdout, 'discarded 1 delivery\n1 of the IDs are not failed deliveries\n');
      assert.deepEqual((await failed()).map((d) => d.id).sort(), [d2.id, d3.id].sort());
      assert.equal((await cli(data, ['discard', '--all', '--app', String(APP.sdkAppId)])).stdout, 'discarded 2 deliveries\n');
      assert.match((await cli(data, ['failed'])).stdout, /no failed deliveries/);
      assert.match((await cli(data, ['retry', String(d2.id)])).stdout, /re-queued 0 deliveries/);

      // The receiver comes back: a new callback arrives, none of the discarded ones ever does.
      rx.mode = 'up';
      await create('d4');
      await until(() => rx.unique().some((b) => b.RoomInfo.RoomId === 'd4'), 'the new delivery', 30_000);
      assert.deepEqual(rx.unique().map((b) => b.RoomInfo.RoomId), ['d4']);
    } finally {
      await stop(p);
    }
  });
});
