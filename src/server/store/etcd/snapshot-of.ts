// The allocator snapshot etcd's keys describe (a load, a new replica, a reload): the keys of
// keys.ts turned back into what ipam/snapshot.ts restores.
import { compareWords, maskTo, parseCidr } from '../../../ipam/addr.js';
import type { Allocation, NetworkInstanceInfo, PrefixSpec, Snapshot } from '../../../ipam/types.js';
import { instId, type Keys } from './keys.js';
import { decodeOwnerValue } from './owner-value.js';
import { vlanSnapshotOf } from './vlan-state.js';
import type { Kv } from './state.js';

type InstOrder = (ref: { name: string; namespace?: string }) => number;

/**
 * The allocator snapshot the keys describe. Ordered for restore (see ipam/snapshot.ts):
 * instances in creation order; per instance, prefixes and allocations in tree order (every
 * prefix before what lies inside it), lookups of reserved addresses last.
 */
export function snapshotOf(kvs: Kv[], keys: Keys): Snapshot {
  const { nis, specs, allocs } = readKeys(kvs, keys);
  nis.sort((x, y) => x.created - y.created);
  const order = new Map(nis.map((n, i) => [instId(n.ni), i]));
  const instOrder: InstOrder = (ref) => order.get(instId(ref)) ?? Number.MAX_SAFE_INTEGER;
  const { ordered, reserved } = orderSpecs(specs, instOrder);
  const vlan = vlanSnapshotOf(kvs, keys);
  return {
    version: 1,
    networkInstances: nis.map((n) => n.ni),
    prefixes: ordered,
    allocations: orderAllocations(allocs, reserved, instOrder),
    ...(vlan ? { vlan } : {}),
  };
}

function readKeys(kvs: Kv[], keys: Keys) {
  const nis: { ni: NetworkInstanceInfo; created: number }[] = [];
  const specs: PrefixSpec[] = [];
  const allocs: Allocation[] = [];
  for (const kv of kvs) {
    const k = keys.parse(kv.key);
    if (!k) continue;
    if (k.kind === 'ni') nis.push({ ni: JSON.parse(kv.value.toString()) as NetworkInstanceInfo, created: kv.createRevision });
    else if (k.kind === 'pfx') specs.push(JSON.parse(kv.value.toString()) as PrefixSpec);
    else if (k.kind === 'own') {
      const { allocation } = decodeOwnerValue(kv.value);
      if (allocation) allocs.push({ owner: k.id, ...allocation });
    }
  }
  return { nis, specs, allocs };
}

/** Prefixes in tree order, and the reserved addresses (network/loopback IPPrefixes written
 *  with host bits) per instance. */
function orderSpecs(specs: PrefixSpec[], instOrder: InstOrder): { ordered: PrefixSpec[]; reserved: Set<string> } {
  const reserved = new Set<string>();
  const specKeys = specs.map((s) => {
    const c = parseCidr(s.prefix);
    if (c.hostBits) reserved.add(`${instId(s.networkInstance)} ${wordsKey(c.v6, c.w)}`);
    const net = new Uint32Array(c.w);
    maskTo(net, c.len, c.v6);
    return { s, v6: c.v6, w: net, len: c.len };
  });
  specKeys.sort(
    (a, b) =>
      instOrder(a.s.networkInstance) - instOrder(b.s.networkInstance) ||
      Number(a.v6) - Number(b.v6) ||
      compareWords(a.w, 0, b.w, 0) ||
      a.len - b.len ||
      cmpStr(a.s.prefix, b.s.prefix) ||
      cmpStr(a.s.owner, b.s.owner),
  );
  return { ordered: specKeys.map((k) => k.s), reserved };
}

/** Allocations in tree order, lookups of reserved addresses last. */
function orderAllocations(allocs: Allocation[], reserved: Set<string>, instOrder: InstOrder): Allocation[] {
  const allocKeys = allocs.map((a) => {
    const c = parseCidr(a.prefix);
    const W = c.v6 ? 128 : 32;
    let host = a.kind === 'loopback';
    if (a.kind === 'network') host = parseCidr(a.parent).len === c.len;
    const w = new Uint32Array(c.w);
    if (!host) maskTo(w, c.len, c.v6);
    const ref = host && reserved.has(`${instId(a.networkInstance)} ${wordsKey(c.v6, w)}`);
    return { a, v6: c.v6, w, len: host ? W : c.len, ref };
  });
  allocKeys.sort(
    (x, y) =>
      Number(x.ref) - Number(y.ref) ||
      instOrder(x.a.networkInstance) - instOrder(y.a.networkInstance) ||
      Number(x.v6) - Number(y.v6) ||
      compareWords(x.w, 0, y.w, 0) ||
      x.len - y.len ||
      cmpStr(x.a.owner, y.a.owner),
  );
  return allocKeys.map((k) => k.a);
}

const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const wordsKey = (v6: boolean, w: ArrayLike<number>): string => `${v6 ? 6 : 4}:${w[0]}.${w[1]}.${w[2]}.${w[3]}`;
