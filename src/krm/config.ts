// The function config: a ConfigMap (`kpt fn eval ... -- backend=builtin dryRun=true`) or the
// typed `fn.ipam-injector.dev/v1alpha1 IPAMInjector`. Keys the function does not know are
// backend settings (address, protocol, ... for grpc) and the backend validates them.
import { FieldError } from './requests.js';
import { asObj, str, strMap } from './resource.js';
import { parsePath, type FieldPath } from './field-path.js';

export const CONFIG_API_VERSION = 'fn.ipam-injector.dev/v1alpha1';
export const CONFIG_KIND = 'IPAMInjector';

export type InjectValue = 'address' | 'prefix' | 'prefixLength' | 'gateway' | 'network';
export const INJECT_VALUES: readonly InjectValue[] = ['address', 'prefix', 'prefixLength', 'gateway', 'network'];

export interface Selector {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
}

export interface InjectionTarget {
  select: Selector;
  fieldPaths: FieldPath[];
  create: boolean;
}

export interface Injection {
  source: { name: string; kind?: string; namespace?: string; value: InjectValue };
  targets: InjectionTarget[];
  /** Where it was written, for messages: spec.injections[i]. */
  field: string;
}

export interface FnConfig {
  backend: string;
  dryRun: boolean;
  releaseAll: boolean;
  /**
   * fail (default): any failed request fails the run, nothing changes. condition: a failed
   * request gets a False condition and a warning, the others are written (Nephio's way of
   * gating a package on its conditions).
   */
  onError: 'fail' | 'condition';
  injections: Injection[];
  /** Everything else, for the backend. */
  backendOptions: Record<string, unknown>;
}

const FUNCTION_KEYS = new Set(['backend', 'dryRun', 'release', 'onError', 'injections']);

function bool(v: unknown, field: string): boolean {
  if (v === undefined || v === null || v === '') return false;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new FieldError(field, `${field} must be true or false, not ${JSON.stringify(v)}`);
}

function release(v: unknown, field: string): boolean {
  if (v === undefined || v === null || v === '' || v === 'none') return false;
  if (v === 'all') return true;
  throw new FieldError(field, `${field} must be "all" (release everything the package holds), not ${JSON.stringify(v)}`);
}

/** Reads the function config; throws FieldError naming the field. */
export function readConfig(fc: unknown): FnConfig {
  const cfg: FnConfig = { backend: 'builtin', dryRun: false, releaseAll: false, onError: 'fail', injections: [], backendOptions: {} };
  const o = asObj(fc);
  if (!o) return cfg;
  const apiVersion = str(o.apiVersion);
  const kind = str(o.kind);
  let settings: Record<string, unknown>;
  let base: string;
  if (kind === 'ConfigMap' && (apiVersion === 'v1' || apiVersion === undefined)) {
    settings = strMap(o.data);
    base = 'data';
  } else if (kind === CONFIG_KIND && apiVersion === CONFIG_API_VERSION) {
    settings = asObj(o.spec) ?? {};
    base = 'spec';
  } else if (kind === undefined && apiVersion === undefined && o.data === undefined && o.spec === undefined) {
    return cfg;
  } else {
    throw new FieldError('functionConfig', `function config must be a ConfigMap or ${CONFIG_API_VERSION} ${CONFIG_KIND}, not ${apiVersion ?? '?'} ${kind ?? '?'}`);
  }
  const backend = str(settings.backend);
  if (backend !== undefined && backend !== '') cfg.backend = backend;
  cfg.dryRun = bool(settings.dryRun, `${base}.dryRun`);
  cfg.releaseAll = release(settings.release, `${base}.release`);
  const onError = str(settings.onError);
  if (onError !== undefined && onError !== '') {
    if (onError !== 'fail' && onError !== 'condition') throw new FieldError(`${base}.onError`, `${base}.onError must be fail or condition, not ${JSON.stringify(onError)}`);
    cfg.onError = onError;
  }
  if (settings.injections !== undefined && settings.injections !== null) {
    if (base === 'data') throw new FieldError('data.injections', 'injections need the typed config (fn.ipam-injector.dev/v1alpha1 IPAMInjector)');
    cfg.injections = readInjections(settings.injections);
  }
  for (const [k, v] of Object.entries(settings)) if (!FUNCTION_KEYS.has(k)) cfg.backendOptions[k] = v;
  return cfg;
}

function readSelector(v: unknown, field: string): Selector {
  const o = asObj(v);
  if (!o) throw new FieldError(field, `${field} must be a mapping (group, version, kind, name, namespace, labels)`);
  const s: Selector = {};
  for (const k of ['group', 'version', 'kind', 'name', 'namespace'] as const) {
    const x = str(o[k]);
    if (x !== undefined) s[k] = x;
  }
  if (o.labels !== undefined) s.labels = strMap(o.labels);
  for (const k of Object.keys(o)) {
    if (!['group', 'version', 'kind', 'name', 'namespace', 'labels'].includes(k)) throw new FieldError(`${field}.${k}`, `${field}.${k} is not a selector field (group, version, kind, name, namespace, labels)`);
  }
  return s;
}

function readInjections(v: unknown): Injection[] {
  if (!Array.isArray(v)) throw new FieldError('spec.injections', 'spec.injections must be a list');
  return v.map((x, i) => {
    const field = `spec.injections[${i}]`;
    const o = asObj(x);
    if (!o) throw new FieldError(field, `${field} must be a mapping with source and targets`);
    const src = asObj(o.source);
    const name = str(src?.name);
    if (!src || !name) throw new FieldError(`${field}.source.name`, `${field}.source.name is required: the name of an IPAllocation or IPClaim in the package`);
    const value = str(src.value) ?? 'address';
    if (!(INJECT_VALUES as readonly string[]).includes(value)) throw new FieldError(`${field}.source.value`, `${field}.source.value must be one of ${INJECT_VALUES.join(', ')}, not "${value}"`);
    const source: Injection['source'] = { name, value: value as InjectValue };
    if (str(src.kind)) source.kind = str(src.kind);
    if (str(src.namespace)) source.namespace = str(src.namespace);
    if (!Array.isArray(o.targets) || o.targets.length === 0) throw new FieldError(`${field}.targets`, `${field}.targets must be a non-empty list`);
    const targets = o.targets.map((t, j): InjectionTarget => {
      const tf = `${field}.targets[${j}]`;
      const to = asObj(t);
      if (!to) throw new FieldError(tf, `${tf} must be a mapping with select and fieldPaths`);
      const select = readSelector(to.select, `${tf}.select`);
      if (!Array.isArray(to.fieldPaths) || to.fieldPaths.length === 0) throw new FieldError(`${tf}.fieldPaths`, `${tf}.fieldPaths must be a non-empty list`);
      const fieldPaths = to.fieldPaths.map((p, k) => {
        const s = str(p);
        if (!s) throw new FieldError(`${tf}.fieldPaths[${k}]`, `${tf}.fieldPaths[${k}] must be a string`);
        try {
          return parsePath(s);
        } catch (err) {
          throw new FieldError(`${tf}.fieldPaths[${k}]`, `${tf}.fieldPaths[${k}]: ${(err as Error).message}`);
        }
      });
      const opts = asObj(to.options) ?? {};
      return { select, fieldPaths, create: bool(opts.create, `${tf}.options.create`) };
    });
    return { source, targets, field };
  });
}
