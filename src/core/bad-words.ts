// Bad words (Polyv's 严禁词): a list per room and one for the whole app ('' scope), stored by the
// store. A member's message containing a word of either list (case-insensitive, anywhere in the
// text) is refused with `BadWord`: nobody else gets it, the sender is told (Polyv's SDKs report
// "prohibited word" to the sender and mark the message as failed). Each list is compiled once
// into one RegExp, cached by the list's version, so a check costs about one pass over the text
// whatever the number of words.
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

/**
 * The form words and texts are compared in, so that a word is found however its letters' case is
 * written: lower case by String.prototype.toLowerCase, which maps every cased letter (a RegExp's
 * `i` flag alone does not: without `u` it leaves letters outside the BMP unfolded, and it never
 * relates the Kelvin sign K, the Ohm sign Ω or the capital ẞ to k, ω and ß, nor İ to anything),
 * and the dot that lower-casing leaves of İ (i + U+0307) dropped, so İ, I and i are one letter.
 */
export function foldCase(s: string): string {
  const lower = s.toLowerCase();
  return lower.indexOf('\u0307') === -1 ? lower : lower.replace(/i\u0307/g, 'i');
}

/**
 * Finds a listed word in a text: one case-insensitive RegExp of the escaped folded words,
 * compiled once per list version, run over the folded text (V8 turns an alternation of literals
 * into one automaton: a check costs about as much as scanning the text, whatever the number of
 * words). Only the word is reported, never a position in the text, so a text whose folded form
 * is longer or shorter than itself needs no mapping back.
 */
export class BadWordMatcher {
  private readonly re: RegExp | null;
  /** Folded word -> the word as listed (the first spelling given). */
  private readonly listed = new Map<string, string>();
  /** Upper-cased folded word -> the word as listed: built when first needed (see find). */
  private byUpper: Map<string, string> | null = null;

  constructor(words: readonly string[]) {
    for (const w of words) {
      const key = foldCase(w);
      if (key !== '' && !this.listed.has(key)) this.listed.set(key, w);
    }
    // Longer words first, so a match reports the longest word starting at its position. The `i`
    // flag still relates the lower-case letters one upper-case letter has (σ and final ς, µ and μ).
    const alternatives = [...this.listed.keys()].sort((a, b) => b.length - a.length).map(escape);
    this.re = alternatives.length > 0 ? new RegExp(alternatives.join('|'), 'i') : null;
  }

  /** How many words it matches. */
  get size(): number {
    return this.listed.size;
  }

  /** The listed word of the leftmost match, or null. */
  find(text: string): string | null {
    const m = this.re?.exec(foldCase(text));
    if (!m) return null;
    const word = this.listed.get(m[0]);
    if (word !== undefined) return word;
    // Matched through the `i` flag only (ς for σ): rare, so this map is not built before.
    if (!this.byUpper) {
      this.byUpper = new Map();
      for (const [key, w] of this.listed) if (!this.byUpper.has(key.toUpperCase())) this.byUpper.set(key.toUpperCase(), w);
    }
    return this.byUpper.get(m[0].toUpperCase()) ?? m[0];
  }
}

function escape(word: string): string {
  return word.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

// ------------------------------------------------------------------------------- cache

/**
 * One app's compiled lists by scope (in the order they were compiled), their versions (what the
 * store is told we know), and the words they hold in all.
 */
interface AppCache {
  matchers: Map<string, BadWordMatcher>;
  versions: Map<string, string>;
  words: number;
}

/**
 * By app. Versions are unique, so a stale matcher is never used. A room's list goes when the room
 * is dismissed (forgetBadWords, on every node through the bus); beyond these bounds the oldest
 * compiled lists go first (they are compiled again when next needed).
 */
const compiled = new Map<AppId, AppCache>();
const MAX_CACHED_PER_APP = 10_000;
const MAX_CACHED_WORDS_PER_APP = 1_000_000;

function appCache(appId: AppId): AppCache {
  let a = compiled.get(appId);
  if (!a) compiled.set(appId, (a = { matchers: new Map(), versions: new Map(), words: 0 }));
  return a;
}

function drop(a: AppCache, scope: string): void {
  const m = a.matchers.get(scope);
  if (m) a.words -= m.size;
  a.matchers.delete(scope);
  a.versions.delete(scope);
}

function cacheMatcher(a: AppCache, scope: string, version: string, matcher: BadWordMatcher): void {
  drop(a, scope);
  for (const oldest of a.matchers.keys()) {
    if (a.matchers.size < MAX_CACHED_PER_APP && a.words + matcher.size <= MAX_CACHED_WORDS_PER_APP) break;
    drop(a, oldest);
  }
  a.matchers.set(scope, matcher);
  a.versions.set(scope, version);
  a.words += matcher.size;
}

/** The scope's list is gone (its room was dismissed): its compiled form goes too. */
export function forgetBadWords(appId: AppId, scope: string): void {
  const a = compiled.get(appId);
  if (a) drop(a, scope);
}

/** How many compiled lists the app's cache holds (observability and tests). */
export function cachedBadWordLists(appId: AppId): number {
  return compiled.get(appId)?.matchers.size ?? 0;
}

/** The first bad word (of the room's or the app's list) in `text`, or null. */
export async function findBadWord(c: ReadContext, roomId: string, text: string): Promise<string | null> {
  const app = appCache(c.appId);
  // The versions of these two scopes only: a store may send what it is told to its database.
  const known = new Map<string, string>();
  for (const scope of [roomId, '']) {
    const v = app.versions.get(scope);
    if (v !== undefined) known.set(scope, v);
  }
  const lists = await c.store.badWords([roomId, ''], known);
  // A list no longer stored (its words all deleted) is not kept compiled either.
  if (app.matchers.has(roomId) && !lists.some((l) => l.scope === roomId)) drop(app, roomId);
  if (lists.length === 0) return null;
  for (const list of lists) {
    let matcher = app.versions.get(list.scope) === list.version ? app.matchers.get(list.scope) : undefined;
    if (!matcher) {
      // words === null: known when asked, evicted since by a concurrent check: read it again.
      const fresh = list.words !== null ? list : (await c.store.badWords([list.scope]))[0];
      if (!fresh?.words) continue;
      const { version, words } = fresh;
      matcher = new BadWordMatcher(words);
      cacheMatcher(app, list.scope, version, matcher);
    }
    const word = matcher.find(text);
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

// Words match case-insensitively (compared folded, see foldCase), so a list holds each word once
// whatever its case (the first spelling given is kept).

function checkWords(words: string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const raw of words) {
    const w = raw.trim();
    if (w === '') continue;
    if ([...w].length > BAD_WORD_LIMITS.wordChars) throw invalid('words', `each word must be 1..${BAD_WORD_LIMITS.wordChars} characters`);
    checkBytes('words', w, BAD_WORD_LIMITS.wordChars * 4);
    if (!seen.has(foldCase(w))) {
      seen.add(foldCase(w));
      out.push(w);
    }
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
    // By lower-cased word: a list of 10,000 words is checked in one pass, not 10,000 × 10,000.
    const listed = new Set(list.map(foldCase));
    for (const w of checkWords(words)) {
      if (listed.has(foldCase(w))) continue;
      listed.add(foldCase(w));
      list.push(w);
    }
    if (list.length > BAD_WORD_LIMITS.perList) throw invalid('words', `a list holds at most ${BAD_WORD_LIMITS.perList} words`);
    await c.store.setBadWords(scope, list, newId(c.now));
    return { count: list.length };
  }),

  /** Removes words from a list (unknown ones are ignored); returns what is left. */
  deleteBadWords: write(async (c, { scope, words }) => {
    await checkScope(c, scope, 'bad words');
    if (scope === '') await c.store.lockApp('exclusive');
    const gone = new Set(words.map((w) => foldCase(w.trim())));
    const before = await currentWords(c, scope);
    const list = before.filter((w) => !gone.has(foldCase(w)));
    if (list.length !== before.length) await c.store.setBadWords(scope, list, newId(c.now));
    return list;
  }),

  listBadWords: read(async (c, { scope }) => {
    if (scope !== '') await c.room(scope);
    return currentWords(c, scope);
  }),
};
