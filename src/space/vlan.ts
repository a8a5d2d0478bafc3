// VLAN space definitions: VLANIndex (vlan.resource.nephio.org), VLANDatabase (the 2023
// vlan.alloc.nephio.org form, spec.kind esg|device), the operator's VLAN resources (both
// groups), and the index each WorkloadCluster implies (named after its cluster, as the
// catalog's infra/capi/vlanindex package makes one per cluster). Readers registered in read.ts.
import type { VlanDefinition, VlanIndexKind, VlanIndexSpec } from '../vlan/types.js';
import type { SpaceDefinitions } from './definitions.js';
import { asObj, labels, requiredString, scalar, SpaceFieldError, type Obj, type SpaceMeta } from './fields.js';

export const VLAN_RESOURCE_VERSIONS: ReadonlySet<string> = new Set(['vlan.resource.nephio.org/v1alpha1']);
export const VLAN_ALLOC_VERSIONS: ReadonlySet<string> = new Set(['vlan.alloc.nephio.org/v1alpha1']);
export const VLAN_VERSIONS: ReadonlySet<string> = new Set([...VLAN_RESOURCE_VERSIONS, ...VLAN_ALLOC_VERSIONS]);

const ref = (name: string, namespace: string | undefined) => (namespace ? { name, namespace } : { name });

export function readVlanIndex(obj: Obj, m: SpaceMeta, owner: string, defs: SpaceDefinitions): void {
  const spec = asObj(obj.spec);
  const kind = scalar(spec?.kind) ?? 'esg';
  if (kind !== 'esg' && kind !== 'device') throw new SpaceFieldError('spec.kind', `spec.kind "${kind}" is not esg or device`);
  const l = labels(spec?.labels, 'spec.labels');
  const x: VlanIndexSpec = { index: ref(m.name, m.namespace), kind: kind as VlanIndexKind, owner };
  if (Object.keys(l).length) x.labels = l;
  (defs.vlanIndexes ??= []).push(x);
}

export function readVlanDefinition(obj: Obj, m: SpaceMeta, owner: string, defs: SpaceDefinitions): void {
  const spec = asObj(obj.spec);
  if (!spec) throw new SpaceFieldError('spec', 'spec is required');
  const field = asObj(spec.vlanDatabase) ? 'vlanDatabase' : 'vlanIndex';
  const ix = asObj(spec[field]);
  const name = requiredString(ix, 'name', `spec.${field}.name`);
  const d: VlanDefinition = { index: ref(name, scalar(ix?.namespace) || undefined), owner };
  if (spec.vlanID !== undefined && spec.vlanID !== null) {
    if (typeof spec.vlanID !== 'number')
      throw new SpaceFieldError('spec.vlanID', `spec.vlanID must be an integer, not ${JSON.stringify(spec.vlanID)}`);
    d.vlanID = spec.vlanID;
  }
  const range = scalar(spec.range);
  if (range !== undefined) d.range = range;
  const l = { ...m.labels, ...labels(spec.labels, 'spec.labels') };
  if (Object.keys(l).length) d.labels = l;
  (defs.vlanDefinitions ??= []).push(d);
}

/** The VLAN indexes and definitions the space defines; each WorkloadCluster implies an index
 *  named after its cluster (namespace default, where interface-fn's claims look). */
export function vlanSpaceOf(defs: SpaceDefinitions): { indexes: VlanIndexSpec[]; definitions: VlanDefinition[] } {
  return {
    indexes: [
      ...(defs.vlanIndexes ?? []),
      ...(defs.clusters ?? []).map((c): VlanIndexSpec => ({ index: { name: c.name }, owner: c.owner, implied: true })),
    ],
    definitions: defs.vlanDefinitions ?? [],
  };
}
