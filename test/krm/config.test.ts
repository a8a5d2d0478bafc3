import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { readConfig } from '../../src/krm/config.js';
import { FieldError } from '../../src/krm/requests.js';

test('ConfigMap form', () => {
  const c = readConfig({ apiVersion: 'v1', kind: 'ConfigMap', data: { backend: 'grpc', dryRun: 'true', address: '127.0.0.1:9090' } });
  assert.is(c.backend, 'grpc');
  assert.ok(c.dryRun);
  assert.equal(c.backendOptions, { address: '127.0.0.1:9090' });
  assert.equal(readConfig(null), { backend: 'builtin', dryRun: false, releaseAll: false, onError: 'fail', injections: [], backendOptions: {} });
  assert.is(readConfig({ apiVersion: 'v1', kind: 'ConfigMap', data: { onError: 'condition' } }).onError, 'condition');
  assert.ok(readConfig({ apiVersion: 'v1', kind: 'ConfigMap', data: { release: 'all' } }).releaseAll);
});

test('typed form with injections', () => {
  const c = readConfig({
    apiVersion: 'fn.ipam-injector.dev/v1alpha1',
    kind: 'IPAMInjector',
    metadata: { name: 'ipam' },
    spec: { backend: 'builtin', injections: [{ source: { name: 'upf-n3', value: 'gateway' }, targets: [{ select: { kind: 'ConfigMap' }, fieldPaths: ['data.gw'], options: { create: true } }] }] },
  });
  assert.is(c.injections.length, 1);
  assert.equal(c.injections[0].source, { name: 'upf-n3', value: 'gateway' });
  assert.ok(c.injections[0].targets[0].create);
  assert.is(c.injections[0].targets[0].fieldPaths[0].text, 'data.gw');
});

const field = (fc: unknown): string => {
  try {
    readConfig(fc);
  } catch (e) {
    if (e instanceof FieldError) return e.field;
    throw e;
  }
  throw new Error('no error');
};

test('bad config names the field', () => {
  const typed = (spec: unknown) => ({ apiVersion: 'fn.ipam-injector.dev/v1alpha1', kind: 'IPAMInjector', spec });
  assert.is(field({ apiVersion: 'v1', kind: 'ConfigMap', data: { dryRun: 'yes please' } }), 'data.dryRun');
  assert.is(field({ apiVersion: 'v1', kind: 'ConfigMap', data: { release: 'some' } }), 'data.release');
  assert.is(field({ apiVersion: 'v1', kind: 'Secret' }), 'functionConfig');
  assert.is(field({ apiVersion: 'v1', kind: 'ConfigMap', data: { onError: 'ignore' } }), 'data.onError');
  assert.is(field(typed({ injections: [{ source: {} }] })), 'spec.injections[0].source.name');
  assert.is(field(typed({ injections: [{ source: { name: 'a', value: 'mac' }, targets: [] }] })), 'spec.injections[0].source.value');
  assert.is(field(typed({ injections: [{ source: { name: 'a' }, targets: [{ select: { kind: 'X' }, fieldPaths: ['a..b'] }] }] })), 'spec.injections[0].targets[0].fieldPaths[0]');
  assert.is(field(typed({ injections: [{ source: { name: 'a' }, targets: [{ select: { knd: 'X' }, fieldPaths: ['a'] }] }] })), 'spec.injections[0].targets[0].select.knd');
});

test.run();
