// Unit tests: Polyv's sign rule (the documented worked example), the SDK variants, the replay guard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptableSigns, polyvSign } from '../src/dialects/polyv/sign.js';
import { ReplayGuard } from '../src/dialects/polyv/replay.js';
import { MemoryStore } from '../src/adapters/memory/store.js';
import { polyvTestSign } from './support/polyv.js';

const SECRET = 'fsq2k5weced1h8vui657xtdva66whf0g';
const EXAMPLE: [string, string][] = [
  ['appId', 'g4rqgmmjuo'],
  ['channelIds', '2477096,2272655'],
  ['endDay', '2022-06-18'],
  ['startDay', '2022-05-20'],
  ['timestamp', '1660270926732'],
];

test('the documented worked example reproduces (order of parameters does not matter)', () => {
  assert.equal(polyvSign(EXAMPLE, SECRET), '0D2BDA2FD04D93A2B8832B91FD973C4D');
  assert.equal(polyvSign([...EXAMPLE].reverse(), SECRET), '0D2BDA2FD04D93A2B8832B91FD973C4D');
  // and the test client's independent implementation agrees
  assert.equal(polyvTestSign(EXAMPLE, SECRET), '0D2BDA2FD04D93A2B8832B91FD973C4D');
});

test('SHA256 is the upper-case hex SHA-256 of the same sandwich', () => {
  const sha = polyvSign(EXAMPLE, SECRET, 'SHA256');
  assert.match(sha, /^[0-9A-F]{64}$/);
  assert.equal(sha, polyvTestSign(EXAMPLE, SECRET, 'SHA256'));
  assert.notEqual(sha.slice(0, 32), '0D2BDA2FD04D93A2B8832B91FD973C4D');
});

test('keys sort by ASCII: upper case before lower case', () => {
  const a = polyvSign([['b', '1'], ['B', '2'], ['a', '3']], 's');
  assert.equal(a, polyvTestSign([['B', '2'], ['a', '3'], ['b', '1']], 's'));
});

test('acceptable signs cover the Java (blank dropped) and TypeScript (signatureMethod dropped) readings', () => {
  const params: [string, string][] = [...EXAMPLE, ['page', ''], ['signatureMethod', 'SHA256']];
  const accepted = acceptableSigns([...params, ['sign', 'whatever']], SECRET, 'SHA256');
  const literal = polyvTestSign(params, SECRET, 'SHA256');
  const java = polyvTestSign(params.filter(([, v]) => v !== ''), SECRET, 'SHA256');
  const ts = polyvTestSign(params.filter(([k]) => k !== 'signatureMethod'), SECRET, 'SHA256');
  assert.ok(accepted.includes(literal));
  assert.ok(accepted.includes(java));
  assert.ok(accepted.includes(ts));
  assert.equal(accepted.length, 4);
  // a sign over other values is not among them
  assert.ok(!accepted.includes(polyvTestSign([...params, ['x', '1']], SECRET, 'SHA256')));
  // the example's own (MD5, no blanks) has a single reading
  assert.deepEqual(acceptableSigns(EXAMPLE, SECRET, 'MD5'), ['0D2BDA2FD04D93A2B8832B91FD973C4D']);
});

test('replay guard: a sign is refused while its timestamp is valid, forgotten after', async () => {
  const g = new ReplayGuard(180_000, new MemoryStore());
  const t0 = 1_700_000_000_000;
  assert.equal(await g.firstUse('app', 'S1', t0, t0), true);
  assert.equal(await g.firstUse('app', 'S1', t0, t0 + 1000), false);
  assert.equal(await g.firstUse('other', 'S1', t0, t0 + 1000), true); // per app
  assert.equal(await g.firstUse('app', 'S2', t0, t0 + 1000), true);
  assert.equal(await g.firstUse('app', 'S1', t0, t0 + 179_999), false);
  // after the window the timestamp check refuses it anyway, and the guard lets go of it
  assert.equal(await g.firstUse('app', 'S1', t0 + 400_000, t0 + 400_000), true);
});
