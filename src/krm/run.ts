// The function: ResourceList text in, ResourceList text and an exit code out.
//   read -> requests and space -> backend -> status, Kptfile conditions, injections -> write
// Any error result leaves every resource as it came (the input items are echoed) and exits 1;
// the output is never an empty or partial list.
import type { Backend, BackendRun, Outcome, PackageSpace, VlanOutcome } from '../backends/backend.js';
import { emptySpace } from '../space/definitions.js';
import { vlanSpaceOf } from '../space/vlan.js';
import { isIpamError } from '../ipam/errors.js';
import { isKptfile, isSpace, KNOWN_KIND_NAMES, OWN_GROUPS, requestApi, SPACE_KINDS, unknownOwnKind, vlanRequestApi } from './apis.js';
import { conditionType, failedCondition, heldOwners, okCondition, parseConditionType, type Condition } from './conditions.js';
import { readConfig, type FnConfig } from './config.js';
import { applyInjections } from './inject.js';
import { Item, type Obj } from './item.js';
import type { AllocationAnswer } from './prefix-values.js';
import { FieldError, ownerKey, readRequest, type RequestResource } from './requests.js';
import { asObj, describe, groupOf, meta, origin, resourceDir, str, type Meta } from './resource.js';
import { joinResourceList, splitResourceList, ResourceListError, type ResourceListText } from './resource-list.js';
import { hasErrors, renderResults, result, type ResourceOrigin, type Result } from './results.js';
import { readSpace } from './space.js';
import { ANN_SPECIALIZER_DELETE, defaultPackageScope, markedForDeletion } from './nephio.js';
import { itemPosition, lineColumn, roughMeta, syntaxMessage } from './item-syntax.js';
import { firstInvalidUtf8, hasInvalidUtf8 } from './text-encoding.js';
import { readVlanRequest, sameVlanStatus, vlanField, vlanStatusOf, vlanText, type VlanResource } from './vlan-requests.js';
import type { VlanAllocation } from '../vlan/types.js';
import { YamlSyntaxError } from './yaml-doc.js';
import { loadYaml, withYaml } from './yaml-lib.js';
import type { ListEdit } from './block-edit.js';

export interface FunctionOutput {
  stdout: string;
  exitCode: number;
  results: Result[];
}

/** Makes the backend the config asks for (src/backends/index.ts in production). */
export type BackendFactory = (cfg: FnConfig) => Promise<Backend>;

interface Kptfile {
  item: Item;
  meta: Meta;
  dir: string;
  conditions: unknown[];
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Results for a failed run: the input as it came, plus the results. */
function failed(input: string, rl: ResourceListText | null, results: Result[]): FunctionOutput {
  if (!rl) {
    // Not a ResourceList at all: report without items (kpt writes nothing on exit 1).
    const text = 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n' + renderResults(results);
    return { stdout: text, exitCode: 1, results };
  }
  return {
    stdout: joinResourceList(
      rl,
      rl.items.map((i) => i.text),
      renderResults([...rl.results, ...results]),
    ),
    exitCode: 1,
    results,
  };
}

/** Space owners -> resources, to name them in results. */
type OwnerIndex = Map<string, Meta>;

function spaceErrors(err: unknown): { owner: string; error: Error }[] | undefined {
  const list = (err as { errors?: unknown })?.errors;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  if (!list.every((e) => typeof (e as { owner?: unknown })?.owner === 'string')) return undefined;
  return list as { owner: string; error: Error }[];
}

export async function runFunction(input: string, createBackend: BackendFactory): Promise<FunctionOutput> {
  // CRLF input is read as LF and written back as CRLF: every line ending as it came.
  const crlf = crlfOnly(input);
  const out = await guarded(crlf ? input.replace(/\r\n/g, '\n') : input, createBackend);
  return crlf ? { ...out, stdout: out.stdout.replace(/\n/g, '\r\n') } : out;
}

/** Every line ends in CRLF and no other CR appears (mixed endings take the slow, normalizing path). */
function crlfOnly(text: string): boolean {
  let pairs = 0;
  for (let i = text.indexOf('\r'); i >= 0; i = text.indexOf('\r', i + 1)) {
    if (text.charCodeAt(i + 1) !== 10) return false;
    pairs++;
  }
  if (pairs === 0) return false;
  let lf = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lf++;
  return lf === pairs;
}

async function guarded(input: string, createBackend: BackendFactory): Promise<FunctionOutput> {
  let split: ResourceListText | null = null;
  try {
    return await run(input, createBackend, (rl) => (split = rl));
  } catch (err) {
    // A defect or an exhausted resource: still the input as it came, with the reason.
    return failed(input, split, [result('error', `internal error: ${message(err)}`)]);
  }
}

async function run(input: string, createBackend: BackendFactory, onSplit: (rl: ResourceListText) => void): Promise<FunctionOutput> {
  let rl: ResourceListText;
  try {
    rl = await withYaml(() => splitResourceList(input));
    onSplit(rl);
    if (rl.error) return failed(input, rl, [result('error', rl.error)]);
  } catch (err) {
    if (err instanceof ResourceListError || err instanceof YamlSyntaxError) return failed(input, null, [result('error', message(err))]);
    throw err;
  }
  let cfg: FnConfig;
  try {
    cfg = readConfig(rl.functionConfig);
  } catch (err) {
    if (err instanceof FieldError)
      return failed(input, rl, [result('error', `function config: ${err.message}`, undefined, `functionConfig.${err.field}`)]);
    throw err;
  }

  const items = rl.items.map((r) => new Item(r));
  const results: Result[] = [];
  const requests: RequestResource[] = [];
  const vlanRequests: VlanResource[] = [];
  const space: PackageSpace = emptySpace();
  const spaceOwners: OwnerIndex = new Map();
  const spaceMetas: [string, Meta][] = [];
  const kptfiles: Kptfile[] = [];
  // Problems found while reading; results are made once the package root is known.
  const problems: { m?: Meta; message: string; field?: string }[] = [];

  // Classify. Every item is read once (fast reader, else the yaml library), so a resource that
  // is not valid YAML fails the run even when the function does not own it; the ones it does
  // not own stay untouched text.
  const notUtf8 = hasInvalidUtf8(input);
  for (const item of items) {
    const k = item.quickKind();
    const a = k === undefined ? undefined : item.quickApiVersion();
    // Read whole: what the function owns, anything of its groups (typos are errors), anything not clear from the text.
    const owned =
      k === undefined || a === undefined || KNOWN_KIND_NAMES.has(k) || SPACE_KINDS.has(k) || k === 'Kptfile' || OWN_GROUPS.has(groupOf(a));
    if (owned && notUtf8 && hasInvalidUtf8(item.text)) {
      // Bytes that are not UTF-8 pass through only where the function never reads or writes.
      const m = roughMeta(item);
      const at = item.offset === undefined ? undefined : lineColumn(input, item.offset + firstInvalidUtf8(item.text));
      problems.push({
        m,
        message: `item ${item.index} of the ResourceList${m.kind ? ` (${describe(m)})` : ''} is not valid UTF-8${at ? ` at ${at}` : ''}: the function reads this resource and cannot keep such bytes`,
      });
      continue;
    }
    let obj: Obj | null = null;
    try {
      if (owned) obj = await withYaml(() => item.value());
      else await withYaml(() => item.check());
    } catch (err) {
      if (!(err instanceof YamlSyntaxError)) throw err;
      const m = roughMeta(item);
      problems.push({ m, message: syntaxMessage(input, item, m, err) });
      continue;
    }
    if (!owned) continue;
    if (!obj) {
      const pos = itemPosition(input, item);
      problems.push({
        message: `item ${item.index} of the ResourceList${pos ? ` at ${pos}` : ''} is not a resource: a resource is a mapping with apiVersion, kind and metadata`,
      });
      continue;
    }
    const m = meta(obj);
    const unknown = unknownOwnKind(m.apiVersion, m.kind);
    if (unknown) {
      problems.push({
        m,
        message: `${describe(m)}: ${unknown}; a resource of this group is never skipped (a skipped request would look released)`,
        field: unknown.startsWith('kind') ? 'kind' : 'apiVersion',
      });
      continue;
    }
    const gen = requestApi(m.apiVersion, m.kind);
    const vlanApi = vlanRequestApi(m.apiVersion, m.kind);
    try {
      if (gen) requests.push(readRequest(item, obj, m, gen));
      else if (vlanApi) vlanRequests.push(readVlanRequest(item, obj, m, vlanApi.indexField));
      else if (isSpace(m.apiVersion, m.kind)) {
        // NetworkInstance and IPPrefix own what they define; Networks may repeat (identical copies are one space)
        const definesOwn = m.kind === 'NetworkInstance' || m.kind === 'IPPrefix';
        if (definesOwn) ownerKey(m);
        const owner = readSpace(obj, m, space);
        if (definesOwn) spaceMetas.push([owner, m]);
        spaceOwners.set(owner, m);
      } else if (isKptfile(m.apiVersion, m.kind)) {
        const conds = asObj(obj.status)?.conditions;
        kptfiles.push({ item, meta: m, dir: resourceDir(m), conditions: Array.isArray(conds) ? conds : [] });
      }
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      problems.push({ m, message: err.message.startsWith(m.kind) ? err.message : `${describe(m)}: ${err.message}`, field: err.field });
    }
  }
  // The package's own Kptfile is the outermost one (render passes subpackages too).
  const root = kptfiles.reduce<Kptfile | undefined>((best, k) => (!best || k.dir.length < best.dir.length ? k : best), undefined);
  const rootDir = root?.meta.annotations['internal.config.kubernetes.io/package-path'];
  const where = (m: Meta) => origin(m, rootDir);
  for (const p of problems) results.push(result('error', p.message, p.m ? where(p.m) : undefined, p.field));
  results.push(...duplicateOwners([...requests.map((r): [string, Meta] => [r.owner, r.meta]), ...spaceMetas], where));
  if (hasErrors(results)) return failed(input, rl, results);
  // Package order: by file path (directory by directory), then position in the file. That is
  // the order kpt fn eval passes; kpt fn render passes subpackages first, and sorting makes
  // both give the same addresses.
  sortByFile(requests, (r) => where(r.meta).file);
  sortByFile(vlanRequests, (r) => where(r.meta).file);
  const recorded: Recorded[] = [...requests, ...vlanRequests];

  // What the package held last time (its conditions), and which of those vanished.
  const liveTypes = new Set<string>();
  const condTypeOf = new Map<Recorded, string>();
  for (const r of recorded) {
    const t = conditionType(r.generation, r.meta);
    condTypeOf.set(r, t);
    liveTypes.add(t);
  }
  const namespaces = new Set(recorded.map((r) => r.meta.namespace ?? 'default'));
  const liveOwners = new Set(recorded.map((r) => r.owner));
  const vanished: number[] = [];
  const release = new Set<string>();
  const existing = new Map<string, number>();
  root?.conditions.forEach((c, i) => {
    const type = str(asObj(c)?.type);
    if (!type) return;
    const held = parseConditionType(type);
    if (!held) return;
    if (!existing.has(type)) existing.set(type, i);
    if (cfg.releaseAll || !liveTypes.has(type)) {
      vanished.push(i);
      for (const o of heldOwners(held, namespaces)) if (cfg.releaseAll || !liveOwners.has(o)) release.add(o);
    }
  });
  if (cfg.releaseAll) for (const o of liveOwners) release.add(o);
  const deleting = new Set(requests.filter(markedForDeletion));
  for (const r of deleting) release.add(r.owner);

  // Ask the backend.
  // A shared server scopes owners by package; unless the config or the environment names
  // the package, its Kptfile's name and its cluster do.
  if (cfg.backend === 'grpc' && !cfg.backendOptions.package && !process.env.IPAM_INJECTOR_PACKAGE && root) {
    cfg.backendOptions.package = defaultPackageScope(root.meta, space.clusters ?? []);
  }
  let backend: Backend;
  try {
    backend = await createBackend(cfg);
  } catch (err) {
    return failed(input, rl, [result('error', `backend ${cfg.backend}: ${message(err)}`, undefined, 'functionConfig')]);
  }
  const active = cfg.releaseAll ? [] : requests.filter((r) => !deleting.has(r));
  const vlanActive = cfg.releaseAll ? [] : vlanRequests;
  const vlanRelease = [...release].filter(isVlanOwner);
  const runInput: BackendRun = {
    space,
    requests: active.map((r) => r.request),
    lookups: active.map((r) => r.lookup),
    release: [...release].filter((o) => !isVlanOwner(o)),
    keepOnFailure: cfg.onError === 'condition',
  };
  if (cfg.dryRun) {
    // Nothing may change anywhere: the backend answers as a real run would (the builtin
    // allocator lives in memory; a shared server evaluates the batch on a copy of its state).
    runInput.release = [];
    runInput.dryRun = true;
  }
  let outcomes: Outcome[];
  let vlanOutcomes: VlanOutcome[] = [];
  try {
    outcomes = await backend.run(runInput);
    // VLAN space alone (every Nephio package has a WorkloadCluster) needs no VLAN backend.
    const vlanSpace = vlanSpaceOf(space);
    const vlanSpaceOnly = vlanSpace.definitions.length > 0 || vlanSpace.indexes.some((x) => !x.implied);
    if (vlanActive.length > 0 || vlanRelease.length > 0 || (vlanSpaceOnly && backend.runVlan)) {
      if (!backend.runVlan) throw new Error('this backend does not serve VLAN claims (VLANClaim, VLANAllocation)');
      vlanOutcomes = await backend.runVlan({
        space: vlanSpace,
        requests: vlanActive.map((r) => r.request),
        lookups: vlanActive.map((r) => r.lookup),
        release: cfg.dryRun ? [] : vlanRelease,
        ...(cfg.dryRun ? { dryRun: true } : {}),
      });
    }
  } catch (err) {
    const se = spaceErrors(err);
    if (se) {
      return failed(
        input,
        rl,
        se.map((e) => {
          const m = spaceOwners.get(e.owner);
          return result(
            'error',
            m ? `${describe(m)}: ${message(e.error)}` : `${e.owner}: ${message(e.error)}`,
            m ? where(m) : undefined,
            fieldOf(e.error) ?? (m && m.apiVersion.startsWith('vlan.') ? 'spec' : 'spec.prefix'),
          );
        }),
      );
    }
    return failed(input, rl, [result('error', `backend ${cfg.backend}: ${message(err)}`)]);
  } finally {
    await backend.close().catch(() => undefined);
  }

  for (const o of runInput.released ?? [])
    results.push(result('warning', `released ${o} again: the run failed, so the server keeps nothing it newly allocated`));
  const answers = new Map<Recorded, AllocationAnswer>();
  const vlanAnswers = new Map<VlanResource, VlanAllocation>();
  const notes = new Map<RequestResource, string>();
  // onError=condition: failed requests keep their status and get a False condition.
  const failures = new Map<Recorded, string>();
  const failSeverity = cfg.onError === 'condition' ? 'warning' : 'error';
  active.forEach((r, i) => {
    const o = outcomes[i];
    if (o?.ok) {
      answers.set(r, { prefix: o.allocation.prefix, gateway: o.allocation.gateway });
      if (o.note) notes.set(r, o.note);
      return;
    }
    const msg = o ? message(o.error) : 'the backend gave no answer';
    failures.set(r, msg);
    results.push(result(failSeverity, `${describe(r.meta)}: ${msg}`, where(r.meta), (o && fieldOf(o.error)) ?? 'spec'));
  });
  vlanActive.forEach((r, i) => {
    const o = vlanOutcomes[i];
    if (o?.ok) {
      vlanAnswers.set(r, o.allocation);
      answers.set(r, { vlanID: o.allocation.vlanID, vlanRange: o.allocation.vlanRange });
      return;
    }
    const msg = o ? message(o.error) : 'the backend gave no answer';
    failures.set(r, msg);
    results.push(result(failSeverity, `${describe(r.meta)}: ${msg}`, where(r.meta), vlanField(r, o ? fieldOf(o.error) : undefined)));
  });
  if (hasErrors(results)) return failed(input, rl, results);

  if (cfg.dryRun) {
    for (const r of active) {
      const a = answers.get(r);
      if (!a) continue;
      const changed = a.prefix !== r.status.prefix || a.gateway !== r.status.gateway;
      const note = notes.get(r);
      results.push(
        result(
          'info',
          `${describe(r.meta)} would get ${a.prefix}${a.gateway ? ` (gateway ${a.gateway})` : ''}${changed ? '' : ' (unchanged)'}${note ? ` (${note})` : ''}`,
          where(r.meta),
          'status.prefix',
          { field: { path: 'status.prefix', currentValue: r.status.prefix, proposedValue: a.prefix } },
        ),
      );
    }
    for (const r of vlanActive) {
      const a = vlanAnswers.get(r);
      if (!a) continue;
      const st = vlanStatusOf(a);
      const field = st.vlanRange !== undefined ? 'status.vlanRange' : 'status.vlanID';
      const cur = st.vlanRange !== undefined ? r.status.vlanRange : r.status.vlanID;
      results.push(
        result(
          'info',
          `${describe(r.meta)} would get ${vlanText(st)}${sameVlanStatus(st, r.status) ? ' (unchanged)' : ''}`,
          where(r.meta),
          field,
          { field: { path: field, currentValue: cur, proposedValue: st.vlanRange ?? st.vlanID } },
        ),
      );
    }
    for (const o of release) results.push(result('info', `would release ${o}`));
    return {
      stdout: joinResourceList(
        rl,
        rl.items.map((i) => i.text),
        renderResults([...rl.results, ...results]),
      ),
      exitCode: 0,
      results,
    };
  }

  // Write: status of each request, the Kptfile's conditions, injections.
  let changedStatus = 0;
  for (const r of requests) {
    if (cfg.releaseAll || deleting.has(r)) {
      if (r.status.prefix !== undefined || r.status.gateway !== undefined)
        await withYaml(() => r.item.setFields('status', { prefix: undefined, gateway: undefined }));
      continue;
    }
    const a = answers.get(r);
    if (!a) continue;
    if (a.prefix !== r.status.prefix || a.gateway !== r.status.gateway) {
      await withYaml(() => r.item.setFields('status', { prefix: a.prefix, gateway: a.gateway }));
      changedStatus++;
    }
  }
  for (const r of vlanRequests) {
    if (cfg.releaseAll) {
      if (r.status.vlanID !== undefined || r.status.vlanRange !== undefined)
        await withYaml(() => r.item.setFields('status', { vlanID: undefined, vlanRange: undefined }));
      continue;
    }
    const a = vlanAnswers.get(r);
    if (!a) continue;
    const st = vlanStatusOf(a);
    if (!sameVlanStatus(st, r.status)) {
      await withYaml(() => r.item.setFields('status', { vlanID: st.vlanID, vlanRange: st.vlanRange }));
      changedStatus++;
    }
  }
  if (root) {
    // a claim being deleted keeps the condition Nephio's SDK gave it
    const edit = conditionEdit(
      root.conditions,
      recorded.filter((r) => !(deleting as Set<Recorded>).has(r)),
      condTypeOf,
      existing,
      vanished,
      cfg.releaseAll,
      failures,
    );
    await withYaml(() => root.item.editList('status', 'conditions', edit));
  } else if (recorded.length > 0 || cfg.releaseAll) {
    results.push(
      result(
        'warning',
        'no Kptfile in the input: allocations are made and injected, but the package cannot record them in Kptfile conditions, so removed requests will not be released',
      ),
    );
  }
  if (cfg.injections.length > 0) {
    await loadYaml();
    const injErrors = applyInjections(cfg.injections, items, recorded, answers, rootDir);
    if (injErrors.length > 0) return failed(input, rl, [...results, ...injErrors]);
  }

  const summary = cfg.releaseAll
    ? `released ${release.size} owner(s); removed ${vanished.length} condition(s)`
    : `${recorded.length} request(s): ${changedStatus} updated, ${recorded.length - deleting.size - changedStatus - failures.size} unchanged${failures.size ? `, ${failures.size} failed (recorded as False conditions)` : ''}; ${vanished.length} removed request(s) released${deleting.size ? `; ${deleting.size} released (${ANN_SPECIALIZER_DELETE})` : ''}`;
  for (const r of deleting) results.push(result('info', `${describe(r.meta)}: released (${ANN_SPECIALIZER_DELETE})`, where(r.meta)));
  results.push(result('info', summary));
  const out = joinResourceList(
    rl,
    items.map((i) => i.text),
    renderResults([...rl.results, ...results]),
  );
  return { stdout: out, exitCode: 0, results };
}

/** Two resources with one owner would share what it holds: an error naming both files. */
function duplicateOwners(owners: [string, Meta][], where: (m: Meta) => ResourceOrigin): Result[] {
  const first = new Map<string, Meta>();
  const out: Result[] = [];
  for (const [owner, m] of owners) {
    const f = first.get(owner);
    if (!f) {
      first.set(owner, m);
      continue;
    }
    const at = (x: Meta) => {
      const o = where(x).file;
      return o ? `${o.path}${o.index !== undefined ? ` (document ${o.index})` : ''}` : 'the input';
    };
    out.push(
      result(
        'error',
        `${describe(m)} is defined twice, in ${at(f)} and in ${at(m)}: each would hold the same addresses; give each its own name`,
        where(m),
        'metadata.name',
      ),
    );
  }
  return out;
}

/** A request the Kptfile records a condition for: an IP request or a VLAN claim. */
type Recorded = RequestResource | VlanResource;

/** VLANClaim and VLANAllocation owners (`ns/Kind/name`) are released by the VLAN backend. */
const isVlanOwner = (o: string): boolean => /\/(VLANClaim|VLANAllocation)\//.test(o);

function comparePaths(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    // A file sorts before a directory at the same level only by name, like a directory walk.
    if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return x.length - y.length;
}

function sortByFile<T>(list: T[], file: (t: T) => { path: string; index?: number } | undefined): void {
  const keyed = list.map((t, i) => ({ t, i, f: file(t) }));
  keyed.sort((a, b) => {
    if (!a.f || !b.f) return a.i - b.i;
    return comparePaths(a.f.path, b.f.path) || (a.f.index ?? 0) - (b.f.index ?? 0) || a.i - b.i;
  });
  keyed.forEach((k, i) => (list[i] = k.t));
}

function fieldOf(err: unknown): string | undefined {
  if (isIpamError(err)) return err.details.field;
  const f = (err as { field?: unknown } | undefined)?.field;
  return typeof f === 'string' ? f : undefined;
}

/** The conditions edit: update or add one per request, drop the vanished ones. */
function conditionEdit(
  current: unknown[],
  requests: Recorded[],
  condTypeOf: Map<Recorded, string>,
  existing: Map<string, number>,
  vanished: number[],
  releaseAll: boolean,
  failures: Map<Recorded, string>,
): ListEdit {
  const edit: ListEdit = { update: new Map(), remove: new Set(vanished), append: [] };
  if (releaseAll) return edit;
  const appended = new Set<string>();
  for (const r of requests) {
    const type = condTypeOf.get(r)!;
    const failure = failures.get(r);
    const want: Condition = failure === undefined ? okCondition(r.generation, type) : failedCondition(r.generation, type, failure);
    const i = existing.get(type);
    if (i === undefined) {
      if (appended.has(type)) continue;
      appended.add(type);
      edit.append.push({ ...want });
      continue;
    }
    const cur = asObj(current[i]) ?? {};
    const fields: Record<string, string | undefined> = {};
    if (str(cur.status) !== want.status) fields.status = want.status;
    if (str(cur.message) !== want.message) fields.message = want.message;
    if (want.reason !== undefined && str(cur.reason) !== want.reason) fields.reason = want.reason;
    if (Object.keys(fields).length) edit.update.set(i, fields);
  }
  return edit;
}
