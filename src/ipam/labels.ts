// Labels and Kubernetes label selectors: matching, a canonical key per selector (for the
// candidate cache), a human rendering for error messages, and interning of label sets so that
// allocations with the same (or no) labels share one frozen object.

import type { LabelSelector, LabelSelectorRequirement, Labels } from './types.js';

export const EMPTY_LABELS: Labels = Object.freeze({}) as Labels;

/** System label keys (docs/semantics.md). */
export const L_NETWORK_INSTANCE = 'nephio.org/network-instance';
export const L_NETWORK_NAME = 'nephio.org/network-name';
export const L_PREFIX_KIND = 'nephio.org/prefix-kind';
export const L_ADDRESS_FAMILY = 'nephio.org/address-family';
export const L_GATEWAY = 'nephio.org/gateway';

export function isEmptyLabels(l: Labels | undefined): boolean {
  if (!l) return true;
  for (const _ in l) return false;
  return true;
}

/** Frozen copy with sorted keys (stable JSON, stable comparison). */
export function freezeLabels(l: Labels | undefined): Labels {
  if (isEmptyLabels(l)) return EMPTY_LABELS;
  const out: Record<string, string> = {};
  for (const k of Object.keys(l!).sort()) out[k] = String(l![k]);
  return Object.freeze(out);
}

export function sameLabels(a: Labels, b: Labels): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

/** Interned, reference-counted label sets: id 0 is the empty set. Sets are found by a hash of
 *  their keys and values, not by a key string: most allocations carry owner labels no other
 *  allocation has, and a key string kept per set would double what the table holds. */
export class LabelTable {
  private readonly sets: Labels[] = [EMPTY_LABELS];
  private readonly refs: number[] = [0];
  /** hash -> the id of the one set with it, or the ids of all of them */
  private readonly byHash = new Map<number, number | number[]>();
  private readonly holes: number[] = [];

  get(id: number): Labels {
    return this.sets[id];
  }

  /** Returns the id of an equal set (taking a reference). */
  intern(l: Labels | undefined): number {
    if (l === undefined || l === EMPTY_LABELS) return 0;
    const keys = Object.keys(l);
    if (keys.length === 0) return 0;
    if (keys.length > 1) keys.sort();
    const h = hashLabels(keys, l);
    let id = this.find(h, keys, l);
    if (id === 0) {
      const frozen: Record<string, string> = {};
      for (const k of keys) frozen[k] = String(l[k]);
      id = this.holes.length ? this.holes.pop()! : this.sets.length;
      this.sets[id] = Object.freeze(frozen);
      this.refs[id] = 0;
      const bucket = this.byHash.get(h);
      this.byHash.set(h, bucket === undefined ? id : typeof bucket === 'number' ? [bucket, id] : [...bucket, id]);
    }
    this.refs[id]++;
    return id;
  }

  /** Drops one reference; the set is forgotten when none is left. */
  unref(id: number): void {
    if (id === 0) return;
    if (--this.refs[id] > 0) return;
    const l = this.sets[id];
    const h = hashLabels(Object.keys(l).sort(), l);
    const bucket = this.byHash.get(h);
    if (typeof bucket === 'number' || bucket === undefined) this.byHash.delete(h);
    else if (bucket.length === 2) this.byHash.set(h, bucket[0] === id ? bucket[1]! : bucket[0]!);
    else
      this.byHash.set(
        h,
        bucket.filter((x) => x !== id),
      );
    this.sets[id] = EMPTY_LABELS;
    this.holes.push(id);
  }

  /** The id of a set equal to `l` among those with hash `h`, or 0. */
  private find(h: number, keys: string[], l: Labels): number {
    const bucket = this.byHash.get(h);
    if (bucket === undefined) return 0;
    if (typeof bucket === 'number') return this.equal(bucket, keys, l) ? bucket : 0;
    for (const id of bucket) if (this.equal(id, keys, l)) return id;
    return 0;
  }

  private equal(id: number, keys: string[], l: Labels): boolean {
    const s = this.sets[id];
    let n = 0;
    for (const _ in s) n++;
    if (n !== keys.length) return false;
    for (const k of keys) if (s[k] !== String(l[k]) || !Object.prototype.hasOwnProperty.call(s, k)) return false;
    return true;
  }
}

/** FNV-1a over the sorted keys and their values, with separators no label holds. */
function hashLabels(sortedKeys: string[], l: Labels): number {
  let h = 0x811c9dc5;
  for (const k of sortedKeys) {
    h = hashString(h, k);
    h = Math.imul(h ^ 0x10000, 0x01000193);
    h = hashString(h, String(l[k]));
    h = Math.imul(h ^ 0x10001, 0x01000193);
  }
  return h;
}

function hashString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

function requirementHolds(r: LabelSelectorRequirement, labels: Labels): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  switch (r.operator) {
    case 'In':
      return has && (r.values ?? []).includes(labels[r.key]);
    case 'NotIn':
      return !has || !(r.values ?? []).includes(labels[r.key]);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default:
      return false;
  }
}

/** Kubernetes semantics: every matchLabels pair and every expression must hold; empty matches all. */
export function selectorMatches(sel: LabelSelector | undefined, labels: Labels, skipKey?: string): boolean {
  if (!sel) return true;
  const ml = sel.matchLabels;
  if (ml) {
    for (const k in ml) {
      if (k === skipKey) continue;
      if (labels[k] !== ml[k]) return false;
    }
  }
  const ex = sel.matchExpressions;
  if (ex) for (const r of ex) if (r.key !== skipKey && !requirementHolds(r, labels)) return false;
  return true;
}

/** Problems with a selector's shape (operators, values), or undefined when it is well formed. */
export function selectorProblem(sel: LabelSelector | undefined): string | undefined {
  if (!sel) return undefined;
  for (const r of sel.matchExpressions ?? []) {
    if (!r || typeof r.key !== 'string' || r.key === '') return 'matchExpressions entry without key';
    switch (r.operator) {
      case 'In':
      case 'NotIn':
        if (!Array.isArray(r.values) || r.values.length === 0) return `operator ${r.operator} on ${r.key} needs values`;
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (r.values && r.values.length > 0) return `operator ${r.operator} on ${r.key} takes no values`;
        break;
      default:
        return `unknown operator ${String((r as { operator: unknown }).operator)} on ${r.key}`;
    }
  }
  return undefined;
}

/** A canonical string for a selector: equal selectors (in any key order) give equal keys. */
export function selectorKey(sel: LabelSelector | undefined): string {
  if (!sel) return '';
  let s = '';
  const ml = sel.matchLabels;
  if (ml) {
    const keys = Object.keys(ml);
    if (keys.length > 1) keys.sort();
    for (const k of keys) s += k + '\u0000' + ml[k] + '\u0001';
  }
  const ex = sel.matchExpressions;
  if (ex && ex.length) {
    const parts = ex.map((r) => r.key + '\u0000' + r.operator + '\u0000' + [...(r.values ?? [])].sort().join('\u0000'));
    parts.sort();
    s += '\u0002' + parts.join('\u0001');
  }
  return s;
}

/** `{a=b, c in (x,y), d, !e}`: the selector as Kubernetes prints it, for messages. */
export function renderSelector(sel: LabelSelector | undefined): string {
  const parts: string[] = [];
  if (sel?.matchLabels) for (const k of Object.keys(sel.matchLabels).sort()) parts.push(`${k}=${sel.matchLabels[k]}`);
  for (const r of sel?.matchExpressions ?? []) {
    const vals = (r.values ?? []).join(',');
    if (r.operator === 'In') parts.push(`${r.key} in (${vals})`);
    else if (r.operator === 'NotIn') parts.push(`${r.key} notin (${vals})`);
    else if (r.operator === 'Exists') parts.push(r.key);
    else parts.push(`!${r.key}`);
  }
  return `{${parts.join(', ')}}`;
}

/** Labels every set agrees on (same key, same value). */
export function commonLabels(sets: Labels[]): Record<string, string> {
  if (sets.length === 0) return {};
  const out: Record<string, string> = { ...sets[0] };
  for (let i = 1; i < sets.length; i++) {
    for (const k of Object.keys(out)) if (sets[i][k] !== out[k]) delete out[k];
  }
  return out;
}
