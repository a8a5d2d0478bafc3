// --seed: space definitions (the same YAML as in packages, read by the same reader,
// src/space/read.ts: NetworkInstance and IPPrefix of any ipam API group, infra Network,
// WorkloadCluster and NetworkConfig, the VLAN kinds; multi-document, or a List/ResourceList) applied at start, owned by the
// package "seed". Anything else in the file is reported and skipped.
import { parseAllDocuments } from 'yaml';
import { emptySpace, type SpaceDefinitions } from '../space/definitions.js';
import { isSpaceDefinition, readSpaceDefinition, spaceMeta, SpaceFieldError } from '../space/read.js';
import { scopedOwner } from '../protocol/owner.js';
import { applyNetworkConfigs } from '../space/network-config.js';

export const SEED_PACKAGE = 'seed';

export type SeedSpace = Required<SpaceDefinitions> & { skipped: string[] };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export class SeedError extends Error {}

export function parseSeed(text: string, file: string): SeedSpace {
  const defs = emptySpace();
  const skipped: string[] = [];
  const docs = parseAllDocuments(text, { version: '1.1' });
  const items: { obj: unknown; where: string }[] = [];
  (Array.isArray(docs) ? docs : [docs]).forEach((d, i) => {
    if (d.errors.length) throw new SeedError(`${file}: document ${i + 1}: ${d.errors[0]!.message}`);
    const obj = d.toJS() as unknown;
    if (obj === null || obj === undefined) return;
    if (isObj(obj) && Array.isArray(obj.items))
      obj.items.forEach((it, j) => items.push({ obj: it, where: `document ${i + 1} items[${j}]` }));
    else items.push({ obj, where: `document ${i + 1}` });
  });
  for (const { obj, where } of items) {
    if (!isObj(obj)) throw new SeedError(`${file}: ${where}: not a resource`);
    const apiVersion = String(obj.apiVersion ?? '');
    const kind = String(obj.kind ?? '');
    if (!isSpaceDefinition(apiVersion, kind)) {
      skipped.push(`${where}: ${apiVersion} ${kind} ${String((obj.metadata as Obj | undefined)?.name ?? '')}`);
      continue;
    }
    try {
      readSpaceDefinition(obj, defs, `${file}: ${where}`);
    } catch (e) {
      if (!(e instanceof SpaceFieldError)) throw e;
      let id = kind;
      try {
        const m = spaceMeta(obj);
        id = `${kind} ${m.namespace || 'default'}/${m.name}`;
      } catch {
        // metadata itself is malformed: the error says so
      }
      throw new SeedError(`${file}: ${where} (${id}): ${e.message}`);
    }
  }
  // NetworkConfigs give their Networks' cluster prefix lengths; one that configures none is an error
  const bad = applyNetworkConfigs(defs)[0];
  if (bad) throw new SeedError(`${file}: ${bad.owner}: ${bad.field}: ${bad.message}`);
  // Everything the seed defines is owned by the package "seed".
  const own = (o: string) => scopedOwner(SEED_PACKAGE, o);
  return {
    networkInstances: defs.networkInstances.map((n) => ({ ...n, owner: own(n.owner) })),
    prefixes: defs.prefixes.map((p) => ({ ...p, owner: own(p.owner) })),
    networks: defs.networks.map((n) => ({ ...n, owner: own(n.owner) })),
    clusters: defs.clusters.map((c) => ({ ...c, owner: own(c.owner) })),
    networkConfigs: defs.networkConfigs.map((c) => ({ ...c, owner: own(c.owner) })),
    vlanIndexes: defs.vlanIndexes.map((x) => ({ ...x, owner: own(x.owner) })),
    vlanDefinitions: defs.vlanDefinitions.map((d) => ({ ...d, owner: own(d.owner) })),
    skipped,
  };
}
