// Field readers for space definitions: plain objects in (parsed YAML or JSON), typed values
// out, and a SpaceFieldError naming the field for anything malformed. The caller says which
// resource and file the object came from; the messages here name only the field.
import type { LabelSelector, LabelSelectorRequirement } from '../ipam/types.js';

export type Obj = Record<string, unknown>;

/** Identity of the resource being read. */
export interface SpaceMeta {
  kind: string;
  name: string;
  /** As written (undefined when absent). */
  namespace?: string;
  labels: Record<string, string>;
}

export class SpaceFieldError extends Error {
  override readonly name = 'SpaceFieldError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export function asObj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

/** A scalar as a string (YAML may give `true` or `24` where a string is meant). */
export function scalar(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

export function requiredString(o: Obj | undefined, key: string, field: string): string {
  const s = scalar(o?.[key]);
  if (!s) throw new SpaceFieldError(field, `${field} is required`);
  return s;
}

export function list(v: unknown, field: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new SpaceFieldError(field, `${field} must be a list`);
  return v;
}

/**
 * Labels: a map of strings; any other value (a list, a map, a number, a boolean) is an error,
 * never dropped or converted. Built with fromEntries: `__proto__` is a label key like any other.
 */
export function labels(v: unknown, field: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  const o = asObj(v);
  if (!o) throw new SpaceFieldError(field, `${field} must be a map of strings`);
  const out: [string, string][] = [];
  for (const [k, x] of Object.entries(o)) {
    const s = x === null ? '' : typeof x === 'string' ? x : undefined;
    if (s === undefined)
      throw new SpaceFieldError(
        `${field}.${k}`,
        `${field}.${k} must be a string, not ${Array.isArray(x) ? 'a list' : typeof x === 'object' ? 'a mapping' : `${typeof x} ${String(x)} (quote it)`}`,
      );
    out.push([k, s]);
  }
  return Object.fromEntries(out);
}

const OPERATORS: readonly string[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

export function selector(v: unknown, field: string): LabelSelector | undefined {
  if (v === undefined || v === null) return undefined;
  const o = asObj(v);
  if (!o) throw new SpaceFieldError(field, `${field} must be a label selector (matchLabels, matchExpressions)`);
  const out: LabelSelector = {};
  if (o.matchLabels !== undefined && o.matchLabels !== null) out.matchLabels = labels(o.matchLabels, `${field}.matchLabels`);
  const exprs = list(o.matchExpressions, `${field}.matchExpressions`);
  if (exprs.length) {
    out.matchExpressions = exprs.map((x, i): LabelSelectorRequirement => {
      const f = `${field}.matchExpressions[${i}]`;
      const e = asObj(x);
      const key = requiredString(e, 'key', `${f}.key`);
      const op = scalar(e!.operator);
      if (!op || !OPERATORS.includes(op))
        throw new SpaceFieldError(`${f}.operator`, `${f}.operator must be one of ${OPERATORS.join(', ')}`);
      const values = list(e!.values, `${f}.values`).map((s) => scalar(s) ?? '');
      if ((op === 'In' || op === 'NotIn') && values.length === 0)
        throw new SpaceFieldError(`${f}.values`, `${f}.values must not be empty for ${op}`);
      const r: LabelSelectorRequirement = { key, operator: op as LabelSelectorRequirement['operator'] };
      if (e!.values !== undefined && e!.values !== null) r.values = values;
      return r;
    });
  }
  return out;
}
