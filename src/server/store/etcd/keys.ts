// Key layout of the etcd store (docs/etcd.md has the values and sizes). Everything lives under
// one root (default `/ipam`), so that a watch on `<root>/` sees every change and several
// deployments can share an etcd cluster:
//   <root>/ni/<ns>/<name>                   a network instance (NetworkInstanceInfo)
//   <root>/rev/<ns>/<name>                  its revision key: the id of the last transaction that
//                                           changed the instance; every transaction that changes
//                                           it compares this value and writes its own id
//   <root>/jr/<ns>/<name>                   that transaction's records (the journal other replicas
//                                           replay), written with the revision key
//   <root>/pfx/<ns>/<name>/<prefix> <owner> an IPPrefix (PrefixSpec); <prefix> as written
//                                           canonically, host bits kept (10.0.1.1/24)
//   <root>/own/<owner>                      what one owner holds: its allocation (an owner holds
//                                           at most one) and the ids of its prefixes and instances
//   <root>/vix/<ns>/<name>                  a VLAN index (VlanIndexInfo)
//   <root>/vown/<owner>                     what one owner holds in a VLAN index (its VlanAllocation)
//   <root>/rev/vlan, <root>/jr/vlan         the revision key and journal of all VLAN state: one
//                                           conflict domain (vlan-state.ts); no instance id is
//                                           `vlan` (they all hold a `/`)
//   <root>/turn/<ns>/<name>                 not state: the writer id of a replica that keeps losing
//                                           races on the instance; others that see it written
//                                           hold back their next transactions on it (a turn)
//   <root>/lease/...                        not state: write leases and peer addresses
//                                           (leases.ts), the peer secret (etcd-store.ts)
// Instance ids are `<ns>/<name>` (Kubernetes names hold no `/`); prefix ids are
// `<ns>/<name>/<prefix> <owner>` (a prefix text holds no space).
import { formatCidr, parseCidr } from '../../../ipam/addr.js';
import type { NetworkInstanceRef } from '../../../ipam/types.js';

export type KeyKind = 'ni' | 'rev' | 'jr' | 'pfx' | 'own' | 'vix' | 'vown';

const KINDS: ReadonlySet<string> = new Set<KeyKind>(['ni', 'rev', 'jr', 'pfx', 'own', 'vix', 'vown']);

export const DEFAULT_ROOT = '/ipam';

/** The prefix as the allocator identifies a spec, and as prefix ids hold it: canonical, host bits kept. */
export const specCanon = (prefix: string): string => formatCidr(parseCidr(prefix));

export const instId = (ref: NetworkInstanceRef): string => `${ref.namespace || 'default'}/${ref.name}`;

/** The instance id a prefix id starts with. */
export function instOfPrefixId(pid: string): string {
  const a = pid.indexOf('/');
  const b = pid.indexOf('/', a + 1);
  return pid.slice(0, b);
}

export class Keys {
  readonly root: string;
  /** `<root>/`: every key of the store starts with it. */
  readonly base: string;
  constructor(root = DEFAULT_ROOT) {
    if (!/^\/[^\s]*[^/\s]$/.test(root)) throw new Error(`etcd prefix must start with / and not end with / (got "${root}")`);
    this.root = root;
    this.base = `${root}/`;
  }
  ni(id: string): string {
    return `${this.base}ni/${id}`;
  }
  rev(id: string): string {
    return `${this.base}rev/${id}`;
  }
  jr(id: string): string {
    return `${this.base}jr/${id}`;
  }
  pfx(pid: string): string {
    return `${this.base}pfx/${pid}`;
  }
  own(owner: string): string {
    return `${this.base}own/${owner}`;
  }
  vix(id: string): string {
    return `${this.base}vix/${id}`;
  }
  vown(owner: string): string {
    return `${this.base}vown/${owner}`;
  }
  turn(id: string): string {
    return `${this.base}turn/${id}`;
  }
  /** Splits a key of this store into its kind and the id after it; null for foreign keys. */
  parse(key: string): { kind: KeyKind; id: string } | null {
    if (!key.startsWith(this.base)) return null;
    const rest = key.slice(this.base.length);
    const slash = rest.indexOf('/');
    if (slash < 0) return null;
    const kind = rest.slice(0, slash);
    if (!KINDS.has(kind)) return null;
    return { kind: kind as KeyKind, id: rest.slice(slash + 1) };
  }
}

/** The range end that makes [key, end) every key starting with `prefix`. */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const out = b.subarray(0, i + 1);
      out[i]!++;
      return out;
    }
  }
  return Buffer.from([0]);
}
