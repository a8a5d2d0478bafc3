// Properties of whole runs with the builtin allocator, over random packages:
// answers never collide, a second run changes nothing, and removing requests keeps the
// others' addresses and drops exactly the removed requests' conditions.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { parse } from 'yaml';
import { runFunction, type BackendFactory } from '../../src/krm/run.js';
import { createBackend } from '../../src/backends/index.js';

const factory: BackendFactory = (cfg) => createBackend(cfg.backend, cfg.backendOptions);

const HEAD = `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: kpt.dev/v1
  kind: Kptfile
  metadata:
    name: pkg
    annotations:
      config.kubernetes.io/path: 'Kptfile'
- apiVersion: ipam.resource.nephio.org/v1alpha1
  kind: NetworkInstance
  metadata:
    name: vpc
    annotations:
      config.kubernetes.io/path: 'space.yaml'
      config.kubernetes.io/index: '0'
  spec:
    prefixes:
    - prefix: 10.0.0.0/16
    - prefix: 2001:db8::/48
- apiVersion: ipam.resource.nephio.org/v1alpha1
  kind: IPPrefix
  metadata:
    name: lan4
    annotations:
      config.kubernetes.io/path: 'space.yaml'
      config.kubernetes.io/index: '1'
  spec:
    kind: network
    prefix: 10.0.0.1/26
    networkInstance: {name: vpc}
    labels: {net: lan}
- apiVersion: ipam.resource.nephio.org/v1alpha1
  kind: IPPrefix
  metadata:
    name: lan6
    annotations:
      config.kubernetes.io/path: 'space.yaml'
      config.kubernetes.io/index: '2'
  spec:
    kind: network
    prefix: 2001:db8:0:1::1/64
    networkInstance: {name: vpc}
    labels: {net: lan}
`;

type Req = { name: string; kind: 'network' | 'pool' | 'loopback'; family: 'ipv4' | 'ipv6' };

function claim(r: Req, i: number, apiVersion: string, kind: string): string {
  const sel = r.kind === 'network' ? `    selector:\n      matchLabels: {net: lan}\n` : '';
  const len = r.kind === 'pool' ? `    prefixLength: ${r.family === 'ipv4' ? 28 : 64}\n` : '';
  return `- apiVersion: ${apiVersion}
  kind: ${kind}
  metadata:
    name: ${r.name}
    annotations:
      config.kubernetes.io/path: 'claims.yaml'
      config.kubernetes.io/index: '${i}'
  spec:
    kind: ${r.kind}
    networkInstance: {name: vpc}
    addressFamily: ${r.family}
${sel}${len}`;
}

const APIS: [string, string][] = [
  ['ipam.resource.nephio.org/v1alpha1', 'IPClaim'],
  ['ipam.alloc.nephio.org/v1alpha1', 'IPAllocation'],
];

const reqs = fc.uniqueArray(
  fc.record({
    name: fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
    kind: fc.constantFrom<Req['kind']>('network', 'network', 'pool', 'loopback'),
    family: fc.constantFrom<Req['family']>('ipv4', 'ipv6'),
    api: fc.nat(1),
  }),
  { selector: (r) => r.name, minLength: 1, maxLength: 12 },
);

const strip = (t: string): string => t.replace(/\nresults:\n[\s\S]*$/, '\n');
/** What these tests read from the function's output (fields a resource may lack are read as asserted). */
interface Resource {
  kind: string;
  metadata: { name: string };
  spec: { kind?: string };
  status: { prefix: string; conditions?: { type: string }[] };
}
const items = (t: string): Resource[] => parse(t).items;

test('property: distinct answers, stable re-render, removal keeps the rest', async () => {
  await fc.assert(
    fc.asyncProperty(reqs, fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), async (list, keep) => {
      const input = HEAD + list.map((r, i) => claim(r, i, ...APIS[r.api])).join('');
      const out = await runFunction(input, factory);
      assert.is(out.exitCode, 0, out.stdout);
      const answered = items(out.stdout).filter((x) => x.kind === 'IPClaim' || x.kind === 'IPAllocation');
      const prefixes = answered.map((x) => x.status.prefix);
      assert.is(new Set(prefixes).size, prefixes.length, `duplicate answers ${prefixes}`);
      for (const x of answered) {
        if (x.spec.kind === 'network')
          assert.ok(!/^10\.0\.0\.(0|1|63)\//.test(x.status.prefix) && x.status.prefix !== '2001:db8:0:1::1/64', x.status.prefix);
      }
      // a second run changes nothing
      const again = await runFunction(strip(out.stdout), factory);
      assert.is(strip(again.stdout), strip(out.stdout));
      // remove some requests: the rest keep their addresses, their conditions go
      const rendered = strip(out.stdout).split(/\n(?=- apiVersion)/);
      const kept = rendered.filter((chunk) => {
        const m =
          /name: ([a-z0-9-]+)\n    annotations:\n      config.kubernetes.io\/path: 'claims.yaml'\n      config.kubernetes.io\/index: '(\d+)'/.exec(
            chunk,
          );
        return !m || keep[Number(m[2])];
      });
      const third = await runFunction(kept.join('\n'), factory);
      assert.is(third.exitCode, 0, third.stdout);
      const before = new Map(answered.map((x) => [x.metadata.name, x.status.prefix]));
      const left = items(third.stdout).filter((x) => x.kind === 'IPClaim' || x.kind === 'IPAllocation');
      for (const x of left) assert.is(x.status.prefix, before.get(x.metadata.name));
      const conds = items(third.stdout).find((x) => x.kind === 'Kptfile')?.status?.conditions ?? [];
      assert.equal(conds.map((c: { type: string }) => c.type.split('.').pop()).sort(), left.map((x) => x.metadata.name).sort());
    }),
    { numRuns: 60 },
  );
});

test.run();
