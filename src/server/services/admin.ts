// ipaminjector.admin.v1.Admin: listing, space management, generic allocate/release, the
// per-package Batch the function uses, and Watch.
import { status, type ServerWritableStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Allocation, AllocationFilter, AllocationRequest } from '../../ipam/types.js';
import { authorizeOwner, authorizePackage, requireUnscoped, type Principal } from '../auth.js';
import { Tx, TxAbort } from '../core.js';
import { allocationFieldSize, batchResponseSize } from '../../protocol/batch-encoder.js';
import {
  fromWAllocationRequest,
  fromWInstancePrefixes,
  fromWPrefixSpec,
  fromWRef,
  toWAllocation,
  toWError,
  toWNetworkInstance,
  toWPrefix,
} from '../../protocol/admin.js';
import type {
  WAllocation,
  WAllocationRequest,
  WApplyNetworkInstanceRequest,
  WBatchRequest,
  WBatchResponse,
  WError,
  WEvent,
  WListAllocationsRequest,
  WListPrefixesRequest,
  WNetworkInstance,
  WOutcome,
  WPrefix,
  WPrefixSpec,
  WReleaseRequest,
  WRemoveNetworkInstanceRequest,
  WRemovePrefixRequest,
  WWatchRequest,
} from '../../protocol/messages.js';
import { localOwner, packageOf, scopedOwner, SCOPE_SEPARATOR } from '../../protocol/owner.js';
import { localizeError, StatusError, toServiceError } from '../../protocol/status.js';
import { applyNetworkSpace, asIpamError, readNetworks } from '../networks.js';
import { lookupAllocation } from '../../ipam/lookup-answer.js';
import { checkSelector, checkString, invalid } from '../../protocol/validate.js';
import { ownInstance } from './alloc.js';
import { follow, unary, type ServiceContext } from './context.js';
import { vlanAdminHandlers } from './vlan-admin.js';

/** Hands out event-loop turns one at a time, in request order (FIFO). */
class Turns {
  private readonly queue: (() => void)[] = [];
  private running = false;

  next(): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push(resolve);
      if (!this.running) {
        this.running = true;
        setImmediate(() => this.step());
      }
    });
  }

  private step(): void {
    const go = this.queue.shift();
    if (!go) {
      this.running = false;
      return;
    }
    go(); // the batch runs in this turn (its microtasks), the next one in a later turn
    setImmediate(() => this.step());
  }
}

export function adminService(ctx: ServiceContext): UntypedServiceImplementation {
  const batchTurns = new Turns();
  const L = ctx.limits;
  /** Scoped callers see only their own package's allocations. */
  const scopeFilter = (p: Principal, f: AllocationFilter): AllocationFilter => {
    if (p.scope === undefined) return f;
    const mine = `${p.scope}${SCOPE_SEPARATOR}`;
    if (f.owner) authorizeOwner(p, f.owner);
    if (f.ownerPrefix && !f.ownerPrefix.startsWith(mine)) return { ...f, ownerPrefix: mine, owner: '\u0000none' };
    return { ...f, ownerPrefix: f.ownerPrefix ?? mine };
  };
  return {
    ListNetworkInstances: unary<object, { networkInstances: WNetworkInstance[] }>(
      ctx,
      'ipaminjector.admin.v1.Admin/ListNetworkInstances',
      async () => ({
        networkInstances: (await ctx.core.query((ipam) => ipam.listNetworkInstances())).map(toWNetworkInstance),
      }),
    ),
    ListPrefixes: unary<WListPrefixesRequest, { prefixes: WPrefix[]; continue: string }>(
      ctx,
      'ipaminjector.admin.v1.Admin/ListPrefixes',
      async (r) => {
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
      },
    ),
    ListAllocations: unary<WListAllocationsRequest, { allocations: WAllocation[]; continue: string }>(
      ctx,
      'ipaminjector.admin.v1.Admin/ListAllocations',
      async (r, p) => {
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
      },
    ),
    ApplyNetworkInstance: unary<WApplyNetworkInstanceRequest, WNetworkInstance>(
      ctx,
      'ipaminjector.admin.v1.Admin/ApplyNetworkInstance',
      async (r, p) => {
        const ref = fromWRef(r.ref, 'ref', L)!;
        const owner = checkString(r.owner, 'owner', L, true);
        authorizeOwner(p, owner);
        const prefixes = fromWInstancePrefixes(r.prefixes, 'prefixes', L);
        const info = await ctx.core.mutate((tx) => {
          ownInstance(tx, ref, owner);
          return tx.applyNetworkInstance(ref, prefixes, owner);
        }, p.scope);
        return toWNetworkInstance(info);
      },
    ),
    RemoveNetworkInstance: unary<WRemoveNetworkInstanceRequest, { released: WAllocation[] }>(
      ctx,
      'ipaminjector.admin.v1.Admin/RemoveNetworkInstance',
      async (r, p) => {
        requireUnscoped(p, 'RemoveNetworkInstance');
        const ref = fromWRef(r.ref, 'ref', L)!;
        await ctx.core.mutate((tx) => tx.removeNetworkInstance(ref, { force: r.force ?? false }));
        return { released: [] };
      },
    ),
    ApplyPrefix: unary<WPrefixSpec, WPrefix>(ctx, 'ipaminjector.admin.v1.Admin/ApplyPrefix', async (r, p) => {
      const owner = checkString(r.owner, 'owner', L, true);
      authorizeOwner(p, owner);
      const spec = fromWPrefixSpec(r, 'prefix', L, owner);
      return toWPrefix(await ctx.core.mutate((tx) => tx.applyPrefix(spec), p.scope));
    }),
    RemovePrefix: unary<WRemovePrefixRequest, { released: WAllocation[] }>(
      ctx,
      'ipaminjector.admin.v1.Admin/RemovePrefix',
      async (r, p) => {
        requireUnscoped(p, 'RemovePrefix');
        const ni = fromWRef(r.networkInstance, 'networkInstance', L)!;
        const prefix = checkString(r.prefix, 'prefix', L, true);
        const freed = await ctx.core.mutate((tx) => tx.removePrefix(ni, prefix, { force: r.force ?? false }));
        return { released: freed.map((a) => toWAllocation(a)) };
      },
    ),
    Allocate: unary<WAllocationRequest, WAllocation>(ctx, 'ipaminjector.admin.v1.Admin/Allocate', async (r, p) => {
      const owner = checkString(r.owner, 'owner', L, true);
      authorizeOwner(p, owner);
      const req = fromWAllocationRequest(r, 'request', L, owner);
      const a = r.dryRun ? await ctx.core.query((ipam) => ipam.dryRun(req)) : await ctx.core.mutate((tx) => tx.allocate(req), p.scope);
      return toWAllocation(a);
    }),
    Release: unary<WReleaseRequest, { released: WAllocation[] }>(ctx, 'ipaminjector.admin.v1.Admin/Release', async (r, p) => {
      const owner = checkString(r.owner, 'owner', L, true);
      authorizeOwner(p, owner);
      const freed = await ctx.core.mutate((tx) => {
        // the owner's VLAN too (a VLAN claim's owner holds no address)
        tx.releaseVlan(owner, { force: r.force ?? false });
        return tx.release(owner, { force: r.force ?? false });
      }, p.scope);
      return { released: freed.map((a) => toWAllocation(a)) };
    }),
    Batch: unary<WBatchRequest, WBatchResponse>(ctx, 'ipaminjector.admin.v1.Admin/Batch', async (r, p) => {
      const pkg = checkString(r.package, 'package', L);
      authorizePackage(p, pkg);
      const size = (r.requests?.length ?? 0) + (r.prefixes?.length ?? 0) + (r.networkInstances?.length ?? 0) + (r.release?.length ?? 0);
      if (size > L.maxBatch) throw invalid('requests', `${size} items in one batch, at most ${L.maxBatch}`);
      // One batch per turn of the event loop: a burst of big batches read off the socket
      // together would otherwise run back to back, and the disk syncs that acknowledge them
      // (completed in the loop's poll phase) would wait behind the whole burst.
      await batchTurns.next();
      if (r.dryRun) {
        return ctx.core.query(() => {
          const res = runBatch(new Tx(ctx.core.scratch(), false, p.scope), pkg, r, L);
          const tooBig = oversize(res, L);
          if (tooBig) throw tooBig;
          return res;
        });
      }
      return ctx.core.mutate((tx) => {
        const res = runBatch(tx, pkg, r, L);
        const tooBig = oversize(res, L);
        if (tooBig) throw new TxAbort(tooBig); // nothing of the batch is committed
        return res;
      }, p.scope);
    }),
    Watch: (call: ServerWritableStream<WWatchRequest, WEvent>) => watch(ctx, call),
    ...vlanAdminHandlers(ctx),
  };
}

/**
 * Why a client could not read this answer, if it could not; checked before the batch commits.
 * grpc-js does not send the client's receive limit, so every answer is held to grpc's default,
 * the message limit (4 MiB): grpc-js would refuse a bigger one after the commit, and every
 * retry of it.
 */
function oversize(res: WBatchResponse, L: ServiceContext['limits']): StatusError | undefined {
  const size = batchResponseSize(res);
  if (size <= L.maxMessageBytes) return undefined;
  return new StatusError(
    status.RESOURCE_EXHAUSTED,
    `the answer would be ${size} bytes, over the ${L.maxMessageBytes} a gRPC client reads; nothing was committed: send fewer requests per batch`,
  );
}

const MAX_PAGE = 10_000;
/** Without a limit: a page a client with grpc's default 4 MiB receive limit can read (an
 *  allocation with its labels is well under 4 KiB); 10,000 of them were over 7 MiB. */
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
function page(r: { limit?: number; continue?: string }): { from: number; limit: number } {
  const from = r.continue ? Number(r.continue) : 0;
  if (!Number.isInteger(from) || from < 0) throw invalid('continue', `"${r.continue}" is not a token from a previous answer`);
  const limit = r.limit ? Math.min(r.limit, MAX_PAGE) : DEFAULT_PAGE;
  return { from, limit };
}

/** Whether an owner holds nothing yet: no allocation, and no prefix when the request defines one. */
function holdsNothing(tx: Tx, owner: string, req: AllocationRequest): boolean {
  if (tx.ipam.getAllocations(owner).length > 0) return false;
  return !(req.createPrefix && req.prefix) || !tx.ipam.listPrefixes(req.networkInstance).some((p) => p.owner === owner);
}

/**
 * All or nothing: what this batch newly took goes back, listed in `released`; the outcomes
 * still say what each request would have got (the caller fails the run as a whole).
 */
function undoFresh(tx: Tx, fresh: { i: number; owner: string }[], outcomes: WOutcome[], released: WAllocation[]): void {
  for (const { i, owner } of fresh) {
    if (!outcomes[i]!.allocation) continue;
    for (const a of tx.release(owner)) released.push(toWAllocation(a, localOwner(a.owner)));
  }
}

/** One package's whole run in one transaction: space, releases, requests, prune. */
function runBatch(tx: Tx, pkg: string, r: WBatchRequest, L: ServiceContext['limits']): WBatchResponse {
  const own = (o: string | undefined, field: string) => scopedOwner(pkg, checkString(o, field, L, true));
  const spaceErrors: WError[] = [];
  const released: WAllocation[] = [];
  const keep = new Set<string>();
  const attempt = (subject: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      spaceErrors.push(toWError(localizeError(e, pkg), subject));
    }
  };
  (r.networkInstances ?? []).forEach((n, i) =>
    attempt(`networkInstances[${i}]`, () => {
      const owner = own(n.owner, `networkInstances[${i}].owner`);
      keep.add(owner);
      const ref = fromWRef(n.ref, `networkInstances[${i}].ref`, L)!;
      ownInstance(tx, ref, owner);
      tx.applyNetworkInstance(ref, fromWInstancePrefixes(n.prefixes, `networkInstances[${i}].prefixes`, L), owner);
    }),
  );
  // Parents before children (aggregates, then shorter prefixes), as the builtin backend
  // does, so that the prefix breaking a nesting rule is the one reported.
  const prefixes = (r.prefixes ?? []).map((ps, i) => ({ ps, i }));
  const rank = (p: WPrefixSpec) => (p.kind === 'aggregate' ? 0 : 1);
  const len = (p: WPrefixSpec) => Number((p.prefix ?? '').split('/')[1] ?? 128);
  prefixes.sort((a, b) => rank(a.ps) - rank(b.ps) || len(a.ps) - len(b.ps) || a.i - b.i);
  prefixes.forEach(({ ps, i }) =>
    attempt(`prefixes[${i}]`, () => {
      const owner = own(ps.owner, `prefixes[${i}].owner`);
      keep.add(owner);
      tx.applyPrefix(fromWPrefixSpec(ps, `prefixes[${i}]`, L, owner));
    }),
  );
  if (r.networks?.length) {
    const read = readNetworks(r.networks);
    for (const e of read.errors) spaceErrors.push(toWError(e.error, `networks[${e.i}]`));
    const clusters = (r.clusters ?? []).map((name) => ({ name, owner: pkg }));
    for (const e of applyNetworkSpace(tx, read.networks, clusters))
      spaceErrors.push(toWError(asIpamError(e.error), `networks[${read.index.get(e.owner) ?? 0}]`));
  }
  (r.release ?? []).forEach((o, i) =>
    attempt(`release[${i}]`, () => {
      for (const a of tx.release(own(o, `release[${i}]`))) released.push(toWAllocation(a, localOwner(a.owner)));
    }),
  );
  // Requests in the builtin backend's passes (a re-run gives back what the package holds):
  // static (prefix), then sticky (hint), then new, then read-only lookups.
  const requests = r.requests ?? [];
  const pass = (w: WAllocationRequest) => (w.dryRun ? 3 : w.prefix ? 0 : w.hint ? 1 : 2);
  const order = requests.map((_, i) => i).sort((a, b) => pass(requests[a]!) - pass(requests[b]!) || a - b);
  const outcomes: WOutcome[] = new Array(requests.length);
  const fresh: { i: number; owner: string }[] = [];
  for (const i of order) {
    const w = requests[i]!;
    try {
      const owner = own(w.owner, `requests[${i}].owner`);
      if (!w.dryRun) keep.add(owner);
      const req = fromWAllocationRequest(w, `requests[${i}]`, L, owner);
      if (r.atomic && !w.dryRun && holdsNothing(tx, owner, req)) fresh.push({ i, owner });
      const a = w.dryRun ? lookupAllocation(tx.ipam, req) : tx.allocate(req);
      outcomes[i] = {
        allocation: r.compact
          ? {
              addressFamily: a.addressFamily,
              prefix: a.prefix,
              gateway: a.gateway ?? '',
              parent: a.parent,
              labels: a.labels as Record<string, string>,
            }
          : toWAllocation(a, localOwner(a.owner)),
      };
    } catch (e) {
      outcomes[i] = { error: toWError(localizeError(e, pkg), `requests[${i}]`) };
    }
  }
  if (r.atomic && (spaceErrors.length > 0 || outcomes.some((o) => o.error))) undoFresh(tx, fresh, outcomes, released);
  if (r.prune && pkg) {
    const mine = `${pkg}${SCOPE_SEPARATOR}`;
    const stale = new Set<string>();
    for (const a of tx.ipam.listAllocations({ ownerPrefix: mine })) if (!keep.has(a.owner)) stale.add(a.owner);
    for (const pi of tx.ipam.listPrefixes()) if (packageOf(pi.owner) === pkg && !keep.has(pi.owner)) stale.add(pi.owner);
    // Innermost first: allocations, then prefixes, then network instances (which need to be
    // empty of other owners' prefixes when they go).
    const niOwners = new Set(tx.ipam.listNetworkInstances().map((n) => n.owner));
    for (const n of tx.ipam.listNetworkInstances()) if (packageOf(n.owner) === pkg && !keep.has(n.owner)) stale.add(n.owner);
    const ordered = [...stale].sort((a, b) => Number(niOwners.has(a)) - Number(niOwners.has(b)));
    for (const owner of ordered) {
      attempt(`prune ${localOwner(owner)}`, () => {
        for (const a of tx.release(owner)) released.push(toWAllocation(a, localOwner(a.owner)));
      });
    }
  }
  return { outcomes, spaceErrors, released };
}

function watch(ctx: ServiceContext, call: ServerWritableStream<WWatchRequest, WEvent>): void {
  let filterNi: string | undefined;
  let ownerPrefix: string;
  try {
    const p = ctx.auth.authenticate(call.metadata, call);
    const ni = fromWRef(call.request.networkInstance, 'networkInstance', ctx.limits, false);
    filterNi = ni ? `${ni.namespace}/${ni.name}` : undefined;
    ownerPrefix = checkString(call.request.ownerPrefix, 'ownerPrefix', ctx.limits);
    if (p.scope !== undefined) {
      const mine = `${p.scope}${SCOPE_SEPARATOR}`;
      if (!ownerPrefix.startsWith(mine)) ownerPrefix = mine;
    }
  } catch (e) {
    call.emit('error', toServiceError(e));
    return;
  }
  const matches = (a: Allocation) =>
    (!filterNi || `${a.networkInstance.namespace}/${a.networkInstance.name}` === filterNi) && a.owner.startsWith(ownerPrefix);
  // Subscribe first, then list: a change between the two shows up twice rather than never.
  const out = follow(
    ctx,
    call,
    (c): WEvent | undefined => {
      if (c.vlan || c.vlanIndex) return undefined; // VLAN changes: ListVlanClaims
      if (c.allocation && !matches(c.allocation)) return undefined;
      if (!c.allocation && ownerPrefix) return undefined; // space events only for unfiltered watchers
      const pn = c.prefix?.networkInstance ?? c.networkInstance;
      if (!c.allocation && filterNi && pn && `${pn.namespace}/${pn.name}` !== filterNi) return undefined;
      return {
        seq: String(c.seq),
        type: c.type,
        ...(c.allocation ? { allocation: toWAllocation(c.allocation) } : {}),
        ...(c.prefix ? { prefix: toWPrefix(c.prefix) } : {}),
        ...(c.networkInstance ? { networkInstance: toWNetworkInstance(c.networkInstance) } : {}),
      };
    },
    'watch again (initial=true) to resync',
  );
  if (call.request.initial) {
    ctx.core
      .query((ipam) => ipam.listAllocations({ ...(ownerPrefix ? { ownerPrefix } : {}) }).filter(matches))
      .then((list) => out.sendListing(listingEvents(list), { seq: '0', type: 'SYNCED' }))
      .catch((e) => out.fail(toServiceError(e)));
  }
}

/** Each allocation of a Watch's initial listing as an event, built as it is sent. */
function* listingEvents(list: readonly Allocation[]): Generator<WEvent> {
  for (const a of list) yield { seq: '0', type: 'ALLOCATED', allocation: toWAllocation(a) };
}
