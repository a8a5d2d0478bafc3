// The function's grpc backend against a real server: the three protocols give the same
// answers, space is owned by the package, releases, lookups, errors per request, SpaceError,
// retries on UNAVAILABLE only, per-call deadlines.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { createGrpcBackend } from '../../src/backends/grpc.js';
import { SpaceError, type BackendRun } from '../../src/backends/backend.js';
import { IpamError } from '../../src/ipam/errors.js';
import { serviceDefinition } from '../../src/protocol/load.js';
import { heldAllocations, inProcess, raw } from './helpers.js';
import type { RunningServer } from '../../src/server/server.js';

let srv: RunningServer;
test.before(async () => {
  srv = await inProcess();
});
test.after(async () => {
  await srv.shutdown();
});

const space = (n: number): BackendRun['space'] => ({
  networkInstances: [
    {
      ref: { name: `vpc-${n}` },
      prefixes: [{ prefix: '10.20.0.0/16' }, { prefix: 'fd00::/48' }],
      owner: `default/NetworkInstance/vpc-${n}`,
    },
  ],
  prefixes: [
    {
      networkInstance: { name: `vpc-${n}` },
      prefix: '10.20.1.1/24',
      kind: 'network',
      labels: { 'nephio.org/gateway': 'true', role: 'n3' },
      owner: 'default/IPPrefix/n3-gw',
      networkName: 'n3',
    },
    { networkInstance: { name: `vpc-${n}` }, prefix: '10.20.128.0/17', kind: 'pool', owner: 'default/IPPrefix/pool' },
  ],
});

const requests = (n: number): BackendRun['requests'] => [
  { owner: 'default/IPClaim/upf-n3', networkInstance: { name: `vpc-${n}` }, kind: 'network', selector: { matchLabels: { role: 'n3' } } },
  {
    owner: 'default/IPAllocation/smf-n3',
    networkInstance: { name: `vpc-${n}` },
    kind: 'network',
    selector: { matchLabels: { role: 'n3' } },
  },
  { owner: 'default/IPClaim/pool-a', networkInstance: { name: `vpc-${n}` }, kind: 'pool', prefixLength: 24 },
  { owner: 'default/IPClaim/v6', networkInstance: { name: `vpc-${n}` }, kind: 'pool', prefixLength: 64, addressFamily: 'ipv6' },
  { owner: 'default/IPClaim/nothing', networkInstance: { name: `vpc-${n}` }, kind: 'network', selector: { matchLabels: { role: 'none' } } },
  {
    owner: 'default/IPClaim/gw',
    networkInstance: { name: `vpc-${n}` },
    kind: 'network',
    selector: { matchLabels: { role: 'n3' } },
    hint: '10.20.1.9/24',
  },
];

const summary = (o: Awaited<ReturnType<ReturnType<typeof createGrpcBackend>['run']>>) =>
  o.map((x) =>
    x.ok ? `${x.allocation.prefix}${x.allocation.gateway ? ` gw ${x.allocation.gateway}` : ''}` : `${(x.error as IpamError).code}`,
  );

const PROTOCOLS = ['admin', 'alloc', 'resource'] as const;

test('all three protocols: same answers, in order, errors per request, re-run identical', async () => {
  const results: string[][] = [];
  for (const [i, protocol] of PROTOCOLS.entries()) {
    const b = createGrpcBackend({ address: srv.address, protocol, package: `pkg-${protocol}` });
    // keepOnFailure (onError=condition): what succeeded stays though one request fails
    const out = await b.run({ space: space(i), requests: requests(i), release: [], keepOnFailure: true });
    results.push(summary(out));
    assert.ok(out[4]!.ok === false && out[4]!.error instanceof IpamError, 'errors come back as IpamError');
    assert.is(out[0]!.ok && out[0]!.allocation.owner, 'default/IPClaim/upf-n3', 'owners stay package-local');
    assert.is(out[0]!.ok && out[0]!.allocation.parent, '10.20.1.0/24');
    const again = await b.run({ space: space(i), requests: requests(i), release: [], keepOnFailure: true });
    assert.equal(summary(again), summary(out), `${protocol}: re-run identical`);
    await b.close();
  }
  assert.equal(results[0], [
    '10.20.1.2/24 gw 10.20.1.1',
    '10.20.1.3/24 gw 10.20.1.1',
    '10.20.128.0/24',
    'fd00::/64',
    'NotFound',
    '10.20.1.9/24 gw 10.20.1.1',
  ]);
  assert.equal(results[1], results[0]);
  assert.equal(results[2], results[0]);
  // the space is owned by the package on the server
  const admin = raw('admin', srv.address);
  const ps = await admin.call<{ prefixes: { prefix: string; owner: string }[] }>('ListPrefixes', { networkInstance: { name: 'vpc-1' } });
  assert.ok(
    ps.prefixes.some((p) => p.prefix === '10.20.128.0/17' && p.owner === 'pkg-alloc|default/IPPrefix/pool'),
    JSON.stringify(ps.prefixes),
  );
  admin.close();
});

test('alloc and resource: a run with a failed request releases what it newly took, with the request that took it', async () => {
  for (const protocol of ['alloc', 'resource'] as const) {
    const b = createGrpcBackend({ address: srv.address, protocol, package: `pkg-undo-${protocol}` });
    const input = { space: space(20), requests: requests(20), release: [] as string[] } as BackendRun;
    const out = await b.run(input);
    // the fresh ones are answered "released again"; the one with a hint (recorded) stays
    assert.equal(
      input.released?.sort(),
      ['default/IPAllocation/smf-n3', 'default/IPClaim/pool-a', 'default/IPClaim/upf-n3', 'default/IPClaim/v6'],
      protocol,
    );
    assert.match((out[0] as { error: Error }).error.message, /released 10\.20\.1\.2\/24 again/);
    const held = await heldAllocations(srv.address, `pkg-undo-${protocol}|`);
    assert.equal([...held.keys()], [`pkg-undo-${protocol}|default/IPClaim/gw`], protocol);
    await b.run({
      space: { networkInstances: [], prefixes: [] },
      requests: [],
      release: ['default/IPClaim/gw', 'default/IPPrefix/n3-gw', 'default/IPPrefix/pool', 'default/NetworkInstance/vpc-20'],
    });
    await b.close();
  }
});

test('admin: a failing run is all or nothing (atomic Batch): the requests keep nothing new', async () => {
  const b = createGrpcBackend({ address: srv.address, protocol: 'admin', package: 'pkg-undo-admin' });
  const out = await b.run({ space: space(21), requests: requests(21), release: [] });
  assert.equal(
    summary(out),
    ['10.20.1.2/24 gw 10.20.1.1', '10.20.1.3/24 gw 10.20.1.1', '10.20.128.0/24', 'fd00::/64', 'NotFound', '10.20.1.9/24 gw 10.20.1.1'],
    'the outcomes say what each would get',
  );
  assert.equal([...(await heldAllocations(srv.address, 'pkg-undo-admin|')).keys()], [], 'nothing new held');
  // the same run with onError=condition keeps what succeeded
  const kept = await b.run({ space: space(21), requests: requests(21), release: [], keepOnFailure: true });
  assert.ok(kept[0]!.ok);
  assert.is((await heldAllocations(srv.address, 'pkg-undo-admin|')).size, 5);
  await b.run({
    space: { networkInstances: [], prefixes: [] },
    requests: [],
    release: [
      'default/IPClaim/upf-n3',
      'default/IPAllocation/smf-n3',
      'default/IPClaim/pool-a',
      'default/IPClaim/v6',
      'default/IPClaim/gw',
      'default/IPPrefix/n3-gw',
      'default/IPPrefix/pool',
      'default/NetworkInstance/vpc-21',
    ],
  });
  await b.close();
});

test('release: owners the package no longer requests are freed; space can be released last', async () => {
  for (const [i, protocol] of PROTOCOLS.entries()) {
    const b = createGrpcBackend({ address: srv.address, protocol, package: `pkg-${protocol}` });
    const out = await b.run({ space: space(i), requests: requests(i).slice(1, 2), release: ['default/IPClaim/upf-n3'] });
    assert.equal(summary(out), ['10.20.1.3/24 gw 10.20.1.1']);
    const next = await b.run({ space: space(i), requests: [{ ...requests(i)[0]!, owner: 'default/IPClaim/new' }], release: [] });
    assert.equal(summary(next), ['10.20.1.2/24 gw 10.20.1.1'], `${protocol}: freed address reused`);
    // release everything (release=all): requests first, then the space owners
    const all = await b.run({
      space: { networkInstances: [], prefixes: [] },
      requests: [],
      release: [
        'default/IPClaim/new',
        'default/IPAllocation/smf-n3',
        'default/IPClaim/pool-a',
        'default/IPClaim/v6',
        'default/IPClaim/gw',
        'default/IPPrefix/n3-gw',
        'default/IPPrefix/pool',
        `default/NetworkInstance/vpc-${i}`,
      ],
    });
    assert.equal(all, []);
    await b.close();
  }
  const admin = raw('admin', srv.address);
  const nis = await admin.call<{ networkInstances: { name: string }[] }>('ListNetworkInstances', {});
  assert.equal(
    nis.networkInstances.map((n) => n.name),
    ['vpc'],
    'only the seed instance is left',
  );
  const al = await admin.call<{ allocations: unknown[] }>('ListAllocations', { ownerPrefix: 'pkg-' });
  assert.equal(al.allocations, []);
  admin.close();
});

test('lookups answer without reserving, after the real requests (admin, resource); alloc says it cannot', async () => {
  for (const protocol of PROTOCOLS) {
    const b = createGrpcBackend({ address: srv.address, protocol, package: 'pkg-lookup' });
    const req = {
      owner: 'default/IPClaim/peek',
      networkInstance: { name: 'vpc' },
      kind: 'network' as const,
      selector: { matchLabels: { 'nephio.org/cluster-name': 'c1' } },
    };
    const out = await b.run({
      space: { networkInstances: [], prefixes: [] },
      requests: [req, { ...req, owner: 'default/IPClaim/real' }],
      lookups: [true, false],
      release: [],
    });
    if (protocol === 'alloc') {
      assert.ok(!out[0]!.ok);
      assert.match((out[0] as { error: Error }).error.message, /no read-only lookup/);
    } else {
      // lookups are answered after the package's real requests (as the builtin backend does);
      // over admin and resource a lookup is the server's: the first thing whose labels match
      // (here the subnet), and the owner labels find one claim
      const first = '10.0.1.0/24 gw 10.0.1.1';
      assert.equal(summary(out), [first, '10.0.1.2/24 gw 10.0.1.1'], protocol);
      if (protocol === 'resource') {
        // the resource client writes the owner labels into the claim (over admin the function's
        // requests carry them: test/server/nephio.test.ts)
        const labels = { 'nephio.org/nsn-name': 'real' };
        const byName = await b.run({
          space: { networkInstances: [], prefixes: [] },
          requests: [{ ...req, owner: 'default/IPClaim/find', selector: { matchLabels: labels } }],
          lookups: [true],
          release: [],
        });
        assert.equal(summary(byName), ['10.0.1.2/24 gw 10.0.1.1']);
      }
    }
    await b.run({ space: { networkInstances: [], prefixes: [] }, requests: [], release: ['default/IPClaim/real'] });
    await b.close();
  }
});

test('dry run: admin answers as a real run would and changes nothing; alloc and resource look up', async () => {
  const admin = raw('admin', srv.address);
  const before = await admin.call<{ allocations: unknown[] }>('ListAllocations', {});
  const nisBefore = await admin.call<{ networkInstances: unknown[] }>('ListNetworkInstances', {});
  for (const protocol of PROTOCOLS) {
    const b = createGrpcBackend({ address: srv.address, protocol, package: 'pkg-dry' });
    const out = await b.run({ space: space(9), requests: requests(9).slice(0, 2), release: ['default/IPClaim/old'], dryRun: true });
    if (protocol === 'admin') assert.equal(summary(out), ['10.20.1.2/24 gw 10.20.1.1', '10.20.1.3/24 gw 10.20.1.1']);
    else
      assert.ok(
        out.every((o) => !o.ok),
        `${protocol}: the package's own space is not applied in a dry run`,
      );
    await b.close();
  }
  assert.equal(await admin.call('ListAllocations', {}), before, 'nothing allocated');
  assert.equal(await admin.call('ListNetworkInstances', {}), nisBefore, 'no space applied');
  admin.close();
});

test('a bad IPPrefix in the package: SpaceError naming its owner', async () => {
  for (const protocol of PROTOCOLS) {
    const b = createGrpcBackend({ address: srv.address, protocol, package: 'pkg-bad' });
    const err = await b
      .run({
        space: {
          networkInstances: [],
          prefixes: [{ networkInstance: { name: 'vpc' }, prefix: '192.168.7.0/24', kind: 'network', owner: 'default/IPPrefix/outside' }],
        },
        requests: [],
        release: [],
      })
      .catch((e: unknown) => e);
    assert.instance(err, SpaceError, protocol);
    assert.is((err as SpaceError).errors[0]!.owner, 'default/IPPrefix/outside');
    assert.is(((err as SpaceError).errors[0]!.error as IpamError).code, 'FailedPrecondition');
    assert.not.match((err as SpaceError).errors[0]!.error.message, /pkg-bad\|/, 'the package sees its own owners unscoped');
    await b.close();
  }
});

test('config: unknown settings and bad values are errors naming them', () => {
  assert.throws(() => createGrpcBackend({ address: 'x:1', adress: 'typo' } as never), /unknown grpc backend setting "adress"/);
  assert.throws(() => createGrpcBackend({ address: 'x:1', package: 'p', protocol: 'http' }), /protocol "http"/);
  assert.throws(() => createGrpcBackend({ protocol: 'admin', env: {} }), /needs an address/);
  assert.throws(() => createGrpcBackend({ address: 'x:1', env: {} }), /needs package=<identity>/);
  assert.throws(() => createGrpcBackend({ address: 'x:1', package: 'p', timeout: 'soon' }), /timeout "soon"/);
  assert.throws(() => createGrpcBackend({ address: 'x:1', package: 'p', tlsCert: 'a.pem' }), /tlsCert and tlsKey go together/);
});

test('UNAVAILABLE is retried with backoff: a server that comes up late still answers', async () => {
  // find a free port, then start the server on it only after the client began calling
  const probe = new Server();
  const port = await new Promise<number>((ok, ko) =>
    probe.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? ko(e) : ok(p))),
  );
  await new Promise<void>((r) => probe.tryShutdown(() => r()));
  // the timeout covers the call with its retries: room for a slow start on a busy machine
  const b = createGrpcBackend({ address: `127.0.0.1:${port}`, protocol: 'alloc', package: 'pkg-late', retries: 6, timeout: '10s' });
  const run = b.run({
    space: { networkInstances: [], prefixes: [] },
    requests: [
      {
        owner: 'default/IPClaim/late',
        networkInstance: { name: 'vpc' },
        kind: 'network',
        selector: { matchLabels: { 'nephio.org/cluster-name': 'c1' } },
      },
    ],
    release: [],
  });
  await new Promise((r) => setTimeout(r, 400));
  const late = await inProcess({ listen: `127.0.0.1:${port}` });
  try {
    const out = await run;
    assert.ok(out[0]!.ok, JSON.stringify(out));
  } finally {
    await b.close();
    await late.shutdown();
  }
});

test('deadline: a server that never answers fails the call with DEADLINE_EXCEEDED, not retried', async () => {
  const hang = new Server();
  let calls = 0;
  hang.addService(serviceDefinition('alloc'), { Allocation: () => void calls++, DeAllocation: () => {} });
  const port = await new Promise<number>((ok, ko) =>
    hang.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? ko(e) : ok(p))),
  );
  const b = createGrpcBackend({ address: `127.0.0.1:${port}`, protocol: 'alloc', package: 'p', timeout: '300ms', retries: 3 });
  const t0 = Date.now();
  const out = await b.run({
    space: { networkInstances: [], prefixes: [] },
    requests: [{ owner: 'default/IPClaim/x', networkInstance: { name: 'vpc' }, kind: 'network' }],
    release: [],
  });
  const took = Date.now() - t0;
  assert.ok(!out[0]!.ok);
  assert.match((out[0] as { error: Error }).error.message, /DEADLINE_EXCEEDED/);
  assert.is(calls, 1, 'not retried');
  assert.ok(took >= 250 && took < 5000, `took ${took} ms`);
  await b.close();
  hang.forceShutdown();
});

test('resource client: reads the whole-object status and the flat one; a status that is not JSON is an error naming the request', async () => {
  const answers = [
    JSON.stringify({
      apiVersion: 'ipam.resource.nephio.org/v1alpha1',
      kind: 'IPClaim',
      metadata: { name: 'a' },
      spec: {},
      status: { prefix: '10.1.0.2/24', gateway: '10.1.0.1' },
    }),
    JSON.stringify({ prefix: '10.1.0.3/24' }),
    'not json',
    JSON.stringify({ apiVersion: 'ipam.resource.nephio.org/v1alpha1', kind: 'IPClaim', metadata: { name: 'd' }, spec: {}, status: {} }),
  ];
  let n = 0;
  const fake = new Server();
  fake.addService(serviceDefinition('resource'), {
    Claim: (_c: unknown, cb: (e: null, r: object) => void) => cb(null, { status: answers[n++], statusCode: 'Valid' }),
    DeleteClaim: (_c: unknown, cb: (e: null, r: object) => void) => cb(null, {}),
  });
  const port = await new Promise<number>((ok, ko) =>
    fake.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? ko(e) : ok(p))),
  );
  const b = createGrpcBackend({ address: `127.0.0.1:${port}`, protocol: 'resource', package: 'p' });
  const req = (name: string) => ({ owner: `default/IPClaim/${name}`, networkInstance: { name: 'vpc' }, kind: 'network' as const });
  const out = await b.run({
    space: { networkInstances: [], prefixes: [] },
    requests: ['a', 'b', 'c', 'd'].map(req),
    release: [],
    keepOnFailure: true,
  });
  assert.equal(summary(out.slice(0, 2)), ['10.1.0.2/24 gw 10.1.0.1', '10.1.0.3/24']);
  assert.match(
    (out[2] as { error: Error }).error.message,
    /default\/IPClaim\/c: the server answered a status that is not JSON: "not json"/,
  );
  assert.match((out[3] as { error: Error }).error.message, /default\/IPClaim\/d: server answered no prefix/);
  await b.close();
  fake.forceShutdown();
});

test.run();
