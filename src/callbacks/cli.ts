// `rostrum webhooks failed | retry | discard`: given-up callbacks, listed, re-sent or removed for
// good, on the store the server uses (its data dir or PostgreSQL URL). Safe while the server
// runs: it picks re-sent deliveries up within seconds.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { parseStoreSpec, readConfigFile, redactStore, type FileConfig } from '../config.js';
import { DataDirError, isDataDir } from '../adapters/sqlite/data-dir.js';
import type { AppId } from '../core/model.js';
import { fileTargets } from './commands.js';
import { openSpool } from './index.js';
import { CallbackService } from './service.js';
import type { CallbackSpool } from './spool.js';
import { shown } from '../terminal.js';
import { env } from '../env.js';

export const WEBHOOKS_USAGE = `  rostrum webhooks failed [--app SDKAPPID] [--limit N] [--json] [--data DIR] [--store URL] [--config FILE]
  rostrum webhooks retry (--all | ID...) [--app SDKAPPID] [--data DIR] [--store URL] [--config FILE]
  rostrum webhooks discard (--all | ID...) [--app SDKAPPID] [--data DIR] [--store URL] [--config FILE]
`;

/** The subcommands that act on given-up deliveries named by id (or all): what they do and say. */
const ACTIONS: Record<string, { done: string; run(spool: CallbackSpool, ids: number[] | 'all', appId: number | null): Promise<number> }> = {
  retry: { done: 're-queued', run: (spool, ids, appId) => spool.retry(ids, appId, Date.now()) },
  discard: { done: 'discarded', run: (spool, ids, appId) => spool.discard(ids, appId) },
};

export async function webhooks(argv: string[], fail: (message: string) => never): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      app: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      all: { type: 'boolean' },
      data: { type: 'string' },
      store: { type: 'string' },
      config: { type: 'string' },
    },
  });
  const [sub, ...ids] = positionals;
  const action = sub !== undefined && Object.hasOwn(ACTIONS, sub) ? ACTIONS[sub] : null;
  if (sub !== 'failed' && !action) fail(`webhooks: use failed, retry or discard\nusage:\n${WEBHOOKS_USAGE}`);
  const configPath = values.config ?? env('ROSTRUM_CONFIG');
  const config = configPath ? readConfigFile(configPath) : {};
  const store = values.store ?? env('ROSTRUM_STORE') ?? config.store;
  const storeKind = parseStoreSpec(store).kind;
  if (storeKind === 'memory') fail('webhooks: the memory store keeps nothing to list');
  const dataGiven = values.data ?? env('ROSTRUM_DATA');
  if (dataGiven === '') fail('webhooks: --data must not be empty');
  const dataDir = resolve(dataGiven ?? './.rostrum');
  // Opening the spool would make a fresh one: a mistyped directory would list nothing, not fail.
  if (storeKind === 'sqlite' && !isDataDir(dataDir)) {
    fail(`webhooks: ${dataDir} is not the data directory of a Rostrum server (give the server's --data DIR)`);
  }
  if (values.app !== undefined && !/^\d{1,10}$/.test(values.app)) fail(`invalid --app: ${values.app}`);
  const appId = values.app === undefined ? null : Number(values.app);
  // The store may be down or the data directory unusable: one line, exit 2, no password.
  const unusable = (e: unknown): never => {
    if (e instanceof DataDirError) return fail(`webhooks: ${e.message}`);
    const where = storeKind === 'postgres' ? `the store ${redactStore(store!)}` : `the store in ${dataDir}`;
    return fail(`webhooks: cannot use ${where}: ${String((e as Error)?.message ?? e).split('\n')[0]}`);
  };
  const spool = await openSpool(store, dataDir).catch(unusable);
  try {
    if (sub === 'failed') {
      const limitText = values.limit ?? '100';
      if (!/^[1-9]\d{0,5}$/.test(limitText)) fail(`invalid --limit: ${limitText} (1 to 999999)`);
      const limit = Number(limitText);
      const rows = await spool.failed(appId, limit);
      if (values.json) {
        process.stdout.write(JSON.stringify(rows.map(({ body, ...r }) => ({ ...r, body: JSON.parse(body) }))) + '\n');
        return;
      }
      if (rows.length === 0) {
        process.stdout.write('no failed deliveries\n');
        return;
      }
      process.stdout.write('ID\tAPP\tROOM\tSEQ\tCOMMAND\tFAILED AT\tATTEMPTS\tLAST ERROR\n');
      for (const r of rows) {
        process.stdout.write(
          [r.id, r.appId, r.roomId, r.seq, r.command, new Date(r.failedAt).toISOString(), r.attempts, r.lastError].map((x) => shown(String(x))).join('\t') + '\n',
        );
      }
      if (rows.length === limit) process.stdout.write(`(the oldest ${limit}: there may be more, see --limit)\n`);
      return;
    }
    if (Boolean(values.all) === ids.length > 0) fail(`webhooks ${sub}: give --all or one or more IDs`);
    if (ids.some((id) => !/^\d{1,15}$/.test(id))) fail(`webhooks ${sub}: invalid ID in ${ids.join(' ')}`);
    const unconfigured = sub === 'retry' ? await appsWithoutTarget(spool, config, appId) : [];
    // An ID given twice counts once, here as in the spool.
    const named = [...new Set(ids.map(Number))];
    const n = await action!.run(spool, values.all ? 'all' : named, appId);
    process.stdout.write(`${action!.done} ${n} ${n === 1 ? 'delivery' : 'deliveries'}\n`);
    if (!values.all && n < named.length) process.stdout.write(`${named.length - n} of the IDs are not failed deliveries${appId !== null ? ' of this app' : ''}\n`);
    if (unconfigured.length > 0) {
      // Not refused: the server may read a config file this command was not given.
      const where = configPath ? 'set over REST nor in the config file' : 'set over REST, nor in a config file (none given: --config FILE)';
      process.stderr.write(
        `warning: no callback configuration is ${where} for app ${unconfigured.join(', ')}: re-queued deliveries of an app without one are given up again at once\n`,
      );
    }
  } catch (e) {
    unusable(e);
  } finally {
    await spool.close();
  }
}

/**
 * The apps with given-up deliveries in scope that have no callback target: what is re-sent for
 * them would be given up again at once (the API refuses it, with 409).
 */
async function appsWithoutTarget(spool: CallbackSpool, config: FileConfig, appId: AppId | null): Promise<AppId[]> {
  const service = new CallbackService(spool, fileTargets(config.apps ?? []));
  await service.load();
  const apps = (await spool.counts()).filter((c) => c.failed > 0 && (appId === null || c.appId === appId)).map((c) => c.appId);
  return apps.filter((a) => service.get(a) === null);
}
