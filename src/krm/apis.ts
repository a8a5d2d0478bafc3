// The IPAM resource types the function reads, per API generation.
import { isSpaceDefinition, SPACE_DEFINITION_KINDS } from '../space/read.js';
import { suggestion } from './nearest.js';

/** Request API generations: the original IPAllocation, Nephio's IPAllocation, Nephio's IPClaim;
 *  'vlan' for VLANClaim and VLANAllocation (conditions in the later form). */
export type Generation = 'original' | 'alloc' | 'claim' | 'vlan';

export const REQUEST_APIS: Record<string, { kind: string; generation: Generation }> = {
  'ipam.nephio.org/v1alpha1': { kind: 'IPAllocation', generation: 'original' },
  'ipam.alloc.nephio.org/v1alpha1': { kind: 'IPAllocation', generation: 'alloc' },
  'ipam.resource.nephio.org/v1alpha1': { kind: 'IPClaim', generation: 'claim' },
};

/** VLAN requests: the field that names their index differs per group. */
export const VLAN_REQUEST_APIS: Record<string, { kind: string; indexField: 'vlanIndex' | 'vlanDatabase' }> = {
  'vlan.resource.nephio.org/v1alpha1': { kind: 'VLANClaim', indexField: 'vlanIndex' },
  'vlan.alloc.nephio.org/v1alpha1': { kind: 'VLANAllocation', indexField: 'vlanDatabase' },
};

export function vlanRequestApi(apiVersion: string, kind: string): { kind: string; indexField: 'vlanIndex' | 'vlanDatabase' } | undefined {
  const a = VLAN_REQUEST_APIS[apiVersion];
  return a && a.kind === kind ? a : undefined;
}

/**
 * Every apiVersion and kind the function knows in the groups it reads: ONE table. A resource
 * of these groups that is not here is an error naming it, never skipped (a skipped request
 * looks released). Add new kinds here; requests and space are classified below.
 */
export const KNOWN_KINDS: Record<string, readonly string[]> = {
  'ipam.nephio.org/v1alpha1': ['IPAllocation', 'NetworkInstance', 'IPPrefix'],
  'ipam.alloc.nephio.org/v1alpha1': ['IPAllocation', 'NetworkInstance', 'IPPrefix'],
  'ipam.resource.nephio.org/v1alpha1': ['IPClaim', 'NetworkInstance', 'IPPrefix'],
  'vlan.alloc.nephio.org/v1alpha1': ['VLANAllocation', 'VLANDatabase', 'VLAN'],
  'vlan.resource.nephio.org/v1alpha1': ['VLANClaim', 'VLANIndex', 'VLAN'],
};

const groupOf = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : apiVersion);

export const OWN_GROUPS: ReadonlySet<string> = new Set(Object.keys(KNOWN_KINDS).map(groupOf));
/** Every kind name in the table, for reading an item's kind before parsing it. */
export const KNOWN_KIND_NAMES: ReadonlySet<string> = new Set(Object.values(KNOWN_KINDS).flat());

/** Why a resource of one of our groups is not one we know (undefined: known, or not ours). */
export function unknownOwnKind(apiVersion: string, kind: string): string | undefined {
  const group = groupOf(apiVersion);
  // Only exact groups: near names are real groups too (vxlan.resource.nephio.org).
  if (!OWN_GROUPS.has(group)) return undefined;
  const kinds = KNOWN_KINDS[apiVersion];
  if (!kinds) {
    const versions = Object.keys(KNOWN_KINDS).filter((v) => groupOf(v) === group);
    return `apiVersion ${apiVersion} is not one the function reads (${group} has ${versions.join(', ')})`;
  }
  if (!kinds.includes(kind))
    return `kind ${JSON.stringify(kind)} is not a ${apiVersion} kind (${kinds.join(', ')})${suggestion(kind, kinds)}`;
  return undefined;
}

export const REQUEST_KINDS = new Set(['IPAllocation', 'IPClaim', 'VLANClaim', 'VLANAllocation']);
/** Kinds that define address space (src/space/read.ts reads them). */
export const SPACE_KINDS = SPACE_DEFINITION_KINDS;
export const KPTFILE_API_VERSIONS = new Set(['kpt.dev/v1', 'kpt.dev/v1alpha2', 'kpt.dev/v1alpha1']);

export function requestApi(apiVersion: string, kind: string): Generation | undefined {
  const a = REQUEST_APIS[apiVersion];
  return a && a.kind === kind ? a.generation : undefined;
}

export const isSpace = isSpaceDefinition;
export const isKptfile = (apiVersion: string, kind: string): boolean => kind === 'Kptfile' && KPTFILE_API_VERSIONS.has(apiVersion);

// Well-known labels and annotations.
export const LABEL_NETWORK_INSTANCE = 'nephio.org/network-instance';
export const LABEL_NETWORK_NAME = 'nephio.org/network-name';
export const LABEL_ADDRESS_FAMILY = 'nephio.org/address-family';
export const ANN_ACTION = 'nephio.org/action';
/** Nephio's interface-fn names the claim every interface of one network in one cluster shares. */
export const ANN_VLAN_CLAIM_NAME = 'specializer.nephio.org/vlanClaimName';
