// The dry-run report: what each request would get and what would be released, as info
// results with the field's current and proposed value. Nothing is written.
import type { BackendAnswers } from './ask-backend.js';
import type { RunPlan } from './plan.js';
import type { PackageContents } from './read-package.js';
import { describe, origin } from './resource.js';
import { result, type Result } from './results.js';
import { sameVlanStatus, vlanStatusOf, vlanText } from './vlan-requests.js';

export function dryRunResults(pkg: PackageContents, plan: RunPlan, a: BackendAnswers): Result[] {
  const out: Result[] = [];
  for (const r of plan.active) {
    const answer = a.answers.get(r);
    if (!answer) continue;
    const changed = answer.prefix !== r.status.prefix || answer.gateway !== r.status.gateway;
    const note = a.notes.get(r);
    out.push(
      result(
        'info',
        `${describe(r.meta)} would get ${answer.prefix}${answer.gateway ? ` (gateway ${answer.gateway})` : ''}${changed ? '' : ' (unchanged)'}${note ? ` (${note})` : ''}`,
        origin(r.meta, pkg.rootDir),
        'status.prefix',
        { field: { path: 'status.prefix', currentValue: r.status.prefix, proposedValue: answer.prefix } },
      ),
    );
  }
  for (const r of plan.vlanActive) {
    const allocation = a.vlanAnswers.get(r);
    if (!allocation) continue;
    const st = vlanStatusOf(allocation);
    const field = st.vlanRange !== undefined ? 'status.vlanRange' : 'status.vlanID';
    const cur = st.vlanRange !== undefined ? r.status.vlanRange : r.status.vlanID;
    out.push(
      result(
        'info',
        `${describe(r.meta)} would get ${vlanText(st)}${sameVlanStatus(st, r.status) ? ' (unchanged)' : ''}`,
        origin(r.meta, pkg.rootDir),
        field,
        { field: { path: field, currentValue: cur, proposedValue: st.vlanRange ?? st.vlanID } },
      ),
    );
  }
  for (const o of plan.release) out.push(result('info', `would release ${o}`));
  return out;
}
