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
    const e = await withinMs(
      codeOf(admin.call('Allocate', { owner: 'p|default/IPClaim/a', networkInstance: { name: 'vpc' }, kind: 'network', selector })),
      10_000,
      'Allocate',
    );
    assert.is(e.code, status.INVALID_ARGUMENT);
    assert.match(e.details, /^request\.selector\.matchExpressions\[0\]\.values: 20000 entries, at most 256 allowed/);
    const batch = await withinMs(
      admin.call<{ outcomes: { error?: { code: number; message: string } }[] }>('Batch', {
        package: 'p',
        requests: [{ owner: 'default/IPClaim/a', networkInstance: { name: 'vpc' }, kind: 'network', selector }],
      }),
      10_000,
      'Batch',
    );
    assert.is(batch.outcomes[0]!.error?.code, status.INVALID_ARGUMENT);
    assert.match(batch.outcomes[0]!.error!.message, /matchExpressions\[0\]\.values: 20000 entries/);
    const header = {
      gvk: { group: 'ipam.resource.nephio.org', version: 'v1alpha1', kind: 'IPClaim' },
      nsn: { namespace: 'default', name: 'a' },
      ownerGvk: { group: 'ipam-injector.dev', version: 'v1', kind: 'Package' },
      ownerNsn: { name: 'p' },
    };
    const re = await withinMs(
      codeOf(res.call('Claim', { header, spec: JSON.stringify({ kind: 'network', networkInstance: { name: 'vpc' }, selector }) })),
      10_000,
      'Claim',
    );
    assert.is(re.code, status.INVALID_ARGUMENT);
    assert.match(re.details, /spec\.selector\.matchExpressions\[0\]\.values: 20000 entries/);
    const notList = await codeOf(
      res.call('Claim', {
        header,
        spec: JSON.stringify({
          kind: 'network',
          networkInstance: { name: 'vpc' },
          selector: { matchExpressions: [{ key: 'k', operator: 'In', values: 'x' }] },
        }),
      }),
    );
    assert.is(notList.code, status.INVALID_ARGUMENT);
    assert.match(notList.details, /values: must be a list/);
    // the same connections answer the next call
    const ok = await withinMs(
      admin.call<{ prefix: string }>('Allocate', {
        owner: 'p|default/IPClaim/a',
        networkInstance: { name: 'vpc' },
        kind: 'network',
        selector: { matchLabels: { 'nephio.org/cluster-name': 'c1' } },
      }),
      10_000,
      'the next call',
    );
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
    const e = await withinMs(
      codeOf(admin.call('Allocate', { owner: 'p|default/IPClaim/a', networkInstance: { name: 'vpc' }, kind: 'network', selector })),
      10_000,
      'Allocate',
    );
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

const bigLabels = (i: number) => Object.fromEntries(Array.from({ length: 5 }, (_, k) => [`note-${k}`, `${i}-`.padEnd(900, 'x')]));

test('a Batch whose answer would pass 4 MiB is refused before it commits; nothing is held', async () => {
  const srv = await inProcess();
  const admin = raw('admin', srv.address);
  try {
    // a request under 4 MiB whose answer is over it: each outcome echoes the request's owner
    // and labels and adds the prefix, parent, network instance and system labels
    const requests = Array.from({ length: 10_000 }, (_, i) => ({
      owner: `default/IPClaim/c${i}`,
      networkInstance: { name: 'vpc' },
      kind: 'pool',
      prefixLength: 30,
      labels: { note: 'x'.repeat(330) },
    }));
    const e = await withinMs(codeOf(admin.call('Batch', { package: 'big', requests })), 30_000, 'Batch');
    assert.is(e.code, status.RESOURCE_EXHAUSTED);
    assert.match(e.details, /over the 4194304 a gRPC client reads; nothing was committed/, e.details);
    const held = await admin.call<{ allocations: unknown[] }>('ListAllocations', { ownerPrefix: 'big|' });
    assert.is(held.allocations.length, 0);
    // the same work in two batches is answered
    for (const half of [requests.slice(0, 5000), requests.slice(5000)]) {
      const r = await admin.call<{ outcomes: { allocation?: unknown }[] }>('Batch', { package: 'big', requests: half });
      assert.ok(r.outcomes.every((o) => o.allocation));
    }
  } finally {
    admin.close();
    await srv.shutdown();
  }
});

test('a list page holds what fits in 4 MiB and continues from there', async () => {
  const srv = await inProcess();
  const admin = raw('admin', srv.address);
  try {
    for (let b = 0; b < 2; b++) {
      const requests = Array.from({ length: 500 }, (_, i) => ({
        owner: `default/IPClaim/c${b}-${i}`,
        networkInstance: { name: 'vpc' },
        kind: 'pool',
        prefixLength: 30,
        labels: bigLabels(i),
      }));
      await admin.call('Batch', { package: 'big', requests, compact: true });
    }
    // the default page (1,000) of these would be ~4.6 MB
    const first = await withinMs(
      admin.call<{ allocations: { owner: string }[]; continue: string }>('ListAllocations', {}),
      30_000,
      'ListAllocations',
    );
    assert.ok(first.allocations.length > 500 && first.allocations.length < 1000, `${first.allocations.length}`);
    assert.ok(first.continue);
    const seen = new Set(first.allocations.map((a) => a.owner));
    let next = first.continue;
    while (next) {
      const page = await admin.call<{ allocations: { owner: string }[]; continue: string }>('ListAllocations', { continue: next });
      for (const a of page.allocations) seen.add(a.owner);
      next = page.continue;
    }
    assert.is(seen.size, 1000);
  } finally {
    admin.close();
    await srv.shutdown();
  }
});

test.run();
