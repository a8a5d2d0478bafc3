// Owner -> allocation row: open-addressing hash tables of row ids (Int32Array, linear
// probing, backward-shift deletion). The owner strings live in the row table already, so an
// entry is a slot of two int32 words (no Map entry, no string of its own), and inserting never
// rehashes more than 1/256 of the index (see SHARDS).

import type { RowStore } from './rows.js';

/** FNV-1a over UTF-16 code units, never 0. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h === 0 ? 1 : h;
}

/** Sub-tables, chosen by a hash's top 8 bits. Each grows on its own, so growing costs 1/256 of
 *  the index at a time (one table would rehash every entry within a single insert). */
const SHARDS = 256;
const SHARD_SHIFT = 24;

export class OwnerIndex {
  /** Per sub-table: pairs [row, hash] per slot, so a probe touches one cache line; row 0 = empty. */
  private readonly slots: Int32Array[] = Array.from({ length: SHARDS }, () => new Int32Array(32));
  private readonly masks = new Int32Array(SHARDS).fill(15);
  private readonly counts = new Int32Array(SHARDS);
  private count = 0;

  constructor(private readonly rows: RowStore) {}

  get size(): number {
    return this.count;
  }

  get(owner: string): number | undefined {
    const h = hashString(owner);
    const t = h >>> SHARD_SHIFT;
    const slots = this.slots[t],
      rows = this.rows,
      mask = this.masks[t];
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const r = slots[2 * i];
      if (r === 0) return undefined;
      if (slots[2 * i + 1] === h && rows.ownerIs(r, owner)) return r;
    }
  }

  has(owner: string): boolean {
    return this.get(owner) !== undefined;
  }

  /** Maps owner to row r (the row's owner field must already be `owner`); replaces an old entry. */
  set(owner: string, r: number): void {
    this.put(owner, r, true);
  }

  /** Adds owner -> r unless the owner is there already (then returns false and changes nothing). */
  add(owner: string, r: number): boolean {
    return this.put(owner, r, false);
  }

  private put(owner: string, r: number, replace: boolean): boolean {
    const h = hashString(owner);
    const t = h >>> SHARD_SHIFT;
    const slots = this.slots[t],
      rows = this.rows,
      mask = this.masks[t];
    let i = h & mask;
    for (; ; i = (i + 1) & mask) {
      const x = slots[2 * i];
      if (x === 0) break;
      if (slots[2 * i + 1] === h && rows.ownerIs(x, owner)) {
        if (replace) slots[2 * i] = r;
        return replace;
      }
    }
    slots[2 * i] = r;
    slots[2 * i + 1] = h;
    this.count++;
    if (++this.counts[t] * 2 > mask + 1) this.rehash(t, (mask + 1) * 2);
    return true;
  }

  delete(owner: string): boolean {
    const h = hashString(owner);
    const t = h >>> SHARD_SHIFT;
    const slots = this.slots[t],
      rows = this.rows,
      mask = this.masks[t];
    let i = h & mask;
    for (; ; i = (i + 1) & mask) {
      const r = slots[2 * i];
      if (r === 0) return false;
      if (slots[2 * i + 1] === h && rows.ownerIs(r, owner)) break;
    }
    // backward-shift: pull later entries of the probe run into the hole
    let hole = i;
    for (let j = (i + 1) & mask; slots[2 * j] !== 0; j = (j + 1) & mask) {
      const home = slots[2 * j + 1] & mask;
      // the entry at j may move to the hole if its home is not in (hole, j]
      if (hole <= j ? home <= hole || home > j : home <= hole && home > j) {
        slots[2 * hole] = slots[2 * j];
        slots[2 * hole + 1] = slots[2 * j + 1];
        hole = j;
      }
    }
    slots[2 * hole] = 0;
    slots[2 * hole + 1] = 0;
    this.counts[t]--;
    this.count--;
    return true;
  }

  private rehash(t: number, cap: number): void {
    const old = this.slots[t];
    const slots = (this.slots[t] = new Int32Array(2 * cap));
    const mask = (this.masks[t] = cap - 1);
    for (let k = 0; k < old.length; k += 2) {
      const r = old[k];
      if (r === 0) continue;
      const h = old[k + 1];
      let i = h & mask;
      while (slots[2 * i] !== 0) i = (i + 1) & mask;
      slots[2 * i] = r;
      slots[2 * i + 1] = h;
    }
  }
}
