// VLAN ids: the reserved ones, range text, and a 4096-bit occupancy bitmap with the two
// searches the allocator needs (lowest free id, lowest free run of n ids).

export const VLAN_COUNT = 4096;
/** 0 (untagged), 1 (default) and 4095 are reserved (the original's pkg/db/vlandb). */
export const RESERVED: readonly number[] = [0, 1, 4095];
export const FIRST_USABLE = 2;
export const LAST_USABLE = 4094;

export const isReserved = (id: number): boolean => id === 0 || id === 1 || id === 4095;

/** `start:end` or a size `N`; numbers only, no signs or spaces. */
export type RangeText = { start: number; end: number } | { size: number };

export function parseRange(text: string): RangeText | string {
  const m = /^([0-9]{1,5}):([0-9]{1,5})$/.exec(text);
  if (m) return { start: Number(m[1]), end: Number(m[2]) };
  if (/^[0-9]{1,5}$/.test(text)) return { size: Number(text) };
  return `"${text}" is neither start:end (e.g. 100:199) nor a size (e.g. 10)`;
}

export const formatRange = (start: number, end: number): string => `${start}:${end}`;

/** One bit per id; a set bit is taken (or reserved). */
export class IdBitmap {
  readonly words = new Uint32Array(VLAN_COUNT / 32);

  has(id: number): boolean {
    return (this.words[id >>> 5] & (1 << (id & 31))) !== 0;
  }

  set(id: number): void {
    this.words[id >>> 5] |= 1 << (id & 31);
  }

  clear(id: number): void {
    this.words[id >>> 5] &= ~(1 << (id & 31));
  }

  setRange(start: number, end: number, on: boolean): void {
    for (let id = start; id <= end; id++) {
      if (on) this.set(id);
      else this.clear(id);
    }
  }

  /** Every id of start..end is clear. */
  allClear(start: number, end: number): boolean {
    for (let id = start; id <= end; id++) if (this.has(id)) return false;
    return true;
  }

  /** The lowest clear id in from..to, or -1; skips full words. */
  lowestClear(from: number, to: number): number {
    let id = from;
    while (id <= to) {
      const w = this.words[id >>> 5];
      if (w === 0xffffffff) {
        id = (id | 31) + 1;
        continue;
      }
      // the lowest clear bit at or above id's position in this word
      const free = ~w & (0xffffffff << (id & 31));
      if (free === 0) {
        id = (id | 31) + 1;
        continue;
      }
      const found = (id & ~31) + (31 - Math.clz32(free & -free));
      return found <= to ? found : -1;
    }
    return -1;
  }

  /** The lowest start of n consecutive clear ids inside from..to, or -1. */
  lowestClearRun(from: number, to: number, n: number): number {
    let start = this.lowestClear(from, to);
    while (start >= 0 && start + n - 1 <= to) {
      let id = start + 1;
      while (id < start + n && !this.has(id)) id++;
      if (id === start + n) return start;
      start = this.lowestClear(id + 1, to);
    }
    return -1;
  }
}
