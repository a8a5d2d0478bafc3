// The function talks to IPAM through this interface; `builtin` runs the allocator in
// process, `grpc` calls a server. Both receive the whole package's view at once so that a
// remote backend can batch.
import type { Allocation, AllocationRequest } from '../ipam/types.js';
import type { SpaceDefinitions } from '../space/definitions.js';
import type { VlanAllocation, VlanDefinition, VlanIndexSpec, VlanRequest } from '../vlan/types.js';

/** The address space a package defines (src/space/read.ts reads it). */
export type PackageSpace = SpaceDefinitions;

/** One request's outcome: an allocation, or an error that names the request. */
export type Outcome =
  | { ok: true; allocation: Allocation; /** Something the answer cannot show (e.g. not checked). */ note?: string }
  | { ok: false; error: Error };

export interface BackendRun {
  /** The package's space; applied before any request. */
  space: PackageSpace;
  /** Allocations the package already records (status.prefix), replayed before new requests. */
  requests: AllocationRequest[];
  /** Read-only lookups (nephio.org/action: get, dry runs): answered, nothing reserved. */
  lookups?: boolean[];
  /** Owners the package held last time and no longer requests: release them. */
  release: string[];
  /**
   * Dry run: answer as a real run would (space applied, requests allocated in order), change
   * nothing anywhere. A shared backend evaluates on a copy (grpc admin) or, when its protocol
   * cannot, answers every request as a lookup and applies nothing (grpc alloc/resource).
   */
  dryRun?: boolean;
  /**
   * Keep what succeeded when some requests fail (onError=condition). Otherwise the run fails
   * as a whole, and a backend that commits per item releases what this run newly allocated.
   */
  keepOnFailure?: boolean;
  /** Filled by the backend: owners it released again because the run failed. */
  released?: string[];
}

/** The VLAN indexes a package defines (VLANIndex, VLANDatabase, implied by a WorkloadCluster)
 *  and its operator VLAN definitions. */
export interface VlanSpace {
  indexes: VlanIndexSpec[];
  definitions: VlanDefinition[];
}

/** The package's VLAN claims (VLANClaim, VLANAllocation), in the shape of BackendRun. */
export interface VlanRun {
  space: VlanSpace;
  requests: VlanRequest[];
  lookups?: boolean[];
  release: string[];
  dryRun?: boolean;
}

export type VlanOutcome = { ok: true; allocation: VlanAllocation } | { ok: false; error: Error };

export interface Backend {
  /** Answers `requests` in order (one Outcome each) after applying space and releases. */
  run(input: BackendRun): Promise<Outcome[]>;
  /** The same for VLAN claims; a backend without it cannot serve a package that has any. */
  runVlan?(input: VlanRun): Promise<VlanOutcome[]>;
  close(): Promise<void>;
}

/**
 * `run` rejects with this when the package's space (NetworkInstance/IPPrefix) cannot be
 * applied; each error names the owner of the resource it is about, so the function can point
 * at the resource and field.
 */
export class SpaceError extends Error {
  override readonly name = 'SpaceError';
  constructor(readonly errors: { owner: string; error: Error }[]) {
    super(errors.map((e) => `${e.owner}: ${e.error.message}`).join('; '));
  }
}
