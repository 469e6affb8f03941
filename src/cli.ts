#!/usr/bin/env node
// rostrum serve | usersig | webhooks
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { ConfigError, parseBusSpec, parseStoreSpec, readConfigFile, redactStore, toApp, type FileConfig } from './config.js';
import { genUserSig } from './auth/usersig.js';
import { startServer } from './server.js';
import { startupMessage } from './startup-error.js';
import { polyvSign } from './dialects/polyv/sign.js';
import { WEBHOOKS_USAGE, webhooks } from './callbacks/cli.js';
import { ApiFailure, OPERATOR_USAGE, UsageError, operator } from './operator-cli.js';
import { hashPassword } from './console/password.js';
import { env } from './env.js';

const USAGE = `usage:
  rostrum serve [--port N] [--host H] [--data DIR] [--config FILE] [--store sqlite|postgres://URL|memory]
                [--bus local|redis://URL] [--node-id ID]
      env: ROSTRUM_PORT, ROSTRUM_HOST, ROSTRUM_DATA, ROSTRUM_CONFIG, ROSTRUM_STORE, ROSTRUM_BUS, ROSTRUM_NODE_ID,
           ROSTRUM_LOG_LEVEL
  rostrum usersig --sdkappid N --key KEY --user USERID [--expire SECONDS]
${WEBHOOKS_USAGE}${OPERATOR_USAGE}  rostrum hash-password      reads a console password on stdin, prints its scrypt hash for apps[].consolePassword
`;

function fail(message: string): never {
  process.stderr.write(`rostrum: ${message}\n`);
  process.exit(2);
}

/** A setting and where it came from (for the error message): flag, else env, else the config file. */
function setting(flag: string, flagValue: string | undefined, envName: string, configKey: string, configValue: string | undefined): [string, string | undefined] {
  if (flagValue !== undefined) return [flag, flagValue];
  const fromEnv = env(envName);
  if (fromEnv !== undefined) return [envName, fromEnv];
  return [configKey, configValue];
}

/** pino's levels: another one would stop the start with pino's own message. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Runs a setting's check: a ConfigError exits 2 with its message. */
function checked<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message);
    throw e;
  }
}

/**
 * The value the last `--NAME` of `argv` gives (as parseArgs takes it: the next argument, or after
 * `=`), or undefined when none does; arguments after `--` are not options.
 */
function lastFlagValue(argv: string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') break;
    if (a === `--${name}`) value = argv[++i];
    else if (a.startsWith(`--${name}=`)) value = a.slice(name.length + 3);
  }
  return value;
}

async function serve(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      data: { type: 'string' },
      config: { type: 'string' },
      store: { type: 'string' },
      bus: { type: 'string' },
      'node-id': { type: 'string' },
    },
  });
  const portText = values.port ?? env('ROSTRUM_PORT') ?? '8080';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) fail(`invalid port: ${portText}`);
  const host = values.host ?? env('ROSTRUM_HOST') ?? '127.0.0.1';
  // Empty, Node would listen on every interface.
  if (host === '') fail('invalid --host: empty (give an address to listen on; 0.0.0.0 for all)');
  if (values.data === '') fail('invalid --data: empty (give the data directory)');
  const dataDir = resolve(values.data ?? env('ROSTRUM_DATA') ?? './.rostrum');
  const logLevel = env('ROSTRUM_LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) fail(`invalid ROSTRUM_LOG_LEVEL: ${JSON.stringify(logLevel)} (fatal, error, warn, info, debug, trace or silent)`);
  // Empty, it would read as "no config file": a start with a fresh development app.
  if (values.config === '') fail('invalid --config: empty (give the configuration file, or leave the flag out)');
  const configPath = values.config ?? env('ROSTRUM_CONFIG');
  let config: FileConfig = {};
  if (configPath) config = checked(() => readConfigFile(configPath));
  // Flag > env > config file > default; checked here so a bad setting exits 2 before anything starts.
  const [storeKey, store] = setting('--store', values.store, 'ROSTRUM_STORE', 'config: store', config.store);
  const storeKind = checked(() => parseStoreSpec(store, storeKey).kind);
  const [busKey, bus] = setting('--bus', values.bus, 'ROSTRUM_BUS', 'config: bus', config.bus);
  checked(() => parseBusSpec(bus, busKey));
  const nodeId = values['node-id'] ?? env('ROSTRUM_NODE_ID') ?? config.nodeId;
  if (nodeId !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(nodeId)) fail(`invalid node id: ${JSON.stringify(nodeId)} (letters, digits, _ . -; at most 64)`);
  const server = await startServer({
    host,
    port,
    dataDir,
    store,
    bus,
    apps: (config.apps ?? []).map(toApp),
    trustProxy: config.trustProxy,
    bodyLimit: config.bodyLimit,
    nodeId,
    realtime: config.realtime,
    outboxRetentionHours: config.outboxRetentionHours,
    timeouts: config.timeouts,
    callbacks: config.callbacks,
    auditRetentionDays: config.auditRetentionDays,
    chatRetentionHours: config.chatRetentionHours,
    logger: { level: logLevel },
  }).catch((e: unknown) => fail(startupMessage(e, { host, port, dataDir })));
  const log = server.http.log;
  log.info({ url: server.url, store: storeKind === 'sqlite' ? dataDir : redactStore(store!) }, 'rostrum listening');
  if (parseBusSpec(bus).kind === 'redis') {
    log.info({ bus: redactStore(bus!), nodeId: server.nodeId }, 'cluster node: events cross nodes through Redis');
    if (storeKind !== 'postgres') log.warn({ store: storeKind }, 'a Redis bus joins nodes that share one PostgreSQL store; this store is this process\'s own, so other nodes will not see its state');
    if (nodeId === undefined) log.warn({ nodeId: server.nodeId }, 'no node id given: using a random one; set --node-id (or ROSTRUM_NODE_ID) to one stable per node, so a restart clears its old connections at once');
  }
  if (storeKind === 'memory') log.warn('memory store: nothing is kept after this process exits (tests and benchmarks only)');
  if (server.devApp) {
    // For the person at the terminal, on stderr: the JSON log stream (stdout) never holds a secret.
    process.stderr.write(devAppBanner(server.devApp, server.url, storeKind));
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      // The operator will not wait (a cluster node's seat grace, a store that does not answer).
      // Like a crash: the node's next start, or the liveness sweep, removes what it held.
      process.stderr.write(`rostrum: a second signal (${signal}): exiting now, without finishing the shutdown\n`);
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (process.send) {
    // A parent that started this process with an IPC channel (a process manager, a test) learns
    // where it serves, which `--port 0` leaves to the kernel; last, once a signal stops it cleanly
    // and what it prints at start is out. The channel must not keep the process alive.
    process.send({ listening: server.url });
    process.channel?.unref();
  }
}

function devAppBanner(a: NonNullable<Awaited<ReturnType<typeof startServer>>['devApp']>, url: string, storeKind: string): string {
  const admin = a.admins[0];
  const sig = genUserSig(a.sdkAppId, a.secretKey, admin, 7 * 86400);
  const lines = [
    '',
    storeKind === 'memory'
      ? 'No apps configured: using a development app made for this run (the memory store keeps nothing: a new one at every start).'
      : `No apps configured: using the development app kept in the ${storeKind === 'sqlite' ? 'data directory' : 'store'}.`,
    `  sdkAppId:   ${a.sdkAppId}`,
    `  secretKey:  ${a.secretKey}`,
    `  admin:      ${admin}`,
  ];
  if (a.polyv) lines.push(`  polyv:      appId ${a.polyv.appId}, appSecret ${a.polyv.appSecret}`);
  lines.push(
    '',
    'Create a room (this UserSig is valid for 7 days):',
    `  curl -s -X POST '${url}/v4/room_engine_http_srv/create_room?sdkappid=${a.sdkAppId}&identifier=${admin}&usersig=${sig}&random=${Math.floor(Math.random() * 2 ** 32)}&contenttype=json' -d '{"RoomInfo":{"RoomId":"room-1","RoomType":"Conference","IsSeatEnabled":true,"MaxSeatCount":8}}'`,
  );
  if (a.polyv) {
    // Polyv signs carry a timestamp good for 3 minutes, each sign usable once.
    const params: [string, string][] = [
      ['appId', a.polyv.appId],
      ['timestamp', String(Date.now())],
      ['channelId', 'room-1'],
    ];
    const query = params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
    lines.push(
      '',
      'Then list its kicked users through the Polyv dialect (signed now: valid once, for 3 minutes):',
      `  curl -s '${url}/live/v3/channel/chat/list-kicked?${query}&sign=${polyvSign(params, a.polyv.appSecret)}'`,
    );
  }
  return lines.join('\n') + '\n\n';
}

function usersig(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      sdkappid: { type: 'string' },
      key: { type: 'string' },
      user: { type: 'string' },
      expire: { type: 'string' },
    },
  });
  if (!values.sdkappid) fail('--sdkappid N is required');
  const sdkAppId = Number(values.sdkappid);
  if (!/^\d+$/.test(values.sdkappid) || sdkAppId < 1 || sdkAppId > 4294967295) fail(`invalid --sdkappid: ${values.sdkappid} (1 to 4294967295)`);
  if (!values.key) fail('--key KEY is required');
  if (!values.user) fail('--user USERID is required');
  const expire = values.expire ?? String(180 * 86400);
  if (!/^\d+$/.test(expire)) fail(`invalid --expire: ${expire}`);
  process.stdout.write(genUserSig(sdkAppId, values.key, values.user, Number(expire)) + '\n');
}

async function hashPasswordCmd(): Promise<void> {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const password = input.replace(/\r?\n$/, '');
  if (password.length < 8) fail('the password must have at least 8 characters');
  process.stdout.write((await hashPassword(password)) + '\n');
}

/** `--help` or `-h` among a command's arguments (before `--`, after which all are positionals). */
function asksForHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  try {
    // `rostrum serve --help` too: not an unknown option, nor a request for credentials.
    if (cmd === '--help' || cmd === '-h' || cmd === 'help' || asksForHelp(rest)) process.stdout.write(USAGE);
    else if (cmd === 'serve') await serve(rest);
    else if (cmd === 'usersig') usersig(rest);
    else if (cmd === 'webhooks') {
      // As for serve: an empty --config is refused, not read as "no config file" (without the apps' callback targets).
      if (lastFlagValue(rest, 'config') === '') fail('webhooks: --config must not be empty');
      await webhooks(rest, fail);
    }
    else if (cmd === 'hash-password') await hashPasswordCmd();
    else if (!(cmd !== undefined && (await operator(cmd, rest)))) fail(`unknown command ${cmd ?? '(none)'}\n${USAGE}`);
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message);
    if (e instanceof UsageError) fail(e.message);
    if (e instanceof ApiFailure) {
      process.stderr.write(`rostrum: ${e.message}\n`);
      process.exit(1);
    }
    if (e instanceof TypeError && 'code' in e && String((e as { code: string }).code).startsWith('ERR_PARSE_ARGS')) fail(e.message);
    throw e;
  }
}

void main();
