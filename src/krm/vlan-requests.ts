// VLANClaim (vlan.resource.nephio.org) and VLANAllocation (vlan.alloc.nephio.org) -> VlanRequest,
// and their answers written back as status.vlanID (an integer) or status.vlanRange.
import type { VlanAllocation, VlanRequest } from '../vlan/types.js';
import { ANN_ACTION, ANN_VLAN_CLAIM_NAME } from './apis.js';
import type { Item, Obj } from './item.js';
import { FieldError, ownerKey, selector } from './requests.js';
import { asObj, describe, str, strMap, type Meta } from './resource.js';

export interface VlanResource {
  item: Item;
  meta: Meta;
  generation: 'vlan';
  owner: string;
  request: VlanRequest;
  /** `spec.vlanIndex` or `spec.vlanDatabase`: named in errors about the index. */
  indexField: 'vlanIndex' | 'vlanDatabase';
  /** `nephio.org/action: get`: the claim already held (by vlanClaimName, else by owner). */
  lookup: boolean;
  status: VlanStatus;
}

export interface VlanStatus {
  vlanID?: number;
  vlanRange?: string;
}

/** An integer as written (a number, or digits in a string); the allocator checks its range. */
function vlanNumber(v: unknown, field: string, m: Meta): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?[0-9]+$/.test(v)) return Number(v);
  throw new FieldError(field, `${describe(m)}: ${field} must be an integer VLAN id, not ${JSON.stringify(v)}`);
}

export function readVlanRequest(item: Item, obj: Obj, m: Meta, indexField: 'vlanIndex' | 'vlanDatabase'): VlanResource {
  if (!m.name) throw new FieldError('metadata.name', `${m.kind} without metadata.name`);
  const spec = asObj(obj.spec);
  if (!spec) throw new FieldError('spec', `${describe(m)} has no spec`);
  const ix = asObj(spec[indexField]);
  const name = str(ix?.name);
  if (!name)
    throw new FieldError(
      `spec.${indexField}.name`,
      `${describe(m)}: spec.${indexField}.name is required (the VLAN index, typically the cluster)`,
    );
  const namespace = str(ix?.namespace);
  const req: VlanRequest = { owner: ownerKey(m), index: namespace ? { name, namespace } : { name } };
  const id = vlanNumber(spec.vlanID, 'spec.vlanID', m);
  if (id !== undefined) req.vlanID = id;
  const range = vlanRange(spec.range, m);
  if (range !== undefined) req.range = range;
  const sel = selector(spec.selector, 'spec.selector');
  if (sel && ((sel.matchLabels && Object.keys(sel.matchLabels).length) || sel.matchExpressions?.length)) req.selector = sel;
  const labels = vlanLabels(spec.labels);
  if (labels) req.labels = labels;
  const claim = m.annotations[ANN_VLAN_CLAIM_NAME];
  if (claim) req.claim = claim;
  const status = vlanStatus(asObj(obj.status));
  const hint = req.range !== undefined ? status.vlanRange : status.vlanID;
  if (hint !== undefined) req.hint = String(hint);
  const lookup = (m.annotations[ANN_ACTION] ?? '').toLowerCase() === 'get';
  return { item, meta: m, generation: 'vlan', owner: req.owner, request: req, indexField, lookup, status };
}

/** spec.range: start:end or a size (a number is taken as its digits). */
function vlanRange(v: unknown, m: Meta): string | undefined {
  if (v === undefined || v === null) return undefined;
  const r = typeof v === 'number' ? String(v) : v;
  if (typeof r !== 'string')
    throw new FieldError('spec.range', `${describe(m)}: spec.range must be start:end or a size, not ${JSON.stringify(v)}`);
  return r;
}

/** spec.labels, undefined when there are none. */
function vlanLabels(v: unknown): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!asObj(v)) throw new FieldError('spec.labels', 'spec.labels must be a map of strings');
  const labels = strMap(v);
  return Object.keys(labels).length ? labels : undefined;
}

/** What the resource's status holds now: vlanID (an integer, or digits) and vlanRange. */
function vlanStatus(st: Record<string, unknown> | undefined): VlanStatus {
  const status: VlanStatus = {};
  const sid = st?.vlanID;
  if (typeof sid === 'number' && Number.isInteger(sid)) status.vlanID = sid;
  else if (typeof sid === 'string' && /^[0-9]+$/.test(sid)) status.vlanID = Number(sid);
  const srange = str(st?.vlanRange);
  if (srange) status.vlanRange = srange;
  return status;
}

/** The status fields an answer sets: one of vlanID and vlanRange, the other removed. */
export function vlanStatusOf(a: VlanAllocation): VlanStatus {
  return a.vlanRange !== undefined ? { vlanRange: a.vlanRange } : { vlanID: a.vlanID };
}

export const sameVlanStatus = (a: VlanStatus, b: VlanStatus): boolean => a.vlanID === b.vlanID && a.vlanRange === b.vlanRange;

/** The request's own field for an allocator error's field (VLANAllocation names spec.vlanDatabase). */
export function vlanField(r: VlanResource, field: string | undefined): string {
  if (!field) return 'spec';
  return r.indexField === 'vlanDatabase' ? field.replace(/^spec\.vlanIndex\b/, 'spec.vlanDatabase') : field;
}

/** `VLAN 100` or `VLANs 100:199`, for messages. */
export const vlanText = (s: VlanStatus): string => (s.vlanRange !== undefined ? `VLANs ${s.vlanRange}` : `VLAN ${s.vlanID}`);
