// The cost of the bad-word check on chat: members' sendMessage through the engine on the default
// SQLite store (group commit, durable replies), closed loop, for an app with no bad words and an
// app with 1,000 account-wide words and 1,000 words in every room (each message is checked
// against both lists), measured in alternating slices in the same process. No message contains
// a listed word (the words are drawn so), so both sides do the same work but the check.
// Goal: chat with the lists >= 90 % of chat without.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBus } from '../src/adapters/local-bus.js';
import { SqliteStore } from '../src/adapters/sqlite/store.js';
import { Engine } from '../src/core/engine.js';
import { alternate } from './lib/slices.js';

const ROOMS = 8;
const MEMBERS = 25;
const CONCURRENCY = 64;
const WORDS = 1000;
const SLICES = 6;
const SLICE_S = 2;
const WARMUP_S = 1;

const SENTENCES = [
  'hello everyone, glad to be here tonight',
  'what time does the next session start?',
  '这个讲得很好，谢谢老师',
  'can you share the slides after the talk please',
  'great question, I was wondering the same thing',
  'the audio is a bit low on my side',
  '今天的直播什么时候结束',
  'thanks for the demo, it looks really useful',
];

/** Random words of 4–9 letters (some Chinese) that no test sentence contains. */
function drawWords(n: number, seed: number): string[] {
  const latin = 'abcdefghijklmnopqrstuvwxyz';
  const han = '的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年';
  const out = new Set<string>();
  let x = seed;
  const rnd = (k: number) => ((x = (x * 1103515245 + 12345) % 2 ** 31), x % k);
  while (out.size < n) {
    const alphabet = rnd(4) === 0 ? han : latin;
    const w = Array.from({ length: 4 + rnd(6) }, () => alphabet[rnd(alphabet.length)]).join('');
    if (!SENTENCES.some((s) => s.toLowerCase().includes(w))) out.add(w);
  }
  return [...out];
}

interface Side {
  name: string;
  appId: number;
}

interface Slice {
  sent: number;
  ms: number;
  failures: number;
}

export interface BadWordsResult {
  without: number;
  with: number;
  ratio: number;
  failures: number;
  met: boolean;
}

export async function badWordsBench(): Promise<BadWordsResult> {
  const dir = mkdtempSync(join(tmpdir(), 'rostrum-bench-badwords-'));
  const store = new SqliteStore(dir);
  const engine = new Engine(store, new LocalBus());
  const admin = { kind: 'admin', userId: 'admin' } as const;
  try {
    const sides: Side[] = [
      { name: 'no bad words', appId: 1 },
      { name: `${WORDS} account + ${WORDS} room bad words`, appId: 2 },
    ];
    for (const { appId } of sides) {
      for (let r = 0; r < ROOMS; r++) {
        const roomId = `room-${r}`;
        await engine.execute(appId, admin, { type: 'createRoom', roomId });
        for (let m = 0; m < MEMBERS; m++) {
          await engine.execute(appId, { kind: 'user', userId: `u${m}` }, { type: 'enterRoom', roomId, clientIp: '10.0.0.1', connId: `c-${r}-${m}` });
        }
      }
    }
    const account = drawWords(WORDS, 1);
    for (let i = 0; i < account.length; i += 500) await engine.execute(2, admin, { type: 'addBadWords', scope: '', words: account.slice(i, i + 500) });
    for (let r = 0; r < ROOMS; r++) {
      const words = drawWords(WORDS, 100 + r);
      for (let i = 0; i < words.length; i += 500) await engine.execute(2, admin, { type: 'addBadWords', scope: `room-${r}`, words: words.slice(i, i + 500) });
    }

    let n = 0;
    const run = async (side: Side, seconds: number): Promise<Slice> => {
      const end = Date.now() + seconds * 1000;
      const t0 = performance.now();
      let sent = 0;
      let failures = 0;
      const worker = async () => {
        while (Date.now() < end) {
          const i = n++;
          const roomId = `room-${i % ROOMS}`;
          const userId = `u${Math.floor(i / ROOMS) % MEMBERS}`;
          try {
            await engine.execute(side.appId, { kind: 'user', userId }, { type: 'sendMessage', roomId, text: SENTENCES[i % SENTENCES.length] });
            sent++;
          } catch {
            failures++;
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      return { sent, ms: performance.now() - t0, failures };
    };
    const slices = await alternate(sides, { slices: SLICES, warmup: (s) => run(s, WARMUP_S) }, (s) => run(s, SLICE_S));
    const rate = (xs: Slice[]) => xs.reduce((a, x) => a + x.sent, 0) / (xs.reduce((a, x) => a + x.ms, 0) / 1000);
    const without = rate(slices[0]);
    const withWords = rate(slices[1]);
    const failures = slices.flat().reduce((a, x) => a + x.failures, 0);
    const ratio = withWords / without;
    return { without, with: withWords, ratio, failures, met: ratio >= 0.9 && failures === 0 };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printBadWords(r: BadWordsResult): void {
  console.log('\nbad words: members\' chat through the engine (SQLite), %d rooms x %d members, %d in flight', ROOMS, MEMBERS, CONCURRENCY);
  console.log('  %s  %s msg/s', 'no bad words'.padEnd(34), r.without.toFixed(0).padStart(8));
  console.log('  %s  %s msg/s', `${WORDS} account + ${WORDS} room words`.padEnd(34), r.with.toFixed(0).padStart(8));
  console.log('  ratio %s (goal >= 0.90), failures %d  %s', r.ratio.toFixed(3), r.failures, r.met ? 'MET' : 'NOT MET');
}
