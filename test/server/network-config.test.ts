// NetworkConfig through the server: the lengths a package's NetworkConfig gives its Network
// travel with the Network (Batch), so the server derives the subnet the function would; a
// package whose Network comes without that NetworkConfig is told so; `--seed` reads it too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { createBackend } from '../../src/backends/index.js';
import { runFunction } from '../../src/krm/run.js';
import { parseSeed, SeedError } from '../../src/server/seed.js';
import { list } from '../support/resource-list.js';
import { inProcess } from './helpers.js';

const KPTFILE = 'apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: pkg\n';
const NETWORK = `apiVersion: infra.nephio.org/v1alpha1
kind: Network
metadata:
  name: vpc-ran
spec:
  routingTables:
  - name: vpc-ran
    prefixes:
    - prefix: 172.3.0.0/16
      labels:
        nephio.org/network-name: n3
    interfaces:
    - kind: bridgedomain
      bridgeDomainName: vpc-ran
  bridgeDomains:
  - name: vpc-ran
    interfaces:
    - kind: interface
      selector:
        matchExpressions:
        - {key: nephio.org/cluster-name, operator: Exists}
`;
const CONFIG = `apiVersion: infra2.nephio.org/v1alpha1
kind: NetworkConfig
metadata:
  name: vpc-ran
spec:
  prefixLengths:
    ipv4:
      interfaceExternal: 26
`;
const CLUSTER = 'apiVersion: infra.nephio.org/v1alpha1\nkind: WorkloadCluster\nmetadata:\n  name: wc\nspec:\n  clusterName: edge1\n';
const claim = (name: string) => `apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPClaim
metadata:
  name: ${name}
spec:
  kind: network
  selector:
    matchLabels:
      nephio.org/address-family: ipv4
      nephio.org/cluster-name: edge1
  networkInstance:
    name: vpc-ran
`;
const config = (address: string, pkg: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  backend: grpc\n  address: ${address}\n  package: ${pkg}\n`;
type Out = { items: { kind: string; metadata: { name: string }; status?: unknown }[]; results?: { severity: string; message: string }[] };

test('a package NetworkConfig reaches the server with its Network; another package without it is told to carry it', async () => {
  const srv = await inProcess({ seed: undefined });
  try {
    const run = (files: Record<string, string>, pkg: string) =>
      runFunction(list(files, config(srv.address, pkg)), (cfg) => createBackend(cfg.backend, cfg.backendOptions));
    const a = await run(
      { Kptfile: KPTFILE, 'network.yaml': NETWORK, 'netconfig.yaml': CONFIG, 'wc.yaml': CLUSTER, 'c.yaml': claim('upf-n3') },
      'upf',
    );
    assert.is(a.exitCode, 0, a.stdout);
    assert.equal((parse(a.stdout) as Out).items.find((i) => i.metadata.name === 'upf-n3')!.status, {
      prefix: '172.3.0.2/26',
      gateway: '172.3.0.1',
    });
    const b = await run({ Kptfile: KPTFILE, 'network.yaml': NETWORK, 'wc.yaml': CLUSTER, 'c.yaml': claim('smf-n3') }, 'smf');
    assert.is(b.exitCode, 1);
    const err = (parse(b.stdout) as Out).results!.find((r) => r.severity === 'error')!;
    assert.match(
      err.message,
      /^Network vpc-ran: cluster edge1's subnet in network instance vpc-ran is 172\.3\.0\.0\/26 already, this Network's prefix length is \/24: every package must carry the same NetworkConfig/,
    );
  } finally {
    await srv.shutdown();
  }
});

test('protocols resource, alloc2023 and alloc carry no Network: a claim that fails says the Networks were not sent and what to use', async () => {
  const srv = await inProcess({ seed: undefined });
  try {
    for (const protocol of ['resource', 'alloc2023', 'alloc']) {
      const cfg = `${config(srv.address, `p-${protocol}`)}  protocol: ${protocol}\n`;
      const out = await runFunction(
        list({ Kptfile: KPTFILE, 'network.yaml': NETWORK, 'wc.yaml': CLUSTER, 'c.yaml': claim('upf-n3') }, cfg),
        (c) => createBackend(c.backend, c.backendOptions),
      );
      assert.is(out.exitCode, 1, protocol);
      const err = (parse(out.stdout) as Out).results!.find((r) => r.severity === 'error')!;
      assert.match(
        err.message,
        new RegExp(
          `^IPClaim upf-n3: .*; the package's Networks \\(vpc-ran\\) were not sent: protocol ${protocol} has no message for a Network .*use protocol admin`,
        ),
        err.message,
      );
    }
  } finally {
    await srv.shutdown();
  }
});

test('--seed reads NetworkConfig: the Network gets its lengths; one that configures no Network is refused naming the file', () => {
  const seed = parseSeed(`${NETWORK}---\n${CONFIG}`, 'seed.yaml');
  assert.equal(seed.networks[0]!.prefixLengths, { ipv4: { interfaceExternal: 26 } });
  try {
    parseSeed(`${NETWORK}---\n${CONFIG.replace('name: vpc-ran', 'name: vpc-core')}`, 'seed.yaml');
    assert.unreachable('accepted');
  } catch (e) {
    assert.instance(e, SeedError);
    assert.match(
      (e as Error).message,
      /^seed\.yaml: default\/NetworkConfig\/vpc-core: metadata\.name: NetworkConfig vpc-core configures no Network/,
    );
  }
});

test.run();
