// Operating `rostrum serve` as a process: the data-dir lock, one-line start-up errors with exit
// code 2, private file modes, /readyz against a full disk, SIGTERM through `npm start`, and the
// development app's Polyv credentials. The data-dir tests run on SQLite whatever the suite's store.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { APP, freePort, tencentCall, type TestData, type TestServer } from './support/harness.js';
import { RawClient } from './realtime-support.js';
import { dropPrefix, freshPrefixUrl, redisSkip } from './contract/redis-support.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEADLINE_MS, cleanUp, cli, newData, newDir, serve, spawnCli, stop, waitFor, waitReady } from './support/cli.js';

after(cleanUp);

/** SQLite in a directory of its own (these tests are about the data directory). */
function sqliteData(dir = join(newDir(), 'data')): TestData {
  return { dataDir: dir, store: undefined, remove: async () => undefined };
}

/** One line on stderr, `rostrum: ` first, matching `message`; exit code 2. */
async function refusesToStart(c: ReturnType<typeof cli>, message: RegExp): Promise<void> {
  // A server that starts anyway is a failure, not a hang.
  const { code } = await Promise.race([
    c.exited,
    sleep(DEADLINE_MS, undefined, { ref: false }).then(() => assert.fail(`still running after ${DEADLINE_MS} ms: ${c.output.stderr}`)),
  ]);
  assert.equal(code, 2, c.output.stderr);
  const lines = c.output.stderr.trim().split('\n');
  assert.equal(lines.length, 1, c.output.stderr);
  assert.match(lines[0], /^rostrum: /);
  assert.match(lines[0], message);
  assert.doesNotMatch(c.output.stderr, /\n\s+at /, 'no stack trace');
}

/** A tiny tmpfs (root only): a disk that can really fill up. */
function tinyDisk(sizeKb: number): string | null {
  if (process.getuid?.() !== 0) return null;
  const dir = newDir();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return null;
  }
  after(() => execFileSync('umount', ['-l', dir], { stdio: 'ignore' }));
  return dir;
}

/** Fills the file system holding `dir` (a file of zeros until the disk is full). */
function fill(dir: string): void {
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${join(dir, 'filler')}`, 'bs=4k'], { stdio: 'ignore' });
  } catch {
    // dd fails when the disk is full: that is the point
  }
}

describe('the data directory lock', () => {
  it('a second server on the same data directory exits with code 2; the first keeps serving', async () => {
    const data = sqliteData();
    const first = await serve(data);
    const second = cli(['serve', '--port', String(await freePort()), '--data', data.dataDir]);
    await refusesToStart(second, /data directory .* is in use by another rostrum process/);
    assert.equal((await fetch(`${first.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${first.url}/readyz`)).status, 200);
    await stop(first.c);
    // The lock ends with its process, even killed with -9: a new server starts at once.
    const third = await serve(data);
    third.c.child.kill('SIGKILL');
    await third.c.exited;
    const fourth = await serve(data);
    await stop(fourth.c);
  });
});

describe('start-up errors', () => {
  it('port in use: one line naming the port, exit code 2', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const { port } = taken.address() as { port: number };
    try {
      const c = cli(['serve', '--port', String(port), '--data', join(newDir(), 'data'), '--store', 'memory']);
      await refusesToStart(c, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
    } finally {
      taken.close();
    }
  });

  it('a data directory that cannot be made: one line naming it, exit code 2', async () => {
    const file = join(newDir(), 'a-file');
    writeFileSync(file, 'not a directory');
    const c = cli(['serve', '--port', String(await freePort()), '--data', join(file, 'data')]);
    await refusesToStart(c, /cannot create data directory .*a-file\/data: a part of the path is not a directory/);
  });

  it('an unwritable data directory: one line, exit code 2', async (t) => {
    const dir = join(newDir(), 'data');
    mkdirSync(dir);
    if (process.getuid?.() === 0) {
      // root writes anywhere: a read-only bind mount makes the directory unwritable for it too.
      try {
        execFileSync('mount', ['--bind', '-o', 'ro', dir, dir], { stdio: 'ignore' });
        execFileSync('mount', ['-o', 'remount,bind,ro', dir], { stdio: 'ignore' });
      } catch {
        return t.skip('cannot make a read-only mount here');
      }
      after(() => execFileSync('umount', ['-l', dir], { stdio: 'ignore' }));
    } else {
      execFileSync('chmod', ['0500', dir]);
    }
    const c = cli(['serve', '--port', String(await freePort()), '--data', dir]);
    await refusesToStart(c, /data directory .*: (permission denied|read-only file system)/);
  });

  it('a full disk: one line, exit code 2', async (t) => {
    const disk = tinyDisk(256);
    if (!disk) return t.skip('needs root to mount a small tmpfs');
    fill(disk);
    const c = cli(['serve', '--port', String(await freePort()), '--data', join(disk, 'data')]);
    await refusesToStart(c, /disk full/);
  });
});

describe('file modes', () => {
  it('the data directory is 0700 and every file in it 0600', async () => {
    const data = sqliteData();
    const { c, url } = await serve(data);
    // A write, so that the WAL holds something.
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
    assert.equal(mode(data.dataDir), '700');
    const files = readdirSync(data.dataDir);
    assert.ok(files.includes('rostrum.sqlite') && files.includes('rostrum.sqlite-wal') && files.includes('rostrum.lock'), files.join());
    for (const f of files) assert.equal(mode(join(data.dataDir, f)), '600', f);
    await stop(c);
  });

  it('tightens the files of a data directory written by an earlier release', async () => {
    const data = sqliteData();
    mkdirSync(data.dataDir, { mode: 0o755 });
    writeFileSync(join(data.dataDir, 'rostrum.sqlite'), '', { mode: 0o644 });
    const { c } = await serve(data);
    assert.equal((statSync(join(data.dataDir, 'rostrum.sqlite')).mode & 0o777).toString(8), '600');
    await stop(c);
  });
});

describe('/readyz', () => {
  it('fails while the store cannot write (a full disk); /healthz stays ok', async (t) => {
    const disk = tinyDisk(2048);
    if (!disk) return t.skip('needs root to mount a small tmpfs');
    const { c, url } = await serve(sqliteData(join(disk, 'data')));
    assert.deepEqual(await (await fetch(`${url}/readyz`)).json(), { status: 'ready' });
    fill(disk);
    // Writes that grow the database now fail: a big room is a big write.
    const app = /sdkAppId:\s+(\d+)/.exec(c.output.stderr)![1];
    const curl = /curl -s -X POST '([^']+)'/.exec(c.output.stderr)![1];
    await waitFor('/readyz to fail on the full disk', async () => {
      await fetch(curl.replace('create_room', 'create_room'), {
        method: 'POST',
        body: JSON.stringify({ RoomInfo: { RoomId: `r${Math.random()}`, RoomType: 'Conference', CustomInfo: 'x'.repeat(2000), Name: 'y'.repeat(100) } }),
      });
      return (await fetch(`${url}/readyz`)).status === 503;
    });
    assert.ok(app);
    assert.equal((await fetch(`${url}/healthz`)).status, 200, 'liveness does not depend on writes');
    await stop(c);
  });
});

describe('npm start', () => {
  it('SIGTERM to `npm start` reaches the server, which stops', async () => {
    const port = await freePort();
    const data = sqliteData();
    const c = spawnCli('npm', ['start', '--silent', '--', '--port', String(port), '--data', data.dataDir]);
    const url = `http://127.0.0.1:${port}`;
    await waitReady(c, url);
    c.child.kill('SIGTERM');
    await c.exited;
    await waitFor('the server to stop listening', async () => {
      try {
        await fetch(`${url}/healthz`);
        return false;
      } catch {
        return true;
      }
    });
  });
});

describe('the development app', () => {
  it('has Polyv credentials, and the printed signed Polyv curl works', async () => {
    const { c, url } = await serve(newData());
    const banner = c.output.stderr;
    const tencent = /curl -s -X POST '([^']+)' -d '([^']+)'/.exec(banner);
    const polyv = /curl -s '([^']+\/live\/[^']+)'/.exec(banner);
    assert.ok(tencent && polyv, banner);
    assert.match(banner, /polyv:\s+appId \S+, appSecret \S+/);
    const created = await (await fetch(tencent[1], { method: 'POST', body: tencent[2] })).json();
    assert.equal(created.ErrorCode, 0, created.ErrorInfo);
    assert.ok(polyv[1].startsWith(`${url}/live/`), polyv[1]);
    const listed = await (await fetch(polyv[1])).json();
    assert.deepEqual(listed, { code: 200, status: 'success', message: '', data: [] });
    // Signed once: the same request again is a replay.
    assert.equal((await (await fetch(polyv[1])).json()).code, 400);
    await stop(c);
  });
});

describe('a second signal', () => {
  it("ends a cluster node's shutdown at once, with exit code 1, instead of waiting out the seat grace", async (t) => {
    const skip = await redisSkip();
    if (skip) return t.skip(skip);
    const bus = freshPrefixUrl();
    after(() => dropPrefix(bus));
    const config = join(newDir(), 'config.json');
    writeFileSync(config, JSON.stringify({ apps: [APP], realtime: { seatGraceSeconds: 600 } }));
    const { c, url } = await serve(newData(), ['--bus', bus, '--node-id', 'second-signal', '--config', config]);
    assert.equal((await tencentCall(url, 'room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'r1', RoomType: 'Conference' } })).ErrorCode, 0);
    const member = await RawClient.connect({ url } as TestServer, 'ann', 'r1');
    c.child.kill('SIGTERM');
    // Handed over: the node now holds ann's place for the grace (600 s) before it exits.
    assert.equal((await member.closed).code, 1012);
    c.child.kill('SIGINT');
    const { code } = await Promise.race([
      c.exited,
      sleep(DEADLINE_MS, undefined, { ref: false }).then(() => assert.fail(`still running after ${DEADLINE_MS} ms: ${c.output.stderr}`)),
    ]);
    assert.equal(code, 1, c.output.stderr);
    assert.match(c.output.stderr, /^rostrum: a second signal \(SIGINT\): exiting now, without finishing the shutdown$/m);
  });
});
