// IP addresses as the core stores and compares them: one spelling per address, so that a ban or
// mute on 127.0.0.1 also holds for ::ffff:127.0.0.1, and one on ::1 for 0:0:0:0:0:0:0:1.
// - IPv4: dotted decimal, no leading zeros.
// - IPv6: RFC 5952 (lower case, longest zero run as ::), as the WHATWG URL parser writes it;
//   an IPv4-mapped address (::ffff:a.b.c.d) is the IPv4 address. Brackets ([::1]) and a zone
//   (fe80::1%eth0: how Node reports a link-local client) are not part of the address.
// - Refused: IPv4 with leading zeros (some parsers read 010 as octal 8), shorthand (127.1).
// Ranges (CIDR) in deny and mute entries: IPv4 /8 to /32, IPv6 /16 to /128 in steps of 8, stored
// as the masked network (10.1.0.0/16). An address then matches through a short list of exact
// subjects — itself and its network at each allowed length (at most 25 for IPv4, 15 for IPv6) —
// so a lookup stays an indexed one, whatever the number of entries.

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const V4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);

export const IPV4_PREFIXES = { min: 8, max: 32 } as const;
export const IPV6_PREFIXES = { min: 16, max: 128, step: 8 } as const;

/** The address's one spelling, or null if it is not an IP address. */
export function canonicalIp(text: string): string | null {
  let t = text.trim();
  if (V4.test(t)) return t; // the common case first: this runs for every entry and deny check
  const bracketed = /^\[(.*)\]$/.exec(t);
  if (bracketed) t = bracketed[1];
  const zoned = /^([^%]*)%[A-Za-z0-9_.%-]+$/.exec(t);
  if (zoned) t = zoned[1];
  if (!/^[0-9A-Fa-f:.]+$/.test(t) || !t.includes(':')) return null;
  let host: string;
  try {
    host = new URL(`http://[${t}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped) {
    const hi = parseInt(mapped[1], 16);
    const lo = parseInt(mapped[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return host;
}

/**
 * A client address as stored: canonical when it is one, else as given (trimmed). Some proxies
 * write a port into X-Forwarded-For (1.2.3.4:5678, [2001:db8::1]:443): it is not part of the
 * address, and a ban on the address must still hold.
 */
export function normalizeIp(text: string): string {
  const ip = canonicalIp(text);
  if (ip !== null) return ip;
  const withPort = /^\s*(?:(\d{1,3}(?:\.\d{1,3}){3})|\[([^\]]+)\]):(\d{1,5})\s*$/.exec(text);
  return (withPort && Number(withPort[3]) <= 65535 && canonicalIp(withPort[1] ?? withPort[2])) || text.trim();
}

/** An address or an allowed range as stored; null when it is neither. */
export function canonicalIpSubject(text: string): string | null {
  const slash = text.indexOf('/');
  if (slash < 0) return canonicalIp(text);
  const ip = canonicalIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1).trim();
  if (ip === null || !/^\d{1,3}$/.test(lenText)) return null;
  const len = Number(lenText);
  if (ip.includes(':')) {
    if (len < IPV6_PREFIXES.min || len > IPV6_PREFIXES.max || len % IPV6_PREFIXES.step !== 0) return null;
    return len === 128 ? ip : `${v6Network(ip, len)}/${len}`;
  }
  if (len < IPV4_PREFIXES.min || len > IPV4_PREFIXES.max) return null;
  return len === 32 ? ip : `${v4Network(ip, len)}/${len}`;
}

export function isRange(subject: string): boolean {
  return subject.includes('/');
}

/** Does `ip` (canonical) fall in `subject` (an address or range as stored)? */
export function ipMatches(subject: string, ip: string): boolean {
  return subject === ip || (isRange(subject) && ipSubjects(ip).includes(subject));
}

/** The subjects an address matches: itself, then its network at every allowed prefix length. */
export function ipSubjects(ip: string): string[] {
  const c = canonicalIp(ip);
  if (c === null) return ip === '' ? [] : [ip];
  const out = [c];
  if (c.includes(':')) {
    for (let len = IPV6_PREFIXES.max - IPV6_PREFIXES.step; len >= IPV6_PREFIXES.min; len -= IPV6_PREFIXES.step) out.push(`${v6Network(c, len)}/${len}`);
  } else {
    const n = v4Number(c);
    for (let len = IPV4_PREFIXES.max - 1; len >= IPV4_PREFIXES.min; len--) out.push(`${v4Masked(n, len)}/${len}`);
  }
  return out;
}

function v4Number(ip: string): number {
  const o = ip.split('.');
  return ((+o[0] << 24) | (+o[1] << 16) | (+o[2] << 8) | +o[3]) >>> 0;
}

/** The first `len` bits (0..32) of an IPv4 address as a number, dotted. */
function v4Masked(n: number, len: number): string {
  const m = len === 0 ? 0 : (n & (-1 << (32 - len))) >>> 0;
  return `${m >>> 24}.${(m >>> 16) & 255}.${(m >>> 8) & 255}.${m & 255}`;
}

function v4Network(ip: string, len: number): string {
  return v4Masked(v4Number(ip), len);
}

/** The first `len` bits of a canonical IPv6 address (`len` a multiple of 8), canonical. */
function v6Network(ip: string, len: number): string {
  const [head, tail = ''] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const bytes = groups.flatMap((g) => {
    const v = parseInt(g, 16);
    return [v >> 8, v & 255];
  });
  for (let i = len / 8; i < 16; i++) bytes[i] = 0;
  const hex: string[] = [];
  for (let i = 0; i < 16; i += 2) hex.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return canonicalIp(hex.join(':'))!;
}
