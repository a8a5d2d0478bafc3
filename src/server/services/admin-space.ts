// The rpcs of ipaminjector.admin.v1.Admin that change one thing at a time: network instances,
// prefixes, and generic allocate/release. A scoped caller acts only for owners of its package;
// removing space needs an unscoped one.
import { authorizeOwner, requireUnscoped, type Principal } from '../auth.js';
import {
  fromWAllocationRequest,
  fromWInstancePrefixes,
  fromWPrefixSpec,
  fromWRef,
  toWAllocation,
  toWNetworkInstance,
  toWPrefix,
} from '../../protocol/admin.js';
import type {
  WAllocation,
  WAllocationRequest,
  WApplyNetworkInstanceRequest,
  WNetworkInstance,
  WPrefix,
  WPrefixSpec,
  WReleaseRequest,
  WRemoveNetworkInstanceRequest,
  WRemovePrefixRequest,
} from '../../protocol/messages.js';
import { checkString } from '../../protocol/validate.js';
import { ownInstance } from './alloc.js';
import type { ServiceContext } from './context.js';

export async function applyNetworkInstance(ctx: ServiceContext, r: WApplyNetworkInstanceRequest, p: Principal): Promise<WNetworkInstance> {
  const L = ctx.limits;
  const ref = fromWRef(r.ref, 'ref', L)!;
  const owner = checkString(r.owner, 'owner', L, true);
  authorizeOwner(p, owner);
  const prefixes = fromWInstancePrefixes(r.prefixes, 'prefixes', L);
  const info = await ctx.core.mutate((tx) => {
    ownInstance(tx, ref, owner);
    return tx.applyNetworkInstance(ref, prefixes, owner);
  }, p.scope);
  return toWNetworkInstance(info);
}

export async function removeNetworkInstance(
  ctx: ServiceContext,
  r: WRemoveNetworkInstanceRequest,
  p: Principal,
): Promise<{ released: WAllocation[] }> {
  requireUnscoped(p, 'RemoveNetworkInstance');
  const ref = fromWRef(r.ref, 'ref', ctx.limits)!;
  await ctx.core.mutate((tx) => tx.removeNetworkInstance(ref, { force: r.force ?? false }));
  return { released: [] };
}

export async function applyPrefix(ctx: ServiceContext, r: WPrefixSpec, p: Principal): Promise<WPrefix> {
  const owner = checkString(r.owner, 'owner', ctx.limits, true);
  authorizeOwner(p, owner);
  const spec = fromWPrefixSpec(r, 'prefix', ctx.limits, owner);
  return toWPrefix(await ctx.core.mutate((tx) => tx.applyPrefix(spec), p.scope));
}

export async function removePrefix(ctx: ServiceContext, r: WRemovePrefixRequest, p: Principal): Promise<{ released: WAllocation[] }> {
  requireUnscoped(p, 'RemovePrefix');
  const ni = fromWRef(r.networkInstance, 'networkInstance', ctx.limits)!;
  const prefix = checkString(r.prefix, 'prefix', ctx.limits, true);
  const freed = await ctx.core.mutate((tx) => tx.removePrefix(ni, prefix, { force: r.force ?? false }));
  return { released: freed.map((a) => toWAllocation(a)) };
}

export async function allocate(ctx: ServiceContext, r: WAllocationRequest, p: Principal): Promise<WAllocation> {
  const owner = checkString(r.owner, 'owner', ctx.limits, true);
  authorizeOwner(p, owner);
  const req = fromWAllocationRequest(r, 'request', ctx.limits, owner);
  const a = r.dryRun ? await ctx.core.query((ipam) => ipam.dryRun(req)) : await ctx.core.mutate((tx) => tx.allocate(req), p.scope);
  return toWAllocation(a);
}

export async function release(ctx: ServiceContext, r: WReleaseRequest, p: Principal): Promise<{ released: WAllocation[] }> {
  const owner = checkString(r.owner, 'owner', ctx.limits, true);
  authorizeOwner(p, owner);
  const freed = await ctx.core.mutate((tx) => {
    // the owner's VLAN too (a VLAN claim's owner holds no address)
    tx.releaseVlan(owner, { force: r.force ?? false });
    return tx.release(owner, { force: r.force ?? false });
  }, p.scope);
  return { released: freed.map((a) => toWAllocation(a)) };
}
