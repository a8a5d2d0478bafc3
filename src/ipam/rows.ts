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

export class RowStore {
  /** Address words, 4 per row (IPv4: word 0). Networks are stored masked. */
  addr = new Uint32Array(4 * 1024);
  /** Block length: the prefix length, or the full width for host addresses. */
  len = new Uint8Array(1024);
  kind = new Uint8Array(1024);
  type = new Uint8Array(1024);
  flags = new Uint8Array(1024);
  /** Enclosing container row (0 = top level); for Ref rows the Reserved row they point at. */
  parent = new Int32Array(1024);
  inst = new Int32Array(1024);
  /** Root of this row's own free-space trie, when it is a container. */
  root = new Int32Array(1024);
  /** Interned label set of the row's own labels. */
  labels = new Int32Array(1024);
  // Owner strings are kept as UTF-16 code units in one pool, not as a million JS strings:
  // less memory, and the garbage collector has nothing to trace or copy.
  private chars = new Uint16Array(16384);
  private charTop = 0;
  private charGarbage = 0;
  private ownerOff = new Int32Array(1024);
  private ownerLen = new Int32Array(1024);
  private top = 2; // 0 = none, 1 = system
  private holes: number[] = [];
  live = 0;

  constructor() {
    this.type[1] = RowType.System;
  }

  private readonly codes: number[] = [];

  ownerOf(r: number): string {
    const off = this.ownerOff[r], len = this.ownerLen[r];
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
    const len = this.ownerLen[r];
    if (len !== s.length) return false;
    const c = this.chars, off = this.ownerOff[r];
    for (let i = 0; i < len; i++) if (c[off + i] !== s.charCodeAt(i)) return false;
    return true;
  }

  setOwner(r: number, s: string): void {
    const len = s.length;
    this.charGarbage += this.ownerLen[r];
    if (this.charTop + len > this.chars.length) this.makeRoom(len);
    const c = this.chars;
    const off = this.charTop;
    for (let i = 0; i < len; i++) c[off + i] = s.charCodeAt(i);
    this.ownerOff[r] = off;
    this.ownerLen[r] = len;
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
    for (let r = 0; r < this.top; r++) {
      const l = this.ownerLen[r];
      if (l === 0) continue;
      const off = this.ownerOff[r];
      for (let i = 0; i < l; i++) next[top + i] = old[off + i];
      this.ownerOff[r] = top;
      top += l;
    }
    this.chars = next;
    this.charTop = top;
    this.charGarbage = 0;
  }

  private grow(): void {
    const cap = this.len.length * 2;
    const a = new Uint32Array(4 * cap); a.set(this.addr); this.addr = a;
    const g8 = (x: Uint8Array) => { const y = new Uint8Array(cap); y.set(x); return y; };
    const g32 = (x: Int32Array) => { const y = new Int32Array(cap); y.set(x); return y; };
    this.len = g8(this.len);
    this.kind = g8(this.kind);
    this.type = g8(this.type);
    this.flags = g8(this.flags);
    this.parent = g32(this.parent);
    this.inst = g32(this.inst);
    this.root = g32(this.root);
    this.labels = g32(this.labels);
    this.ownerOff = g32(this.ownerOff);
    this.ownerLen = g32(this.ownerLen);
  }

  alloc(): number {
    let r: number;
    if (this.holes.length > 0) r = this.holes.pop()!;
    else {
      if (this.top === this.len.length) this.grow();
      r = this.top++;
    }
    this.live++;
    this.root[r] = 0;
    this.labels[r] = 0;
    this.parent[r] = 0;
    this.flags[r] = 0;
    return r;
  }

  free(r: number): void {
    this.type[r] = RowType.Free;
    this.charGarbage += this.ownerLen[r];
    this.ownerLen[r] = 0;
    this.root[r] = 0;
    this.labels[r] = 0;
    this.holes.push(r);
    this.live--;
  }

  isV6(r: number): boolean {
    return (this.flags[r] & RowFlag.V6) !== 0;
  }

  isHost(r: number): boolean {
    return (this.flags[r] & RowFlag.Host) !== 0;
  }

  /** Rows whose space can hold other rows. */
  isContainer(r: number): boolean {
    const t = this.type[r];
    return (t === RowType.Prefix || t === RowType.Alloc) && (this.flags[r] & RowFlag.Host) === 0;
  }

  /** Order of the row's own block (log2 of its size). */
  order(r: number): number {
    return ((this.flags[r] & RowFlag.V6) !== 0 ? 128 : 32) - this.len[r];
  }

  /** Upper bound of row ids in use (for scans). */
  get end(): number {
    return this.top;
  }
}
