// alloc.Allocation <-> allocator types. Server side decodes a Request into an intent;
// client side (src/backends/grpc.ts) encodes allocator requests and space into Requests.
import type { AllocationRequest, InstancePrefix, NetworkInstanceRef, PrefixKind, PrefixSpec } from '../ipam/types.js';
import { ownerLabels } from '../ipam/owner-labels.js';
import type { AllocRequest, AllocSpec, StringMap } from './messages.js';
import {
  CONTROL_LABELS,
  HINT_LABEL,
  NETWORK_INSTANCE_LABEL,
  NETWORK_INSTANCE_NAMESPACE_LABEL,
  NETWORK_NAME_LABEL,
  OWNER_LABEL,
  PACKAGE_LABEL,
  formatLocalOwner,
  parseLocalOwner,
  scopedOwner,
} from './owner.js';
import { checkFamily, checkKind, checkLabels, checkPrefixLength, checkString, invalid, type Limits } from './validate.js';

/** The original injector's IPAllocation API. */
const ORIGINAL_API_VERSION = 'ipam.nephio.org/v1alpha1';

/** Request.kind of an allocation, as the original injector sends it. */
export const ALLOC_KIND_IPAM = 'ipam';

/** Request.kind values with a meaning beyond "allocate" (the original sends "ipam"). */
export const ALLOC_KIND_PREFIX = 'IPPrefix';
export const ALLOC_KIND_NETWORK_INSTANCE = 'NetworkInstance';

export type AllocIntent =
  | { type: 'allocate'; package: string; owner: string; req: AllocationRequest }
  | { type: 'prefix'; package: string; owner: string; spec: PrefixSpec }
  | { type: 'networkInstance'; package: string; owner: string; ref: NetworkInstanceRef; prefix?: InstancePrefix };

/** Who a Request speaks for: package scope and full owner key (all DeAllocation needs). */
export function decodeAllocOwner(
  r: AllocRequest,
  limits: Limits,
): { package: string; owner: string; kind: string; name: string; namespace: string } {
  const labels = r.labels ?? {};
  const pkg = checkString(labels[PACKAGE_LABEL], `labels[${PACKAGE_LABEL}]`, limits);
  const name = checkString(r.name, 'name', limits, true);
  const namespace = checkString(r.namespace, 'namespace', limits) || 'default';
  const kind = checkString(r.kind, 'kind', limits);
  const objectKind = kind === '' || kind === 'ipam' ? 'IPAllocation' : kind;
  const local =
    checkString(labels[OWNER_LABEL], `labels[${OWNER_LABEL}]`, limits) || formatLocalOwner({ namespace, kind: objectKind, name });
  return { package: pkg, owner: scopedOwner(pkg, local), kind, name, namespace };
}

export function decodeAllocRequest(r: AllocRequest, limits: Limits): AllocIntent {
  const labels = checkLabels(r.labels, 'labels', limits);
  const spec: AllocSpec = r.spec ?? {};
  const selector = checkLabels(spec.selector, 'spec.selector', limits);
  const { package: pkg, owner, kind, name, namespace } = decodeAllocOwner(r, limits);
  const ownLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (!CONTROL_LABELS.has(k)) ownLabels[k] = v;
  const d: DecodedAlloc = {
    pkg,
    owner,
    name,
    namespace,
    labels,
    ownLabels,
    selector,
    prefixKind: checkKind(spec.prefixkind, 'spec.prefixkind'),
    prefix: checkString(spec.prefix, 'spec.prefix', limits),
    network: checkString(spec.network, 'spec.network', limits),
  };
  if (kind === ALLOC_KIND_NETWORK_INSTANCE) {
    // One aggregate of a network instance per call (name = the instance); no prefix on
    // DeAllocation removes the instance.
    const ref = { name, namespace };
    return d.prefix
      ? { type: 'networkInstance', package: pkg, owner, ref, prefix: { prefix: d.prefix, labels: ownLabels } }
      : { type: 'networkInstance', package: pkg, owner, ref };
  }
  if (kind === ALLOC_KIND_PREFIX) return prefixIntent(d);
  return allocateIntent(d, spec);
}

/** The fields of an alloc.Request every kind reads. */
interface DecodedAlloc {
  pkg: string;
  owner: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  /** The labels without the control labels. */
  ownLabels: Record<string, string>;
  selector: Record<string, string>;
  prefixKind: PrefixKind;
  prefix: string;
  network: string;
}

/** The network instance the selector names (its namespace from a label), required. */
function requireNi(d: DecodedAlloc): NetworkInstanceRef {
  const name = d.selector[NETWORK_INSTANCE_LABEL];
  if (!name) throw invalid(`spec.selector[${NETWORK_INSTANCE_LABEL}]`, 'the network instance is required');
  return { name, namespace: d.labels[NETWORK_INSTANCE_NAMESPACE_LABEL] || 'default' };
}

/** kind "prefix": a prefix of a network instance. */
function prefixIntent(d: DecodedAlloc): AllocIntent {
  const networkName = d.network || d.ownLabels[NETWORK_NAME_LABEL];
  const ps: PrefixSpec = {
    networkInstance: requireNi(d),
    prefix: d.prefix,
    kind: d.prefixKind,
    labels: d.ownLabels,
    owner: d.owner,
    ...(networkName ? { networkName } : {}),
  };
  return { type: 'prefix', package: d.pkg, owner: d.owner, spec: ps };
}

/** Any other kind ("ipam"): an allocation. */
function allocateIntent(d: DecodedAlloc, spec: AllocSpec): AllocIntent {
  const { owner, ownLabels, network } = d;
  const matchLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.selector)) if (k !== NETWORK_INSTANCE_LABEL) matchLabels[k] = v;
  if (network && !matchLabels[NETWORK_NAME_LABEL]) matchLabels[NETWORK_NAME_LABEL] = network;
  const prefixLength = checkPrefixLength(spec.prefixLength, 'spec.prefixLength');
  const family = checkFamily(spec.addressFamily, 'spec.addressFamily');
  const hint = d.labels[HINT_LABEL];
  // every allocation stores the owner labels; the original injector does not send them, so
  // they are those of its IPAllocation (ipam.nephio.org/v1alpha1), metadata.labels as sent
  const own = ownerLabels({
    apiVersion: ORIGINAL_API_VERSION,
    kind: 'IPAllocation',
    name: d.name,
    namespace: d.namespace,
    labels: ownLabels,
  });
  for (const [k, v] of Object.entries(own)) if (!(k in ownLabels)) ownLabels[k] = v;
  const req: AllocationRequest = {
    owner,
    networkInstance: requireNi(d),
    kind: d.prefixKind,
    ...(Object.keys(matchLabels).length ? { selector: { matchLabels } } : {}),
    ...(d.prefix ? { prefix: d.prefix } : {}),
    ...(prefixLength !== undefined ? { prefixLength } : {}),
    ...(family ? { addressFamily: family } : {}),
    ...(Object.keys(ownLabels).length ? { labels: ownLabels } : {}),
    ...(hint ? { hint } : {}),
  };
  return { type: 'allocate', package: d.pkg, owner, req };
}

// ---- client side ----

function identity(local: string, fallbackKind: string): { namespace: string; kind: string; name: string; label?: string } {
  const ref = parseLocalOwner(local);
  if (ref) return ref;
  return { namespace: 'default', kind: fallbackKind, name: local.replace(/[^A-Za-z0-9.-]/g, '-').slice(0, 253) || 'owner', label: local };
}

function controlLabels(pkg: string | undefined, id: { label?: string }, ni?: NetworkInstanceRef, hint?: string): StringMap {
  const out: StringMap = {};
  if (hint) out[HINT_LABEL] = hint;
  if (pkg) out[PACKAGE_LABEL] = pkg;
  if (id.label) out[OWNER_LABEL] = id.label;
  if (ni?.namespace && ni.namespace !== 'default') out[NETWORK_INSTANCE_NAMESPACE_LABEL] = ni.namespace;
  return out;
}

/**
 * An allocation request as alloc.Request, kind "ipam" as the original injector sends it, with
 * the request's labels. The owner travels as name/namespace (an IPAllocation) or, for any
 * other kind, in labels["ipam-injector.dev/owner"]. matchExpressions cannot travel. The same
 * Request releases it (DeAllocation).
 */
export function encodeAllocRequest(req: AllocationRequest, pkg: string | undefined): AllocRequest {
  const id = identity(req.owner, 'IPAllocation');
  if (req.selector?.matchExpressions?.length) {
    throw invalid('spec.selector.matchExpressions', 'protocol alloc carries matchLabels only; use protocol resource or admin');
  }
  const label = id.label ?? (id.kind !== 'IPAllocation' ? req.owner : undefined);
  return {
    namespace: id.namespace,
    name: id.name,
    kind: ALLOC_KIND_IPAM,
    labels: { ...(req.labels ?? {}), ...controlLabels(pkg, { label }, req.networkInstance, req.hint) },
    spec: {
      prefixkind: req.kind,
      prefix: req.prefix ?? '',
      prefixLength: req.prefixLength ?? 0,
      addressFamily: req.addressFamily ?? '',
      network: '',
      selector: { ...(req.selector?.matchLabels ?? {}), [NETWORK_INSTANCE_LABEL]: req.networkInstance.name },
    },
  };
}

/** An owner's release as alloc.Request for DeAllocation, when only the owner is known (kind "ipam" as for allocations). */
export function encodeAllocRelease(owner: string, pkg: string | undefined, ni?: NetworkInstanceRef): AllocRequest {
  const id = identity(owner, 'IPAllocation');
  if (id.kind === ALLOC_KIND_NETWORK_INSTANCE || id.kind === ALLOC_KIND_PREFIX) {
    return { namespace: id.namespace, name: id.name, kind: id.kind, labels: controlLabels(pkg, id), spec: { selector: {} } };
  }
  const label = id.label ?? (id.kind !== 'IPAllocation' ? owner : undefined);
  return {
    namespace: id.namespace,
    name: id.name,
    kind: ALLOC_KIND_IPAM,
    labels: controlLabels(pkg, { label }, ni),
    spec: { selector: ni ? { [NETWORK_INSTANCE_LABEL]: ni.name } : {} },
  };
}

export function encodeAllocPrefix(spec: PrefixSpec, pkg: string | undefined): AllocRequest {
  const id = identity(spec.owner, ALLOC_KIND_PREFIX);
  return {
    namespace: id.namespace,
    name: id.name,
    kind: ALLOC_KIND_PREFIX,
    labels: { ...(spec.labels ?? {}), ...controlLabels(pkg, id, spec.networkInstance), ...(id.label ? {} : { [OWNER_LABEL]: spec.owner }) },
    spec: {
      prefixkind: spec.kind,
      prefix: spec.prefix,
      network: spec.networkName ?? '',
      selector: { [NETWORK_INSTANCE_LABEL]: spec.networkInstance.name },
    },
  };
}

export function encodeAllocNetworkInstance(
  ref: NetworkInstanceRef,
  prefix: InstancePrefix,
  owner: string,
  pkg: string | undefined,
): AllocRequest {
  return {
    namespace: ref.namespace || 'default',
    name: ref.name,
    kind: ALLOC_KIND_NETWORK_INSTANCE,
    labels: { ...(prefix.labels ?? {}), ...(pkg ? { [PACKAGE_LABEL]: pkg } : {}), [OWNER_LABEL]: owner },
    spec: { prefixkind: 'aggregate', prefix: prefix.prefix, selector: {} },
  };
}
