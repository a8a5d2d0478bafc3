// --seed parsing: the same NetworkInstance/IPPrefix YAML as in packages; clear errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseSeed, SeedError } from '../../src/server/seed.js';

test('NetworkInstance and IPPrefix of both API groups, a List, other kinds skipped', () => {
  const s = parseSeed(
    `apiVersion: ipam.nephio.org/v1alpha1
kind: NetworkInstance
metadata: {name: vpc, namespace: edge}
spec:
  prefixes:
  - prefix: 10.0.0.0/8
    labels: {nephio.org/network-name: n3}
---
apiVersion: v1
kind: List
items:
- apiVersion: ipam.resource.nephio.org/v1alpha1
  kind: IPPrefix
  metadata: {name: gw, labels: {a: "1"}}
  spec: {prefix: 10.0.1.1/24, networkInstance: vpc, network: n3, labels: {nephio.org/gateway: "true"}}
- apiVersion: ipam.resource.nephio.org/v1alpha1
  kind: IPPrefix
  metadata: {name: pool}
  spec: {kind: pool, prefix: 10.1.0.0/16, networkInstance: {name: vpc, namespace: edge}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other}
`,
    'seed.yaml',
  );
  assert.equal(s.networkInstances, [{ ref: { name: 'vpc', namespace: 'edge' }, prefixes: [{ prefix: '10.0.0.0/8', labels: { 'nephio.org/network-name': 'n3' } }], owner: 'seed|edge/NetworkInstance/vpc' }]);
  assert.equal(s.prefixes, [
    { networkInstance: { name: 'vpc', namespace: 'default' }, prefix: '10.0.1.1/24', kind: 'network', labels: { a: '1', 'nephio.org/gateway': 'true' }, owner: 'seed|default/IPPrefix/gw', networkName: 'n3' },
    { networkInstance: { name: 'vpc', namespace: 'edge' }, prefix: '10.1.0.0/16', kind: 'pool', labels: {}, owner: 'seed|default/IPPrefix/pool' },
  ]);
  assert.equal(s.skipped, ['document 3: v1 ConfigMap other']);
});

test('errors name the file, the document, the resource and the field', () => {
  const bad = (text: string, re: RegExp) => {
    try {
      parseSeed(text, 'space.yaml');
      assert.unreachable();
    } catch (e) {
      assert.instance(e, SeedError);
      assert.match((e as Error).message, re);
    }
  };
  bad('apiVersion: ipam.resource.nephio.org/v1alpha1\nkind: IPPrefix\nmetadata: {name: x}\nspec: {networkInstance: vpc}\n', /space\.yaml: document 1 \(IPPrefix default\/x\): spec\.prefix is required/);
  bad('apiVersion: ipam.resource.nephio.org/v1alpha1\nkind: IPPrefix\nmetadata: {name: x}\nspec: {prefix: 10.0.0.0/8, kind: subnet, networkInstance: vpc}\n', /spec\.kind "subnet"/);
  bad('apiVersion: ipam.resource.nephio.org/v1alpha1\nkind: IPPrefix\nmetadata: {name: x}\nspec: {prefix: 10.0.0.0/8}\n', /spec\.networkInstance is required/);
  bad('apiVersion: ipam.resource.nephio.org/v1alpha1\nkind: NetworkInstance\nmetadata: {name: v}\nspec: {prefixes: [{labels: {}}]}\n', /spec\.prefixes\[0\]\.prefix is required/);
  bad('a: [unclosed\n', /space\.yaml: document 1:/);
});

test.run();
