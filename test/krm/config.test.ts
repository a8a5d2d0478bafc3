import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { readConfig } from '../../src/krm/config.js';
import { FieldError } from '../../src/krm/requests.js';

test('ConfigMap form', () => {
  const c = readConfig({ apiVersion: 'v1', kind: 'ConfigMap', data: { backend: 'grpc', dryRun: 'true', address: '127.0.0.1:9090' } });
  assert.is(c.backend, 'grpc');
  assert.ok(c.dryRun);
  assert.equal(c.backendOptions, { address: '127.0.0.1:9090' });
  assert.equal(readConfig(null), {
    backend: 'builtin',
    dryRun: false,
    releaseAll: false,
    onError: 'fail',
    injections: [],
    backendOptions: {},
  });
  assert.is(readConfig({ apiVersion: 'v1', kind: 'ConfigMap', data: { onError: 'condition' } }).onError, 'condition');
  assert.ok(readConfig({ apiVersion: 'v1', kind: 'ConfigMap', data: { release: 'all' } }).releaseAll);
});

test('typed form with injections', () => {
  const c = readConfig({
    apiVersion: 'fn.ipam-injector.dev/v1alpha1',
    kind: 'IPAMInjector',
    metadata: { name: 'ipam' },
    spec: {
      backend: 'builtin',
      injections: [
        {
          source: { name: 'upf-n3', value: 'gateway' },
          targets: [{ select: { kind: 'ConfigMap' }, fieldPaths: ['data.gw'], options: { create: true } }],
        },
      ],
    },
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
  assert.is(
    field(typed({ injections: [{ source: { name: 'a' }, targets: [{ select: { kind: 'X' }, fieldPaths: ['a..b'] }] }] })),
    'spec.injections[0].targets[0].fieldPaths[0]',
  );
  assert.is(
    field(typed({ injections: [{ source: { name: 'a' }, targets: [{ select: { knd: 'X' }, fieldPaths: ['a'] }] }] })),
    'spec.injections[0].targets[0].select.knd',
  );
});

const message = (fc: unknown): string => {
  try {
    readConfig(fc);
  } catch (e) {
    if (e instanceof FieldError) return `${e.field}: ${e.message}`;
    throw e;
  }
  throw new Error('no error');
};
const typed = (spec: unknown, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'fn.ipam-injector.dev/v1alpha1',
  kind: 'IPAMInjector',
  metadata: { name: 'x' },
  spec,
  ...extra,
});
const target = { select: { kind: 'ConfigMap' }, fieldPaths: ['data.x'] };

test('unknown keys anywhere in the config are errors that suggest the nearest valid name', () => {
  assert.is(message(typed({ injection: [] })), 'spec.injection: spec.injection: unknown setting injection (did you mean injections?)');
  assert.is(message(typed({ dryrun: true })), 'spec.dryrun: spec.dryrun: unknown setting dryrun (did you mean dryRun?)');
  assert.is(
    message({ apiVersion: 'v1', kind: 'ConfigMap', data: { adress: '127.0.0.1:1' } }),
    'data.adress: data.adress: unknown setting adress (did you mean address? address is a setting of backend grpc, not builtin)',
  );
  assert.is(
    message({ apiVersion: 'v1', kind: 'ConfigMap', data: { backend: 'grpc', adress: 'x' } }),
    'data.adress: data.adress: unknown setting adress (did you mean address?)',
  );
  assert.match(
    message({ apiVersion: 'v1', kind: 'ConfigMap', data: { backend: 'grcp' } }),
    /^data\.backend: .*unknown backend "grcp" .*\(did you mean grpc\?\)/,
  );
  assert.match(
    message(typed({ injections: [{ source: { name: 'a' }, targets: [{ ...target, options: { creat: 1 } }] }] })),
    /^spec\.injections\[0\]\.targets\[0\]\.options\.creat: .* is not a known field \(did you mean create\?\)/,
  );
  assert.match(
    message(typed({ injections: [{ source: { name: 'a', vaule: 'prefix' }, targets: [target] }] })),
    /^spec\.injections\[0\]\.source\.vaule: .*\(did you mean value\?\)/,
  );
  assert.match(
    message(typed({ injections: [{ source: { name: 'a' }, target: [target], targets: [target] }] })),
    /^spec\.injections\[0\]\.target: .*\(did you mean targets\?\)/,
  );
  assert.match(
    message(typed({ injections: [{ source: { name: 'a' }, targets: [{ ...target, fieldPath: ['x'] }] }] })),
    /targets\[0\]\.fieldPath: .*\(did you mean fieldPaths\?\)/,
  );
  assert.match(message(typed({}, { sepc: {} })), /^functionConfig\.sepc: .*\(did you mean spec\?\)/);
  assert.match(message({ apiVersion: 'v1', kind: 'ConfigMap', dat: {} }), /^functionConfig\.dat: .*\(did you mean data\?\)/);
  assert.match(
    message(
      typed({ injections: [{ source: { name: 'a' }, targets: [{ select: { kind: 'X', labels: { a: ['b'] } }, fieldPaths: ['a'] }] }] }),
    ),
    /select\.labels\.\[a\] must be a string/,
  );
});

test('a function config that is a list, a string or a number is an error, not ignored', () => {
  assert.match(message(['backend', 'grpc']), /^functionConfig: function config must be a mapping .*, not a list/);
  assert.match(message('backend=grpc'), /not string "backend=grpc"/);
  assert.match(message(typed('x')), /^spec: spec must be a mapping, not string/);
  assert.match(message({ data: { backend: 'grpc' } }), /^functionConfig: function config must be a ConfigMap or/);
});

test.run();
