// A lookup's match (Ipam.lookup) answered the way an allocation is: what a request with
// `nephio.org/action: get` receives. Nothing is reserved; the owner is the asking request.
import { canonicalPrefix } from './addr.js';
import type { Allocation, AllocationRequest, Ipam } from './types.js';

export function lookupAllocation(ipam: Pick<Ipam, 'lookup'>, req: AllocationRequest): Allocation {
  const m = ipam.lookup(req.networkInstance, req.selector ?? {});
  return {
    owner: req.owner,
    networkInstance: m.networkInstance,
    kind: m.kind,
    addressFamily: m.addressFamily,
    prefix: m.prefix,
    ...(m.gateway ? { gateway: m.gateway } : {}),
    parent: canonicalPrefix(m.prefix),
    labels: m.labels,
  };
}
