// Read-only lookups (Nephio's `nephio.org/action: get`, the resource protocol's GetClaim): a
// selector matched against the labels of everything stored in one network instance
// (aggregates, subnets, reserved addresses, allocations; owner labels included), first match
// in tree order. Nothing is reserved.

import { IpamError } from './errors.js';
import { L_ADDRESS_FAMILY, L_NETWORK_INSTANCE, L_NETWORK_NAME, L_PREFIX_KIND, renderSelector } from './labels.js';
import { allocationMatch, rowAllocation } from './output.js';
import { KIND_NAMES, KindCode, RowType } from './rows.js';
import type { Instance, IpamState } from './state.js';
import type { LabelSelector, LabelSelectorRequirement, Labels, LookupMatch, NetworkInstanceRef } from './types.js';

/** A row's label value as a lookup sees it: system labels first, then the row's own. */
type Get = (key: string) => string | undefined;

function holds(sel: LabelSelector, get: Get): boolean {
  const ml = sel.matchLabels;
  if (ml) for (const k in ml) if (get(k) !== ml[k]) return false;
  for (const r of sel.matchExpressions ?? []) if (!requirement(r, get(r.key))) return false;
  return true;
}

function requirement(r: LabelSelectorRequirement, v: string | undefined): boolean {
  switch (r.operator) {
    case 'In':
      return v !== undefined && (r.values ?? []).includes(v);
    case 'NotIn':
      return v === undefined || !(r.values ?? []).includes(v);
    case 'Exists':
      return v !== undefined;
    case 'DoesNotExist':
      return v === undefined;
    default:
      return false;
  }
}

/** The first thing in `ref` whose labels match `sel`; NotFound when nothing does. */
export function lookup(state: IpamState, ref: NetworkInstanceRef, sel: LabelSelector): LookupMatch {
  const inst = state.instance(ref);
  const rows = state.rows;
  // per row: its own labels, and its kind, family and network name as system labels
  let own: Labels = {};
  let kind = 0;
  let v6 = false;
  let net: string | undefined;
  const get: Get = (k) => {
    if (k === L_NETWORK_INSTANCE) return inst.ref.name;
    if (k === L_PREFIX_KIND) return KIND_NAMES[kind];
    if (k === L_ADDRESS_FAMILY) return v6 ? 'ipv6' : 'ipv4';
    if (k === L_NETWORK_NAME && net !== undefined) return net;
    return Object.prototype.hasOwnProperty.call(own, k) ? own[k] : undefined;
  };
  const visit = (row: number): number => {
    const t = rows.type(row);
    if (t === RowType.Prefix || t === RowType.Reserved || t === RowType.Alloc) {
      const m = state.meta.get(row);
      own = m && t !== RowType.Alloc ? m.selectorLabels : state.labels.get(rows.labels(row));
      kind = rows.kind(row);
      v6 = rows.isV6(row);
      net = networkName(state, row);
      if (holds(sel, get)) return row;
    }
    if (rows.isContainer(row)) {
      for (const ch of state.children(row)) {
        const hit = visit(ch);
        if (hit) return hit;
      }
    }
    return 0;
  };
  for (const fam of inst.top) {
    for (const top of fam) {
      const hit = visit(top);
      if (hit) return match(state, inst, hit);
    }
  }
  // lookups of reserved addresses by other owners are stored too (with their owner's labels)
  const refs: number[] = [];
  for (const set of state.refs.values()) for (const x of set) if (rows.inst(x) === inst.id) refs.push(x);
  refs.sort(state.compareRows);
  for (const x of refs) {
    own = state.labels.get(rows.labels(x));
    kind = rows.kind(x);
    v6 = rows.isV6(x);
    net = networkName(state, rows.parent(x));
    if (holds(sel, get)) return match(state, inst, x);
  }
  const s = renderSelector(sel);
  throw new IpamError('NotFound', `nothing in network instance ${inst.key} matches selector ${s}`, {
    networkInstance: inst.key,
    selector: s,
    field: 'spec.selector',
  });
}

/** The network name of a row: its own (subnets), else its enclosing subnet's. */
function networkName(state: IpamState, r: number): string | undefined {
  const m = state.meta.get(r);
  if (m?.networkName) return m.networkName;
  const p = state.rows.parent(r);
  return p ? state.meta.get(p)?.networkName : undefined;
}

function match(state: IpamState, inst: Instance, r: number): LookupMatch {
  const rows = state.rows;
  const t = rows.type(r);
  if (t === RowType.Alloc || t === RowType.Ref) return allocationMatch(rowAllocation(state, r));
  const m = state.metaOf(r);
  const owner = state.holderOf(r);
  // a reserved address is answered as a host address of its subnet
  if (t === RowType.Reserved) return allocationMatch(rowAllocation(state, r, owner, m.selectorLabels));
  return {
    networkInstance: inst.ref,
    kind: KIND_NAMES[rows.kind(r)],
    addressFamily: rows.isV6(r) ? 'ipv6' : 'ipv4',
    prefix: m.cidr,
    ...(rows.kind(r) === KindCode.Network && m.gateway ? { gateway: m.gateway } : {}),
    labels: m.selectorLabels,
    owner,
  };
}
