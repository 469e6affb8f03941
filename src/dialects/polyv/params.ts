// Request parameters (query string and form body), read the way Polyv documents them.
import { fail } from './errors.js';
import { isBlank, type ParamPairs } from './sign.js';

/** Decodes `a=1&b=2` (form or query encoding: `+` is a space). */
export function parsePairs(text: string): [string, string][] {
  return [...new URLSearchParams(text)];
}

export class Params {
  private readonly values = new Map<string, string>();

  /** Throws when a parameter is given twice: which value was signed would be ambiguous. */
  constructor(readonly pairs: ParamPairs) {
    for (const [key, value] of pairs) {
      if (this.values.has(key)) throw fail.invalid();
      this.values.set(key, value);
    }
  }

  /**
   * The value, or undefined when absent or blank. Blank values are treated as absent because
   * the Java SDK leaves them out of the sign (so they must not be able to change a request).
   */
  optional(name: string): string | undefined {
    const v = this.values.get(name);
    return v === undefined || isBlank(v) ? undefined : v;
  }

  required(name: string): string {
    const v = this.optional(name);
    if (v === undefined) throw fail.empty(name);
    return v;
  }

  /** A non-negative integer (Polyv's "digit"), or `fallback` when absent. */
  digits(name: string, fallback: number): number {
    const v = this.optional(name);
    if (v === undefined) return fallback;
    if (!/^\d{1,15}$/.test(v)) throw fail.notDigit(name);
    return Number(v);
  }

  /** Y / N. */
  yesNo(name: string, fallback: boolean): boolean {
    const v = this.optional(name);
    if (v === undefined) return fallback;
    if (v === 'Y') return true;
    if (v === 'N') return false;
    throw fail.notBoolean();
  }

  oneOf<T extends string>(name: string, choices: readonly T[]): T {
    const v = this.required(name);
    if (!(choices as readonly string[]).includes(v)) throw fail.invalid();
    return v as T;
  }

  /** A comma-separated list: items trimmed, empty items dropped; at least one. */
  list(name: string): string[] {
    const items = this.required(name)
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (items.length === 0) throw fail.empty(name);
    return items;
  }
}
