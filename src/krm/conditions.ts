// Kptfile status.conditions in the format of each request's API generation. They are also
// the package's memory of what it holds: a condition whose request is gone means release.
import { REQUEST_APIS, VLAN_REQUEST_APIS, type Generation } from './apis.js';
import type { Meta } from './resource.js';

export interface Condition {
  type: string;
  status: 'True' | 'False';
  reason?: string;
  message: string;
}

const ORIGINAL_PREFIX = 'ipam.nephio.org.IPAMAllocation.';
const ORIGINAL_SUFFIX = '.Injected';

/** The condition type a request is recorded under. */
export function conditionType(generation: Generation, m: Meta): string {
  if (generation === 'original') return `${ORIGINAL_PREFIX}${m.name}.${m.namespace ?? 'default'}${ORIGINAL_SUFFIX}`;
  return `${m.apiVersion}.${m.kind}.${m.name}`;
}

export function okCondition(generation: Generation, type: string): Condition {
  if (generation === 'original') return { type, status: 'True', reason: 'ResourceInjected', message: 'Injected IP allocation' };
  return { type, status: 'True', message: 'update done' };
}

export function failedCondition(generation: Generation, type: string, message: string): Condition {
  if (generation === 'original') return { type, status: 'False', reason: 'ErrorDuringInjection', message };
  return { type, status: 'False', message };
}

/** What a condition type says about the request it records. */
export interface Held {
  generation: Generation;
  kind: string;
  name: string;
  /** Known for the original format only. */
  namespace?: string;
}

export function parseConditionType(type: string): Held | undefined {
  if (type.startsWith(ORIGINAL_PREFIX) && type.endsWith(ORIGINAL_SUFFIX)) {
    const mid = type.slice(ORIGINAL_PREFIX.length, -ORIGINAL_SUFFIX.length);
    // Namespaces have no dots; names may.
    const dot = mid.lastIndexOf('.');
    if (dot <= 0 || dot === mid.length - 1) return undefined;
    return { generation: 'original', kind: 'IPAllocation', name: mid.slice(0, dot), namespace: mid.slice(dot + 1) };
  }
  for (const [apiVersion, api] of Object.entries(REQUEST_APIS)) {
    if (api.generation === 'original') continue;
    const prefix = `${apiVersion}.${api.kind}.`;
    if (type.startsWith(prefix) && type.length > prefix.length)
      return { generation: api.generation, kind: api.kind, name: type.slice(prefix.length) };
  }
  for (const [apiVersion, api] of Object.entries(VLAN_REQUEST_APIS)) {
    const prefix = `${apiVersion}.${api.kind}.`;
    if (type.startsWith(prefix) && type.length > prefix.length)
      return { generation: 'vlan', kind: api.kind, name: type.slice(prefix.length) };
  }
  return undefined;
}

/** Owners a vanished request may have held: its namespace when the condition says so, else each namespace the package uses. */
export function heldOwners(h: Held, namespaces: Iterable<string>): string[] {
  if (h.namespace) return [`${h.namespace}/${h.kind}/${h.name}`];
  const out = new Set<string>([`default/${h.kind}/${h.name}`]);
  for (const ns of namespaces) out.add(`${ns}/${h.kind}/${h.name}`);
  return [...out];
}
