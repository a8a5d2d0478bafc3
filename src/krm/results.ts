// Structured results in the KRM Functions Specification's shape (kpt prints them and keeps
// them in --results-dir): severity, message, the resource, the field and the file.
import { renderEntry } from './block-edit.js';

export type Severity = 'error' | 'warning' | 'info';

export interface ResourceRef {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

export interface Result {
  message: string;
  severity: Severity;
  resourceRef?: ResourceRef;
  field?: { path: string; currentValue?: unknown; proposedValue?: unknown };
  file?: { path: string; index?: number };
  tags?: Record<string, string>;
}

/** The identity and file of a resource, as results name it. */
export interface ResourceOrigin {
  ref: ResourceRef;
  file?: { path: string; index?: number };
}

export function result(severity: Severity, message: string, origin?: ResourceOrigin, fieldPath?: string, extra?: Partial<Result>): Result {
  const r: Result = { message, severity };
  if (origin) {
    r.resourceRef = origin.ref;
    if (origin.file) r.file = origin.file;
  }
  if (fieldPath) r.field = { path: fieldPath };
  return { ...r, ...extra };
}

function clean(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clean);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = clean(x);
    return out;
  }
  return v;
}

/** The `results:` section (empty string when there are none). */
export function renderResults(results: unknown[]): string {
  if (results.length === 0) return '';
  return renderEntry('results', results.map(clean), 0);
}

export const hasErrors = (rs: Result[]): boolean => rs.some((r) => r.severity === 'error');
