// resource.Resource: Nephio's later protocol. Claims and indexes travel as JSON.
import { status, type ServerWritableStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { authorizePackage } from '../auth.js';
import type { ClaimRequest, ClaimResponse, WatchClaimRequest, WatchClaimResponse } from '../../protocol/messages.js';
import { localOwner, packageOf, parseLocalOwner, SCOPE_SEPARATOR } from '../../protocol/owner.js';
import {
  CLAIM_GVK,
  INDEX_GVK,
  PREFIX_GVK,
  claimResponse,
  decodeClaim,
  decodeClaimHeader,
  decodeIndex,
  decodePrefixClaim,
  headerPackage,
} from '../../protocol/resource.js';
import { asPackage, StatusError, toServiceError } from '../../protocol/status.js';
import { ownInstance } from './alloc.js';
import { follow, unary, type ServiceContext } from './context.js';

const Empty = {};

export function resourceService(ctx: ServiceContext): UntypedServiceImplementation {
  const isPrefix = (r: ClaimRequest) => r.header?.gvk?.kind === PREFIX_GVK.kind;
  return {
    CreateIndex: unary<ClaimRequest, object>(ctx, 'resource.Resource/CreateIndex', async (r, p) => {
      const { id, ref, prefixes } = decodeIndex(r, ctx.limits);
      authorizePackage(p, id.package);
      return asPackage(id.package, async () => {
        await ctx.core.mutate((tx) => {
          ownInstance(tx, ref, id.owner);
          tx.applyNetworkInstance(ref, prefixes, id.owner);
        });
        return Empty;
      });
    }),
    DeleteIndex: unary<ClaimRequest, object>(ctx, 'resource.Resource/DeleteIndex', async (r, p) => {
      const id = decodeClaimHeader(r.header, ctx.limits, INDEX_GVK.kind);
      authorizePackage(p, id.package);
      const ref = { name: id.nsn.name, namespace: id.nsn.namespace };
      return asPackage(id.package, async () => {
        await ctx.core.mutate((tx) => {
          if (ownInstance(tx, ref, id.owner)) tx.removeNetworkInstance(ref);
        });
        return Empty;
      });
    }),
    Claim: unary<ClaimRequest, ClaimResponse>(ctx, 'resource.Resource/Claim', async (r, p) => {
      if (isPrefix(r)) {
        const { id, spec } = decodePrefixClaim(r, ctx.limits);
        authorizePackage(p, id.package);
        const info = await asPackage(id.package, () => ctx.core.mutate((tx) => tx.applyPrefix(spec)));
        return claimResponse(r, { prefix: info.prefix });
      }
      const { id, req } = decodeClaim(r, ctx.limits);
      authorizePackage(p, id.package);
      const a = await asPackage(id.package, () => ctx.core.mutate((tx) => tx.allocate(req)));
      return claimResponse(r, a);
    }),
    GetClaim: unary<ClaimRequest, ClaimResponse>(ctx, 'resource.Resource/GetClaim', async (r, p) => {
      // With a claim in spec: what Claim would answer, reserving nothing (Nephio's
      // "nephio.org/action: get" lookups). Without: what the owner holds.
      if (r.spec && r.spec.trim() !== '' && !isPrefix(r)) {
        const { id, req } = decodeClaim(r, ctx.limits);
        authorizePackage(p, id.package);
        const a = await asPackage(id.package, () => ctx.core.query((ipam) => ipam.dryRun(req)));
        return claimResponse(r, a);
      }
      const id = decodeClaimHeader(r.header, ctx.limits);
      authorizePackage(p, id.package);
      const held = await ctx.core.query((ipam) => ipam.getAllocations(id.owner));
      if (held.length === 0) throw new StatusError(status.NOT_FOUND, `claim ${id.nsn.namespace}/${id.nsn.name} holds nothing`);
      return claimResponse(r, held[0]!);
    }),
    DeleteClaim: unary<ClaimRequest, object>(ctx, 'resource.Resource/DeleteClaim', async (r, p) => {
      const id = decodeClaimHeader(r.header, ctx.limits, isPrefix(r) ? PREFIX_GVK.kind : CLAIM_GVK.kind);
      authorizePackage(p, id.package);
      await asPackage(id.package, () => ctx.core.mutate((tx) => tx.release(id.owner)));
      return Empty;
    }),
    WatchClaim: (call: ServerWritableStream<WatchClaimRequest, WatchClaimResponse>) => watchClaim(ctx, call),
  };
}

/**
 * Streams a WatchResponse whenever a claim of the caller's package changes: Valid when it
 * was (re)allocated, InValid when it was released (by the package or a forced removal).
 * With header.nsn.name set, only that claim.
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
  follow(
    ctx,
    call,
    (c): WatchClaimResponse | undefined => {
      const a = c.allocation;
      if (!a || (c.type !== 'ALLOCATED' && c.type !== 'RELEASED')) return undefined;
      if (only ? a.owner !== only : packageOf(a.owner) !== pkg || (pkg === '' && a.owner.includes(SCOPE_SEPARATOR))) return undefined;
      const ref = parseLocalOwner(localOwner(a.owner));
      return {
        header: {
          gvk: { ...CLAIM_GVK, ...(ref ? { kind: ref.kind } : {}) },
          nsn: ref ? { namespace: ref.namespace, name: ref.name } : { namespace: 'default', name: localOwner(a.owner) },
          ...(base.ownerGvk ? { ownerGvk: base.ownerGvk } : {}),
          ...(base.ownerNsn ? { ownerNsn: base.ownerNsn } : {}),
        },
        statusCode: c.type === 'ALLOCATED' ? 'Valid' : 'InValid',
      };
    },
    'watch again and read the claims (GetClaim) to resync',
  );
}
