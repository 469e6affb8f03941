// Polyv's request signature: the upper-case hex digest of
//   appSecret + key1value1key2value2… + appSecret
// over the request parameters sorted by key (ASCII order), `sign` itself excluded.
// MD5 by default; SHA-256 when the request says signatureMethod=SHA256.
import { createHash } from 'node:crypto';

export type Digest = 'MD5' | 'SHA256';

export type ParamPairs = ReadonlyArray<readonly [string, string]>;

export function polyvSign(params: ParamPairs, appSecret: string, digest: Digest = 'MD5'): string {
  // Keys are compared by UTF-16 code unit, as Java's Collections.sort and JS's default sort do.
  const sorted = [...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  let plain = appSecret;
  for (const [key, value] of sorted) plain += key + value;
  plain += appSecret;
  return createHash(digest === 'SHA256' ? 'sha256' : 'md5').update(plain, 'utf8').digest('hex').toUpperCase();
}

/** Java's StringUtils.isBlank: empty or only whitespace. */
export function isBlank(value: string): boolean {
  return value.trim() === '';
}

/**
 * Every sign an honest Polyv client could have computed for these parameters. The official
 * SDKs disagree on two details, so each reading is accepted:
 * - the Java SDK leaves blank values out of the sign, the TypeScript SDK keeps them;
 * - the TypeScript SDK leaves `signatureMethod` out, the documented rule keeps it.
 * Each variant still needs the appSecret; blank parameters are treated as absent everywhere,
 * so leaving them unsigned cannot change what a request means.
 */
export function acceptableSigns(params: ParamPairs, appSecret: string, digest: Digest): string[] {
  const signed = params.filter(([k]) => k !== 'sign');
  const variants = [
    signed,
    signed.filter(([, v]) => !isBlank(v)),
    signed.filter(([k]) => k !== 'signatureMethod'),
    signed.filter(([k, v]) => k !== 'signatureMethod' && !isBlank(v)),
  ];
  return [...new Set(variants.map((v) => polyvSign(v, appSecret, digest)))];
}
