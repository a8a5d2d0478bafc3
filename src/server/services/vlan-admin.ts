// The VLAN part of ipaminjector.admin.v1.Admin: list indexes and claims, apply/remove an
// index, and VlanBatch, one package's VLAN claims in one transaction (what the function's grpc
// backend sends). Owners are scoped as in Batch ("<package>|<owner>"); a vlanClaimName is
// not: claims of several packages that name one share one id, as Nephio's do.
import type { VlanFilter, VlanRequest } from '../../vlan/types.js';
import { authorizeOwner, authorizePackage, requireUnscoped, type Principal } from '../auth.js';
import { Tx } from '../core.js';
import type { WError } from '../../protocol/messages.js';
import { localOwner, packageOf, scopedOwner, SCOPE_SEPARATOR } from '../../protocol/owner.js';
import { localizeError } from '../../protocol/status.js';
import { checkString, invalid } from '../../protocol/validate.js';
import { toWError } from '../../protocol/admin.js';
import {
  fromWVlanClaimRequest,
  fromWVlanDefinition,
  fromWVlanIndex,
  fromWVlanRef,
  toWVlanClaim,
  toWVlanIndex,
  type WVlanBatchRequest,
  type WVlanBatchResponse,
  type WVlanClaim,
  type WVlanIndex,
  type WVlanIndexRef,
  type WVlanOutcome,
} from '../../protocol/vlan.js';
import { page } from './admin-lists.js';
import type { ServiceContext } from './context.js';

interface ListVlanClaimsRequest {
  index?: WVlanIndexRef;
  owner?: string;
  ownerPrefix?: string;
  limit?: number;
  continue?: string;
}

async function listVlanIndexes(ctx: ServiceContext): Promise<{ indexes: WVlanIndex[] }> {
  return { indexes: (await ctx.core.query((ipam) => ipam.vlan.listIndexes())).map(toWVlanIndex) };
}

async function listVlanClaims(
  ctx: ServiceContext,
  r: ListVlanClaimsRequest,
  p: Principal,
): Promise<{ claims: WVlanClaim[]; continue: string }> {
  const L = ctx.limits;
  const { from, limit } = page(r);
  const index = fromWVlanRef(r.index, 'index', L, false);
  const owner = checkString(r.owner, 'owner', L);
  const ownerPrefix = checkString(r.ownerPrefix, 'ownerPrefix', L);
  const filter = scoped(p, { ...(index ? { index } : {}), ...(owner ? { owner } : {}), ...(ownerPrefix ? { ownerPrefix } : {}) });
  const list = await ctx.core.query((ipam) => ipam.vlan.listAllocations(filter));
  return {
    claims: list.slice(from, from + limit).map((a) => toWVlanClaim(a)),
    continue: list.length > from + limit ? String(from + limit) : '',
  };
}

async function applyVlanIndex(ctx: ServiceContext, r: WVlanIndex, p: Principal): Promise<WVlanIndex> {
  const owner = checkString(r.owner, 'owner', ctx.limits, true);
  authorizeOwner(p, owner);
  const spec = fromWVlanIndex(r, 'index', ctx.limits, owner);
  return toWVlanIndex(await ctx.core.mutate((tx) => tx.applyVlanIndex(spec)));
}

async function removeVlanIndex(
  ctx: ServiceContext,
  r: { ref?: WVlanIndexRef; force?: boolean },
  p: Principal,
): Promise<{ released: WVlanClaim[] }> {
  requireUnscoped(p, 'RemoveVlanIndex');
  const ref = fromWVlanRef(r.ref, 'ref', ctx.limits)!;
  const freed = await ctx.core.mutate((tx) => tx.removeVlanIndex(ref, { force: r.force ?? false }));
  return { released: freed.map((a) => toWVlanClaim(a)) };
}

async function vlanBatch(ctx: ServiceContext, r: WVlanBatchRequest, p: Principal): Promise<WVlanBatchResponse> {
  const L = ctx.limits;
  const pkg = checkString(r.package, 'package', L);
  authorizePackage(p, pkg);
  const size = (r.requests?.length ?? 0) + (r.indexes?.length ?? 0) + (r.definitions?.length ?? 0) + (r.release?.length ?? 0);
  if (size > L.maxBatch) throw invalid('requests', `${size} items in one batch, at most ${L.maxBatch}`);
  if (r.dryRun) return ctx.core.query(() => runVlanBatch(new Tx(ctx.core.scratch()), pkg, r, L));
  return ctx.core.mutate((tx) => runVlanBatch(tx, pkg, r, L));
}

/** The VLAN rpcs of the admin service, by name. */
export const vlanAdminHandlers = {
  ListVlanIndexes: listVlanIndexes,
  ListVlanClaims: listVlanClaims,
  ApplyVlanIndex: applyVlanIndex,
  RemoveVlanIndex: removeVlanIndex,
  VlanBatch: vlanBatch,
};

/** Scoped callers see only their own package's claims. */
function scoped(p: Principal, f: VlanFilter): VlanFilter {
  if (p.scope === undefined) return f;
  const mine = `${p.scope}${SCOPE_SEPARATOR}`;
  if (f.owner) authorizeOwner(p, f.owner);
  if (f.ownerPrefix && !f.ownerPrefix.startsWith(mine)) return { ...f, owner: '\u0000none' };
  return { ...f, ownerPrefix: f.ownerPrefix ?? mine };
}

const isStatic = (q: VlanRequest): boolean => q.vlanID !== undefined || (q.range !== undefined && q.range.includes(':'));

/** One package's VLAN run in one transaction: indexes, definitions, releases, claims. */
function runVlanBatch(tx: Tx, pkg: string, r: WVlanBatchRequest, L: ServiceContext['limits']): WVlanBatchResponse {
  const own = (o: string | undefined, field: string) => scopedOwner(pkg, checkString(o, field, L, true));
  const spaceErrors: WError[] = [];
  const released: WVlanClaim[] = [];
  const attempt = (subject: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      spaceErrors.push(toWError(localizeError(e, pkg), subject));
    }
  };
  const indexes = (r.indexes ?? []).map((w, i) => ({ w, i }));
  // explicit indexes before the ones WorkloadClusters imply, as the builtin backend does
  indexes.sort((a, b) => Number(!!a.w.implied) - Number(!!b.w.implied) || a.i - b.i);
  for (const { w, i } of indexes)
    attempt(`indexes[${i}]`, () => void tx.applyVlanIndex(fromWVlanIndex(w, `indexes[${i}]`, L, own(w.owner, `indexes[${i}].owner`))));
  (r.definitions ?? []).forEach((w, i) =>
    attempt(
      `definitions[${i}]`,
      () => void tx.applyVlanDefinition(fromWVlanDefinition(w, `definitions[${i}]`, L, own(w.owner, `definitions[${i}].owner`))),
    ),
  );
  (r.release ?? []).forEach((o, i) =>
    attempt(`release[${i}]`, () => {
      for (const a of tx.releaseVlan(own(o, `release[${i}]`))) released.push(toWVlanClaim(a, localOwner(a.owner)));
    }),
  );
  const ws = r.requests ?? [];
  const reqs: (VlanRequest | Error)[] = ws.map((w, i) => {
    try {
      return fromWVlanClaimRequest(w, `requests[${i}]`, L, own(w.owner, `requests[${i}].owner`));
    } catch (e) {
      return e as Error;
    }
  });
  const pass = (i: number): number => {
    const q = reqs[i]!;
    if (q instanceof Error) return 0;
    return ws[i]!.lookup ? 3 : isStatic(q) ? 0 : q.hint !== undefined ? 1 : 2;
  };
  const order = ws.map((_, i) => i).sort((a, b) => pass(a) - pass(b) || a - b);
  const outcomes: WVlanOutcome[] = new Array(ws.length);
  for (const i of order) {
    const q = reqs[i]!;
    try {
      if (q instanceof Error) throw q;
      const a = ws[i]!.lookup ? tx.ipam.vlan.lookup(q) : tx.allocateVlan(q);
      // a shared id may be held by another package's owner: never name it to this one
      const holder = packageOf(a.owner) === pkg ? localOwner(a.owner) : localOwner(q.owner);
      outcomes[i] = { claim: toWVlanClaim(a, holder) };
    } catch (e) {
      outcomes[i] = { error: toWError(localizeError(e, pkg), `requests[${i}]`) };
    }
  }
  return { outcomes, spaceErrors, released };
}
