// The one reader of space definitions: NetworkInstance and IPPrefix (every ipam API group),
// infra.nephio.org Network and WorkloadCluster, NetworkConfig, the VLAN kinds. The KRM function (src/krm/space.ts) and
// `serve --seed` (src/server/seed.ts) both read through here, so a package and a seed file
// that hold the same YAML define the same space.
//
// To read another kind: add a reader to READERS (apiVersions it accepts, and a function that
// records the resource in SpaceDefinitions, see definitions.ts).
import type { InstancePrefix, NetworkInstanceRef, PrefixKind, PrefixSpec } from '../ipam/types.js';
import type { AttachmentDef, NetworkDef, SpaceDefinitions } from './definitions.js';
import { readVlanDefinition, readVlanIndex, VLAN_ALLOC_VERSIONS, VLAN_RESOURCE_VERSIONS, VLAN_VERSIONS } from './vlan.js';
import { asObj, labels, list, requiredString, scalar, selector, SpaceFieldError, type Obj, type SpaceMeta } from './fields.js';
import { ANN_PREFIX_LENGTHS, NETWORK_CONFIG_VERSIONS, readNetworkConfig, readPrefixLengths } from './network-config.js';

export { SpaceFieldError } from './fields.js';

const IPAM_VERSIONS = new Set(['ipam.nephio.org/v1alpha1', 'ipam.resource.nephio.org/v1alpha1', 'ipam.alloc.nephio.org/v1alpha1']);
const INFRA_VERSIONS = new Set(['infra.nephio.org/v1alpha1']);
const PREFIX_KINDS: readonly string[] = ['aggregate', 'network', 'pool', 'loopback'];
export const LABEL_NETWORK_NAME = 'nephio.org/network-name';

interface KindReader {
  apiVersions: ReadonlySet<string>;
  read(obj: Obj, m: SpaceMeta, owner: string, defs: SpaceDefinitions, source: string | undefined): void;
}

const READERS: Record<string, KindReader> = {
  NetworkInstance: { apiVersions: IPAM_VERSIONS, read: readNetworkInstance },
  IPPrefix: { apiVersions: IPAM_VERSIONS, read: readPrefix },
  Network: { apiVersions: INFRA_VERSIONS, read: readNetwork },
  WorkloadCluster: { apiVersions: INFRA_VERSIONS, read: readCluster },
  NetworkConfig: { apiVersions: NETWORK_CONFIG_VERSIONS, read: readNetworkConfig },
  VLANIndex: { apiVersions: VLAN_RESOURCE_VERSIONS, read: readVlanIndex },
  VLANDatabase: { apiVersions: VLAN_ALLOC_VERSIONS, read: readVlanIndex },
  VLAN: { apiVersions: VLAN_VERSIONS, read: readVlanDefinition },
};

/** Kinds a space definition can have (a quick filter before parsing a resource). */
export const SPACE_DEFINITION_KINDS: ReadonlySet<string> = new Set(Object.keys(READERS));

export function isSpaceDefinition(apiVersion: string, kind: string): boolean {
  return READERS[kind]?.apiVersions.has(apiVersion) ?? false;
}

/** `<namespace>/<Kind>/<name>`, namespace "default" when absent: the owner of what it defines. */
export const definitionOwner = (m: SpaceMeta): string => `${m.namespace || 'default'}/${m.kind}/${m.name}`;

export function spaceMeta(obj: Obj): SpaceMeta {
  const md = asObj(obj.metadata) ?? {};
  const namespace = scalar(md.namespace) || undefined;
  return {
    kind: scalar(obj.kind) ?? '',
    name: scalar(md.name) ?? '',
    ...(namespace ? { namespace } : {}),
    labels: labels(md.labels, 'metadata.labels'),
  };
}

/**
 * Records one space definition in `defs` and returns its owner key; throws SpaceFieldError
 * (naming the field) when it is malformed. `source` says where it came from (for messages
 * that name two resources). The caller checks isSpaceDefinition first.
 */
export function readSpaceDefinition(obj: Obj, defs: SpaceDefinitions, source?: string): string {
  const m = spaceMeta(obj);
  const reader = READERS[m.kind];
  if (!reader) throw new SpaceFieldError('kind', `${m.kind} is not a space definition`);
  if (!m.name) throw new SpaceFieldError('metadata.name', `${m.kind} without metadata.name`);
  const owner = definitionOwner(m);
  reader.read(obj, m, owner, defs, source);
  return owner;
}

function readNetworkInstance(obj: Obj, m: SpaceMeta, owner: string, defs: SpaceDefinitions): void {
  const spec = asObj(obj.spec) ?? {};
  const prefixes = list(spec.prefixes, 'spec.prefixes').map((p, i): InstancePrefix => {
    const f = `spec.prefixes[${i}]`;
    const o = asObj(p);
    const prefix = requiredString(o, 'prefix', `${f}.prefix`);
    const l = labels(o!.labels, `${f}.labels`);
    return Object.keys(l).length ? { prefix, labels: l } : { prefix };
  });
  const ref: NetworkInstanceRef = m.namespace ? { name: m.name, namespace: m.namespace } : { name: m.name };
  defs.networkInstances.push({ ref, prefixes, owner });
}

function readPrefix(obj: Obj, m: SpaceMeta, owner: string, defs: SpaceDefinitions): void {
  const spec = asObj(obj.spec);
  if (!spec) throw new SpaceFieldError('spec', 'spec is required');
  const kind = scalar(spec.kind) ?? 'network';
  if (!PREFIX_KINDS.includes(kind)) throw new SpaceFieldError('spec.kind', `spec.kind "${kind}" is not one of ${PREFIX_KINDS.join(', ')}`);
  const prefix = requiredString(spec, 'prefix', 'spec.prefix');
  let ni: NetworkInstanceRef | undefined;
  if (typeof spec.networkInstance === 'string' && spec.networkInstance) ni = { name: spec.networkInstance };
  else {
    const o = asObj(spec.networkInstance) ?? asObj(spec.networkInstanceRef);
    const name = scalar(o?.name);
    const namespace = scalar(o?.namespace);
    if (name) ni = namespace ? { name, namespace } : { name };
  }
  if (!ni) throw new SpaceFieldError('spec.networkInstance', 'spec.networkInstance is required');
  const l = { ...m.labels, ...labels(spec.labels, 'spec.labels') };
  const out: PrefixSpec = { networkInstance: ni, prefix, kind: kind as PrefixKind, owner };
  // The original API names the network in spec.network, the later ones by label.
  const network = scalar(spec.network) || l[LABEL_NETWORK_NAME];
  if (network) out.networkName = network;
  if (Object.keys(l).length) out.labels = l;
  defs.prefixes.push(out);
}

function readAttachments(v: unknown, field: string): AttachmentDef[] {
  return list(v, field).map((x, i): AttachmentDef => {
    const f = `${field}[${i}]`;
    const o = asObj(x);
    if (!o) throw new SpaceFieldError(f, `${f} must be an object`);
    const kind = requiredString(o, 'kind', `${f}.kind`);
    const out: AttachmentDef = { kind };
    const bd = scalar(o.bridgeDomainName);
    if (bd) out.bridgeDomainName = bd;
    if (kind === 'bridgedomain' && !bd)
      throw new SpaceFieldError(`${f}.bridgeDomainName`, `${f}.bridgeDomainName is required for kind bridgedomain`);
    const sel = selector(o.selector, `${f}.selector`);
    if (sel) out.selector = sel;
    const at = scalar(o.attachmentType);
    if (at) out.attachmentType = at;
    return out;
  });
}

function readNetwork(obj: Obj, m: SpaceMeta, owner: string, defs: SpaceDefinitions, source: string | undefined): void {
  const spec = asObj(obj.spec);
  if (!spec) throw new SpaceFieldError('spec', 'spec is required');
  const routingTables = list(spec.routingTables, 'spec.routingTables').map((x, i) => {
    const f = `spec.routingTables[${i}]`;
    const o = asObj(x);
    const name = requiredString(o, 'name', `${f}.name`);
    const prefixes = list(o!.prefixes, `${f}.prefixes`).map((p, j) => {
      const pf = `${f}.prefixes[${j}]`;
      const po = asObj(p);
      return { prefix: requiredString(po, 'prefix', `${pf}.prefix`), labels: sortedLabels(labels(po!.labels, `${pf}.labels`)) };
    });
    return { name, prefixes, interfaces: readAttachments(o!.interfaces, `${f}.interfaces`) };
  });
  const bridgeDomains = list(spec.bridgeDomains, 'spec.bridgeDomains').map((x, i) => {
    const f = `spec.bridgeDomains[${i}]`;
    const o = asObj(x);
    return { name: requiredString(o, 'name', `${f}.name`), interfaces: readAttachments(o!.interfaces, `${f}.interfaces`) };
  });
  const net: NetworkDef = {
    name: m.name,
    ...(m.namespace ? { namespace: m.namespace } : {}),
    owner,
    routingTables,
    bridgeDomains,
    ...(source ? { source } : {}),
  };
  // the lengths a NetworkConfig gave it, as our clients send a Network to a server
  const sent = scalar(asObj(asObj(obj.metadata)?.annotations)?.[ANN_PREFIX_LENGTHS]);
  if (sent)
    net.prefixLengths = readPrefixLengths(
      parseJson(sent, `metadata.annotations.${ANN_PREFIX_LENGTHS}`),
      `metadata.annotations.${ANN_PREFIX_LENGTHS}`,
    );
  const networks = (defs.networks ??= []);
  // Many packages (and subpackages) carry the same Network: identical copies are one space.
  const same = networks.find((n) => n.owner === owner);
  if (!same) networks.push(net);
  else if (networkText(same) !== networkText(net)) {
    throw new SpaceFieldError(
      'spec',
      `Network ${m.name} differs from the Network of the same name${same.source ? ` in ${same.source}` : ''}: one network must have one definition`,
    );
  }
}

function readCluster(obj: Obj, _m: SpaceMeta, owner: string, defs: SpaceDefinitions): void {
  const name = requiredString(asObj(obj.spec), 'clusterName', 'spec.clusterName');
  const clusters = (defs.clusters ??= []);
  if (!clusters.some((c) => c.name === name)) clusters.push({ name, owner });
}

function sortedLabels(l: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(l).sort()) out[k] = l[k]!;
  return out;
}

function parseJson(text: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SpaceFieldError(field, `${field} is not JSON: ${(e as Error).message}`);
  }
}

/** A Network's definition as comparable text (its name, routing tables, bridge domains and prefix lengths). */
export const networkText = (n: NetworkDef): string =>
  JSON.stringify([n.namespace ?? 'default', n.name, n.routingTables, n.bridgeDomains, n.prefixLengths ?? {}]);

/** A Network definition as the resource it was read from (what travels to a server). */
export function networkResource(n: NetworkDef): Obj {
  return {
    apiVersion: 'infra.nephio.org/v1alpha1',
    kind: 'Network',
    metadata: {
      name: n.name,
      ...(n.namespace ? { namespace: n.namespace } : {}),
      ...(n.prefixLengths ? { annotations: { [ANN_PREFIX_LENGTHS]: JSON.stringify(n.prefixLengths) } } : {}),
    },
    spec: { routingTables: n.routingTables, bridgeDomains: n.bridgeDomains },
  };
}
