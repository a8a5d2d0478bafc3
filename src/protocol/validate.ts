// Input limits and checks shared by every protocol: a bad request gets INVALID_ARGUMENT
// that names the field, before it reaches the allocator.
import { IpamError } from '../ipam/errors.js';
import { isEmptyLabels } from '../ipam/labels.js';
import type { AddressFamily, LabelSelector, PrefixKind } from '../ipam/types.js';
import type { StringMap, WLabelSelector } from './messages.js';

export interface Limits {
  /** Largest request or response message (bytes). */
  maxMessageBytes: number;
  /** Labels (or selector entries) per map. */
  maxLabels: number;
  /** Values of one matchExpressions entry (In, NotIn). */
  maxSelectorValues: number;
  maxLabelKeyLength: number;
  maxLabelValueLength: number;
  /** Names, owners, prefixes, JSON claims. */
  maxStringLength: number;
  /** Requests (and space items) in one Batch. */
  maxBatch: number;
  /** Events a Watch stream may have queued for a slow reader before it is ended. */
  maxWatchBacklog: number;
  /** How long a watcher may read nothing while the server holds events for it (ms). */
  watchStallMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxMessageBytes: 4 * 1024 * 1024,
  maxLabels: 64,
  maxSelectorValues: 256,
  maxLabelKeyLength: 317, // DNS subdomain prefix (253) + "/" + name (63)
  maxLabelValueLength: 1024,
  maxStringLength: 4096,
  maxBatch: 10_000,
  maxWatchBacklog: 10_000,
  watchStallMs: 30_000,
};

export const invalid = (field: string, message: string): IpamError => new IpamError('InvalidArgument', `${field}: ${message}`, { field });

// Checks take the field name as `field` plus an optional `suffix` that is joined to it only
// when an error is raised: per-request code on hot paths (every request of a batch) would
// otherwise build a string for every field it checks and then throw it away.

/** Checks a label map and returns it as is (decoded messages are fresh objects, never shared). */
export function checkLabels(labels: StringMap | undefined, field: string, limits: Limits, suffix = ''): Record<string, string> {
  if (!labels) return {};
  const keys = Object.keys(labels);
  if (keys.length > limits.maxLabels) throw invalid(field + suffix, `${keys.length} entries, at most ${limits.maxLabels} allowed`);
  for (const k of keys) {
    const v = labels[k]!;
    if (k.length === 0) throw invalid(field + suffix, 'empty label key');
    if (k.length > limits.maxLabelKeyLength)
      throw invalid(`${field}${suffix}[${k.slice(0, 40)}...]`, `key longer than ${limits.maxLabelKeyLength}`);
    if (typeof v !== 'string') throw invalid(`${field}${suffix}[${k}]`, 'value must be a string');
    if (v.length > limits.maxLabelValueLength) throw invalid(`${field}${suffix}[${k}]`, `value longer than ${limits.maxLabelValueLength}`);
  }
  return labels;
}

export function checkString(v: string | undefined, field: string, limits: Limits, required = false, suffix = ''): string {
  const s = v ?? '';
  if (required && s === '') throw invalid(field + suffix, 'is required');
  if (s.length > limits.maxStringLength) throw invalid(field + suffix, `longer than ${limits.maxStringLength} characters`);
  return s;
}

const KINDS: readonly PrefixKind[] = ['aggregate', 'network', 'pool', 'loopback'];

export function checkKind(v: string | undefined, field: string, fallback: PrefixKind = 'network', suffix = ''): PrefixKind {
  if (!v) return fallback;
  if ((KINDS as readonly string[]).includes(v)) return v as PrefixKind;
  throw invalid(field + suffix, `unknown prefix kind "${v}" (aggregate, network, pool, loopback)`);
}

export function checkFamily(v: string | undefined, field: string): AddressFamily | undefined {
  if (!v) return undefined;
  const lower = v.toLowerCase();
  if (lower === 'ipv4' || lower === 'ipv6') return lower;
  throw invalid(field, `unknown address family "${v}" (ipv4, ipv6)`);
}

export function checkPrefixLength(v: number | undefined, field: string): number | undefined {
  if (v === undefined || v === 0) return undefined;
  if (!Number.isInteger(v) || v < 0 || v > 128) throw invalid(field, `${v} is not a prefix length (0-128)`);
  return v;
}

const OPERATORS = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);

export function checkSelector(sel: WLabelSelector | undefined, field: string, limits: Limits, suffix = ''): LabelSelector | undefined {
  if (!sel) return undefined;
  const out: LabelSelector = {};
  if (!isEmptyLabels(sel.matchLabels)) out.matchLabels = checkLabels(sel.matchLabels, field, limits, `${suffix}.matchLabels`);
  const exprs = sel.matchExpressions ?? [];
  if (!Array.isArray(exprs)) throw invalid(`${field}${suffix}.matchExpressions`, 'must be a list');
  if (exprs.length > limits.maxLabels) throw invalid(`${field}${suffix}.matchExpressions`, `at most ${limits.maxLabels} entries`);
  if (exprs.length > 0) {
    out.matchExpressions = exprs.map((e, i) => {
      const f = `${field}${suffix}.matchExpressions[${i}]`;
      if (typeof e !== 'object' || e === null) throw invalid(f, 'must be {key, operator, values}');
      const key = checkString(e.key, `${f}.key`, limits, true);
      if (!e.operator || !OPERATORS.has(e.operator))
        throw invalid(`${f}.operator`, `"${e.operator ?? ''}" is not In, NotIn, Exists or DoesNotExist`);
      const raw = e.values ?? [];
      if (!Array.isArray(raw)) throw invalid(`${f}.values`, 'must be a list');
      if (raw.length > limits.maxSelectorValues)
        throw invalid(`${f}.values`, `${raw.length} entries, at most ${limits.maxSelectorValues} allowed`);
      const values = raw.map((v, j) => {
        if (typeof v !== 'string' || v.length > limits.maxLabelValueLength)
          throw invalid(`${f}.values[${j}]`, `must be a label value of at most ${limits.maxLabelValueLength} characters`);
        return v;
      });
      return { key, operator: e.operator as 'In' | 'NotIn' | 'Exists' | 'DoesNotExist', ...(values.length ? { values } : {}) };
    });
  }
  return out.matchLabels || out.matchExpressions ? out : undefined;
}
