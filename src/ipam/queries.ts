// Read-only views: allocations, prefixes, network instances, utilization.

import { compareWords, maskTo } from './addr.js';
import { IpamError } from './errors.js';
import { selectorMatches } from './labels.js';
import { rowAllocation, specInfo } from './output.js';
import { instanceInfo, parseField } from './prefixes.js';
import { RowType } from './rows.js';
import type { Instance, Space, SpecRec } from './space.js';
import { Probe } from './trie.js';
import type { Allocation, AllocationFilter, NetworkInstanceInfo, NetworkInstanceRef, PrefixInfo, Utilization } from './types.js';
import { niKey } from './space.js';

export function getAllocations(sp: Space, owner: string): Allocation[] {
  const r = sp.owners.get(owner);
  return r === undefined ? [] : [rowAllocation(sp, r)];
}

export function listAllocations(sp: Space, filter: AllocationFilter = {}): Allocation[] {
  const out: Allocation[] = [];
  let instId = -1;
  if (filter.networkInstance) {
    const inst = sp.byKey.get(niKey(filter.networkInstance));
    if (!inst) return out;
    instId = inst.id;
  }
  if (filter.owner !== undefined) {
    const r = sp.owners.get(filter.owner);
    if (r === undefined) return out;
    const a = rowAllocation(sp, r);
    if ((instId < 0 || sp.rows.inst[r] === instId) && keep(a, filter)) out.push(a);
    return out;
  }
  for (const [owner, r] of sp.owners) {
    if (instId >= 0 && sp.rows.inst[r] !== instId) continue;
    if (filter.ownerPrefix !== undefined && !owner.startsWith(filter.ownerPrefix)) continue;
    const a = rowAllocation(sp, r);
    if (keep(a, filter)) out.push(a);
  }
  return out;
}

const keep = (a: Allocation, f: AllocationFilter): boolean =>
  (f.ownerPrefix === undefined || a.owner.startsWith(f.ownerPrefix)) && (!f.selector || selectorMatches(f.selector, a.labels));

export function listNetworkInstances(sp: Space): NetworkInstanceInfo[] {
  return sp.instances.filter((i): i is Instance => !!i).map(instanceInfo);
}

/** Specs in candidate order (family, address, length), so parents come before children. */
export function sortedSpecs(sp: Space, inst: Instance): SpecRec[] {
  return [...inst.specs.values()].sort((a, b) => sp.compareRows(a.row, b.row) || (a.canon < b.canon ? -1 : a.canon > b.canon ? 1 : 0) || (a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : 0));
}

export function listPrefixes(sp: Space, ni?: NetworkInstanceRef): PrefixInfo[] {
  const insts = ni ? [sp.byKey.get(niKey(ni))].filter((i): i is Instance => !!i) : sp.instances.filter((i): i is Instance => !!i);
  const out: PrefixInfo[] = [];
  for (const inst of insts) for (const s of sortedSpecs(sp, inst)) out.push(specInfo(sp, s));
  return out;
}

/** used/free/total of a prefix's own space, in addresses, as exact decimal strings. */
export function utilization(sp: Space, ref: NetworkInstanceRef, prefix: string): Utilization {
  const inst = sp.instance(ref);
  const c = parseField(prefix, 'prefix', inst);
  const net = new Uint32Array(c.w);
  maskTo(net, c.len, c.v6);
  sp.locate(inst, c.v6, net, 0, c.len);
  const r = sp.locHit;
  if (sp.locProbe !== Probe.Exact || r <= 1 || sp.rows.type[r] === RowType.Reserved || compareWords(sp.rows.addr, 4 * r, net, 0) !== 0) {
    throw new IpamError('NotFound', `prefix ${prefix} not found in network instance ${inst.key}`, { networkInstance: inst.key, prefix, field: 'prefix' });
  }
  const rows = sp.rows;
  const order = rows.order(r);
  const total = 1n << BigInt(order);
  let used = total;
  if (rows.isContainer(r)) {
    used = 0n;
    sp.trie.forEach(rows.root[r], order, (_row, o) => {
      used += 1n << BigInt(o);
    });
  }
  return { prefix: sp.cidrOf(r), total: total.toString(), used: used.toString(), free: (total - used).toString() };
}
