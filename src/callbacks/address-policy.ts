// callbacks.privateAddresses: whether callback deliveries may go to loopback, private, link-local
// and other internal addresses. The default allows them (self-hosted backends often live on a
// private network); a server that hosts apps of several owners denies them, so one app's admin
// cannot point callbacks at the server itself, the cloud metadata service or internal services.
import { BlockList, isIP } from 'node:net';

export const PRIVATE_ADDRESS_POLICIES = ['allow', 'deny'] as const;
export type PrivateAddresses = (typeof PRIVATE_ADDRESS_POLICIES)[number];

const DENIED_V4: [string, number][] = [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 itself reaches the local host
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, the cloud metadata address among them
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking networks
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, the broadcast address among them
];

const DENIED_V6: [string, number][] = [
  ['::', 96], // unspecified, loopback, and the deprecated IPv4-compatible ::a.b.c.d
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215)
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
];

/** An IPv4 address as two hexadecimal IPv6 groups ('127.0.0.0' -> '7f00:0'). */
function groupsOf(v4: string): [string, string] {
  const [a, b, c, d] = v4.split('.').map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}

// BlockList matches an IPv4-mapped IPv6 address (::ffff:127.0.0.1, ::ffff:7f00:1) against the
// IPv4 rules too. IPv6 addresses that carry an IPv4 one to a gateway reach it as well: NAT64's
// well-known prefix 64:ff9b::/96 (RFC 6052) and 6to4's 2002::/16 (RFC 3056), the IPv4 address in
// their low 32 bits and in bits 16-47. Each denied IPv4 range is denied in those forms too.
const denied = new BlockList();
for (const [net, prefix] of DENIED_V4) {
  denied.addSubnet(net, prefix, 'ipv4');
  const [hi, lo] = groupsOf(net);
  denied.addSubnet(`64:ff9b::${hi}:${lo}`, 96 + prefix, 'ipv6');
  denied.addSubnet(`2002:${hi}:${lo}::`, 16 + prefix, 'ipv6');
}
for (const [net, prefix] of DENIED_V6) denied.addSubnet(net, prefix, 'ipv6');

/** Whether `address` (an IP address, v4 or v6) is one callbacks.privateAddresses = deny refuses. */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/%.*$/, ''); // a zone id (fe80::1%eth0) is not part of the address
  const family = isIP(bare);
  if (family === 0) throw new TypeError(`not an IP address: ${address}`);
  return denied.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

/** The host of a URL as a connection takes it: an IPv6 literal without its brackets. */
export function hostOf(url: URL): string {
  const h = url.hostname;
  return h.startsWith('[') ? h.slice(1, -1) : h;
}

/**
 * The host of a callback URL that deny refuses when it is configured: a literal IP address in a
 * denied range, or a localhost name (which always means this machine). Null when the host is a
 * public address or another name (names are checked at delivery, on the address they resolve to).
 */
export function refusedCallbackHost(url: string): string | null {
  const u = URL.parse(url);
  if (!u) return null;
  const host = hostOf(u);
  if (isIP(host)) return isPrivateAddress(host) ? host : null;
  const name = host.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost') ? host : null;
}

/** Why a configured callback URL is refused under deny, or null when it is not. */
export function callbackUrlProblem(url: string, policy: PrivateAddresses): string | null {
  if (policy !== 'deny') return null;
  const host = refusedCallbackHost(url);
  return host === null ? null : `host ${host} is an internal address (loopback, private, link-local or the like), not allowed (callbacks.privateAddresses is deny)`;
}

/** The error a delivery ends with when the address it would connect to is denied. */
export function deniedAddressMessage(address: string, host: string): string {
  const shown = address === host ? address : `${address} (${host})`;
  return `callback address ${shown} is not allowed (callbacks.privateAddresses is deny)`;
}
