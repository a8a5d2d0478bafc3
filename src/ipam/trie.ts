// Free space of every container prefix: a lazy binary "buddy" trie per container, all of them
// stored in pages of one typed array type (no JS object per node; 16 bytes a node).
//
// A node at depth d of a container of prefix length `containerLen` stands for the aligned
// block of order `containerOrder - d` (2^order addresses), where containerOrder = width -
// containerLen. An absent child means "entirely free"; an occupied node is a leaf whose whole
// block belongs to one row (an allocation, a nested prefix, a reservation). Each node keeps its
// free rank: 1 + the largest order of a free aligned block inside it (0: nothing free), so the
// lowest free block of order `blockOrder` is found by one descent that follows free rank >
// blockOrder, in containerOrder steps however many blocks are taken. Nodes whose subtree
// becomes free are pruned.
//
// Addresses are four uint32 words (addr.ts) at `addr[at..at+3]`; bit positions count from the
// most significant bit, so the bit chosen at depth d is bit containerLen + d.

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

/** A node's four words, at its handle + these offsets. */
const LEFT = 0,
  RIGHT = 1,
  STATE = 2,
  PARENT = 3;

/** Sets the address bit at `bit` (0 = most significant) in addr[0..3]. */
function setBit(addr: Uint32Array, bit: number): void {
  addr[bit >>> 5] |= 1 << (31 - (bit & 31));
}

export class TrieStore {
  /**
   * Nodes, 4 words each, array-of-structs so a node is one cache line access:
   * [left, right, state, parent]. state > 0: the node's whole block is taken by row `state`
   * (a leaf); state <= 0: -state is the free rank (0: full). A node handle is its word offset
   * (0 is the null sentinel): page `node >>> PAGE_BITS`, index `node & PAGE_MASK` (a node never
   * straddles pages). Parent links let a release start at the leaf and stop as soon as nothing
   * changes above. Growing adds a page and copies nothing (doubling one array stalls an insert
   * while it copies), and a page, once made, stays the same object, so a descent may hold on
   * to one.
   */
  private readonly pages: Int32Array[] = [new Int32Array(PAGE_MASK + 1)];
  private top = 4;
  private holes = new Int32Array(64);
  private holeCount = 0;
  /** The nodes of the last descent, root first (path[depth] is the node at that depth). */
  private readonly path = new Int32Array(132);
  /** Output of allocFirst/occupy: the leaf node of the block just taken (for releaseLeaf). */
  leaf = 0;
  /** Outputs of probe(). */
  hit = 0;
  hitOrder = 0;
  /** Live node count (for memory figures and tests). */
  live = 0;

  /** Word i of the node array. */
  private word(i: number): number {
    return this.pages[i >>> PAGE_BITS][i & PAGE_MASK];
  }
  private setWord(i: number, v: number): void {
    this.pages[i >>> PAGE_BITS][i & PAGE_MASK] = v;
  }

  private newNode(order: number, parent: number): number {
    let node: number;
    if (this.holeCount > 0) node = this.holes[--this.holeCount];
    else {
      if (this.top >>> PAGE_BITS === this.pages.length) this.pages.push(new Int32Array(PAGE_MASK + 1));
      node = this.top;
      this.top += 4;
    }
    this.setWord(node + LEFT, 0);
    this.setWord(node + RIGHT, 0);
    this.setWord(node + STATE, -(order + 1));
    this.setWord(node + PARENT, parent);
    this.live++;
    return node;
  }

  private drop(node: number): void {
    if (this.holeCount === this.holes.length) {
      const grown = new Int32Array(this.holes.length * 2);
      grown.set(this.holes);
      this.holes = grown;
    }
    this.holes[this.holeCount++] = node;
    this.setWord(node + STATE, 0);
    this.live--;
  }

  /** The free rank of a container whose trie starts at `root` (0 = full). */
  freeOf(root: number, containerOrder: number): number {
    if (root === 0) return containerOrder + 1;
    const state = this.word(root + STATE);
    return state > 0 ? 0 : -state;
  }

  /** The free rank of an internal node of order `order`, from its children's. */
  private rankFromChildren(node: number, order: number): number {
    const page = this.pages[node >>> PAGE_BITS],
      i = node & PAGE_MASK;
    const left = page[i + LEFT],
      right = page[i + RIGHT];
    const leftState = left === 0 ? -order : this.word(left + STATE);
    const rightState = right === 0 ? -order : this.word(right + STATE);
    const leftRank = leftState > 0 ? 0 : -leftState;
    const rightRank = rightState > 0 ? 0 : -rightState;
    return leftRank > rightRank ? leftRank : rightRank;
  }

  /**
   * Finds the lowest free block of order `blockOrder` (caller checked freeOf(root) > blockOrder).
   * Its address bits are OR-ed into `addr`, which holds the container's base address.
   */
  findFirst(root: number, containerOrder: number, containerLen: number, blockOrder: number, addr: Uint32Array): void {
    let node = root;
    let order = containerOrder;
    while (node !== 0 && order > blockOrder) {
      const left = this.word(node + LEFT);
      if (left === 0 || -this.word(left + STATE) > blockOrder) node = left;
      else {
        node = this.word(node + RIGHT);
        setBit(addr, containerLen + (containerOrder - order));
      }
      order--;
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
  private forgetFinger(): void {
    this.fingerRoot = 0;
  }

  private keepFinger(
    root: number,
    containerOrder: number,
    containerLen: number,
    blockOrder: number,
    depth: number,
    addr: ArrayLike<number>,
    at: number,
    afterAlloc: boolean,
  ): void {
    this.fingerRoot = root;
    this.fingerOrder = containerOrder;
    this.fingerBlockOrder = blockOrder;
    this.fingerLength = containerLen;
    this.fingerDepth = depth;
    this.fingerAfterAlloc = afterAlloc;
    const last = this.fingerAddr;
    last[0] = addr[at];
    last[1] = addr[at + 1];
    last[2] = addr[at + 2];
    last[3] = addr[at + 3];
  }

  /**
   * Depth at which a descent towards (addr, blockOrder) may start from the finger's path, or -1.
   * Nodes above it are ancestors of the last block, hence internal and unchanged.
   */
  private fingerStart(
    root: number,
    containerOrder: number,
    containerLen: number,
    addr: ArrayLike<number>,
    at: number,
    blockOrder: number,
  ): number {
    if (root === 0 || root !== this.fingerRoot || containerOrder !== this.fingerOrder || containerLen !== this.fingerLength) return -1;
    // first bit where addr differs from the last address
    const last = this.fingerAddr;
    let firstDiff = 128;
    for (let i = 0; i < 4; i++) {
      const x = (addr[at + i] ^ last[i]) >>> 0;
      if (x !== 0) {
        firstDiff = i * 32 + Math.clz32(x);
        break;
      }
    }
    let depth = firstDiff - containerLen; // depth of the deepest common ancestor
    if (depth > this.fingerDepth - 1) depth = this.fingerDepth - 1;
    if (depth > containerOrder - blockOrder - 1) depth = containerOrder - blockOrder - 1;
    return depth;
  }

  /**
   * Takes the lowest free block of order `blockOrder` for `row` in one descent (caller checked
   * there is one). Address bits are OR-ed into `addr`. Returns the root (created when absent).
   */
  allocFirst(root: number, containerOrder: number, containerLen: number, blockOrder: number, row: number, addr: Uint32Array): number {
    const path = this.path;
    let node: number;
    let order: number;
    let depth: number;
    if (
      root !== 0 &&
      this.fingerAfterAlloc &&
      root === this.fingerRoot &&
      containerOrder === this.fingerOrder &&
      blockOrder === this.fingerBlockOrder &&
      containerLen === this.fingerLength
    ) {
      depth = this.fingerDepth - 1;
      while (depth > 0 && -this.word(path[depth] + STATE) <= blockOrder) depth--;
      node = path[depth];
      order = containerOrder - depth;
      // keep the address bits above this depth, clear the rest
      const last = this.fingerAddr;
      for (let i = 0; i < 4; i++) {
        const keep = containerLen + depth - i * 32;
        addr[i] = keep >= 32 ? last[i] : keep <= 0 ? 0 : (last[i] & ~(0xffffffff >>> keep)) >>> 0;
      }
      // bits of the container's own network (< containerLen) are unchanged in fingerAddr
    } else {
      if (root === 0) root = this.newNode(containerOrder, 0);
      node = root;
      order = containerOrder;
      depth = 0;
    }
    while (order > blockOrder) {
      path[depth++] = node;
      const page = this.pages[node >>> PAGE_BITS],
        i = node & PAGE_MASK;
      const left = page[i + LEFT];
      if (left === 0) {
        node = this.newNode(order - 1, node);
        page[i + LEFT] = node;
      } else if (-this.word(left + STATE) > blockOrder) node = left;
      else {
        let right = page[i + RIGHT];
        if (right === 0) {
          right = this.newNode(order - 1, node);
          page[i + RIGHT] = right;
        }
        node = right;
        setBit(addr, containerLen + (containerOrder - order));
      }
      order--;
    }
    this.setWord(node + STATE, row);
    this.leaf = node;
    this.fixRanks(depth, blockOrder + 1);
    this.keepFinger(root, containerOrder, containerLen, blockOrder, depth, addr, 0, true);
    return root;
  }

  /** Recomputes the free ranks along path[0..depth) bottom-up; path[depth-1] has order `order`. */
  private fixRanks(depth: number, order: number): void {
    const path = this.path;
    while (depth > 0) {
      const node = path[--depth];
      const rank = this.rankFromChildren(node, order);
      if (this.word(node + STATE) === -rank) return;
      this.setWord(node + STATE, -rank);
      order++;
    }
  }

  /** Looks at the block (addr, blockOrder) without changing anything; see Probe. */
  probe(root: number, containerOrder: number, containerLen: number, addr: ArrayLike<number>, at: number, blockOrder: number): Probe {
    let node = root;
    let order = containerOrder;
    const start = this.fingerStart(root, containerOrder, containerLen, addr, at, blockOrder);
    if (start > 0) {
      node = this.path[start];
      order = containerOrder - start;
    }
    while (node !== 0) {
      if (this.word(node + STATE) > 0) {
        this.hit = this.word(node + STATE);
        this.hitOrder = order;
        return order === blockOrder ? Probe.Exact : Probe.Enclosed;
      }
      if (order === blockOrder) {
        this.hit = this.firstOccupied(node);
        return Probe.Contains;
      }
      node = bitAt(addr, at, containerLen + (containerOrder - order)) ? this.word(node + RIGHT) : this.word(node + LEFT);
      order--;
    }
    this.hit = 0;
    return Probe.Free;
  }

  /** The row of the lowest occupied block under `node`. */
  firstOccupied(node: number): number {
    while (node !== 0 && this.word(node + STATE) <= 0) {
      node = this.word(node + LEFT) !== 0 ? this.word(node + LEFT) : this.word(node + RIGHT);
    }
    return node === 0 ? 0 : this.word(node + STATE);
  }

  /** Marks the block (addr, blockOrder) taken by `row`; the caller probed it Free. Returns the root. */
  occupy(
    root: number,
    containerOrder: number,
    containerLen: number,
    addr: ArrayLike<number>,
    at: number,
    blockOrder: number,
    row: number,
  ): number {
    const path = this.path;
    let node: number;
    let order: number;
    let depth: number;
    const start = this.fingerStart(root, containerOrder, containerLen, addr, at, blockOrder);
    if (start >= 0) {
      depth = start;
      node = path[start];
      order = containerOrder - start;
    } else {
      if (root === 0) root = this.newNode(containerOrder, 0);
      node = root;
      order = containerOrder;
      depth = 0;
    }
    while (order > blockOrder) {
      path[depth++] = node;
      const side = bitAt(addr, at, containerLen + (containerOrder - order)) ? RIGHT : LEFT;
      let child = this.word(node + side);
      if (child === 0) {
        child = this.newNode(order - 1, node);
        this.setWord(node + side, child);
      }
      node = child;
      order--;
    }
    this.setWord(node + STATE, row);
    this.leaf = node;
    this.fixRanks(depth, blockOrder + 1);
    this.keepFinger(root, containerOrder, containerLen, blockOrder, depth, addr, at, false);
    return root;
  }

  /** Frees the block (addr, blockOrder), pruning nodes left empty. Returns the root (0 when all free). */
  release(root: number, containerOrder: number, containerLen: number, addr: ArrayLike<number>, at: number, blockOrder: number): number {
    this.forgetFinger();
    let node = root;
    let order = containerOrder;
    let depth = 0;
    while (node !== 0 && order > blockOrder) {
      this.path[depth++] = node;
      node = bitAt(addr, at, containerLen + (containerOrder - order)) ? this.word(node + RIGHT) : this.word(node + LEFT);
      order--;
    }
    if (node === 0 || this.word(node + STATE) <= 0) return root; // not taken: nothing to do
    // node is a leaf: drop it and every ancestor left without children.
    let child = node;
    this.drop(node);
    while (depth > 0) {
      const parent = this.path[depth - 1];
      if (!this.unlinkChild(parent, child)) break;
      this.drop(parent);
      child = parent;
      depth--;
      order++;
    }
    if (depth === 0) return 0;
    this.fixRanks(depth, order + 1);
    return root;
  }

  /** Removes `child` from `parent`; true when the parent has no child left. */
  private unlinkChild(parent: number, child: number): boolean {
    if (this.word(parent + LEFT) === child) this.setWord(parent + LEFT, 0);
    else this.setWord(parent + RIGHT, 0);
    return this.word(parent + LEFT) === 0 && this.word(parent + RIGHT) === 0;
  }

  /**
   * Frees the block held at `leaf` (order `blockOrder`, taken by `row`), walking up parent links:
   * pruning emptied nodes, then fixing free ranks only as far as they change. Returns the root
   * (0 when all free), or -1 when the leaf is not that row's (the caller then releases by address).
   */
  releaseLeaf(root: number, leaf: number, blockOrder: number, row: number): number {
    if (leaf === 0 || this.word(leaf + STATE) !== row) return -1;
    this.forgetFinger();
    let child = leaf;
    let parent = this.word(leaf + PARENT);
    let order = blockOrder + 1;
    this.drop(leaf);
    while (parent !== 0) {
      if (!this.unlinkChild(parent, child)) break;
      const up = this.word(parent + PARENT);
      this.drop(parent);
      child = parent;
      parent = up;
      order++;
    }
    if (parent === 0) return 0;
    while (parent !== 0) {
      const rank = this.rankFromChildren(parent, order);
      if (this.word(parent + STATE) === -rank) break;
      this.setWord(parent + STATE, -rank);
      parent = this.word(parent + PARENT);
      order++;
    }
    return root;
  }

  /** Calls fn(row, order) for every taken block under root, lowest address first; stops
   *  when fn returns false (a page of a list is full). */
  forEach(root: number, containerOrder: number, fn: (row: number, order: number) => boolean | void): void {
    if (root === 0) return;
    const stack: number[] = [root, containerOrder];
    while (stack.length) {
      const order = stack.pop()!;
      const node = stack.pop()!;
      if (this.word(node + STATE) > 0) {
        if (fn(this.word(node + STATE), order) === false) return;
        continue;
      }
      if (this.word(node + RIGHT) !== 0) stack.push(this.word(node + RIGHT), order - 1);
      if (this.word(node + LEFT) !== 0) stack.push(this.word(node + LEFT), order - 1);
    }
  }

  /** The node standing for block (addr, blockOrder), or 0 if it does not exist (entirely free or inside a taken block). */
  nodeAt(root: number, containerOrder: number, containerLen: number, addr: ArrayLike<number>, at: number, blockOrder: number): number {
    let node = root;
    let order = containerOrder;
    while (node !== 0 && order > blockOrder) {
      if (this.word(node + STATE) > 0) return 0;
      node = bitAt(addr, at, containerLen + (containerOrder - order)) ? this.word(node + RIGHT) : this.word(node + LEFT);
      order--;
    }
    return node;
  }

  /** Frees every node of a container's trie (its prefix is going away). */
  dispose(root: number): void {
    this.forgetFinger();
    if (root === 0) return;
    const stack = [root];
    while (stack.length) {
      const node = stack.pop()!;
      if (this.word(node + LEFT) !== 0) stack.push(this.word(node + LEFT));
      if (this.word(node + RIGHT) !== 0) stack.push(this.word(node + RIGHT));
      this.drop(node);
    }
  }
}
