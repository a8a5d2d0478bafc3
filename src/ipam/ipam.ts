// The allocator facade: implements the Ipam contract of types.ts over the shared IpamState.

import { allocate } from './allocate.js';
import { rowAllocation } from './output.js';
import {
  applyNetworkInstance,
  applyPrefix,
  dependentsError,
  dropWholeInstance,
  instanceDependents,
  removeNetworkInstance,
  removePrefix,
  removeSpecNow,
  specDependents,
} from './prefixes.js';
import { definePrefix, definesPrefix } from './define.js';
import { lookup } from './lookup.js';
import { allocationsWithin, getAllocations, listAllocations, listNetworkInstances, listPrefixes, utilization } from './queries.js';
import { specInfo } from './output.js';
import { snapshot } from './snapshot.js';
import { RowType } from './rows.js';
import { IpamState } from './state.js';
import { createVlans } from '../vlan/index.js';
import type { Vlans } from '../vlan/types.js';
import type {
  Allocation,
  AllocationFilter,
  AllocationRequest,
  InstancePrefix,
  Ipam,
  LabelSelector,
  LookupMatch,
  NetworkInstanceInfo,
  NetworkInstanceRef,
  PrefixInfo,
  PrefixSpec,
  ReleaseOptions,
  Snapshot,
  Utilization,
} from './types.js';

export class Allocator implements Ipam {
  constructor(
    private readonly sp: IpamState = new IpamState(),
    readonly vlan: Vlans = createVlans(),
  ) {}

  applyNetworkInstance(ni: NetworkInstanceRef, prefixes: InstancePrefix[], owner: string): NetworkInstanceInfo {
    return applyNetworkInstance(this.sp, ni, prefixes, owner);
  }

  removeNetworkInstance(ni: NetworkInstanceRef, opts?: ReleaseOptions): void {
    removeNetworkInstance(this.sp, ni, opts);
  }

  applyPrefix(spec: PrefixSpec): PrefixInfo {
    return specInfo(this.sp, applyPrefix(this.sp, spec));
  }

  removePrefix(ni: NetworkInstanceRef, prefix: string, opts?: ReleaseOptions): void {
    removePrefix(this.sp, ni, prefix, opts);
  }

  allocate(req: AllocationRequest): Allocation {
    if (definesPrefix(req)) return definePrefix(this.sp, req, false, () => void this.release(req.owner));
    return allocate(this.sp, req, false);
  }

  dryRun(req: AllocationRequest): Allocation {
    if (definesPrefix(req)) return definePrefix(this.sp, req, true, () => undefined);
    return allocate(this.sp, req, true);
  }

  lookup(ni: NetworkInstanceRef, selector: LabelSelector): LookupMatch {
    return lookup(this.sp, ni, selector);
  }

  release(owner: string, opts?: ReleaseOptions): Allocation[] {
    const sp = this.sp;
    const held = sp.owners.get(owner);
    const ownedSpecs = sp.specsByOwner.get(owner);
    const ownedInsts = sp.instancesByOwner.get(owner);
    if (held !== undefined && !ownedSpecs && !ownedInsts && sp.rows.isHost(held) && sp.rows.type(held) === RowType.Alloc) {
      // the common case: one address, nothing can depend on it
      const a = rowAllocation(sp, held, owner);
      sp.releaseHost(held, owner);
      return [a];
    }
    const specs = [...(ownedSpecs ?? [])];
    const insts = [...(ownedInsts ?? [])];
    const freed: Allocation[] = [];
    if (!opts?.force || opts.forceOnly) {
      const except = new Set([owner]);
      const deps = new Set<string>();
      if (held !== undefined) sp.dependents(held, except, deps);
      for (const s of specs) specDependents(sp, s, except, deps);
      for (const i of insts) instanceDependents(sp, i, except, deps);
      if (opts?.force) for (const d of deps) if (opts.forceOnly!(d)) deps.delete(d);
      if (deps.size) {
        const inst = sp.instances[held !== undefined ? sp.rows.inst(held) : specs.length ? specs[0].inst : insts[0].id]!;
        throw dependentsError(`what ${owner} holds`, inst, deps);
      }
    }
    const cb = (r: number) => void freed.push(rowAllocation(sp, r));
    if (held !== undefined) sp.purge(held, true, cb);
    for (const s of specs) removeSpecNow(sp, s, cb);
    for (const i of insts) if (sp.instances[i.id] === i) dropWholeInstance(sp, i, cb);
    return freed;
  }

  getAllocations(owner: string): Allocation[] {
    return getAllocations(this.sp, owner);
  }

  defines(owner: string): boolean {
    return !!this.sp.specsByOwner.get(owner)?.size || !!this.sp.instancesByOwner.get(owner)?.size;
  }

  allocationCount(): number {
    return this.sp.owners.size; // one entry per Alloc or Ref row: exactly what listAllocations lists
  }

  listNetworkInstances(): NetworkInstanceInfo[] {
    return listNetworkInstances(this.sp);
  }

  listPrefixes(ni?: NetworkInstanceRef): PrefixInfo[] {
    return listPrefixes(this.sp, ni);
  }

  listAllocations(filter?: AllocationFilter): Allocation[] {
    return listAllocations(this.sp, filter);
  }

  utilization(ni: NetworkInstanceRef, prefix: string): Utilization {
    return utilization(this.sp, ni, prefix);
  }

  allocationsWithin(ni: NetworkInstanceRef, prefix: string, offset?: number, limit?: number): Allocation[] {
    return allocationsWithin(this.sp, ni, prefix, offset, limit);
  }

  snapshot(): Snapshot {
    const s = snapshot(this.sp);
    const v = this.vlan.snapshot();
    if (v.indexes.length > 0) s.vlan = v;
    return s;
  }
}
