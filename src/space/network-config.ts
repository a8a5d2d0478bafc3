// NetworkConfig (henderiw-nephio/network, groups infra2.nephio.org and infra.nephio.org): the
// prefix lengths Nephio's network controller gives a cluster's subnet (`interfaceExternal`,
// default 24 / 64) and pool (`pool`, 16 / 48). The controller itself runs with an empty one
// (the defaults); here a package (or a seed) may set them per Network: a NetworkConfig applies
// to the Network of its name and namespace, one named `default` to every other Network. The
// lengths travel to a server on the Network itself (annotation ANN_PREFIX_LENGTHS), so that
// the server derives what the function derives and two packages that disagree are told so.
import type { AddressFamily } from '../ipam/types.js';
import type { FamilyPrefixLengths, NetworkDef, PrefixLengths, SpaceDefinitions } from './definitions.js';
import { asObj, SpaceFieldError, type Obj } from './fields.js';

export const NETWORK_CONFIG_VERSIONS: ReadonlySet<string> = new Set(['infra2.nephio.org/v1alpha1', 'infra.nephio.org/v1alpha1']);
/** A Network as our clients send it to a server carries its resolved lengths here (JSON). */
export const ANN_PREFIX_LENGTHS = 'ipam-injector.dev/prefix-lengths';
/** The NetworkConfig that applies to every Network without one of its own name. */
export const DEFAULT_CONFIG = 'default';

const DEFAULTS: Record<AddressFamily, Required<FamilyPrefixLengths>> = {
  ipv4: { interfaceInternal: 31, interfaceExternal: 24, pool: 16 },
  ipv6: { interfaceInternal: 127, interfaceExternal: 64, pool: 48 },
};
const KEYS = Object.keys(DEFAULTS.ipv4) as (keyof FamilyPrefixLengths)[];
const BITS: Record<AddressFamily, number> = { ipv4: 32, ipv6: 128 };

/** `spec.prefixLengths`, checked: known keys only, integers within the family's bits. */
export function readPrefixLengths(v: unknown, field: string): PrefixLengths {
  if (v === undefined || v === null) return {};
  const o = asObj(v);
  if (!o) throw new SpaceFieldError(field, `${field} must be a mapping with ipv4 and/or ipv6`);
  const out: PrefixLengths = {};
  for (const [fam, x] of Object.entries(o)) {
    if (fam !== 'ipv4' && fam !== 'ipv6') throw new SpaceFieldError(`${field}.${fam}`, `${field}.${fam} is not ipv4 or ipv6`);
    const f = asObj(x);
    if (!f) throw new SpaceFieldError(`${field}.${fam}`, `${field}.${fam} must be a mapping (${KEYS.join(', ')})`);
    const lengths: FamilyPrefixLengths = {};
    for (const [k, n] of Object.entries(f)) {
      const kf = `${field}.${fam}.${k}`;
      if (!KEYS.includes(k as keyof FamilyPrefixLengths)) throw new SpaceFieldError(kf, `${kf} is not one of ${KEYS.join(', ')}`);
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > BITS[fam]) {
        throw new SpaceFieldError(kf, `${kf} must be a prefix length from 1 to ${BITS[fam]}, not ${JSON.stringify(n)}`);
      }
      lengths[k as keyof FamilyPrefixLengths] = n;
    }
    out[fam] = lengths;
  }
  return out;
}

export function readNetworkConfig(obj: Obj, m: { name: string; namespace?: string }, owner: string, defs: SpaceDefinitions): void {
  const spec = asObj(obj.spec) ?? {};
  const prefixLengths = readPrefixLengths(spec.prefixLengths, 'spec.prefixLengths');
  (defs.networkConfigs ??= []).push({ name: m.name, ...(m.namespace ? { namespace: m.namespace } : {}), owner, prefixLengths });
}

/** A NetworkConfig that applies to no Network, by its owner. */
export interface ConfigProblem {
  owner: string;
  field: string;
  message: string;
}

/**
 * Gives each Network the lengths of its NetworkConfig (its own name, else `default`), once
 * everything is read. A NetworkConfig that applies to no Network is a problem (it would
 * silently do nothing).
 */
export function applyNetworkConfigs(defs: SpaceDefinitions): ConfigProblem[] {
  const configs = defs.networkConfigs ?? [];
  const networks = defs.networks ?? [];
  const ns = (x: { namespace?: string }) => x.namespace || 'default';
  const problems: ConfigProblem[] = [];
  for (const c of configs) {
    if (c.name === DEFAULT_CONFIG || networks.some((n) => n.name === c.name && ns(n) === ns(c))) continue;
    const names = networks.map((n) => n.name).join(', ');
    problems.push({
      owner: c.owner,
      field: 'metadata.name',
      message: `NetworkConfig ${c.name} configures no Network: name it after the Network it is for (${names ? `the Networks here: ${names}` : 'there is no Network here'}), or "${DEFAULT_CONFIG}" for every Network`,
    });
  }
  for (const n of networks) {
    const own = configs.find((c) => c.name === n.name && ns(c) === ns(n));
    const all = configs.find((c) => c.name === DEFAULT_CONFIG && ns(c) === ns(n));
    const lengths = own?.prefixLengths ?? all?.prefixLengths;
    if (lengths && (lengths.ipv4 || lengths.ipv6)) n.prefixLengths = lengths;
  }
  return problems;
}

/** The length of a cluster's subnet (`interfaceExternal`) or pool in `net` for `family`. */
export function clusterPrefixLength(net: NetworkDef, kind: 'network' | 'pool', family: AddressFamily): number {
  const key = kind === 'pool' ? 'pool' : 'interfaceExternal';
  return net.prefixLengths?.[family]?.[key] ?? DEFAULTS[family][key];
}
