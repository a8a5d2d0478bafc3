// Public types of the allocator: the contract between src/ipam and every caller
// (the KRM function's builtin backend, the gRPC server, the stores). Plain data only,
// so that everything here is JSON-serialisable and crosses process boundaries unchanged.
import type { VlanSnapshot, Vlans } from '../vlan/types.js';
import type { LabelSelector, Labels, OwnerKey } from './label-types.js';

export type { LabelSelector, LabelSelectorRequirement, Labels, OwnerKey } from './label-types.js';

export type AddressFamily = 'ipv4' | 'ipv6';
export type PrefixKind = 'aggregate' | 'network' | 'pool' | 'loopback';
/** A network instance is named by namespace/name; namespace defaults to "default". */
export interface NetworkInstanceRef {
  name: string;
  namespace?: string;
}

/** NetworkInstance spec.prefixes[] entry: becomes an aggregate of that instance. */
export interface InstancePrefix {
  prefix: string;
  labels?: Labels;
}

/** An operator-defined prefix (an IPPrefix resource, or an aggregate of a NetworkInstance). */
export interface PrefixSpec {
  networkInstance: NetworkInstanceRef;
  /** As written. network/loopback kinds may carry host bits: that address is reserved. */
  prefix: string;
  kind: PrefixKind;
  /** nephio.org/network-name of the subnet (original API `spec.network`). */
  networkName?: string;
  labels?: Labels;
  owner: OwnerKey;
}

export interface AllocationRequest {
  owner: OwnerKey;
  networkInstance: NetworkInstanceRef;
  kind: PrefixKind;
  selector?: LabelSelector;
  /** Static request: this prefix/address exactly. */
  prefix?: string;
  prefixLength?: number;
  addressFamily?: AddressFamily;
  /** kind network: carve a new subnet instead of a host address. */
  createPrefix?: boolean;
  /** Labels the allocation carries (and a created prefix, which later requests may select). */
  labels?: Labels;
  /** Original API `spec.index`: the index-th address/block of the chosen parent, when free. */
  index?: number;
  /** Sticky hint: the `status.prefix` the request already carries. */
  hint?: string;
}

/** What an owner holds. `prefix` is canonical (RFC 5952 for IPv6). */
export interface Allocation {
  owner: OwnerKey;
  networkInstance: Required<NetworkInstanceRef>;
  kind: PrefixKind;
  addressFamily: AddressFamily;
  /** Host addresses in a subnet: `addr/<subnet length>`; loopback `addr/32|128`; prefixes `net/len`. */
  prefix: string;
  /** Address only, present when the subnet has a gateway. */
  gateway?: string;
  /** The prefix this came from (canonical `net/len`). */
  parent: string;
  labels: Labels;
}

/** What a lookup found: the first stored thing whose labels match the selector. */
export interface LookupMatch {
  networkInstance: Required<NetworkInstanceRef>;
  kind: PrefixKind;
  addressFamily: AddressFamily;
  /** As an allocation of it would be answered (host addresses in a subnet: `addr/<subnet length>`). */
  prefix: string;
  /** For an address in a network subnet with a gateway, or such a subnet itself. */
  gateway?: string;
  labels: Labels;
  owner: OwnerKey;
}

/** A prefix in the tree, as listed by queries. */
export interface PrefixInfo {
  networkInstance: Required<NetworkInstanceRef>;
  prefix: string;
  kind: PrefixKind;
  addressFamily: AddressFamily;
  labels: Labels;
  owner: OwnerKey;
  /** Reserved address of a network IPPrefix with host bits (e.g. a gateway), if any. */
  reserved?: string[];
}

/** Exact counts as decimal strings (IPv6 counts exceed 2^53). Units: addresses for network
 *  and loopback prefixes, addresses for pools and aggregates too (blocks are counted by size). */
export interface Utilization {
  prefix: string;
  total: string;
  used: string;
  free: string;
  /** Length of the largest aligned block still free inside (absent when nothing is). */
  largestFree?: number;
}

export interface NetworkInstanceInfo {
  name: string;
  namespace: string;
  owner: OwnerKey;
  prefixes: InstancePrefix[];
}

export interface ReleaseOptions {
  /** Remove prefixes even when other owners still hold allocations inside them. */
  force?: boolean;
  /** release() with `force`: only dependents whose owner passes may be freed; any other still blocks
   *  the release (FailedPrecondition naming them). */
  forceOnly?: (owner: string) => boolean;
}

/** Whole allocator state as plain data; `restore(snapshot())` gives identical answers. */
export interface Snapshot {
  version: 1;
  networkInstances: NetworkInstanceInfo[];
  prefixes: PrefixSpec[];
  allocations: Allocation[];
  /** The VLAN indexes and claims (src/vlan), when there are any; absent in older snapshots. */
  vlan?: VlanSnapshot;
}

export interface AllocationFilter {
  networkInstance?: NetworkInstanceRef;
  owner?: OwnerKey;
  /** Owners starting with this string (the server lists one package's allocations). */
  ownerPrefix?: string;
  /** Owners whose key contains this text (a search by part of a name). */
  ownerContains?: string;
  selector?: LabelSelector;
  /** A page of the list: skip this many matches, then return at most `limit` (tree order).
   *  Only the page's allocations are built, so paging through a large space stays cheap. */
  offset?: number;
  limit?: number;
}

/** The allocator: synchronous, pure (no I/O), one instance holds every network instance. */
export interface Ipam {
  /** The VLAN allocator kept beside the address space: one state, one snapshot. */
  readonly vlan: Vlans;
  /** Create or update a network instance; its prefixes become aggregates owned by `owner`. */
  applyNetworkInstance(ni: NetworkInstanceRef, prefixes: InstancePrefix[], owner: OwnerKey): NetworkInstanceInfo;
  removeNetworkInstance(ni: NetworkInstanceRef, opts?: ReleaseOptions): void;
  /** Define a prefix (IPPrefix). Idempotent for the same owner and spec. */
  applyPrefix(spec: PrefixSpec): PrefixInfo;
  removePrefix(ni: NetworkInstanceRef, prefix: string, opts?: ReleaseOptions): void;
  allocate(req: AllocationRequest): Allocation;
  /**
   * Replays a logged allocation: exactly `allocate({ ...req, hint: prefix })` (the state after
   * it and any error are the same), without copying the request. The caller checks that the
   * answer is `prefix`.
   */
  replayAllocation(req: AllocationRequest, prefix: string): Allocation;
  /** What `allocate` would answer; nothing is reserved. Also serves read-only "get" lookups. */
  dryRun(req: AllocationRequest): Allocation;
  /**
   * The first thing stored in `ni` (aggregates, subnets, reserved addresses, allocations, in
   * tree order) whose labels, system and owner labels included, match `selector`; nothing is
   * reserved. NotFound when nothing matches.
   */
  lookup(ni: NetworkInstanceRef, selector: LabelSelector): LookupMatch;
  /** Frees everything `owner` holds (allocations and prefixes); returns what was freed. */
  release(owner: OwnerKey, opts?: ReleaseOptions): Allocation[];
  getAllocations(owner: OwnerKey): Allocation[];
  /** Whether `owner` defined a prefix or network instance (release would remove them too). */
  defines(owner: OwnerKey): boolean;
  listNetworkInstances(): NetworkInstanceInfo[];
  listPrefixes(ni?: NetworkInstanceRef): PrefixInfo[];
  listAllocations(filter?: AllocationFilter): Allocation[];
  /** How many allocations are held, i.e. listAllocations().length, without building them. */
  allocationCount(): number;
  utilization(ni: NetworkInstanceRef, prefix: string): Utilization;
  /** Allocations inside an existing prefix, in tree order; a page with offset/limit. */
  allocationsWithin(ni: NetworkInstanceRef, prefix: string, offset?: number, limit?: number): Allocation[];
  snapshot(): Snapshot;
}
