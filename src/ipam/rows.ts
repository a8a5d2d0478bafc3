// Every prefix, reservation and allocation is a row in one table of typed-array pages (each
// row's fields side by side, see RowStore), with owner strings in per-page pools. An
// allocation is one row and no JS object of its own; Allocation objects are built on output
// only.

/** What a row is. */
export const enum RowType {
  Free = 0,
  /** Row 1: network/broadcast addresses and other space nobody may take. */
  System = 1,
  /** An operator-defined prefix (NetworkInstance aggregate or IPPrefix). */
  Prefix = 2,
  /** The address an IPPrefix with host bits reserves inside its subnet. */
  Reserved = 3,
  /** An exclusive allocation (address or prefix) held by an owner. */
  Alloc = 4,
  /** A non-exclusive lookup of a reserved address (static allocation by label). */
  Ref = 5,
}

export const enum RowFlag {
  V6 = 1,
  /** A single address, never a container. */
  Host = 2,
  /** Offered as a parent to dynamic requests (indexed by labels). */
  Selectable = 4,
}

/** Prefix kinds as stored. */
export const enum KindCode {
  Aggregate = 0,
  Network = 1,
  Pool = 2,
  Loopback = 3,
}

export const KIND_NAMES = ['aggregate', 'network', 'pool', 'loopback'] as const;

export const SYSTEM_ROW = 1;

/** Words per row: [a0, a1, a2, a3, meta, parent, inst, root, labels, ownerOff, ownerLen, node]. */
export const ROW = 12;
const META = 4,
  PARENT = 5,
  INST = 6,
  ROOT = 7,
  LABELS = 8,
  OWNER_OFF = 9,
  OWNER_LEN = 10,
  NODE = 11;

/** Rows per page (2^PAGE_BITS). Growing the table adds a page and never copies the rows
 *  already there: doubling one array would copy every row within a single insert. */
const PAGE_BITS = 12;
const PAGE_MASK = (1 << PAGE_BITS) - 1;
const PAGE_WORDS = ROW << PAGE_BITS;

/**
 * Rows are array-of-structs in pages of Uint32Array (48 bytes a row), so touching a random row
 * (release, lookups) costs one or two cache lines instead of one per field. The address is the
 * row's first four words (`page(r)`, offset `at(r)`). meta packs len | kind << 8 | type << 16 | flags << 24.
 * Each page keeps the owner strings of its rows in its own pool of UTF-16 code units, not as a
 * million JS strings: less memory, nothing for the garbage collector to trace or copy, and a
 * pool grows or is compacted a page at a time.
 */
export class RowStore {
  /** Page 0 starts small and doubles up to full size (small spaces stay small); the rest are full. */
  private readonly pages: Uint32Array[] = [new Uint32Array(ROW * 1024)];
  private readonly pools: Uint16Array[] = [new Uint16Array(4096)];
  private readonly poolTop: number[] = [0];
  private readonly poolGarbage: number[] = [0];
  private top = 2; // 0 = none, 1 = system
  private holes: number[] = [];
  private readonly codes: number[] = [];
  live = 0;

  constructor() {
    this.setType(1, RowType.System);
  }

  /** The page holding row r's words, and r's offset in it. */
  page(r: number): Uint32Array {
    return this.pages[r >>> PAGE_BITS];
  }
  at(r: number): number {
    return ROW * (r & PAGE_MASK);
  }

  private meta(r: number): number {
    return this.pages[r >>> PAGE_BITS][ROW * (r & PAGE_MASK) + META];
  }
  private setMetaWord(r: number, v: number): void {
    this.pages[r >>> PAGE_BITS][ROW * (r & PAGE_MASK) + META] = v;
  }
  private word(r: number, f: number): number {
    return this.pages[r >>> PAGE_BITS][ROW * (r & PAGE_MASK) + f];
  }
  private setWord(r: number, f: number, v: number): void {
    this.pages[r >>> PAGE_BITS][ROW * (r & PAGE_MASK) + f] = v;
  }

  /** Block length: the prefix length, or the full width for host addresses. */
  len(r: number): number {
    return this.meta(r) & 0xff;
  }
  kind(r: number): number {
    return (this.meta(r) >>> 8) & 0xff;
  }
  type(r: number): number {
    return (this.meta(r) >>> 16) & 0xff;
  }
  flags(r: number): number {
    return this.meta(r) >>> 24;
  }
  setLen(r: number, v: number): void {
    this.setMetaWord(r, (this.meta(r) & 0xffffff00) | v);
  }
  setKind(r: number, v: number): void {
    this.setMetaWord(r, (this.meta(r) & 0xffff00ff) | (v << 8));
  }
  setType(r: number, v: number): void {
    this.setMetaWord(r, (this.meta(r) & 0xff00ffff) | (v << 16));
  }
  setFlags(r: number, v: number): void {
    this.setMetaWord(r, (this.meta(r) & 0x00ffffff) | (v << 24));
  }
  /** Sets len, kind, type and flags at once. */
  setMeta(r: number, len: number, kind: number, type: number, flags: number): void {
    this.setMetaWord(r, len | (kind << 8) | (type << 16) | (flags << 24));
  }
  /** Enclosing container row (0 = top level); for Ref rows the Reserved row they point at. */
  parent(r: number): number {
    return this.word(r, PARENT);
  }
  setParent(r: number, v: number): void {
    this.setWord(r, PARENT, v);
  }
  inst(r: number): number {
    return this.word(r, INST);
  }
  setInst(r: number, v: number): void {
    this.setWord(r, INST, v);
  }
  /** Root of this row's own free-space trie, when it is a container. */
  root(r: number): number {
    return this.word(r, ROOT);
  }
  setRoot(r: number, v: number): void {
    this.setWord(r, ROOT, v);
  }
  /** Interned label set of the row's own labels. */
  labels(r: number): number {
    return this.word(r, LABELS);
  }
  setLabels(r: number, v: number): void {
    this.setWord(r, LABELS, v);
  }

  /** The trie leaf holding this row's block in its container (0: unknown). */
  node(r: number): number {
    return this.word(r, NODE);
  }
  setNode(r: number, v: number): void {
    this.setWord(r, NODE, v);
  }

  ownerOf(r: number): string {
    const off = this.word(r, OWNER_OFF),
      len = this.word(r, OWNER_LEN);
    const c = this.pools[r >>> PAGE_BITS];
    if (len <= 256) {
      const codes = this.codes;
      codes.length = len;
      for (let i = 0; i < len; i++) codes[i] = c[off + i];
      return String.fromCharCode.apply(null, codes);
    }
    let s = '';
    for (let i = 0; i < len; i += 256) s += String.fromCharCode.apply(null, Array.from(c.subarray(off + i, off + Math.min(len, i + 256))));
    return s;
  }

  ownerIs(r: number, s: string): boolean {
    const len = this.word(r, OWNER_LEN);
    if (len !== s.length) return false;
    const c = this.pools[r >>> PAGE_BITS],
      off = this.word(r, OWNER_OFF);
    for (let i = 0; i < len; i++) if (c[off + i] !== s.charCodeAt(i)) return false;
    return true;
  }

  setOwner(r: number, s: string): void {
    const len = s.length;
    const p = r >>> PAGE_BITS;
    this.poolGarbage[p] += this.word(r, OWNER_LEN);
    this.setWord(r, OWNER_LEN, 0); // not live now: a compaction below must not keep it
    if (this.poolTop[p] + len > this.pools[p].length) this.makeRoom(p, len);
    const c = this.pools[p];
    const off = this.poolTop[p];
    for (let i = 0; i < len; i++) c[off + i] = s.charCodeAt(i);
    this.setWord(r, OWNER_OFF, off);
    this.setWord(r, OWNER_LEN, len);
    this.poolTop[p] = off + len;
  }

  /** Compacts page p's pool when half of it is garbage, else grows it. */
  private makeRoom(p: number, len: number): void {
    const top = this.poolTop[p],
      garbage = this.poolGarbage[p];
    const old = this.pools[p];
    let cap = old.length;
    while (top - garbage + len > cap / 2) cap *= 2;
    const next = new Uint16Array(cap);
    this.pools[p] = next;
    if (garbage * 2 < top) {
      next.set(old.subarray(0, top));
      return;
    }
    let at = 0;
    const d = this.pages[p];
    const rows = Math.min(d.length / ROW, this.top - (p << PAGE_BITS));
    for (let i = 0; i < rows; i++) {
      const l = d[ROW * i + OWNER_LEN];
      if (l === 0) continue;
      const off = d[ROW * i + OWNER_OFF];
      for (let k = 0; k < l; k++) next[at + k] = old[off + k];
      d[ROW * i + OWNER_OFF] = at;
      at += l;
    }
    this.poolTop[p] = at;
    this.poolGarbage[p] = 0;
  }

  /** Room for row r: a new page, or page 0 doubled while it is still small. */
  private room(r: number): void {
    const p = r >>> PAGE_BITS;
    if (p < this.pages.length) {
      const next = new Uint32Array(Math.min(PAGE_WORDS, this.pages[p].length * 2));
      next.set(this.pages[p]);
      this.pages[p] = next;
      return;
    }
    this.pages.push(new Uint32Array(PAGE_WORDS));
    this.pools.push(new Uint16Array(4096));
    this.poolTop.push(0);
    this.poolGarbage.push(0);
  }

  alloc(): number {
    let r: number;
    if (this.holes.length > 0) r = this.holes.pop()!;
    else {
      r = this.top++;
      if (r >>> PAGE_BITS >= this.pages.length || ROW * ((r & PAGE_MASK) + 1) > this.pages[r >>> PAGE_BITS].length) this.room(r);
    }
    this.live++;
    const d = this.pages[r >>> PAGE_BITS],
      o = ROW * (r & PAGE_MASK);
    d[o + META] = 0;
    d[o + PARENT] = 0;
    d[o + ROOT] = 0;
    d[o + LABELS] = 0;
    d[o + OWNER_LEN] = 0;
    d[o + NODE] = 0;
    return r;
  }

  free(r: number): void {
    const d = this.pages[r >>> PAGE_BITS],
      o = ROW * (r & PAGE_MASK);
    this.poolGarbage[r >>> PAGE_BITS] += d[o + OWNER_LEN];
    d[o + OWNER_LEN] = 0;
    d[o + META] = 0; // RowType.Free
    d[o + ROOT] = 0;
    d[o + LABELS] = 0;
    this.holes.push(r);
    this.live--;
  }

  isV6(r: number): boolean {
    return (this.meta(r) & (RowFlag.V6 << 24)) !== 0;
  }

  isHost(r: number): boolean {
    return (this.meta(r) & (RowFlag.Host << 24)) !== 0;
  }

  /** Rows whose space can hold other rows. */
  isContainer(r: number): boolean {
    const t = this.type(r);
    return (t === RowType.Prefix || t === RowType.Alloc) && !this.isHost(r);
  }

  /** Order of the row's own block (log2 of its size). */
  order(r: number): number {
    return (this.isV6(r) ? 128 : 32) - this.len(r);
  }
}
