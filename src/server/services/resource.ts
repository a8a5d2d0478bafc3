// resource.Resource: Nephio's later protocol. Whole objects travel as JSON; header.gvk's
// group picks the claim backend (claims.ts), as in the original's server proxy.
import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { authorizePackage } from '../auth.js';
import type { ClaimRequest, ClaimResponse, WatchClaimRequest, WatchClaimResponse } from '../../protocol/messages.js';
import { localOwner, packageOf, parseLocalOwner, SCOPE_SEPARATOR } from '../../protocol/owner.js';
import { CLAIM_GVK, decodeClaimHeader, headerPackage } from '../../protocol/resource.js';
import { toServiceError } from '../../protocol/status.js';
import { backendFor, type ClaimBackends } from './claims.js';
import { follow, unary, type ServiceContext } from './context.js';
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

export function claimService(ctx: ServiceContext, backends: ClaimBackends, n: ClaimRpcNames): UntypedServiceImplementation {
  const m = (rpc: string) => `${n.service}/${rpc}`;
  return {
    [n.createIndex]: unary<ClaimRequest, object>(ctx, m(n.createIndex), async (r, p) => {
      await backendFor(backends, r).createIndex(r, p);
      return Empty;
    }),
    [n.deleteIndex]: unary<ClaimRequest, object>(ctx, m(n.deleteIndex), async (r, p) => {
      await backendFor(backends, r).deleteIndex(r, p);
      return Empty;
    }),
    [n.claim]: unary<ClaimRequest, ClaimResponse>(ctx, m(n.claim), (r, p) => backendFor(backends, r).claim(r, p)),
    [n.getClaim]: unary<ClaimRequest, ClaimResponse>(ctx, m(n.getClaim), (r, p) => backendFor(backends, r).getClaim(r, p)),
    [n.deleteClaim]: unary<ClaimRequest, object>(ctx, m(n.deleteClaim), async (r, p) => {
      await backendFor(backends, r).deleteClaim(r, p);
      return Empty;
    }),
    [n.watch]: (call: ServerWritableStream<WatchClaimRequest, WatchClaimResponse>) => watchClaim(ctx, call),
  };
}

/**
 * Streams a WatchResponse whenever a claim of the caller's package changes: Valid when it
 * was (re)allocated, InValid when it was released (by the package or a forced removal).
 * With header.nsn.name set, only that claim. header.gvk's group picks IP or VLAN claims.
 */
function watchClaim(ctx: ServiceContext, call: ServerWritableStream<WatchClaimRequest, WatchClaimResponse>): void {
  let pkg: string;
  let only: string | undefined;
  try {
    const p = ctx.auth.authenticate(call.metadata, call);
    const h = call.request.header;
    pkg = headerPackage(h);
    authorizePackage(p, pkg);
    if (h?.nsn?.name) only = decodeClaimHeader(h, ctx.limits).owner;
  } catch (e) {
    call.emit('error', toServiceError(e));
    return;
  }
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
