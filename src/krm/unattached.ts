// A claim for a cluster that no Network of the package attaches fails in the allocator as
// "network instance not found" or "no prefix matches": say what is wrong instead, naming the
// WorkloadCluster, the Networks and the files they are in.
import { L_CLUSTER_NAME, networksAttaching } from '../space/derive.js';
import type { PackageContents } from './read-package.js';
import type { RequestResource } from './requests.js';
import { describe, origin, type Meta } from './resource.js';

/** Why the request's cluster has no space in this package, or undefined when it has some. */
export function unattachedCluster(pkg: PackageContents, r: RequestResource): string | undefined {
  const networks = pkg.space.networks ?? [];
  const cluster = r.request.selector?.matchLabels?.[L_CLUSTER_NAME];
  if (networks.length === 0 || !cluster) return undefined;
  const clusters = pkg.space.clusters ?? [];
  const own = clusters.find((c) => c.name === cluster);
  if (own && networksAttaching(networks, cluster).length > 0) return undefined;
  const named = (owner: string) => {
    const m = pkg.spaceOwners.get(owner);
    return m ? where(m, pkg.rootDir) : owner;
  };
  const nets = [...new Set(networks.map((n) => named(n.owner)))].join(', ');
  if (own) {
    return `no Network attaches cluster ${cluster}: ${named(own.owner)} has spec.clusterName ${cluster}, and no selector of a bridge domain or routing table interface of ${nets} selects it`;
  }
  const theirs = clusters.length ? clusters.map((c) => `${named(c.owner)} is ${c.name}`).join(', ') : 'the package has none';
  return `no Network attaches cluster ${cluster}: it is no WorkloadCluster of the package (${theirs}), and the package's Networks (${nets}) give space only to its clusters`;
}

/** "WorkloadCluster cluster01 in workload_cluster.yaml" (with the document when the file has several). */
function where(m: Meta, rootDir: string | undefined): string {
  const f = origin(m, rootDir).file;
  if (!f) return describe(m);
  return `${describe(m)} in ${f.path}${f.index ? ` (document ${f.index + 1})` : ''}`;
}
