// resource.Resource: Nephio's later protocol. Whole objects travel as JSON; header.gvk's
// group picks the claim backend (claims.ts), as in the original's server proxy.
import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { authorizePackage, type Principal } from '../auth.js';
import type { ClaimRequest, WatchClaimRequest, WatchClaimResponse } from '../../protocol/messages.js';
import { localOwner, packageOf, parseLocalOwner, SCOPE_SEPARATOR } from '../../protocol/owner.js';
import { CLAIM_GVK, decodeClaimHeader, headerPackage } from '../../protocol/resource.js';
import { backendFor, type ClaimBackends } from './claims.js';
import { follow, implement, type ServiceContext } from './context.js';
import { vlanApiOf } from '../../protocol/vlan-claims.js';

/** The claim rpcs under the names one generation gives them. */
export interface ClaimRpcNames {
  service: string;
  createIndex: string;
  deleteIndex: string;
  getClaim: string;
  claim: string;
  deleteClaim: string;
  watch: string;
}

export const RESOURCE_RPCS: ClaimRpcNames = {
  service: 'resource.Resource',
  createIndex: 'CreateIndex',
  deleteIndex: 'DeleteIndex',
  getClaim: 'GetClaim',
  claim: 'Claim',
  deleteClaim: 'DeleteClaim',
  watch: 'WatchClaim',
};

/** The 2023 alloc.Allocation generation: the same calls over the same shapes. */
export const ALLOC2023_RPCS: ClaimRpcNames = {
  service: 'alloc.Allocation',
  createIndex: 'CreateIndex',
  deleteIndex: 'DeleteIndex',
  getClaim: 'GetAllocation',
  claim: 'Allocate',
  deleteClaim: 'DeAllocate',
  watch: 'WatchAlloc',
};

const Empty = {};

/** The claim rpcs of one generation, each routed to the claim backend of its request's API group. */
export function claimService(ctx: ServiceContext, backends: ClaimBackends, n: ClaimRpcNames): UntypedServiceImplementation {
  const backend = (r: ClaimRequest) => backendFor(backends, r);
  return implement(ctx, n.service, {
    unary: {
      [n.createIndex]: async (_ctx: ServiceContext, r: ClaimRequest, p: Principal) => {
        await backend(r).createIndex(r, p);
        return Empty;
      },
      [n.deleteIndex]: async (_ctx: ServiceContext, r: ClaimRequest, p: Principal) => {
        await backend(r).deleteIndex(r, p);
        return Empty;
      },
      [n.claim]: (_ctx: ServiceContext, r: ClaimRequest, p: Principal) => backend(r).claim(r, p),
      [n.getClaim]: (_ctx: ServiceContext, r: ClaimRequest, p: Principal) => backend(r).getClaim(r, p),
      [n.deleteClaim]: async (_ctx: ServiceContext, r: ClaimRequest, p: Principal) => {
        await backend(r).deleteClaim(r, p);
        return Empty;
      },
    },
    streams: { [n.watch]: watchClaim },
  });
}

/**
 * Streams a WatchResponse whenever a claim of the caller's package changes: Valid when it
 * was (re)allocated, InValid when it was released (by the package or a forced removal).
 * With header.nsn.name set, only that claim. header.gvk's group picks IP or VLAN claims.
 */
function watchClaim(ctx: ServiceContext, call: ServerWritableStream<WatchClaimRequest, WatchClaimResponse>, p: Principal): void {
  const h = call.request.header;
  const pkg = headerPackage(h);
  authorizePackage(p, pkg);
  const only = h?.nsn?.name ? decodeClaimHeader(h, ctx.limits).owner : undefined;
  const base = call.request.header ?? {};
  // a watch in a VLAN group follows VLAN claims, any other the IP claims
  const vlan = vlanApiOf(base.gvk?.group) !== undefined;
  follow(
    ctx,
    call,
    (c): WatchClaimResponse | undefined => {
      const a = vlan ? c.vlan : c.allocation;
      const [made, freed] = vlan ? ['VLAN_ALLOCATED', 'VLAN_RELEASED'] : ['ALLOCATED', 'RELEASED'];
      if (!a || (c.type !== made && c.type !== freed)) return undefined;
      if (only ? a.owner !== only : packageOf(a.owner) !== pkg || (pkg === '' && a.owner.includes(SCOPE_SEPARATOR))) return undefined;
      const ref = parseLocalOwner(localOwner(a.owner));
      return {
        header: {
          gvk: {
            ...CLAIM_GVK,
            ...(base.gvk?.group ? { group: base.gvk.group, version: base.gvk.version ?? CLAIM_GVK.version } : {}),
            ...(ref ? { kind: ref.kind } : {}),
          },
          nsn: ref ? { namespace: ref.namespace, name: ref.name } : { namespace: 'default', name: localOwner(a.owner) },
          ...(base.ownerGvk ? { ownerGvk: base.ownerGvk } : {}),
          ...(base.ownerNsn ? { ownerNsn: base.ownerNsn } : {}),
        },
        statusCode: c.type === made ? 'Valid' : 'InValid',
      };
    },
    'watch again and read the claims (GetClaim) to resync',
  );
}
