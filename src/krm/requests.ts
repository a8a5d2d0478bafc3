// IPAllocation / IPClaim resources of every API generation -> one AllocationRequest.
import { ownerLabels } from '../ipam/owner-labels.js';
import type { AddressFamily, AllocationRequest, LabelSelector, LabelSelectorRequirement, PrefixKind } from '../ipam/types.js';
import { ANN_ACTION, LABEL_NETWORK_INSTANCE, type Generation } from './apis.js';
import type { Item, Obj } from './item.js';
import { asObj, describe, str, type Meta } from './resource.js';
import { newObject } from './block-yaml.js';

export interface RequestResource {
  item: Item;
  meta: Meta;
  generation: Generation;
  owner: string;
  request: AllocationRequest;
  /** `nephio.org/action: get`: answered without reserving anything. */
  lookup: boolean;
  /** What the resource's status says now. */
  status: { prefix?: string; gateway?: string };
}

/** A problem with one field of a resource. */
export class FieldError extends Error {
  override readonly name = 'FieldError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const KINDS: readonly PrefixKind[] = ['aggregate', 'network', 'pool', 'loopback'];
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/**
 * A map of strings (labels, selectors): any other value is an error naming the field, never
 * dropped or converted (a claim for cluster [c2] must not match c1). Keys like `__proto__`
 * are plain data (no prototype).
 */
export function stringMap(v: unknown, field: string): Record<string, string> {
  const out = newObject() as Record<string, string>;
  if (v === null || v === undefined) return out;
  const o = asObj(v);
  if (!o) throw new FieldError(field, `${field} must be a map of strings, not ${kindOf(v)}`);
  for (const [k, x] of Object.entries(o)) {
    const f = `${field}.[${k}]`;
    if (typeof x !== 'string')
      throw new FieldError(
        f,
        `${f} must be a string, not ${kindOf(x)}${typeof x === 'number' || typeof x === 'boolean' ? ` (quote it: "${String(x)}")` : ''}`,
      );
    out[k] = x;
  }
  return out;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list ${JSON.stringify(v)}`;
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v === 'number' ? 'a number' : typeof v === 'boolean' ? 'a boolean' : typeof v} ${String(v)}`;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The owner of what a resource holds: namespace/kind/name, the format servers and Kptfiles
 * already keep. It is unambiguous because no part may hold a `/` (Kubernetes allows none in
 * names; namespaces are DNS labels, which also keeps the original condition format, which
 * ends in `.<namespace>.Injected`, readable).
 */
export function ownerKey(m: Meta): string {
  if (m.name.includes('/')) throw new FieldError('metadata.name', `${describe(m)}: metadata.name must not contain "/"`);
  if (m.namespace !== undefined && !DNS_LABEL.test(m.namespace))
    throw new FieldError(
      'metadata.namespace',
      `${describe(m)}: metadata.namespace ${JSON.stringify(m.namespace)} is not a namespace name (lowercase letters, digits and "-", at most 63)`,
    );
  return `${m.namespace ?? 'default'}/${m.kind}/${m.name}`;
}

function prefixKind(v: unknown, field: string): PrefixKind {
  const s = str(v);
  if (s === undefined) throw new FieldError(field, `${field} is required (one of ${KINDS.join(', ')})`);
  if (!(KINDS as readonly string[]).includes(s)) throw new FieldError(field, `${field} "${s}" is not one of ${KINDS.join(', ')}`);
  return s as PrefixKind;
}

function intField(v: unknown, field: string, min: number, max: number): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string' && /^0[0-9]+$/.test(v)) {
    // YAML 1.1 readers (kpt, kubectl) take a leading zero as octal, YAML 1.2 readers as decimal: say which
    const octal = /^0[0-7]+$/.test(v) ? `octal (${parseInt(v, 8)})` : 'an invalid octal number';
    throw new FieldError(
      field,
      `${field} ${v} has a leading zero: kpt and kubectl read it as ${octal}, other readers as ${Number(v)}; write ${Number(v)} or ${/^0[0-7]+$/.test(v) ? parseInt(v, 8) : Number(v)} without it`,
    );
  }
  const n = typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
    throw new FieldError(field, `${field} must be an integer from ${min} to ${max}, not ${JSON.stringify(v)}`);
  return n;
}

function boolField(v: unknown, field: string): boolean | undefined {
  if (v === null || v === undefined) return undefined;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new FieldError(field, `${field} must be true or false, not ${JSON.stringify(v)}`);
}

function family(v: unknown, field: string): AddressFamily | undefined {
  const s = str(v);
  if (s === undefined || s === '') return undefined;
  if (s !== 'ipv4' && s !== 'ipv6') throw new FieldError(field, `${field} must be ipv4 or ipv6, not "${s}"`);
  return s;
}

export function selector(v: unknown, field: string): LabelSelector | undefined {
  if (v === null || v === undefined) return undefined;
  const o = asObj(v);
  if (!o) throw new FieldError(field, `${field} must be a label selector (matchLabels, matchExpressions)`);
  const out: LabelSelector = {};
  if (o.matchLabels !== undefined && o.matchLabels !== null) {
    out.matchLabels = stringMap(o.matchLabels, `${field}.matchLabels`);
  }
  if (o.matchExpressions !== undefined && o.matchExpressions !== null) {
    if (!Array.isArray(o.matchExpressions)) throw new FieldError(`${field}.matchExpressions`, `${field}.matchExpressions must be a list`);
    out.matchExpressions = o.matchExpressions.map((x, i): LabelSelectorRequirement => {
      const f = `${field}.matchExpressions[${i}]`;
      const e = asObj(x);
      const key = str(e?.key);
      const op = str(e?.operator);
      if (!e || !key) throw new FieldError(f, `${f}.key is required`);
      if (!op || !(OPERATORS as readonly string[]).includes(op))
        throw new FieldError(`${f}.operator`, `${f}.operator must be one of ${OPERATORS.join(', ')}`);
      const values = e.values === undefined || e.values === null ? undefined : Array.isArray(e.values) ? e.values : undefined;
      if (e.values !== undefined && e.values !== null && values === undefined)
        throw new FieldError(`${f}.values`, `${f}.values must be a list`);
      values?.forEach((x, j) => {
        if (typeof x !== 'string') throw new FieldError(`${f}.values[${j}]`, `${f}.values[${j}] must be a string, not ${kindOf(x)}`);
      });
      if ((op === 'In' || op === 'NotIn') && (!values || values.length === 0))
        throw new FieldError(`${f}.values`, `${f}.values must not be empty for ${op}`);
      const r: LabelSelectorRequirement = { key, operator: op as LabelSelectorRequirement['operator'] };
      if (values) r.values = values;
      return r;
    });
  }
  return out;
}

/** Reads a request resource; throws FieldError naming the offending field. */
export function readRequest(item: Item, obj: Obj, m: Meta, generation: Generation): RequestResource {
  if (!m.name) throw new FieldError('metadata.name', `${m.kind} without metadata.name`);
  // Owner labels come from here: a value that is not a string is an error, not dropped.
  stringMap(asObj(obj.metadata)?.labels, 'metadata.labels');
  const spec = asObj(obj.spec);
  if (!spec) throw new FieldError('spec', `${describe(m)} has no spec`);
  const sel = selector(spec.selector, 'spec.selector');
  const req: AllocationRequest = {
    owner: ownerKey(m),
    networkInstance: { name: '' },
    kind: prefixKind(spec.kind, 'spec.kind'),
  };
  req.networkInstance = networkInstanceOf(spec, sel, m, generation);
  if (sel && ((sel.matchLabels && Object.keys(sel.matchLabels).length) || sel.matchExpressions?.length)) req.selector = sel;
  readOptionalFields(spec, req);
  const labels = spec.labels !== undefined && spec.labels !== null ? stringMap(spec.labels, 'spec.labels') : {};
  // the owner labels win over spec.labels, as the original client writes them (AddOwnerLabelsToCR)
  req.labels = { ...labels, ...ownerLabels(m) };
  const st = asObj(obj.status);
  const status = { prefix: str(st?.prefix) || undefined, gateway: str(st?.gateway) || undefined };
  if (status.prefix) req.hint = status.prefix;
  const lookup = (m.annotations[ANN_ACTION] ?? '').toLowerCase() === 'get';
  return { item, meta: m, generation, owner: req.owner, request: req, lookup, status };
}

/**
 * The network instance a request names: spec.networkInstance, or in the original API its
 * selector label (taken out of the selector: it names, it does not select).
 */
function networkInstanceOf(
  spec: Record<string, unknown>,
  sel: LabelSelector | undefined,
  m: Meta,
  generation: Generation,
): AllocationRequest['networkInstance'] {
  const ni = asObj(spec.networkInstance);
  const niName = str(ni?.name) ?? (typeof spec.networkInstance === 'string' ? spec.networkInstance : undefined);
  if (generation !== 'original') {
    if (!niName) throw new FieldError('spec.networkInstance.name', `${describe(m)}: spec.networkInstance.name is required`);
    const ns = str(ni?.namespace);
    return ns ? { name: niName, namespace: ns } : { name: niName };
  }
  const fromLabel = sel?.matchLabels?.[LABEL_NETWORK_INSTANCE];
  const name = fromLabel ?? niName;
  if (!name)
    throw new FieldError(
      `spec.selector.matchLabels.[${LABEL_NETWORK_INSTANCE}]`,
      `${describe(m)}: the selector label ${LABEL_NETWORK_INSTANCE} names the network instance and is required`,
    );
  if (fromLabel !== undefined && sel?.matchLabels) {
    const { [LABEL_NETWORK_INSTANCE]: _drop, ...rest } = sel.matchLabels;
    sel.matchLabels = rest;
  }
  return { name };
}

/** prefix, prefixLength, addressFamily, createPrefix and index: set on `req` when present. */
function readOptionalFields(spec: Record<string, unknown>, req: AllocationRequest): void {
  const prefix = str(spec.prefix);
  if (prefix) req.prefix = prefix;
  const pl = intField(spec.prefixLength, 'spec.prefixLength', 0, 128);
  if (pl !== undefined) req.prefixLength = pl;
  const af = family(spec.addressFamily, 'spec.addressFamily');
  if (af) req.addressFamily = af;
  const cp = boolField(spec.createPrefix, 'spec.createPrefix');
  if (cp !== undefined) req.createPrefix = cp;
  const idx = intField(spec.index, 'spec.index', 0, 2 ** 32 - 1);
  if (idx !== undefined) req.index = idx;
}
