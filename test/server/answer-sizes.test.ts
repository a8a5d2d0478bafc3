// Answers always arrive: list sizes in requests are limited (INVALID_ARGUMENT naming the
// field), error texts are cut to what HTTP/2 trailers carry, and the connection keeps
// serving afterwards.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { status } from '@grpc/grpc-js';
import { codeOf, inProcess, raw } from './helpers.js';

const withinMs = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<never>((_, ko) => setTimeout(() => ko(new Error(`no answer to ${what} within ${ms} ms`)), ms).unref())]);

const many = (n: number, len = 8) => Array.from({ length: n }, (_, i) => `v${String(i).padStart(len, '0')}`);

test('a matchExpressions values list of 20,000 entries is INVALID_ARGUMENT naming the field; the connection still serves', async () => {
  const srv = await inProcess();
  const admin = raw('admin', srv.address);
  const res = raw('resource', srv.address);
  try {
    const selector = { matchExpressions: [{ key: 'nephio.org/cluster-name', operator: 'In', values: many(20_000) }] };
    const e = await withinMs(codeOf(admin.call('Allocate', { owner: 'p|default/IPClaim/a', networkInstance: { name: 'vpc' }, kind: 'network', selector })), 10_000, 'Allocate');
    assert.is(e.code, status.INVALID_ARGUMENT);
    assert.match(e.details, /^request\.selector\.matchExpressions\[0\]\.values: 20000 entries, at most 256 allowed/);
    const batch = await withinMs(admin.call<{ outcomes: { error?: { code: number; message: string } }[] }>('Batch', { package: 'p', requests: [{ owner: 'default/IPClaim/a', networkInstance: { name: 'vpc' }, kind: 'network', selector }] }), 10_000, 'Batch');
    assert.is(batch.outcomes[0]!.error?.code, status.INVALID_ARGUMENT);
    assert.match(batch.outcomes[0]!.error!.message, /matchExpressions\[0\]\.values: 20000 entries/);
    const header = {
      gvk: { group: 'ipam.resource.nephio.org', version: 'v1alpha1', kind: 'IPClaim' },
      nsn: { namespace: 'default', name: 'a' },
      ownerGvk: { group: 'ipam-injector.dev', version: 'v1', kind: 'Package' },
      ownerNsn: { name: 'p' },
    };
    const re = await withinMs(codeOf(res.call('Claim', { header, spec: JSON.stringify({ kind: 'network', networkInstance: { name: 'vpc' }, selector }) })), 10_000, 'Claim');
    assert.is(re.code, status.INVALID_ARGUMENT);
    assert.match(re.details, /spec\.selector\.matchExpressions\[0\]\.values: 20000 entries/);
    const notList = await codeOf(res.call('Claim', { header, spec: JSON.stringify({ kind: 'network', networkInstance: { name: 'vpc' }, selector: { matchExpressions: [{ key: 'k', operator: 'In', values: 'x' }] } }) }));
    assert.is(notList.code, status.INVALID_ARGUMENT);
    assert.match(notList.details, /values: must be a list/);
    // the same connections answer the next call
    const ok = await withinMs(admin.call<{ prefix: string }>('Allocate', { owner: 'p|default/IPClaim/a', networkInstance: { name: 'vpc' }, kind: 'network', selector: { matchLabels: { 'nephio.org/cluster-name': 'c1' } } }), 10_000, 'the next call');
    assert.is(ok.prefix, '10.0.1.2/24');
  } finally {
    admin.close();
    res.close();
    await srv.shutdown();
  }
});

test('an error whose text would not fit in HTTP/2 trailers is cut, says so, and arrives', async () => {
  const srv = await inProcess();
  const admin = raw('admin', srv.address);
  try {
    // within every limit, and still a 250 KB selector in the NotFound message
    const selector = { matchExpressions: Array.from({ length: 64 }, (_, k) => ({ key: `k${k}`, operator: 'In', values: many(256, 8) })) };
    const e = await withinMs(codeOf(admin.call('Allocate', { owner: 'p|default/IPClaim/a', networkInstance: { name: 'vpc' }, kind: 'network', selector })), 10_000, 'Allocate');
    assert.ok(e.code === status.NOT_FOUND || e.code === status.INVALID_ARGUMENT, `${e.code} ${e.details.slice(0, 200)}`);
    assert.ok(e.details.length < 1200, `details ${e.details.length} characters`);
    assert.match(e.details, /\.\.\. \(\d+ more characters\)$/);
    const ok = await withinMs(admin.call<{ networkInstances: unknown[] }>('ListNetworkInstances', {}), 10_000, 'the next call');
    assert.ok(ok.networkInstances.length > 0);
  } finally {
    admin.close();
    await srv.shutdown();
  }
});

test.run();
