// What a claim backend of the resource protocol and the 2023 alloc rpcs does (claims.ts routes
// calls to one by header.gvk's group): the original's backend.Backend, over whole objects.
import type { Principal } from '../auth.js';
import type { ClaimRequest, ClaimResponse } from '../../protocol/messages.js';

export interface ClaimBackend {
  createIndex(r: ClaimRequest, p: Principal): Promise<void>;
  deleteIndex(r: ClaimRequest, p: Principal): Promise<void>;
  claim(r: ClaimRequest, p: Principal): Promise<ClaimResponse>;
  getClaim(r: ClaimRequest, p: Principal): Promise<ClaimResponse>;
  deleteClaim(r: ClaimRequest, p: Principal): Promise<void>;
}

/** API group -> backend. Unknown groups are INVALID_ARGUMENT ("backend not registered" in the original). */
export type ClaimBackends = Map<string, ClaimBackend>;
