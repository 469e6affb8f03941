// The operator CLI (`rostrum rooms|kick|ban|unban|audit`) as a real child process against a real
// server: tables by default, --json, credentials from flags or env, and clear failures.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { APP, adminSig, asAdmin, enter, startTestServer, type TestServer } from './support/harness.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let s: TestServer;

function rostrum(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ROSTRUM_')));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

/** Runs with --url and --token, asserting exit 0. */
async function ok(...args: string[]): Promise<string> {
  const r = await rostrum([...args, '--url', s.url, '--token', adminSig()]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

before(async () => {
  s = await startTestServer();
  await asAdmin(s, { type: 'createRoom', roomId: 'studio-1', name: 'Studio one', isSeatEnabled: true, maxSeatCount: 3 });
  await asAdmin(s, { type: 'createRoom', roomId: 'lobby' });
  for (const u of ['ann', 'ben', 'cat']) await enter(s, 'studio-1', u, { clientIp: '10.3.3.3' });
  await s.server.engine.execute(APP.sdkAppId, { kind: 'user', userId: 'ann' }, { type: 'takeSeat', roomId: 'studio-1', index: 0 });
});
after(() => s.close());

describe('rostrum operator CLI', () => {
  it('rooms list prints a table, --json the API answer; --search filters', async () => {
    const text = await ok('rooms', 'list');
    const lines = text.trim().split('\n');
    assert.match(lines[0], /^ROOM\s+NAME\s+TYPE\s+OWNER\s+MEMBERS\s+SEATS$/);
    assert.match(lines[1], /^lobby\s/);
    assert.match(lines[2], /^studio-1\s+Studio one\s+Conference\s+administrator\s+3\s+1\/3$/);
    const json = JSON.parse(await ok('rooms', 'list', '--json', '--search', 'studio'));
    assert.deepEqual(json.items.map((r: any) => r.roomId), ['studio-1']);
  });

  it('rooms show prints seats and members', async () => {
    const text = await ok('rooms', 'show', 'studio-1');
    assert.match(text, /^studio-1  Studio one/);
    assert.match(text, /\n0\s+ann\s/);
    assert.match(text, /\nben\s+Member\s+.*10\.3\.3\.3/);
  });

  it('rooms show says only the first 100 members are listed when there are more, not when there are exactly 100', async () => {
    for (const [roomId, count] of [['full-100', 100], ['full-101', 101]] as const) {
      await asAdmin(s, { type: 'createRoom', roomId });
      for (let i = 0; i < count; i++) await enter(s, roomId, `m${String(i).padStart(3, '0')}`);
    }
    const exact = await ok('rooms', 'show', 'full-100');
    assert.match(exact, /\nm099\s/);
    assert.doesNotMatch(exact, /first 100 members/);
    const more = await ok('rooms', 'show', 'full-101');
    assert.match(more, /\nm099\s/);
    assert.doesNotMatch(more, /\nm100\s/);
    assert.match(more, /\(first 100 members\)/);
  });

  it('prints what users wrote with its control characters shown, never sent to the terminal', async () => {
    const hostile = 'evil\x1b]0;o\x07\x1b[2J\u202ex\r\nrow\t\x7f\x9b'; // a name card holds 32 bytes
    await asAdmin(s, { type: 'createRoom', roomId: 'hostile' });
    await s.server.engine.execute(APP.sdkAppId, { kind: 'user', userId: 'eve' }, { type: 'enterRoom', roomId: 'hostile', clientIp: '10.4.4.4', connId: '', nick: hostile });
    await asAdmin(s, { type: 'banUsers', roomId: 'hostile', userIds: ['mallory'], durationSec: null, reason: hostile, origin: 'tencent' });
    for (const args of [['rooms', 'show', 'hostile'], ['audit', '--room', 'hostile'], ['ban', 'hostile', 'trudy', '--reason', hostile]]) {
      const text = await ok(...args);
      assert.doesNotMatch(text, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/, `${args.join(' ')}: ${JSON.stringify(text)}`);
      assert.ok(text.includes('evil\\u001b]0;o\\u0007\\u001b[2J\\u202ex\\u000d\\u000arow\\u0009\\u007f\\u009b'), `${args.join(' ')}: ${text}`);
    }
    // --json stays the API's JSON, escaped as JSON escapes it.
    const json = JSON.parse(await ok('rooms', 'show', 'hostile', '--json'));
    assert.equal(json.members.find((m: any) => m.userId === 'eve').nameCard, hostile);
  });

  it('kick, ban (with duration and by IP), unban and audit, with credentials from env', async () => {
    const started = Date.now();
    const env = { ROSTRUM_URL: s.url, ROSTRUM_SDKAPPID: String(APP.sdkAppId), ROSTRUM_KEY: APP.secretKey, ROSTRUM_USER: 'administrator' };
    const run = async (...args: string[]) => {
      const r = await rostrum(args, env);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    assert.equal(await run('kick', 'studio-1', 'ann', '--off-seat', '--reason', 'mic noise'), 'took ann off their seat in studio-1\n');
    assert.equal(await run('kick', 'studio-1', 'ben', '--reason', 'rude'), 'kicked ben out of studio-1\n');
    const banned = await run('ban', 'studio-1', 'cat', '--duration', '3600', '--reason', 'spam');
    assert.match(banned, /^SCOPE\s+TYPE\s+SUBJECT\s+EXPIRES\s+REASON\nstudio-1\s+userId\s+cat\s+\d{4}-\d\d-\d\dT\S+Z\s+spam\n$/);
    assert.match(await run('ban', '--app', '--ip', '10.66.0.1'), /\(app\)\s+ip\s+10\.66\.0\.1\s+never/);
    assert.equal(await run('unban', 'studio-1', 'cat'), 'lifted 1 entry\n');
    assert.equal(await run('unban', '--app', '--ip', '10.66.0.1'), 'lifted 1 entry\n');
    const audit = await run('audit', '--room', 'studio-1');
    const rows = audit.trim().split('\n');
    assert.match(rows[0], /^TIME\s+SURFACE\s+ACTOR\s+ACTION\s+ROOM\s+TARGET\s+REASON\s+EXPIRES$/);
    assert.deepEqual(
      rows.slice(1).map((r) => r.split(/\s{2,}/).slice(1, 6).join(' ')),
      ['api administrator unban studio-1 cat', 'api administrator ban studio-1 cat', 'api administrator kickOut studio-1 ben', 'api administrator kickOffSeat studio-1 ann'],
    );
    const json = JSON.parse(await run('audit', '--json', '--action', 'ban', '--since', new Date(started).toISOString()));
    assert.deepEqual(json.items.map((e: any) => e.target), ['10.66.0.1', 'cat']);
  });

  it('takes a ROSTRUM_* variable set to the empty string as unset (the admin defaults to administrator)', async () => {
    const r = await rostrum(['rooms', 'list', '--url', s.url], { ROSTRUM_TOKEN: '', ROSTRUM_SDKAPPID: String(APP.sdkAppId), ROSTRUM_KEY: APP.secretKey, ROSTRUM_USER: '' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ROOM\s/);
  });

  it('fails clearly: no credentials (2), bad usage (2), an API error (1), an unreachable server (1)', async () => {
    let r = await rostrum(['rooms', 'list', '--url', s.url]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^rostrum: credentials needed/);
    // Bad usage is told as such before credentials are looked for.
    for (const args of [['rooms'], ['rooms', 'lst'], ['rooms', 'show'], ['deliveries'], ['kick', 'studio-1']]) {
      r = await rostrum([...args, '--url', s.url]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /^rostrum: usage: rostrum /, args.join(' '));
    }
    // Without credentials too: bad usage is told first.
    for (const args of [['rooms', 'list'], ['audit'], ['deliveries', 'list']]) {
      r = await rostrum([...args, '--limit', '0', '--url', s.url]);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stderr, 'rostrum: invalid --limit: 0 (a page holds at least 1)\n');
    }
    r = await rostrum(['ban', 'studio-1', 'cat', '--duration', '0', '--url', s.url]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'rostrum: invalid --duration: 0 (at least 1 second; leave it out for a ban until lifted)\n');
    r = await rostrum(['ban', 'studio-1', '--url', s.url, '--token', adminSig()]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^rostrum: usage: rostrum ban/);
    r = await rostrum(['rooms', 'show', 'nope', '--url', s.url, '--token', adminSig()]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'rostrum: room_not_found: room nope does not exist\n');
    r = await rostrum(['rooms', 'list', '--url', s.url, '--token', 'not-a-sig']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^rostrum: unauthenticated: /);
    r = await rostrum(['rooms', 'list', '--url', 'http://127.0.0.1:1', '--token', adminSig()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^rostrum: cannot reach http:\/\/127\.0\.0\.1:1/);
  });

  it('never repeats a secret: a user and password in --url, a bad --url, the key', async () => {
    for (const url of [`http://admin:hunter2@127.0.0.1:${new URL(s.url).port}`, 'http://admin:hunter2@127.0.0.1:1', 'http://admin:hunter2@[::1']) {
      const r = await rostrum(['rooms', 'list', '--url', url, '--sdkappid', String(APP.sdkAppId), '--key', 'hunter2-key']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^rostrum: invalid --url: /);
      assert.doesNotMatch(r.stderr + r.stdout, /hunter2/);
    }
    const r = await rostrum(['rooms', 'list'], { ROSTRUM_URL: 'http://u:hunter2@127.0.0.1:1', ROSTRUM_TOKEN: adminSig() });
    assert.equal(r.code, 2, r.stderr);
    assert.doesNotMatch(r.stderr, /hunter2/);
  });

  it('refuses the room ids "." and ".." (a URL reads them as path steps: ban .. would be an app-wide ban), sending nothing', async () => {
    const deny = async (roomId: string) => ((await asAdmin(s, { type: 'listDeny', roomId, limit: 100, offset: 0 })) as { total: number }).total;
    for (const roomId of ['.', '..']) {
      await asAdmin(s, { type: 'createRoom', roomId });
      await enter(s, roomId, 'dot-member');
    }
    // An app-wide entry that `unban .. USER` must not lift.
    await asAdmin(s, { type: 'banUsers', roomId: '', userIds: ['dot-banned'], durationSec: null, reason: 'app-wide', origin: 'tencent' });
    const appWide = await deny('');
    const auditBefore = ((await asAdmin(s, { type: 'listAudit', limit: 500 })) as { entries: unknown[] }).entries.length;
    for (const roomId of ['.', '..']) {
      for (const args of [
        ['ban', roomId, 'dot-member'],
        ['ban', roomId, '--ip', '10.77.0.1', '--duration', '60'],
        ['unban', roomId, 'dot-banned'],
        ['unban', roomId, '--ip', '10.77.0.1'],
        ['kick', roomId, 'dot-member'],
        ['kick', roomId, 'dot-member', '--off-seat'],
        ['rooms', 'show', roomId],
      ]) {
        // With credentials (refused before any request) and without (bad usage is told first).
        for (const creds of [['--token', adminSig()], []]) {
          const r = await rostrum([...args, '--url', s.url, ...creds]);
          assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
          assert.equal(r.stdout, '');
          assert.match(r.stderr, new RegExp(`^rostrum: invalid ROOM ${roomId.replace(/\./g, '\\.')}: a room called "\\." or "\\.\\." cannot be named in an API path`), args.join(' '));
        }
      }
      assert.equal(await deny(roomId), 0);
    }
    assert.equal(await deny(''), appWide, 'no app-wide entry was made or lifted');
    assert.equal(((await asAdmin(s, { type: 'listAudit', limit: 500 })) as { entries: unknown[] }).entries.length, auditBefore, 'nothing was done');
    for (const roomId of ['.', '..']) await asAdmin(s, { type: 'getMember', roomId, userId: 'dot-member' });
    // A room whose id only contains dots is named as any other.
    await asAdmin(s, { type: 'createRoom', roomId: '...' });
    await enter(s, '...', 'dot-member');
    assert.match(await ok('kick', '...', 'dot-member'), /^kicked dot-member out of \.\.\.\n$/);
  });
});
