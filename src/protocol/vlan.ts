// ipaminjector.admin.v1 VLAN messages <-> VLAN allocator types (src/vlan), both directions.
import type {
  VlanAllocation,
  VlanDefinition,
  VlanIndexInfo,
  VlanIndexKind,
  VlanIndexRef,
  VlanIndexSpec,
  VlanRequest,
} from '../vlan/types.js';
import type { StringMap, WError, WLabelSelector } from './messages.js';
import { checkLabels, checkSelector, checkString, invalid, type Limits } from './validate.js';

export interface WVlanIndexRef {
  name?: string;
  namespace?: string;
}
export interface WVlanIndex {
  ref?: WVlanIndexRef;
  kind?: string;
  labels?: StringMap;
  owner?: string;
  implied?: boolean;
}
export interface WVlanDefinition {
  index?: WVlanIndexRef;
  vlanID?: number;
  range?: string;
  labels?: StringMap;
  owner?: string;
}
export interface WVlanClaimRequest {
  owner?: string;
  index?: WVlanIndexRef;
  vlanID?: number;
  range?: string;
  selector?: WLabelSelector;
  labels?: StringMap;
  hint?: string;
  claim?: string;
  lookup?: boolean;
}
export interface WVlanClaim {
  owner?: string;
  index?: WVlanIndexRef;
  vlanID?: number;
  vlanRange?: string;
  labels?: StringMap;
  claim?: string;
  definition?: boolean;
  reference?: boolean;
}
export interface WVlanOutcome {
  claim?: WVlanClaim;
  error?: WError;
  result?: 'claim' | 'error';
}
export interface WVlanBatchRequest {
  package?: string;
  indexes?: WVlanIndex[];
  definitions?: WVlanDefinition[];
  release?: string[];
  requests?: WVlanClaimRequest[];
  dryRun?: boolean;
}
export interface WVlanBatchResponse {
  outcomes: WVlanOutcome[];
  spaceErrors: WError[];
  released: WVlanClaim[];
}

export function fromWVlanRef(r: WVlanIndexRef | undefined, field: string, limits: Limits, required = true): VlanIndexRef | undefined {
  const name = checkString(r?.name, field, limits, required, '.name');
  if (!name) return undefined;
  return { name, namespace: checkString(r?.namespace, field, limits, false, '.namespace') || 'default' };
}

export const toWVlanRef = (r: VlanIndexRef): WVlanIndexRef => ({ name: r.name, namespace: r.namespace || 'default' });

function kindOf(v: string | undefined, field: string): VlanIndexKind {
  if (!v) return 'esg';
  if (v !== 'esg' && v !== 'device') throw invalid(field, `"${v}" is not esg or device`);
  return v;
}

export function fromWVlanIndex(w: WVlanIndex, field: string, limits: Limits, owner: string): VlanIndexSpec {
  const labels = checkLabels(w.labels, `${field}.labels`, limits);
  return {
    index: fromWVlanRef(w.ref, `${field}.ref`, limits)!,
    kind: kindOf(w.kind, `${field}.kind`),
    owner,
    ...(Object.keys(labels).length ? { labels } : {}),
    ...(w.implied ? { implied: true } : {}),
  };
}

export const toWVlanIndex = (x: VlanIndexInfo): WVlanIndex => ({
  ref: { name: x.name, namespace: x.namespace },
  kind: x.kind,
  labels: { ...x.labels },
  owner: x.owner,
  implied: x.implied === true,
});

export function fromWVlanDefinition(w: WVlanDefinition, field: string, limits: Limits, owner: string): VlanDefinition {
  const labels = checkLabels(w.labels, `${field}.labels`, limits);
  const range = checkString(w.range, `${field}.range`, limits);
  return {
    index: fromWVlanRef(w.index, `${field}.index`, limits)!,
    owner,
    ...(w.vlanID !== undefined ? { vlanID: w.vlanID } : {}),
    ...(range ? { range } : {}),
    ...(Object.keys(labels).length ? { labels } : {}),
  };
}

export function fromWVlanClaimRequest(w: WVlanClaimRequest, field: string, limits: Limits, owner: string): VlanRequest {
  const labels = checkLabels(w.labels, `${field}.labels`, limits);
  const selector = checkSelector(w.selector, `${field}.selector`, limits);
  const range = checkString(w.range, `${field}.range`, limits);
  const hint = checkString(w.hint, `${field}.hint`, limits);
  const claim = checkString(w.claim, `${field}.claim`, limits);
  const req: VlanRequest = { owner, index: fromWVlanRef(w.index, `${field}.index`, limits)! };
  if (w.vlanID !== undefined) req.vlanID = w.vlanID;
  if (range) req.range = range;
  if (selector && (Object.keys(selector.matchLabels ?? {}).length || selector.matchExpressions?.length)) req.selector = selector;
  if (Object.keys(labels).length) req.labels = labels;
  if (hint) req.hint = hint;
  if (claim) req.claim = claim;
  return req;
}

/** The request as the admin API carries it (the grpc backend's side). */
export function toWVlanClaimRequest(r: VlanRequest, owner: string, lookup: boolean): WVlanClaimRequest {
  const w: WVlanClaimRequest = { owner, index: toWVlanRef(r.index) };
  if (r.vlanID !== undefined) w.vlanID = r.vlanID;
  if (r.range !== undefined) w.range = r.range;
  if (r.selector)
    w.selector = {
      matchLabels: { ...(r.selector.matchLabels ?? {}) },
      matchExpressions: (r.selector.matchExpressions ?? []).map((e) => ({
        key: e.key,
        operator: e.operator,
        values: [...(e.values ?? [])],
      })),
    };
  if (r.labels) w.labels = { ...r.labels };
  if (r.hint !== undefined) w.hint = r.hint;
  if (r.claim !== undefined) w.claim = r.claim;
  if (lookup) w.lookup = true;
  return w;
}

export function toWVlanClaim(a: VlanAllocation, owner = a.owner): WVlanClaim {
  const w: WVlanClaim = { owner, index: toWVlanRef(a.index), labels: { ...a.labels } };
  if (a.vlanID !== undefined) w.vlanID = a.vlanID;
  if (a.vlanRange !== undefined) w.vlanRange = a.vlanRange;
  if (a.claim !== undefined) w.claim = a.claim;
  if (a.definition) w.definition = true;
  if (a.reference) w.reference = true;
  return w;
}

export function fromWVlanClaim(w: WVlanClaim): VlanAllocation {
  const a: VlanAllocation = {
    owner: w.owner ?? '',
    index: { name: w.index?.name ?? '', namespace: w.index?.namespace || 'default' },
    labels: { ...(w.labels ?? {}) },
  };
  if (w.vlanID !== undefined && w.vlanID !== null) a.vlanID = w.vlanID;
  if (w.vlanRange) a.vlanRange = w.vlanRange;
  if (w.claim) a.claim = w.claim;
  if (w.definition) a.definition = true;
  if (w.reference) a.reference = true;
  return a;
}
