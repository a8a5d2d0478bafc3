// The values an injection can take from an allocation: address, prefix, prefixLength,
// gateway, network. IPv6 math is BigInt; output is canonical (RFC 5952 for IPv6).
import type { InjectValue } from './config.js';

/** An IP answer (prefix, gateway) or a VLAN answer (vlanID or vlanRange). */
export interface AllocationAnswer {
  prefix?: string;
  gateway?: string;
  vlanID?: number;
  vlanRange?: string;
}

function v4ToInt(a: string): number | undefined {
  const p = a.split('.');
  if (p.length !== 4) return undefined;
  let n = 0;
  for (const x of p) {
    if (!/^[0-9]{1,3}$/.test(x) || Number(x) > 255) return undefined;
    n = n * 256 + Number(x);
  }
  return n;
}

function intToV4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function v6ToBig(a: string): bigint | undefined {
  let s = a.toLowerCase();
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    // Embedded IPv4 (::ffff:10.0.0.1): two more hex groups.
    const v4 = v4ToInt(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string): number[] => (h === '' ? [] : h.split(':').map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 2 && fill < 1) return undefined;
  const groups = halves.length === 2 ? [...head, ...Array<number>(fill).fill(0), ...rest] : head;
  if (groups.length !== 8 || groups.some((g) => Number.isNaN(g))) return undefined;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** RFC 5952: lowercase, no leading zeros, the longest run (>1) of zero groups as `::`. */
export function formatV6(n: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function splitPrefix(prefix: string): { address: string; length: number } {
  const slash = prefix.indexOf('/');
  if (slash < 0) return { address: prefix, length: prefix.includes(':') ? 128 : 32 };
  return { address: prefix.slice(0, slash), length: Number(prefix.slice(slash + 1)) };
}

/** The network a prefix lies in: 10.0.1.2/24 -> 10.0.1.0/24. */
export function networkOf(prefix: string): string {
  const { address, length } = splitPrefix(prefix);
  if (address.includes(':')) {
    const n = v6ToBig(address);
    if (n === undefined) throw new Error(`not an IPv6 address: ${address}`);
    const mask = length === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - length)) - 1n);
    return `${formatV6(n & mask)}/${length}`;
  }
  const n = v4ToInt(address);
  if (n === undefined) throw new Error(`not an IPv4 address: ${address}`);
  const mask = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
  return `${intToV4((n & mask) >>> 0)}/${length}`;
}

/** The value an injection asks for, or an error message when the allocation has none. */
export function valueOf(a: AllocationAnswer, what: InjectValue): string | number | { missing: string } {
  if (what === 'vlanID')
    return (
      a.vlanID ?? {
        missing: a.vlanRange !== undefined ? `holds VLAN range ${a.vlanRange}, not one vlanID` : 'is not a VLAN claim: it has no vlanID',
      }
    );
  if (a.prefix === undefined) return { missing: `is a VLAN claim: it has no ${what} (inject value vlanID)` };
  const { address, length } = splitPrefix(a.prefix);
  switch (what) {
    case 'address':
      return address;
    case 'prefix':
      return a.prefix;
    case 'prefixLength':
      return length;
    case 'network':
      return networkOf(a.prefix);
    case 'gateway':
      return a.gateway ?? { missing: `has no gateway (${a.prefix} is in a subnet without a gateway)` };
  }
}
