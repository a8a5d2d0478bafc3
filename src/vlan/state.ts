// The VLAN allocator's state: per index two bitmaps and the holders of its ids.
//   taken:   what a claim without a selector cannot take (reserved ids, ids of operator
//            definitions, ids claims hold);
//   claimed: ids claims hold, also those drawn from a definition's range.
// A holder is one id or one block; several owners share it under one vlanClaimName, and an
// operator's single-id definition is shared by the claims that select it.
import { EMPTY_LABELS } from '../ipam/labels.js';
import type { Labels, OwnerKey } from '../ipam/types.js';
import { IdBitmap, RESERVED, formatRange } from './ids.js';
import type { VlanAllocation, VlanIndexInfo, VlanIndexKind, VlanIndexRef } from './types.js';

export interface Holder {
  index: IndexState;
  start: number;
  end: number;
  /** Answered as vlanRange (a block) rather than vlanID. */
  block: boolean;
  /** A definition's owner comes first; the others are claims that selected it. */
  owners: OwnerKey[];
  labels: Labels[];
  claim?: string;
  definition: boolean;
  /** The definition whose range this claim was drawn from. */
  within?: Holder;
}

export interface IndexState {
  ref: Required<VlanIndexRef>;
  key: string;
  kind: VlanIndexKind;
  labels: Labels;
  owner: OwnerKey;
  implied: boolean;
  taken: IdBitmap;
  claimed: IdBitmap;
  /** Claim holders and definitions by id. */
  claimAt: Map<number, Holder>;
  defAt: Map<number, Holder>;
  /** Definitions by start id. */
  defs: Holder[];
  shared: Map<string, Holder>;
}

export const indexKey = (r: VlanIndexRef): string => `${r.namespace || 'default'}/${r.name}`;

export function newIndex(ref: VlanIndexRef, kind: VlanIndexKind, labels: Labels, owner: OwnerKey, implied: boolean): IndexState {
  const taken = new IdBitmap();
  for (const id of RESERVED) taken.set(id);
  return {
    ref: { name: ref.name, namespace: ref.namespace || 'default' },
    key: indexKey(ref),
    kind,
    labels,
    owner,
    implied,
    taken,
    claimed: new IdBitmap(),
    claimAt: new Map(),
    defAt: new Map(),
    defs: [],
    shared: new Map(),
  };
}

export function indexInfo(x: IndexState): VlanIndexInfo {
  const info: VlanIndexInfo = { name: x.ref.name, namespace: x.ref.namespace, kind: x.kind, labels: x.labels, owner: x.owner };
  if (x.implied) info.implied = true;
  return info;
}

/** Marks the holder's ids in its index. */
export function occupy(h: Holder): void {
  const x = h.index;
  for (let id = h.start; id <= h.end; id++) {
    x.taken.set(id);
    if (h.definition) x.defAt.set(id, h);
    else {
      x.claimed.set(id);
      x.claimAt.set(id, h);
    }
  }
  if (h.definition) {
    const i = x.defs.findIndex((d) => d.start > h.start);
    x.defs.splice(i < 0 ? x.defs.length : i, 0, h);
  }
  if (h.claim !== undefined) x.shared.set(h.claim, h);
}

/** Frees the holder's ids (what a definition's range gave out stays with its claims). */
export function vacate(h: Holder): void {
  const x = h.index;
  for (let id = h.start; id <= h.end; id++) {
    if (h.definition) {
      x.defAt.delete(id);
      if (!x.claimed.has(id)) x.taken.clear(id);
    } else {
      x.claimed.clear(id);
      x.claimAt.delete(id);
      if (!x.defAt.has(id)) x.taken.clear(id);
    }
  }
  if (h.definition) x.defs.splice(x.defs.indexOf(h), 1);
  if (h.claim !== undefined && x.shared.get(h.claim) === h) x.shared.delete(h.claim);
}

/** The allocation `owner` holds (or would hold, with `labels`) through `h`. */
export function answer(h: Holder, owner: OwnerKey, labels?: Labels): VlanAllocation {
  const i = h.owners.indexOf(owner);
  const a: VlanAllocation = { owner, index: h.index.ref, labels: labels ?? h.labels[i] ?? EMPTY_LABELS };
  if (h.block) a.vlanRange = formatRange(h.start, h.end);
  else a.vlanID = h.start;
  if (h.claim !== undefined) a.claim = h.claim;
  if (h.definition) {
    if (i === 0 && h.owners.length > 0) a.definition = true;
    else a.reference = true;
  }
  return a;
}
