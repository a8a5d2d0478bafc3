// Kubernetes label-selector text (`kubectl get -l` syntax), as typed in the web view's filter:
//   a=b  a==b  a!=b  a in (x,y)  a notin (x)  a  !a   joined by commas.
import type { LabelSelector, LabelSelectorRequirement } from '../../ipam/index.js';

const KEY = /^[A-Za-z0-9][-A-Za-z0-9_./]*$/;
const VALUE = /^[-A-Za-z0-9_.]*$/;

/** Parses selector text; throws an Error whose message names the bad part. */
export function parseSelector(text: string): LabelSelector {
  const matchLabels: Record<string, string> = Object.create(null) as Record<string, string>;
  const matchExpressions: LabelSelectorRequirement[] = [];
  for (const term of splitTerms(text)) {
    const set = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (set) {
      const values = set[3]!
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      values.forEach((v) => checkValue(v, term));
      matchExpressions.push({ key: checkKey(set[1]!, term), operator: set[2] === 'in' ? 'In' : 'NotIn', values });
      continue;
    }
    const eq = /^([^\s!=]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (eq) {
      const key = checkKey(eq[1]!, term);
      const value = checkValue(eq[3]!, term);
      if (eq[2] === '!=') matchExpressions.push({ key, operator: 'NotIn', values: [value] });
      else matchLabels[key] = value;
      continue;
    }
    const exists = /^(!?)([^\s!=()]+)$/.exec(term);
    if (exists) {
      matchExpressions.push({ key: checkKey(exists[2]!, term), operator: exists[1] ? 'DoesNotExist' : 'Exists' });
      continue;
    }
    throw new Error(`selector: cannot read "${term}"`);
  }
  return {
    ...(Object.keys(matchLabels).length ? { matchLabels: { ...matchLabels } } : {}),
    ...(matchExpressions.length ? { matchExpressions } : {}),
  };
}

/** Commas split terms, except inside the parentheses of a set. */
function splitTerms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t !== '');
}

function checkKey(k: string, term: string): string {
  if (!KEY.test(k) || k.length > 317) throw new Error(`selector: "${k}" in "${term}" is not a label key`);
  return k;
}

function checkValue(v: string, term: string): string {
  if (!VALUE.test(v) || v.length > 63) throw new Error(`selector: "${v}" in "${term}" is not a label value`);
  return v;
}
