// Nephio Networks on the server: the space a package's (or the seed's) Network resources
// define, derived as the function derives it (src/space/derive.ts) and applied in the
// caller's transaction. What a Network defines belongs to the scope "infra.nephio.org", not
// to the package that sent it: every package carries the same Network, identical definitions
// are one space, and no package (token) can release it.
import type { ClusterDef, NetworkDef } from '../space/definitions.js';
import { applyNetworks, type NetworkError, type SpaceTarget } from '../space/derive.js';
import { readSpaceDefinition, SpaceFieldError } from '../space/read.js';
import { scopedOwner } from '../protocol/owner.js';
import { IpamError } from '../ipam/errors.js';
import type { Tx } from './core.js';

export const NETWORK_SCOPE = 'infra.nephio.org';

const scope = (local: string): string => scopedOwner(NETWORK_SCOPE, local);

/** The transaction as the derivation's target (reads go to its allocator). */
function target(tx: Tx): SpaceTarget {
  return {
    applyNetworkInstance: (ref, prefixes, owner) => tx.applyNetworkInstance(ref, prefixes, owner),
    applyPrefix: (spec) => tx.applyPrefix(spec),
    allocate: (req) => tx.allocate(req),
    dryRun: (req) => tx.dryRun(req),
    getAllocations: (owner) => tx.ipam.getAllocations(owner),
    listNetworkInstances: () => tx.ipam.listNetworkInstances(),
    listPrefixes: (ni) => tx.ipam.listPrefixes(ni),
  };
}

/** A Batch's `networks` (JSON texts) read by the shared reader; errors by index. */
export function readNetworks(texts: string[]): {
  networks: NetworkDef[];
  index: Map<string, number>;
  errors: { i: number; error: Error }[];
} {
  const defs = { networkInstances: [], prefixes: [], networks: [] as NetworkDef[] };
  const index = new Map<string, number>();
  const errors: { i: number; error: Error }[] = [];
  texts.forEach((text, i) => {
    try {
      const obj = JSON.parse(text) as unknown;
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new Error('not a Network resource');
      if ((obj as { kind?: unknown }).kind !== 'Network') throw new Error('not a Network resource');
      const owner = readSpaceDefinition(obj as Record<string, unknown>, defs, `networks[${i}]`);
      if (!index.has(owner)) index.set(owner, i);
    } catch (e) {
      errors.push({ i, error: asIpamError(e as Error, e instanceof SpaceFieldError ? e.field : 'spec') });
    }
  });
  return { networks: defs.networks, index, errors };
}

/** Applies the networks' space for the clusters; the problems, each naming its Network's owner. */
export function applyNetworkSpace(tx: Tx, networks: NetworkDef[], clusters: ClusterDef[]): NetworkError[] {
  return applyNetworks(target(tx), networks, clusters, scope);
}

/** A Network problem as an IpamError (it travels with its field): the input is invalid. */
export function asIpamError(e: Error & { field?: string }, field = e.field ?? 'spec'): IpamError {
  return e instanceof IpamError ? e : new IpamError('InvalidArgument', e.message, { field });
}
