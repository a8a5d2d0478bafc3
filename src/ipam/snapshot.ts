// Whole-state snapshot as plain JSON-serialisable data, and restore. Allocations are listed
// in tree order (every prefix before what lies inside it) so restore places each one with a
// single descent and no selection.

import { Cidr, compareWords, maskTo, parseCidr } from './addr.js';
import { insertAllocation } from './restore.js';
import { IpamError } from './errors.js';
import { rowAllocation } from './output.js';
import { applyNetworkInstance, applyPrefix, instanceInfo } from './prefixes.js';
import { allocationRows, sortedSpecs } from './queries.js';
import { niKey, IpamState, type Instance } from './state.js';
import type { Allocation, PrefixSpec, Snapshot } from './types.js';

export function snapshot(state: IpamState): Snapshot {
  const insts = state.instances.filter((i): i is Instance => !!i);
  const prefixes: PrefixSpec[] = [];
  const allocations: Allocation[] = [];
  for (const inst of insts) {
    for (const s of sortedSpecs(state, inst)) {
      if (s.fromInstance) continue;
      const p: PrefixSpec = { networkInstance: inst.ref, prefix: s.canon, kind: state.kindName(s.kind), owner: s.owner };
      if (s.networkName !== undefined) p.networkName = s.networkName;
      if (Object.keys(s.labels).length) p.labels = s.labels;
      prefixes.push(p);
    }
  }
  allocationRows(state, insts, (r) => {
    allocations.push(rowAllocation(state, r));
  });
  return { version: 1, networkInstances: insts.map(instanceInfo), prefixes, allocations };
}

export function restore(snap: Snapshot): IpamState {
  if (!snap || snap.version !== 1) {
    throw new IpamError('InvalidArgument', `unsupported snapshot version ${JSON.stringify(snap?.version)}: want 1`, { field: 'version' });
  }
  const state = new IpamState();
  for (const ni of snap.networkInstances ?? []) {
    applyNetworkInstance(state, { name: ni.name, namespace: ni.namespace }, ni.prefixes, ni.owner);
  }
  // Specs and allocations go in one merged tree order per instance (an IPPrefix may lie inside
  // a prefix an allocation created, and hosts inside an IPPrefix's subnet): before each
  // allocation, the specs of its instance that sort before it are applied.
  const pending = new Map<string, { key: Cidr; spec: PrefixSpec }[]>();
  for (const p of snap.prefixes ?? []) {
    const k = niKey(p.networkInstance);
    let list = pending.get(k);
    if (!list) pending.set(k, (list = []));
    list.push({ key: keyOf(p.prefix, true), spec: p });
  }
  for (const list of pending.values()) list.sort((a, b) => compareKeys(a.key, b.key)).reverse();
  const key = new Cidr();
  for (const a of snap.allocations ?? []) {
    const list = pending.get(niKey(a.networkInstance));
    if (list && list.length) {
      keyInto(a.prefix, key);
      while (list.length && compareKeys(list[list.length - 1].key, key) <= 0) applyPrefix(state, list.pop()!.spec);
    }
    insertAllocation(state, a);
  }
  for (const list of pending.values()) while (list.length) applyPrefix(state, list.pop()!.spec);
  return state;
}

/** Sort key of a prefix text: family, address (masked for specs), length. Malformed text sorts first and fails when applied. */
function keyOf(text: string, mask: boolean): Cidr {
  const c = new Cidr();
  keyInto(text, c);
  if (mask) maskTo(c.w, c.len, c.v6);
  return c;
}

function keyInto(text: string, c: Cidr): void {
  try {
    parseCidr(text, c);
  } catch {
    c.v6 = false;
    c.w.fill(0);
    c.len = 0;
  }
}

function compareKeys(a: Cidr, b: Cidr): number {
  if (a.v6 !== b.v6) return a.v6 ? 1 : -1;
  return compareWords(a.w, 0, b.w, 0) || a.len - b.len;
}
