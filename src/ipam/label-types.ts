// Labels, label selectors and owner keys: the vocabulary src/ipam and src/vlan share. Kept
// apart from types.ts (which holds the allocator's whole contract, VLANs included) so that
// src/vlan can use it without importing that contract back.

export type Labels = Readonly<Record<string, string>>;

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

/** Kubernetes label selector: every matchLabels entry and every expression must hold. */
export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: LabelSelectorRequirement[];
}

/**
 * Owners are opaque strings chosen by the caller, compared for equality only.
 * Conventions: the function uses `<namespace>/<Kind>/<name>` of the requesting resource;
 * the server prefixes the client's package identity.
 */
export type OwnerKey = string;
