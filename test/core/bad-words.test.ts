// The bad-word matcher (one RegExp per list) against a naive scan, and the engine following list changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadWordMatcher, cachedBadWordLists } from '../../src/core/bad-words.js';
import { MemoryStore } from '../../src/adapters/memory/store.js';
import { LocalBus } from '../../src/adapters/local-bus.js';
import { Engine } from '../../src/core/engine.js';
import { RoomError } from '../../src/core/errors.js';

function naive(words: string[], text: string): boolean {
  const t = text.toLowerCase();
  return words.some((w) => w !== '' && t.includes(w.toLowerCase()));
}

test('finds a listed word anywhere, case-insensitively, overlapping prefixes and suffixes included', () => {
  const m = new BadWordMatcher(['he', 'she', 'his', 'hers', '坏词', 'ab', 'bca']);
  assert.equal(m.find('USHERS'), 'she');
  assert.equal(m.find('a bcab'), 'bca'); // ends first
  assert.equal(m.find('xxab'), 'ab');
  assert.equal(m.find('xbcax'), 'bca');
  assert.equal(m.find('这是坏词吗'), '坏词');
  assert.equal(m.find('quiet text'), null);
  assert.equal(m.find('nothing here'), 'he');
  assert.equal(m.find(''), null);
  assert.equal(new BadWordMatcher([]).find('anything'), null);
  assert.equal(new BadWordMatcher(['', 'x']).find('y'), null);
});

test('agrees with a naive scan on random words and texts', () => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const alphabet = 'abcAB坏词';
  const word = (len: number) => Array.from({ length: len }, () => alphabet[rnd(alphabet.length)]).join('');
  for (let round = 0; round < 300; round++) {
    const words = Array.from({ length: 1 + rnd(12) }, () => word(1 + rnd(4)));
    const m = new BadWordMatcher(words);
    for (let i = 0; i < 20; i++) {
      const text = word(rnd(30));
      const found = m.find(text);
      assert.equal(found !== null, naive(words, text), `${JSON.stringify(words)} in ${JSON.stringify(text)}`);
      if (found !== null) assert.ok(text.toLowerCase().includes(found.toLowerCase()));
    }
  }
});

// Letters a RegExp's non-unicode `i` flag does not fold as toLowerCase() does: İ (lower-cases to
// i + U+0307, two code units), the Kelvin sign, the Ohm sign, capital ẞ, and letters outside the
// BMP (Deseret 𐐀 / 𐐨), which without the `u` flag get no case folding at all.
const EXOTIC: Array<{ word: string; spellings: string[] }> = [
  { word: 'İblis', spellings: ['İblis', 'İBLIS', 'IBLIS', 'iblis', 'i\u0307blis', 'I\u0307BLIS'] },
  { word: 'iblis', spellings: ['İBLİS', 'İblis', 'IBLIS'] },
  { word: '\u212Aelvin', spellings: ['\u212Aelvin', '\u212AELVIN', 'KELVIN', 'kelvin'] },
  { word: '\u2126hm', spellings: ['\u2126hm', '\u2126HM', 'ΩHM', 'ωhm'] },
  { word: 'STRA\u1E9EE', spellings: ['STRA\u1E9EE', 'stra\u1E9Ee', 'straße', 'Straße'] },
  { word: '\u{10400}\u{10401}', spellings: ['\u{10400}\u{10401}', '\u{10428}\u{10429}', '\u{10400}\u{10429}'] },
  { word: '\u{10428}\u{10429}', spellings: ['\u{10400}\u{10401}', '\u{10428}\u{10429}'] },
  { word: 'σας', spellings: ['ΣΑΣ', 'σασ', 'ΣΑΣΑ'] },
];

test('finds a word as listed and in any case of its letters, whatever toLowerCase does to their length', () => {
  for (const { word, spellings } of EXOTIC) {
    const m = new BadWordMatcher(['other', word]);
    for (const text of [word, word.toUpperCase(), word.toLowerCase(), ...spellings]) {
      for (const around of [text, `you ${text}!`, `${text}${text}`]) assert.equal(m.find(around), word, `${JSON.stringify(word)} in ${JSON.stringify(around)}`);
    }
    assert.equal(m.find('a clean text'), null);
  }
  // The lists of several such words: each is reported as listed.
  const all = new BadWordMatcher(EXOTIC.map((e) => e.word));
  assert.equal(all.find('xx \u212AELVIN yy'), '\u212Aelvin');
  assert.equal(all.find('xx İBLIS yy'), 'İblis', 'the first spelling listed of one folded word');
  assert.equal(all.find('xx Straße yy'), 'STRA\u1E9EE');
  // Not a case of the letter: dotless ı is another letter, ss is not ß.
  assert.equal(new BadWordMatcher(['iblis']).find('ıblıs'), null);
  assert.equal(new BadWordMatcher(['straße']).find('STRASSE'), null);
});

test('agrees with a naive scan on random words and texts of letters toLowerCase lengthens or RegExp /i does not fold', () => {
  let seed = 11;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const alphabet = ['i', 'I', 'İ', '\u0307', 'k', 'K', '\u212A', 'ω', 'Ω', '\u2126', 'ß', '\u1E9E', '\u{10400}', '\u{10428}', 'a'];
  const word = (len: number) => Array.from({ length: len }, () => alphabet[rnd(alphabet.length)]).join('');
  // İ and i + U+0307 are the letter i; otherwise lower case.
  const fold = (t: string) => t.toLowerCase().split('i\u0307').join('i');
  for (let round = 0; round < 300; round++) {
    const words = Array.from({ length: 1 + rnd(8) }, () => word(1 + rnd(3)));
    const m = new BadWordMatcher(words);
    for (let i = 0; i < 20; i++) {
      const text = word(rnd(20));
      const found = m.find(text);
      const expected = words.some((w) => fold(w) !== '' && fold(text).includes(fold(w)));
      assert.equal(found !== null, expected, `${JSON.stringify(words)} in ${JSON.stringify(text)}`);
      if (found !== null) assert.ok(words.includes(found) && fold(text).includes(fold(found)), `${JSON.stringify(found)} in ${JSON.stringify(text)}`);
    }
  }
});

test('the engine screens with the current lists: changes take effect at once, per app and room', async () => {
  const store = new MemoryStore();
  const engine = new Engine(store, new LocalBus());
  const admin = { kind: 'admin', userId: 'adm' } as const;
  await engine.execute(1, admin, { type: 'createRoom', roomId: 'r' });
  await engine.execute(2, admin, { type: 'createRoom', roomId: 'r' });
  for (const app of [1, 2]) await engine.execute(app, { kind: 'user', userId: 'u' }, { type: 'enterRoom', roomId: 'r', clientIp: '1.1.1.1', connId: 'c' });
  const say = (app: number, text: string) =>
    engine.execute(app, { kind: 'user', userId: 'u' }, { type: 'sendMessage', roomId: 'r', text }).then(
      () => 'sent',
      (e) => (e instanceof RoomError ? e.kind : String(e)),
    );
  assert.equal(await say(1, 'foo'), 'sent');
  await engine.execute(1, admin, { type: 'addBadWords', scope: 'r', words: ['foo'] });
  assert.equal(await say(1, 'a foo'), 'BadWord');
  assert.equal(await say(2, 'a foo'), 'sent', 'another app is not affected');
  await engine.execute(1, admin, { type: 'addBadWords', scope: '', words: ['bar'] });
  assert.equal(await say(1, 'BAR'), 'BadWord');
  await engine.execute(1, admin, { type: 'deleteBadWords', scope: 'r', words: ['FOO'] });
  assert.equal(await say(1, 'a foo'), 'sent');
  assert.deepEqual(await engine.execute(1, admin, { type: 'listBadWords', scope: 'r' }), []);
  await assert.rejects(engine.execute(1, { kind: 'user', userId: 'u' }, { type: 'addBadWords', scope: '', words: ['x'] }), (e) => e instanceof RoomError && e.kind === 'PermissionDenied');
  await assert.rejects(engine.execute(1, { kind: 'user', userId: 'u' }, { type: 'addBadWords', scope: 'r', words: ['x'] }), (e) => e instanceof RoomError && e.kind === 'PermissionDenied');
});

test('compiled lists are bounded: a dismissed room\'s goes at once, and beyond 1,000,000 words the oldest go', async () => {
  const app = 7; // an app of its own: the compiled lists are cached per process
  const engine = new Engine(new MemoryStore(), new LocalBus());
  const admin = { kind: 'admin', userId: 'adm' } as const;
  const u = { kind: 'user', userId: 'u' } as const;
  const room = async (r: number, words: number) => {
    await engine.execute(app, admin, { type: 'createRoom', roomId: `r${r}` });
    await engine.execute(app, admin, { type: 'addBadWords', scope: `r${r}`, words: Array.from({ length: words }, (_, i) => `w${r}x${i}`) });
    await engine.execute(app, u, { type: 'enterRoom', roomId: `r${r}`, clientIp: '1.1.1.1', connId: 'c' });
    await engine.execute(app, u, { type: 'sendMessage', roomId: `r${r}`, text: 'hello' });
  };
  await room(0, 1);
  await room(1, 1);
  assert.equal(cachedBadWordLists(app), 2);
  await engine.execute(app, admin, { type: 'destroyRoom', roomId: 'r0', reason: '' });
  assert.equal(cachedBadWordLists(app), 1, 'the dismissed room\'s list is dropped');
  // A list whose words were all deleted is dropped at the next check.
  await engine.execute(app, admin, { type: 'deleteBadWords', scope: 'r1', words: ['w1x0'] });
  await engine.execute(app, u, { type: 'sendMessage', roomId: 'r1', text: 'hello' });
  assert.equal(cachedBadWordLists(app), 0);
  // 101 full lists are 1,010,000 words: the first compiled goes, and a message checks still.
  for (let r = 2; r < 103; r++) await room(r, 10_000);
  assert.equal(cachedBadWordLists(app), 100);
  await assert.rejects(engine.execute(app, u, { type: 'sendMessage', roomId: 'r2', text: 'a w2x9999 b' }), (e) => e instanceof RoomError && e.kind === 'BadWord');
});
