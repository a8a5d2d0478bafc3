// Read-only views: allocations, prefixes, network instances, utilization.

import { compareWords, maskTo } from './addr.js';
import { IpamError } from './errors.js';
import { selectorMatches } from './labels.js';
import { rowAllocation, specInfo } from './output.js';
import { instanceInfo, parseField } from './prefixes.js';
import { RowType } from './rows.js';
import type { Instance, IpamState, SpecRec } from './state.js';
import { Probe } from './trie.js';
import type { Allocation, AllocationFilter, NetworkInstanceInfo, NetworkInstanceRef, PrefixInfo, Utilization } from './types.js';
import { niKey } from './state.js';

export function getAllocations(state: IpamState, owner: string): Allocation[] {
  const r = state.owners.get(owner);
  return r === undefined ? [] : [rowAllocation(state, r)];
}

/**
 * Allocation rows in tree order: per instance, per family, by address, every prefix before
 * what lies inside it; lookups of reserved addresses last. Deterministic for a given state,
 * so a restored allocator lists exactly what the original did.
 */
export function allocationRows(state: IpamState, insts: Instance[], fn: (r: number) => boolean | void): void {
  const rows = state.rows;
  let stop = false;
  // fn returns false to end the walk (a page is full)
  const visit = (r: number): boolean => {
    if (rows.type(r) === RowType.Alloc && fn(r) === false) stop = true;
    if (stop || !rows.isContainer(r)) return !stop;
    return state.eachChild(r, visit);
  };
  const ids = new Set(insts.map((i) => i.id));
  for (const inst of insts) {
    for (const fam of inst.top) {
      for (const t of fam) {
        if (stop) return;
        visit(t);
      }
    }
  }
  if (stop) return;
  const refs: number[] = [];
  for (const set of state.refs.values()) for (const r of set) if (ids.has(rows.inst(r))) refs.push(r);
  refs.sort((a, b) => state.compareRows(a, b) || (rows.ownerOf(a) < rows.ownerOf(b) ? -1 : 1));
  for (const r of refs) if (fn(r) === false) return;
}

export function listAllocations(state: IpamState, filter: AllocationFilter = {}): Allocation[] {
  const out: Allocation[] = [];
  let insts = state.instances.filter((i): i is Instance => !!i);
  if (filter.networkInstance) {
    const inst = state.byKey.get(niKey(filter.networkInstance));
    if (!inst) return out;
    insts = [inst];
  }
  let skip = filter.offset ?? 0;
  const limit = filter.limit ?? Infinity;
  if (limit <= 0) return out;
  if (filter.owner !== undefined) {
    const r = state.owners.get(filter.owner);
    if (r === undefined) return out;
    const a = rowAllocation(state, r);
    if (insts.some((i) => i.id === state.rows.inst(r)) && keep(a, filter) && skip === 0) out.push(a);
    return out;
  }
  allocationRows(state, insts, (r) => {
    if (filter.ownerPrefix !== undefined && !state.rows.ownerOf(r).startsWith(filter.ownerPrefix)) return;
    if (filter.ownerContains !== undefined && !state.rows.ownerOf(r).includes(filter.ownerContains)) return;
    // Without a selector a row matches as it is: skip it without building its allocation.
    if (!filter.selector && skip > 0) {
      skip--;
      return;
    }
    const a = rowAllocation(state, r);
    if (!keep(a, filter)) return;
    if (skip > 0) {
      skip--;
      return;
    }
    out.push(a);
    return out.length < limit;
  });
  return out;
}

const keep = (a: Allocation, f: AllocationFilter): boolean =>
  (f.ownerPrefix === undefined || a.owner.startsWith(f.ownerPrefix)) &&
  (f.ownerContains === undefined || a.owner.includes(f.ownerContains)) &&
  (!f.selector || selectorMatches(f.selector, a.labels));

export function listNetworkInstances(state: IpamState): NetworkInstanceInfo[] {
  return state.instances.filter((i): i is Instance => !!i).map(instanceInfo);
}

/** Specs in candidate order (family, address, length), so parents come before children. */
export function sortedSpecs(state: IpamState, inst: Instance): SpecRec[] {
  return [...inst.specs.values()].sort(
    (a, b) =>
      state.compareRows(a.row, b.row) ||
      (a.canon < b.canon ? -1 : a.canon > b.canon ? 1 : 0) ||
      (a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : 0),
  );
}

export function listPrefixes(state: IpamState, ni?: NetworkInstanceRef): PrefixInfo[] {
  const insts = ni ? [state.byKey.get(niKey(ni))].filter((i): i is Instance => !!i) : state.instances.filter((i): i is Instance => !!i);
  const out: PrefixInfo[] = [];
  for (const inst of insts) for (const s of sortedSpecs(state, inst)) out.push(specInfo(state, s));
  return out;
}

/** The row of an existing prefix of a network instance (a NotFound error naming it otherwise). */
function prefixRow(state: IpamState, ref: NetworkInstanceRef, prefix: string): number {
  const inst = state.instance(ref);
  const c = parseField(prefix, 'prefix', inst);
  const net = new Uint32Array(c.w);
  maskTo(net, c.len, c.v6);
  state.locate(inst, c.v6, net, 0, c.len);
  const r = state.locHit;
  if (
    state.locProbe !== Probe.Exact ||
    r <= 1 ||
    state.rows.type(r) === RowType.Reserved ||
    compareWords(state.rows.page(r), state.rows.at(r), net, 0) !== 0
  ) {
    throw new IpamError('NotFound', `prefix ${prefix} not found in network instance ${inst.key}`, {
      networkInstance: inst.key,
      prefix,
      field: 'prefix',
    });
  }
  return r;
}

/** used/free/total of a prefix's own space, in addresses, as exact decimal strings, and the
 *  length of the largest aligned free block (what one more request could still get). */
export function utilization(state: IpamState, ref: NetworkInstanceRef, prefix: string): Utilization {
  const r = prefixRow(state, ref, prefix);
  const rows = state.rows;
  const order = rows.order(r);
  const total = 1n << BigInt(order);
  let used = total;
  let largestFree: number | undefined;
  if (rows.isContainer(r)) {
    // Count used blocks per size (small integers), then add up in BigInt once per size:
    // a BigInt add per block made a scrape of a large prefix slow.
    const blocks = new Array<number>(order + 1).fill(0);
    state.trie.forEach(rows.root(r), order, (_row, o) => {
      blocks[o]!++;
    });
    used = 0n;
    for (let o = 0; o <= order; o++) if (blocks[o]) used += BigInt(blocks[o]!) << BigInt(o);
    const fr = state.trie.freeOf(rows.root(r), order);
    if (fr > 0) largestFree = rows.isV6(r) ? 128 - (fr - 1) : 32 - (fr - 1);
  }
  return {
    prefix: state.cidrOf(r),
    total: total.toString(),
    used: used.toString(),
    free: (total - used).toString(),
    ...(largestFree !== undefined ? { largestFree } : {}),
  };
}

/** Allocations inside one prefix of a network instance, in tree order (a page of them). */
export function allocationsWithin(state: IpamState, ref: NetworkInstanceRef, prefix: string, offset = 0, limit = Infinity): Allocation[] {
  const top = prefixRow(state, ref, prefix);
  const out: Allocation[] = [];
  let skip = offset;
  const visit = (r: number): boolean => {
    if (state.rows.type(r) === RowType.Alloc) {
      if (skip > 0) skip--;
      else {
        out.push(rowAllocation(state, r));
        if (out.length >= limit) return false;
      }
    }
    return state.eachChild(r, visit);
  };
  if (limit > 0) visit(top);
  return out;
}
