// Step 4 of a run: the answers -> edits of the package's text. Each request's status, the
// root Kptfile's conditions (one per request; vanished ones removed), then the config's
// injections. Edits are plain data; the fast editor makes those it can, and the yaml
// library is loaded once for the rest and for injections. Ends with the run's summary.
import type { BackendAnswers } from './ask-backend.js';
import type { ListEdit } from './block-edit.js';
import { failedCondition, okCondition, type Condition } from './conditions.js';
import type { FnConfig } from './config.js';
import { stop, type StepResult } from './function-output.js';
import { applyInjections } from './inject.js';
import type { Item } from './item.js';
import { ANN_SPECIALIZER_DELETE } from './nephio.js';
import type { RunPlan } from './plan.js';
import type { PackageContents, Recorded } from './read-package.js';
import { asObj, describe, origin, str } from './resource.js';
import { result, type Result } from './results.js';
import type { ScalarValue } from './scalar.js';
import { sameVlanStatus, vlanStatusOf } from './vlan-requests.js';
import { loadYamlIf } from './yaml-lib.js';

/** One edit of one item: scalar fields under a top-level key, or a list at key1.key2. */
type Edit =
  { item: Item; key: string; fields: Record<string, ScalarValue | undefined> } | { item: Item; key1: string; key2: string; list: ListEdit };

/** The edits of the requests' status; `changed` counts the answers that changed a status. */
function statusEdits(pkg: PackageContents, plan: RunPlan, cfg: FnConfig, a: BackendAnswers): { edits: Edit[]; changed: number } {
  const edits: Edit[] = [];
  let changed = 0;
  for (const r of pkg.requests) {
    if (cfg.releaseAll || plan.deleting.has(r)) {
      if (r.status.prefix !== undefined || r.status.gateway !== undefined)
        edits.push({ item: r.item, key: 'status', fields: { prefix: undefined, gateway: undefined } });
      continue;
    }
    const answer = a.answers.get(r);
    if (!answer || (answer.prefix === r.status.prefix && answer.gateway === r.status.gateway)) continue;
    edits.push({ item: r.item, key: 'status', fields: { prefix: answer.prefix, gateway: answer.gateway } });
    changed++;
  }
  for (const r of pkg.vlanRequests) {
    if (cfg.releaseAll) {
      if (r.status.vlanID !== undefined || r.status.vlanRange !== undefined)
        edits.push({ item: r.item, key: 'status', fields: { vlanID: undefined, vlanRange: undefined } });
      continue;
    }
    const allocation = a.vlanAnswers.get(r);
    if (!allocation) continue;
    const st = vlanStatusOf(allocation);
    if (sameVlanStatus(st, r.status)) continue;
    edits.push({ item: r.item, key: 'status', fields: { vlanID: st.vlanID, vlanRange: st.vlanRange } });
    changed++;
  }
  return { edits, changed };
}

const applyFast = (e: Edit): boolean => ('list' in e ? e.item.editListFast(e.key1, e.key2, e.list) : e.item.setFieldsFast(e.key, e.fields));

function applyWithLibrary(e: Edit): void {
  if ('list' in e) e.item.editListWithLibrary(e.key1, e.key2, e.list);
  else e.item.setFieldsWithLibrary(e.key, e.fields);
}

export async function applyAnswers(pkg: PackageContents, plan: RunPlan, cfg: FnConfig, a: BackendAnswers): Promise<StepResult<Result[]>> {
  const results = [...a.results];
  const { edits, changed } = statusEdits(pkg, plan, cfg, a);
  if (pkg.root) {
    // a claim being deleted keeps the condition Nephio's SDK gave it
    const kept = plan.recorded.filter((r) => !(plan.deleting as Set<Recorded>).has(r));
    edits.push({ item: pkg.root.item, key1: 'status', key2: 'conditions', list: conditionEdit(pkg.root.conditions, kept, plan, cfg, a) });
  } else if (plan.recorded.length > 0 || cfg.releaseAll) {
    results.push(
      result(
        'warning',
        'no Kptfile in the input: allocations are made and injected, but the package cannot record them in Kptfile conditions, so removed requests will not be released',
      ),
    );
  }
  const slow = edits.filter((e) => !applyFast(e));
  await loadYamlIf(slow.length > 0 || cfg.injections.length > 0);
  for (const e of slow) applyWithLibrary(e);
  if (cfg.injections.length > 0) {
    const injErrors = applyInjections(cfg.injections, pkg.items, plan.recorded, a.answers, pkg.rootDir);
    if (injErrors.length > 0) return stop([...results, ...injErrors]);
  }
  for (const r of plan.deleting)
    results.push(result('info', `${describe(r.meta)}: released (${ANN_SPECIALIZER_DELETE})`, origin(r.meta, pkg.rootDir)));
  results.push(result('info', summary(plan, cfg, a, changed)));
  return { ok: true, value: results };
}

function summary(plan: RunPlan, cfg: FnConfig, a: BackendAnswers, changed: number): string {
  const { recorded, deleting, vanished, release } = plan;
  if (cfg.releaseAll) return `released ${release.size} owner(s); removed ${vanished.length} condition(s)`;
  const failed = a.failures.size;
  const unchanged = recorded.length - deleting.size - changed - failed;
  return `${recorded.length} request(s): ${changed} updated, ${unchanged} unchanged${failed ? `, ${failed} failed (recorded as False conditions)` : ''}; ${vanished.length} removed request(s) released${deleting.size ? `; ${deleting.size} released (${ANN_SPECIALIZER_DELETE})` : ''}`;
}

/** The conditions edit: update or add one per request, drop the vanished ones. */
function conditionEdit(current: unknown[], requests: Recorded[], plan: RunPlan, cfg: FnConfig, a: BackendAnswers): ListEdit {
  const edit: ListEdit = { update: new Map(), remove: new Set(plan.vanished), append: [] };
  if (cfg.releaseAll) return edit;
  const appended = new Set<string>();
  for (const r of requests) {
    const type = plan.conditionTypes.get(r)!;
    const failure = a.failures.get(r);
    const want: Condition = failure === undefined ? okCondition(r.generation, type) : failedCondition(r.generation, type, failure);
    const i = plan.heldConditions.get(type);
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
