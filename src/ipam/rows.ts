// Every prefix, reservation and allocation is a row in one struct-of-arrays table: typed
// arrays for the numbers, one plain array for owner strings. A million allocations cost a
// few dozen bytes each and no JS object apiece; Allocation objects are built on output only.

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
const META = 4, PARENT = 5, INST = 6, ROOT = 7, LABELS = 8, OWNER_OFF = 9, OWNER_LEN = 10, NODE = 11;

/**
 * Rows are array-of-structs in one Uint32Array (48 bytes a row), so touching a random row
 * (release, lookups) costs one or two cache lines instead of one per field. The address is the
 * row's first four words (`d`, offset `ROW * r`). meta packs len | kind << 8 | type << 16 | flags << 24.
 */
export class RowStore {
  d = new Uint32Array(ROW * 1024);
  // Owner strings are kept as UTF-16 code units in one pool, not as a million JS strings:
  // less memory, and the garbage collector has nothing to trace or copy.
  private chars = new Uint16Array(16384);
  private charTop = 0;
  private charGarbage = 0;
  private top = 2; // 0 = none, 1 = system
  private holes: number[] = [];
  private readonly codes: number[] = [];
  live = 0;

  constructor() {
    this.setType(1, RowType.System);
  }

  /** Block length: the prefix length, or the full width for host addresses. */
  len(r: number): number {
    return this.d[ROW * r + META] & 0xff;
  }
  kind(r: number): number {
    return (this.d[ROW * r + META] >>> 8) & 0xff;
  }
  type(r: number): number {
    return (this.d[ROW * r + META] >>> 16) & 0xff;
  }
  flags(r: number): number {
    return this.d[ROW * r + META] >>> 24;
  }
  setLen(r: number, v: number): void {
    const i = ROW * r + META;
    this.d[i] = (this.d[i] & 0xffffff00) | v;
  }
  setKind(r: number, v: number): void {
    const i = ROW * r + META;
    this.d[i] = (this.d[i] & 0xffff00ff) | (v << 8);
  }
  setType(r: number, v: number): void {
    const i = ROW * r + META;
    this.d[i] = (this.d[i] & 0xff00ffff) | (v << 16);
  }
  setFlags(r: number, v: number): void {
    const i = ROW * r + META;
    this.d[i] = (this.d[i] & 0x00ffffff) | (v << 24);
  }
  /** Sets len, kind, type and flags at once. */
  setMeta(r: number, len: number, kind: number, type: number, flags: number): void {
    this.d[ROW * r + META] = len | (kind << 8) | (type << 16) | (flags << 24);
  }
  /** Enclosing container row (0 = top level); for Ref rows the Reserved row they point at. */
  parent(r: number): number {
    return this.d[ROW * r + PARENT];
  }
  setParent(r: number, v: number): void {
    this.d[ROW * r + PARENT] = v;
  }
  inst(r: number): number {
    return this.d[ROW * r + INST];
  }
  setInst(r: number, v: number): void {
    this.d[ROW * r + INST] = v;
  }
  /** Root of this row's own free-space trie, when it is a container. */
  root(r: number): number {
    return this.d[ROW * r + ROOT];
  }
  setRoot(r: number, v: number): void {
    this.d[ROW * r + ROOT] = v;
  }
  /** Interned label set of the row's own labels. */
  labels(r: number): number {
    return this.d[ROW * r + LABELS];
  }
  setLabels(r: number, v: number): void {
    this.d[ROW * r + LABELS] = v;
  }

  /** The trie leaf holding this row's block in its container (0: unknown). */
  node(r: number): number {
    return this.d[ROW * r + NODE];
  }
  setNode(r: number, v: number): void {
    this.d[ROW * r + NODE] = v;
  }

  ownerOf(r: number): string {
    const off = this.d[ROW * r + OWNER_OFF], len = this.d[ROW * r + OWNER_LEN];
    const c = this.chars;
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
    const len = this.d[ROW * r + OWNER_LEN];
    if (len !== s.length) return false;
    const c = this.chars, off = this.d[ROW * r + OWNER_OFF];
    for (let i = 0; i < len; i++) if (c[off + i] !== s.charCodeAt(i)) return false;
    return true;
  }

  setOwner(r: number, s: string): void {
    const len = s.length;
    this.charGarbage += this.d[ROW * r + OWNER_LEN];
    if (this.charTop + len > this.chars.length) this.makeRoom(len);
    const c = this.chars;
    const off = this.charTop;
    for (let i = 0; i < len; i++) c[off + i] = s.charCodeAt(i);
    this.d[ROW * r + OWNER_OFF] = off;
    this.d[ROW * r + OWNER_LEN] = len;
    this.charTop += len;
  }

  /** Compacts the pool when half of it is garbage, else grows it. */
  private makeRoom(len: number): void {
    const live = this.charTop - this.charGarbage;
    let cap = this.chars.length;
    while (live + len > cap / 2) cap *= 2;
    const next = new Uint16Array(cap);
    if (this.charGarbage * 2 < this.charTop) {
      next.set(this.chars.subarray(0, this.charTop));
      this.chars = next;
      return;
    }
    let top = 0;
    const old = this.chars;
    const d = this.d;
    for (let r = 0; r < this.top; r++) {
      const l = d[ROW * r + OWNER_LEN];
      if (l === 0) continue;
      const off = d[ROW * r + OWNER_OFF];
      for (let i = 0; i < l; i++) next[top + i] = old[off + i];
      d[ROW * r + OWNER_OFF] = top;
      top += l;
    }
    this.chars = next;
    this.charTop = top;
    this.charGarbage = 0;
  }

  private grow(): void {
    const next = new Uint32Array(this.d.length * 2);
    next.set(this.d);
    this.d = next;
  }

  alloc(): number {
    let r: number;
    if (this.holes.length > 0) r = this.holes.pop()!;
    else {
      if (ROW * (this.top + 1) > this.d.length) this.grow();
      r = this.top++;
    }
    this.live++;
    const d = this.d, o = ROW * r;
    d[o + META] = 0;
    d[o + PARENT] = 0;
    d[o + ROOT] = 0;
    d[o + LABELS] = 0;
    d[o + OWNER_LEN] = 0;
    d[o + NODE] = 0;
    return r;
  }

  free(r: number): void {
    const o = ROW * r;
    this.charGarbage += this.d[o + OWNER_LEN];
    this.d[o + OWNER_LEN] = 0;
    this.d[o + META] = 0; // RowType.Free
    this.d[o + ROOT] = 0;
    this.d[o + LABELS] = 0;
    this.holes.push(r);
    this.live--;
  }

  isV6(r: number): boolean {
    return (this.d[ROW * r + META] & (RowFlag.V6 << 24)) !== 0;
  }

  isHost(r: number): boolean {
    return (this.d[ROW * r + META] & (RowFlag.Host << 24)) !== 0;
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
