// NetworkInstance and IPPrefix resources -> the address space the package defines.
import type { InstancePrefix, PrefixKind, PrefixSpec } from '../ipam/types.js';
import type { PackageSpace } from '../backends/backend.js';
import { LABEL_NETWORK_NAME } from './apis.js';
import type { Obj } from './item.js';
import { FieldError, ownerKey } from './requests.js';
import { asObj, describe, str, strMap, type Meta } from './resource.js';

type NetworkInstanceEntry = PackageSpace['networkInstances'][number];

export function readNetworkInstance(obj: Obj, m: Meta): NetworkInstanceEntry {
  if (!m.name) throw new FieldError('metadata.name', 'NetworkInstance without metadata.name');
  const spec = asObj(obj.spec) ?? {};
  const list = spec.prefixes ?? [];
  if (!Array.isArray(list)) throw new FieldError('spec.prefixes', `${describe(m)}: spec.prefixes must be a list`);
  const prefixes = list.map((p, i): InstancePrefix => {
    const o = asObj(p);
    const prefix = str(o?.prefix);
    if (!o || !prefix) throw new FieldError(`spec.prefixes[${i}].prefix`, `${describe(m)}: spec.prefixes[${i}].prefix is required`);
    const labels = strMap(o.labels);
    return Object.keys(labels).length ? { prefix, labels } : { prefix };
  });
  const ref = m.namespace ? { name: m.name, namespace: m.namespace } : { name: m.name };
  return { ref, prefixes, owner: ownerKey(m) };
}

const KINDS = ['aggregate', 'network', 'pool', 'loopback'];

export function readPrefix(obj: Obj, m: Meta): PrefixSpec {
  if (!m.name) throw new FieldError('metadata.name', 'IPPrefix without metadata.name');
  const spec = asObj(obj.spec);
  if (!spec) throw new FieldError('spec', `${describe(m)} has no spec`);
  const kind = str(spec.kind) ?? 'network';
  if (!KINDS.includes(kind)) throw new FieldError('spec.kind', `${describe(m)}: spec.kind "${kind}" is not one of ${KINDS.join(', ')}`);
  const prefix = str(spec.prefix);
  if (!prefix) throw new FieldError('spec.prefix', `${describe(m)}: spec.prefix is required`);
  let ni: { name: string; namespace?: string } | undefined;
  if (typeof spec.networkInstance === 'string') ni = { name: spec.networkInstance };
  else {
    const o = asObj(spec.networkInstance) ?? asObj(spec.networkInstanceRef);
    const name = str(o?.name);
    if (name) ni = str(o?.namespace) ? { name, namespace: str(o?.namespace)! } : { name };
  }
  if (!ni) throw new FieldError('spec.networkInstance', `${describe(m)}: spec.networkInstance is required`);
  const labels = { ...m.labels, ...strMap(spec.labels) };
  const out: PrefixSpec = { networkInstance: ni, prefix, kind: kind as PrefixKind, owner: ownerKey(m) };
  const network = str(spec.network) ?? labels[LABEL_NETWORK_NAME];
  if (network) out.networkName = network;
  if (Object.keys(labels).length) out.labels = labels;
  return out;
}
