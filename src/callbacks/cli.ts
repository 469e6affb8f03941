// `rostrum webhooks failed | retry | discard`: given-up callbacks, listed, re-sent or removed for
// good, on the store the server uses (its data dir or PostgreSQL URL). Safe while the server
// runs: it picks re-sent deliveries up within seconds.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { parseStoreSpec, readConfigFile, redactStore } from '../config.js';
import { DataDirError } from '../adapters/sqlite/data-dir.js';
import { openSpool } from './index.js';
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
  if (parseStoreSpec(store).kind === 'memory') fail('webhooks: the memory store keeps nothing to list');
  const dataDir = resolve(values.data ?? env('ROSTRUM_DATA') ?? './.rostrum');
  if (values.app !== undefined && !/^\d{1,10}$/.test(values.app)) fail(`invalid --app: ${values.app}`);
  const appId = values.app === undefined ? null : Number(values.app);
  // The store may be down or the data directory unusable: one line, exit 2, no password.
  const unusable = (e: unknown): never => {
    if (e instanceof DataDirError) return fail(`webhooks: ${e.message}`);
    const where = parseStoreSpec(store).kind === 'postgres' ? `the store ${redactStore(store!)}` : `the store in ${dataDir}`;
    return fail(`webhooks: cannot use ${where}: ${String((e as Error)?.message ?? e).split('\n')[0]}`);
  };
  const spool = await openSpool(store, dataDir).catch(unusable);
  try {
    if (sub === 'failed') {
      const limitText = values.limit ?? '100';
      if (!/^\d{1,6}$/.test(limitText)) fail(`invalid --limit: ${limitText}`);
      const rows = await spool.failed(appId, Number(limitText));
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
      return;
    }
    if (Boolean(values.all) === ids.length > 0) fail(`webhooks ${sub}: give --all or one or more IDs`);
    if (ids.some((id) => !/^\d{1,15}$/.test(id))) fail(`webhooks ${sub}: invalid ID in ${ids.join(' ')}`);
    // An ID given twice counts once, here as in the spool.
    const named = [...new Set(ids.map(Number))];
    const n = await action!.run(spool, values.all ? 'all' : named, appId);
    process.stdout.write(`${action!.done} ${n} ${n === 1 ? 'delivery' : 'deliveries'}\n`);
    if (!values.all && n < named.length) process.stdout.write(`${named.length - n} of the IDs are not failed deliveries${appId !== null ? ' of this app' : ''}\n`);
  } catch (e) {
    unusable(e);
  } finally {
    await spool.close();
  }
}
