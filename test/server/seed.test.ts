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
  assert.equal(s.networkInstances, [
    {
      ref: { name: 'vpc', namespace: 'edge' },
      prefixes: [{ prefix: '10.0.0.0/8', labels: { 'nephio.org/network-name': 'n3' } }],
      owner: 'seed|edge/NetworkInstance/vpc',
    },
  ]);
  assert.equal(s.prefixes, [
    {
      networkInstance: { name: 'vpc' },
      prefix: '10.0.1.1/24',
      kind: 'network',
      labels: { a: '1', 'nephio.org/gateway': 'true' },
      owner: 'seed|default/IPPrefix/gw',
      networkName: 'n3',
    },
    { networkInstance: { name: 'vpc', namespace: 'edge' }, prefix: '10.1.0.0/16', kind: 'pool', owner: 'seed|default/IPPrefix/pool' },
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
  bad(
    'apiVersion: ipam.resource.nephio.org/v1alpha1\nkind: IPPrefix\nmetadata: {name: x}\nspec: {networkInstance: vpc}\n',
    /space\.yaml: document 1 \(IPPrefix default\/x\): spec\.prefix is required/,
  );
  bad(
    'apiVersion: ipam.resource.nephio.org/v1alpha1\nkind: IPPrefix\nmetadata: {name: x}\nspec: {prefix: 10.0.0.0/8, kind: subnet, networkInstance: vpc}\n',
    /spec\.kind "subnet"/,
  );
  bad(
    'apiVersion: ipam.resource.nephio.org/v1alpha1\nkind: IPPrefix\nmetadata: {name: x}\nspec: {prefix: 10.0.0.0/8}\n',
    /spec\.networkInstance is required/,
  );
  bad(
    'apiVersion: ipam.resource.nephio.org/v1alpha1\nkind: NetworkInstance\nmetadata: {name: v}\nspec: {prefixes: [{labels: {}}]}\n',
    /spec\.prefixes\[0\]\.prefix is required/,
  );
  bad('a: [unclosed\n', /space\.yaml: document 1:/);
});

test('the label nephio.org/network-name names the network of an IPPrefix, as in a package', () => {
  const s = parseSeed(
    `apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPPrefix
metadata: {name: n3}
spec: {prefix: 10.0.1.1/24, networkInstance: {name: vpc}, labels: {nephio.org/network-name: n3}}
`,
    'seed.yaml',
  );
  assert.is(s.prefixes[0]!.networkName, 'n3');
});

test('Network and WorkloadCluster are read; identical copies are one, a differing one names both', () => {
  const net = (prefix: string) => `apiVersion: infra.nephio.org/v1alpha1
kind: Network
metadata: {name: vpc-ran}
spec:
  routingTables:
  - name: vpc-ran
    prefixes:
    - {prefix: ${prefix}, labels: {nephio.org/network-name: n3}}
    interfaces:
    - {kind: bridgedomain, bridgeDomainName: vpc-ran}
  bridgeDomains:
  - name: vpc-ran
    interfaces:
    - kind: interface
      selector: {matchExpressions: [{key: nephio.org/cluster-name, operator: Exists}]}
      attachmentType: vlan
`;
  const cluster = 'apiVersion: infra.nephio.org/v1alpha1\nkind: WorkloadCluster\nmetadata: {name: wc}\nspec: {clusterName: edge1}\n';
  const s = parseSeed(`${net('172.3.0.0/16')}---\n${net('172.3.0.0/16')}---\n${cluster}`, 'seed.yaml');
  assert.is(s.networks.length, 1);
  assert.equal(s.networks[0]!.routingTables[0]!.prefixes, [{ prefix: '172.3.0.0/16', labels: { 'nephio.org/network-name': 'n3' } }]);
  assert.equal(s.networks[0]!.bridgeDomains[0]!.interfaces[0]!.selector, {
    matchExpressions: [{ key: 'nephio.org/cluster-name', operator: 'Exists' }],
  });
  assert.equal(s.clusters, [{ name: 'edge1', owner: 'seed|default/WorkloadCluster/wc' }]);
  try {
    parseSeed(`${net('172.3.0.0/16')}---\n${net('172.4.0.0/16')}`, 'seed.yaml');
    assert.unreachable();
  } catch (e) {
    assert.match(
      (e as Error).message,
      /seed\.yaml: document 2 \(Network default\/vpc-ran\): Network vpc-ran differs from the Network of the same name in seed\.yaml: document 1/,
    );
  }
});

test.run();
