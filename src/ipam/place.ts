// Putting a decided allocation into the space: a new row with its labels and owner, a lookup
// of a reserved address, and the "in use"/"reserved" conflicts a placement can meet.

import { Cidr } from './addr.js';
import { RequestClass } from './candidates.js';
import { IpamError } from './errors.js';
import { EMPTY_LABELS, isEmptyLabels } from './labels.js';
import { buildAllocation, rowAllocation } from './output.js';
import { createPrefixRow, inUse } from './prefixes.js';
import type { Plan } from './request.js';
import { KindCode, RowType, SYSTEM_ROW } from './rows.js';
import type { IpamState } from './state.js';
import { allocatedPrefixLabels } from './subnets.js';
import type { Allocation, Labels } from './types.js';

/** Whether an allocated prefix is offered to later dynamic requests (docs/semantics.md). */
export function selectableAlloc(cls: RequestClass, labels: Labels): boolean {
  return (
    cls === RequestClass.Subnet ||
    cls === RequestClass.Aggregate ||
    (cls === RequestClass.Pool && labels !== EMPTY_LABELS && !isEmptyLabels(labels))
  );
}

/** Bookkeeping after a new Alloc row took its block. `restoring`: refuse an owner already present. */
export function finishRow(state: IpamState, p: Plan, r: number, restoring = false): void {
  const rows = state.rows;
  rows.setLabels(r, p.labels === EMPTY_LABELS ? 0 : state.labels.intern(p.labels));
  if (!restoring) state.owners.set(p.owner, r);
  else if (!state.owners.add(p.owner, r)) {
    state.purge(r, true, null);
    throw new IpamError(
      'InvalidArgument',
      `cannot restore allocation of ${p.owner} in network instance ${p.inst.key}: the owner already holds an allocation`,
      { networkInstance: p.inst.key },
    );
  }
  if (!rows.isHost(r) && selectableAlloc(p.requestClass, p.labels)) {
    allocatedPrefixLabels(state, p.inst, r, state.labels.get(rows.labels(r)), p.networkName, true);
    state.setSelectable(p.inst, r, true, true);
  }
}

/** Takes block (addr, blockLen) inside `container` for the plan's owner (or just describes it when dry). */
export function takeAt(
  state: IpamState,
  p: Plan,
  container: number,
  addr: ArrayLike<number>,
  blockLen: number,
  host: boolean,
  dry: boolean,
): Allocation {
  const rows = state.rows;
  const v6 = container === 0 ? p.staticPrefix!.v6 : rows.isV6(container);
  if (dry) return buildAllocation(state, p.owner, p.inst, p.kind, v6, addr, 0, blockLen, host, container, p.labels);
  let r: number;
  if (host) {
    r = state.newRow(p.inst, v6, addr, 0, blockLen, RowType.Alloc, p.kind, p.owner, true);
    state.attach(p.inst, container, r);
  } else {
    const cidr = new Cidr();
    cidr.v6 = v6;
    for (let i = 0; i < 4; i++) cidr.w[i] = addr[i];
    cidr.len = blockLen;
    r = createPrefixRow(state, p.inst, cidr, cidr.w, p.kind, RowType.Alloc, p.owner, container);
  }
  finishRow(state, p, r);
  return rowAllocation(state, r);
}

export function conflict(state: IpamState, p: Plan, what: string, hit: number): IpamError {
  if (hit === SYSTEM_ROW) {
    return new IpamError(
      'AlreadyExists',
      `${what} in network instance ${p.inst.key} is reserved (network, broadcast or IPv4-mapped address)`,
      {
        networkInstance: p.inst.key,
        prefix: what,
        field: 'spec.prefix',
      },
    );
  }
  return inUse(state, p.inst, what, hit, 'spec.prefix');
}

/** Static allocation by label: a reserved address is answered without taking ownership. */
export function refAlloc(state: IpamState, p: Plan, res: number, dry: boolean): Allocation {
  const rows = state.rows;
  const v6 = rows.isV6(res);
  if (!dry) {
    const r = state.newRow(p.inst, v6, rows.page(res), rows.at(res), v6 ? 128 : 32, RowType.Ref, KindCode.Network, p.owner, true);
    rows.setParent(r, res);
    rows.setLabels(r, p.labels === EMPTY_LABELS ? 0 : state.labels.intern(p.labels));
    state.owners.set(p.owner, r);
    let set = state.refs.get(res);
    if (!set) state.refs.set(res, (set = new Set()));
    set.add(r);
  }
  return buildAllocation(
    state,
    p.owner,
    p.inst,
    KindCode.Network,
    v6,
    rows.page(res),
    rows.at(res),
    v6 ? 128 : 32,
    true,
    rows.parent(res),
    p.labels,
  );
}
