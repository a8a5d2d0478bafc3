// The allocator facade: implements the Ipam contract of types.ts over the shared IpamState.

import { allocate, replayAllocation } from './allocate.js';
import { applyNetworkInstance, applyPrefix, removeNetworkInstance, removePrefix } from './prefixes.js';
import { definePrefix, definesPrefix } from './define.js';
import { lookup } from './lookup.js';
import { allocationsWithin, getAllocations, listAllocations, listNetworkInstances, listPrefixes, utilization } from './queries.js';
import { specInfo } from './output.js';
import { snapshot } from './snapshot.js';
import { release } from './release.js';
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
    private readonly state: IpamState = new IpamState(),
    readonly vlan: Vlans = createVlans(),
  ) {}

  applyNetworkInstance(ni: NetworkInstanceRef, prefixes: InstancePrefix[], owner: string): NetworkInstanceInfo {
    return applyNetworkInstance(this.state, ni, prefixes, owner);
  }

  removeNetworkInstance(ni: NetworkInstanceRef, opts?: ReleaseOptions): void {
    removeNetworkInstance(this.state, ni, opts);
  }

  applyPrefix(spec: PrefixSpec): PrefixInfo {
    return specInfo(this.state, applyPrefix(this.state, spec));
  }

  removePrefix(ni: NetworkInstanceRef, prefix: string, opts?: ReleaseOptions): void {
    removePrefix(this.state, ni, prefix, opts);
  }

  allocate(req: AllocationRequest): Allocation {
    if (definesPrefix(req)) return definePrefix(this.state, req, false, () => void this.release(req.owner));
    return allocate(this.state, req, false);
  }

  replayAllocation(req: AllocationRequest, prefix: string): Allocation {
    if (definesPrefix(req)) return this.allocate({ ...req, hint: prefix });
    return replayAllocation(this.state, req, prefix);
  }

  dryRun(req: AllocationRequest): Allocation {
    if (definesPrefix(req)) return definePrefix(this.state, req, true, () => undefined);
    return allocate(this.state, req, true);
  }

  lookup(ni: NetworkInstanceRef, selector: LabelSelector): LookupMatch {
    return lookup(this.state, ni, selector);
  }

  release(owner: string, opts?: ReleaseOptions): Allocation[] {
    return release(this.state, owner, opts);
  }

  getAllocations(owner: string): Allocation[] {
    return getAllocations(this.state, owner);
  }

  defines(owner: string): boolean {
    return !!this.state.specsByOwner.get(owner)?.size || !!this.state.instancesByOwner.get(owner)?.size;
  }

  allocationCount(): number {
    return this.state.owners.size; // one entry per Alloc or Ref row: exactly what listAllocations lists
  }

  listNetworkInstances(): NetworkInstanceInfo[] {
    return listNetworkInstances(this.state);
  }

  listPrefixes(ni?: NetworkInstanceRef): PrefixInfo[] {
    return listPrefixes(this.state, ni);
  }

  listAllocations(filter?: AllocationFilter): Allocation[] {
    return listAllocations(this.state, filter);
  }

  utilization(ni: NetworkInstanceRef, prefix: string): Utilization {
    return utilization(this.state, ni, prefix);
  }

  allocationsWithin(ni: NetworkInstanceRef, prefix: string, offset?: number, limit?: number): Allocation[] {
    return allocationsWithin(this.state, ni, prefix, offset, limit);
  }

  snapshot(): Snapshot {
    const s = snapshot(this.state);
    const v = this.vlan.snapshot();
    if (v.indexes.length > 0) s.vlan = v;
    return s;
  }
}
