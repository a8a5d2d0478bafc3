// A run that fails keeps nothing it newly took on the server, whichever kind failed: addresses
// when a VLAN claim fails, VLAN ids when an IP claim fails (the function against a real serve).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { createBackend } from '../../src/backends/index.js';
import { runFunction } from '../../src/krm/run.js';
import { claim, KPTFILE, list } from '../support/resource-list.js';
import { oneSubnetSeed } from '../support/seed.js';
import { inProcess, raw } from './helpers.js';

const CLUSTER =
  'apiVersion: infra.nephio.org/v1alpha1\nkind: WorkloadCluster\nmetadata:\n  name: cluster01\nspec:\n  clusterName: cluster01\n';
const SPACE = oneSubnetSeed('n3', '10.0.1.0/24');
const ipClaim = (name: string, role: string) => claim(name, `  selector:\n    matchLabels:\n      role: ${role}\n`);
const vlanClaim = (name: string, index: string) =>
  `apiVersion: vlan.resource.nephio.org/v1alpha1\nkind: VLANClaim\nmetadata:\n  name: ${name}\nspec:\n  vlanIndex:\n    name: ${index}\n`;
const config = (address: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  backend: grpc\n  address: ${address}\n  package: pkg\n`;
type Out = { results?: { severity: string; message: string }[] };

async function held(address: string): Promise<{ ip: string[]; vlan: string[] }> {
  const admin = raw('admin', address);
  try {
    const ip = ((await admin.call('ListAllocations', {})) as { allocations: { owner: string }[] }).allocations.map((a) => a.owner);
    const vlan = ((await admin.call('ListVlanClaims', {})) as { claims: { owner: string }[] }).claims.map((c) => c.owner);
    return { ip, vlan };
  } finally {
    admin.close();
  }
}

test('a VLAN claim that fails: the address the run took is released again; an IP claim that fails: the VLAN id too', async () => {
  const srv = await inProcess({ seed: undefined });
  try {
    const run = async (files: Record<string, string>) => {
      const out = await runFunction(list(files, config(srv.address)), (cfg) => createBackend(cfg.backend, cfg.backendOptions));
      return { exitCode: out.exitCode, results: (parse(out.stdout) as Out).results ?? [] };
    };
    const base = { Kptfile: KPTFILE, 'space.yaml': SPACE, 'wc.yaml': CLUSTER };

    const vlanFails = await run({ ...base, 'ip.yaml': ipClaim('n3', 'n3'), 'vlan.yaml': vlanClaim('v', 'no-such-index') });
    assert.is(vlanFails.exitCode, 1);
    assert.ok(
      vlanFails.results.some((r) => /released default\/IPClaim\/n3 again/.test(r.message)),
      JSON.stringify(vlanFails.results),
    );
    assert.equal(await held(srv.address), { ip: [], vlan: [] }, 'nothing held after the failed run');

    const ipFails = await run({ ...base, 'ip.yaml': ipClaim('n3', 'nothing-matches'), 'vlan.yaml': vlanClaim('v', 'cluster01') });
    assert.is(ipFails.exitCode, 1);
    assert.ok(
      ipFails.results.some((r) => /released default\/VLANClaim\/v again/.test(r.message)),
      JSON.stringify(ipFails.results),
    );
    assert.equal(await held(srv.address), { ip: [], vlan: [] }, 'nothing held after the failed run');

    // and a run that succeeds keeps both
    const ok = await run({ ...base, 'ip.yaml': ipClaim('n3', 'n3'), 'vlan.yaml': vlanClaim('v', 'cluster01') });
    assert.is(ok.exitCode, 0, JSON.stringify(ok.results));
    assert.equal(await held(srv.address), { ip: ['pkg|default/IPClaim/n3'], vlan: ['pkg|default/VLANClaim/v'] });
  } finally {
    await srv.shutdown();
  }
});

test.run();
