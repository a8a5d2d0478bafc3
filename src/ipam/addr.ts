// Strict parsing and canonical formatting of IP addresses and CIDR prefixes.
// Addresses are four uint32 words, most significant first. IPv4 uses word 0 only, so
// the same bit-indexing code (bit 0 = most significant) serves both families and no
// IPv6 arithmetic ever touches a floating-point Number.

/** A parsed `addr[/len]`. Reused as scratch on hot paths, hence a class with plain fields. */
export class Cidr {
  v6 = false;
  readonly w = new Uint32Array(4);
  len = 0;
  /** The text carried `/len` (otherwise len is the full address width). */
  hasLen = false;
  /** Bits set beyond `len` (an address inside the prefix rather than its network). */
  hostBits = false;
}

export class AddrError extends Error {}

export const width = (v6: boolean): number => (v6 ? 128 : 32);

const fail = (s: string, why: string): never => {
  throw new AddrError(`invalid IP prefix "${s}": ${why}`);
};

/** Parses dotted-quad IPv4 at s[from, to) into a uint32; -1 when malformed (leading zeros included). */
function parseV4(s: string, from: number, to: number): number {
  let value = 0;
  let octets = 0;
  let i = from;
  while (i < to) {
    let n = 0;
    let digits = 0;
    const start = i;
    while (i < to) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      digits++;
      i++;
    }
    if (digits === 0 || digits > 3 || n > 255) return -1;
    if (digits > 1 && s.charCodeAt(start) === 48) return -1; // 010: octal in some parsers, ambiguous
    value = value * 256 + n;
    octets++;
    if (i < to) {
      if (s.charCodeAt(i) !== 46 || octets === 4) return -1;
      i++;
      if (i === to) return -1;
    }
  }
  return octets === 4 ? value >>> 0 : -1;
}

const hexVal = (c: number): number => (c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1);

/** Parses IPv6 text at s[from, to) into out[0..3]; false when malformed. */
function parseV6(s: string, from: number, to: number, out: Uint32Array): boolean {
  let i = from;
  let gap = -1; // index in the groups where '::' stands
  if (to - from >= 2 && s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
    if (i === to) {
      out.fill(0);
      return true;
    }
  }
  const groups: number[] = [];
  gap = readGroups(s, i, to, gap, groups);
  return gap !== BAD_GROUPS && placeGroups(groups, gap, out);
}

const BAD_GROUPS = -2;

/**
 * Reads the 16-bit groups of s[i, to) (1-4 hex digits each, separated by ':', at most one '::',
 * a trailing dotted IPv4 as two groups). Returns where '::' stands (or `gap` as given, -1 for
 * none), or BAD_GROUPS.
 */
function readGroups(s: string, i: number, to: number, gap: number, groups: number[]): number {
  while (i < to) {
    let j = i;
    let v = 0;
    while (j < to && j - i < 5) {
      const h = hexVal(s.charCodeAt(j));
      if (h < 0) break;
      v = v * 16 + h;
      j++;
    }
    if (j < to && s.charCodeAt(j) === 46) return embeddedV4(s, i, to, groups) ? gap : BAD_GROUPS;
    if (j === i || j - i > 4) return BAD_GROUPS;
    groups.push(v);
    i = j;
    if (i === to) break;
    if (s.charCodeAt(i) !== 58) return BAD_GROUPS;
    i++;
    if (i < to && s.charCodeAt(i) === 58) {
      if (gap >= 0) return BAD_GROUPS; // a second '::'
      gap = groups.length;
      i++;
    } else if (i === to) return BAD_GROUPS; // trailing single ':'
  }
  return gap;
}

/** An embedded IPv4 address: the last 32 bits, as two groups. */
function embeddedV4(s: string, from: number, to: number, groups: number[]): boolean {
  const v4 = parseV4(s, from, to);
  if (v4 < 0) return false;
  groups.push(v4 >>> 16, v4 & 0xffff);
  return true;
}

/** Eight groups into four words, '::' standing for the zero groups missing (at least one, RFC 4291). */
function placeGroups(groups: number[], gap: number, out: Uint32Array): boolean {
  if (gap < 0) {
    if (groups.length !== 8) return false;
  } else {
    if (groups.length > 7) return false;
    groups.splice(gap, 0, ...new Array<number>(8 - groups.length).fill(0));
  }
  for (let k = 0; k < 4; k++) out[k] = ((groups[2 * k] << 16) | groups[2 * k + 1]) >>> 0;
  return true;
}

/** True when the address lies in ::ffff:0:0/96 (IPv4-mapped IPv6). */
export const isMappedV4 = (w: ArrayLike<number>): boolean => w[0] === 0 && w[1] === 0 && w[2] === 0xffff;

/**
 * Parses `addr` or `addr/len` strictly: IPv4 dotted decimal without leading zeros, IPv6 in any
 * RFC 4291 text form (upper or lower case, `::`, trailing dotted quad), length in decimal
 * without sign or leading zeros. IPv4-mapped IPv6 (::ffff:0:0/96) is refused: write IPv4.
 */
export function parseCidr(s: string, out: Cidr = new Cidr()): Cidr {
  if (typeof s !== 'string' || s.length === 0) fail(String(s), 'empty');
  const slash = s.indexOf('/');
  const end = slash < 0 ? s.length : slash;
  const v6 = s.indexOf(':') >= 0 && s.indexOf(':') < end;
  out.v6 = v6;
  const w = out.w;
  if (v6) {
    if (!parseV6(s, 0, end, w)) fail(s, 'not an IPv6 address');
  } else {
    const v = parseV4(s, 0, end);
    if (v < 0) fail(s, 'not an IPv4 address (dotted decimal, no leading zeros)');
    w[0] = v;
    w[1] = 0;
    w[2] = 0;
    w[3] = 0;
  }
  const W = v6 ? 128 : 32;
  out.hasLen = slash >= 0;
  const len = slash >= 0 ? parseLength(s, slash + 1, W) : W;
  out.len = len;
  out.hostBits = hasHostBits(w, len, W);
  if (v6 && len >= 96 && isMappedV4(w)) {
    fail(s, `IPv4-mapped IPv6 addresses (::ffff:0:0/96) are not managed: write the IPv4 address ${formatV4(w[3])}`);
  }
  return out;
}

/** The prefix length at s[from..]: 1-3 decimal digits, no leading zero, at most W. */
function parseLength(s: string, from: number, W: number): number {
  const digits = s.length - from;
  if (digits < 1 || digits > 3) fail(s, 'bad prefix length');
  let len = 0;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) fail(s, 'bad prefix length');
    len = len * 10 + (c - 48);
  }
  if (digits > 1 && s.charCodeAt(from) === 48) fail(s, 'prefix length with a leading zero');
  if (len > W) fail(s, `prefix length ${len} exceeds ${W}`);
  return len;
}

function hasHostBits(w: ArrayLike<number>, len: number, W: number): boolean {
  for (let k = 0; k < W / 32; k++) {
    const lo = k * 32;
    if (len >= lo + 32) continue;
    const keep = len <= lo ? 0 : len - lo; // leading bits of this word that belong to the network
    const mask = keep === 0 ? 0xffffffff : (0xffffffff >>> keep) >>> 0;
    if ((w[k] & mask) !== 0) return true;
  }
  return false;
}

/** Clears host bits beyond len (in place). */
export function maskTo(w: Uint32Array, len: number, v6: boolean): void {
  const n = v6 ? 4 : 1;
  for (let k = 0; k < n; k++) {
    const lo = k * 32;
    if (len >= lo + 32) continue;
    const keep = len <= lo ? 0 : len - lo;
    w[k] = keep === 0 ? 0 : (w[k] & ~(0xffffffff >>> keep)) >>> 0;
  }
}

const OCTET: string[] = Array.from({ length: 256 }, (_, i) => String(i));
const OCTET_DOT: string[] = OCTET.map((s) => s + '.');

export const formatV4 = (v: number): string =>
  OCTET_DOT[v >>> 24] + OCTET_DOT[(v >>> 16) & 255] + OCTET_DOT[(v >>> 8) & 255] + OCTET[v & 255];

/** RFC 5952: lowercase, no leading zeros, the longest run (>= 2) of zero groups as `::`, leftmost on ties. */
export function formatV6(w0: number, w1: number, w2: number, w3: number): string {
  const g0 = w0 >>> 16,
    g1 = w0 & 0xffff,
    g2 = w1 >>> 16,
    g3 = w1 & 0xffff;
  const g4 = w2 >>> 16,
    g5 = w2 & 0xffff,
    g6 = w3 >>> 16,
    g7 = w3 & 0xffff;
  const g = [g0, g1, g2, g3, g4, g5, g6, g7];
  let best = -1,
    bestLen = 1,
    run = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && g[i] === 0) {
      if (run < 0) run = i;
    } else if (run >= 0) {
      if (i - run > bestLen) {
        best = run;
        bestLen = i - run;
      }
      run = -1;
    }
  }
  if (best < 0) {
    return (
      g0.toString(16) +
      ':' +
      g1.toString(16) +
      ':' +
      g2.toString(16) +
      ':' +
      g3.toString(16) +
      ':' +
      g4.toString(16) +
      ':' +
      g5.toString(16) +
      ':' +
      g6.toString(16) +
      ':' +
      g7.toString(16)
    );
  }
  let s = '';
  for (let i = 0; i < best; i++) s += (i ? ':' : '') + g[i].toString(16);
  s += '::';
  for (let i = best + bestLen; i < 8; i++) s += (i > best + bestLen ? ':' : '') + g[i].toString(16);
  return s;
}

export const formatAddr = (v6: boolean, w: ArrayLike<number>, o = 0): string =>
  v6 ? formatV6(w[o], w[o + 1], w[o + 2], w[o + 3]) : formatV4(w[o]);

/** Canonical text of a parsed value: `addr/len` (host bits kept), or the masked network when `network`. */
export function formatCidr(c: Cidr, network = false): string {
  if (!network || !c.hostBits) return formatAddr(c.v6, c.w) + '/' + c.len;
  const w = new Uint32Array(c.w);
  maskTo(w, c.len, c.v6);
  return formatAddr(c.v6, w) + '/' + c.len;
}

/** Canonical `net/len` of any prefix text, or the AddrError. */
export function canonicalPrefix(s: string): string {
  return formatCidr(parseCidr(s), true);
}

/** Compares two addresses word by word (IPv4 uses word 0). */
export function compareWords(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number): number {
  for (let k = 0; k < 4; k++) {
    const x = a[ao + k],
      y = b[bo + k];
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Bit `p` (0 = most significant) of the address stored at w[o..o+3]. */
export const bitAt = (w: ArrayLike<number>, o: number, p: number): number => (w[o + (p >>> 5)] >>> (31 - (p & 31))) & 1;

/** True when prefix (b, blen) lies within prefix (a, alen); both addresses masked or not, same family. */
export function contains(a: ArrayLike<number>, ao: number, alen: number, b: ArrayLike<number>, bo: number, blen: number): boolean {
  if (blen < alen) return false;
  for (let k = 0; k < 4; k++) {
    const lo = k * 32;
    if (alen <= lo) return true;
    const keep = alen - lo >= 32 ? 32 : alen - lo;
    const mask = keep === 32 ? 0xffffffff : ~(0xffffffff >>> keep) >>> 0;
    if (((a[ao + k] ^ b[bo + k]) & mask) !== 0) return false;
  }
  return true;
}

/** Words of an address as one BigInt (edges only: counts, index arithmetic). */
export function toBig(v6: boolean, w: ArrayLike<number>, o = 0): bigint {
  if (!v6) return BigInt(w[o] >>> 0);
  return (BigInt(w[o] >>> 0) << 96n) | (BigInt(w[o + 1] >>> 0) << 64n) | (BigInt(w[o + 2] >>> 0) << 32n) | BigInt(w[o + 3] >>> 0);
}

export function fromBig(v6: boolean, x: bigint, out: Uint32Array): void {
  if (!v6) {
    out[0] = Number(x & 0xffffffffn);
    out[1] = out[2] = out[3] = 0;
    return;
  }
  out[0] = Number((x >> 96n) & 0xffffffffn);
  out[1] = Number((x >> 64n) & 0xffffffffn);
  out[2] = Number((x >> 32n) & 0xffffffffn);
  out[3] = Number(x & 0xffffffffn);
}
