// VLAN over resource.Resource (vlan.resource.nephio.org: VLANIndex, VLANClaim, VLAN) and the
// 2023 alloc.Allocation (vlan.alloc.nephio.org: VLANDatabase, VLANAllocation, VLAN), as the
// original's VLAN client proxy and backend speak them (nokia/k8s-ipam
// pkg/proxy/clientproxy/vlan, pkg/backend/vlan): ClaimRequest.spec is the whole object as
// JSON, ClaimResponse.status the whole object with status.vlanID (a number) or
// status.vlanRange filled. An operator's VLAN travels as a claim whose metadata.labels carry
// `nephio.org/owner-gvk: VLAN.v1alpha1.<group>`, as the original's client proxy sends it.
import { gvkString, L_OWNER_GVK, ownerLabels } from '../ipam/owner-labels.js';
import type { LabelSelector } from '../ipam/types.js';
import type { VlanAllocation, VlanDefinition, VlanIndexKind, VlanIndexRef, VlanIndexSpec, VlanRequest } from '../vlan/types.js';
import type { ClaimRequest, ClaimResponse, GVK, Header, WLabelSelector } from './messages.js';
import { PACKAGE_GVK, parseLocalOwner } from './owner.js';
import { claimStatusObject, decodeClaimHeader, objectOwnerLabels, parseObject, type ClaimIdentity, type ParsedObject } from './resource.js';
import { checkLabels, checkSelector, checkString, invalid, type Limits } from './validate.js';

export const VLAN_GROUP = 'vlan.resource.nephio.org';
export const VLAN_ALLOC_GROUP = 'vlan.alloc.nephio.org';
const VERSION = 'v1alpha1';
/** The operator's static VLAN (both groups). */
export const VLAN_DEFINITION_KIND = 'VLAN';
/** Nephio's interface-fn: every interface of one network in one cluster shares this claim's id. */
export const ANN_VLAN_CLAIM_NAME = 'specializer.nephio.org/vlanClaimName';
/** Our clients mark the index a WorkloadCluster implies: made when missing, never a conflict. */
export const ANN_IMPLIED = 'ipam-injector.dev/implied';

/** One API generation's VLAN kinds and the claim field that names the index. */
export interface VlanApi {
  group: string;
  claimKind: string;
  indexKind: string;
  indexField: 'vlanIndex' | 'vlanDatabase';
}
export const VLAN_RESOURCE_API: VlanApi = { group: VLAN_GROUP, claimKind: 'VLANClaim', indexKind: 'VLANIndex', indexField: 'vlanIndex' };
export const VLAN_ALLOC_API: VlanApi = {
  group: VLAN_ALLOC_GROUP,
  claimKind: 'VLANAllocation',
  indexKind: 'VLANDatabase',
  indexField: 'vlanDatabase',
};

/** The VLAN API of a header's group (undefined: not a VLAN group). */
export function vlanApiOf(group: string | undefined): VlanApi | undefined {
  return group === VLAN_GROUP ? VLAN_RESOURCE_API : group === VLAN_ALLOC_GROUP ? VLAN_ALLOC_API : undefined;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const apiVersion = (api: VlanApi) => `${api.group}/${VERSION}`;

function strings(v: unknown, field: string, limits: Limits): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw invalid(field, 'must be a map of strings');
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') throw invalid(`${field}[${k}]`, 'must be a string');
  return checkLabels(v as Record<string, string>, field, limits);
}

function metadataOf(p: ParsedObject): Json {
  return isObj(p.whole?.metadata) ? p.whole.metadata : {};
}

function annotation(p: ParsedObject, key: string, limits: Limits): string | undefined {
  const v = strings(metadataOf(p).annotations, 'metadata.annotations', limits)[key];
  return v || undefined;
}

// ---------------- server side ----------------

export interface DecodedVlanIndex {
  id: ClaimIdentity;
  spec: Omit<VlanIndexSpec, 'owner'>;
  /** Our own clients send the package's whole definition; the original only opens the index. */
  ownClient: boolean;
}

/** CreateIndex / DeleteIndex: a VLANIndex or VLANDatabase; header.nsn names it when the object does not. */
export function decodeVlanIndex(r: ClaimRequest, limits: Limits, api: VlanApi): DecodedVlanIndex {
  const id = decodeClaimHeader(r.header, limits, api.indexKind);
  const parsed = parseObject(r.spec, limits, [api.indexKind]);
  const m = metadataOf(parsed);
  const index: VlanIndexRef = parsed.whole
    ? { name: String(m.name), namespace: (typeof m.namespace === 'string' && m.namespace) || 'default' }
    : { name: id.nsn.name, namespace: id.nsn.namespace };
  const kind = parsed.spec.kind ?? 'esg';
  if (kind !== 'esg' && kind !== 'device' && kind !== '') throw invalid('spec.kind', `${JSON.stringify(kind)} is not esg or device`);
  const labels = strings(parsed.spec.labels, 'spec.labels', limits);
  const spec: Omit<VlanIndexSpec, 'owner'> = { index, kind: (kind || 'esg') as VlanIndexKind };
  if (Object.keys(labels).length) spec.labels = labels;
  if (annotation(parsed, ANN_IMPLIED, limits) === 'true') spec.implied = true;
  return { id, spec, ownClient: isOwnClient(r.header) };
}

const isOwnClient = (h: Header | undefined) => h?.ownerGvk?.kind === PACKAGE_GVK.kind && h.ownerGvk.group === PACKAGE_GVK.group;

export type DecodedVlanClaim =
  | { id: ClaimIdentity; parsed: ParsedObject; definition: VlanDefinition; req?: undefined }
  | { id: ClaimIdentity; parsed: ParsedObject; req: VlanRequest; definition?: undefined };

/** A JSON number that fits a VLAN id field (Go *uint16): the allocator checks the range. */
function vlanNumber(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535)
    throw invalid(field, `must be an integer VLAN id, not ${JSON.stringify(v)}`);
  return v;
}

/**
 * Claim / GetClaim / DeleteClaim: a VLANClaim (VLANAllocation) as a VLAN request, or, when its
 * metadata.labels name the VLAN kind as owner, the operator's VLAN definition it carries.
 */
export function decodeVlanClaim(r: ClaimRequest, limits: Limits, api: VlanApi): DecodedVlanClaim {
  const id = decodeClaimHeader(r.header, limits, api.claimKind);
  const parsed = parseObject(r.spec, limits, [api.claimKind]);
  const { spec, metadataLabels } = parsed;
  const index = claimIndex(spec, api, limits);
  const vlanID = vlanNumber(spec.vlanID, 'spec.vlanID');
  const range = vlanRange(spec.range, limits);
  const sel = spec.selector;
  if (sel !== undefined && sel !== null && !isObj(sel)) throw invalid('spec.selector', 'must be a label selector');
  const selector = checkSelector(sel as WLabelSelector | undefined, 'spec.selector', limits);
  const labels = strings(spec.labels, 'spec.labels', limits);
  // every claim stores the owner labels the original client writes (a client that did not
  // write them gets the ones it would have written)
  const own = claimOwnerLabels(id, parsed, api);
  for (const [k, v] of Object.entries(own)) if (!(k in labels)) labels[k] = v;
  const ownerGvk = metadataLabels?.[L_OWNER_GVK];
  if (ownerGvk === gvkString(apiVersion(api), VLAN_DEFINITION_KIND)) {
    const definition: VlanDefinition = { index, owner: id.owner, labels };
    if (vlanID !== undefined) definition.vlanID = vlanID;
    if (range !== undefined) definition.range = range;
    return { id, parsed, definition };
  }
  const req: VlanRequest = { owner: id.owner, index, labels };
  if (vlanID !== undefined) req.vlanID = vlanID;
  if (range !== undefined) req.range = range;
  if (selector && (Object.keys(selector.matchLabels ?? {}).length || selector.matchExpressions?.length)) req.selector = selector;
  const claim = annotation(parsed, ANN_VLAN_CLAIM_NAME, limits);
  if (claim) req.claim = claim;
  const hint = statusHint(parsed.status, range !== undefined);
  if (hint !== undefined) req.hint = hint;
  return { id, parsed, req };
}

/** What the claim's status holds now (vlanRange for a range, else vlanID), as the allocator's hint. */
function statusHint(status: Json | undefined, isRange: boolean): string | undefined {
  const hint = isRange ? status?.vlanRange : status?.vlanID;
  return typeof hint === 'number' || (typeof hint === 'string' && hint !== '') ? String(hint) : undefined;
}

/** spec.vlanIndex (spec.vlanDatabase): the index a claim is in, required. */
function claimIndex(spec: Json, api: VlanApi, limits: Limits): VlanIndexRef {
  const field = `spec.${api.indexField}.name`;
  const ix = spec[api.indexField];
  if (!isObj(ix) || typeof ix.name !== 'string' || ix.name === '')
    throw invalid(field, `the VLAN index (${api.indexField}.name) is required`);
  return { name: checkString(ix.name, field, limits), namespace: (typeof ix.namespace === 'string' && ix.namespace) || 'default' };
}

/** spec.range: start:end or a size; empty is none. */
function vlanRange(v: unknown, limits: Limits): string | undefined {
  if (v !== undefined && v !== null && typeof v !== 'string') throw invalid('spec.range', 'must be a string (start:end or a size)');
  return typeof v === 'string' && v !== '' ? checkString(v, 'spec.range', limits) : undefined;
}

/** The owner labels of a claim's object as sent, else of the claim the header names. */
function claimOwnerLabels(id: ClaimIdentity, parsed: ParsedObject, api: VlanApi): Record<string, string> {
  const { whole, metadataLabels } = parsed;
  if (!whole) return ownerLabels({ apiVersion: apiVersion(api), kind: api.claimKind, name: id.nsn.name, namespace: id.nsn.namespace });
  return objectOwnerLabels(whole, metadataLabels);
}

/** What an answer sets: status.vlanID or status.vlanRange. */
const vlanStatus = (a: Pick<VlanAllocation, 'vlanID' | 'vlanRange'>): Json =>
  a.vlanRange !== undefined ? { vlanRange: a.vlanRange } : { vlanID: a.vlanID };

/** ClaimResponse of a VLAN claim: the whole object with its status filled (flat for a bare spec). */
export function vlanClaimResponse(r: ClaimRequest, parsed: ParsedObject, a: Pick<VlanAllocation, 'vlanID' | 'vlanRange'>): ClaimResponse {
  let text: string;
  if (!parsed.whole) text = JSON.stringify(vlanStatus(a));
  else {
    const { vlanID: _i, vlanRange: _r, ...rest } = parsed.status ?? {};
    text = JSON.stringify({ ...parsed.whole, status: { ...rest, ...vlanStatus(a) } });
  }
  return { header: r.header ?? {}, spec: r.spec ?? '', status: text, statusCode: 'Valid', expiryTime: r.expiryTime ?? '' };
}

// ---------------- client side ----------------

/** "<namespace>/<Kind>/<name>" of a local owner (anything else: default/<fallback>/<owner>). */
function objectOf(owner: string, fallbackKind: string) {
  return parseLocalOwner(owner) ?? { namespace: 'default', kind: fallbackKind, name: owner };
}

function header(api: VlanApi, owner: { namespace: string; kind: string; name: string }, pkg: string | undefined): Header {
  const gvk: GVK = { group: api.group, version: VERSION, kind: owner.kind };
  return {
    gvk,
    nsn: { namespace: owner.namespace, name: owner.name },
    ...(pkg ? { ownerGvk: { ...PACKAGE_GVK }, ownerNsn: { namespace: '', name: pkg } } : {}),
  };
}

const refJson = (r: VlanIndexRef) => ({ name: r.name, namespace: r.namespace || 'default' });

function object(
  api: VlanApi,
  kind: string,
  name: string,
  namespace: string,
  meta: { labels?: Json; annotations?: Json },
  spec: Json,
  status: Json,
): string {
  const metadata: Json = { name, namespace, creationTimestamp: null };
  if (meta.labels && Object.keys(meta.labels).length) metadata.labels = meta.labels;
  if (meta.annotations && Object.keys(meta.annotations).length) metadata.annotations = meta.annotations;
  return JSON.stringify({ apiVersion: apiVersion(api), kind, metadata, spec, status });
}

/** CreateIndex: the whole VLANIndex (VLANDatabase); the header names its owner. */
export function encodeVlanIndex(x: VlanIndexSpec, pkg: string | undefined, api: VlanApi): ClaimRequest {
  const o = objectOf(x.owner, api.indexKind);
  const spec: Json = {};
  // VLANDatabase's kind has no omitempty in the Go type; a VLANIndex has none
  if (api.indexKind === VLAN_ALLOC_API.indexKind) spec.kind = x.kind ?? 'esg';
  if (x.labels && Object.keys(x.labels).length) spec.labels = { ...x.labels };
  const ref = refJson(x.index);
  return {
    header: header(api, o, pkg),
    spec: object(api, api.indexKind, ref.name, ref.namespace, { annotations: x.implied ? { [ANN_IMPLIED]: 'true' } : {} }, spec, {}),
    expiryTime: 'never',
  };
}

function claimSpec(
  api: VlanApi,
  index: VlanIndexRef,
  o: { vlanID?: number; range?: string; labels?: Record<string, string>; selector?: LabelSelector },
): Json {
  const spec: Json = { [api.indexField]: refJson(index) };
  if (o.vlanID !== undefined) spec.vlanID = o.vlanID;
  if (o.range !== undefined) spec.range = o.range;
  if (o.labels && Object.keys(o.labels).length) spec.labels = o.labels;
  const s = o.selector;
  if (s && (Object.keys(s.matchLabels ?? {}).length || s.matchExpressions?.length)) spec.selector = s;
  return spec;
}

/**
 * Claim / GetClaim: one VLAN request as the original client marshals it (owner labels in
 * spec.labels). A claim (not a lookup) with a vlanClaimName goes as Nephio's vlan-fn sends it:
 * the object renamed to that name, so that a server that reads only the object (the
 * original's) answers every claim of the name with one id; the header still names the
 * request, which is what our server owns it by (it shares the id through the annotation).
 */
export function encodeVlanClaim(req: VlanRequest, pkg: string | undefined, api: VlanApi, lookup = false): ClaimRequest {
  const o = objectOf(req.owner, api.claimKind);
  const name = req.claim !== undefined && !lookup ? req.claim : o.name;
  const labels = {
    ...(req.labels ?? {}),
    ...ownerLabels({ apiVersion: apiVersion(api), kind: api.claimKind, name, namespace: o.namespace }),
  };
  const status: Json = {};
  if (req.hint !== undefined) {
    if (req.range !== undefined) status.vlanRange = req.hint;
    else if (/^[0-9]+$/.test(req.hint)) status.vlanID = Number(req.hint);
  }
  return {
    header: header(api, o, pkg),
    spec: object(
      api,
      api.claimKind,
      name,
      o.namespace,
      { annotations: req.claim ? { [ANN_VLAN_CLAIM_NAME]: req.claim } : {} },
      claimSpec(api, req.index, { ...req, labels }),
      status,
    ),
    expiryTime: 'never',
  };
}

/** An operator's VLAN as the original client proxy claims it: a claim owned (by label) by the VLAN kind. */
export function encodeVlanDefinition(d: VlanDefinition, pkg: string | undefined, api: VlanApi): ClaimRequest {
  const o = objectOf(d.owner, VLAN_DEFINITION_KIND);
  const metaLabels = { [L_OWNER_GVK]: gvkString(apiVersion(api), VLAN_DEFINITION_KIND) };
  const labels = {
    ...(d.labels ?? {}),
    ...ownerLabels({ apiVersion: apiVersion(api), kind: api.claimKind, name: o.name, namespace: o.namespace, labels: metaLabels }),
  };
  return {
    header: header(api, o, pkg),
    spec: object(api, api.claimKind, o.name, o.namespace, { labels: metaLabels }, claimSpec(api, d.index, { ...d, labels }), {}),
    expiryTime: 'never',
  };
}

/** DeleteClaim of an owner the package no longer has: the index is the package's only one, if it names one. */
export function encodeVlanRelease(owner: string, pkg: string | undefined, api: VlanApi, index: VlanIndexRef | undefined): ClaimRequest {
  const o = objectOf(owner, api.claimKind);
  const labels = ownerLabels({ apiVersion: apiVersion(api), kind: api.claimKind, name: o.name, namespace: o.namespace });
  const spec: Json = { [api.indexField]: index ? refJson(index) : {}, labels };
  return { header: header(api, o, pkg), spec: object(api, api.claimKind, o.name, o.namespace, {}, spec, {}), expiryTime: 'never' };
}

/** Reads ClaimResponse.status as a client: the whole object's status, or a flat {vlanID | vlanRange}. */
export function readVlanStatus(text: string | undefined): { vlanID?: number; vlanRange?: string } {
  const st = claimStatusObject(text);
  const out: { vlanID?: number; vlanRange?: string } = {};
  if (typeof st.vlanID === 'number' && Number.isInteger(st.vlanID)) out.vlanID = st.vlanID;
  if (typeof st.vlanRange === 'string' && st.vlanRange !== '') out.vlanRange = st.vlanRange;
  return out;
}
