// Step 1 of a run: the ResourceList text -> the package as typed data. Splits the list, reads
// the function config, and reads every item once: requests, VLAN claims, space and Kptfiles
// are kept; any other resource is only checked to be valid YAML (it stays untouched text).
// Problems are collected and reported together, named by resource, field, file and line.
// The yaml library is loaded once, before reading, when the list or an item needs it.
import type { PackageSpace } from '../backends/backend.js';
import { emptySpace } from '../space/definitions.js';
import { isKptfile, isSpace, KNOWN_KIND_NAMES, OWN_GROUPS, requestApi, SPACE_KINDS, unknownOwnKind, vlanRequestApi } from './apis.js';
import { readConfig, type FnConfig } from './config.js';
import { stop, message, type StepResult } from './function-output.js';
import { Item, type Obj } from './item.js';
import { itemPosition, lineColumn, roughMeta, syntaxMessage } from './item-syntax.js';
import { FieldError, ownerKey, readRequest, type RequestResource } from './requests.js';
import { asObj, describe, groupOf, meta, origin, resourceDir, type Meta } from './resource.js';
import { ResourceListError, splitResourceList, splitResourceListFast, type ResourceListText } from './resource-list.js';
import { hasErrors, result, type ResourceOrigin, type Result } from './results.js';
import { readSpace } from './space.js';
import { applyNetworkConfigs } from '../space/network-config.js';
import { firstInvalidUtf8, hasInvalidUtf8 } from './text-encoding.js';
import { readVlanRequest, type VlanResource } from './vlan-requests.js';
import { YamlSyntaxError } from './yaml-doc.js';
import { loadYaml, loadYamlIf, NEEDS_LIBRARY } from './yaml-lib.js';

export interface Kptfile {
  item: Item;
  meta: Meta;
  dir: string;
  conditions: unknown[];
}

/** A request the Kptfile records a condition for: an IP request or a VLAN claim. */
export type Recorded = RequestResource | VlanResource;

/** The package as the function reads it. Requests are in package order (see sortByFile). */
export interface PackageContents {
  items: Item[];
  requests: RequestResource[];
  vlanRequests: VlanResource[];
  space: PackageSpace;
  /** Space owners -> the resources that define them, to name them in results. */
  spaceOwners: Map<string, Meta>;
  /** The package's own Kptfile: the outermost one (render passes subpackages too). */
  root: Kptfile | undefined;
  /** The root's package path: file names in results are relative to it. */
  rootDir: string | undefined;
}

/** What the input could not be read as: the list, or null when it is not a ResourceList at all. */
export type SplitResult = { ok: true; value: ResourceListText } | { ok: false; rl: ResourceListText | null; results: Result[] };

export async function splitInput(input: string): Promise<SplitResult> {
  let rl: ResourceListText;
  try {
    const fast = splitResourceListFast(input);
    if (fast === NEEDS_LIBRARY) await loadYaml();
    rl = fast === NEEDS_LIBRARY ? splitResourceList(input) : fast;
  } catch (err) {
    if (err instanceof ResourceListError || err instanceof YamlSyntaxError)
      return { ok: false, rl: null, results: [result('error', message(err))] };
    throw err;
  }
  if (rl.error) return { ok: false, rl, results: [result('error', rl.error)] };
  return { ok: true, value: rl };
}

export function readFunctionConfig(rl: ResourceListText): StepResult<FnConfig> {
  try {
    return { ok: true, value: readConfig(rl.functionConfig) };
  } catch (err) {
    if (!(err instanceof FieldError)) throw err;
    return stop([result('error', `function config: ${err.message}`, undefined, `functionConfig.${err.field}`)]);
  }
}

/** A problem found while reading; results are made once the package root is known. */
interface Problem {
  m?: Meta;
  message: string;
  field?: string;
}

/** What classifying the items found, before the package root is known. */
interface Classified {
  requests: RequestResource[];
  vlanRequests: VlanResource[];
  space: PackageSpace;
  spaceOwners: Map<string, Meta>;
  /** Owners of NetworkInstances and IPPrefixes: each is defined once. */
  spaceDefiners: [string, Meta][];
  kptfiles: Kptfile[];
  problems: Problem[];
}

export async function readPackage(input: string, rl: ResourceListText): Promise<StepResult<PackageContents>> {
  const items = rl.items.map((r) => new Item(r));
  const notUtf8 = hasInvalidUtf8(input);
  const owned = items.map((item) => ownedByText(item));
  // Decide up front: load the library once if any item the fast reader cannot take needs it.
  await loadYamlIf(items.some((item, i) => !(owned[i] && notUtf8 && hasInvalidUtf8(item.text)) && item.needsLibraryToRead(owned[i]!)));
  const c = classify(input, items, owned, notUtf8);
  for (const p of applyNetworkConfigs(c.space)) {
    const m = c.spaceOwners.get(p.owner);
    c.problems.push({ ...(m ? { m } : {}), message: `${m ? describe(m) : p.owner}: ${p.message}`, field: p.field });
  }
  const root = c.kptfiles.reduce<Kptfile | undefined>((best, k) => (!best || k.dir.length < best.dir.length ? k : best), undefined);
  const rootDir = root?.meta.annotations['internal.config.kubernetes.io/package-path'];
  const where = (m: Meta) => origin(m, rootDir);
  const results = c.problems.map((p) => result('error', p.message, p.m ? where(p.m) : undefined, p.field));
  results.push(...duplicateOwners([...c.requests.map((r): [string, Meta] => [r.owner, r.meta]), ...c.spaceDefiners], where));
  if (hasErrors(results)) return stop(results);
  // Package order: by file path (directory by directory), then position in the file. That is
  // the order kpt fn eval passes; kpt fn render passes subpackages first, and sorting makes
  // both give the same addresses.
  sortByFile(c.requests, (r) => where(r.meta).file);
  sortByFile(c.vlanRequests, (r) => where(r.meta).file);
  const { requests, vlanRequests, space, spaceOwners } = c;
  return { ok: true, value: { items, requests, vlanRequests, space, spaceOwners, root, rootDir } };
}

/**
 * Whether the function reads the item whole: what it owns, anything of its groups (typos are
 * errors), anything whose kind is not clear from the text. Every other item is only checked.
 */
function ownedByText(item: Item): boolean {
  const k = item.quickKind();
  const a = k === undefined ? undefined : item.quickApiVersion();
  return (
    k === undefined || a === undefined || KNOWN_KIND_NAMES.has(k) || SPACE_KINDS.has(k) || k === 'Kptfile' || OWN_GROUPS.has(groupOf(a))
  );
}

// Every item is read once (fast reader, else the yaml library), so a resource that is not
// valid YAML fails the run even when the function does not own it.
function classify(input: string, items: Item[], owned: boolean[], notUtf8: boolean): Classified {
  const c: Classified = {
    requests: [],
    vlanRequests: [],
    space: emptySpace(),
    spaceOwners: new Map(),
    spaceDefiners: [],
    kptfiles: [],
    problems: [],
  };
  items.forEach((item, i) => {
    if (owned[i] && notUtf8 && hasInvalidUtf8(item.text)) {
      c.problems.push(notUtf8Problem(input, item));
      return;
    }
    const obj = readItem(input, item, owned[i]!, c.problems);
    if (obj) classifyResource(item, obj, c);
  });
  return c;
}

/** Bytes that are not UTF-8 pass through only where the function never reads or writes. */
function notUtf8Problem(input: string, item: Item): Problem {
  const m = roughMeta(item);
  const at = item.offset === undefined ? undefined : lineColumn(input, item.offset + firstInvalidUtf8(item.text));
  return {
    m,
    message: `item ${item.index} of the ResourceList${m.kind ? ` (${describe(m)})` : ''} is not valid UTF-8${at ? ` at ${at}` : ''}: the function reads this resource and cannot keep such bytes`,
  };
}

/** The item as data when the function owns it (undefined otherwise, or on a problem). */
function readItem(input: string, item: Item, owned: boolean, problems: Problem[]): Obj | undefined {
  let obj: Obj | null;
  try {
    if (!owned) {
      item.check();
      return undefined;
    }
    obj = item.value();
  } catch (err) {
    if (!(err instanceof YamlSyntaxError)) throw err;
    const m = roughMeta(item);
    problems.push({ m, message: syntaxMessage(input, item, m, err) });
    return undefined;
  }
  if (obj) return obj;
  const pos = itemPosition(input, item);
  problems.push({
    message: `item ${item.index} of the ResourceList${pos ? ` at ${pos}` : ''} is not a resource: a resource is a mapping with apiVersion, kind and metadata`,
  });
  return undefined;
}

function classifyResource(item: Item, obj: Obj, c: Classified): void {
  const m = meta(obj);
  const unknown = unknownOwnKind(m.apiVersion, m.kind);
  if (unknown) {
    c.problems.push({
      m,
      message: `${describe(m)}: ${unknown}; a resource of this group is never skipped (a skipped request would look released)`,
      field: unknown.startsWith('kind') ? 'kind' : 'apiVersion',
    });
    return;
  }
  const gen = requestApi(m.apiVersion, m.kind);
  const vlanApi = vlanRequestApi(m.apiVersion, m.kind);
  try {
    if (gen) c.requests.push(readRequest(item, obj, m, gen));
    else if (vlanApi) c.vlanRequests.push(readVlanRequest(item, obj, m, vlanApi.indexField));
    else if (isSpace(m.apiVersion, m.kind)) readSpaceResource(obj, m, c);
    else if (isKptfile(m.apiVersion, m.kind)) {
      const conds = asObj(obj.status)?.conditions;
      c.kptfiles.push({ item, meta: m, dir: resourceDir(m), conditions: Array.isArray(conds) ? conds : [] });
    }
  } catch (err) {
    if (!(err instanceof FieldError)) throw err;
    c.problems.push({ m, message: err.message.startsWith(m.kind) ? err.message : `${describe(m)}: ${err.message}`, field: err.field });
  }
}

function readSpaceResource(obj: Obj, m: Meta, c: Classified): void {
  // NetworkInstance and IPPrefix own what they define; Networks may repeat (identical copies are one space)
  const definesOwn = m.kind === 'NetworkInstance' || m.kind === 'IPPrefix';
  if (definesOwn) ownerKey(m);
  const owner = readSpace(obj, m, c.space);
  if (definesOwn) c.spaceDefiners.push([owner, m]);
  c.spaceOwners.set(owner, m);
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
