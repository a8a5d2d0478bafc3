// The wire contracts: generated descriptors are fresh, and the field numbers and names of
// the two compatibility protocols are exactly those of docs/semantics.md "Wire protocols".
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { loadSync } from '@grpc/proto-loader';
import { packageDefinition } from '../../src/protocol/load.js';

const root = new URL('../..', import.meta.url).pathname;

test('src/protocol/descriptors.gen.ts is generated from proto/*.proto (not stale)', () => {
  const r = spawnSync(process.execPath, [`${root}proto/generate.mjs`, '--check'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
});

type Field = { name: string; number: number; type: string; label: string; typeName: string };
type Msg = { name: string; field: Field[] };
type Def = Record<string, { type?: Msg; format?: string } & Record<string, unknown>>;

function fields(def: Def, full: string): Record<string, number> {
  const t = def[full]!.type as Msg;
  return Object.fromEntries(t.field.map((f) => [f.name, f.number]));
}

const fromText = loadSync(['alloc.proto', 'resource.proto', 'admin.proto'], {
  includeDirs: [`${root}proto`],
  keepCase: true,
}) as unknown as Def;

test('alloc: field numbers and names as in docs/semantics.md', () => {
  assert.equal(fields(fromText, 'alloc.Request'), { namespace: 1, name: 2, kind: 3, labels: 6, spec: 7 });
  assert.equal(fields(fromText, 'alloc.Spec'), { prefixkind: 1, prefix: 2, prefixLength: 3, network: 4, addressFamily: 5, selector: 6 });
  assert.equal(fields(fromText, 'alloc.Response'), { allocatedPrefix: 1, gateway: 2 });
  const svc = fromText['alloc.Allocation'] as Record<string, { path: string }>;
  assert.is(svc.Allocation!.path, '/alloc.Allocation/Allocation');
  assert.is(svc.DeAllocation!.path, '/alloc.Allocation/DeAllocation');
});

test('resource: field numbers and names as in docs/semantics.md', () => {
  assert.equal(fields(fromText, 'resource.ClaimRequest'), { header: 1, spec: 2, expiryTime: 3 });
  assert.equal(fields(fromText, 'resource.ClaimResponse'), { header: 1, spec: 2, status: 3, statusCode: 4, expiryTime: 5 });
  assert.equal(fields(fromText, 'resource.Header'), { gvk: 1, nsn: 2, ownerGvk: 3, ownerNsn: 4 });
  assert.equal(fields(fromText, 'resource.GVK'), { group: 1, version: 2, kind: 3 });
  assert.equal(fields(fromText, 'resource.NSN'), { namespace: 1, name: 2 });
  assert.equal(fields(fromText, 'resource.WatchRequest'), { header: 1 });
  assert.equal(fields(fromText, 'resource.WatchResponse'), { header: 1, statusCode: 2 });
  assert.equal(fields(fromText, 'resource.EmptyResponse'), {});
  const svc = fromText['resource.Resource'] as Record<string, { path: string; responseStream: boolean }>;
  assert.equal(Object.keys(svc).sort(), ['Claim', 'CreateIndex', 'DeleteClaim', 'DeleteIndex', 'GetClaim', 'WatchClaim']);
  assert.ok(svc.WatchClaim!.responseStream);
  const en = fromText['resource.StatusCode'] as unknown as { type: { value: { name: string; number: number }[] } };
  assert.equal(
    en.type.value.map((v) => [v.name, v.number]),
    [
      ['Valid', 0],
      ['InValid', 1],
      ['Unknown', 2],
    ],
  );
});

test('generated descriptors describe the same services and methods as the .proto text', () => {
  const gen = packageDefinition() as unknown as Record<string, Record<string, { path: string; requestType: { type: Msg } }>>;
  for (const svc of ['alloc.Allocation', 'resource.Resource', 'ipaminjector.admin.v1.Admin']) {
    const a = fromText[svc] as unknown as Record<string, { path: string; requestType: { type: Msg } }>;
    const b = gen[svc]!;
    assert.equal(Object.keys(b).sort(), Object.keys(a).sort(), svc);
    for (const m of Object.keys(a)) {
      assert.is(b[m]!.path, a[m]!.path);
      assert.equal(
        b[m]!.requestType.type.field.map((f) => [f.name, f.number]),
        a[m]!.requestType.type.field.map((f) => [f.name, f.number]),
      );
    }
  }
});

test('admin.proto has its own package', () => {
  assert.match(readFileSync(`${root}proto/admin.proto`, 'utf8'), /^package ipaminjector\.admin\.v1;$/m);
});

test.run();
