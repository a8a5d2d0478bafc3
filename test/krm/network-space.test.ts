// Nephio's Network and WorkloadCluster as the package's address space, through the function
// in process with the built-in backend: the space Nephio's network controller would make,
// identical copies as one, and bad definitions reported by resource and field.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { runFunction, type BackendFactory } from '../../src/krm/run.js';
import { createBackend } from '../../src/backends/index.js';
import type { BackendRun } from '../../src/backends/backend.js';

const factory: BackendFactory = (cfg) => createBackend(cfg.backend, cfg.backendOptions);

/** A ResourceList as kpt sends it: each file's documents with path/index annotations. */
function list(files: Record<string, string>): string {
  let out = 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n';
  for (const [path, text] of Object.entries(files)) {
    text.split(/^---\n/m).forEach((doc, index) => {
      const ann = `    config.kubernetes.io/index: '${index}'\n    config.kubernetes.io/path: '${path}'\n    internal.config.kubernetes.io/path: '${path}'\n`;
      const body = /^  annotations:\n/m.test(doc)
        ? doc.replace(/^  annotations:\n/m, (m) => m + ann)
        : doc.replace(/^metadata:\n/m, (m) => m + '  annotations:\n' + ann);
      out +=
        body
          .trimEnd()
          .split('\n')
          .map((l, i) => (i === 0 ? '- ' : l === '' ? '' : '  ') + l)
          .join('\n') + '\n';
    });
  }
  return out;
}

const network = (prefixes: string[], name = 'vpc-ran') => `apiVersion: infra.nephio.org/v1alpha1
kind: Network
metadata:
  name: ${name}
spec:
  routingTables:
  - name: ${name}
    prefixes:
${prefixes.map((p) => `    - prefix: ${p}\n      labels:\n        nephio.org/network-name: n3`).join('\n')}
    interfaces:
    - kind: bridgedomain
      bridgeDomainName: ${name}
  bridgeDomains:
  - name: ${name}
    interfaces:
    - kind: interface
      selector:
        matchExpressions:
        - {key: nephio.org/cluster-name, operator: Exists}
      attachmentType: vlan
`;
const cluster = (name: string) => `apiVersion: infra.nephio.org/v1alpha1
kind: WorkloadCluster
metadata:
  name: workload-cluster
spec:
  clusterName: ${name}
`;
const claim = (name: string, family: string, clusterName: string) => `apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPClaim
metadata:
  name: ${name}
spec:
  kind: network
  selector:
    matchLabels:
      nephio.org/address-family: ${family}
      nephio.org/cluster-name: ${clusterName}
      nephio.org/network-name: n3
  networkInstance:
    name: vpc-ran
`;
const KPTFILE = 'apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: pkg\n';

interface Resource {
  kind: string;
  metadata: { name: string };
  status?: unknown;
}
interface Reported {
  message: string;
  severity: string;
  resourceRef?: { kind: string };
  file?: { path: string };
  field?: { path: string };
}
const items = (text: string): Resource[] => (parse(text) as { items: Resource[] }).items;
const results = (text: string): Reported[] => (parse(text) as { results?: Reported[] }).results ?? [];
const firstError = (text: string): Reported => {
  const r = results(text).find((x) => x.severity === 'error');
  if (!r) throw new Error(`no error result in:\n${text}`);
  return r;
};
const status = (text: string, name: string) => items(text).find((i) => i.kind === 'IPClaim' && i.metadata.name === name)?.status;

test('a Network and a WorkloadCluster are the space: subnet per cluster and family, gateway first', async () => {
  const out = await runFunction(
    list({
      Kptfile: KPTFILE,
      'network.yaml': network(['172.3.0.0/16', '172:3::/32']),
      'cluster.yaml': cluster('edge1'),
      'v4.yaml': claim('n3-v4', 'ipv4', 'edge1'),
      'v6.yaml': claim('n3-v6', 'ipv6', 'edge1'),
    }),
    factory,
  );
  assert.is(out.exitCode, 0, out.stdout);
  assert.equal(status(out.stdout, 'n3-v4'), { prefix: '172.3.0.2/24', gateway: '172.3.0.1' });
  assert.equal(status(out.stdout, 'n3-v6'), { prefix: '172:3::2/64', gateway: '172:3::1' });
});

const networkConfig = (name: string, lengths: string, apiVersion = 'infra2.nephio.org/v1alpha1') => `apiVersion: ${apiVersion}
kind: NetworkConfig
metadata:
  name: ${name}
spec:
  prefixLengths:
${lengths}`;

test("a NetworkConfig named after the Network sets its clusters' subnet lengths (interfaceExternal)", async () => {
  const out = await runFunction(
    list({
      Kptfile: KPTFILE,
      'network.yaml': network(['172.3.0.0/16', '172:3::/32']),
      'netconfig.yaml': networkConfig('vpc-ran', '    ipv4:\n      interfaceExternal: 26\n    ipv6:\n      interfaceExternal: 80\n'),
      'cluster.yaml': cluster('edge1'),
      'v4.yaml': claim('n3-v4', 'ipv4', 'edge1'),
      'v6.yaml': claim('n3-v6', 'ipv6', 'edge1'),
    }),
    factory,
  );
  assert.is(out.exitCode, 0, out.stdout);
  assert.equal(status(out.stdout, 'n3-v4'), { prefix: '172.3.0.2/26', gateway: '172.3.0.1' });
  assert.equal(status(out.stdout, 'n3-v6'), { prefix: '172:3::2/80', gateway: '172:3::1' });
});

test("a NetworkConfig named default sets every Network's pool length; a pool claim is carved from that pool", async () => {
  const net = network(['172.3.0.0/16']).replace('nephio.org/network-name: n3', 'nephio.org/prefix-kind: pool');
  const pool = (name: string) => `apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPClaim
metadata:
  name: ${name}
spec:
  kind: pool
  prefixLength: 21
  selector:
    matchLabels:
      nephio.org/cluster-name: edge1
  networkInstance:
    name: vpc-ran
`;
  const files = {
    Kptfile: KPTFILE,
    'network.yaml': net,
    'netconfig.yaml': networkConfig('default', '    ipv4:\n      pool: 20\n', 'infra.nephio.org/v1alpha1'),
    'cluster.yaml': cluster('edge1'),
    'pool-a.yaml': pool('pool-a'),
  };
  const out = await runFunction(list({ ...files, 'pool-b.yaml': pool('pool-b') }), factory);
  assert.is(out.exitCode, 0, out.stdout);
  assert.equal([status(out.stdout, 'pool-a'), status(out.stdout, 'pool-b')], [{ prefix: '172.3.0.0/21' }, { prefix: '172.3.8.0/21' }]);
  // the cluster's pool is exactly /20: a third /21 does not fit in it
  const full = await runFunction(list({ ...files, 'pool-b.yaml': pool('pool-b'), 'pool-c.yaml': pool('pool-c') }), factory);
  assert.is(full.exitCode, 1);
  assert.match(firstError(full.stdout).message, /^IPClaim pool-c: .*exhausted/);
});

test('a NetworkConfig that configures no Network, or a length out of range: an error naming it, its file and field; nothing written', async () => {
  const base = {
    Kptfile: KPTFILE,
    'network.yaml': network(['172.3.0.0/16']),
    'cluster.yaml': cluster('edge1'),
    'v4.yaml': claim('n3-v4', 'ipv4', 'edge1'),
  };
  const stray = list({ ...base, 'netconfig.yaml': networkConfig('vpc-core', '    ipv4:\n      interfaceExternal: 26\n') });
  const a = await runFunction(stray, factory);
  assert.is(a.exitCode, 1);
  const ra = firstError(a.stdout);
  assert.match(
    ra.message,
    /^NetworkConfig vpc-core: NetworkConfig vpc-core configures no Network: name it after the Network it is for \(the Networks here: vpc-ran\), or "default" for every Network/,
  );
  assert.is(ra.file?.path, 'netconfig.yaml');
  assert.is(ra.field?.path, 'metadata.name');
  assert.equal(items(a.stdout), items(stray));
  const wide = list({ ...base, 'netconfig.yaml': networkConfig('vpc-ran', '    ipv4:\n      pool: 40\n') });
  const b = await runFunction(wide, factory);
  assert.is(b.exitCode, 1);
  const rb = firstError(b.stdout);
  assert.match(rb.message, /spec\.prefixLengths\.ipv4\.pool must be a prefix length from 1 to 32, not 40/);
  assert.is(rb.field?.path, 'spec.prefixLengths.ipv4.pool');
  assert.equal(items(b.stdout), items(wide));
});

test('identical copies of one Network (subpackages) are one space; a differing one names both files', async () => {
  const same = await runFunction(
    list({
      Kptfile: KPTFILE,
      'network.yaml': network(['172.3.0.0/16']),
      'sub/network.yaml': network(['172.3.0.0/16']),
      'cluster.yaml': cluster('edge1'),
      'v4.yaml': claim('n3-v4', 'ipv4', 'edge1'),
    }),
    factory,
  );
  assert.is(same.exitCode, 0, same.stdout);
  const input = list({
    Kptfile: KPTFILE,
    'network.yaml': network(['172.3.0.0/16']),
    'sub/network.yaml': network(['172.4.0.0/16']),
    'cluster.yaml': cluster('edge1'),
    'v4.yaml': claim('n3-v4', 'ipv4', 'edge1'),
  });
  const diff = await runFunction(input, factory);
  assert.is(diff.exitCode, 1);
  const r = firstError(diff.stdout);
  assert.match(r.message, /Network vpc-ran differs from the Network of the same name in network\.yaml/);
  assert.is(r.file?.path, 'sub/network.yaml');
  assert.is(r.field?.path, 'spec');
  assert.equal(items(diff.stdout), items(input), 'nothing written');
});

test('a Network whose prefixes overlap: an error naming the Network and the prefix field; nothing written', async () => {
  const input = list({
    Kptfile: KPTFILE,
    'network.yaml': network(['172.3.0.0/16', '172.3.8.0/24']),
    'cluster.yaml': cluster('edge1'),
    'v4.yaml': claim('n3-v4', 'ipv4', 'edge1'),
  });
  const out = await runFunction(input, factory);
  assert.is(out.exitCode, 1);
  const r = firstError(out.stdout);
  assert.match(r.message, /^Network vpc-ran: spec\.routingTables\[0\]\.prefixes\[1\]\.prefix 172\.3\.8\.0\/24 overlaps 172\.3\.0\.0\/16/);
  assert.is(r.resourceRef?.kind, 'Network');
  assert.is(r.file?.path, 'network.yaml');
  assert.is(r.field?.path, 'spec.routingTables[0].prefixes[1].prefix');
  assert.equal(items(out.stdout), items(input));
});

test('a claim for a cluster no Network attaches: an error naming the claim and its selector; nothing written', async () => {
  const input = list({
    Kptfile: KPTFILE,
    'network.yaml': network(['172.3.0.0/16']),
    'cluster.yaml': cluster('edge1'),
    'v4.yaml': claim('n3-v4', 'ipv4', 'edge2'),
  });
  const out = await runFunction(input, factory);
  assert.is(out.exitCode, 1);
  const r = firstError(out.stdout);
  assert.match(
    r.message,
    /^IPClaim n3-v4: no Network attaches cluster edge2: it is no WorkloadCluster of the package \(WorkloadCluster workload-cluster in cluster\.yaml is edge1\), and the package's Networks \(Network vpc-ran in network\.yaml\) give space only to its clusters \(.*nephio\.org\/cluster-name=edge2/,
  );
  assert.is(r.file?.path, 'v4.yaml');
  assert.is(r.field?.path, 'spec.selector');
  assert.equal(items(out.stdout), items(input));
});

test('a bridge domain selector that picks only some clusters attaches only those; a claim of another names the WorkloadCluster and the Networks', async () => {
  const net = network(['172.3.0.0/16']).replace(
    '{key: nephio.org/cluster-name, operator: Exists}',
    '{key: nephio.org/cluster-name, operator: In, values: [edge9]}',
  );
  const out = await runFunction(
    list({ Kptfile: KPTFILE, 'network.yaml': net, 'cluster.yaml': cluster('edge1'), 'v4.yaml': claim('n3-v4', 'ipv4', 'edge1') }),
    factory,
  );
  assert.is(out.exitCode, 1);
  const r = firstError(out.stdout);
  assert.match(
    r.message,
    /^IPClaim n3-v4: no Network attaches cluster edge1: WorkloadCluster workload-cluster in cluster\.yaml has spec\.clusterName edge1, and no selector of a bridge domain or routing table interface of Network vpc-ran in network\.yaml selects it \(.*no prefix matches selector/,
  );
  assert.is(r.field?.path, 'spec.selector');
  // two Networks, neither attaching it, the second in a file of several documents: both named
  const other = net.replaceAll('vpc-ran', 'vpc-internet');
  const two = await runFunction(
    list({
      Kptfile: KPTFILE,
      'network.yaml': net,
      'more.yaml': `${cluster('edge1')}---\n${other}`,
      'v4.yaml': claim('n3-v4', 'ipv4', 'edge1'),
    }),
    factory,
  );
  assert.match(
    firstError(two.stdout).message,
    /of Network vpc-ran in network\.yaml, Network vpc-internet in more\.yaml \(document 2\) selects it/,
  );
});

// Porch: the same blueprint in many clusters' repositories has one Kptfile name; its cluster
// tells the copies apart on a shared server.
test('backend grpc: the default package scope is <cluster>/<Kptfile name> when the package has one WorkloadCluster', async () => {
  const seen: unknown[] = [];
  const recording: BackendFactory = (cfg) => {
    seen.push(cfg.backendOptions.package);
    return createBackend('builtin', {});
  };
  const grpc = 'functionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: cfg\n  data:\n    backend: grpc\n';
  const saved = process.env.IPAM_INJECTOR_PACKAGE;
  delete process.env.IPAM_INJECTOR_PACKAGE;
  try {
    for (const c of ['edge1', 'edge2']) {
      await runFunction(
        list({
          Kptfile: KPTFILE,
          'network.yaml': network(['172.3.0.0/16']),
          'cluster.yaml': cluster(c),
          'v4.yaml': claim('n3-v4', 'ipv4', c),
        }) + grpc,
        recording,
      );
    }
    await runFunction(list({ Kptfile: KPTFILE, 'network.yaml': network(['172.3.0.0/16']) }) + grpc, recording);
  } finally {
    if (saved === undefined) delete process.env.IPAM_INJECTOR_PACKAGE;
    else process.env.IPAM_INJECTOR_PACKAGE = saved;
  }
  assert.equal(seen, ['edge1/pkg', 'edge2/pkg', 'pkg']);
});

// Nephio's condition SDK deletes a child claim by marking it and setting its condition False;
// the function acting on the claim releases it.
test('specializer.nephio.org/delete: "true" releases the claim, clears its status, keeps the SDK condition', async () => {
  const runs: BackendRun[] = [];
  const recording: BackendFactory = async () => {
    const inner = await createBackend('builtin', {});
    return { run: (input) => (runs.push(input), inner.run(input)), close: () => inner.close() };
  };
  const sdkCondition =
    '    - message: delete resource\n      reason: req.nephio.org/v1alpha1.Interface.n3\n      status: "False"\n      type: ipam.resource.nephio.org/v1alpha1.IPClaim.n3-v6\n';
  const kptfile = `${KPTFILE}status:\n  conditions:\n${sdkCondition}`;
  const deleted =
    claim('n3-v6', 'ipv6', 'edge1').replace(
      'metadata:\n  name: n3-v6\n',
      'metadata:\n  name: n3-v6\n  annotations:\n    specializer.nephio.org/delete: "true"\n',
    ) + 'status:\n  prefix: 172:3::2/64\n  gateway: 172:3::1\n';
  const out = await runFunction(
    list({
      Kptfile: kptfile,
      'network.yaml': network(['172.3.0.0/16', '172:3::/32']),
      'cluster.yaml': cluster('edge1'),
      'v4.yaml': claim('n3-v4', 'ipv4', 'edge1'),
      'v6.yaml': deleted,
    }),
    recording,
  );
  assert.is(out.exitCode, 0, out.stdout);
  assert.equal(runs[0]!.release, ['default/IPClaim/n3-v6'], 'released on the backend');
  assert.is(runs[0]!.requests.length, 1, 'not requested again');
  assert.is(status(out.stdout, 'n3-v6'), undefined, 'status cleared');
  assert.equal(status(out.stdout, 'n3-v4'), { prefix: '172.3.0.2/24', gateway: '172.3.0.1' });
  const kpt = items(out.stdout).find((i) => i.kind === 'Kptfile') as unknown as {
    status: { conditions: { type: string; status: string; message: string; reason?: string }[] };
  };
  const c = kpt.status.conditions.find((x) => x.type.endsWith('IPClaim.n3-v6'));
  assert.equal(
    c,
    {
      message: 'delete resource',
      reason: 'req.nephio.org/v1alpha1.Interface.n3',
      status: 'False',
      type: 'ipam.resource.nephio.org/v1alpha1.IPClaim.n3-v6',
    },
    'the SDK condition is kept as it was',
  );
  assert.ok(
    results(out.stdout).some(
      (r) => r.severity === 'info' && /IPClaim n3-v6: released \(specializer\.nephio\.org\/delete\)/.test(r.message),
    ),
  );
});

test.run();
