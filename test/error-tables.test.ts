// The error-code tables in the docs match the code: every code a surface can answer is
// documented, nothing documented is missing from the code, and each core error kind maps to the
// code its documented row names.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CODE as TENCENT, CODE_BY_KIND as TENCENT_BY_KIND } from '../src/dialects/tencent/codes.js';
import { CODE as REALTIME } from '../src/realtime/protocol.js';
import { CODE_BY_KIND as REALTIME_BY_KIND } from '../src/realtime/ops.js';

/** Rows of markdown tables whose first cell is a code of `min` or more: [code, ...other cells]. */
function codeRows(file: string, min: number): [number, ...string[]][] {
  const rows: [number, ...string[]][] = [];
  for (const line of readFileSync(new URL(`../docs/${file}`, import.meta.url), 'utf8').split('\n')) {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const code = Number(cells[0]);
    if (cells.length >= 2 && /^\d+$/.test(cells[0]) && code >= min) rows.push([code, ...cells.slice(1)]);
  }
  return rows;
}

const sorted = (xs: Iterable<number>) => [...new Set(xs)].sort((a, b) => a - b);

test('docs/tencent-dialect.md lists every code the Tencent dialect answers, and no other', () => {
  const documented = codeRows('tencent-dialect.md', 60000).map((r) => r[0]);
  assert.deepEqual(sorted(documented), sorted(Object.values(TENCENT).filter((c) => c !== 0)));
  for (const code of Object.values(TENCENT_BY_KIND)) assert.ok(documented.includes(code), `${code}`);
});

test('docs/realtime-protocol.md lists every reply code with the error kind that maps to it', () => {
  const rows = codeRows('realtime-protocol.md', 100000);
  assert.deepEqual(sorted(rows.map((r) => r[0])), sorted(Object.values(REALTIME).filter((c) => c !== 0)));
  const isKind = (cell: string | undefined): cell is string => cell !== undefined && /^[A-Z][A-Za-z]+$/.test(cell);
  for (const [code, , kind] of rows) {
    if (isKind(kind)) assert.equal(REALTIME_BY_KIND[kind as keyof typeof REALTIME_BY_KIND], code, `${kind} -> ${code}`);
  }
  const documentedKinds = rows.map((r) => r[2]).filter(isKind);
  assert.deepEqual(documentedKinds.sort(), Object.keys(REALTIME_BY_KIND).sort(), 'every error kind has its row');
});

test('docs/native-api.md lists every error code of the native API with its status and core kind', async () => {
  const { API_ERROR, ERROR_BY_KIND } = await import('../src/api/errors.js');
  const rows: { code: string; status: number; kind: string }[] = [];
  for (const line of readFileSync(new URL('../docs/native-api.md', import.meta.url), 'utf8').split('\n')) {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const m = /^`([a-z_]+)`$/.exec(cells[0] ?? '');
    if (m && /^\d{3}$/.test(cells[1] ?? '')) rows.push({ code: m[1], status: Number(cells[1]), kind: cells[2] ?? '' });
  }
  const all = [...Object.values(API_ERROR), ...Object.values(ERROR_BY_KIND)];
  assert.deepEqual(rows.map((r) => r.code).sort(), all.map((e) => e.code).sort());
  for (const e of all) assert.equal(rows.find((r) => r.code === e.code)!.status, e.status, e.code);
  for (const [kind, e] of Object.entries(ERROR_BY_KIND)) assert.equal(rows.find((r) => r.code === e.code)!.kind, kind, e.code);
});
