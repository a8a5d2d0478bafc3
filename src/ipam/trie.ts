// Free space of every container prefix: a lazy binary "buddy" trie per container, all of them
// stored in pages of one typed array type (no JS object per node; 16 bytes a node).
//
// A node at depth d of a container of length L stands for the aligned block of order
// o = W - L - d (2^o addresses). An absent child means "entirely free"; an occupied node is a
// leaf whose whole block belongs to one row (an allocation, a nested prefix, a reservation).
// fr(n) = 1 + the largest order of a free aligned block inside n (0: nothing free), so the
// lowest free block of order k is found by one descent that follows fr > k: O(W - L),
// independent of how many blocks are taken. Nodes whose subtree becomes free are pruned.

import { bitAt } from './addr.js';

export const enum Probe {
  /** Nothing in the block is taken. */
  Free = 0,
  /** The block itself is taken by `hit`. */
  Exact = 1,
  /** A larger taken block (row `hit`, order `hitOrder`) contains it. */
  Enclosed = 2,
  /** Smaller taken blocks inside it; `hit` is the lowest one. */
  Contains = 3,
}

/** Words per page (2^PAGE_BITS, a multiple of 4): 1,024 nodes, 16 KiB. */
const PAGE_BITS = 12;
const PAGE_MASK = (1 << PAGE_BITS) - 1;

export class TrieStore {
  /**
   * Nodes, 4 words each, array-of-structs so a node is one cache line access:
   * [left, right, state, parent]. state > 0: the node's whole block is taken by row `state`
   * (a leaf); state <= 0: -state is fr, 1 + the largest free order below (0: full). A node
   * handle is its word offset (0 is the null sentinel): page `n >>> PAGE_BITS`, index
   * `n & PAGE_MASK` (a node never straddles pages). Parent links let a release start at the
   * leaf and stop as soon as nothing changes above. Growing adds a page and copies nothing
   * (doubling one array stalled an insert for ms per 100k nodes), and a page, once made,
   * stays the same object, so a descent may hold on to one.
   */
  private readonly pages: Int32Array[] = [new Int32Array(PAGE_MASK + 1)];
  private top = 4;
  private holes = new Int32Array(64);
  private nHoles = 0;
  private readonly path = new Int32Array(132);
  /** Output of allocFirst/occupy: the leaf node of the block just taken (for releaseLeaf). */
  leaf = 0;
  /** Outputs of probe(). */
  hit = 0;
  hitOrder = 0;
  /** Live node count (for memory figures and tests). */
  live = 0;

  /** Word i of the node array. */
  private rd(i: number): number {
    return this.pages[i >>> PAGE_BITS][i & PAGE_MASK];
  }
  private wr(i: number, v: number): void {
    this.pages[i >>> PAGE_BITS][i & PAGE_MASK] = v;
  }

  private node(order: number, parent: number): number {
    let n: number;
    if (this.nHoles > 0) n = this.holes[--this.nHoles];
    else {
      if (this.top >>> PAGE_BITS === this.pages.length) this.pages.push(new Int32Array(PAGE_MASK + 1));
      n = this.top;
      this.top += 4;
    }
    this.wr(n, 0);
    this.wr(n + 1, 0);
    this.wr(n + 2, -(order + 1));
    this.wr(n + 3, parent);
    this.live++;
    return n;
  }

  private drop(n: number): void {
    if (this.nHoles === this.holes.length) {
      const h = new Int32Array(this.holes.length * 2);
      h.set(this.holes);
      this.holes = h;
    }
    this.holes[this.nHoles++] = n;
    this.wr(n + 2, 0);
    this.live--;
  }

  /** 1 + the largest free order in a container with root `root` and order O (0 = full). */
  freeOf(root: number, O: number): number {
    if (root === 0) return O + 1;
    const st = this.rd(root + 2);
    return st > 0 ? 0 : -st;
  }

  private refresh(n: number, o: number): number {
    const pg = this.pages[n >>> PAGE_BITS],
      i = n & PAGE_MASK;
    const l = pg[i],
      r = pg[i + 1];
    const ls = l === 0 ? -o : this.rd(l + 2);
    const rs = r === 0 ? -o : this.rd(r + 2);
    const lv = ls > 0 ? 0 : -ls;
    const rv = rs > 0 ? 0 : -rs;
    return lv > rv ? lv : rv;
  }

  /**
   * Finds the lowest free block of order k (caller checked freeOf(root) > k). Its address bits
   * are OR-ed into `out` (which holds the container's base); bit positions start at L.
   */
  findFirst(root: number, O: number, L: number, k: number, out: Uint32Array): void {
    let n = root;
    let o = O;
    while (n !== 0 && o > k) {
      const l = this.rd(n);
      if (l === 0 || -this.rd(l + 2) > k) n = l;
      else {
        n = this.rd(n + 1);
        const p = L + (O - o);
        out[p >>> 5] |= 1 << (31 - (p & 31));
      }
      o--;
    }
  }

  // Finger: the path (this.path) of the last allocFirst or occupy. The nodes on it stay valid
  // until something is freed, so the next operation on the same trie starts at the deepest
  // ancestor it shares with the last address instead of at the root: a dense fill or an
  // in-order restore costs O(1) amortised levels. After an allocFirst of order k (and nothing
  // else) every free block of order k also lies to the right of the last one taken.
  private fingerRoot = 0;
  private fingerOrder = -1;
  private fingerBlockOrder = -1;
  private fingerLength = -1;
  private fingerDepth = 0;
  /** True when the last operation was allocFirst (the "all free blocks lie right" property). */
  private fingerAfterAlloc = false;
  private readonly fingerAddr = new Uint32Array(4);

  /** Forgets the finger; release and dispose call it. */
  private touch(): void {
    this.fingerRoot = 0;
  }

  private keepFinger(root: number, O: number, L: number, k: number, d: number, w: ArrayLike<number>, wo: number, alloc: boolean): void {
    this.fingerRoot = root;
    this.fingerOrder = O;
    this.fingerBlockOrder = k;
    this.fingerLength = L;
    this.fingerDepth = d;
    this.fingerAfterAlloc = alloc;
    const fa = this.fingerAddr;
    fa[0] = w[wo];
    fa[1] = w[wo + 1];
    fa[2] = w[wo + 2];
    fa[3] = w[wo + 3];
  }

  /**
   * Depth at which a descent towards (w, order k) may start from the finger's path, or -1.
   * Nodes above it are ancestors of the last block, hence internal and unchanged.
   */
  private fingerStart(root: number, O: number, L: number, w: ArrayLike<number>, wo: number, k: number): number {
    if (root === 0 || root !== this.fingerRoot || O !== this.fingerOrder || L !== this.fingerLength) return -1;
    // first bit (from L) where w differs from the last address
    const fa = this.fingerAddr;
    let diff = 128;
    for (let i = 0; i < 4; i++) {
      const x = (w[wo + i] ^ fa[i]) >>> 0;
      if (x !== 0) {
        diff = i * 32 + Math.clz32(x);
        break;
      }
    }
    let j = diff - L; // depth of the deepest common ancestor
    if (j > this.fingerDepth - 1) j = this.fingerDepth - 1;
    if (j > O - k - 1) j = O - k - 1;
    return j;
  }

  /**
   * Takes the lowest free block of order k for `row` in one descent (caller checked there is
   * one). Address bits are OR-ed into `out`. Returns the root (created when it was absent).
   * As everywhere in this file: O is the container's order, L its prefix length (the first
   * address bit below it), k the order of the block wanted.
   */
  allocFirst(root: number, O: number, L: number, k: number, row: number, out: Uint32Array): number {
    const path = this.path;
    let n: number;
    let o: number;
    let d: number;
    if (
      root !== 0 &&
      this.fingerAfterAlloc &&
      root === this.fingerRoot &&
      O === this.fingerOrder &&
      k === this.fingerBlockOrder &&
      L === this.fingerLength
    ) {
      d = this.fingerDepth - 1;
      while (d > 0 && -this.rd(path[d] + 2) <= k) d--;
      n = path[d];
      o = O - d;
      // keep the address bits above depth d, clear the rest
      const fa = this.fingerAddr;
      for (let w = 0; w < 4; w++) {
        const lo = w * 32;
        const keep = L + d - lo;
        out[w] = keep >= 32 ? fa[w] : keep <= 0 ? 0 : (fa[w] & ~(0xffffffff >>> keep)) >>> 0;
      }
      // bits of the container's own network (< L) are unchanged in fingerAddr
    } else {
      if (root === 0) root = this.node(O, 0);
      n = root;
      o = O;
      d = 0;
    }
    while (o > k) {
      path[d++] = n;
      const pg = this.pages[n >>> PAGE_BITS],
        i = n & PAGE_MASK;
      const l = pg[i];
      if (l === 0) {
        n = this.node(o - 1, n);
        pg[i] = n;
      } else if (-this.rd(l + 2) > k) n = l;
      else {
        let r = pg[i + 1];
        if (r === 0) {
          r = this.node(o - 1, n);
          pg[i + 1] = r;
        }
        n = r;
        const p = L + (O - o);
        out[p >>> 5] |= 1 << (31 - (p & 31));
      }
      o--;
    }
    this.wr(n + 2, row);
    this.leaf = n;
    this.fixUp(d, k + 1);
    this.keepFinger(root, O, L, k, d, out, 0, true);
    return root;
  }

  /** Recomputes fr along path[0..d) bottom-up; the node at path[d-1] has order `o`. */
  private fixUp(d: number, o: number): void {
    const path = this.path;
    while (d > 0) {
      const p = path[--d];
      const v = this.refresh(p, o);
      if (this.rd(p + 2) === -v) return;
      this.wr(p + 2, -v);
      o++;
    }
  }

  /** Looks at the block (addr, order k) without changing anything; see Probe. */
  probe(root: number, O: number, L: number, w: ArrayLike<number>, wo: number, k: number): Probe {
    let n = root;
    let o = O;
    const j = this.fingerStart(root, O, L, w, wo, k);
    if (j > 0) {
      n = this.path[j];
      o = O - j;
    }
    while (n !== 0) {
      if (this.rd(n + 2) > 0) {
        this.hit = this.rd(n + 2);
        this.hitOrder = o;
        return o === k ? Probe.Exact : Probe.Enclosed;
      }
      if (o === k) {
        this.hit = this.firstOccupied(n);
        return Probe.Contains;
      }
      n = bitAt(w, wo, L + (O - o)) ? this.rd(n + 1) : this.rd(n);
      o--;
    }
    this.hit = 0;
    return Probe.Free;
  }

  /** The row of the lowest occupied block under n. */
  firstOccupied(n: number): number {
    while (n !== 0 && this.rd(n + 2) <= 0) n = this.rd(n) !== 0 ? this.rd(n) : this.rd(n + 1);
    return n === 0 ? 0 : this.rd(n + 2);
  }

  /** Marks the block (addr, order k) taken by `row`; the caller probed it Free. Returns the root. */
  occupy(root: number, O: number, L: number, w: ArrayLike<number>, wo: number, k: number, row: number): number {
    const path = this.path;
    let n: number;
    let o: number;
    let d: number;
    const j = this.fingerStart(root, O, L, w, wo, k);
    if (j >= 0) {
      d = j;
      n = path[j];
      o = O - j;
    } else {
      if (root === 0) root = this.node(O, 0);
      n = root;
      o = O;
      d = 0;
    }
    while (o > k) {
      path[d++] = n;
      const goRight = bitAt(w, wo, L + (O - o));
      let c = goRight ? this.rd(n + 1) : this.rd(n);
      if (c === 0) {
        c = this.node(o - 1, n);
        if (goRight) this.wr(n + 1, c);
        else this.wr(n, c);
      }
      n = c;
      o--;
    }
    this.wr(n + 2, row);
    this.leaf = n;
    this.fixUp(d, k + 1);
    this.keepFinger(root, O, L, k, d, w, wo, false);
    return root;
  }

  /** Frees the block (addr, order k), pruning nodes left empty. Returns the root (0 when all free). */
  release(root: number, O: number, L: number, w: ArrayLike<number>, wo: number, k: number): number {
    this.touch();
    let n = root;
    let o = O;
    let d = 0;
    while (n !== 0 && o > k) {
      this.path[d++] = n;
      n = bitAt(w, wo, L + (O - o)) ? this.rd(n + 1) : this.rd(n);
      o--;
    }
    if (n === 0 || this.rd(n + 2) <= 0) return root; // not taken: nothing to do
    // n is a leaf: drop it and every ancestor left without children.
    let child = n;
    this.drop(n);
    while (d > 0) {
      const p = this.path[d - 1];
      if (this.rd(p) === child) this.wr(p, 0);
      else this.wr(p + 1, 0);
      if (this.rd(p) !== 0 || this.rd(p + 1) !== 0) break;
      this.drop(p);
      child = p;
      d--;
      o++;
    }
    if (d === 0) return 0;
    this.fixUp(d, o + 1);
    return root;
  }

  /**
   * Frees the block held at `leaf` (order k, taken by `row`), walking up parent links: pruning
   * emptied nodes, then fixing fr only as far as it changes. Returns the root (0 when all free),
   * or -1 when the leaf is not that row's (the caller then releases by address).
   */
  releaseLeaf(root: number, leaf: number, k: number, row: number): number {
    if (leaf === 0 || this.rd(leaf + 2) !== row) return -1;
    this.touch();
    let child = leaf;
    let p = this.rd(leaf + 3);
    let o = k + 1;
    this.drop(leaf);
    while (p !== 0) {
      if (this.rd(p) === child) this.wr(p, 0);
      else this.wr(p + 1, 0);
      if (this.rd(p) !== 0 || this.rd(p + 1) !== 0) break;
      const up = this.rd(p + 3);
      this.drop(p);
      child = p;
      p = up;
      o++;
    }
    if (p === 0) return 0;
    while (p !== 0) {
      const v = this.refresh(p, o);
      if (this.rd(p + 2) === -v) break;
      this.wr(p + 2, -v);
      p = this.rd(p + 3);
      o++;
    }
    return root;
  }

  /** Calls fn(row, order) for every taken block under root, lowest address first; stops
   *  when fn returns false (a page of a list is full). */
  forEach(root: number, O: number, fn: (row: number, order: number) => boolean | void): void {
    if (root === 0) return;
    const stack: number[] = [root, O];
    while (stack.length) {
      const o = stack.pop()!;
      const n = stack.pop()!;
      if (this.rd(n + 2) > 0) {
        if (fn(this.rd(n + 2), o) === false) return;
        continue;
      }
      if (this.rd(n + 1) !== 0) stack.push(this.rd(n + 1), o - 1);
      if (this.rd(n) !== 0) stack.push(this.rd(n), o - 1);
    }
  }

  /** The node standing for block (addr, order k), or 0 if it does not exist (entirely free or inside a taken block). */
  nodeAt(root: number, O: number, L: number, w: ArrayLike<number>, wo: number, k: number): number {
    let n = root;
    let o = O;
    while (n !== 0 && o > k) {
      if (this.rd(n + 2) > 0) return 0;
      n = bitAt(w, wo, L + (O - o)) ? this.rd(n + 1) : this.rd(n);
      o--;
    }
    return n;
  }

  /** Frees every node of a container's trie (its prefix is going away). */
  dispose(root: number): void {
    this.touch();
    if (root === 0) return;
    const stack = [root];
    while (stack.length) {
      const n = stack.pop()!;
      if (this.rd(n) !== 0) stack.push(this.rd(n));
      if (this.rd(n + 1) !== 0) stack.push(this.rd(n + 1));
      this.drop(n);
    }
  }
}
