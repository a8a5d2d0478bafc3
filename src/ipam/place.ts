// Putting a decided allocation into the space: a new row with its labels and owner, a lookup
// of a reserved address, and the "in use"/"reserved" conflicts a placement can meet.

import { Cidr } from './addr.js';
import { ReqClass } from './candidates.js';
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
export function selectableAlloc(cls: ReqClass, labels: Labels): boolean {
  return (
    cls === ReqClass.Subnet || cls === ReqClass.Aggregate || (cls === ReqClass.Pool && labels !== EMPTY_LABELS && !isEmptyLabels(labels))
  );
}

/** Bookkeeping after a new Alloc row took its block. `restoring`: refuse an owner already present. */
export function finishRow(sp: IpamState, p: Plan, r: number, restoring = false): void {
  const rows = sp.rows;
  rows.setLabels(r, p.labels === EMPTY_LABELS ? 0 : sp.labels.intern(p.labels));
  if (!restoring) sp.owners.set(p.owner, r);
  else if (!sp.owners.add(p.owner, r)) {
    sp.purge(r, true, null);
    throw new IpamError(
      'InvalidArgument',
      `cannot restore allocation of ${p.owner} in network instance ${p.inst.key}: the owner already holds an allocation`,
      { networkInstance: p.inst.key },
    );
  }
  if (!rows.isHost(r) && selectableAlloc(p.cls, p.labels)) {
    allocatedPrefixLabels(sp, p.inst, r, sp.labels.get(rows.labels(r)), p.networkName, true);
    sp.setSelectable(p.inst, r, true, true);
  }
}

/** Takes block (w, blockLen) inside container c for the plan's owner (or just describes it when dry). */
export function takeAt(sp: IpamState, p: Plan, c: number, w: ArrayLike<number>, blockLen: number, host: boolean, dry: boolean): Allocation {
  const rows = sp.rows;
  const v6 = c === 0 ? p.stat!.v6 : rows.isV6(c);
  if (dry) return buildAllocation(sp, p.owner, p.inst, p.kind, v6, w, 0, blockLen, host, c, p.labels);
  let r: number;
  if (host) {
    r = sp.newRow(p.inst, v6, w, 0, blockLen, RowType.Alloc, p.kind, p.owner, true);
    sp.attach(p.inst, c, r);
  } else {
    const cidr = new Cidr();
    cidr.v6 = v6;
    for (let i = 0; i < 4; i++) cidr.w[i] = w[i];
    cidr.len = blockLen;
    r = createPrefixRow(sp, p.inst, cidr, cidr.w, p.kind, RowType.Alloc, p.owner, c);
  }
  finishRow(sp, p, r);
  return rowAllocation(sp, r);
}

export function conflict(sp: IpamState, p: Plan, what: string, hit: number): IpamError {
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
  return inUse(sp, p.inst, what, hit, 'spec.prefix');
}

/** Static allocation by label: a reserved address is answered without taking ownership. */
export function refAlloc(sp: IpamState, p: Plan, res: number, dry: boolean): Allocation {
  const rows = sp.rows;
  const v6 = rows.isV6(res);
  if (!dry) {
    const r = sp.newRow(p.inst, v6, rows.page(res), rows.at(res), v6 ? 128 : 32, RowType.Ref, KindCode.Network, p.owner, true);
    rows.setParent(r, res);
    rows.setLabels(r, p.labels === EMPTY_LABELS ? 0 : sp.labels.intern(p.labels));
    sp.owners.set(p.owner, r);
    let set = sp.refs.get(res);
    if (!set) sp.refs.set(res, (set = new Set()));
    set.add(r);
  }
  return buildAllocation(
    sp,
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
