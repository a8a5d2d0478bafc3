// Numbers of addresses are exact decimal strings (IPv6 counts pass 2^53): arithmetic in BigInt.

/** used/total as a percentage with two decimals. */
export function percent(used: string, total: string): number {
  const t = BigInt(total);
  if (t === 0n) return 0;
  return Number((BigInt(used) * 10000n) / t) / 100;
}

/** 1234567 -> "1 234 567"; powers of two beyond a trillion also as 2^n. */
export function count(n: string): string {
  const grouped = n.replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f');
  const b = BigInt(n);
  if (b > 1_000_000_000_000n && (b & (b - 1n)) === 0n) return `2^${b.toString(2).length - 1}`;
  return grouped;
}

/** A small stable colour index per name (a package), so its cells share a colour. */
export function colourOf(owner: string): number {
  let h = 0;
  for (let i = 0; i < owner.length; i++) h = (h * 31 + owner.charCodeAt(i)) >>> 0;
  return h % 8;
}
