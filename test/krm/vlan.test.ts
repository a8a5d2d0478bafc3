// VLAN claims through the function in process, with the builtin backend: status.vlanID and
// vlanRange, conditions, release of vanished claims, lookups, dry runs, errors by field.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { runFunction, type BackendFactory } from '../../src/krm/run.js';
import { createBackend } from '../../src/backends/index.js';
import { BuiltinBackend } from '../../src/backends/builtin.js';
import type { VlanRun } from '../../src/backends/backend.js';
import { parse } from 'yaml';
import { list as resourceList } from '../support/resource-list.js';

interface Cond {
  type: string;
  status: string;
  message: string;
}
interface Doc {
  kind: string;
  metadata: { name: string };
  status: { vlanID?: number; vlanRange?: string; conditions?: Cond[] };
}
interface Res {
  severity: string;
  message: string;
  field: { path: string };
  resourceRef: { name: string };
}
const itemNamed = (text: string, kind: string, name: string): Doc =>
  (parse(text) as { items: Doc[] }).items.find((i) => i.kind === kind && i.metadata.name === name)!;
const resultsOf = (text: string): Res[] => (parse(text) as { results?: Res[] }).results ?? [];

const factory: BackendFactory = (cfg) => createBackend(cfg.backend, cfg.backendOptions);

const kptfile = (conditions = '') => `apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: pkg
${conditions ? `status:\n  conditions:\n${conditions}` : ''}`;
const CLUSTER = `apiVersion: infra.nephio.org/v1alpha1
kind: WorkloadCluster
metadata:
  name: cluster01
spec:
  clusterName: cluster01
`;
const vlanClaim = (name: string, spec = '', ann = '', status = '') => `apiVersion: vlan.resource.nephio.org/v1alpha1
kind: VLANClaim
metadata:
  name: ${name}
${ann ? `  annotations:\n${ann}` : ''}spec:
  vlanIndex:
    name: cluster01
${spec}${status ? `status:\n${status}` : ''}`;

const conditionsOf = (out: string): Cond[] => itemNamed(out, 'Kptfile', 'pkg').status.conditions ?? [];

test('claims get status.vlanID (an integer) and a True condition in the later form', async () => {
  const out = await runFunction(
    resourceList({ Kptfile: kptfile(), 'wc.yaml': CLUSTER, 'a.yaml': vlanClaim('a'), 'b.yaml': vlanClaim('b', '  vlanID: 100\n') }),
    factory,
  );
  assert.is(out.exitCode, 0, out.stdout);
  assert.is(itemNamed(out.stdout, 'VLANClaim', 'a').status.vlanID, 2);
  assert.is(itemNamed(out.stdout, 'VLANClaim', 'b').status.vlanID, 100);
  assert.match(out.stdout, /vlanID: 2\n/, 'an integer, not a string');
  assert.equal(conditionsOf(out.stdout), [
    { type: 'vlan.resource.nephio.org/v1alpha1.VLANClaim.a', status: 'True', message: 'update done' },
    { type: 'vlan.resource.nephio.org/v1alpha1.VLANClaim.b', status: 'True', message: 'update done' },
  ]);
});

test('a range claim gets status.vlanRange; VLANAllocation in a VLANDatabase', async () => {
  const db = `apiVersion: vlan.alloc.nephio.org/v1alpha1
kind: VLANDatabase
metadata:
  name: edge1
spec:
  kind: device
`;
  const alloc = (name: string, spec: string) => `apiVersion: vlan.alloc.nephio.org/v1alpha1
kind: VLANAllocation
metadata:
  name: ${name}
spec:
  vlanDatabase:
    name: edge1
${spec}`;
  const out = await runFunction(
    resourceList({
      Kptfile: kptfile(),
      'db.yaml': db,
      'r.yaml': alloc('r', '  range: "10"\n'),
      's.yaml': alloc('s', '  range: 100:199\n'),
      'x.yaml': alloc('x', '  vlanID: 1\n'),
    }),
    factory,
  );
  assert.is(out.exitCode, 1);
  const err = resultsOf(out.stdout).filter((r) => r.severity === 'error')[0]!;
  assert.is(err.field.path, 'spec.vlanID');
  assert.match(err.message, /VLANAllocation x: spec.vlanID 1 is reserved/);
  const ok = await runFunction(
    resourceList({
      Kptfile: kptfile(),
      'db.yaml': db,
      'r.yaml': alloc('r', '  range: "10"\n'),
      's.yaml': alloc('s', '  range: 100:199\n'),
    }),
    factory,
  );
  assert.is(ok.exitCode, 0, ok.stdout);
  assert.is(itemNamed(ok.stdout, 'VLANAllocation', 'r').status.vlanRange, '2:11');
  assert.is(itemNamed(ok.stdout, 'VLANAllocation', 's').status.vlanRange, '100:199');
  assert.equal(
    conditionsOf(ok.stdout).map((c) => c.type),
    ['vlan.alloc.nephio.org/v1alpha1.VLANAllocation.r', 'vlan.alloc.nephio.org/v1alpha1.VLANAllocation.s'],
  );
});

test('an unknown VLANDatabase is named at spec.vlanDatabase.name', async () => {
  const out = await runFunction(
    resourceList({
      Kptfile: kptfile(),
      'x.yaml': `apiVersion: vlan.alloc.nephio.org/v1alpha1
kind: VLANAllocation
metadata:
  name: x
spec:
  vlanDatabase:
    name: nowhere
`,
    }),
    factory,
  );
  assert.is(out.exitCode, 1);
  const err = resultsOf(out.stdout).find((r) => r.severity === 'error')!;
  assert.is(err.field.path, 'spec.vlanDatabase.name');
  assert.match(err.message, /VLAN index default\/nowhere not found/);
});

test('sticky: a claim keeps its status.vlanID; a new one gets the lowest free id; a second run changes nothing', async () => {
  const files = { Kptfile: kptfile(), 'wc.yaml': CLUSTER, 'a.yaml': vlanClaim('a'), 'old.yaml': vlanClaim('old', '', '', '  vlanID: 2\n') };
  const out = await runFunction(resourceList(files), factory);
  assert.is(out.exitCode, 0, out.stdout);
  assert.is(itemNamed(out.stdout, 'VLANClaim', 'old').status.vlanID, 2);
  assert.is(itemNamed(out.stdout, 'VLANClaim', 'a').status.vlanID, 3);
  const again = await runFunction(out.stdout.replace(/\nresults:\n[\s\S]*$/, '\n'), factory);
  assert.is(again.stdout.replace(/\nresults:\n[\s\S]*$/, ''), out.stdout.replace(/\nresults:\n[\s\S]*$/, ''));
});

test('a claim removed from the package is released and its condition dropped', async () => {
  const cond = `  - type: vlan.resource.nephio.org/v1alpha1.VLANClaim.gone\n    status: "True"\n    message: update done\n`;
  let seen: VlanRun | undefined;
  const spy: BackendFactory = async () => {
    const b = new BuiltinBackend();
    return { run: (i) => b.run(i), runVlan: (i) => ((seen = i), b.runVlan(i)), close: () => b.close() };
  };
  const out = await runFunction(resourceList({ Kptfile: kptfile(cond), 'wc.yaml': CLUSTER, 'a.yaml': vlanClaim('a') }), spy);
  assert.is(out.exitCode, 0, out.stdout);
  assert.equal(seen?.release, ['default/VLANClaim/gone']);
  assert.equal(
    conditionsOf(out.stdout).map((c) => c.type),
    ['vlan.resource.nephio.org/v1alpha1.VLANClaim.a'],
  );
});

test('a claim for an index that does not exist, under onError=condition: False condition with the error, status untouched', async () => {
  const out = await runFunction(
    resourceList(
      { Kptfile: kptfile(), 'wc.yaml': CLUSTER, 'a.yaml': vlanClaim('a').replace('cluster01', 'cluster02') },
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  onError: condition\n',
    ),
    factory,
  );
  assert.is(out.exitCode, 0, out.stdout);
  assert.is(itemNamed(out.stdout, 'VLANClaim', 'a').status, undefined);
  const c = conditionsOf(out.stdout)[0]!;
  assert.is(c.status, 'False');
  assert.match(c.message, /VLAN index default\/cluster02 not found/);
});

test('nephio.org/action: get finds the id held under the vlanClaimName; no match is an error', async () => {
  const shared = '    specializer.nephio.org/vlanClaimName: vpc-ran-cluster01-bd\n';
  const out = await runFunction(
    resourceList({
      Kptfile: kptfile(),
      'wc.yaml': CLUSTER,
      'a.yaml': vlanClaim('a', '', shared),
      'b.yaml': vlanClaim('b', '', '    nephio.org/action: get\n' + shared),
    }),
    factory,
  );
  assert.is(out.exitCode, 0, out.stdout);
  assert.is(itemNamed(out.stdout, 'VLANClaim', 'b').status.vlanID, 2);
  const none = await runFunction(
    resourceList({ Kptfile: kptfile(), 'wc.yaml': CLUSTER, 'b.yaml': vlanClaim('b', '', '    nephio.org/action: get\n') }),
    factory,
  );
  assert.is(none.exitCode, 1);
  assert.match(resultsOf(none.stdout).find((r) => r.severity === 'error')!.message, /holds no VLAN in VLAN index default\/cluster01/);
});

test('dry run reports what each claim would get and writes nothing', async () => {
  const input = resourceList(
    { Kptfile: kptfile(), 'wc.yaml': CLUSTER, 'a.yaml': vlanClaim('a') },
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  dryRun: "true"\n',
  );
  const out = await runFunction(input, factory);
  assert.is(out.exitCode, 0, out.stdout);
  assert.is(itemNamed(out.stdout, 'VLANClaim', 'a').status, undefined);
  assert.ok(resultsOf(out.stdout).some((r) => /VLANClaim a would get VLAN 2/.test(r.message) && r.field.path === 'status.vlanID'));
});

test('operator VLAN definitions: a claim selecting a range definition draws from it; overlapping definitions are refused naming the resource', async () => {
  const def = (name: string, spec: string, labels = '') => `apiVersion: vlan.resource.nephio.org/v1alpha1
kind: VLAN
metadata:
  name: ${name}
${labels}spec:
  vlanIndex:
    name: cluster01
${spec}`;
  const ok = await runFunction(
    resourceList({
      Kptfile: kptfile(),
      'wc.yaml': CLUSTER,
      'd.yaml': def('ran', '  range: 100:109\n  labels:\n    purpose: ran\n'),
      'a.yaml': vlanClaim('a', '  selector:\n    matchLabels:\n      purpose: ran\n'),
    }),
    factory,
  );
  assert.is(ok.exitCode, 0, ok.stdout);
  assert.is(itemNamed(ok.stdout, 'VLANClaim', 'a').status.vlanID, 100);
  const bad = await runFunction(
    resourceList({
      Kptfile: kptfile(),
      'wc.yaml': CLUSTER,
      'd.yaml': def('ran', '  range: 100:109\n'),
      'e.yaml': def('other', '  vlanID: 105\n'),
    }),
    factory,
  );
  assert.is(bad.exitCode, 1);
  const err = resultsOf(bad.stdout).find((r) => r.severity === 'error')!;
  assert.is(err.resourceRef.name, 'other');
  assert.is(err.field.path, 'spec.vlanID');
  assert.match(err.message, /VLAN 105 in VLAN index default\/cluster01 is in use by VLAN definition default\/VLAN\/ran/);
});

test('a backend without VLAN support names the problem instead of skipping the claims', async () => {
  const b = new BuiltinBackend();
  const noVlan: BackendFactory = async () => ({ run: (i) => b.run(i), close: () => b.close() });
  const out = await runFunction(resourceList({ Kptfile: kptfile(), 'wc.yaml': CLUSTER, 'a.yaml': vlanClaim('a') }), noVlan);
  assert.is(out.exitCode, 1);
  assert.match(resultsOf(out.stdout).find((r) => r.severity === 'error')!.message, /does not serve VLAN claims/);
});

test.run();
