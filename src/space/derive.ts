// A Network turned into address space, the way Nephio's network controller does it
// (nephio-project/nephio controllers/pkg/reconcilers/network with henderiw-nephio/network
// pkg/network): one network instance per routing table, named after it, whose prefixes are
// aggregates named `<prefix>-<table>-aggregate`; and, for each cluster behind a selector of a
// bridge domain (or of the table itself), per network-kind prefix a subnet (/24, /64) with its
// gateway, per pool-kind prefix a pool (/16, /48), both labelled with the cluster.
//
// The cluster work is a list of claims (what the controller sends as IPClaims, under the
// controller's claim names), answered by the allocator like any request: lowest free, and
// idempotent per owner, so applying it again (another render, another package on a shared
// server) changes nothing.
import { contains, formatAddr, fromBig, parseCidr, toBig } from '../ipam/addr.js';
import { selectorMatches } from '../ipam/labels.js';
import type { AddressFamily, AllocationRequest, InstancePrefix, Ipam, NetworkInstanceRef, PrefixKind } from '../ipam/types.js';
import type { ClusterDef, NetworkDef, NetworkInstanceDef } from './definitions.js';
import { SpaceFieldError } from './fields.js';
import { clusterPrefixLength } from './network-config.js';

export const L_CLUSTER_NAME = 'nephio.org/cluster-name';
export const L_PURPOSE = 'nephio.org/purpose';
export const L_NSN_NAME = 'nephio.org/nsn-name';
export const L_NSN_NAMESPACE = 'nephio.org/nsn-namespace';
export const L_PREFIX_KIND = 'nephio.org/prefix-kind';
export const L_GATEWAY = 'nephio.org/gateway';
export const L_NETWORK_NAME = 'nephio.org/network-name';

/** One claim the controller would make for a cluster. */
export interface ClusterClaim {
  /** Which Network asked for it (results name it). */
  network: string;
  field: string;
  kind: 'network' | 'pool';
  request: AllocationRequest;
}

export interface DerivedSpace {
  networkInstances: (NetworkInstanceDef & { network: string })[];
  claims: ClusterClaim[];
}

/** The controller's object names: `<prefix with / and : as ->-<name>-<suffix>`. */
export const prefixName = (prefix: string, name: string, suffix: string): string =>
  `${prefix.replace(/[/:]/g, '-')}-${name}${suffix ? `-${suffix}` : ''}`;

const familyOf = (prefix: string): AddressFamily => (prefix.includes(':') ? 'ipv6' : 'ipv4');

/**
 * Network definitions and clusters -> network instances and cluster claims. `scope` turns a
 * local owner into the owner key the target uses (the server puts shared space in a scope of
 * its own). Throws SpaceFieldError (with the Network's owner) for a malformed Network.
 */
export function deriveSpace(networks: NetworkDef[], clusters: ClusterDef[], scope: (local: string) => string = (o) => o): DerivedSpace {
  const out: DerivedSpace = { networkInstances: [], claims: [] };
  for (const net of networks) {
    const ns = net.namespace || 'default';
    net.routingTables.forEach((rt, ti) => {
      checkOverlap(net, ti);
      const ref: NetworkInstanceRef = net.namespace ? { name: rt.name, namespace: net.namespace } : { name: rt.name };
      const prefixes: InstancePrefix[] = rt.prefixes.map((p) => ({
        prefix: p.prefix,
        labels: { ...p.labels, [L_NSN_NAME]: prefixName(p.prefix, rt.name, 'aggregate'), [L_NSN_NAMESPACE]: ns },
      }));
      out.networkInstances.push({ ref, prefixes, owner: scope(`${ns}/Network/${net.name}`), network: net.owner });
      for (const { cluster, via } of attachedClusters(net, ti, clusters)) {
        rt.prefixes.forEach((p, pi) => {
          const kind = (p.labels[L_PREFIX_KIND] ?? 'network') as PrefixKind;
          if (kind !== 'network' && kind !== 'pool') return; // loopbacks are per node, not per cluster
          const family = familyOf(p.prefix);
          const name = kind === 'pool' ? `${prefixName(p.prefix, rt.name, 'pool')}-${cluster}` : prefixName(p.prefix, via, 'irb');
          const { [L_PREFIX_KIND]: _kind, ...userLabels } = p.labels;
          const labels: Record<string, string> = { ...userLabels, [L_CLUSTER_NAME]: cluster };
          if (kind === 'network') labels[L_PURPOSE] = 'link prefix';
          out.claims.push({
            network: net.owner,
            field: `spec.routingTables[${ti}].prefixes[${pi}]`,
            kind,
            request: {
              owner: scope(`${ns}/IPClaim/${name}`),
              networkInstance: ref,
              kind,
              addressFamily: family,
              prefixLength: clusterPrefixLength(net, kind, family),
              createPrefix: true,
              selector: { matchLabels: { [L_NSN_NAME]: prefixName(p.prefix, rt.name, 'aggregate') } },
              labels,
            },
          });
        });
      }
    });
  }
  return out;
}

/** The clusters routing table `ti` reaches, through its bridge domains or selected directly,
 *  with the name the controller's claims carry (`<bridge domain>-<cluster>-bd`). */
function attachedClusters(net: NetworkDef, ti: number, clusters: ClusterDef[]): { cluster: string; via: string }[] {
  const rt = net.routingTables[ti]!;
  const attached: { cluster: string; via: string }[] = [];
  const seen = new Set<string>();
  const attach = (sel: Parameters<typeof selectorMatches>[0], via: (cluster: string) => string) => {
    for (const c of clusters) {
      if (seen.has(c.name) || !selectorMatches(sel, { [L_CLUSTER_NAME]: c.name })) continue;
      seen.add(c.name);
      attached.push({ cluster: c.name, via: via(c.name) });
    }
  };
  for (const itf of rt.interfaces) {
    if (itf.kind === 'bridgedomain') {
      const bd = net.bridgeDomains.find((b) => b.name === itf.bridgeDomainName);
      if (!bd) continue;
      for (const bi of bd.interfaces) if (bi.selector) attach(bi.selector, (c) => `${bd.name}-${c}-bd`);
    } else if (itf.selector) attach(itf.selector, (c) => `${rt.name}-${c}`);
  }
  return attached;
}

/** The Networks whose routing tables reach cluster `name` (through a bridge domain or directly). */
export function networksAttaching(networks: NetworkDef[], name: string): NetworkDef[] {
  const probe: ClusterDef[] = [{ name, owner: '' }];
  return networks.filter((n) => n.routingTables.some((_, ti) => attachedClusters(n, ti, probe).length > 0));
}

/** Prefixes of one routing table must not overlap: each is its own aggregate. */
function checkOverlap(net: NetworkDef, ti: number): void {
  const list = net.routingTables[ti]!.prefixes;
  const parsed = list.map((p, i) => {
    try {
      return parseCidr(p.prefix);
    } catch (e) {
      throw new SpaceFieldError(
        `spec.routingTables[${ti}].prefixes[${i}].prefix`,
        `spec.routingTables[${ti}].prefixes[${i}].prefix: ${(e as Error).message}`,
      );
    }
  });
  for (let i = 0; i < parsed.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = parsed[j]!,
        b = parsed[i]!;
      if (a.v6 !== b.v6) continue;
      if (contains(a.w, 0, a.len, b.w, 0, b.len) || contains(b.w, 0, b.len, a.w, 0, a.len)) {
        const f = `spec.routingTables[${ti}].prefixes[${i}].prefix`;
        throw new SpaceFieldError(
          f,
          `${f} ${list[i]!.prefix} overlaps ${list[j]!.prefix} (spec.routingTables[${ti}].prefixes[${j}]) in routing table ${net.routingTables[ti]!.name}`,
        );
      }
    }
  }
}

/** What derived space is applied to: the allocator, or the server's transaction. */
export type SpaceTarget = Pick<
  Ipam,
  'applyNetworkInstance' | 'applyPrefix' | 'allocate' | 'dryRun' | 'getAllocations' | 'listNetworkInstances' | 'listPrefixes'
>;

/**
 * Applies a network instance a Network defines: created when new, left alone when the same
 * Network defined it identically, an error when it differs or something else owns the name.
 */
export function applyDerivedInstance(t: SpaceTarget, ni: NetworkInstanceDef): void {
  const ns = ni.ref.namespace || 'default';
  const cur = t.listNetworkInstances().find((e) => e.name === ni.ref.name && e.namespace === ns);
  if (cur) {
    if (cur.owner !== ni.owner) throw new Error(`network instance ${ns}/${ni.ref.name} is already defined by ${cur.owner}`);
    if (samePrefixes(cur.prefixes, ni.prefixes)) return;
    throw new Error(
      `network instance ${ns}/${ni.ref.name} is defined differently already (prefixes ${cur.prefixes.map((p) => p.prefix).join(', ')}): every package must carry the same Network`,
    );
  }
  t.applyNetworkInstance(ni.ref, ni.prefixes, ni.owner);
}

function samePrefixes(a: InstancePrefix[], b: InstancePrefix[]): boolean {
  const text = (l: InstancePrefix[]) => JSON.stringify(l.map((p) => [p.prefix, Object.entries(p.labels ?? {}).sort()]));
  return text(a) === text(b);
}

/**
 * One cluster claim. A pool is carved from its aggregate. A subnet is found (the lowest free
 * of its length) and then defined like an IPPrefix `<first address>/<len>` with
 * `nephio.org/gateway: "true"`: the subnet and its gateway, as the controller's link-prefix
 * and gateway claims make them. A subnet the claim's owner defined before is kept as it is.
 */
export function applyClusterClaim(t: SpaceTarget, c: ClusterClaim): void {
  const r = c.request;
  const held =
    c.kind === 'pool'
      ? t.getAllocations(r.owner).find((a) => a.addressFamily === r.addressFamily)?.prefix
      : t.listPrefixes(r.networkInstance).find((p) => p.owner === r.owner && p.addressFamily === r.addressFamily)?.prefix;
  if (held) {
    // made before from this Network: with the same prefix length, or the definitions differ
    if (Number(held.split('/')[1]) !== r.prefixLength) {
      const cluster = r.labels?.[L_CLUSTER_NAME];
      throw new Error(
        `cluster ${cluster}'s ${c.kind === 'pool' ? 'pool' : 'subnet'} in network instance ${r.networkInstance.name} is ${held} already, this Network's prefix length is /${r.prefixLength}: every package must carry the same NetworkConfig`,
      );
    }
    if (c.kind === 'network') return;
  }
  if (c.kind === 'pool') {
    t.allocate(r);
    return;
  }
  const subnet = t.dryRun(r);
  t.applyPrefix({
    networkInstance: r.networkInstance,
    prefix: firstHost(subnet.prefix),
    kind: 'network',
    labels: { ...r.labels, [L_GATEWAY]: 'true' },
    ...(r.labels?.[L_NETWORK_NAME] ? { networkName: r.labels[L_NETWORK_NAME] } : {}),
    owner: r.owner,
  });
}

/** `net/len` -> `net+1/len` (BigInt: IPv6 never goes through Number). */
export function firstHost(prefix: string): string {
  const c = parseCidr(prefix);
  const w = new Uint32Array(4);
  fromBig(c.v6, toBig(c.v6, c.w) + 1n, w);
  return `${formatAddr(c.v6, w)}/${c.len}`;
}

/** A problem applying a Network, named by the Network's owner and the field it is about. */
export interface NetworkError {
  owner: string;
  error: Error & { field?: string };
}

/**
 * Derives the space of `networks` for `clusters` and applies it to `t`: instances first,
 * then every cluster's claims. Returns the problems (nothing is thrown), each naming its
 * Network, so the caller reports them all at once.
 */
export function applyNetworks(
  t: SpaceTarget,
  networks: NetworkDef[],
  clusters: ClusterDef[],
  scope?: (local: string) => string,
): NetworkError[] {
  const errors: NetworkError[] = [];
  let derived: DerivedSpace;
  try {
    derived = deriveSpace(networks, clusters, scope);
  } catch (e) {
    // deriveSpace checks one Network at a time; name the one it stopped at
    const bad = networks.find((n) => {
      try {
        deriveSpace([n], []);
        return false;
      } catch {
        return true;
      }
    });
    return [{ owner: bad?.owner ?? networks[0]?.owner ?? 'Network', error: withField(e as Error, 'spec.routingTables') }];
  }
  const failed = new Set<string>();
  for (const ni of derived.networkInstances) {
    try {
      applyDerivedInstance(t, ni);
    } catch (e) {
      failed.add(ni.network);
      errors.push({ owner: ni.network, error: withField(e as Error, 'spec.routingTables') });
    }
  }
  for (const c of derived.claims) {
    if (failed.has(c.network)) continue;
    try {
      applyClusterClaim(t, c);
    } catch (e) {
      errors.push({ owner: c.network, error: withField(e as Error, c.field) });
    }
  }
  return errors;
}

/** The error as the Network's: its message, and the Network field it is about. */
function withField(e: Error, field: string): Error & { field: string } {
  const out = new Error(e.message) as Error & { field: string };
  out.field = e instanceof SpaceFieldError ? e.field : field;
  return out;
}
