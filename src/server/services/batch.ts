// Batch of ipaminjector.admin.v1.Admin: one package's whole run (space, releases, requests,
// prune) in one transaction, as the function's grpc backend sends it.
import { status } from '@grpc/grpc-js';
import type { AllocationRequest } from '../../ipam/types.js';
import { authorizePackage, type Principal } from '../auth.js';
import { Tx, TxAbort } from '../core.js';
import { batchResponseSize } from '../../protocol/batch-encoder.js';
import { fromWAllocationRequest, fromWInstancePrefixes, fromWPrefixSpec, fromWRef, toWAllocation, toWError } from '../../protocol/admin.js';
import type {
  WAllocation,
  WAllocationRequest,
  WBatchRequest,
  WBatchResponse,
  WError,
  WApplyNetworkInstanceRequest,
  WOutcome,
  WPrefixSpec,
} from '../../protocol/messages.js';
import { localOwner, packageOf, scopedOwner, SCOPE_SEPARATOR } from '../../protocol/owner.js';
import { localizeError, StatusError } from '../../protocol/status.js';
import { applyNetworkSpace, asIpamError, readNetworks } from '../networks.js';
import { lookupAllocation } from '../../ipam/lookup-answer.js';
import { checkString, invalid, type Limits } from '../../protocol/validate.js';
import { ownInstance } from './alloc.js';
import type { ServiceContext, UnaryHandler } from './context.js';

/** Hands out event-loop turns one at a time, in request order (FIFO). */
export class Turns {
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

/** The Batch handler; batches take `turns` one at a time. */
export function batchHandler(turns: Turns): UnaryHandler<WBatchRequest, WBatchResponse> {
  return async (ctx: ServiceContext, r: WBatchRequest, p: Principal) => {
    const L = ctx.limits;
    const pkg = checkString(r.package, 'package', L);
    authorizePackage(p, pkg);
    const size = (r.requests?.length ?? 0) + (r.prefixes?.length ?? 0) + (r.networkInstances?.length ?? 0) + (r.release?.length ?? 0);
    if (size > L.maxBatch) throw invalid('requests', `${size} items in one batch, at most ${L.maxBatch}`);
    // One batch per turn of the event loop: a burst of big batches read off the socket
    // together would otherwise run back to back, and the disk syncs that acknowledge them
    // (completed in the loop's poll phase) would wait behind the whole burst.
    await turns.next();
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
  };
}

/**
 * Why a client could not read this answer, if it could not; checked before the batch commits.
 * grpc-js does not send the client's receive limit, so every answer is held to grpc's default,
 * the message limit (4 MiB): grpc-js would refuse a bigger one after the commit, and every
 * retry of it.
 */
function oversize(res: WBatchResponse, L: Limits): StatusError | undefined {
  const size = batchResponseSize(res);
  if (size <= L.maxMessageBytes) return undefined;
  return new StatusError(
    status.RESOURCE_EXHAUSTED,
    `the answer would be ${size} bytes, over the ${L.maxMessageBytes} a gRPC client reads; nothing was committed: send fewer requests per batch`,
  );
}

/** A batch being run: its package and transaction, and what the steps collect. */
interface BatchRun {
  tx: Tx;
  pkg: string;
  L: Limits;
  spaceErrors: WError[];
  released: WAllocation[];
  /** Owners the batch names: what prune keeps. */
  keep: Set<string>;
}

/** A request that newly took something (undone when an atomic batch fails). */
interface Fresh {
  i: number;
  owner: string;
}

/** One package's whole run in one transaction: space, releases, requests, prune. */
function runBatch(tx: Tx, pkg: string, r: WBatchRequest, L: Limits): WBatchResponse {
  const run: BatchRun = { tx, pkg, L, spaceErrors: [], released: [], keep: new Set() };
  applyInstances(run, r.networkInstances ?? []);
  applyPrefixes(run, r.prefixes ?? []);
  if (r.networks?.length) applyNetworks(run, r.networks, r.clusters ?? []);
  releaseListed(run, r.release ?? []);
  const { outcomes, fresh } = runRequests(run, r);
  if (r.atomic && (run.spaceErrors.length > 0 || outcomes.some((o) => o.error))) undoFresh(run, fresh, outcomes);
  if (r.prune && pkg) prune(run);
  return { outcomes, spaceErrors: run.spaceErrors, released: run.released };
}

/** The owner a batch item names, in the batch's package. */
const own = (run: BatchRun, o: string | undefined, field: string): string => scopedOwner(run.pkg, checkString(o, field, run.L, true));

/** Runs one space step; what it throws is that item's error, and the batch goes on. */
function attempt(run: BatchRun, subject: string, f: () => void): void {
  try {
    f();
  } catch (e) {
    run.spaceErrors.push(toWError(localizeError(e, run.pkg), subject));
  }
}

/** Releases `owner`'s allocations, listing them in the answer. */
function releaseOwner(run: BatchRun, owner: string): void {
  for (const a of run.tx.release(owner)) run.released.push(toWAllocation(a, localOwner(a.owner)));
}

function applyInstances(run: BatchRun, instances: WApplyNetworkInstanceRequest[]): void {
  const { tx, L } = run;
  instances.forEach((n, i) =>
    attempt(run, `networkInstances[${i}]`, () => {
      const owner = own(run, n.owner, `networkInstances[${i}].owner`);
      run.keep.add(owner);
      const ref = fromWRef(n.ref, `networkInstances[${i}].ref`, L)!;
      ownInstance(tx, ref, owner);
      tx.applyNetworkInstance(ref, fromWInstancePrefixes(n.prefixes, `networkInstances[${i}].prefixes`, L), owner);
    }),
  );
}

/** Parents before children (aggregates, then shorter prefixes), as the builtin backend does,
 *  so that the prefix breaking a nesting rule is the one reported. */
function applyPrefixes(run: BatchRun, specs: WPrefixSpec[]): void {
  const prefixes = specs.map((ps, i) => ({ ps, i }));
  const rank = (p: WPrefixSpec) => (p.kind === 'aggregate' ? 0 : 1);
  const len = (p: WPrefixSpec) => Number((p.prefix ?? '').split('/')[1] ?? 128);
  prefixes.sort((a, b) => rank(a.ps) - rank(b.ps) || len(a.ps) - len(b.ps) || a.i - b.i);
  prefixes.forEach(({ ps, i }) =>
    attempt(run, `prefixes[${i}]`, () => {
      const owner = own(run, ps.owner, `prefixes[${i}].owner`);
      run.keep.add(owner);
      run.tx.applyPrefix(fromWPrefixSpec(ps, `prefixes[${i}]`, run.L, owner));
    }),
  );
}

/** Nephio Network resources and the package's WorkloadClusters. */
function applyNetworks(run: BatchRun, networks: string[], clusterNames: string[]): void {
  const read = readNetworks(networks);
  for (const e of read.errors) run.spaceErrors.push(toWError(e.error, `networks[${e.i}]`));
  const clusters = clusterNames.map((name) => ({ name, owner: run.pkg }));
  for (const e of applyNetworkSpace(run.tx, read.networks, clusters))
    run.spaceErrors.push(toWError(asIpamError(e.error), `networks[${read.index.get(e.owner) ?? 0}]`));
}

function releaseListed(run: BatchRun, owners: string[]): void {
  owners.forEach((o, i) => attempt(run, `release[${i}]`, () => releaseOwner(run, own(run, o, `release[${i}]`))));
}

/** Requests in the builtin backend's passes (a re-run gives back what the package holds):
 *  static (prefix), then sticky (hint), then new, then read-only lookups. */
function runRequests(run: BatchRun, r: WBatchRequest): { outcomes: WOutcome[]; fresh: Fresh[] } {
  const requests = r.requests ?? [];
  const pass = (w: WAllocationRequest) => (w.dryRun ? 3 : w.prefix ? 0 : w.hint ? 1 : 2);
  const order = requests.map((_, i) => i).sort((a, b) => pass(requests[a]!) - pass(requests[b]!) || a - b);
  const outcomes: WOutcome[] = new Array(requests.length);
  const fresh: Fresh[] = [];
  for (const i of order) {
    try {
      outcomes[i] = requestOutcome(run, r, requests[i]!, i, fresh);
    } catch (e) {
      outcomes[i] = { error: toWError(localizeError(e, run.pkg), `requests[${i}]`) };
    }
  }
  return { outcomes, fresh };
}

/** Request `i`'s allocation (or lookup); notes it in `fresh` when an atomic batch newly takes it. */
function requestOutcome(run: BatchRun, r: WBatchRequest, w: WAllocationRequest, i: number, fresh: Fresh[]): WOutcome {
  const { tx } = run;
  const owner = own(run, w.owner, `requests[${i}].owner`);
  if (!w.dryRun) run.keep.add(owner);
  const req = fromWAllocationRequest(w, `requests[${i}]`, run.L, owner);
  if (r.atomic && !w.dryRun && holdsNothing(tx, owner, req)) fresh.push({ i, owner });
  const a = w.dryRun ? lookupAllocation(tx.ipam, req) : tx.allocate(req);
  if (!r.compact) return { allocation: toWAllocation(a, localOwner(a.owner)) };
  return {
    allocation: {
      addressFamily: a.addressFamily,
      prefix: a.prefix,
      gateway: a.gateway ?? '',
      parent: a.parent,
      labels: a.labels as Record<string, string>,
    },
  };
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
function undoFresh(run: BatchRun, fresh: Fresh[], outcomes: WOutcome[]): void {
  for (const { i, owner } of fresh) {
    if (!outcomes[i]!.allocation) continue;
    releaseOwner(run, owner);
  }
}

/** Releases what the package holds and this batch no longer names. */
function prune(run: BatchRun): void {
  const { tx, pkg, keep } = run;
  const mine = `${pkg}${SCOPE_SEPARATOR}`;
  const stale = new Set<string>();
  for (const a of tx.ipam.listAllocations({ ownerPrefix: mine })) if (!keep.has(a.owner)) stale.add(a.owner);
  for (const pi of tx.ipam.listPrefixes()) if (packageOf(pi.owner) === pkg && !keep.has(pi.owner)) stale.add(pi.owner);
  // Innermost first: allocations, then prefixes, then network instances (which need to be
  // empty of other owners' prefixes when they go).
  const niOwners = new Set(tx.ipam.listNetworkInstances().map((n) => n.owner));
  for (const n of tx.ipam.listNetworkInstances()) if (packageOf(n.owner) === pkg && !keep.has(n.owner)) stale.add(n.owner);
  const ordered = [...stale].sort((a, b) => Number(niOwners.has(a)) - Number(niOwners.has(b)));
  for (const owner of ordered) attempt(run, `prune ${localOwner(owner)}`, () => releaseOwner(run, owner));
}
