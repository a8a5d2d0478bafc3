// resource.Resource <-> allocator types. Claims travel as JSON text: the server accepts
// either the claim's spec or the whole object ({apiVersion, kind, metadata, spec, status});
// in the whole-object form `status.prefix` is the sticky hint.
import type { AllocationRequest, Allocation, InstancePrefix, NetworkInstanceRef, PrefixSpec } from '../ipam/types.js';
import type { ClaimRequest, ClaimResponse, GVK, Header, NSN, WLabelSelector } from './messages.js';
import { PACKAGE_GVK, formatLocalOwner, parseLocalOwner, scopedOwner } from './owner.js';
import {
  checkFamily,
  checkKind,
  checkLabels,
  checkPrefixLength,
  checkSelector,
  checkString,
  invalid,
  type Limits,
} from './validate.js';

export const CLAIM_GVK = { group: 'ipam.resource.nephio.org', version: 'v1alpha1', kind: 'IPClaim' } as const;
export const PREFIX_GVK = { group: 'ipam.resource.nephio.org', version: 'v1alpha1', kind: 'IPPrefix' } as const;
export const INDEX_GVK = { group: 'ipam.resource.nephio.org', version: 'v1alpha1', kind: 'NetworkInstance' } as const;

const gvkText = (g: GVK) => `${[g.group, g.version].filter(Boolean).join('/')}.${g.kind}`;

/** The owner scope a header names: ours ("Package") verbatim, anything else qualified. */
export function headerPackage(h: Header | undefined): string {
  const n = h?.ownerNsn;
  if (!n?.name) return '';
  const base = n.namespace ? `${n.namespace}/${n.name}` : n.name;
  const g = h!.ownerGvk;
  if (!g?.kind || (g.kind === PACKAGE_GVK.kind && g.group === PACKAGE_GVK.group)) return base;
  return `${gvkText(g)}:${base}`;
}

export interface ClaimIdentity {
  package: string;
  owner: string;
  kind: string;
  nsn: Required<NSN>;
}

export function decodeClaimHeader(h: Header | undefined, limits: Limits, defaultKind: string = CLAIM_GVK.kind): ClaimIdentity {
  const name = checkString(h?.nsn?.name, 'header.nsn.name', limits, true);
  const namespace = checkString(h?.nsn?.namespace, 'header.nsn.namespace', limits) || 'default';
  const kind = checkString(h?.gvk?.kind, 'header.gvk.kind', limits) || defaultKind;
  const pkg = checkString(headerPackage(h), 'header.ownerNsn', limits);
  return { package: pkg, owner: scopedOwner(pkg, formatLocalOwner({ namespace, kind, name })), kind, nsn: { namespace, name } };
}

type Json = Record<string, unknown>;

function parseObject(text: string | undefined, limits: Limits): { spec: Json; status?: Json; metadataLabels?: Json } {
  const s = text ?? '';
  if (s.length > limits.maxMessageBytes) throw invalid('spec', 'too large');
  if (s.trim() === '') return { spec: {} };
  let obj: unknown;
  try {
    obj = JSON.parse(s);
  } catch (e) {
    throw invalid('spec', `not JSON: ${(e as Error).message}`);
  }
  if (!isObj(obj)) throw invalid('spec', 'must be a JSON object');
  if (isObj(obj.spec) && (typeof obj.kind === 'string' || typeof obj.apiVersion === 'string')) {
    const meta = isObj(obj.metadata) ? obj.metadata : {};
    return {
      spec: obj.spec,
      ...(isObj(obj.status) ? { status: obj.status } : {}),
      ...(isObj(meta.labels) ? { metadataLabels: meta.labels } : {}),
    };
  }
  return { spec: obj };
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(o: Json, key: string, field: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`${field}.${key}`, `must be a string, got ${typeof v}`);
  return v;
}

function num(o: Json, key: string, field: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw invalid(`${field}.${key}`, 'must be a non-negative integer');
  return v;
}

function stringMap(v: unknown, field: string, limits: Limits): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw invalid(field, 'must be a map of strings');
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') throw invalid(`${field}[${k}]`, 'must be a string');
  return checkLabels(v as Record<string, string>, field, limits);
}

function niRef(v: unknown, field: string, limits: Limits): NetworkInstanceRef {
  if (typeof v === 'string' && v) return { name: checkString(v, field, limits), namespace: 'default' };
  if (isObj(v) && typeof v.name === 'string' && v.name) {
    return { name: checkString(v.name, `${field}.name`, limits), namespace: (typeof v.namespace === 'string' && v.namespace) || 'default' };
  }
  throw invalid(field, 'the network instance (name) is required');
}

/** Claim / GetClaim: an IPClaim as an allocation request. */
export function decodeClaim(r: ClaimRequest, limits: Limits): { id: ClaimIdentity; req: AllocationRequest } {
  const id = decodeClaimHeader(r.header, limits);
  const { spec, status, metadataLabels } = parseObject(r.spec, limits);
  const f = 'spec';
  const sel = spec.selector;
  if (sel !== undefined && sel !== null && !isObj(sel)) throw invalid(`${f}.selector`, 'must be a label selector');
  const selector = checkSelector(sel as WLabelSelector | undefined, `${f}.selector`, limits);
  const prefix = str(spec, 'prefix', f);
  const prefixLength = checkPrefixLength(num(spec, 'prefixLength', f), `${f}.prefixLength`);
  const family = checkFamily(str(spec, 'addressFamily', f), `${f}.addressFamily`);
  const index = num(spec, 'index', f);
  const createPrefix = spec.createPrefix;
  if (createPrefix !== undefined && createPrefix !== null && typeof createPrefix !== 'boolean') throw invalid(`${f}.createPrefix`, 'must be a boolean');
  const labels = { ...stringMap(metadataLabels, 'metadata.labels', limits), ...stringMap(spec.labels, `${f}.labels`, limits) };
  const hint = status ? str(status, 'prefix', 'status') : undefined;
  const req: AllocationRequest = {
    owner: id.owner,
    networkInstance: niRef(spec.networkInstance, `${f}.networkInstance`, limits),
    kind: checkKind(str(spec, 'kind', f), `${f}.kind`),
    ...(selector ? { selector } : {}),
    ...(prefix ? { prefix } : {}),
    ...(prefixLength !== undefined ? { prefixLength } : {}),
    ...(family ? { addressFamily: family } : {}),
    ...(createPrefix ? { createPrefix: true } : {}),
    ...(Object.keys(labels).length ? { labels } : {}),
    ...(index !== undefined ? { index } : {}),
    ...(hint ? { hint } : {}),
  };
  return { id, req };
}

/** Claim with header.gvk.kind IPPrefix: an operator prefix. */
export function decodePrefixClaim(r: ClaimRequest, limits: Limits): { id: ClaimIdentity; spec: PrefixSpec } {
  const id = decodeClaimHeader(r.header, limits, PREFIX_GVK.kind);
  const { spec, metadataLabels } = parseObject(r.spec, limits);
  const prefix = checkString(str(spec, 'prefix', 'spec'), 'spec.prefix', limits, true);
  const network = str(spec, 'network', 'spec') ?? str(spec, 'networkName', 'spec');
  const labels = { ...stringMap(metadataLabels, 'metadata.labels', limits), ...stringMap(spec.labels, 'spec.labels', limits) };
  return {
    id,
    spec: {
      networkInstance: niRef(spec.networkInstance, 'spec.networkInstance', limits),
      prefix,
      kind: checkKind(str(spec, 'kind', 'spec'), 'spec.kind'),
      labels,
      owner: id.owner,
      ...(network ? { networkName: network } : {}),
    },
  };
}

/** CreateIndex: a NetworkInstance ({prefixes: [{prefix, labels}]}); nsn names the instance. */
export function decodeIndex(r: ClaimRequest, limits: Limits): { id: ClaimIdentity; ref: NetworkInstanceRef; prefixes: InstancePrefix[] } {
  const id = decodeClaimHeader(r.header, limits, INDEX_GVK.kind);
  const { spec } = parseObject(r.spec, limits);
  const raw = spec.prefixes ?? [];
  if (!Array.isArray(raw)) throw invalid('spec.prefixes', 'must be a list');
  if (raw.length > limits.maxBatch) throw invalid('spec.prefixes', `at most ${limits.maxBatch}`);
  const prefixes = raw.map((p, i): InstancePrefix => {
    if (!isObj(p)) throw invalid(`spec.prefixes[${i}]`, 'must be {prefix, labels}');
    const labels = stringMap(p.labels, `spec.prefixes[${i}].labels`, limits);
    return { prefix: checkString(str(p, 'prefix', `spec.prefixes[${i}]`), `spec.prefixes[${i}].prefix`, limits, true), ...(Object.keys(labels).length ? { labels } : {}) };
  });
  return { id, ref: { name: id.nsn.name, namespace: id.nsn.namespace }, prefixes };
}

export function claimStatus(a: Pick<Allocation, 'prefix' | 'gateway'>): string {
  return JSON.stringify(a.gateway ? { prefix: a.prefix, gateway: a.gateway } : { prefix: a.prefix });
}

export function claimResponse(r: ClaimRequest, a: Pick<Allocation, 'prefix' | 'gateway'>): ClaimResponse {
  return { header: r.header ?? {}, spec: r.spec ?? '', status: claimStatus(a), statusCode: 'Valid', expiryTime: r.expiryTime ?? '' };
}

// ---- client side ----

function header(owner: string, gvk: GVK, pkg: string | undefined): Header {
  const ref = parseLocalOwner(owner);
  const nsn = ref ? { namespace: ref.namespace, name: ref.name } : { namespace: 'default', name: owner };
  return {
    gvk: { ...gvk, ...(ref && gvk.kind === CLAIM_GVK.kind ? { kind: ref.kind } : {}) },
    nsn,
    ...(pkg ? { ownerGvk: { ...PACKAGE_GVK }, ownerNsn: { namespace: '', name: pkg } } : {}),
  };
}

export function encodeClaim(req: AllocationRequest, pkg: string | undefined): ClaimRequest {
  const spec: Json = {
    kind: req.kind,
    networkInstance: { name: req.networkInstance.name, ...(req.networkInstance.namespace ? { namespace: req.networkInstance.namespace } : {}) },
  };
  if (req.selector) spec.selector = req.selector;
  if (req.prefix) spec.prefix = req.prefix;
  if (req.prefixLength !== undefined) spec.prefixLength = req.prefixLength;
  if (req.addressFamily) spec.addressFamily = req.addressFamily;
  if (req.createPrefix) spec.createPrefix = true;
  if (req.index !== undefined) spec.index = req.index;
  if (req.labels && Object.keys(req.labels).length) spec.labels = req.labels;
  const h = header(req.owner, CLAIM_GVK, pkg);
  const obj: Json = {
    apiVersion: `${CLAIM_GVK.group}/${CLAIM_GVK.version}`,
    kind: h.gvk!.kind,
    metadata: { name: h.nsn!.name, namespace: h.nsn!.namespace },
    spec,
    ...(req.hint ? { status: { prefix: req.hint } } : {}),
  };
  return { header: h, spec: JSON.stringify(obj) };
}

export function encodePrefixClaim(p: PrefixSpec, pkg: string | undefined): ClaimRequest {
  const spec: Json = {
    kind: p.kind,
    prefix: p.prefix,
    networkInstance: { name: p.networkInstance.name, ...(p.networkInstance.namespace ? { namespace: p.networkInstance.namespace } : {}) },
    ...(p.networkName ? { network: p.networkName } : {}),
    ...(p.labels && Object.keys(p.labels).length ? { labels: p.labels } : {}),
  };
  return { header: header(p.owner, PREFIX_GVK, pkg), spec: JSON.stringify(spec) };
}

export function encodeIndex(ref: NetworkInstanceRef, prefixes: InstancePrefix[], pkg: string | undefined): ClaimRequest {
  return {
    header: {
      gvk: { ...INDEX_GVK },
      nsn: { namespace: ref.namespace || 'default', name: ref.name },
      ...(pkg ? { ownerGvk: { ...PACKAGE_GVK }, ownerNsn: { namespace: '', name: pkg } } : {}),
    },
    spec: JSON.stringify({ prefixes }),
  };
}

/** DeleteClaim/DeleteIndex of one owner. */
export function encodeRelease(owner: string, pkg: string | undefined): { rpc: 'DeleteClaim' | 'DeleteIndex'; req: ClaimRequest } {
  const ref = parseLocalOwner(owner);
  if (ref?.kind === INDEX_GVK.kind) {
    return { rpc: 'DeleteIndex', req: encodeIndex({ name: ref.name, namespace: ref.namespace }, [], pkg) };
  }
  const gvk = ref?.kind === PREFIX_GVK.kind ? PREFIX_GVK : CLAIM_GVK;
  return { rpc: 'DeleteClaim', req: { header: header(owner, gvk, pkg), spec: '' } };
}
