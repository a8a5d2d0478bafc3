// Conflict resources: what two commits must not both change from one view. A commit relies on
// the network instances it changes (their revision keys) and on the owners whose keys it writes
// or whose absence it relied on (their mod revisions). Kept as short strings so that sets and
// maps of them stay cheap on the hot path; built and read only here.

export type Resource = string & { readonly __resource: true };

export const instanceResource = (id: string): Resource => `i:${id}` as Resource;
export const ownerResource = (owner: string): Resource => `o:${owner}` as Resource;

/** The network instance id a resource names, or undefined for an owner. */
export const instanceOf = (r: Resource): string | undefined => (r.startsWith('i:') ? r.slice(2) : undefined);

/** Resources as the names StoreConflictError carries: instance ids, and `owner <key>`. */
export function conflictNames(resources: Iterable<Resource>): string[] {
  const out = new Set<string>();
  for (const r of resources) out.add(instanceOf(r) ?? `owner ${r.slice(2)}`);
  return [...out];
}
