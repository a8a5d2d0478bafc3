// Builds the public plain-data answers (Allocation, PrefixInfo) from rows, only on output.

import { formatAddr } from './addr.js';
import { EMPTY_LABELS } from './labels.js';
import { KIND_NAMES, RowType } from './rows.js';
import type { Instance, IpamState, SpecRec } from './state.js';
import type { Allocation, Labels, LookupMatch, PrefixInfo } from './types.js';

/**
 * The answer for an allocation at address `w[wo..]`. Host addresses in a subnet are written
 * `addr/<subnet length>` with the subnet's gateway; loopback addresses `addr/32|128`; prefixes `net/len`.
 */
export function buildAllocation(
  state: IpamState,
  owner: string,
  inst: Instance,
  kind: number,
  v6: boolean,
  w: ArrayLike<number>,
  wo: number,
  blockLen: number,
  host: boolean,
  parent: number,
  labels: Labels,
): Allocation {
  const rows = state.rows;
  let prefix: string;
  let gateway: string | undefined;
  let parentText: string;
  if (parent === 0) parentText = formatAddr(v6, w, wo) + '/' + blockLen;
  else {
    const m = state.metaOf(parent);
    parentText = m.cidr;
    if (host && rows.kind(parent) === 1 && rows.type(parent) !== RowType.Reserved) {
      prefix = formatAddr(v6, w, wo) + '/' + rows.len(parent);
      gateway = m.gateway;
    }
  }
  prefix ??= formatAddr(v6, w, wo) + '/' + blockLen;
  const a: Allocation = {
    owner,
    networkInstance: inst.ref,
    kind: KIND_NAMES[kind],
    addressFamily: v6 ? 'ipv6' : 'ipv4',
    prefix,
    parent: parentText,
    labels,
  };
  if (gateway !== undefined) a.gateway = gateway;
  return a;
}

/**
 * The Allocation a row stands for: an allocation; a lookup of a reserved address (Ref),
 * answered like a host address of the reserved row's subnet; or a reserved address itself,
 * answered as a host address of its subnet (for lookups, with the labels given).
 */
export function rowAllocation(state: IpamState, r: number, owner?: string, labels?: Labels): Allocation {
  const rows = state.rows;
  const t = rows.type(r);
  const address = t === RowType.Ref || t === RowType.Reserved || rows.isHost(r);
  const parent = t === RowType.Ref ? rows.parent(rows.parent(r)) : rows.parent(r);
  return buildAllocation(
    state,
    owner ?? rows.ownerOf(r),
    state.instances[rows.inst(r)]!,
    rows.kind(r),
    rows.isV6(r),
    rows.page(r),
    rows.at(r),
    rows.len(r),
    address,
    parent,
    labels ?? state.labels.get(rows.labels(r)),
  );
}

/** What a lookup answers for something answered as an allocation. */
export function allocationMatch(a: Allocation): LookupMatch {
  return {
    networkInstance: a.networkInstance,
    kind: a.kind,
    addressFamily: a.addressFamily,
    prefix: a.prefix,
    ...(a.gateway ? { gateway: a.gateway } : {}),
    labels: a.labels,
    owner: a.owner,
  };
}

export function specInfo(state: IpamState, s: SpecRec): PrefixInfo {
  const inst = state.instances[s.inst]!;
  const v6 = state.rows.isV6(s.row);
  const info: PrefixInfo = {
    networkInstance: inst.ref,
    prefix: s.net,
    kind: KIND_NAMES[s.kind],
    addressFamily: v6 ? 'ipv6' : 'ipv4',
    labels: Object.freeze({ ...s.labels, ...state.systemLabels(inst, s.kind, v6, s.networkName) }),
    owner: s.owner,
  };
  if (s.reserved) info.reserved = [state.addrOf(s.reserved)];
  return info;
}

export { EMPTY_LABELS };
