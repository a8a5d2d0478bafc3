// Step 3 of a run: the plan -> the backend's answers. Makes the backend the config asks for,
// sends it the package's space, requests and releases (IP, then VLAN), and maps what comes
// back onto the requests: an answer or a failure each, and results naming the resource.
import type { Backend, BackendRun, Outcome, VlanOutcome } from '../backends/backend.js';
import { isIpamError } from '../ipam/errors.js';
import { vlanSpaceOf } from '../space/vlan.js';
import type { VlanAllocation } from '../vlan/types.js';
import type { FnConfig } from './config.js';
import { message, stop, type StepResult } from './function-output.js';
import { isVlanOwner, type RunPlan } from './plan.js';
import type { AllocationAnswer } from './prefix-values.js';
import type { PackageContents, Recorded } from './read-package.js';
import type { RequestResource } from './requests.js';
import { describe, origin, type Meta } from './resource.js';
import { hasErrors, result, type Result } from './results.js';
import { vlanField, type VlanResource } from './vlan-requests.js';
import { unattachedCluster } from './unattached.js';

/** Makes the backend the config asks for (src/backends/index.ts in production). */
export type BackendFactory = (cfg: FnConfig) => Promise<Backend>;

export interface BackendAnswers {
  answers: Map<Recorded, AllocationAnswer>;
  vlanAnswers: Map<VlanResource, VlanAllocation>;
  /** Something an answer cannot show (e.g. not checked), for dry-run results. */
  notes: Map<RequestResource, string>;
  /** onError=condition: failed requests keep their status and get a False condition. */
  failures: Map<Recorded, string>;
  /** Warnings so far (releases undone, failures under onError=condition). */
  results: Result[];
}

interface BackendReply {
  outcomes: Outcome[];
  vlanOutcomes: VlanOutcome[];
  /** Owners the backend released again because the run failed. */
  released: string[];
  /** Why giving back what a failed run took did not work, if it did not. */
  giveBackError?: string;
}

export async function askBackend(
  pkg: PackageContents,
  plan: RunPlan,
  cfg: FnConfig,
  createBackend: BackendFactory,
): Promise<StepResult<BackendAnswers>> {
  let backend: Backend;
  try {
    backend = await createBackend(cfg);
  } catch (err) {
    return stop([result('error', `backend ${cfg.backend}: ${message(err)}`, undefined, 'functionConfig')]);
  }
  let reply: BackendReply;
  try {
    reply = await callBackend(backend, pkg, plan, cfg);
  } catch (err) {
    return stop(backendErrors(err, pkg, cfg));
  } finally {
    await backend.close().catch(() => undefined);
  }
  const answers = readOutcomes(pkg, plan, cfg, reply);
  return hasErrors(answers.results) ? stop(answers.results) : { ok: true, value: answers };
}

async function callBackend(backend: Backend, pkg: PackageContents, plan: RunPlan, cfg: FnConfig): Promise<BackendReply> {
  const { active, vlanActive, release } = plan;
  const vlanRelease = [...release].filter(isVlanOwner);
  const run: BackendRun = {
    space: pkg.space,
    requests: active.map((r) => r.request),
    lookups: active.map((r) => r.lookup),
    release: [...release].filter((o) => !isVlanOwner(o)),
    keepOnFailure: cfg.onError === 'condition',
  };
  if (cfg.dryRun) {
    // Nothing may change anywhere: the backend answers as a real run would (the builtin
    // allocator lives in memory; a shared server evaluates the batch on a copy of its state).
    run.release = [];
    run.dryRun = true;
  }
  const outcomes = await backend.run(run);
  let vlanOutcomes: VlanOutcome[] = [];
  // VLAN space alone (every Nephio package has a WorkloadCluster) needs no VLAN backend.
  const vlanSpace = vlanSpaceOf(pkg.space);
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
  const reply: BackendReply = { outcomes, vlanOutcomes, released: run.released ?? [] };
  // the builtin backend holds nothing beyond the run: the package is its database
  if (!cfg.dryRun && !run.keepOnFailure && cfg.backend !== 'builtin') await giveBack(backend, plan, reply);
  return reply;
}

/** Owners of the requests that newly took something (answered, not a lookup, no status yet). */
function freshOwners(
  rs: readonly { request: { owner: string; hint?: string }; lookup: boolean }[],
  os: readonly { ok: boolean }[],
): string[] {
  return rs.flatMap((r, i) => (os[i]?.ok && !r.lookup && r.request.hint === undefined ? [r.request.owner] : []));
}

/**
 * The run fails, so nothing it newly took may stay held. A backend gives back its own IP
 * requests when one of them failed; what the other kind took (VLAN ids when an IP request
 * failed, addresses when a VLAN claim failed) is released here.
 */
async function giveBack(backend: Backend, plan: RunPlan, reply: BackendReply): Promise<void> {
  const ipFailed = reply.outcomes.some((o) => !o.ok);
  if (!ipFailed && !reply.vlanOutcomes.some((o) => !o.ok)) return;
  const vlan = freshOwners(plan.vlanActive, reply.vlanOutcomes);
  const ip = ipFailed ? [] : freshOwners(plan.active, reply.outcomes);
  try {
    if (vlan.length > 0 && backend.runVlan) await backend.runVlan({ space: { indexes: [], definitions: [] }, requests: [], release: vlan });
    if (ip.length > 0) await backend.run({ space: { networkInstances: [], prefixes: [] }, requests: [], release: ip });
    reply.released.push(...vlan, ...ip);
  } catch (e) {
    reply.giveBackError = message(e);
  }
}

/** A failed backend call: per space resource when the space could not be applied, else one error. */
function backendErrors(err: unknown, pkg: PackageContents, cfg: FnConfig): Result[] {
  const se = spaceErrors(err);
  if (!se) return [result('error', `backend ${cfg.backend}: ${message(err)}`)];
  return se.map((e) => {
    const m = pkg.spaceOwners.get(e.owner);
    return result(
      'error',
      m ? `${describe(m)}: ${message(e.error)}` : `${e.owner}: ${message(e.error)}`,
      m ? origin(m, pkg.rootDir) : undefined,
      fieldOf(e.error) ?? (m && m.apiVersion.startsWith('vlan.') ? 'spec' : 'spec.prefix'),
    );
  });
}

function spaceErrors(err: unknown): { owner: string; error: Error }[] | undefined {
  const list = (err as { errors?: unknown })?.errors;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  if (!list.every((e) => typeof (e as { owner?: unknown })?.owner === 'string')) return undefined;
  return list as { owner: string; error: Error }[];
}

function readOutcomes(pkg: PackageContents, plan: RunPlan, cfg: FnConfig, reply: BackendReply): BackendAnswers {
  const where = (m: Meta) => origin(m, pkg.rootDir);
  const a: BackendAnswers = { answers: new Map(), vlanAnswers: new Map(), notes: new Map(), failures: new Map(), results: [] };
  for (const o of reply.released)
    a.results.push(result('warning', `released ${o} again: the run failed, so the server keeps nothing it newly allocated`));
  if (reply.giveBackError)
    a.results.push(result('error', `the run failed, and releasing what it newly took failed too: ${reply.giveBackError}`));
  const failSeverity = cfg.onError === 'condition' ? 'warning' : 'error';
  const fail = (r: Recorded, o: Outcome | VlanOutcome | undefined, field: string) => {
    const msg = o && !o.ok ? message(o.error) : 'the backend gave no answer';
    a.failures.set(r, msg);
    a.results.push(result(failSeverity, `${describe(r.meta)}: ${msg}`, where(r.meta), field));
  };
  plan.active.forEach((r, i) => {
    const o = reply.outcomes[i];
    if (!o?.ok) {
      // the allocator's "not found" hides the cause when no Network attaches the claim's cluster
      const why = o && unattachedCluster(pkg, r);
      if (why) return fail(r, { ok: false, error: new Error(`${why} (${message(o.error)})`) }, 'spec.selector');
      return fail(r, o, (o && fieldOf(o.error)) ?? 'spec');
    }
    a.answers.set(r, { prefix: o.allocation.prefix, gateway: o.allocation.gateway });
    if (o.note) a.notes.set(r, o.note);
  });
  plan.vlanActive.forEach((r, i) => {
    const o = reply.vlanOutcomes[i];
    if (!o?.ok) return fail(r, o, vlanField(r, o ? fieldOf(o.error) : undefined));
    a.vlanAnswers.set(r, o.allocation);
    a.answers.set(r, { vlanID: o.allocation.vlanID, vlanRange: o.allocation.vlanRange });
  });
  return a;
}

function fieldOf(err: unknown): string | undefined {
  if (isIpamError(err)) return err.details.field;
  const f = (err as { field?: unknown } | undefined)?.field;
  return typeof f === 'string' ? f : undefined;
}
