// The six owner labels Nephio's clients write into every claim's spec.labels (docs/semantics.md
// "Owner labels and lookups"): the request itself (gvk, nsn-name, nsn-namespace) and its
// owner (owner-gvk, owner-nsn-name, owner-nsn-namespace), each owner key taken from the
// request's metadata.labels when present. Stored with every allocation, so lookups and
// selectors can find "the address package X's claim Y holds".

export const L_GVK = 'nephio.org/gvk';
export const L_NSN_NAME = 'nephio.org/nsn-name';
export const L_NSN_NAMESPACE = 'nephio.org/nsn-namespace';
export const L_OWNER_GVK = 'nephio.org/owner-gvk';
export const L_OWNER_NSN_NAME = 'nephio.org/owner-nsn-name';
export const L_OWNER_NSN_NAMESPACE = 'nephio.org/owner-nsn-namespace';

export const OWNER_LABEL_KEYS = [L_GVK, L_NSN_NAME, L_NSN_NAMESPACE, L_OWNER_GVK, L_OWNER_NSN_NAME, L_OWNER_NSN_NAMESPACE] as const;

/** The object a request comes from, as far as owner labels need it. */
export interface OwnerSource {
  /** `group/version` or `version` (core). */
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  labels?: Readonly<Record<string, string>>;
}

/** `Kind.version.group` (the original's GVKToString; group omitted when empty). */
export function gvkString(apiVersion: string, kind: string): string {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  return [kind, version, group].filter(Boolean).join('.');
}

/** `Kind.version.group` -> {group, version, kind}; a string with fewer than two dots gives empty parts, as in the original. */
export function parseGvkString(s: string): { group: string; version: string; kind: string } {
  const first = s.indexOf('.');
  const second = first < 0 ? -1 : s.indexOf('.', first + 1);
  if (second < 0) return { group: '', version: '', kind: '' };
  return { kind: s.slice(0, first), version: s.slice(first + 1, second), group: s.slice(second + 1) };
}

/** The six owner labels of a request object. */
export function ownerLabels(o: OwnerSource): Record<string, string> {
  const l = o.labels ?? {};
  const ns = o.namespace || 'default';
  const ownerNs = l[L_OWNER_NSN_NAMESPACE] ?? o.namespace;
  // one string for both labels: every allocation keeps its labels
  const gvk = gvkString(o.apiVersion, o.kind);
  return {
    [L_OWNER_GVK]: l[L_OWNER_GVK] ?? gvk,
    [L_OWNER_NSN_NAME]: l[L_OWNER_NSN_NAME] ?? o.name,
    [L_OWNER_NSN_NAMESPACE]: ownerNs || 'default',
    [L_GVK]: gvk,
    [L_NSN_NAME]: o.name,
    [L_NSN_NAMESPACE]: ns,
  };
}
