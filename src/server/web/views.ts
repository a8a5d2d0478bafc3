// What the web view shows, computed from the allocator on request: the prefix tree of each
// network instance with utilization, a page of allocations, and the address map of a subnet.
// A scoped viewer (package token) sees only what its package holds and the prefixes around it.
import { canonicalPrefix, parseCidr, toBig } from '../../ipam/addr.js';
import { selectorMatches } from '../../ipam/labels.js';
import type { Allocation, Ipam, LabelSelector, NetworkInstanceRef, PrefixInfo, Utilization } from '../../ipam/index.js';
import { localOwner, packageOf, SCOPE_SEPARATOR } from '../../protocol/owner.js';

export interface Viewer {
  /** Package the viewer may see; undefined: everything. */
  scope?: string;
}

export interface PrefixNode {
  prefix: string;
  kind: string;
  family: string;
  labels: Record<string, string>;
  /** Package and local owner, empty when another package holds it and the viewer is scoped. */
  package: string;
  owner: string;
  reserved: string[];
  utilization: Utilization;
  children: PrefixNode[];
}

export interface InstanceView {
  name: string;
  namespace: string;
  prefixes: PrefixNode[];
}

export interface AllocationView {
  networkInstance: string;
  package: string;
  owner: string;
  kind: string;
  family: string;
  prefix: string;
  gateway: string;
  parent: string;
  labels: Record<string, string>;
}

export interface AllocationQuery {
  networkInstance?: NetworkInstanceRef;
  package?: string;
  /** Part of the owner's name. */
  owner?: string;
  selector?: LabelSelector;
  /** Only allocations inside this prefix (needs networkInstance). */
  within?: string;
  offset: number;
  limit: number;
}

export interface MapCell {
  offset: number;
  address: string;
  state: 'network' | 'broadcast' | 'gateway' | 'reserved' | 'allocated';
  package: string;
  owner: string;
}

export interface SubnetMap {
  networkInstance: string;
  prefix: string;
  kind: string;
  family: string;
  utilization: Utilization;
  /** Number of addresses, as a decimal string. */
  size: string;
  /** Taken addresses only, and how many allocations; absent when the prefix is too large to draw. */
  cells?: MapCell[];
  allocations?: number;
}

/** Largest prefix drawn address by address (a /20 or a /116). */
export const MAX_GRID = 4096;

const refKey = (r: { namespace?: string; name: string }) => `${r.namespace || 'default'}/${r.name}`;

interface Span {
  v6: boolean;
  base: bigint;
  len: number;
}

function span(prefix: string): Span {
  const c = parseCidr(prefix);
  const w = c.v6 ? 128 : 32;
  const v = toBig(c.v6, c.w);
  const mask = ((1n << BigInt(w)) - 1n) ^ ((1n << BigInt(w - c.len)) - 1n);
  return { v6: c.v6, base: v & mask, len: c.len };
}

const inside = (outer: Span, inner: Span) =>
  outer.v6 === inner.v6 &&
  inner.len >= outer.len &&
  inner.base >> BigInt((outer.v6 ? 128 : 32) - outer.len) === outer.base >> BigInt((outer.v6 ? 128 : 32) - outer.len);

function visible(viewer: Viewer, owner: string): boolean {
  return viewer.scope === undefined || packageOf(owner) === viewer.scope;
}

function who(viewer: Viewer, owner: string): { package: string; owner: string } {
  return visible(viewer, owner) ? { package: packageOf(owner), owner: localOwner(owner) } : { package: '', owner: '' };
}

/** Every network instance as a tree of prefixes (parents before children, as the allocator lists them). */
export function spaceTree(ipam: Ipam, viewer: Viewer): InstanceView[] {
  const mine = viewer.scope === undefined ? undefined : ipam.listAllocations({ ownerPrefix: `${viewer.scope}${SCOPE_SEPARATOR}` });
  const out: InstanceView[] = [];
  for (const ni of ipam.listNetworkInstances()) {
    const ref = { name: ni.name, namespace: ni.namespace };
    const roots = nest(ipam, ref, ipam.listPrefixes(ref), viewer);
    const held = mine?.filter((a) => refKey(a.networkInstance) === refKey(ref)).map((a) => span(a.parent));
    const shown = held === undefined ? roots : prune(roots, viewer, held);
    if (viewer.scope === undefined || shown.length > 0) out.push({ name: ni.name, namespace: ni.namespace, prefixes: shown });
  }
  return out.sort((a, b) => refKey(a).localeCompare(refKey(b)));
}

function nest(ipam: Ipam, ref: NetworkInstanceRef, prefixes: PrefixInfo[], viewer: Viewer): PrefixNode[] {
  const roots: PrefixNode[] = [];
  const stack: { node: PrefixNode; span: Span }[] = [];
  const byPrefix = new Map<string, PrefixNode>();
  for (const p of prefixes) {
    const same = byPrefix.get(p.prefix);
    if (same) {
      // several IPPrefixes defining one subnet: one node, every reserved address
      same.reserved.push(...(p.reserved ?? []));
      continue;
    }
    const s = span(p.prefix);
    while (stack.length && !inside(stack[stack.length - 1]!.span, s)) stack.pop();
    const node: PrefixNode = {
      prefix: p.prefix,
      kind: p.kind,
      family: p.addressFamily,
      labels: { ...p.labels },
      ...who(viewer, p.owner),
      reserved: [...(p.reserved ?? [])],
      utilization: ipam.utilization(ref, p.prefix),
      children: [],
    };
    byPrefix.set(p.prefix, node);
    (stack.length ? stack[stack.length - 1]!.node.children : roots).push(node);
    stack.push({ node, span: s });
  }
  return roots;
}

/** A scoped viewer's tree: its own prefixes, and the prefixes that hold its allocations or those. */
function prune(nodes: PrefixNode[], viewer: Viewer, held: Span[]): PrefixNode[] {
  const out: PrefixNode[] = [];
  for (const n of nodes) {
    const children = prune(n.children, viewer, held);
    const s = span(n.prefix);
    const holds = held.some((h) => inside(s, h));
    if (n.package === viewer.scope || holds || children.length) out.push({ ...n, children });
  }
  return out;
}

/** One page of allocations matching the query, and whether more follow. */
export function allocationPage(ipam: Ipam, q: AllocationQuery, viewer: Viewer): { items: AllocationView[]; more: boolean } {
  if (viewer.scope !== undefined && q.package !== undefined && q.package !== viewer.scope) return { items: [], more: false };
  const pkg = viewer.scope ?? q.package;
  const ownerPrefix = pkg !== undefined ? `${pkg}${SCOPE_SEPARATOR}` : undefined;
  const wanted = (a: Allocation) =>
    (ownerPrefix === undefined || a.owner.startsWith(ownerPrefix)) &&
    (q.owner === undefined || a.owner.includes(q.owner)) &&
    (q.selector === undefined || selectorMatches(q.selector, a.labels));
  let list: Allocation[];
  if (q.within !== undefined && q.networkInstance) {
    list = ipam
      .allocationsWithin(q.networkInstance, q.within)
      .filter(wanted)
      .slice(q.offset, q.offset + q.limit + 1);
  } else {
    list = ipam.listAllocations({ ...filterOf(q, ownerPrefix), offset: q.offset, limit: q.limit + 1 });
  }
  const more = list.length > q.limit;
  return { items: list.slice(0, q.limit).map((a) => allocationView(a, viewer)), more };
}

function filterOf(q: AllocationQuery, ownerPrefix: string | undefined) {
  return {
    ...(q.networkInstance ? { networkInstance: q.networkInstance } : {}),
    ...(ownerPrefix !== undefined ? { ownerPrefix } : {}),
    ...(q.owner !== undefined ? { ownerContains: q.owner } : {}),
    ...(q.selector ? { selector: q.selector } : {}),
  };
}

export function allocationView(a: Allocation, viewer: Viewer): AllocationView {
  return {
    networkInstance: refKey(a.networkInstance),
    ...who(viewer, a.owner),
    kind: a.kind,
    family: a.addressFamily,
    prefix: a.prefix,
    gateway: a.gateway ?? '',
    parent: a.parent,
    labels: { ...a.labels },
  };
}

/** A subnet drawn address by address: what is taken, by whom. */
export function subnetMap(ipam: Ipam, ref: NetworkInstanceRef, prefix: string, viewer: Viewer): SubnetMap {
  const utilization = ipam.utilization(ref, prefix);
  const s = span(utilization.prefix);
  const infos = ipam.listPrefixes(ref).filter((p) => p.prefix === utilization.prefix);
  const kind = infos[0]?.kind ?? 'network';
  const size = 1n << BigInt((s.v6 ? 128 : 32) - s.len);
  const base = {
    networkInstance: refKey(ref),
    prefix: utilization.prefix,
    kind,
    family: s.v6 ? 'ipv6' : 'ipv4',
    utilization,
    size: size.toString(),
  };
  // too large to draw: the summary, without building every allocation inside
  if (size > BigInt(MAX_GRID) || (kind !== 'network' && kind !== 'loopback')) return base;
  const allocations = ipam.allocationsWithin(ref, utilization.prefix);
  const cells = new Map<number, MapCell>();
  const put = (text: string, state: MapCell['state'], owner = '') => {
    // an allocation is written addr/<subnet length>: the address is what is taken
    const address = text.split('/')[0]!;
    const offset = span(`${address}/${s.v6 ? 128 : 32}`).base - s.base;
    if (offset < 0n || offset >= size) return;
    cells.set(Number(offset), { offset: Number(offset), address, state, ...(owner ? who(viewer, owner) : { package: '', owner: '' }) });
  };
  const host = (x: bigint) => formatAddress(s.v6, s.base + x);
  if (kind === 'network' && s.len < (s.v6 ? 127 : 31)) {
    put(host(0n), 'network');
    put(host(size - 1n), 'broadcast');
  }
  for (const p of infos) {
    const gateway = p.labels['nephio.org/gateway'] === 'true';
    for (const r of p.reserved ?? []) put(r, gateway ? 'gateway' : 'reserved', p.owner);
  }
  for (const a of allocations) put(a.prefix, 'allocated', a.owner);
  return { ...base, allocations: allocations.length, cells: [...cells.values()].sort((a, b) => a.offset - b.offset) };
}

function formatAddress(v6: boolean, x: bigint): string {
  if (!v6) return [24n, 16n, 8n, 0n].map((sh) => ((x >> sh) & 255n).toString()).join('.');
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((sh) => ((x >> sh) & 0xffffn).toString(16));
  return canonicalPrefix(`${groups.join(':')}/128`).split('/')[0]!;
}
