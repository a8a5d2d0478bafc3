// Identity of a resource in the ResourceList: apiVersion/kind/name/namespace, the file kpt
// read it from, and the annotations kpt uses for that.
import type { Obj } from './item.js';
import type { ResourceOrigin } from './results.js';

export const ANN_PATH = 'config.kubernetes.io/path';
export const ANN_INDEX = 'config.kubernetes.io/index';
export const ANN_INTERNAL_PATH = 'internal.config.kubernetes.io/path';
export const ANN_INTERNAL_INDEX = 'internal.config.kubernetes.io/index';
export const ANN_PACKAGE_PATH = 'internal.config.kubernetes.io/package-path';
export const LEGACY_ANN_PATH = 'config.k8s.io/path';

export function asObj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

export function str(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** A map of strings (labels, annotations); non-string values are written as strings. */
export function strMap(v: unknown): Record<string, string> {
  const o = asObj(v);
  const out = Object.create(null) as Record<string, string>;
  if (!o) return out;
  for (const [k, x] of Object.entries(o)) {
    const s = str(x);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

export interface Meta {
  apiVersion: string;
  kind: string;
  name: string;
  /** As written (undefined when absent). */
  namespace?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export function meta(o: Obj): Meta {
  const m = asObj(o.metadata) ?? {};
  return {
    apiVersion: str(o.apiVersion) ?? '',
    kind: str(o.kind) ?? '',
    name: str(m.name) ?? '',
    namespace: str(m.namespace) || undefined,
    labels: strMap(m.labels),
    annotations: strMap(m.annotations),
  };
}

export function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}
export function versionOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? apiVersion : apiVersion.slice(i + 1);
}

/** File path of the resource, as kpt gave it (relative to its package). */
export function filePath(m: Meta): string | undefined {
  return m.annotations[ANN_INTERNAL_PATH] ?? m.annotations[ANN_PATH] ?? m.annotations[LEGACY_ANN_PATH];
}

export function fileIndex(m: Meta): number | undefined {
  const s = m.annotations[ANN_INTERNAL_INDEX] ?? m.annotations[ANN_INDEX];
  if (s === undefined || !/^[0-9]+$/.test(s)) return undefined;
  return Number(s);
}

/** Directory of the resource's file, absolute when kpt render says which package it is in. */
export function resourceDir(m: Meta): string {
  const p = filePath(m) ?? '';
  const dir = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
  const pkg = m.annotations[ANN_PACKAGE_PATH];
  if (pkg) return dir ? `${pkg.replace(/\/+$/, '')}/${dir}` : pkg.replace(/\/+$/, '');
  return dir;
}

/** How results name a resource; `rootDir` makes render's per-package paths package-relative. */
export function origin(m: Meta, rootDir?: string): ResourceOrigin {
  const ref = { apiVersion: m.apiVersion || undefined, kind: m.kind || undefined, name: m.name || undefined, namespace: m.namespace };
  let path = filePath(m);
  const pkg = m.annotations[ANN_PACKAGE_PATH];
  if (path !== undefined && pkg && rootDir !== undefined && pkg !== rootDir && pkg.startsWith(rootDir + '/')) {
    path = `${pkg.slice(rootDir.length + 1)}/${path}`;
  }
  return { ref, file: path === undefined ? undefined : { path, index: fileIndex(m) } };
}

/** "IPClaim upf-n3" or "IPClaim ns/upf-n3" for messages. */
export function describe(m: Meta): string {
  return `${m.kind} ${m.namespace ? `${m.namespace}/` : ''}${m.name}`;
}
