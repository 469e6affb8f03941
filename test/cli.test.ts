// The real `rostrum serve` as a child process: config and store errors, the development app and
// its printed curl command, /healthz, and a clean exit on SIGTERM. Servers run on the suite's
// store (ROSTRUM_TEST_STORE) through --store.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { genUserSig } from '../src/auth/usersig.js';
import { ConfigError, parseConfig, readConfigFile } from '../src/config.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { APP, asAdmin, freePort, startTestServer, storeArgs } from './support/harness.js';
import { cleanUp, cli, newData, newDir, serve, stop, waitFor } from './support/cli.js';
import { dropSchema, freshSchema, pgSkip, urlWithSchema } from './contract/postgres-support.js';

after(cleanUp);

describe('rostrum serve: invalid config', () => {
  it('exits with code 2 and a message naming the offending key', async () => {
    const dir = newDir();
    const write = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const app = { sdkAppId: 1400000001, secretKey: 'k', admins: ['administrator'] };
    const cases: [string, RegExp][] = [
      [write('bad-json.json', '{"apps": ['), /not valid JSON/],
      [write('wrong-type.json', JSON.stringify({ apps: [{ ...app, sdkAppId: '1400000001' }] })), /apps\.0\.sdkAppId/],
      [write('no-secret.json', JSON.stringify({ apps: [{ sdkAppId: 1400000001, admins: ['administrator'] }] })), /apps\.0\.secretKey/],
      [write('ftp-callback.json', JSON.stringify({ apps: [{ ...app, callback: { url: 'ftp://x/cb' } }] })), /apps\.0\.callback\.url: /],
      [write('userinfo-callback.json', JSON.stringify({ apps: [{ ...app, callback: { url: 'http://ops:hunter2hunter2@x/cb' } }] })), /apps\.0\.callback\.url: .*without a user or password$/m],
    ];
    // JSON errors: where, never the text around it (a secret may be right there).
    const secret = 'hunter2hunter2';
    cases.push(
      [write('bare-secret.json', `{"apps":[{"sdkAppId":1400000001,"secretKey":${secret},"admins":["a"]}]}`), /not valid JSON: unexpected character at line 1, column 45$/m],
      [write('secret-then-junk.json', `{"apps":[{"sdkAppId":1400000001,\n"secretKey":"${secret}" "admins":["a"]}]}`), /not valid JSON: expected ',' or '}' after property value at line 2, column 30$/m],
      [write('open-secret.json', `{"apps":[{"sdkAppId":1400000001,"secretKey":"${secret}`), /not valid JSON: unterminated string at line 1, column 60$/m],
    );
    const dataDir = join(dir, 'data');
    await Promise.all(
      cases.map(async ([config, message]) => {
        const port = await freePort();
        const c = cli(['serve', '--port', String(port), '--data', dataDir, '--config', config]);
        const { code } = await c.exited;
        assert.equal(code, 2, `${config}: ${c.output.stderr}`);
        assert.match(c.output.stderr, message);
        assert.match(c.output.stderr, /^rostrum: /);
        assert.doesNotMatch(c.output.stderr, /hunter2/, 'the message does not repeat the file');
        assert.equal(c.output.stderr.trim().split('\n').length, 1, c.output.stderr);
      }),
    );
  });
});

describe('rostrum serve: the bus setting', () => {
  it('refuses a bad bus, or a Redis it cannot reach, with exit code 2 and one line', async () => {
    const dir = newDir();
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--bus', 'kafka://q'], {}, /^rostrum: invalid --bus: unsupported bus "kafka:\/\/q"; use local or a redis:\/\/ URL/],
      [[], { ROSTRUM_BUS: 'redis://h?prefix=a b' }, /^rostrum: invalid ROSTRUM_BUS: prefix must be/],
      [['--store', 'memory', '--bus', `redis://u:hunter2@127.0.0.1:${await freePort()}`], {}, /^rostrum: cannot start: cannot reach Redis at 127\.0\.0\.1:\d+: .*ECONNREFUSED/],
      [['--store', 'memory', '--node-id', 'a:b'], {}, /^rostrum: invalid node id: "a:b"/],
    ];
    await Promise.all(
      cases.map(async ([args, env, message]) => {
        const c = cli(['serve', '--port', String(await freePort()), '--data', join(dir, 'data'), ...args], env);
        const { code } = await c.exited;
        assert.equal(code, 2, c.output.stderr);
        assert.match(c.output.stderr, message);
        assert.equal(c.output.stderr.trim().split('\n').length, 1, c.output.stderr);
        assert.doesNotMatch(c.output.stderr, /hunter2/, 'no password in the message');
      }),
    );
  });
});

describe('rostrum serve: the store setting', () => {
  it('refuses an unsupported or unparsable store with exit code 2 and one line naming where it came from', async () => {
    const dir = newDir();
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ store: 'mongodb://db' }));
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--store', 'mysql://db'], {}, /^rostrum: invalid --store: unsupported store "mysql:\/\/db"/],
      [['--store', 'postgres://[db'], {}, /^rostrum: invalid --store: .* is not a valid PostgreSQL URL/],
      [['--store', 'postgres://u:hunter2@h/db?schema=a;drop'], {}, /^rostrum: invalid --store: invalid schema name/],
      // A password with an unencoded / or # makes the URL unparsable; one with @ parses (at the last @).
      [['--store', 'postgres://u:hun/ter2@h/db'], {}, /^rostrum: invalid --store: postgres:\/\/u:\*\*\*@h\/db is not a valid PostgreSQL URL/],
      [['--store', 'postgres://u:hun#ter2@h/db'], {}, /^rostrum: invalid --store: postgres:\/\/u:\*\*\*@h\/db is not a valid PostgreSQL URL/],
      [['--store', 'memory', '--bus', 'redis://:hun/ter2@h'], {}, /^rostrum: invalid --bus: redis:\/\/:\*\*\*@h is not a valid Redis URL/],
      [[], { ROSTRUM_STORE: 'sqlite3' }, /^rostrum: invalid ROSTRUM_STORE: unsupported store/],
      [['--config', config], {}, /^rostrum: invalid config: store: unsupported store/],
    ];
    await Promise.all(
      cases.map(async ([args, env, message]) => {
        const c = cli(['serve', '--port', String(await freePort()), '--data', join(dir, 'data'), ...args], env);
        const { code } = await c.exited;
        assert.equal(code, 2, c.output.stderr);
        assert.match(c.output.stderr, message);
        assert.equal(c.output.stderr.trim().split('\n').length, 1, c.output.stderr);
        assert.doesNotMatch(c.output.stderr, /hunter2/, 'no password in the message');
      }),
    );
  });

  it('logs the store and the bus without a password, in the URL or its query', async () => {
    const skip = await pgSkip();
    if (skip) return;
    const schema = freshSchema();
    const store = new URL(urlWithSchema(schema));
    store.password = 'hunter2@x'; // trust authentication: any password is taken
    store.searchParams.set('sslpassword', 'hunter2sp');
    const data = { dataDir: join(newDir(), 'data'), store: undefined, remove: async () => undefined };
    try {
      const { c } = await serve(data, ['--store', store.toString().replace('hunter2%40x', 'hunter2@x')], { ROSTRUM_LOG_LEVEL: 'info' });
      await stop(c);
      assert.match(c.output.stdout, /"store":"postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:5432\/test\?schema=\w+&sslpassword=\*\*\*"/, c.output.stdout);
      assert.doesNotMatch(c.output.stdout + c.output.stderr, /hunter2/);
    } finally {
      await dropSchema(schema);
    }
  });

  it('takes --store over ROSTRUM_STORE over the config file', async () => {
    const dir = newDir();
    const config = join(dir, 'config.json');
    // Nothing listens on port 1: starting on this store would fail.
    writeFileSync(config, JSON.stringify({ store: 'postgres://nobody@127.0.0.1:1/none' }));
    const data = { dataDir: join(dir, 'data'), store: undefined, remove: async () => undefined };
    const flag = await serve(data, ['--store', 'memory', '--config', config], { ROSTRUM_STORE: 'bogus' });
    await stop(flag.c);
    const env = await serve(data, ['--config', config], { ROSTRUM_STORE: 'memory' });
    await stop(env.c);
  });
});

describe('rostrum webhooks: a store it cannot use', () => {
  it('exits with code 2 and one line, without the store\'s password', async () => {
    const dir = newDir();
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const cases: [string[], RegExp][] = [
      [['failed', '--store', `postgres://postgres:hunter2@127.0.0.1:${await freePort()}/test`], /^rostrum: webhooks: cannot use the store postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/test: .*ECONNREFUSED/],
      [['retry', '--all', '--store', `postgres://postgres:hunter2@127.0.0.1:${await freePort()}/test`], /^rostrum: webhooks: cannot use the store /],
      [['failed', '--data', join(file, 'data')], /^rostrum: webhooks: .*\/data is not the data directory of a Rostrum server \(give the server's --data DIR\)\n$/],
      // A directory no server has used (a mistyped one) is not made and listed as empty.
      [['failed', '--data', join(dir, 'typo')], /^rostrum: webhooks: .*\/typo is not the data directory of a Rostrum server/],
      [['retry', '--all', '--data', ''], /^rostrum: webhooks: --data must not be empty\n$/],
      // An empty --config (an unset shell variable) is refused, not read as "no config file".
      [['retry', '--all', '--data', dir, '--config', ''], /^rostrum: webhooks: --config must not be empty\n$/],
      [['failed', '--config=', '--data', dir], /^rostrum: webhooks: --config must not be empty\n$/],
      [['failed', '--config', file, '--config', ''], /^rostrum: webhooks: --config must not be empty\n$/],
    ];
    await Promise.all(
      cases.map(async ([args, message]) => {
        const c = cli(['webhooks', ...args]);
        const { code } = await c.exited;
        assert.equal(code, 2, c.output.stderr);
        assert.match(c.output.stderr, message);
        assert.equal(c.output.stderr.trim().split('\n').length, 1, c.output.stderr);
        assert.doesNotMatch(c.output.stderr, /hunter2/);
      }),
    );
    assert.ok(!existsSync(join(dir, 'typo')), 'the mistyped directory was not made');
  });
});

describe('rostrum webhooks failed: what a receiver wrote', () => {
  it('shows its control characters as \\uXXXX, never sends them to the terminal', async () => {
    // A receiver that accepts nothing: its ErrorCode (text with bidi overrides) becomes the last error.
    const rx = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ErrorCode":"\\u202eevil\\u2066"}'));
    });
    await new Promise<void>((resolve) => rx.listen(0, '127.0.0.1', resolve));
    const data = newData();
    const s = await startTestServer({
      data,
      apps: [{ ...APP, callback: { url: `http://127.0.0.1:${(rx.address() as AddressInfo).port}/cb` } }],
      callbacks: { backoffBaseMs: 20, backoffMaxMs: 50, giveUpHours: 0.5 / 3600 },
    });
    try {
      await asAdmin(s, { type: 'createRoom', roomId: 'rx-evil' });
      const run = async () => {
        const c = cli(['webhooks', 'failed', '--data', data.dataDir, ...storeArgs(data)]);
        await c.exited;
        return c.output.stdout;
      };
      let out = '';
      await waitFor('a given-up delivery', async () => (out = await run()).includes('rx-evil'));
      assert.doesNotMatch(out, /[\u202e\u2066]/, out);
      assert.ok(out.includes('ErrorCode "\\u202eevil\\u2066"'), out);
    } finally {
      await s.close();
      rx.close();
    }
  });
});

describe('rostrum serve: environment variables', () => {
  it('takes one set to the empty string as unset: the default host and log level, no node id', async () => {
    // As a compose file's `ROSTRUM_HOST:` with no value leaves it. An empty host would listen on
    // every interface.
    const env = { ROSTRUM_HOST: '', ROSTRUM_NODE_ID: '', ROSTRUM_LOG_LEVEL: '', ROSTRUM_CONFIG: '', ROSTRUM_STORE: '', ROSTRUM_BUS: '' };
    const { c, port } = await serve(newData(), [], env);
    await stop(c);
    assert.match(c.output.stdout, new RegExp(`"url":"http://127\\.0\\.0\\.1:${port}","store":[^\\n]*"msg":"rostrum listening"`), c.output.stdout);
  });

  it('rostrum webhooks takes them the same way: an empty ROSTRUM_STORE or ROSTRUM_CONFIG is unset', async () => {
    // The default store (SQLite in the data directory) and no config file: it gets as far as
    // finding that no server has used the directory.
    const c = cli(['webhooks', 'failed', '--data', join(newDir(), 'data')], { ROSTRUM_STORE: '', ROSTRUM_CONFIG: '' });
    const { code } = await c.exited;
    assert.equal(code, 2, c.output.stderr);
    assert.match(c.output.stderr, /^rostrum: webhooks: .* is not the data directory of a Rostrum server/);
  });

  it('refuses a log level pino does not know, and an empty --host, --data or --config, with exit code 2 and one line', async () => {
    const dir = newDir();
    const cases: [string[], Record<string, string>, RegExp][] = [
      [[], { ROSTRUM_LOG_LEVEL: 'verbose' }, /^rostrum: invalid ROSTRUM_LOG_LEVEL: "verbose" \(fatal, error, warn, info, debug, trace or silent\)$/m],
      [['--host', ''], {}, /^rostrum: invalid --host: empty \(give an address to listen on; 0\.0\.0\.0 for all\)$/m],
      [['--data', ''], {}, /^rostrum: invalid --data: empty \(give the data directory\)$/m],
      // Not a start with a fresh development app (and its secret key printed).
      [['--config', ''], {}, /^rostrum: invalid --config: empty \(give the configuration file, or leave the flag out\)$/m],
      [['--config='], {}, /^rostrum: invalid --config: empty/m],
    ];
    await Promise.all(
      cases.map(async ([args, env, message]) => {
        const c = cli(['serve', '--port', String(await freePort()), '--data', join(dir, 'data'), '--store', 'memory', ...args], env);
        const outcome = await Promise.race([c.exited.then(({ code }) => ({ code })), c.listening.then((url) => ({ url }))]);
        if ('url' in outcome) {
          await stop(c);
          assert.fail(`serve ${args.join(' ')} started at ${outcome.url} instead of refusing: ${c.output.stderr}`);
        }
        assert.equal(outcome.code, 2, c.output.stderr);
        assert.match(c.output.stderr, message);
        assert.equal(c.output.stderr.trim().split('\n').length, 1, c.output.stderr);
      }),
    );
  });
});

describe('rostrum --help', () => {
  it('prints the usage on stdout with exit code 0, also after a command (serve --help, rooms list -h)', async () => {
    const runs = [['--help'], ['serve', '--help'], ['rooms', 'list', '--help'], ['usersig', '-h'], ['kick', 'r1', 'u1', '--help'], ['webhooks', 'failed', '--help']];
    await Promise.all(
      runs.map(async (args) => {
        const c = cli(args);
        const { code } = await c.exited;
        assert.equal(code, 0, `${args.join(' ')}: ${c.output.stderr}`);
        assert.match(c.output.stdout, /^usage:\n  rostrum serve /, args.join(' '));
        assert.equal(c.output.stderr, '');
      }),
    );
  });
});

describe('config file validation', () => {
  // The same check the CLI runs before starting (above); here without a process per case.
  it('names the offending key', () => {
    const app = { sdkAppId: 1400000001, secretKey: 'k', admins: ['administrator'] };
    const cases: [unknown, RegExp][] = [
      [{ apps: [{ ...app, admins: [] }] }, /apps\.0\.admins/],
      [{ apps: [app], prot: 8080 }, /: prot: /],
      [{ apps: [app, app] }, /apps\.1\.sdkAppId: duplicate/],
      [{ apps: [{ ...app, rateLimit: { perCommandPerSecond: -1 } }] }, /apps\.0\.rateLimit\.perCommandPerSecond/],
      // A misspelt key is refused wherever it is, not ignored.
      [{ apps: [{ ...app, rateLimit: { perCommandPerSec: 5 } }] }, /apps\.0\.rateLimit\.perCommandPerSec/],
      [{ apps: [{ ...app, polyv: { appId: 'a', appSecret: 's', userid: 'u' } }] }, /apps\.0\.polyv\.userid/],
      [{ realtime: { heartbeatSecond: 5 } }, /realtime\.heartbeatSecond/],
      [{ nodeId: 'n'.repeat(65) }, /nodeId/],
      [{ bodyLimit: 'big' }, /bodyLimit/],
      [{ store: 'redis://localhost' }, /: store: unsupported store/],
      [{ store: 'postgres://h/db?schema=a-b' }, /: store: invalid schema name/],
      // Read before anything starts, naming the key: not a "cannot start" once the store is open.
      [{ trustProxy: ['10.0.0.1', 'proxy.internal'] }, /invalid config: trustProxy\.1: "proxy\.internal" is not an IP address, a CIDR range, loopback, linklocal or uniquelocal$/],
      [{ trustProxy: ['10.0.0.0/33'] }, /invalid config: trustProxy\.0: /],
      // Past 2^31 ms a timer fires at once: such a heartbeat dropped every client within milliseconds.
      [{ realtime: { heartbeatSeconds: 5_000_000 } }, /realtime\.heartbeatSeconds: Expected integer to be less or equal to 86400/],
      [{ realtime: { seatGraceSeconds: 86_401 } }, /realtime\.seatGraceSeconds/],
      [{ realtime: { memberCountIntervalMs: 3_600_001 } }, /realtime\.memberCountIntervalMs/],
      [{ timeouts: { keepAliveSeconds: 86_401 } }, /timeouts\.keepAliveSeconds/],
      [{ timeouts: { headersSeconds: 1e10 } }, /timeouts\.headersSeconds/],
      [{ timeouts: { requestSeconds: 1e10 } }, /timeouts\.requestSeconds/],
      [{ callbacks: { keepFailedDays: 0 } }, /callbacks\.keepFailedDays: Expected number to be greater than 0/],
      [{ callbacks: { keepFailedDays: '7' } }, /callbacks\.keepFailedDays/],
      // How often the server prunes is not a setting (tests shorten it through the server options).
      [{ callbacks: { failedPruneIntervalMs: 100 } }, /callbacks/],
      // An empty list would send nothing, silently (REST and the API require one too).
      [{ apps: [{ ...app, callback: { url: 'http://127.0.0.1:9/cb', commands: [] } }] }, /apps\.0\.callback\.commands: Expected array length to be greater or equal to 1/],
    ];
    // A console password hash scrypt cannot use (hand-edited): refused here, not a 500 at each sign-in.
    const salt = 'AAAAAAAAAAAAAAAAAAAAAA==';
    const hash = Buffer.alloc(32, 7).toString('base64');
    for (const [bad, why] of [
      [`scrypt$3$8$1$${salt}$${hash}`, /N must be a power of 2/],
      [`scrypt$16384$0$1$${salt}$${hash}`, /r must be/],
      [`scrypt$16384$8$0$${salt}$${hash}`, /p must be/],
      [`scrypt$2097152$8$1$${salt}$${hash}`, /N must be a power of 2 from 2 to 2\^20/],
      [`scrypt$16384$8$1$${salt}$AAAA`, /the hash is shorter than 16 bytes/],
      // A password pasted in place of its hash: said so, not as a pattern.
      ['correct horse battery staple', /not a hash from rostrum hash-password \(scrypt\$N\$r\$p\$salt\$hash\)$/],
    ] as const) {
      cases.push([{ apps: [{ ...app, consolePassword: bad }] }, new RegExp(`apps\\.0\\.consolePassword: ${why.source}`)]);
    }
    for (const [config, message] of cases) {
      assert.throws(() => parseConfig(config), (e: Error) => e instanceof ConfigError && message.test(e.message));
    }
    // Fractions of a day are fine (an hour, a second).
    assert.equal(parseConfig({ callbacks: { keepFailedDays: 1 / 86400 } }).callbacks?.keepFailedDays, 1 / 86400);
    assert.throws(() => readConfigFile(join(newDir(), 'missing.json')), (e: Error) => e instanceof ConfigError && /cannot read config file/.test(e.message));
  });
});

describe('rostrum serve: the development app', () => {
  it('prints the app and a working curl command, serves /healthz, keeps the app across restarts, stops on SIGTERM', async () => {
    const data = newData();
    const first = await serve(data);
    // The banner is for the person (stderr); the log stream (stdout) never holds the secret.
    const printed = first.c.output.stderr;
    const sdkAppId = Number(/sdkAppId:\s+(\d+)/.exec(printed)?.[1]);
    const secretKey = /secretKey:\s+(\S+)/.exec(printed)?.[1];
    const admin = /admin:\s+(\S+)/.exec(printed)?.[1];
    assert.ok(sdkAppId > 0 && secretKey && admin, printed);
    const curl = /curl -s -X POST '([^']+)' -d '([^']+)'/.exec(printed);
    assert.ok(curl, `no curl command in: ${printed}`);
    const [, curlUrl, curlBody] = curl;
    assert.ok(curlUrl.startsWith(`${first.url}/v4/room_engine_http_srv/create_room?`), curlUrl);

    const health = await fetch(`${first.url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });

    // What curl would send: the printed URL and body, a form content type (curl -d).
    const created = await fetch(curlUrl, { method: 'POST', body: curlBody, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(created.status, 200);
    const answer = (await created.json()) as { ErrorCode: number; ErrorInfo: string };
    assert.equal(answer.ErrorCode, 0, answer.ErrorInfo);
    const roomId = JSON.parse(curlBody).RoomInfo.RoomId as string;

    const getRoom = async (url: string) => {
      const sig = genUserSig(sdkAppId, secretKey!, admin!, 600);
      const res = await fetch(`${url}/v4/room_engine_http_srv/get_room_info?sdkappid=${sdkAppId}&identifier=${admin}&usersig=${sig}&random=1&contenttype=json`, {
        method: 'POST',
        body: JSON.stringify({ RoomId: roomId }),
      });
      return (await res.json()) as { ErrorCode: number; Response?: { RoomInfo: { RoomId: string; MaxSeatCount: number } } };
    };
    const room = await getRoom(first.url);
    assert.equal(room.ErrorCode, 0);
    assert.equal(room.Response!.RoomInfo.MaxSeatCount, 8);
    await stop(first.c);

    // The second start finds the same app (and the room) in the data directory (or schema).
    const second = await serve(data);
    assert.match(second.c.output.stderr, new RegExp(`sdkAppId:\\s+${sdkAppId}\\b`));
    assert.match(second.c.output.stderr, new RegExp(`secretKey:\\s+${secretKey}\\b`));
    assert.ok(!first.c.output.stdout.includes(secretKey!) && !second.c.output.stdout.includes(secretKey!), 'no secret in the log stream');
    assert.equal((await getRoom(second.url)).ErrorCode, 0);
    await stop(second.c);
  });

  it('says a memory store\'s development app lasts for this run only', async () => {
    const { c } = await serve(newData(), ['--store', 'memory']);
    assert.match(c.output.stderr, /using a development app made for this run \(the memory store keeps nothing: a new one at every start\)/);
    assert.doesNotMatch(c.output.stderr, /kept in the/);
    await stop(c);
  });

  it('does not print a development app when apps are configured', async () => {
    const dir = newDir();
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ apps: [{ sdkAppId: 1400000001, secretKey: 'k', admins: ['administrator'] }] }));
    const { c } = await serve(newData(), ['--config', config]);
    assert.doesNotMatch(c.output.stdout + c.output.stderr, /development app|secretKey/);
    await stop(c);
  });
});
