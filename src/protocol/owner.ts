// Owner keys on the server. The allocator compares owners as opaque strings; the server
// builds them as "<package>|<local owner>" so that everything one package holds shares a
// prefix (listed, pruned and authorized together) and one package can never name, and so
// never release, another package's allocation. Local owners follow the function's
// convention "<namespace>/<Kind>/<name>".

export const NETWORK_INSTANCE_LABEL = 'nephio.org/network-instance';
export const NETWORK_NAME_LABEL = 'nephio.org/network-name';
/** alloc protocol: the package identity (owner scope). */
export const PACKAGE_LABEL = 'ipam-injector.dev/package';
/** alloc protocol: the local owner when it is not "<namespace>/<kind>/<name>" of the request. */
export const OWNER_LABEL = 'ipam-injector.dev/owner';
/** alloc protocol: the sticky hint (the status.prefix the request already carries). */
export const HINT_LABEL = 'ipam-injector.dev/hint';
/** alloc protocol: namespace of the network instance (default "default"). */
export const NETWORK_INSTANCE_NAMESPACE_LABEL = 'ipam-injector.dev/network-instance-namespace';
/** Labels that steer the server and are not stored with an allocation. */
export const CONTROL_LABELS = new Set([PACKAGE_LABEL, OWNER_LABEL, HINT_LABEL, NETWORK_INSTANCE_NAMESPACE_LABEL]);

/** resource protocol: the owner GVK that says "ownerNsn.name is a package identity". */
export const PACKAGE_GVK = { group: 'ipam-injector.dev', version: 'v1', kind: 'Package' } as const;

export const SCOPE_SEPARATOR = '|';

export function scopedOwner(pkg: string | undefined, local: string): string {
  return pkg ? `${pkg}${SCOPE_SEPARATOR}${local}` : local;
}

/** The package part of an owner key ("" when unscoped). */
export function packageOf(owner: string): string {
  const i = owner.lastIndexOf(SCOPE_SEPARATOR);
  return i < 0 ? '' : owner.slice(0, i);
}

/** Error text as the caller's package sees it: its own owner keys without the scope. */
export function localizeText(text: string, pkg: string): string {
  return pkg ? text.split(`${pkg}${SCOPE_SEPARATOR}`).join('') : text;
}

export function localOwner(owner: string): string {
  const i = owner.lastIndexOf(SCOPE_SEPARATOR);
  return i < 0 ? owner : owner.slice(i + 1);
}

export interface ObjectRef {
  namespace: string;
  kind: string;
  name: string;
}

/** Splits "<namespace>/<Kind>/<name>"; undefined when the owner is not of that form. */
export function parseLocalOwner(local: string): ObjectRef | undefined {
  const parts = local.split('/');
  if (parts.length !== 3 || parts.some((p) => p === '')) return undefined;
  return { namespace: parts[0]!, kind: parts[1]!, name: parts[2]! };
}

export const formatLocalOwner = (r: ObjectRef): string => `${r.namespace || 'default'}/${r.kind}/${r.name}`;
