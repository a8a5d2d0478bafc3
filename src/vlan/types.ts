// Public types of the VLAN allocator: plain, JSON-serialisable data, like src/ipam/types.ts.
import type { LabelSelector, Labels, OwnerKey } from '../ipam/label-types.js';

/** A VLAN index (VLANIndex, or the 2023 VLANDatabase) is named by namespace/name. */
export interface VlanIndexRef {
  name: string;
  /** Defaults to "default". */
  namespace?: string;
}

/** VLANDatabase `spec.kind`; a VLANIndex is an `esg` index. */
export type VlanIndexKind = 'esg' | 'device';

export interface VlanIndexSpec {
  index: VlanIndexRef;
  kind?: VlanIndexKind;
  /** `spec.labels`: a claim whose selector matches them may take any free id of the index. */
  labels?: Labels;
  owner: OwnerKey;
  /**
   * Implied by a WorkloadCluster (an index named after its cluster): made when missing, left as
   * it is when it exists, and replaced by an explicit definition.
   */
  implied?: boolean;
}

export interface VlanIndexInfo {
  name: string;
  namespace: string;
  kind: VlanIndexKind;
  labels: Labels;
  owner: OwnerKey;
  implied?: true;
}

/**
 * An operator's `VLAN` resource: one id, or a range `start:end` that claims with a matching
 * selector draw from (the way a pool prefix serves IP requests).
 */
export interface VlanDefinition {
  index: VlanIndexRef;
  vlanID?: number;
  range?: string;
  labels?: Labels;
  owner: OwnerKey;
}

export interface VlanRequest {
  owner: OwnerKey;
  index: VlanIndexRef;
  /** Static: this id exactly. */
  vlanID?: number;
  /** `start:end` (that block exactly) or a size `N` (the lowest consecutive block of N). */
  range?: string;
  selector?: LabelSelector;
  labels?: Labels;
  /** Sticky: the status the request already carries (`100`, or `100:199` for a range). */
  hint?: string;
  /** `specializer.nephio.org/vlanClaimName`: every request naming it in one index shares one id. */
  claim?: string;
}

/** What an owner holds: one id (`vlanID`) or one block (`vlanRange`, `start:end`). */
export interface VlanAllocation {
  owner: OwnerKey;
  index: Required<VlanIndexRef>;
  vlanID?: number;
  vlanRange?: string;
  labels: Labels;
  /** Set when the id is shared under a vlanClaimName. */
  claim?: string;
  /** Set when the owner is an operator's VLAN definition rather than a claim. */
  definition?: true;
  /** Set when a claim selected an operator's single-id definition: the id stays the definition's. */
  reference?: true;
}

export interface VlanFilter {
  index?: VlanIndexRef;
  owner?: OwnerKey;
  /** Owners starting with this string (the server lists one package's claims). */
  ownerPrefix?: string;
}

/** Whole state as plain data; `restoreVlans(snapshot())` gives identical answers. */
export interface VlanSnapshot {
  version: 1;
  indexes: VlanIndexInfo[];
  /** Definitions first, then claims: restore places each exactly where it was. */
  allocations: VlanAllocation[];
}

export interface VlanReleaseOptions {
  /** Remove an index or a definition even when claims still hold ids in it (they are freed too). */
  force?: boolean;
}

/** The VLAN allocator: synchronous, pure (no I/O); ids 0, 1 and 4095 are never handed out. */
export interface Vlans {
  /** Create or update an index. Identical definitions from several owners are one index. */
  applyIndex(spec: VlanIndexSpec): VlanIndexInfo;
  removeIndex(index: VlanIndexRef, opts?: VlanReleaseOptions): VlanAllocation[];
  /** An operator's VLAN resource; idempotent for the same owner and spec. */
  applyDefinition(def: VlanDefinition): VlanAllocation;
  allocate(req: VlanRequest): VlanAllocation;
  /** What `allocate` would answer; nothing is reserved. */
  dryRun(req: VlanRequest): VlanAllocation;
  /** `nephio.org/action: get`: the id already held under the request's vlanClaimName, else by its owner. */
  lookup(req: VlanRequest): VlanAllocation;
  /** Frees what `owner` holds (a shared id only when its last owner goes); returns it. */
  release(owner: OwnerKey, opts?: VlanReleaseOptions): VlanAllocation[];
  get(owner: OwnerKey): VlanAllocation | undefined;
  listIndexes(): VlanIndexInfo[];
  listAllocations(filter?: VlanFilter): VlanAllocation[];
  allocationCount(): number;
  snapshot(): VlanSnapshot;
}
