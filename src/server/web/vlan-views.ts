// What the web view shows of the VLAN indexes: each index with how many of its 4096 ids are
// free, reserved, defined by an operator's VLAN resource, or claimed; and one index's holders
// (an id or a block and who holds it), from which the page draws the 4096 cells.
// A scoped viewer (package token) lists the indexes its package owns or holds ids in, and sees
// other packages' ids as taken, without their owner, claim name or labels.
import { IpamError } from '../../ipam/errors.js';
import type { Ipam } from '../../ipam/index.js';
import { RESERVED } from '../../vlan/index.js';
import type { VlanAllocation, VlanIndexInfo, VlanIndexRef } from '../../vlan/types.js';
import { localOwner, packageOf, SCOPE_SEPARATOR } from '../../protocol/owner.js';
import type { Viewer } from './views.js';

const VLAN_IDS = 4096;

/** A cell's state: a claim's id or block wins over the definition it was drawn from. */
export type VlanState = 'free' | 'reserved' | 'defined' | 'allocated' | 'range';

export type VlanCounts = Record<VlanState, number>;

export interface VlanHolderView {
  start: number;
  end: number;
  /** defined: an operator's VLAN resource; allocated: a claim's one id; range: a claim's block. */
  state: 'defined' | 'allocated' | 'range';
  /** Who holds it: one claim, the claims sharing it under a vlanClaimName, or a definition and
   *  the claims that selected it. Empty package and owner: another package (scoped viewer). */
  owners: { package: string; owner: string }[];
  /** The vlanClaimName it is shared under (absent: none, or not the viewer's to read). */
  claim?: string;
  /** Absent when there are none, or when they are not the viewer's to read. */
  labels?: Record<string, string>;
}

export interface VlanIndexView {
  name: string;
  namespace: string;
  kind: string;
  /** Implied by a WorkloadCluster. */
  implied: boolean;
  labels: Record<string, string>;
  package: string;
  owner: string;
  counts: VlanCounts;
}

export interface VlanIndexMap extends VlanIndexView {
  /** In id order, definitions before the claims inside them. */
  holders: VlanHolderView[];
}

const key = (r: { namespace?: string; name: string }) => `${r.namespace || 'default'}/${r.name}`;
const visible = (viewer: Viewer, owner: string) => viewer.scope === undefined || packageOf(owner) === viewer.scope;
const who = (viewer: Viewer, owner: string) =>
  visible(viewer, owner) ? { package: packageOf(owner), owner: localOwner(owner) } : { package: '', owner: '' };

/** Every VLAN index the viewer may list, with its counts. */
export function vlanIndexes(ipam: Ipam, viewer: Viewer): VlanIndexView[] {
  const mine =
    viewer.scope === undefined
      ? undefined
      : new Set(ipam.vlan.listAllocations({ ownerPrefix: `${viewer.scope}${SCOPE_SEPARATOR}` }).map((a) => key(a.index)));
  return ipam.vlan
    .listIndexes()
    .filter((x) => mine === undefined || mine.has(key(x)) || visible(viewer, x.owner))
    .map((x) => indexView(x, viewer, countsOf(ipam.vlan.listAllocations({ index: x }))));
}

/** One index: its holders, from which the page draws every id. */
export function vlanIndexMap(ipam: Ipam, ref: Required<VlanIndexRef>, viewer: Viewer): VlanIndexMap {
  const info = ipam.vlan.listIndexes().find((x) => x.name === ref.name && x.namespace === ref.namespace);
  if (!info) throw new IpamError('NotFound', `VLAN index ${key(ref)} not found`);
  const list = ipam.vlan.listAllocations({ index: ref });
  return { ...indexView(info, viewer, countsOf(list)), holders: holdersOf(list, viewer) };
}

function indexView(x: VlanIndexInfo, viewer: Viewer, counts: VlanCounts): VlanIndexView {
  const shown = visible(viewer, x.owner);
  return {
    name: x.name,
    namespace: x.namespace,
    kind: x.kind,
    implied: x.implied === true,
    labels: shown ? { ...x.labels } : {},
    ...who(viewer, x.owner),
    counts,
  };
}

const span = (a: VlanAllocation): [number, number] => {
  if (a.vlanRange === undefined) return [a.vlanID!, a.vlanID!];
  const [s, e] = a.vlanRange.split(':').map(Number);
  return [s!, e!];
};

/** Each id's state, a claim's over its definition's, and the totals. */
export function countsOf(list: VlanAllocation[]): VlanCounts {
  const rank = { free: 0, reserved: 1, defined: 2, allocated: 3, range: 3 } as const;
  const states: VlanState[] = new Array<VlanState>(VLAN_IDS).fill('free');
  for (const id of RESERVED) states[id] = 'reserved';
  for (const a of list) {
    const state: VlanState = a.definition || a.reference ? 'defined' : a.vlanRange !== undefined ? 'range' : 'allocated';
    const [s, e] = span(a);
    for (let id = s; id <= e; id++) if (rank[state] > rank[states[id]!]) states[id] = state;
  }
  const counts: VlanCounts = { free: 0, reserved: 0, defined: 0, allocated: 0, range: 0 };
  for (const s of states) counts[s]++;
  return counts;
}

/** The allocator lists a shared id once per owner: one holder each, owners together. */
function holdersOf(list: VlanAllocation[], viewer: Viewer): VlanHolderView[] {
  const byId = new Map<string, VlanHolderView>();
  const out: VlanHolderView[] = [];
  for (const a of list) {
    const [start, end] = span(a);
    const state = a.definition || a.reference ? 'defined' : a.vlanRange !== undefined ? 'range' : 'allocated';
    const k = `${state === 'defined' ? 'd' : 'c'}${start}:${end}`;
    let h = byId.get(k);
    if (!h) {
      h = { start, end, state, owners: [] };
      byId.set(k, h);
      out.push(h);
    }
    h.owners.push(who(viewer, a.owner));
    // what the viewer may read: its own holder's labels and claim name
    if (visible(viewer, a.owner)) {
      if (a.claim !== undefined) h.claim = a.claim;
      if (!a.reference && Object.keys(a.labels).length > 0) h.labels = { ...a.labels };
    }
  }
  return out.sort((a, b) => a.start - b.start || (a.state === 'defined' ? -1 : 0) - (b.state === 'defined' ? -1 : 0));
}
