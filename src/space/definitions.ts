// What space definitions say, as plain data: the one shape that the function (package
// resources) and `serve --seed` (a YAML file) both read into (read.ts).
import type { VlanDefinition, VlanIndexSpec } from '../vlan/types.js';
import type { InstancePrefix, LabelSelector, NetworkInstanceRef, OwnerKey, PrefixSpec } from '../ipam/types.js';

/** NetworkInstance: its prefixes become aggregates owned by `owner`. */
export interface NetworkInstanceDef {
  ref: NetworkInstanceRef;
  prefixes: InstancePrefix[];
  owner: OwnerKey;
}

/** infra.nephio.org Network: routing tables with labelled prefixes, bridge domains. */
export interface NetworkDef {
  name: string;
  /** As written (undefined when absent). */
  namespace?: string;
  owner: OwnerKey;
  routingTables: RoutingTableDef[];
  bridgeDomains: BridgeDomainDef[];
  /** Where it was read from (file, document), to name both sides of a conflict. */
  source?: string;
  /** The prefix lengths its NetworkConfig sets (network-config.ts); defaults where absent. */
  prefixLengths?: PrefixLengths;
}

/** A NetworkConfig's `spec.prefixLengths` (henderiw-nephio/network NetworkConfig). */
export interface PrefixLengths {
  ipv4?: FamilyPrefixLengths;
  ipv6?: FamilyPrefixLengths;
}

export interface FamilyPrefixLengths {
  /** Node-to-node links (31 / 127): read, not used (no such links are derived). */
  interfaceInternal?: number;
  /** A cluster's subnet per network-kind prefix (24 / 64). */
  interfaceExternal?: number;
  /** A cluster's pool per pool-kind prefix (16 / 48). */
  pool?: number;
}

/** NetworkConfig: prefix lengths for the Network of its name, or for every Network (`default`). */
export interface NetworkConfigDef {
  name: string;
  namespace?: string;
  owner: OwnerKey;
  prefixLengths: PrefixLengths;
}

export interface RoutingTableDef {
  name: string;
  prefixes: { prefix: string; labels: Record<string, string> }[];
  interfaces: AttachmentDef[];
}

export interface BridgeDomainDef {
  name: string;
  interfaces: AttachmentDef[];
}

/** An interface of a routing table or bridge domain: a bridge domain by name, or the
 *  endpoints (clusters) a selector picks. */
export interface AttachmentDef {
  kind: string;
  bridgeDomainName?: string;
  selector?: LabelSelector;
  attachmentType?: string;
}

/** infra.nephio.org WorkloadCluster: the cluster the package is deployed to. */
export interface ClusterDef {
  name: string;
  owner: OwnerKey;
}

/**
 * Everything a package or a seed file defines. Extension point: a new kind of space
 * definition adds its list here and its reader to READERS in read.ts; both the function and
 * `serve --seed` then read it.
 */
export interface SpaceDefinitions {
  networkInstances: NetworkInstanceDef[];
  prefixes: PrefixSpec[];
  networks?: NetworkDef[];
  clusters?: ClusterDef[];
  /** NetworkConfigs (network-config.ts), resolved into their Networks' prefixLengths. */
  networkConfigs?: NetworkConfigDef[];
  /** VLANIndex / VLANDatabase (src/space/vlan.ts). */
  vlanIndexes?: VlanIndexSpec[];
  /** The operator's VLAN resources. */
  vlanDefinitions?: VlanDefinition[];
}

export const emptySpace = (): Required<SpaceDefinitions> => ({
  networkInstances: [],
  prefixes: [],
  networks: [],
  clusters: [],
  networkConfigs: [],
  vlanIndexes: [],
  vlanDefinitions: [],
});
