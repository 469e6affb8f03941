// The operator docs match the code: README's configuration table and example against the config
// schema, its command lines and flag table against `rostrum --help`, its metric tables (and
// docs/scaling.md's) against a real server's /metrics, the readiness reasons against the server,
// docs/security.md's limit settings against the schema, docs/console.md's endpoints against its routes.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import type { TSchema } from '@sinclair/typebox';
import { ConfigSchema, parseConfig } from '../src/config.js';
import { hashPassword } from '../src/console/password.js';
import { startTestServer } from './support/harness.js';
import { cleanUp, cli } from './support/cli.js';
import { dropPrefix, freshPrefixUrl, redisSkip } from './contract/redis-support.js';

after(cleanUp);

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const README = read('README.md');

/** The text of a markdown section: from its heading to the next heading of the same or a higher level. */
function section(text: string, heading: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l === heading);
  assert.ok(start >= 0, `no section ${heading}`);
  const level = heading.indexOf(' ');
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && l.indexOf(' ') <= level);
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** Table rows (cells trimmed) whose first cell is one backticked word. */
function keyRows(text: string): { key: string; cells: string[] }[] {
  const rows: { key: string; cells: string[] }[] = [];
  for (const line of text.split('\n')) {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const m = /^`([^`\s]+)`$/.exec(cells[0] ?? '');
    if (m) rows.push({ key: m[1], cells });
  }
  return rows;
}

/** Every key path of the config schema (`apps[].polyv.appId`): objects and their leaves. */
function schemaPaths(schema: TSchema, prefix = ''): { path: string; leaf: boolean }[] {
  const out: { path: string; leaf: boolean }[] = [];
  for (const [name, sub] of Object.entries(schema.properties as Record<string, TSchema>)) {
    const path = prefix + name;
    const object = sub.type === 'object' ? sub : sub.type === 'array' && sub.items?.type === 'object' ? sub.items : null;
    out.push({ path, leaf: object === null });
    if (object) out.push(...schemaPaths(object, `${path}${sub.type === 'array' ? '[]' : ''}.`));
  }
  return out;
}

// The table, without the Stores table below it.
const CONFIG = section(README, '## Configuration').split('\n### ')[0];

test('README documents every configuration key the schema takes, and no other', () => {
  const rows = keyRows(CONFIG);
  const paths = schemaPaths(ConfigSchema);
  const known = new Set(paths.map((p) => p.path));
  for (const { key } of rows) assert.ok(known.has(key), `README documents ${key}, which the config schema does not take`);
  for (const { path, leaf } of paths) {
    if (!leaf) continue;
    // Its own row, or a mention (`appId`) in the row of the object holding it.
    const documented = rows.some(({ key, cells }) => key === path || (path.startsWith(`${key}.`) && cells.join(' ').includes(`\`${path.slice(key.length + 1)}\``)));
    assert.ok(documented, `the config key ${path} is not in README's configuration table`);
  }
});

test("README's example configuration is a valid one", async () => {
  const example = /```json\n([\s\S]*?)```/.exec(CONFIG)?.[1];
  assert.ok(example);
  const config = JSON.parse(example);
  for (const app of config.apps) if (app.consolePassword) app.consolePassword = await hashPassword('a long passphrase');
  parseConfig(config);
});

test("docs/security.md's limit settings are configuration keys", () => {
  const known = new Set(schemaPaths(ConfigSchema).map((p) => p.path));
  const settings = section(read('docs/security.md'), '## Limits')
    .split('\n')
    .map((line) => line.split('|').slice(1, -1).map((c) => c.trim())[2])
    .flatMap((cell) => [...(cell ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]));
  assert.ok(settings.length > 5);
  for (const s of settings) assert.ok(known.has(s), `docs/security.md names the setting ${s}, which the config schema does not take`);
});

/** `rostrum …` command lines: the command's words, and the flags the line shows. */
function commands(lines: string[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of lines) {
    const text = line.replace(/\s+#.*$/, '');
    const words: string[] = [];
    for (const w of text.split(/\s+/)) {
      if (!/^[a-z][a-z-]*$/.test(w)) break;
      words.push(w);
    }
    out.set(words.join(' '), new Set(text.match(/--[a-z][a-z-]*/g) ?? []));
  }
  return out;
}

async function help(): Promise<string> {
  const c = cli(['--help']);
  assert.equal((await c.exited).code, 0, c.output.stderr);
  return c.output.stdout;
}

test("README's command lines show the commands and flags of rostrum --help", async () => {
  const usage = await help();
  // Each command with its continuation lines (`[--bus …]`), without the notes (env:, common:, …).
  const helpLines: string[] = [];
  for (const line of usage.split('\n')) {
    if (/^\s+rostrum /.test(line)) helpLines.push(line.trim());
    else if (/^\s+[[-]/.test(line) && helpLines.length > 0) helpLines[helpLines.length - 1] += ` ${line.trim()}`;
  }
  const section_ = section(README, '## Command line');
  const blocks = [...section_.matchAll(/```\n([\s\S]*?)```/g)].flatMap((m) => m[1].split('\n').filter((l) => l.startsWith('rostrum ')));
  const documented = commands(blocks);
  // The help's hash-password line goes on in prose: match each help line to the README command it starts with.
  const shown = new Map<string, Set<string>>();
  for (const line of helpLines) {
    const name = [...documented.keys()].filter((k) => line === k || line.startsWith(`${k} `)).sort((a, b) => b.length - a.length)[0];
    assert.ok(name, `rostrum --help shows "${line}", which README's command lines do not`);
    shown.set(name, commands([line.replace(/ {2,}.*$/, '')]).get(name) ?? new Set());
  }
  for (const [name, flags] of documented) {
    assert.ok(shown.has(name), `README shows "${name}", which rostrum --help does not`);
    assert.deepEqual([...flags].sort(), [...shown.get(name)!].sort(), `the flags of ${name}`);
  }
  // The operators' common flags and every environment variable, in the section's prose or table.
  for (const flag of usage.match(/--(?:url|token|sdkappid|key|user|json)\b/g) ?? []) {
    assert.match(section_, new RegExp(`\`[^\`]*${flag}\\b[^\`]*\``), `${flag} is not described in README`);
  }
  const envs = (text: string) => new Set(text.match(/ROSTRUM_[A-Z_]+/g));
  assert.deepEqual([...envs(section_)].sort(), [...envs(usage)].sort(), 'the environment variables');
});

test("README's flag table: rostrum serve's flags, each with its ROSTRUM_ variable", async () => {
  const usage = await help();
  const serveFlags = new Set(/rostrum serve ([^\n]*\n\s+\[[^\n]*)/.exec(usage)![1].match(/--[a-z-]+/g));
  const rows = keyRows(section(README, '## Command line')).filter((r) => r.key.startsWith('--'));
  assert.deepEqual(rows.map((r) => r.key).sort(), [...serveFlags].sort());
  for (const { key, cells } of rows) assert.equal(cells[1], `\`ROSTRUM_${key.slice(2).toUpperCase().replace(/-/g, '_')}\``, key);
});

test("/readyz's every reason is in README's Operations", () => {
  const reasons = [...read('src/server.ts').matchAll(/status: 'unavailable', reason: '([^']+)'/g)].map((m) => m[1]);
  assert.ok(reasons.length >= 4);
  const ops = section(README, '## Operations');
  for (const r of reasons) assert.ok(ops.includes(`"${r}"`), `README does not say /readyz may answer "${r}"`);
});

/** The metric names a table's first column names; `_dropped_total` after `…_sent_total` stands for `…_dropped_total`. */
function metricNames(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const cell = line.split('|').slice(1, -1)[0] ?? '';
    const listed = [...cell.matchAll(/`(rostrum_[a-z_*]+|_[a-z_]+)(?:\{[a-z]+\})?`/g)].map((m) => m[1]);
    const first = listed[0];
    for (const n of listed) {
      if (!n.startsWith('_')) names.push(n);
      else names.push(first.split('_').slice(0, -(n.split('_').length - 1)).join('_') + n);
    }
  }
  return names;
}

test('the metric tables (README, docs/scaling.md) name what /metrics exposes', async (t) => {
  const skip = await redisSkip();
  if (skip) return t.skip(skip);
  const bus = freshPrefixUrl();
  // A Redis bus: the bus metrics are there too.
  const s = await startTestServer({ bus });
  try {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    const exposed = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    const readme = metricNames(section(README, '### Metrics'));
    const scaling = metricNames(section(read('docs/scaling.md'), '## Metrics'));
    const covers = (doc: string, name: string) => (doc.endsWith('*') ? name.startsWith(doc.slice(0, -1)) : name === doc);
    for (const doc of [...readme, ...scaling]) assert.ok(exposed.some((n) => covers(doc, n)), `documented metric ${doc} is not exposed`);
    for (const name of exposed) assert.ok(readme.some((doc) => covers(doc, name)), `metric ${name} is not in README's table`);
  } finally {
    await s.close();
    await dropPrefix(bus);
  }
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const anchor = (heading: string) => heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');

test('the operator docs link to files and headings that exist, and name test files that exist', () => {
  for (const doc of ['README.md', 'docs/scaling.md', 'docs/security.md', 'docs/console.md']) {
    const text = read(doc);
    const base = new URL(`../${doc}`, import.meta.url);
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [file, hash] = target.split('#');
      const url = file ? new URL(file, base) : base;
      assert.ok(existsSync(url), `${doc} links to ${target}: no such file`);
      if (hash === undefined) continue;
      const headings = readFileSync(url, 'utf8').split('\n').filter((l) => /^#+ /.test(l)).map((l) => anchor(l.replace(/^#+ /, '')));
      assert.ok(headings.includes(hash), `${doc} links to ${target}: no such heading`);
    }
    for (const [path] of text.matchAll(/\btest\/[\w./-]+\.ts\b/g)) assert.ok(existsSync(new URL(`../${path}`, import.meta.url)), `${doc} names ${path}: no such file`);
  }
});

test("docs/console.md's endpoint table lists the console's routes (its page's assets aside)", () => {
  const routes = [...read('src/console/routes.ts').matchAll(/http\.(get|post)\('(\/console[^']*)'/g)]
    .map(([, method, path]) => `${method.toUpperCase()} ${path}`)
    .filter((r) => !/^GET \/console(\/app\.\w+)?$/.test(r));
  const table = section(read('docs/console.md'), '## Console endpoints')
    .split('\n')
    .map((line) => /^\| `(GET|POST) ([^`?]+)[^`]*` \|/.exec(line))
    .filter((m) => m !== null)
    .map((m) => `${m![1]} ${m![2]}`);
  assert.deepEqual(table.sort(), routes.sort());
});
