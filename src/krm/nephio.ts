// Two conventions of Nephio's pipelines the function follows (docs/nephio.md "Porch").
import type { ClusterDef } from '../space/definitions.js';
import type { RequestResource } from './requests.js';
import type { Meta } from './resource.js';

/** Nephio's condition SDK marks a child it deletes; the function acting on it releases it. */
export const ANN_SPECIALIZER_DELETE = 'specializer.nephio.org/delete';

export const markedForDeletion = (r: RequestResource): boolean =>
  (r.meta.annotations[ANN_SPECIALIZER_DELETE] ?? '').toLowerCase() === 'true';

/**
 * The package's owner scope on a shared server when the config names none. One blueprint is
 * deployed to many clusters under the same Kptfile name, each copy with its cluster's
 * WorkloadCluster: `<cluster>/<name>` tells the copies apart. Without exactly one cluster:
 * `<namespace>/<name>` or `<name>`.
 */
export function defaultPackageScope(kptfile: Meta, clusters: readonly ClusterDef[]): string {
  const name = kptfile.namespace ? `${kptfile.namespace}/${kptfile.name}` : kptfile.name;
  return clusters.length === 1 ? `${clusters[0]!.name}/${name}` : name;
}
