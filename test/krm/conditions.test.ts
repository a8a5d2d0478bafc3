import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { conditionType, heldOwners, okCondition, parseConditionType } from '../../src/krm/conditions.js';
import type { Meta } from '../../src/krm/resource.js';

const m = (apiVersion: string, kind: string, name: string, namespace?: string): Meta => ({
  apiVersion,
  kind,
  name,
  namespace,
  labels: {},
  annotations: {},
});

test('condition types per API generation, and back', () => {
  const orig = conditionType('original', m('ipam.nephio.org/v1alpha1', 'IPAllocation', 'upf.n3', 'ran'));
  assert.is(orig, 'ipam.nephio.org.IPAMAllocation.upf.n3.ran.Injected');
  assert.equal(parseConditionType(orig), { generation: 'original', kind: 'IPAllocation', name: 'upf.n3', namespace: 'ran' });
  assert.is(
    conditionType('original', m('ipam.nephio.org/v1alpha1', 'IPAllocation', 'x')),
    'ipam.nephio.org.IPAMAllocation.x.default.Injected',
  );
  const alloc = conditionType('alloc', m('ipam.alloc.nephio.org/v1alpha1', 'IPAllocation', 'n3'));
  assert.is(alloc, 'ipam.alloc.nephio.org/v1alpha1.IPAllocation.n3');
  assert.equal(parseConditionType(alloc), { generation: 'alloc', kind: 'IPAllocation', name: 'n3' });
  const claim = conditionType('claim', m('ipam.resource.nephio.org/v1alpha1', 'IPClaim', 'a.b'));
  assert.equal(parseConditionType(claim), { generation: 'claim', kind: 'IPClaim', name: 'a.b' });
  assert.is(parseConditionType('k8s.cni.cncf.io/v1.NetworkAttachmentDefinition.upf'), undefined);
  assert.is(parseConditionType('req.nephio.org/v1alpha1.Interface.n3'), undefined);
});

test('condition bodies', () => {
  assert.equal(okCondition('original', 't'), { type: 't', status: 'True', reason: 'ResourceInjected', message: 'Injected IP allocation' });
  assert.equal(okCondition('claim', 't'), { type: 't', status: 'True', message: 'update done' });
});

test('owners a vanished request may have held', () => {
  assert.equal(heldOwners({ generation: 'original', kind: 'IPAllocation', name: 'a', namespace: 'ran' }, ['x']), ['ran/IPAllocation/a']);
  assert.equal(heldOwners({ generation: 'claim', kind: 'IPClaim', name: 'a' }, ['default', 'ran']), ['default/IPClaim/a', 'ran/IPClaim/a']);
});

test.run();
