// Putting an Allocation back exactly where it was, without any selection: the fast path of
// restore (tree order makes it O(1) amortised per allocation) and of rolling back a failed
// replacement.

import { Cidr } from './addr.js';
import { classOfAllocation, RequestClass } from './candidates.js';
import { IpamError } from './errors.js';
import { EMPTY_LABELS, isEmptyLabels, L_NETWORK_NAME } from './labels.js';
import { finishRow, refAlloc } from './place.js';
import { createPrefixRow, kindCode, parseField } from './prefixes.js';
import type { Plan } from './request.js';
import { KindCode, RowType } from './rows.js';
import type { Instance, IpamState } from './state.js';
import { Probe } from './trie.js';
import type { Allocation, AllocationRequest } from './types.js';

const restoreCidr = new Cidr();
const parentCidr = new Cidr();
let lastParentText = '';

/**
 * Puts an Allocation (from a snapshot, or one being rolled back) back without any selection:
 * the fast path of restore. Host vs subnet is told by `parent` (a host's parent is its subnet).
 */
export function insertAllocation(state: IpamState, a: Allocation): void {
  const inst = state.instance(a.networkInstance);
  const kind = kindCode(a.kind, 'kind', inst);
  const c = parseField(a.prefix, 'prefix', inst, restoreCidr);
  // a host address is written addr/<subnet length> under its subnet; a created subnet is
  // always longer than the aggregate it came from
  const address = kind === KindCode.Loopback || (kind === KindCode.Network && parentLength(a.parent, inst) === c.len);
  const p = restoringPlan(a, inst, kind, classOfAllocation(kind, address), c);
  if (address) return insertAddress(state, a, p, c);
  state.locate(inst, c.v6, c.w, 0, c.len);
  if (state.locProbe !== Probe.Free) throw restoreError(a, inst, `in use by ${state.holderOf(state.locHit)}`);
  const r = createPrefixRow(state, inst, c, c.w, kind, RowType.Alloc, a.owner, state.locContainer);
  finishRow(state, p, r, true);
}

/** The prefix length of an allocation's parent (restores list many allocations of one parent). */
function parentLength(parent: string, inst: Instance): number {
  if (parent !== lastParentText) {
    parseField(parent, 'parent', inst, parentCidr);
    lastParentText = parent;
  }
  return parentCidr.len;
}

/** A single address: a lookup of a reserved address, or a host or loopback address taken. */
function insertAddress(state: IpamState, a: Allocation, p: Plan, c: Cidr): void {
  const inst = p.inst;
  state.locate(inst, c.v6, c.w, 0, c.v6 ? 128 : 32);
  const container = state.locContainer;
  if (state.locProbe === Probe.Exact && state.rows.type(state.locHit) === RowType.Reserved && p.kind === KindCode.Network) {
    if (state.owners.has(a.owner)) throw restoreError(a, inst, 'the owner already holds an allocation');
    refAlloc(state, p, state.locHit, false);
    return;
  }
  if (state.locProbe !== Probe.Free || container === 0) {
    throw restoreError(a, inst, state.locProbe === Probe.Free ? 'no enclosing prefix' : `in use by ${state.holderOf(state.locHit)}`);
  }
  const r = state.newRow(inst, c.v6, c.w, 0, c.v6 ? 128 : 32, RowType.Alloc, p.kind, a.owner, true);
  state.attach(inst, container, r);
  finishRow(state, p, r, true);
}

/** The plan an allocation being put back stands for (one object, reused: restores are bulk). */
function restoringPlan(a: Allocation, inst: Instance, kind: KindCode, requestClass: RequestClass, c: Cidr): Plan {
  const labels = a.labels && !isEmptyLabels(a.labels) ? a.labels : EMPTY_LABELS;
  const p = restorePlan;
  p.inst = inst;
  p.owner = a.owner;
  p.kind = kind;
  p.requestClass = requestClass;
  p.family = c.v6 ? 1 : 0;
  p.prefixLength = c.len;
  p.staticPrefix = c;
  p.labels = labels;
  p.networkName = requestClass === RequestClass.Subnet ? labels[L_NETWORK_NAME] : undefined;
  return p;
}

const restorePlan: Plan = {
  req: {} as AllocationRequest,
  inst: undefined as unknown as Instance,
  owner: '',
  kind: KindCode.Network,
  requestClass: RequestClass.Host,
  family: -1,
  prefixLength: -1,
  staticPrefix: null,
  selector: undefined,
  labels: EMPTY_LABELS,
  networkName: undefined,
  hint: undefined,
};

function restoreError(a: Allocation, inst: Instance, why: string): IpamError {
  return new IpamError('InvalidArgument', `cannot restore allocation ${a.prefix} of ${a.owner} in network instance ${inst.key}: ${why}`, {
    networkInstance: inst.key,
    prefix: a.prefix,
  });
}
