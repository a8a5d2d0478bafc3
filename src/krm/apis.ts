// The IPAM resource types the function reads, per API generation.
import { isSpaceDefinition, SPACE_DEFINITION_KINDS } from '../space/read.js';

/** Request API generations: the original IPAllocation, Nephio's IPAllocation, Nephio's IPClaim. */
export type Generation = 'original' | 'alloc' | 'claim';

export const REQUEST_APIS: Record<string, { kind: string; generation: Generation }> = {
  'ipam.nephio.org/v1alpha1': { kind: 'IPAllocation', generation: 'original' },
  'ipam.alloc.nephio.org/v1alpha1': { kind: 'IPAllocation', generation: 'alloc' },
  'ipam.resource.nephio.org/v1alpha1': { kind: 'IPClaim', generation: 'claim' },
};

export const REQUEST_KINDS = new Set(['IPAllocation', 'IPClaim']);
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
