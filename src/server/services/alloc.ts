// alloc.Allocation: the original protocol. Allocation allocates (or, with Request.kind
// IPPrefix / NetworkInstance, applies space); DeAllocation releases what the owner holds.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { IpamError } from '../../ipam/errors.js';
import type { InstancePrefix, NetworkInstanceRef } from '../../ipam/types.js';
import { authorizePackage, type Principal } from '../auth.js';
import type { Tx } from '../core.js';
import { decodeAllocOwner, decodeAllocRequest, ALLOC_KIND_NETWORK_INSTANCE, type AllocIntent } from '../../protocol/alloc.js';
import type { AllocRequest, AllocResponse } from '../../protocol/messages.js';
import { asPackage } from '../../protocol/status.js';
import { SERVICE_NAMES } from '../../protocol/load.js';
import { implement, type ServiceContext } from './context.js';

export function allocService(ctx: ServiceContext): UntypedServiceImplementation {
  return implement(ctx, SERVICE_NAMES.alloc, { unary: { Allocation: allocation, DeAllocation: deAllocation } });
}

async function allocation(ctx: ServiceContext, r: AllocRequest, p: Principal): Promise<AllocResponse> {
  const intent = decodeAllocRequest(r, ctx.limits);
  authorizePackage(p, intent.package);
  return asPackage(intent.package, () => allocate(ctx, intent, p.scope));
}

async function deAllocation(ctx: ServiceContext, r: AllocRequest, p: Principal): Promise<AllocResponse> {
  const who = decodeAllocOwner(r, ctx.limits);
  authorizePackage(p, who.package);
  return asPackage(who.package, () => deallocate(ctx, who, r));
}

async function allocate(ctx: ServiceContext, intent: AllocIntent, scope: string | undefined): Promise<AllocResponse> {
  switch (intent.type) {
    case 'allocate': {
      const a = await ctx.core.allocate(intent.req);
      return a.gateway ? { allocatedPrefix: a.prefix, gateway: a.gateway } : { allocatedPrefix: a.prefix };
    }
    case 'prefix': {
      const info = await ctx.core.mutate((tx) => tx.applyPrefix(intent.spec), scope);
      return { allocatedPrefix: info.prefix };
    }
    case 'networkInstance': {
      const { ref, owner, prefix } = intent;
      if (!prefix)
        throw new IpamError('InvalidArgument', 'spec.prefix: an aggregate prefix of the network instance is required', {
          field: 'spec.prefix',
        });
      await ctx.core.mutate((tx) => mergeInstancePrefix(tx, ref, owner, prefix), scope);
      return { allocatedPrefix: prefix.prefix };
    }
  }
}

async function deallocate(ctx: ServiceContext, who: ReturnType<typeof decodeAllocOwner>, r: AllocRequest): Promise<AllocResponse> {
  if (who.kind === ALLOC_KIND_NETWORK_INSTANCE) {
    // With spec.prefix: drop that aggregate from the instance; without: the instance.
    const ref = { name: who.name, namespace: who.namespace };
    const prefix = r.spec?.prefix;
    await ctx.core.mutate((tx) => {
      const ni = ownInstance(tx, ref, who.owner);
      if (!ni) return;
      if (prefix)
        tx.applyNetworkInstance(
          ref,
          ni.prefixes.filter((x) => x.prefix !== prefix),
          who.owner,
        );
      else tx.removeNetworkInstance(ref);
    });
    return {};
  }
  await ctx.core.mutate((tx) => tx.release(who.owner));
  return {};
}

/** The instance if it exists and `owner` owns it; an error if another owner does. */
export function ownInstance(tx: Tx, ref: NetworkInstanceRef, owner: string) {
  const ni = tx.ipam.listNetworkInstances().find((n) => n.name === ref.name && n.namespace === (ref.namespace || 'default'));
  if (ni && ni.owner !== owner) {
    throw new IpamError('AlreadyExists', `network instance ${ni.namespace}/${ni.name} is owned by ${ni.owner}`, {
      networkInstance: `${ni.namespace}/${ni.name}`,
    });
  }
  return ni;
}

/** alloc carries one aggregate per call: add it to the instance's list (or update its labels). */
function mergeInstancePrefix(tx: Tx, ref: NetworkInstanceRef, owner: string, prefix: InstancePrefix): void {
  const ni = ownInstance(tx, ref, owner);
  const prefixes = (ni?.prefixes ?? []).filter((x) => x.prefix !== prefix.prefix);
  tx.applyNetworkInstance(ref, [...prefixes, prefix], owner);
}
