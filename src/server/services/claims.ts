// Claim backends by API group, as the original's server proxy routes by header.gvk: the
// resource protocol and the 2023 alloc rpcs look the group up here and call the backend's
// handlers with the request as it came. The IP backend serves ipam.resource.nephio.org and
// ipam.alloc.nephio.org; the VLAN backend (vlan-claims.ts) vlan.resource.nephio.org and
// vlan.alloc.nephio.org.
import { authorizePackage, type Principal } from '../auth.js';
import type { Allocation, AllocationRequest, NetworkInstanceRef } from '../../ipam/types.js';
import { canonicalPrefix, IpamError } from '../../ipam/index.js';
import type { ClaimRequest, ClaimResponse } from '../../protocol/messages.js';
import { PACKAGE_GVK, packageOf } from '../../protocol/owner.js';
import {
  CLAIM_KINDS,
  IPAM_ALLOC_GROUP,
  IPAM_GROUP,
  PREFIX_GVK,
  claimResponse,
  decodeClaim,
  decodeClaimHeader,
  decodeIndex,
  decodePrefixClaim,
  parseObject,
} from '../../protocol/resource.js';
import { asPackage, StatusError } from '../../protocol/status.js';
import { invalid } from '../../protocol/validate.js';
import { status } from '@grpc/grpc-js';
import type { Tx } from '../core.js';
import { ownInstance } from './alloc.js';
import type { ServiceContext } from './context.js';
import type { ClaimBackend, ClaimBackends } from './claim-backend.js';
import { vlanBackend } from './vlan-claims.js';
import { VLAN_ALLOC_GROUP, VLAN_GROUP } from '../../protocol/vlan-claims.js';

export type { ClaimBackend, ClaimBackends };

export function claimBackends(ctx: ServiceContext): ClaimBackends {
  const ip = ipBackend(ctx);
  const vlan = vlanBackend(ctx);
  return new Map([
    // older ipam-injector clients and hand-written calls may leave the group out
    ['', ip],
    [IPAM_GROUP, ip],
    [IPAM_ALLOC_GROUP, ip],
    [VLAN_GROUP, vlan],
    [VLAN_ALLOC_GROUP, vlan],
  ]);
}

export function backendFor(backends: ClaimBackends, r: { header?: ClaimRequest['header'] }): ClaimBackend {
  const g = r.header?.gvk?.group ?? '';
  const b = backends.get(g);
  if (!b) throw invalid('header.gvk.group', `no backend for API group ${JSON.stringify(g)} (known: ${[...backends.keys()].join(', ')})`);
  return b;
}

/** The IP claim backend: each rpc is one function below, given the shared context. */
function ipBackend(ctx: ServiceContext): ClaimBackend {
  return {
    createIndex: (r, p) => createIndex(ctx, r, p),
    deleteIndex: (r, p) => deleteIndex(ctx, r, p),
    claim: (r, p) => claim(ctx, r, p),
    getClaim: (r, p) => getClaim(ctx, r, p),
    deleteClaim: (r, p) => deleteClaim(ctx, r, p),
  };
}

async function createIndex(ctx: ServiceContext, r: ClaimRequest, p: Principal): Promise<void> {
  const { id, ref, prefixes } = decodeIndex(r, ctx.limits);
  authorizePackage(p, id.package);
  await asPackage(id.package, () =>
    ctx.core.mutate((tx) => {
      const ni = ownInstance(tx, ref, id.owner);
      // Our clients send the package's whole space each run: the prefixes given are the
      // instance's. Another client (the original's NetworkInstance controller) only opens
      // the index and then claims each prefix, so an instance it has already opened keeps
      // the prefixes those claims added.
      if (ni && !ownClient(r) && prefixes.length === 0) return;
      tx.applyNetworkInstance(ref, ni && !ownClient(r) ? merged(ni.prefixes, prefixes) : prefixes, id.owner);
    }, p.scope),
  );
}

async function deleteIndex(ctx: ServiceContext, r: ClaimRequest, p: Principal): Promise<void> {
  const { id, ref } = decodeIndex(r, ctx.limits);
  authorizePackage(p, id.package);
  await asPackage(id.package, () =>
    ctx.core.mutate((tx) => {
      if (ownInstance(tx, ref, id.owner)) tx.removeNetworkInstance(ref);
    }, p.scope),
  );
}

/** Whether a Prefix-kind claim is a bare prefix spec rather than a whole claim object. */
function isBarePrefix(ctx: ServiceContext, r: ClaimRequest): boolean {
  if (r.header?.gvk?.kind !== PREFIX_GVK.kind) return false;
  return !parseObject(r.spec, ctx.limits, [...CLAIM_KINDS, PREFIX_GVK.kind]).whole;
}

async function claim(ctx: ServiceContext, r: ClaimRequest, p: Principal): Promise<ClaimResponse> {
  if (isBarePrefix(ctx, r)) {
    const { id, spec } = decodePrefixClaim(r, ctx.limits);
    authorizePackage(p, id.package);
    const info = await asPackage(id.package, () => ctx.core.mutate((tx) => tx.applyPrefix(spec), p.scope));
    return claimResponse(r, undefined, { prefix: info.prefix });
  }
  const { id, req, parsed } = decodeClaim(r, ctx.limits);
  authorizePackage(p, id.package);
  const a = await asPackage(id.package, () => ctx.core.mutate((tx) => claimIn(tx, id.package, req), p.scope));
  return claimResponse(r, parsed, a);
}

/** A claim in a transaction: an allocation, or the instance's own prefix when its package
 *  claims one (the original's NetworkInstance controller): it joins the instance's
 *  aggregates, with its labels. */
function claimIn(tx: Tx, pkg: string, req: AllocationRequest): Pick<Allocation, 'prefix' | 'gateway'> {
  const ni = instancePrefixClaim(tx, pkg, req);
  if (!ni) {
    if (req.kind === 'aggregate' && req.prefix) mustLieInAggregate(tx, req);
    return tx.allocate(req);
  }
  const prefixes = ni.prefixes.filter((x) => x.prefix !== req.prefix);
  const old = ni.prefixes.find((x) => x.prefix === req.prefix);
  tx.applyNetworkInstance(ni, [...prefixes, { prefix: req.prefix!, labels: { ...(old?.labels ?? {}), ...(req.labels ?? {}) } }], ni.owner);
  return { prefix: req.prefix! };
}

async function getClaim(ctx: ServiceContext, r: ClaimRequest, p: Principal): Promise<ClaimResponse> {
  // With a selector: the first thing stored in the network instance whose labels match
  // (Nephio's "nephio.org/action: get"), any package's. Without: what the owner holds.
  const hasSpec = (r.spec ?? '').trim() !== '';
  const { id, req, parsed } = hasSpec
    ? decodeClaim(r, ctx.limits)
    : { id: decodeClaimHeader(r.header, ctx.limits), req: undefined, parsed: undefined };
  authorizePackage(p, id.package);
  const sel = req?.selector;
  if (req && sel && (Object.keys(sel.matchLabels ?? {}).length || sel.matchExpressions?.length)) {
    const m = await ctx.core.query((ipam) => ipam.lookup(req.networkInstance, sel));
    return claimResponse(r, parsed, m);
  }
  const held = await ctx.core.query((ipam) => ipam.getAllocations(id.owner));
  if (held.length === 0) throw new StatusError(status.NOT_FOUND, `claim ${id.nsn.namespace}/${id.nsn.name} holds nothing`);
  return claimResponse(r, parsed, held[0]!);
}

async function deleteClaim(ctx: ServiceContext, r: ClaimRequest, p: Principal): Promise<void> {
  const id = decodeClaimHeader(r.header, ctx.limits);
  // the object is checked (bad JSON is an error) but only the header names the owner
  const parsed = parseObject(r.spec, ctx.limits, [...CLAIM_KINDS, PREFIX_GVK.kind]);
  authorizePackage(p, id.package);
  await asPackage(id.package, () => ctx.core.mutate((tx) => deleteIn(tx, id, parsed.spec), p.scope));
}

/** A deleted claim in a transaction: the instance's own aggregate leaves the instance's list;
 *  anything else the owner holds is released. */
function deleteIn(tx: Tx, id: { package: string; owner: string }, spec: Record<string, unknown>): void {
  const prefix = typeof spec.prefix === 'string' ? spec.prefix : undefined;
  const niSpec = spec.networkInstance as { name?: unknown; namespace?: unknown } | undefined;
  if (spec.kind === 'aggregate' && prefix && niSpec && typeof niSpec.name === 'string') {
    const ni = instancePrefixClaim(tx, id.package, {
      kind: 'aggregate',
      prefix,
      networkInstance: { name: niSpec.name, namespace: typeof niSpec.namespace === 'string' ? niSpec.namespace : undefined },
    });
    if (ni) {
      tx.applyNetworkInstance(
        ni,
        ni.prefixes.filter((x) => x.prefix !== prefix),
        ni.owner,
      );
      return;
    }
  }
  tx.release(id.owner);
}

/**
 * An aggregate claim from anyone but the instance's package must lie inside an aggregate:
 * root aggregates come only from the space definitions (docs/semantics.md). Checked here, before
 * the allocator, so that replaying stored requests of older versions still works.
 */
function mustLieInAggregate(tx: Tx, req: AllocationRequest): void {
  const c = canonicalPrefix(req.prefix!);
  const inside = tx.ipam.listPrefixes(req.networkInstance).some((p) => p.kind === 'aggregate' && p.prefix !== c && contains(p.prefix, c));
  if (!inside) {
    throw new IpamError(
      'FailedPrecondition',
      `an aggregate prefix is required for aggregate claim ${req.prefix} in network instance ${req.networkInstance.namespace || 'default'}/${req.networkInstance.name}: root aggregates come from the network instance`,
      {
        networkInstance: `${req.networkInstance.namespace || 'default'}/${req.networkInstance.name}`,
        prefix: req.prefix,
        field: 'spec.prefix',
      },
    );
  }
}

/** Whether canonical prefix `outer` contains canonical prefix `inner` (BigInt: IPv6 too). */
function contains(outer: string, inner: string): boolean {
  const [oa, ol] = outer.split('/');
  const [ia, il] = inner.split('/');
  if (oa!.includes(':') !== ia!.includes(':') || Number(ol) > Number(il)) return false;
  const bits = ia!.includes(':') ? 128 : 32;
  const shift = BigInt(bits - Number(ol));
  return addrBig(oa!) >> shift === addrBig(ia!) >> shift;
}

function addrBig(a: string): bigint {
  if (!a.includes(':')) return a.split('.').reduce((v, o) => (v << 8n) | BigInt(o), 0n);
  const [h, t] = a.split('::') as [string, string | undefined];
  const head = h ? h.split(':') : [];
  const tail = t ? t.split(':') : [];
  const groups = t === undefined ? head : [...head, ...new Array(8 - head.length - tail.length).fill('0'), ...tail];
  return groups.reduce((v, g) => (v << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

/** Our own clients name their package with the Package owner GVK. */
const ownClient = (r: ClaimRequest) => r.header?.ownerGvk?.kind === PACKAGE_GVK.kind && r.header.ownerGvk.group === PACKAGE_GVK.group;

function merged<T extends { prefix: string }>(have: T[], add: T[]): T[] {
  return [...have, ...add.filter((a) => !have.some((h) => h.prefix === a.prefix))];
}

/**
 * The network instance when `req` is an aggregate claim with a prefix from the package that
 * owns the instance: a definition of the instance's space, not a workload's request.
 */
function instancePrefixClaim(tx: Tx, pkg: string, req: { kind: string; prefix?: string; networkInstance: NetworkInstanceRef }) {
  if (req.kind !== 'aggregate' || !req.prefix) return undefined;
  const ref = { name: req.networkInstance.name, namespace: req.networkInstance.namespace || 'default' };
  const ni = tx.ipam.listNetworkInstances().find((n) => n.name === ref.name && n.namespace === ref.namespace);
  if (!ni || packageOf(ni.owner) !== pkg) return undefined;
  return { ...ref, owner: ni.owner, prefixes: ni.prefixes };
}
