// The listing rpcs of ipaminjector.admin.v1.Admin, in pages a client can read: network
// instances, prefixes (with their utilization on request) and allocations. Scoped callers see
// only their own package's allocations.
import type { AllocationFilter } from '../../ipam/types.js';
import { authorizeOwner, type Principal } from '../auth.js';
import { allocationFieldSize } from '../../protocol/batch-encoder.js';
import { fromWRef, toWAllocation, toWNetworkInstance, toWPrefix } from '../../protocol/admin.js';
import type { WAllocation, WListAllocationsRequest, WListPrefixesRequest, WNetworkInstance, WPrefix } from '../../protocol/messages.js';
import { SCOPE_SEPARATOR } from '../../protocol/owner.js';
import { checkSelector, checkString, invalid } from '../../protocol/validate.js';
import type { ServiceContext } from './context.js';

export async function listNetworkInstances(ctx: ServiceContext): Promise<{ networkInstances: WNetworkInstance[] }> {
  return { networkInstances: (await ctx.core.query((ipam) => ipam.listNetworkInstances())).map(toWNetworkInstance) };
}

export async function listPrefixes(ctx: ServiceContext, r: WListPrefixesRequest): Promise<{ prefixes: WPrefix[]; continue: string }> {
  const L = ctx.limits;
  const ni = fromWRef(r.networkInstance, 'networkInstance', L, false);
  const { from, limit } = page(r);
  let more = '';
  const prefixes = await ctx.core.query((ipam) => {
    const all = ipam.listPrefixes(ni);
    const page = all.slice(from, from + limit).map((pi) => {
      if (!r.utilization) return toWPrefix(pi);
      let u;
      try {
        u = ipam.utilization(pi.networkInstance, pi.prefix);
      } catch {
        u = undefined;
      }
      return toWPrefix(pi, u);
    });
    const fit = fitPage(page, jsonSize, L);
    if (from + fit.length < all.length) more = String(from + fit.length);
    return fit;
  });
  return { prefixes, continue: more };
}

export async function listAllocations(
  ctx: ServiceContext,
  r: WListAllocationsRequest,
  p: Principal,
): Promise<{ allocations: WAllocation[]; continue: string }> {
  const L = ctx.limits;
  const { from, limit } = page(r);
  const ni = fromWRef(r.networkInstance, 'networkInstance', L, false);
  const selector = checkSelector(r.selector, 'selector', L);
  const owner = checkString(r.owner, 'owner', L);
  const ownerPrefix = checkString(r.ownerPrefix, 'ownerPrefix', L);
  const filter = scopeFilter(p, {
    ...(ni ? { networkInstance: ni } : {}),
    ...(owner ? { owner } : {}),
    ...(ownerPrefix ? { ownerPrefix } : {}),
    ...(selector ? { selector } : {}),
  });
  // One more than the page tells whether another page follows.
  const list = await ctx.core.query((ipam) => ipam.listAllocations({ ...filter, offset: from, limit: limit + 1 }));
  const allocations = fitPage(
    list.slice(0, limit).map((a) => toWAllocation(a)),
    allocationFieldSize,
    L,
  );
  const more = list.length > allocations.length;
  return { allocations, continue: more ? String(from + allocations.length) : '' };
}

/** Scoped callers see only their own package's allocations. */
function scopeFilter(p: Principal, f: AllocationFilter): AllocationFilter {
  if (p.scope === undefined) return f;
  const mine = `${p.scope}${SCOPE_SEPARATOR}`;
  if (f.owner) authorizeOwner(p, f.owner);
  if (f.ownerPrefix && !f.ownerPrefix.startsWith(mine)) return { ...f, ownerPrefix: mine, owner: '\u0000none' };
  return { ...f, ownerPrefix: f.ownerPrefix ?? mine };
}

const MAX_PAGE = 10_000;
/** Without a limit: a page a client with grpc's default 4 MiB receive limit can read (an
 *  allocation with its labels is well under 4 KiB, so 1,000 of them fit with room to spare). */
const DEFAULT_PAGE = 1_000;

/** Room for a list answer's other fields (the continue token). */
const LIST_SLACK = 1024;

/** The longest head of `items` whose answer fits the message limit (at least one item). */
function fitPage<T>(items: T[], size: (item: T) => number, L: ServiceContext['limits']): T[] {
  let total = LIST_SLACK;
  for (let i = 0; i < items.length; i++) {
    total += size(items[i]!);
    if (total > L.maxMessageBytes) return items.slice(0, Math.max(1, i));
  }
  return items;
}

/** An upper bound of a small message's protobuf size: its JSON text is never shorter. */
const jsonSize = (m: unknown): number => Buffer.byteLength(JSON.stringify(m));

/** A list page: where it starts (the previous answer's `continue`) and how long it is. */
export function page(r: { limit?: number; continue?: string }): { from: number; limit: number } {
  const from = r.continue ? Number(r.continue) : 0;
  if (!Number.isInteger(from) || from < 0) throw invalid('continue', `"${r.continue}" is not a token from a previous answer`);
  const limit = r.limit ? Math.min(r.limit, MAX_PAGE) : DEFAULT_PAGE;
  return { from, limit };
}
