// The function config: a ConfigMap (`kpt fn eval ... -- backend=builtin dryRun=true`) or the
// typed `fn.ipam-injector.dev/v1alpha1 IPAMInjector`. Keys the function does not know are
// backend settings (address, protocol, ... for grpc) and the backend validates them.
import { FieldError, stringMap } from './requests.js';
import { asObj, str, strMap } from './resource.js';
import { parsePath, type FieldPath } from './field-path.js';
import { BACKEND_SETTINGS } from '../backends/settings.js';
import { nearest, suggestion } from './nearest.js';

export const CONFIG_API_VERSION = 'fn.ipam-injector.dev/v1alpha1';
export const CONFIG_KIND = 'IPAMInjector';

export type InjectValue = 'address' | 'prefix' | 'prefixLength' | 'gateway' | 'network' | 'vlanID';
export const INJECT_VALUES: readonly InjectValue[] = ['address', 'prefix', 'prefixLength', 'gateway', 'network', 'vlanID'];

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
const ALL_BACKEND_KEYS = new Set(Object.values(BACKEND_SETTINGS).flat());

/** Every key of `o` must be one of `known`; the error suggests the nearest. */
function onlyKeys(o: Record<string, unknown>, known: readonly string[], field: string): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k))
      throw new FieldError(`${field}.${k}`, `${field}.${k} is not a known field${suggestion(k, known) || ` (known: ${known.join(', ')})`}`);
  }
}

function describeValue(v: unknown): string {
  return Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v === 'object' ? 'a mapping' : `${typeof v} ${JSON.stringify(v)}`;
}

/** Settings that are neither the function's nor the chosen backend's: an error naming the nearest valid name. */
function checkSettings(settings: Record<string, unknown>, backend: string, base: string): void {
  const own = BACKEND_SETTINGS[backend];
  if (!own)
    throw new FieldError(
      `${base}.backend`,
      `${base}.backend: unknown backend "${backend}" (want ${Object.keys(BACKEND_SETTINGS).join(' or ')})${suggestion(backend, Object.keys(BACKEND_SETTINGS))}`,
    );
  const valid = [...FUNCTION_KEYS, ...own];
  for (const k of Object.keys(settings)) {
    if (FUNCTION_KEYS.has(k) || own.includes(k)) continue;
    const near = nearest(k, [...valid, ...ALL_BACKEND_KEYS]) ?? (ALL_BACKEND_KEYS.has(k) ? k : undefined);
    const owner =
      near === undefined || valid.includes(near)
        ? undefined
        : Object.keys(BACKEND_SETTINGS).find((b) => BACKEND_SETTINGS[b].includes(near));
    const hint =
      near === undefined
        ? ` (known: ${valid.join(', ')})`
        : owner
          ? ` (${near === k ? '' : `did you mean ${near}? `}${near} is a setting of backend ${owner}, not ${backend})`
          : ` (did you mean ${near}?)`;
    throw new FieldError(`${base}.${k}`, `${base}.${k}: unknown setting ${k}${hint}`);
  }
}

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
  if (fc === null || fc === undefined) return cfg;
  const o = asObj(fc);
  if (!o)
    throw new FieldError(
      'functionConfig',
      `function config must be a mapping (a ConfigMap or ${CONFIG_API_VERSION} ${CONFIG_KIND}), not ${describeValue(fc)}`,
    );
  const found = settingsOf(o);
  if (!found) return cfg;
  const { settings, base } = found;
  const backend = str(settings.backend);
  if (backend !== undefined && backend !== '') cfg.backend = backend;
  checkSettings(settings, cfg.backend, base);
  cfg.dryRun = bool(settings.dryRun, `${base}.dryRun`);
  cfg.releaseAll = release(settings.release, `${base}.release`);
  cfg.onError = onError(settings.onError, `${base}.onError`);
  if (settings.injections !== undefined && settings.injections !== null) {
    if (base === 'data')
      throw new FieldError('data.injections', 'injections need the typed config (fn.ipam-injector.dev/v1alpha1 IPAMInjector)');
    cfg.injections = readInjections(settings.injections);
  }
  for (const [k, v] of Object.entries(settings)) if (!FUNCTION_KEYS.has(k)) cfg.backendOptions[k] = v;
  return cfg;
}

/**
 * The settings a config holds and where (`data` of a ConfigMap, `spec` of the typed config);
 * undefined for an empty mapping (no settings).
 */
function settingsOf(o: Record<string, unknown>): { settings: Record<string, unknown>; base: 'data' | 'spec' } | undefined {
  const apiVersion = str(o.apiVersion);
  const kind = str(o.kind);
  if (kind === 'ConfigMap' && (apiVersion === 'v1' || apiVersion === undefined)) {
    onlyKeys(o, ['apiVersion', 'kind', 'metadata', 'data'], 'functionConfig');
    return { settings: strMap(o.data), base: 'data' };
  }
  if (kind === CONFIG_KIND && apiVersion === CONFIG_API_VERSION) {
    onlyKeys(o, ['apiVersion', 'kind', 'metadata', 'spec'], 'functionConfig');
    if (o.spec !== undefined && o.spec !== null && !asObj(o.spec))
      throw new FieldError('spec', `spec must be a mapping, not ${describeValue(o.spec)}`);
    return { settings: asObj(o.spec) ?? {}, base: 'spec' };
  }
  if (kind === undefined && apiVersion === undefined && Object.keys(o).length === 0) return undefined;
  throw new FieldError(
    'functionConfig',
    `function config must be a ConfigMap or ${CONFIG_API_VERSION} ${CONFIG_KIND}, not ${apiVersion ?? '?'} ${kind ?? '?'}`,
  );
}

function onError(v: unknown, field: string): FnConfig['onError'] {
  const s = str(v);
  if (s === undefined || s === '') return 'fail';
  if (s !== 'fail' && s !== 'condition') throw new FieldError(field, `${field} must be fail or condition, not ${JSON.stringify(s)}`);
  return s;
}

function readSelector(v: unknown, field: string): Selector {
  const o = asObj(v);
  if (!o) throw new FieldError(field, `${field} must be a mapping (group, version, kind, name, namespace, labels)`);
  const s: Selector = {};
  for (const k of ['group', 'version', 'kind', 'name', 'namespace'] as const) {
    const x = str(o[k]);
    if (x !== undefined) s[k] = x;
  }
  if (o.labels !== undefined) s.labels = stringMap(o.labels, `${field}.labels`);
  onlyKeys(o, ['group', 'version', 'kind', 'name', 'namespace', 'labels'], field);
  return s;
}

function readInjections(v: unknown): Injection[] {
  if (!Array.isArray(v)) throw new FieldError('spec.injections', 'spec.injections must be a list');
  return v.map((x, i) => {
    const field = `spec.injections[${i}]`;
    const o = asObj(x);
    if (!o) throw new FieldError(field, `${field} must be a mapping with source and targets`);
    onlyKeys(o, ['source', 'targets'], field);
    const src = asObj(o.source);
    const name = str(src?.name);
    if (!src || !name)
      throw new FieldError(
        `${field}.source.name`,
        `${field}.source.name is required: the name of an IPAllocation or IPClaim in the package`,
      );
    onlyKeys(src, ['name', 'kind', 'namespace', 'value'], `${field}.source`);
    const value = str(src.value) ?? 'address';
    if (!(INJECT_VALUES as readonly string[]).includes(value))
      throw new FieldError(`${field}.source.value`, `${field}.source.value must be one of ${INJECT_VALUES.join(', ')}, not "${value}"`);
    const source: Injection['source'] = { name, value: value as InjectValue };
    if (str(src.kind)) source.kind = str(src.kind);
    if (str(src.namespace)) source.namespace = str(src.namespace);
    if (!Array.isArray(o.targets) || o.targets.length === 0)
      throw new FieldError(`${field}.targets`, `${field}.targets must be a non-empty list`);
    const targets = o.targets.map((t, j): InjectionTarget => {
      const tf = `${field}.targets[${j}]`;
      const to = asObj(t);
      if (!to) throw new FieldError(tf, `${tf} must be a mapping with select and fieldPaths`);
      onlyKeys(to, ['select', 'fieldPaths', 'options'], tf);
      const select = readSelector(to.select, `${tf}.select`);
      if (!Array.isArray(to.fieldPaths) || to.fieldPaths.length === 0)
        throw new FieldError(`${tf}.fieldPaths`, `${tf}.fieldPaths must be a non-empty list`);
      const fieldPaths = to.fieldPaths.map((p, k) => {
        const s = str(p);
        if (!s) throw new FieldError(`${tf}.fieldPaths[${k}]`, `${tf}.fieldPaths[${k}] must be a string`);
        try {
          return parsePath(s);
        } catch (err) {
          throw new FieldError(`${tf}.fieldPaths[${k}]`, `${tf}.fieldPaths[${k}]: ${(err as Error).message}`);
        }
      });
      if (to.options !== undefined && to.options !== null && !asObj(to.options))
        throw new FieldError(`${tf}.options`, `${tf}.options must be a mapping (create)`);
      const opts = asObj(to.options) ?? {};
      onlyKeys(opts, ['create'], `${tf}.options`);
      return { select, fieldPaths, create: bool(opts.create, `${tf}.options.create`) };
    });
    return { source, targets, field };
  });
}
