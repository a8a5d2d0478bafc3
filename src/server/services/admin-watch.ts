// Watch of ipaminjector.admin.v1.Admin: allocation changes (and, for an unfiltered watcher,
// space changes) as they become durable, after an optional listing of what is held now.
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { Allocation } from '../../ipam/types.js';
import type { Principal } from '../auth.js';
import type { Change } from '../core.js';
import { fromWRef, toWAllocation, toWNetworkInstance, toWPrefix } from '../../protocol/admin.js';
import type { WEvent, WWatchRequest } from '../../protocol/messages.js';
import { SCOPE_SEPARATOR } from '../../protocol/owner.js';
import { toServiceError } from '../../protocol/status.js';
import { checkString } from '../../protocol/validate.js';
import { follow, type ServiceContext } from './context.js';

/** What a watcher asked to see: one network instance ("namespace/name") and an owner prefix
 *  (a scoped caller's is always inside its package). */
interface WatchFilter {
  networkInstance: string | undefined;
  ownerPrefix: string;
}

export function watch(ctx: ServiceContext, call: ServerWritableStream<WWatchRequest, WEvent>, p: Principal): void {
  const filter = watchFilter(ctx, call.request, p);
  const matches = (a: Allocation) =>
    (!filter.networkInstance || `${a.networkInstance.namespace}/${a.networkInstance.name}` === filter.networkInstance) &&
    a.owner.startsWith(filter.ownerPrefix);
  // Subscribe first, then list: a change between the two shows up twice rather than never.
  const out = follow(ctx, call, (c) => watchEvent(c, filter, matches), 'watch again (initial=true) to resync');
  if (call.request.initial) {
    const { ownerPrefix } = filter;
    ctx.core
      .query((ipam) => ipam.listAllocations({ ...(ownerPrefix ? { ownerPrefix } : {}) }).filter(matches))
      .then((list) => out.sendListing(listingEvents(list), { seq: '0', type: 'SYNCED' }))
      .catch((e) => out.fail(toServiceError(e)));
  }
}

function watchFilter(ctx: ServiceContext, r: WWatchRequest, p: Principal): WatchFilter {
  const ni = fromWRef(r.networkInstance, 'networkInstance', ctx.limits, false);
  let ownerPrefix = checkString(r.ownerPrefix, 'ownerPrefix', ctx.limits);
  if (p.scope !== undefined) {
    const mine = `${p.scope}${SCOPE_SEPARATOR}`;
    if (!ownerPrefix.startsWith(mine)) ownerPrefix = mine;
  }
  return { networkInstance: ni ? `${ni.namespace}/${ni.name}` : undefined, ownerPrefix };
}

/** The event a change is for this watcher, if any. */
function watchEvent(c: Change, f: WatchFilter, matches: (a: Allocation) => boolean): WEvent | undefined {
  if (c.vlan || c.vlanIndex) return undefined; // VLAN changes: ListVlanClaims
  if (c.allocation && !matches(c.allocation)) return undefined;
  if (!c.allocation && f.ownerPrefix) return undefined; // space events only for unfiltered watchers
  const pn = c.prefix?.networkInstance ?? c.networkInstance;
  if (!c.allocation && f.networkInstance && pn && `${pn.namespace}/${pn.name}` !== f.networkInstance) return undefined;
  return {
    seq: String(c.seq),
    type: c.type,
    ...(c.allocation ? { allocation: toWAllocation(c.allocation) } : {}),
    ...(c.prefix ? { prefix: toWPrefix(c.prefix) } : {}),
    ...(c.networkInstance ? { networkInstance: toWNetworkInstance(c.networkInstance) } : {}),
  };
}

/** Each allocation of a Watch's initial listing as an event, built as it is sent. */
function* listingEvents(list: readonly Allocation[]): Generator<WEvent> {
  for (const a of list) yield { seq: '0', type: 'ALLOCATED', allocation: toWAllocation(a) };
}
