import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { FieldError, readRequest } from '../../src/krm/requests.js';
import { requestApi } from '../../src/krm/apis.js';
import { meta } from '../../src/krm/resource.js';
import { Item } from '../../src/krm/item.js';

const read = (yaml: string) => {
  const obj = parse(yaml);
  const m = meta(obj);
  const gen = requestApi(m.apiVersion, m.kind);
  assert.ok(gen, `${m.apiVersion} ${m.kind} is a request`);
  return readRequest(new Item({ index: 0, text: '- {}\n', dash: 0 }), obj, m, gen!);
};

test('original IPAllocation: instance from the selector label, which leaves the selector', () => {
  const r = read(`apiVersion: ipam.nephio.org/v1alpha1
kind: IPAllocation
metadata: {name: n3, namespace: upf}
spec:
  kind: pool
  prefixLength: "24"
  selector:
    matchLabels: {nephio.org/network-instance: vpc, nephio.org/network-name: n3}
  labels: {a: "true"}
  index: 2
status: {prefix: 10.0.0.0/24}
`);
  assert.is(r.generation, 'original');
  assert.is(r.owner, 'upf/IPAllocation/n3');
  assert.equal(JSON.parse(JSON.stringify(r.request)), {
    owner: 'upf/IPAllocation/n3',
    networkInstance: { name: 'vpc' },
    kind: 'pool',
    selector: { matchLabels: { 'nephio.org/network-name': 'n3' } },
    prefixLength: 24,
    // spec.labels plus the owner labels of the request (AddOwnerLabelsToCR)
    labels: {
      a: 'true',
      'nephio.org/gvk': 'IPAllocation.v1alpha1.ipam.nephio.org',
      'nephio.org/nsn-name': 'n3',
      'nephio.org/nsn-namespace': 'upf',
      'nephio.org/owner-gvk': 'IPAllocation.v1alpha1.ipam.nephio.org',
      'nephio.org/owner-nsn-name': 'n3',
      'nephio.org/owner-nsn-namespace': 'upf',
    },
    index: 2,
    hint: '10.0.0.0/24',
  });
});

test('Nephio IPAllocation and IPClaim: spec.networkInstance, default namespace, expressions, get', () => {
  const a = read(`apiVersion: ipam.alloc.nephio.org/v1alpha1
kind: IPAllocation
metadata: {name: n3}
spec:
  kind: loopback
  networkInstance: {name: vpc}
  addressFamily: ipv6
  createPrefix: true
`);
  assert.is(a.generation, 'alloc');
  const { labels, ...rest } = a.request;
  assert.equal(rest, {
    owner: 'default/IPAllocation/n3',
    networkInstance: { name: 'vpc' },
    kind: 'loopback',
    addressFamily: 'ipv6',
    createPrefix: true,
  });
  assert.is(labels?.['nephio.org/nsn-namespace'], 'default');
  assert.is(labels?.['nephio.org/gvk'], 'IPAllocation.v1alpha1.ipam.alloc.nephio.org');
  const c = read(`apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPClaim
metadata:
  name: amf-n2
  annotations: {nephio.org/action: get}
spec:
  kind: network
  networkInstance: {name: vpc-ran, namespace: infra}
  selector:
    matchExpressions:
    - {key: nephio.org/cluster-name, operator: In, values: [c1, c2]}
    - {key: nephio.org/gateway, operator: DoesNotExist}
`);
  assert.is(c.generation, 'claim');
  assert.ok(c.lookup);
  // owner labels from metadata.labels win over the object itself; spec.labels cannot override them
  const owned = read(`apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPClaim
metadata:
  name: upf-n3
  namespace: ws
  labels: {nephio.org/owner-gvk: UPFDeployment.v1alpha1.workload.nephio.org, nephio.org/owner-nsn-name: upf}
spec:
  kind: network
  networkInstance: {name: vpc}
  labels: {nephio.org/nsn-name: other, x: y}
`);
  assert.equal(owned.request.labels, {
    x: 'y',
    'nephio.org/owner-gvk': 'UPFDeployment.v1alpha1.workload.nephio.org',
    'nephio.org/owner-nsn-name': 'upf',
    'nephio.org/owner-nsn-namespace': 'ws',
    'nephio.org/gvk': 'IPClaim.v1alpha1.ipam.resource.nephio.org',
    'nephio.org/nsn-name': 'upf-n3',
    'nephio.org/nsn-namespace': 'ws',
  });
  assert.equal(c.request.networkInstance, { name: 'vpc-ran', namespace: 'infra' });
  assert.equal(c.request.selector, {
    matchExpressions: [
      { key: 'nephio.org/cluster-name', operator: 'In', values: ['c1', 'c2'] },
      { key: 'nephio.org/gateway', operator: 'DoesNotExist' },
    ],
  });
});

const fieldOf = (yaml: string): string => {
  try {
    read(yaml);
  } catch (e) {
    if (e instanceof FieldError) return e.field;
    throw e;
  }
  throw new Error('no error');
};

test('bad requests name the field', () => {
  const head = 'apiVersion: ipam.resource.nephio.org/v1alpha1\nkind: IPClaim\nmetadata: {name: x}\n';
  assert.is(fieldOf(head + 'spec: {networkInstance: {name: v}}\n'), 'spec.kind');
  assert.is(fieldOf(head + 'spec: {kind: network}\n'), 'spec.networkInstance.name');
  assert.is(fieldOf(head + 'spec: {kind: network, networkInstance: {name: v}, prefixLength: 129}\n'), 'spec.prefixLength');
  assert.is(fieldOf(head + 'spec: {kind: network, networkInstance: {name: v}, addressFamily: ipv5}\n'), 'spec.addressFamily');
  assert.is(fieldOf(head + 'spec: {kind: network, networkInstance: {name: v}, createPrefix: yes}\n'), 'spec.createPrefix');
  assert.is(
    fieldOf(head + 'spec: {kind: network, networkInstance: {name: v}, selector: {matchExpressions: [{key: a, operator: Near}]}}\n'),
    'spec.selector.matchExpressions[0].operator',
  );
  assert.is(fieldOf(head), 'spec');
  assert.is(
    fieldOf('apiVersion: ipam.nephio.org/v1alpha1\nkind: IPAllocation\nmetadata: {name: x}\nspec: {kind: network}\n'),
    'spec.selector.matchLabels.[nephio.org/network-instance]',
  );
});

test.run();
