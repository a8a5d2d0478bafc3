// The allocator's state and the operations every higher layer shares: network instances,
// the row table, the tries, finding the closest enclosing prefix of a block, placing and
// removing rows, and collecting dependents.

import { Cidr, compareWords, contains, formatAddr } from './addr.js';
import { IpamError } from './errors.js';
import { EMPTY_LABELS, LabelTable, L_ADDRESS_FAMILY, L_NETWORK_INSTANCE, L_NETWORK_NAME, L_PREFIX_KIND } from './labels.js';
import { KIND_NAMES, KindCode, RowFlag, RowStore, RowType, SYSTEM_ROW } from './rows.js';
import { OwnerIndex } from './owners.js';
import { Probe, TrieStore } from './trie.js';
import { candidateAdded, candidateRemoved, type CandidateCache } from './candidates.js';
import type { InstancePrefix, Labels, NetworkInstanceRef, PrefixKind, PrefixSpec } from './types.js';

/** One applied PrefixSpec (an IPPrefix, or an aggregate of a NetworkInstance). */
export interface SpecRec {
  key: string;
  inst: number;
  /** Canonical text as written (host bits kept). */
  canon: string;
  /** Canonical network `net/len`. */
  net: string;
  kind: KindCode;
  owner: string;
  labels: Labels;
  networkName?: string;
  /** The prefix row this spec defines (shared by several network IPPrefixes of one subnet). */
  row: number;
  /** The Reserved row of its host address, or 0. */
  reserved: number;
  /** True for a NetworkInstance's own aggregate. */
  fromInstance: boolean;
}

/** Per-row extras for prefixes, reservations and containers that have been looked at. */
export interface RowMeta {
  /** Canonical `net/len` (for reservations: the address). */
  cidr: string;
  /** Labels dynamic requests are matched against (own labels + system labels). */
  selectorLabels: Labels;
  networkName?: string;
  /** Specs defining a Prefix row, or the one spec of a Reserved row. */
  members: SpecRec[];
  /** Gateway address of a network subnet. */
  gateway?: string;
}

export interface Instance extends CandidateCache {
  id: number;
  key: string;
  ref: Readonly<Required<NetworkInstanceRef>>;
  owner: string;
  prefixes: InstancePrefix[];
  /** Top-level (parentless) prefix rows, per family [v4, v6]. */
  top: [number[], number[]];
  specs: Map<string, SpecRec>;
}

export const niKey = (ref: NetworkInstanceRef): string => `${ref.namespace || 'default'}/${ref.name}`;

export const KIND_CODE: Record<string, KindCode> = {
  aggregate: KindCode.Aggregate,
  network: KindCode.Network,
  pool: KindCode.Pool,
  loopback: KindCode.Loopback,
};

export class IpamState {
  readonly rows = new RowStore();
  readonly trie = new TrieStore();
  readonly labels = new LabelTable();
  readonly instances: (Instance | undefined)[] = [];
  readonly byKey = new Map<string, Instance>();
  /** Owner -> its allocation row. */
  readonly owners = new OwnerIndex(this.rows);
  readonly specsByOwner = new Map<string, Set<SpecRec>>();
  readonly meta = new Map<number, RowMeta>();
  /** Reserved row -> Ref rows looking at it. */
  readonly refs = new Map<number, Set<number>>();
  /** Instances owned by an owner. */
  readonly instancesByOwner = new Map<string, Set<Instance>>();

  // results of locate()
  locContainer = 0;
  locProbe: Probe = Probe.Free;
  locHit = 0;

  private lastRef: NetworkInstanceRef | undefined;
  private lastInst: Instance | undefined;

  /** The instance a request names; NotFound (or InvalidArgument without a name) otherwise. */
  instance(ref: NetworkInstanceRef | undefined): Instance {
    // bulk requests name the same instance again and again: the last one answers without a key
    const last = this.lastInst;
    if (last !== undefined && ref !== undefined && this.instances[last.id] === last) {
      if (ref === this.lastRef) return last;
      if (ref.name === last.ref.name && (ref.namespace || 'default') === last.ref.namespace) return last;
    }
    return this.instanceByKey(ref);
  }

  private instanceByKey(ref: NetworkInstanceRef | undefined): Instance {
    if (!ref || typeof ref.name !== 'string' || ref.name === '') {
      throw new IpamError('InvalidArgument', 'network instance name is required', { field: 'spec.networkInstance.name' });
    }
    const key = niKey(ref);
    const inst = this.byKey.get(key);
    if (!inst)
      throw new IpamError('NotFound', `network instance ${key} not found`, { networkInstance: key, field: 'spec.networkInstance' });
    this.lastRef = ref;
    this.lastInst = inst;
    return inst;
  }

  findInstance(ref: NetworkInstanceRef): Instance | undefined {
    return this.byKey.get(niKey(ref));
  }

  createInstance(ref: NetworkInstanceRef, owner: string): Instance {
    const namespace = ref.namespace || 'default';
    let id = this.instances.indexOf(undefined);
    if (id < 0) id = this.instances.length;
    const inst: Instance = {
      id,
      key: `${namespace}/${ref.name}`,
      ref: Object.freeze({ name: ref.name, namespace }),
      owner,
      prefixes: [],
      top: [[], []],
      selectables: new Set(),
      specs: new Map(),
      version: 0,
      cache: new Map(),
      memo: { requestClass: -1, family: -2, matchLabels: undefined, labelCount: 0, expressions: undefined, entry: undefined },
    };
    this.instances[id] = inst;
    this.byKey.set(inst.key, inst);
    this.index(this.instancesByOwner, owner, inst);
    return inst;
  }

  dropInstance(inst: Instance): void {
    this.instances[inst.id] = undefined;
    this.byKey.delete(inst.key);
    this.unindex(this.instancesByOwner, inst.owner, inst);
    this.lastInst = undefined;
  }

  index<T>(m: Map<string, Set<T>>, k: string, v: T): void {
    let s = m.get(k);
    if (!s) m.set(k, (s = new Set()));
    s.add(v);
  }

  unindex<T>(m: Map<string, Set<T>>, k: string, v: T): void {
    const s = m.get(k);
    if (s && s.delete(v) && s.size === 0) m.delete(k);
  }

  // ---- rows as text -------------------------------------------------------------------

  /** Canonical `net/len` of a row's block (host rows: `addr/W`). */
  cidrOf(r: number): string {
    const m = this.meta.get(r);
    if (m) return m.cidr;
    return formatAddr(this.rows.isV6(r), this.rows.page(r), this.rows.at(r)) + '/' + this.rows.len(r);
  }

  addrOf(r: number): string {
    return formatAddr(this.rows.isV6(r), this.rows.page(r), this.rows.at(r));
  }

  /** RowMeta of a container, created on first use (allocated pools get one only when needed). */
  metaOf(r: number): RowMeta {
    let m = this.meta.get(r);
    if (!m) {
      m = { cidr: this.cidrOf(r), selectorLabels: EMPTY_LABELS, members: [] };
      this.meta.set(r, m);
    }
    return m;
  }

  /** Who holds a row, for "in use by" messages. */
  holderOf(r: number): string {
    const t = this.rows.type(r);
    if (t === RowType.System) return 'the system (reserved address)';
    if (t === RowType.Prefix || t === RowType.Reserved) {
      const m = this.meta.get(r);
      if (m && m.members.length) return [...new Set(m.members.map((s) => s.owner))].join(', ');
    }
    return this.rows.ownerOf(r);
  }

  /** System labels of a prefix row (docs/semantics.md): instance, kind, family, network name. */
  systemLabels(inst: Instance, kind: KindCode, v6: boolean, networkName: string | undefined): Record<string, string> {
    const l: Record<string, string> = {
      [L_NETWORK_INSTANCE]: inst.ref.name,
      [L_PREFIX_KIND]: KIND_NAMES[kind],
      [L_ADDRESS_FAMILY]: v6 ? 'ipv6' : 'ipv4',
    };
    if (networkName) l[L_NETWORK_NAME] = networkName;
    return l;
  }

  /** Candidate order: IPv4 first, then by address, then shorter prefix first. */
  compareRows = (a: number, b: number): number => {
    const rows = this.rows;
    const fa = rows.flags(a) & RowFlag.V6,
      fb = rows.flags(b) & RowFlag.V6;
    if (fa !== fb) return fa - fb;
    const c = compareWords(rows.page(a), rows.at(a), rows.page(b), rows.at(b));
    if (c !== 0) return c;
    return rows.len(a) - rows.len(b);
  };

  // ---- finding the closest enclosing prefix -------------------------------------------------

  /**
   * Finds where the block (addr at `at`, length len) sits in an instance: locContainer is the
   * deepest container strictly enclosing it (0: top level), locProbe/locHit what occupies it.
   */
  locate(inst: Instance, v6: boolean, addr: ArrayLike<number>, at: number, len: number): void {
    const rows = this.rows;
    const top = inst.top[v6 ? 1 : 0];
    let container = 0;
    this.locContainer = 0;
    for (let i = 0; i < top.length; i++) {
      const topRow = top[i];
      const topLen = rows.len(topRow);
      if (topLen <= len && contains(rows.page(topRow), rows.at(topRow), topLen, addr, at, len)) {
        if (topLen === len) {
          this.locProbe = Probe.Exact;
          this.locHit = topRow;
          return;
        }
        container = topRow;
        break;
      }
      if (topLen > len && contains(addr, at, len, rows.page(topRow), rows.at(topRow), topLen)) {
        this.locProbe = Probe.Contains;
        this.locHit = topRow;
        return;
      }
    }
    if (container === 0) {
      this.locProbe = Probe.Free;
      this.locHit = 0;
      return;
    }
    const blockOrder = (v6 ? 128 : 32) - len;
    for (;;) {
      const probe = this.trie.probe(rows.root(container), rows.order(container), rows.len(container), addr, at, blockOrder);
      const hit = this.trie.hit;
      if (probe === Probe.Enclosed && rows.isContainer(hit)) {
        container = hit;
        continue;
      }
      this.locContainer = container;
      this.locProbe = probe;
      this.locHit = hit;
      return;
    }
  }

  // ---- placing and removing rows --------------------------------------------------------

  /** A new row for block (addr at `at`, len) of an instance; the caller fills type/kind/owner. */
  newRow(
    inst: Instance,
    v6: boolean,
    addr: ArrayLike<number>,
    at: number,
    len: number,
    type: RowType,
    kind: KindCode,
    owner: string,
    host: boolean,
  ): number {
    const rows = this.rows;
    const r = rows.alloc();
    const page = rows.page(r),
      rowAt = rows.at(r);
    page[rowAt] = addr[at];
    page[rowAt + 1] = addr[at + 1];
    page[rowAt + 2] = addr[at + 2];
    page[rowAt + 3] = addr[at + 3];
    rows.setMeta(r, len, kind, type, (v6 ? RowFlag.V6 : 0) | (host ? RowFlag.Host : 0));
    rows.setInst(r, inst.id);
    rows.setOwner(r, owner);
    return r;
  }

  /** Takes row r's block in `container` (0: top level). The block must be free there. */
  attach(inst: Instance, container: number, r: number): void {
    const rows = this.rows;
    rows.setParent(r, container);
    if (container === 0) {
      const top = inst.top[rows.isV6(r) ? 1 : 0];
      top.push(r);
      top.sort(this.compareRows);
      return;
    }
    const root = this.trie.occupy(
      rows.root(container),
      rows.order(container),
      rows.len(container),
      rows.page(r),
      rows.at(r),
      rows.order(r),
      r,
    );
    rows.setRoot(container, root);
    rows.setNode(r, this.trie.leaf);
  }

  /** Gives back row r's block to its container. */
  detach(r: number): void {
    const rows = this.rows;
    const container = rows.parent(r);
    if (rows.type(r) === RowType.Ref) return;
    if (container === 0) {
      const inst = this.instances[rows.inst(r)];
      if (inst) {
        const top = inst.top[rows.isV6(r) ? 1 : 0];
        const i = top.indexOf(r);
        if (i >= 0) top.splice(i, 1);
      }
      return;
    }
    const byLeaf = this.trie.releaseLeaf(rows.root(container), rows.node(r), rows.order(r), r);
    if (byLeaf >= 0) rows.setRoot(container, byLeaf);
    else {
      const root = this.trie.release(
        rows.root(container),
        rows.order(container),
        rows.len(container),
        rows.page(r),
        rows.at(r),
        rows.order(r),
      );
      rows.setRoot(container, root);
    }
    rows.setNode(r, 0);
  }

  /** Takes block (addr, blockOrder) of container r for the system when nothing holds it yet. */
  reserveBlock(r: number, addr: ArrayLike<number>, blockOrder: number): void {
    const rows = this.rows;
    const order = rows.order(r),
      len = rows.len(r);
    if (this.trie.probe(rows.root(r), order, len, addr, 0, blockOrder) !== Probe.Free) return;
    rows.setRoot(r, this.trie.occupy(rows.root(r), order, len, addr, 0, blockOrder, SYSTEM_ROW));
  }

  /**
   * Network and loopback prefixes hand out addresses: never one of ::ffff:0:0/96 (IPv4-mapped),
   * and for network subnets never the first and last address (except /31, /32, /127, /128).
   */
  reserveSystem(r: number): void {
    const rows = this.rows;
    const v6 = rows.isV6(r);
    const width = v6 ? 128 : 32;
    const len = rows.len(r);
    if (v6 && len <= 96 && contains(rows.page(r), rows.at(r), len, MAPPED, 0, 96)) this.reserveBlock(r, MAPPED, 32);
    if (rows.kind(r) !== KindCode.Network || len >= width - 1) return;
    const addr = new Uint32Array(4);
    addr.set(rows.page(r).subarray(rows.at(r), rows.at(r) + 4));
    this.reserveBlock(r, addr, 0); // the network address
    for (let bit = len; bit < width; bit++) addr[bit >>> 5] |= 1 << (31 - (bit & 31));
    this.reserveBlock(r, addr, 0); // the broadcast address
  }

  /**
   * Marks a row selectable (or not). By default the instance's candidate lists are rebuilt on
   * next use; `incremental` updates the cached lists in place (an allocation created or dropped
   * a prefix whose labels are final).
   */
  setSelectable(inst: Instance, r: number, on: boolean, incremental = false): void {
    if (on) {
      this.rows.setFlags(r, this.rows.flags(r) | RowFlag.Selectable);
      inst.selectables.add(r);
      if (incremental) candidateAdded(this, inst, r);
    } else {
      this.rows.setFlags(r, this.rows.flags(r) & ~RowFlag.Selectable);
      inst.selectables.delete(r);
      if (incremental) candidateRemoved(inst, r);
    }
    if (!incremental) inst.version++;
  }

  /** Calls fn for each child of row r in address order, until fn returns false; returns
   *  whether it went through all of them. No array of every child is built first. */
  eachChild(r: number, fn: (child: number) => boolean | void): boolean {
    const rows = this.rows;
    if (!rows.isContainer(r)) return true;
    let done = true;
    this.trie.forEach(rows.root(r), rows.order(r), (row) => {
      if (row === SYSTEM_ROW || fn(row) !== false) return true;
      done = false;
      return false;
    });
    return done;
  }

  /** Rows directly inside container r, lowest address first. */
  children(r: number): number[] {
    const out: number[] = [];
    const rows = this.rows;
    if (!rows.isContainer(r)) return out;
    this.trie.forEach(rows.root(r), rows.order(r), (row) => {
      if (row !== SYSTEM_ROW) out.push(row);
    });
    return out;
  }

  /**
   * Owners (other than `except`) whose rows would go with row r: allocations and prefixes
   * inside it, and lookups of its reserved addresses.
   */
  dependents(r: number, except: ReadonlySet<string>, out: Set<string> = new Set()): Set<string> {
    const rows = this.rows;
    const t = rows.type(r);
    if (t === RowType.Reserved) {
      for (const ref of this.refs.get(r) ?? []) if (!except.has(rows.ownerOf(ref))) out.add(rows.ownerOf(ref));
      return out;
    }
    if (!rows.isContainer(r)) return out;
    for (const ch of this.children(r)) {
      const ct = rows.type(ch);
      if (ct === RowType.Alloc) {
        if (!except.has(rows.ownerOf(ch))) out.add(rows.ownerOf(ch));
      } else if (ct === RowType.Prefix || ct === RowType.Reserved) {
        for (const s of this.meta.get(ch)?.members ?? []) if (!except.has(s.owner)) out.add(s.owner);
      }
      this.dependents(ch, except, out);
    }
    return out;
  }

  /**
   * Removes row r with everything inside it. `detachIt`: give its block back to its container
   * (false when the container goes too). Freed allocations are reported through `freed`.
   */
  purge(r: number, detachIt: boolean, freed: ((r: number) => void) | null): void {
    const rows = this.rows;
    if (r === SYSTEM_ROW || rows.type(r) === RowType.Free) return;
    if (detachIt) this.detach(r);
    if (rows.isContainer(r)) {
      for (const ch of this.children(r)) this.purge(ch, false, freed);
      this.trie.dispose(rows.root(r));
      rows.setRoot(r, 0);
    }
    const inst = this.instances[rows.inst(r)];
    const t = rows.type(r);
    if (t === RowType.Reserved) this.purgeLookupsOf(r, freed);
    if (t === RowType.Ref) this.forgetLookup(r);
    if (t === RowType.Alloc || t === RowType.Ref) {
      if (freed) freed(r);
      const owner = rows.ownerOf(r);
      if (this.owners.get(owner) === r) this.owners.delete(owner);
    }
    if ((t === RowType.Prefix || t === RowType.Reserved) && inst) this.forgetSpecs(r, inst, freed);
    if ((rows.flags(r) & RowFlag.Selectable) !== 0 && inst) this.setSelectable(inst, r, false, t === RowType.Alloc);
    this.meta.delete(r);
    this.labels.unref(rows.labels(r));
    rows.free(r);
  }

  /** A reserved address goes: so do the lookups of it. */
  private purgeLookupsOf(reserved: number, freed: ((r: number) => void) | null): void {
    for (const ref of [...(this.refs.get(reserved) ?? [])]) this.purge(ref, false, freed);
    this.refs.delete(reserved);
  }

  /** A lookup goes: its reserved address no longer lists it. */
  private forgetLookup(ref: number): void {
    const reserved = this.rows.parent(ref);
    const lookups = this.refs.get(reserved);
    if (!lookups) return;
    lookups.delete(ref);
    if (lookups.size === 0) this.refs.delete(reserved);
  }

  /** A prefix or reserved row goes: the specs defining it go from the instance and their owners. */
  private forgetSpecs(r: number, inst: Instance, freed: ((r: number) => void) | null): void {
    for (const s of this.meta.get(r)?.members ?? []) {
      if (inst.specs.get(s.key) !== s) continue;
      inst.specs.delete(s.key);
      this.unindex(this.specsByOwner, s.owner, s);
      if (s.reserved && s.reserved !== r) this.purge(s.reserved, false, freed);
    }
  }

  /** Frees a host address allocation (nothing can depend on it): the release fast path. */
  releaseHost(r: number, owner: string): void {
    this.detach(r);
    this.owners.delete(owner);
    this.labels.unref(this.rows.labels(r));
    this.rows.free(r);
  }

  /** The kind of prefix a container is, for nesting rules; -1 for the top level. */
  containerKind(c: number): number {
    return c === 0 ? -1 : this.rows.kind(c);
  }

  kindName(k: KindCode): PrefixKind {
    return KIND_NAMES[k];
  }
}

/** ::ffff:0:0 */
export const MAPPED = new Uint32Array([0, 0, 0xffff, 0]);

/** The rendering of a parsed prefix as an error detail. */
export const cidrText = (c: Cidr): string => formatAddr(c.v6, c.w) + '/' + c.len;

export type { PrefixSpec };
