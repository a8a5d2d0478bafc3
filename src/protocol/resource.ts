// resource.Resource (and the 2023 alloc.Allocation, the same shapes) <-> allocator types.
// Objects travel as JSON text, as the original sends them (nokia/k8s-ipam pkg/proxy):
// ClaimRequest.spec is the whole claim object (apiVersion, kind, metadata, spec, status) and
// ClaimResponse.status the whole object with its status filled. The server also accepts a
// bare IPClaim spec (older ipam-injector clients) and answers it with a flat {prefix, gateway}.
import type { AllocationRequest, Allocation, InstancePrefix, NetworkInstanceRef, PrefixSpec } from '../ipam/types.js';
import { gvkString, ownerLabels, L_OWNER_GVK } from '../ipam/owner-labels.js';
import type { ClaimRequest, ClaimResponse, GVK, Header, NSN, WLabelSelector } from './messages.js';
import { PACKAGE_GVK, formatLocalOwner, parseLocalOwner, scopedOwner } from './owner.js';
import { checkFamily, checkKind, checkLabels, checkPrefixLength, checkSelector, checkString, invalid, type Limits } from './validate.js';

export const IPAM_GROUP = 'ipam.resource.nephio.org';
export const IPAM_ALLOC_GROUP = 'ipam.alloc.nephio.org';
export const CLAIM_GVK = { group: IPAM_GROUP, version: 'v1alpha1', kind: 'IPClaim' } as const;
export const PREFIX_GVK = { group: IPAM_GROUP, version: 'v1alpha1', kind: 'IPPrefix' } as const;
export const INDEX_GVK = { group: IPAM_GROUP, version: 'v1alpha1', kind: 'NetworkInstance' } as const;
/** The 2023 alloc generation's claim kind (group ipam.alloc.nephio.org). */
export const ALLOCATION_KIND = 'IPAllocation';

const apiVersionOf = (g: GVK) => [g.group, g.version].filter(Boolean).join('/');
const gvkText = (g: GVK) => `${apiVersionOf(g)}.${g.kind}`;

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

/** A request's JSON: the whole object when it has apiVersion/kind, else a bare spec. */
export interface ParsedObject {
  /** The whole object as sent (undefined for a bare spec). */
  whole?: Json;
  spec: Json;
  status?: Json;
  metadataLabels?: Record<string, string>;
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses ClaimRequest.spec. `kinds`: the object kinds this call accepts (a whole object of any
 * other kind is INVALID_ARGUMENT, as is one without metadata.name). Empty text: a bare, empty spec.
 */
export function parseObject(text: string | undefined, limits: Limits, kinds: readonly string[]): ParsedObject {
  const s = text ?? '';
  if (s.length > limits.maxMessageBytes) throw invalid('spec', 'too large');
  if (s.trim() === '') return { spec: {} };
  const obj = parseJsonObject(s);
  // a bare spec has a kind too (the prefix kind): the whole object has apiVersion or spec
  if (typeof obj.apiVersion !== 'string' && !isObj(obj.spec)) return { spec: obj };
  if (typeof obj.kind !== 'string' || !kinds.includes(obj.kind)) {
    throw invalid('spec.kind', `object kind ${JSON.stringify(obj.kind)} is not accepted here (want ${kinds.join(' or ')})`);
  }
  const m = optionalObject(obj.metadata, 'spec.metadata') ?? {};
  if (typeof m.name !== 'string' || m.name === '') throw invalid('spec.metadata.name', `the ${obj.kind} has no metadata.name`);
  const spec = optionalObject(obj.spec, 'spec.spec');
  const status = optionalObject(obj.status, 'spec.status');
  return {
    whole: obj,
    spec: spec ?? {},
    ...(status ? { status } : {}),
    ...(m.labels !== undefined && m.labels !== null ? { metadataLabels: stringMap(m.labels, 'spec.metadata.labels', limits) } : {}),
  };
}

function parseJsonObject(s: string): Json {
  let obj: unknown;
  try {
    obj = JSON.parse(s);
  } catch (e) {
    throw invalid('spec', `not JSON: ${(e as Error).message}`);
  }
  if (!isObj(obj)) throw invalid('spec', 'must be a JSON object');
  return obj;
}

/** An object field that may be absent (undefined, null); anything else is INVALID_ARGUMENT. */
function optionalObject(v: unknown, field: string): Json | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw invalid(field, 'must be an object');
  return v;
}

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

function bool(o: Json, key: string, field: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(`${field}.${key}`, 'must be a boolean');
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

/** Claim kinds a claim call accepts as whole objects. */
export const CLAIM_KINDS = [CLAIM_GVK.kind, ALLOCATION_KIND] as const;

/** Claim / GetClaim / DeleteClaim: a claim as an allocation request. */
export function decodeClaim(r: ClaimRequest, limits: Limits): { id: ClaimIdentity; req: AllocationRequest; parsed: ParsedObject } {
  const id = decodeClaimHeader(r.header, limits);
  const parsed = parseObject(r.spec, limits, CLAIM_KINDS);
  const { spec, status, metadataLabels } = parsed;
  const f = 'spec';
  const sel = spec.selector;
  if (sel !== undefined && sel !== null && !isObj(sel)) throw invalid(`${f}.selector`, 'must be a label selector');
  const selector = checkSelector(sel as WLabelSelector | undefined, `${f}.selector`, limits);
  const prefix = str(spec, 'prefix', f);
  const prefixLength = checkPrefixLength(num(spec, 'prefixLength', f), `${f}.prefixLength`);
  const family = checkFamily(str(spec, 'addressFamily', f), `${f}.addressFamily`);
  const index = num(spec, 'index', f);
  const createPrefix = bool(spec, 'createPrefix', f);
  const labels = { ...(metadataLabels ?? {}), ...stringMap(spec.labels, `${f}.labels`, limits) };
  // every allocation stores the six owner labels; a client that did not write them gets the
  // ones the original client would have written
  const own = claimOwnerLabels(r, id, parsed);
  for (const [k, v] of Object.entries(own)) if (!(k in labels)) labels[k] = v;
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
  return { id, req, parsed };
}

/** The owner labels of a whole object as sent (its apiVersion, kind, name and namespace). */
export function objectOwnerLabels(whole: Json, metadataLabels: Record<string, string> | undefined): Record<string, string> {
  const m = (whole.metadata ?? {}) as Json;
  return ownerLabels({
    apiVersion: String(whole.apiVersion ?? ''),
    kind: String(whole.kind),
    name: String(m.name),
    namespace: typeof m.namespace === 'string' ? m.namespace : undefined,
    labels: metadataLabels,
  });
}

/** The owner labels of a claim's object as sent, else of the object the header names. */
function claimOwnerLabels(r: ClaimRequest, id: ClaimIdentity, { whole, metadataLabels }: ParsedObject): Record<string, string> {
  if (whole) return objectOwnerLabels(whole, metadataLabels);
  const g = r.header?.gvk ?? {};
  return ownerLabels({
    apiVersion: apiVersionOf(g) || apiVersionOf(CLAIM_GVK),
    kind: g.kind || CLAIM_GVK.kind,
    name: id.nsn.name,
    namespace: id.nsn.namespace,
    labels: metadataLabels,
  });
}

/** Claim with header.gvk.kind IPPrefix and a bare IPPrefix spec (older clients): an operator prefix. */
export function decodePrefixClaim(r: ClaimRequest, limits: Limits): { id: ClaimIdentity; spec: PrefixSpec } {
  const id = decodeClaimHeader(r.header, limits, PREFIX_GVK.kind);
  const { spec, metadataLabels } = parseObject(r.spec, limits, [PREFIX_GVK.kind]);
  const prefix = checkString(str(spec, 'prefix', 'spec'), 'spec.prefix', limits, true);
  const network = str(spec, 'network', 'spec') ?? str(spec, 'networkName', 'spec');
  const labels = { ...(metadataLabels ?? {}), ...stringMap(spec.labels, 'spec.labels', limits) };
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

/** CreateIndex / DeleteIndex: a NetworkInstance (whole, or a bare {prefixes}); header.nsn names it. */
export function decodeIndex(
  r: ClaimRequest,
  limits: Limits,
): { id: ClaimIdentity; ref: NetworkInstanceRef; prefixes: InstancePrefix[]; whole: boolean } {
  const id = decodeClaimHeader(r.header, limits, INDEX_GVK.kind);
  const { spec, whole } = parseObject(r.spec, limits, [INDEX_GVK.kind]);
  const raw = spec.prefixes ?? [];
  if (!Array.isArray(raw)) throw invalid('spec.prefixes', 'must be a list');
  if (raw.length > limits.maxBatch) throw invalid('spec.prefixes', `at most ${limits.maxBatch}`);
  const prefixes = raw.map((p, i): InstancePrefix => {
    if (!isObj(p)) throw invalid(`spec.prefixes[${i}]`, 'must be {prefix, labels}');
    const labels = stringMap(p.labels, `spec.prefixes[${i}].labels`, limits);
    return {
      prefix: checkString(str(p, 'prefix', `spec.prefixes[${i}]`), `spec.prefixes[${i}].prefix`, limits, true),
      ...(Object.keys(labels).length ? { labels } : {}),
    };
  });
  let ref: NetworkInstanceRef = { name: id.nsn.name, namespace: id.nsn.namespace };
  if (whole) {
    const m = whole.metadata as Json;
    ref = { name: String(m.name), namespace: (typeof m.namespace === 'string' && m.namespace) || 'default' };
  }
  return { id, ref, prefixes, whole: !!whole };
}

/** ClaimResponse.status: the whole object with status.prefix/gateway filled, or flat for a bare spec. */
export function claimStatus(parsed: ParsedObject | undefined, a: Pick<Allocation, 'prefix' | 'gateway'>): string {
  if (!parsed?.whole) return JSON.stringify(a.gateway ? { prefix: a.prefix, gateway: a.gateway } : { prefix: a.prefix });
  const { prefix: _p, gateway: _g, ...rest } = parsed.status ?? {};
  return JSON.stringify({ ...parsed.whole, status: { ...rest, prefix: a.prefix, ...(a.gateway ? { gateway: a.gateway } : {}) } });
}

export function claimResponse(r: ClaimRequest, parsed: ParsedObject | undefined, a: Pick<Allocation, 'prefix' | 'gateway'>): ClaimResponse {
  return {
    header: r.header ?? {},
    spec: r.spec ?? '',
    status: claimStatus(parsed, a),
    statusCode: 'Valid',
    expiryTime: r.expiryTime ?? '',
  };
}

/** ClaimResponse.status as a client reads it: the whole object's `status`, or the object
 *  itself when it is flat. Throws when the text is not a JSON object. */
export function claimStatusObject(text: string | undefined): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text || '{}');
  } catch {
    throw new Error(`the server answered a status that is not JSON: ${JSON.stringify((text ?? '').slice(0, 200))}`);
  }
  if (!isObj(v)) throw new Error(`the server answered a status that is not a JSON object: ${JSON.stringify((text ?? '').slice(0, 200))}`);
  return isObj(v.status) ? v.status : v;
}

/**
 * Reads ClaimResponse.status as a client: the whole object ({status: {prefix, gateway}}, the
 * original's answer) or a flat {prefix, gateway}. Throws when it is not a JSON object.
 */
export function readClaimStatus(text: string | undefined): { prefix?: string; gateway?: string } {
  const st = claimStatusObject(text);
  const pick = (k: string) => (typeof st[k] === 'string' && st[k] !== '' ? (st[k] as string) : undefined);
  const prefix = pick('prefix');
  const gateway = pick('gateway');
  return { ...(prefix ? { prefix } : {}), ...(gateway ? { gateway } : {}) };
}

// ---- client side: whole objects, as the original client proxy builds them ----

/** The API generation a client speaks: resource (IPClaim) or the 2023 alloc (IPAllocation). */
export interface ClaimApi {
  group: string;
  claimKind: string;
}
export const RESOURCE_API: ClaimApi = { group: IPAM_GROUP, claimKind: CLAIM_GVK.kind };
export const ALLOC2023_API: ClaimApi = { group: IPAM_ALLOC_GROUP, claimKind: ALLOCATION_KIND };

const apiVersionOfApi = (api: ClaimApi) => `${api.group}/v1alpha1`;
const claimGvk = (api: ClaimApi, kind = api.claimKind): GVK => ({ group: api.group, version: 'v1alpha1', kind });

function packageOwner(pkg: string | undefined): Pick<Header, 'ownerGvk' | 'ownerNsn'> {
  return pkg ? { ownerGvk: { ...PACKAGE_GVK }, ownerNsn: { namespace: '', name: pkg } } : {};
}

/** The object a local owner "<namespace>/<Kind>/<name>" names (anything else: default/<fallback>/<owner>). */
function objectOf(owner: string, fallbackKind: string): { namespace: string; kind: string; name: string } {
  return parseLocalOwner(owner) ?? { namespace: 'default', kind: fallbackKind, name: owner };
}

const niJson = (ref: NetworkInstanceRef) => ({ name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) });

/**
 * An IPClaim as the original client marshals it (Go field order; metadata.creationTimestamp
 * null as metav1.ObjectMeta writes it; spec.labels carrying the owner labels).
 * `kind`: header.gvk.kind, the kind of the object the request came from (the owner key).
 */
function claimObject(
  api: ClaimApi,
  name: string,
  namespace: string,
  metaLabels: Record<string, string> | undefined,
  spec: Json,
  status: Json,
): Json {
  return {
    apiVersion: apiVersionOfApi(api),
    kind: api.claimKind,
    metadata: { name, namespace, creationTimestamp: null, ...(metaLabels && Object.keys(metaLabels).length ? { labels: metaLabels } : {}) },
    spec,
    status,
  };
}

function claimSpec(
  kind: string,
  ni: NetworkInstanceRef,
  o: {
    addressFamily?: string;
    prefix?: string;
    prefixLength?: number;
    index?: number;
    createPrefix?: boolean;
    labels?: Record<string, string>;
    selector?: WLabelSelector;
  },
): Json {
  const spec: Json = { kind, networkInstance: niJson(ni) };
  if (o.addressFamily) spec.addressFamily = o.addressFamily;
  if (o.prefix) spec.prefix = o.prefix;
  if (o.prefixLength !== undefined) spec.prefixLength = o.prefixLength;
  if (o.index !== undefined) spec.index = o.index;
  if (o.createPrefix) spec.createPrefix = true;
  if (o.labels && Object.keys(o.labels).length) spec.labels = o.labels;
  if (o.selector && (Object.keys(o.selector.matchLabels ?? {}).length || o.selector.matchExpressions?.length)) spec.selector = o.selector;
  return spec;
}

/** The prefix length of `a.b.c.d/len` (undefined when absent). */
const lengthOf = (prefix: string): number | undefined => {
  const n = Number(prefix.split('/')[1]);
  return Number.isInteger(n) ? n : undefined;
};

/** The IPClaim of one allocation request. */
export function encodeClaim(req: AllocationRequest, pkg: string | undefined, api: ClaimApi = RESOURCE_API): ClaimRequest {
  const o = objectOf(req.owner, api.claimKind);
  const labels = { ...(req.labels ?? {}) };
  const obj = claimObject(
    api,
    o.name,
    o.namespace,
    undefined,
    claimSpec(req.kind, req.networkInstance, { ...req, labels }),
    req.hint ? { prefix: req.hint } : {},
  );
  return {
    header: { gvk: claimGvk(api, o.kind), nsn: { namespace: o.namespace, name: o.name }, ...packageOwner(pkg) },
    spec: JSON.stringify(obj),
    expiryTime: 'never',
  };
}

/** An IPPrefix as the original's IPPrefix controller claims it: an IPClaim with createPrefix. */
export function encodePrefixClaim(p: PrefixSpec, pkg: string | undefined, api: ClaimApi = RESOURCE_API): ClaimRequest {
  const o = objectOf(p.owner, PREFIX_GVK.kind);
  const apiVersion = apiVersionOfApi(api);
  const metaLabels = { [L_OWNER_GVK]: gvkString(apiVersion, PREFIX_GVK.kind) };
  const userLabels = { ...(p.labels ?? {}), ...(p.networkName ? { 'nephio.org/network-name': p.networkName } : {}) };
  const labels = {
    ...userLabels,
    ...ownerLabels({ apiVersion, kind: api.claimKind, name: o.name, namespace: o.namespace, labels: metaLabels }),
  };
  const spec = claimSpec(p.kind, p.networkInstance, { prefix: p.prefix, prefixLength: lengthOf(p.prefix), createPrefix: true, labels });
  return {
    header: { gvk: claimGvk(api, o.kind), nsn: { namespace: o.namespace, name: o.name }, ...packageOwner(pkg) },
    spec: JSON.stringify(claimObject(api, o.name, o.namespace, metaLabels, spec, {})),
    expiryTime: 'never',
  };
}

/** `<prefix, / and : as ->-<instance>-aggregate`: the claim name the original gives an instance prefix. */
export function aggregateClaimName(prefix: string, instance: string): string {
  return `${prefix.replaceAll('/', '-')}-${instance}`.replaceAll(':', '-') + '-aggregate';
}

/** CreateIndex: the whole NetworkInstance. */
export function encodeIndex(
  ref: NetworkInstanceRef,
  prefixes: InstancePrefix[],
  pkg: string | undefined,
  api: ClaimApi = RESOURCE_API,
): ClaimRequest {
  const namespace = ref.namespace || 'default';
  const obj = {
    apiVersion: apiVersionOfApi(api),
    kind: INDEX_GVK.kind,
    metadata: { name: ref.name, namespace, creationTimestamp: null },
    spec: {
      prefixes: prefixes.map((p) => ({ prefix: p.prefix, ...(p.labels && Object.keys(p.labels).length ? { labels: p.labels } : {}) })),
    },
    status: {},
  };
  return {
    header: { gvk: claimGvk(api, INDEX_GVK.kind), nsn: { namespace, name: ref.name }, ...packageOwner(pkg) },
    spec: JSON.stringify(obj),
    expiryTime: 'never',
  };
}

/** The instance's prefixes as the original's NetworkInstance controller claims them after CreateIndex. */
export function encodeAggregateClaims(
  ref: NetworkInstanceRef,
  prefixes: InstancePrefix[],
  pkg: string | undefined,
  api: ClaimApi = RESOURCE_API,
): ClaimRequest[] {
  const namespace = ref.namespace || 'default';
  const apiVersion = apiVersionOfApi(api);
  const metaLabels = { [L_OWNER_GVK]: gvkString(apiVersion, INDEX_GVK.kind) };
  return prefixes.map((p) => {
    const name = aggregateClaimName(p.prefix, ref.name);
    const labels = { ...(p.labels ?? {}), ...ownerLabels({ apiVersion, kind: api.claimKind, name, namespace, labels: metaLabels }) };
    const spec = claimSpec(
      'aggregate',
      { name: ref.name, namespace },
      { prefix: p.prefix, prefixLength: lengthOf(p.prefix), createPrefix: true, labels },
    );
    return {
      header: { gvk: claimGvk(api), nsn: { namespace, name }, ...packageOwner(pkg) },
      spec: JSON.stringify(claimObject(api, name, namespace, metaLabels, spec, {})),
      expiryTime: 'never',
    };
  });
}

/**
 * DeleteClaim/DeleteIndex of one owner, with the whole object as far as the package still
 * knows it: `req` when this run made the request, else its name and the network instance
 * `ni` (when the package names only one).
 */
export function encodeRelease(
  owner: string,
  pkg: string | undefined,
  req?: AllocationRequest,
  ni?: NetworkInstanceRef,
  api: ClaimApi = RESOURCE_API,
): { rpc: 'DeleteClaim' | 'DeleteIndex'; req: ClaimRequest } {
  const ref = parseLocalOwner(owner);
  if (ref?.kind === INDEX_GVK.kind) {
    return { rpc: 'DeleteIndex', req: encodeIndex({ name: ref.name, namespace: ref.namespace }, [], pkg, api) };
  }
  if (req) return { rpc: 'DeleteClaim', req: encodeClaim(req, pkg, api) };
  const o = objectOf(owner, api.claimKind);
  const labels = ownerLabels({ apiVersion: apiVersionOfApi(api), kind: api.claimKind, name: o.name, namespace: o.namespace });
  const spec: Json = { kind: '', networkInstance: ni ? niJson(ni) : {}, labels };
  return {
    rpc: 'DeleteClaim',
    req: {
      header: { gvk: claimGvk(api, o.kind), nsn: { namespace: o.namespace, name: o.name }, ...packageOwner(pkg) },
      spec: JSON.stringify(claimObject(api, o.name, o.namespace, undefined, spec, {})),
      expiryTime: 'never',
    },
  };
}
