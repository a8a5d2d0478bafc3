// The function's steps on their own (src/krm/run.ts chains them): reading a package, planning
// what to answer and release, deciding the backend's package scope, and loading the yaml
// library only when a reader or editor says it needs it.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { readConfig } from '../../src/krm/config.js';
import { Item } from '../../src/krm/item.js';
import { planRun } from '../../src/krm/plan.js';
import { readPackage, splitInput, type PackageContents } from '../../src/krm/read-package.js';
import { backendConfig } from '../../src/krm/backend-config.js';
import { splitResourceListFast } from '../../src/krm/resource-list.js';
import { NEEDS_LIBRARY, loadYaml, yamlLib } from '../../src/krm/yaml-lib.js';
import { claim, KPTFILE, list, SPACE } from '../support/resource-list.js';

const KPTFILE_HOLDING = (names: string[]) =>
  KPTFILE +
  'status:\n  conditions:\n' +
  names.map((n) => `  - type: ipam.resource.nephio.org/v1alpha1.IPClaim.${n}\n    status: "True"\n`).join('');

async function read(files: Record<string, string>): Promise<PackageContents> {
  const input = list(files);
  const split = await splitInput(input);
  if (!split.ok) throw new Error(JSON.stringify(split.results));
  const pkg = await readPackage(input, split.value);
  if (!pkg.ok) throw new Error(JSON.stringify(pkg.results));
  return pkg.value;
}

// First in this file: the process has not loaded the library yet.
test('the fast reader says what needs the yaml library; using it unloaded is a defect, not a retry', async () => {
  const plain = new Item({ index: 0, dash: 0, text: '- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n' });
  const anchors = new Item({ index: 1, dash: 0, text: '- apiVersion: v1\n  kind: ConfigMap\n  metadata: &m\n    name: b\n  copy: *m\n' });
  assert.is(plain.needsLibraryToRead(true), false);
  assert.is(plain.value()?.kind, 'ConfigMap');
  assert.is(anchors.needsLibraryToRead(true), true);
  assert.throws(() => yamlLib(), /before loadYaml/);
  assert.throws(() => anchors.value(), /before loadYaml/);
  assert.is(splitResourceListFast('{"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": []}'), NEEDS_LIBRARY);
  assert.is.not(splitResourceListFast(list({ 'a.yaml': claim('a') })), NEEDS_LIBRARY);
  await loadYaml();
  assert.is(JSON.stringify(anchors.value()?.copy), '{"name":"b"}');
  assert.ok(anchors.usedLibrary);
  assert.not.ok(plain.usedLibrary);
});

test('read: requests in package order (by file, then position), whatever order the list has', async () => {
  const pkg = await read({
    Kptfile: KPTFILE,
    'space.yaml': SPACE,
    'b/z.yaml': claim('in-b'),
    'a.yaml': claim('a1') + '---\n' + claim('a0'),
  });
  assert.equal(
    pkg.requests.map((r) => r.meta.name),
    ['a1', 'a0', 'in-b'],
  );
  assert.is(pkg.root?.meta.name, 'pkg');
  assert.ok(pkg.spaceOwners.size >= 2);
});

test('read: a problem stops the run with results naming the resource and file, nothing else read on', async () => {
  const input = list({ Kptfile: KPTFILE, 'a.yaml': claim('x'), 'b.yaml': claim('x') });
  const split = await splitInput(input);
  assert.ok(split.ok);
  const pkg = await readPackage(input, split.ok ? split.value : (undefined as never));
  assert.not.ok(pkg.ok);
  const results = pkg.ok ? [] : pkg.results;
  assert.match(results[0]!.message, /defined twice, in a\.yaml .* and in b\.yaml/);
});

test('plan: a request gone from the package is released and its condition removed; the rest are answered', async () => {
  const pkg = await read({ Kptfile: KPTFILE_HOLDING(['kept', 'gone']), 'space.yaml': SPACE, 'kept.yaml': claim('kept') });
  const plan = planRun(pkg, readConfig(null));
  assert.equal(
    plan.active.map((r) => r.meta.name),
    ['kept'],
  );
  assert.equal([...plan.release], ['default/IPClaim/gone']);
  assert.equal(plan.vanished, [1]);
  assert.is(plan.heldConditions.get('ipam.resource.nephio.org/v1alpha1.IPClaim.kept'), 0);

  const all = planRun(pkg, readConfig({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { release: 'all' } }));
  assert.equal(all.active, []);
  assert.equal([...all.release].sort(), ['default/IPClaim/gone', 'default/IPClaim/kept']);
  assert.equal(all.vanished, [0, 1]);
});

test('backend config: package= wins, then the environment (left to the backend), then the Kptfile; the config is not changed', async () => {
  const pkg = await read({ Kptfile: KPTFILE, 'space.yaml': SPACE });
  const grpc = readConfig({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { backend: 'grpc' } });
  const scoped = backendConfig(grpc, pkg, {});
  assert.is(scoped.backendOptions.package, 'pkg');
  assert.is(grpc.backendOptions.package, undefined);
  assert.is(backendConfig(grpc, pkg, { IPAM_INJECTOR_PACKAGE: 'env' }).backendOptions.package, undefined);
  const named = readConfig({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { backend: 'grpc', package: 'team/x' } });
  assert.is(backendConfig(named, pkg, {}).backendOptions.package, 'team/x');
  const builtin = readConfig(null);
  assert.is(backendConfig(builtin, pkg, {}), builtin);
});

test.run();
