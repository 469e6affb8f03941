// Callbacks survive kill -9: every change the server acknowledged yields its callback after a
// restart on the same store. And the CLI lists and re-sends given-up deliveries while the server
// runs.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { APP, freePort, storeArgs, tempData, tencentCall, type TestData } from './support/harness.js';
import { startReceiver, until, type Receiver } from './support/receiver.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'durable-token';
const running = new Set<ChildProcess>();
const datas: TestData[] = [];
const receivers: Receiver[] = [];

after(async () => {
  for (const child of running) child.kill('SIGKILL');
  for (const data of datas) await data.remove();
  for (const r of receivers) await r.close();
});

function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ROSTRUM_')));
}

interface Proc {
  child: ChildProcess;
  url: string;
  exited: Promise<NodeJS.Signals | number | null>;
}

async function serve(data: TestData, config: string): Promise<Proc> {
  const port = await freePort();
  const args = ['serve', '--port', String(port), '--data', data.dataDir, ...storeArgs(data), '--config', config];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...cleanEnv(), ROSTRUM_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.add(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  let gone = false;
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      gone = true;
      running.delete(child);
      resolve(signal ?? code);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000; // a loaded machine starts tsx slowly
  for (;;) {
    if (gone) assert.fail(`rostrum exited early: ${stderr}`);
    if (Date.now() > deadline) assert.fail(`rostrum did not become ready: ${stderr}`);
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  return { child, url, exited };
}

function writeConfig(data: TestData, callbackUrl: string, callbacks: object = {}): string {
  const config = join(data.dataDir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      apps: [{ sdkAppId: APP.sdkAppId, secretKey: APP.secretKey, admins: APP.admins, rateLimit: { perCommandPerSecond: 0 }, callback: { url: callbackUrl, token: TOKEN } }],
      callbacks: { ...callbacks },
    }),
  );
  return config;
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
      rx.mode = 'up';
      const one = rows.find((r) => r.roomId === 'x')!;
      assert.match((await cli(data, ['retry', String(one.id)])).stdout, /re-queued 1 delivery/);
      await until(() => rx.unique().length === 1, 'the re-sent delivery', 30_000);
      assert.equal(rx.unique()[0].RoomInfo.RoomId, 'x');
      assert.match((await cli(data, ['retry', '--all'])).stdout, /re-queued 1 delivery/);
      await until(() => rx.unique().length === 2, 'the other one', 30_000);
      assert.match((await cli(data, ['failed'])).stdout, /no failed deliveries/);
    } finally {
      p.child.kill('SIGTERM');
      assert.equal(await p.exited, 0);
    }
  });
});
