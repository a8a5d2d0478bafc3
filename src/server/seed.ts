// --seed: NetworkInstance and IPPrefix resources (the same YAML as in packages, any of the
// ipam API groups; multi-document, or a List/ResourceList) applied at start, owned by the
// package "seed". Anything else in the file is reported and skipped.
import { parseAllDocuments } from 'yaml';
import type { InstancePrefix, NetworkInstanceRef, PrefixKind, PrefixSpec } from '../ipam/types.js';
import { formatLocalOwner, scopedOwner } from '../protocol/owner.js';

export const SEED_PACKAGE = 'seed';
const GROUPS = new Set(['ipam.nephio.org', 'ipam.resource.nephio.org']);
const KINDS: readonly string[] = ['aggregate', 'network', 'pool', 'loopback'];

export interface SeedSpace {
  networkInstances: { ref: NetworkInstanceRef; prefixes: InstancePrefix[]; owner: string }[];
  prefixes: PrefixSpec[];
  skipped: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export class SeedError extends Error {}

export function parseSeed(text: string, file: string): SeedSpace {
  const out: SeedSpace = { networkInstances: [], prefixes: [], skipped: [] };
  const docs = parseAllDocuments(text, { version: '1.1' });
  const items: { obj: unknown; where: string }[] = [];
  (Array.isArray(docs) ? docs : [docs]).forEach((d, i) => {
    if (d.errors.length) throw new SeedError(`${file}: document ${i + 1}: ${d.errors[0]!.message}`);
    const obj = d.toJS() as unknown;
    if (obj === null || obj === undefined) return;
    if (isObj(obj) && Array.isArray(obj.items)) obj.items.forEach((it, j) => items.push({ obj: it, where: `document ${i + 1} items[${j}]` }));
    else items.push({ obj, where: `document ${i + 1}` });
  });
  for (const { obj, where } of items) {
    if (!isObj(obj)) throw new SeedError(`${file}: ${where}: not a resource`);
    const apiVersion = String(obj.apiVersion ?? '');
    const kind = String(obj.kind ?? '');
    const meta = isObj(obj.metadata) ? obj.metadata : {};
    const name = typeof meta.name === 'string' ? meta.name : '';
    const namespace = (typeof meta.namespace === 'string' && meta.namespace) || 'default';
    const spec = isObj(obj.spec) ? obj.spec : {};
    const id = `${kind} ${namespace}/${name}`;
    const at = (field: string) => `${file}: ${where} (${id}): ${field}`;
    if (!GROUPS.has(apiVersion.split('/')[0]!) || (kind !== 'NetworkInstance' && kind !== 'IPPrefix')) {
      out.skipped.push(`${where}: ${apiVersion} ${kind} ${name}`);
      continue;
    }
    if (!name) throw new SeedError(at('metadata.name is required'));
    const owner = scopedOwner(SEED_PACKAGE, formatLocalOwner({ namespace, kind, name }));
    if (kind === 'NetworkInstance') {
      const raw = spec.prefixes ?? [];
      if (!Array.isArray(raw)) throw new SeedError(at('spec.prefixes must be a list'));
      const prefixes = raw.map((p, i): InstancePrefix => {
        if (!isObj(p) || typeof p.prefix !== 'string') throw new SeedError(at(`spec.prefixes[${i}].prefix is required`));
        const labels = stringMap(p.labels, at(`spec.prefixes[${i}].labels`));
        return { prefix: p.prefix, ...(Object.keys(labels).length ? { labels } : {}) };
      });
      out.networkInstances.push({ ref: { name, namespace }, prefixes, owner });
    } else {
      if (typeof spec.prefix !== 'string' || !spec.prefix) throw new SeedError(at('spec.prefix is required'));
      const pk = spec.kind === undefined ? 'network' : String(spec.kind);
      if (!KINDS.includes(pk)) throw new SeedError(at(`spec.kind "${pk}" is not aggregate, network, pool or loopback`));
      const ni = spec.networkInstance;
      let ref: NetworkInstanceRef;
      if (typeof ni === 'string' && ni) ref = { name: ni, namespace: 'default' };
      else if (isObj(ni) && typeof ni.name === 'string' && ni.name) ref = { name: ni.name, namespace: (typeof ni.namespace === 'string' && ni.namespace) || 'default' };
      else throw new SeedError(at('spec.networkInstance is required'));
      const labels = { ...stringMap(meta.labels, at('metadata.labels')), ...stringMap(spec.labels, at('spec.labels')) };
      const network = typeof spec.network === 'string' ? spec.network : undefined;
      out.prefixes.push({
        networkInstance: ref,
        prefix: spec.prefix,
        kind: pk as PrefixKind,
        labels,
        owner,
        ...(network ? { networkName: network } : {}),
      });
    }
  }
  return out;
}

function stringMap(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw new SeedError(`${where} must be a map`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) out[k] = String(x);
  return out;
}
