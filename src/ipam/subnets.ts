// Labels and gateways of defined prefixes. A network subnet may be defined by several
// IPPrefixes (each reserving its own address): the subnet carries the labels they all agree
// on, minus nephio.org/gateway, plus the system labels; each reserved address carries its own
// IPPrefix's labels plus the system labels; the gateway is the reserved address whose
// IPPrefix says nephio.org/gateway: "true".

import { compareWords } from './addr.js';
import { commonLabels, L_GATEWAY } from './labels.js';
import { KindCode } from './rows.js';
import type { Instance, IpamState, SpecRec } from './state.js';
import type { Labels } from './types.js';

/** Recomputes a Prefix row's selection labels, network name and gateway from its member specs. */
export function refreshPrefix(state: IpamState, inst: Instance, row: number): void {
  const m = state.metaOf(row);
  const rows = state.rows;
  const kind = rows.kind(row) as KindCode;
  const v6 = rows.isV6(row);
  const common = commonLabels(m.members.map((s) => s.labels));
  delete common[L_GATEWAY];
  m.networkName = m.members[0]?.networkName;
  m.selectorLabels = Object.freeze({ ...common, ...state.systemLabels(inst, kind, v6, m.networkName) });
  let gw = 0;
  for (const s of m.members) {
    if (s.reserved && s.labels[L_GATEWAY] === 'true') {
      if (gw === 0 || compareWords(rows.page(s.reserved), rows.at(s.reserved), rows.page(gw), rows.at(gw)) < 0) gw = s.reserved;
    }
  }
  m.gateway = gw && kind === KindCode.Network ? state.addrOf(gw) : undefined;
  for (const s of m.members) if (s.reserved) refreshReserved(state, inst, s);
  inst.version++;
}

/** Selection labels of the address an IPPrefix reserves. */
export function refreshReserved(state: IpamState, inst: Instance, s: SpecRec): void {
  const rows = state.rows;
  const m = state.metaOf(s.reserved);
  m.members = [s];
  m.cidr = state.addrOf(s.reserved);
  m.selectorLabels = Object.freeze({
    ...s.labels,
    ...state.systemLabels(inst, rows.kind(s.row) as KindCode, rows.isV6(s.row), s.networkName),
  });
  inst.version++;
}

/** Selection labels of a prefix an allocation created (a subnet, or a labelled pool). */
export function allocatedPrefixLabels(
  state: IpamState,
  inst: Instance,
  row: number,
  own: Labels,
  networkName: string | undefined,
  fresh = false,
): void {
  const rows = state.rows;
  const m = state.metaOf(row);
  m.networkName = networkName;
  m.selectorLabels = Object.freeze({ ...own, ...state.systemLabels(inst, rows.kind(row) as KindCode, rows.isV6(row), networkName) });
  if (!fresh) inst.version++; // a new row is added to the cached lists incrementally instead
}
