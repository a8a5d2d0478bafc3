// Injections: write an allocation's address/prefix/... into consumer fields of other
// resources (ConfigMap values, NFDeployment interfaces, a NAD's JSON config).
import type { Injection, InjectionTarget, Selector } from './config.js';
import { PathError, setInDoc, type FieldPath } from './field-path.js';
import { isKptfile, OWN_GROUPS } from './apis.js';
import type { Item } from './item.js';
import { valueOf, type AllocationAnswer } from './prefix-values.js';
import { describe, groupOf, meta, origin, versionOf, type Meta } from './resource.js';
import { result, type Result } from './results.js';

function selects(s: Selector, m: Meta): boolean {
  if (s.kind !== undefined && s.kind !== m.kind) return false;
  if (s.name !== undefined && s.name !== m.name) return false;
  if (s.namespace !== undefined && s.namespace !== (m.namespace ?? 'default') && s.namespace !== (m.namespace ?? '')) return false;
  if (s.group !== undefined && s.group !== groupOf(m.apiVersion)) return false;
  if (s.version !== undefined && s.version !== versionOf(m.apiVersion)) return false;
  if (s.labels) for (const [k, v] of Object.entries(s.labels)) if (m.labels[k] !== v) return false;
  return true;
}

function describeSelector(s: Selector): string {
  const parts = Object.entries(s).map(([k, v]) => (typeof v === 'object' ? `${k}=${JSON.stringify(v)}` : `${k}=${v}`));
  return `{${parts.join(', ')}}`;
}

const KPT_ANNOTATION = /^(internal\.)?config\.(kubernetes\.io|k8s\.io)\//;

/**
 * Fields an injection must not write, and why: a resource's identity, kpt's bookkeeping, and
 * what the function itself keeps (request statuses, the Kptfile's conditions).
 */
function forbidden(m: Meta, fp: FieldPath): string | undefined {
  const keys: string[] = [];
  for (const s of fp.segments) {
    if (s.t !== 'key') break;
    keys.push(s.key);
  }
  const [a, b, c] = keys;
  if (a === 'apiVersion' || a === 'kind') return "it is the resource's type";
  if (a === 'metadata' && (b === 'name' || b === 'namespace')) return "it is the resource's identity";
  if (a === 'metadata' && b === 'annotations' && c !== undefined && KPT_ANNOTATION.test(c)) return 'kpt keeps it (file path and index)';
  if (a === 'status' && isKptfile(m.apiVersion, m.kind))
    return "the Kptfile's status holds the package's conditions, which the function keeps";
  if (a === 'status' && OWN_GROUPS.has(groupOf(m.apiVersion))) return 'the function writes the status of requests itself';
  return undefined;
}

/** Numbers go into ConfigMap/Secret data as strings. */
function wantsStrings(m: Meta, path: string): boolean {
  return (m.kind === 'ConfigMap' || m.kind === 'Secret') && (path.startsWith('data.') || path.startsWith('stringData.'));
}

/** A request an injection can read: IP requests and VLAN claims. */
interface Source {
  meta: Meta;
  owner: string;
}

/** Reads each resource at most once (null: not a resource); an edited one is read again. */
class MetaCache {
  private readonly metas = new Map<Item, Meta | null>();
  get(it: Item): Meta | null {
    let m = this.metas.get(it);
    if (m === undefined) {
      let v = null;
      try {
        v = it.value();
      } catch {
        v = null;
      }
      m = v ? meta(v) : null;
      this.metas.set(it, m);
    }
    return m;
  }
  edited(it: Item): void {
    this.metas.delete(it);
  }
}

export function applyInjections(
  injections: Injection[],
  items: Item[],
  requests: Source[],
  answers: Map<Source, AllocationAnswer>,
  rootDir: string | undefined,
): Result[] {
  const errors: Result[] = [];
  const metas = new MetaCache();
  for (const inj of injections) {
    const value = sourceValue(inj, requests, answers, rootDir, errors);
    if (value === undefined) continue;
    inj.targets.forEach((target, ti) => injectTarget(`${inj.field}.targets[${ti}]`, target, value, items, metas, rootDir, errors));
  }
  return errors;
}

/** The value an injection writes, or undefined (an error is added, or the source failed already). */
function sourceValue(
  inj: Injection,
  requests: Source[],
  answers: Map<Source, AllocationAnswer>,
  rootDir: string | undefined,
  errors: Result[],
): string | number | undefined {
  const src = inj.source;
  const candidates = requests.filter(
    (r) =>
      r.meta.name === src.name &&
      (src.kind === undefined || src.kind === r.meta.kind) &&
      (src.namespace === undefined || src.namespace === (r.meta.namespace ?? 'default')),
  );
  const owners = new Set(candidates.map((r) => r.owner));
  if (candidates.length === 0) {
    errors.push(
      result(
        'error',
        `${inj.field}: no IPAllocation, IPClaim, VLANClaim or VLANAllocation named ${src.name} in the package`,
        undefined,
        `${inj.field}.source.name`,
      ),
    );
    return undefined;
  }
  if (owners.size > 1) {
    errors.push(
      result(
        'error',
        `${inj.field}: source ${src.name} is ambiguous (${[...owners].join(', ')}); add source.kind or source.namespace`,
        undefined,
        `${inj.field}.source`,
      ),
    );
    return undefined;
  }
  const answer = answers.get(candidates[0]);
  if (!answer) return undefined; // its own error is reported already
  const value = valueOf(answer, src.value);
  if (typeof value !== 'object') return value;
  errors.push(
    result(
      'error',
      `${inj.field}: ${describe(candidates[0].meta)} ${value.missing}`,
      origin(candidates[0].meta, rootDir),
      'status.gateway',
    ),
  );
  return undefined;
}

function injectTarget(
  tfield: string,
  target: InjectionTarget,
  value: string | number,
  items: Item[],
  metas: MetaCache,
  rootDir: string | undefined,
  errors: Result[],
): void {
  const quick = target.select.kind;
  const matched = items.filter((it) => {
    if (quick !== undefined) {
      const k = it.quickKind();
      if (k !== undefined && k !== quick) return false;
    }
    const m = metas.get(it);
    return m !== null && selects(target.select, m);
  });
  if (matched.length === 0) {
    errors.push(result('error', `${tfield}: no resource matches select ${describeSelector(target.select)}`, undefined, `${tfield}.select`));
    return;
  }
  for (const it of matched) {
    const m = metas.get(it)!;
    for (const fp of target.fieldPaths) {
      const why = forbidden(m, fp);
      if (why) {
        errors.push(
          result('error', `injection target ${describe(m)}: field path ${fp.text} may not be written: ${why}`, origin(m, rootDir), fp.text),
        );
        continue;
      }
      try {
        it.editDoc((_doc, root) => setInDoc(root, fp, value, target.create, wantsStrings(m, fp.text)));
        metas.edited(it);
      } catch (err) {
        if (!(err instanceof PathError)) throw err;
        const hint = target.create ? '' : ' (set options.create: true to create missing fields)';
        errors.push(
          result(
            'error',
            `injection target ${describe(m)}: field path ${fp.text} does not resolve: ${err.message}${hint}`,
            origin(m, rootDir),
            fp.text,
          ),
        );
      }
    }
  }
}
