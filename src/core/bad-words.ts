// Bad words (Polyv's 严禁词): a list per room and one for the whole app ('' scope), stored by the
// store. A member's message containing a word of either list (case-insensitive, anywhere in the
// text) is refused with `BadWord`: nobody else gets it, the sender is told (Polyv's SDKs report
// "prohibited word" to the sender and mark the message as failed). Each list is compiled once
// into an Aho–Corasick automaton, cached by the list's version, so a check costs one pass over
// the text whatever the number of words.
import { RoomError, invalid } from './errors.js';
import { requireAppAdmin, requireModerator, type ReadContext } from './context.js';
import { read, write, type Handlers } from './handler.js';
import { newId } from './ids.js';
import { checkBytes } from './limits.js';
import type { AppId } from './model.js';

export const BAD_WORD_LIMITS = {
  /** Characters per word (Polyv's console takes 1–20; longer ones are refused here). */
  wordChars: 20,
  /** Words per list. */
  perList: 10_000,
} as const;

// ------------------------------------------------------------------------------- matcher

/** Finds the first listed word in a text: one pass over the text (Aho–Corasick). */
export class BadWordMatcher {
  /** Per state: transitions by UTF-16 code unit. */
  private readonly next: Map<number, number>[] = [new Map()];
  private readonly fail: number[] = [0];
  /** Per state: the word ending here (or, through the fail links, the shortest such). */
  private readonly out: (string | null)[] = [null];

  constructor(words: readonly string[]) {
    for (const word of words) {
      const w = word.toLowerCase();
      if (w === '') continue;
      let s = 0;
      for (let i = 0; i < w.length; i++) {
        const ch = w.charCodeAt(i);
        let t = this.next[s].get(ch);
        if (t === undefined) {
          t = this.next.length;
          this.next.push(new Map());
          this.fail.push(0);
          this.out.push(null);
          this.next[s].set(ch, t);
        }
        s = t;
      }
      this.out[s] ??= word;
    }
    // Breadth-first: each state's fail link is the longest proper suffix that is also a prefix.
    const queue: number[] = [...this.next[0].values()];
    for (let q = 0; q < queue.length; q++) {
      const s = queue[q];
      this.out[s] ??= this.out[this.fail[s]];
      for (const [ch, t] of this.next[s]) {
        let f = this.fail[s];
        while (f !== 0 && !this.next[f].has(ch)) f = this.fail[f];
        const g = this.next[f].get(ch);
        this.fail[t] = g !== undefined && g !== t ? g : 0;
        queue.push(t);
      }
    }
  }

  /** The first listed word the text contains, or null. */
  find(text: string): string | null {
    const t = text.toLowerCase();
    let s = 0;
    for (let i = 0; i < t.length; i++) {
      const ch = t.charCodeAt(i);
      let n = this.next[s].get(ch);
      while (n === undefined && s !== 0) {
        s = this.fail[s];
        n = this.next[s].get(ch);
      }
      s = n ?? 0;
      const hit = this.out[s];
      if (hit !== null) return hit;
    }
    return null;
  }
}

// ------------------------------------------------------------------------------- cache

interface Compiled {
  version: string;
  matcher: BadWordMatcher;
}

/** Compiled lists by app and scope. Versions are unique, so a stale entry is never used. */
const compiled = new Map<string, Compiled>();
const MAX_CACHED = 10_000;

const cacheKey = (appId: AppId, scope: string) => `${appId}\n${scope}`;

/** The first bad word (of the room's or the app's list) in `text`, or null. */
export async function findBadWord(c: ReadContext, roomId: string, text: string): Promise<string | null> {
  const scopes = [roomId, ''];
  const known = new Map<string, string>();
  for (const scope of scopes) {
    const hit = compiled.get(cacheKey(c.appId, scope));
    if (hit) known.set(scope, hit.version);
  }
  for (const list of await c.store.badWords(scopes, known)) {
    const key = cacheKey(c.appId, list.scope);
    let entry = compiled.get(key);
    if (!entry || entry.version !== list.version) {
      if (list.words === null) throw new Error(`bad-word list ${list.scope} came back without words for an unknown version`);
      if (compiled.size >= MAX_CACHED) compiled.clear();
      entry = { version: list.version, matcher: new BadWordMatcher(list.words) };
      compiled.set(key, entry);
    }
    const word = entry.matcher.find(text);
    if (word !== null) return word;
  }
  return null;
}

/** Refuses a text containing a bad word: the one hook of the chat path. */
export async function screenBadWords(c: ReadContext, roomId: string, text: string): Promise<void> {
  const word = await findBadWord(c, roomId, text);
  if (word !== null) throw new RoomError('BadWord', `the message contains a prohibited word: ${word}`);
}

// ------------------------------------------------------------------------------- commands

async function currentWords(c: ReadContext, scope: string): Promise<string[]> {
  const [list] = await c.store.badWords([scope]);
  return list?.words ? [...list.words] : [];
}

/** The scope exists and the actor may change it: a room (its moderators) or the app (admins). */
async function checkScope(c: ReadContext, scope: string, what: string): Promise<void> {
  if (scope === '') requireAppAdmin(c.actor, what);
  else requireModerator(await c.room(scope), c.actor);
}

/** Words match case-insensitively, so a list holds each word once whatever its case. */
function sameWord(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function checkWords(words: string[]): string[] {
  const out: string[] = [];
  for (const raw of words) {
    const w = raw.trim();
    if (w === '') continue;
    if ([...w].length > BAD_WORD_LIMITS.wordChars) throw invalid('words', `each word must be 1..${BAD_WORD_LIMITS.wordChars} characters`);
    checkBytes('words', w, BAD_WORD_LIMITS.wordChars * 4);
    if (!out.some((o) => sameWord(o, w))) out.push(w);
  }
  if (out.length === 0) throw invalid('words', 'must list at least one word');
  return out;
}

export const badWordHandlers: Handlers<'addBadWords' | 'deleteBadWords' | 'listBadWords'> = {
  /** Adds words to a list (those already listed are kept once); returns the list's size. */
  addBadWords: write(async (c, { scope, words }) => {
    await checkScope(c, scope, 'bad words');
    if (scope === '') await c.store.lockApp('exclusive');
    const list = await currentWords(c, scope);
    for (const w of checkWords(words)) if (!list.some((o) => sameWord(o, w))) list.push(w);
    if (list.length > BAD_WORD_LIMITS.perList) throw invalid('words', `a list holds at most ${BAD_WORD_LIMITS.perList} words`);
    await c.store.setBadWords(scope, list, newId(c.now));
    return { count: list.length };
  }),

  /** Removes words from a list (unknown ones are ignored); returns what is left. */
  deleteBadWords: write(async (c, { scope, words }) => {
    await checkScope(c, scope, 'bad words');
    if (scope === '') await c.store.lockApp('exclusive');
    const gone = new Set(words.map((w) => w.trim().toLowerCase()));
    const before = await currentWords(c, scope);
    const list = before.filter((w) => !gone.has(w.toLowerCase()));
    if (list.length !== before.length) await c.store.setBadWords(scope, list, newId(c.now));
    return list;
  }),

  listBadWords: read(async (c, { scope }) => {
    if (scope !== '') await c.room(scope);
    return currentWords(c, scope);
  }),
};
