// Function benchmarks: whole-process runs of bin/ipam-injector through stdin/stdout, as kpt
// runs it. Prints
//   BENCH fn-1-request n=<runs> ms=<median> node_ms=<median of `node -e 0`> ratio=<ms/node_ms>
//   BENCH fn-10k-requests n=<runs> ms=<median> requests=10000 bytes_in=<input size>
//   BENCH fn-10k-rerender n=<runs> ms=<median> requests=10000 (statuses and conditions present)
//   BENCH fn-10k-unowned n=<runs> ms=<median> requests=10000 unowned=10000 (plus ConfigMaps the
//     function does not own: every item is still read once, to refuse malformed YAML)
//   BENCH fn-nephio-1k-interfaces n=<runs> ms=<median> interfaces=1000 claims=<n> (a Nephio
//     package: a Network with 10 networks, a WorkloadCluster, and per interface an IPv4 and an
//     IPv6 IPClaim and a VLANClaim as interface-fn writes them; no NetworkInstance or IPPrefix)
// Builds the bundle first when it is missing. Runs are interleaved with the baseline so
// machine load affects both alike. BENCH_FILTER (comma-separated substrings) picks names.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = `${root}bin/ipam-injector`;
if (!existsSync(`${root}dist/ipam-injector.mjs`)) {
  const b = spawnSync(process.execPath, [`${root}scripts/build.mjs`], { stdio: 'inherit' });
  if (b.status !== 0) process.exit(1);
}
const filters = (process.env.BENCH_FILTER ?? '').split(',').filter(Boolean);
const wanted = (name: string): boolean => filters.length === 0 || filters.some((f) => name.includes(f));

const kptAnnotations = (path: string, index: number, id: number): string =>
  `    annotations:
      config.kubernetes.io/index: '${index}'
      config.kubernetes.io/path: '${path}'
      internal.config.kubernetes.io/index: '${index}'
      internal.config.kubernetes.io/path: '${path}'
      internal.config.kubernetes.io/seqindent: 'compact'
      internal.config.kubernetes.io/id: '${id}'
      config.k8s.io/id: '${id}'
`;

/** A ResourceList as `kpt fn eval` sends it: Kptfile, space, `n` IPClaims, `unowned` ConfigMaps. */
export function packageList(n: number, unowned = 0): string {
  const s = `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: kpt.dev/v1
  kind: Kptfile
  metadata:
    name: bench
${kptAnnotations('Kptfile', 0, 1)}- apiVersion: ipam.resource.nephio.org/v1alpha1
  kind: NetworkInstance
  metadata:
    name: vpc
${kptAnnotations('space.yaml', 0, 2)}  spec:
    prefixes:
    - prefix: 10.0.0.0/8
- apiVersion: ipam.resource.nephio.org/v1alpha1
  kind: IPPrefix
  metadata:
    name: lan
    labels:
      nephio.org/gateway: "true"
      nephio.org/network-name: lan
${kptAnnotations('space.yaml', 1, 3)}  spec:
    kind: network
    prefix: 10.0.0.1/16
    networkInstance:
      name: vpc
`;
  const parts: string[] = [s];
  for (let i = 0; i < n; i++) {
    parts.push(`- apiVersion: ipam.resource.nephio.org/v1alpha1
  kind: IPClaim
  metadata:
    name: claim-${i}
${kptAnnotations('claims.yaml', i, 4 + i)}  spec:
    kind: network
    networkInstance:
      name: vpc
    selector:
      matchLabels:
        nephio.org/network-name: lan
`);
  }
  for (let i = 0; i < unowned; i++) {
    parts.push(`- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: config-${i}
    labels:
      app.kubernetes.io/name: upf
${kptAnnotations('configs.yaml', i, 4 + n + i)}  data:
    mode: 0755 # kept as written
    date: 2021-01-01
    enabled: "true"
    list: [a, b]
    script: |
      #!/bin/sh
      echo ${i}
`);
  }
  return parts.join('');
}

/** A Nephio package as interface-fn leaves it: `n` interfaces spread over 10 networks. */
export function nephioPackage(n: number): string {
  const nets = 10;
  const prefixes = Array.from(
    { length: nets },
    (_, k) => `      - prefix: 10.${k}.0.0/16
        labels:
          nephio.org/network-name: net${k}
      - prefix: 2001:db8:${k}::/48
        labels:
          nephio.org/network-name: net${k}
`,
  ).join('');
  const parts = [
    `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: kpt.dev/v1
  kind: Kptfile
  metadata:
    name: bench
${kptAnnotations('Kptfile', 0, 1)}- apiVersion: infra.nephio.org/v1alpha1
  kind: Network
  metadata:
    name: vpc
${kptAnnotations('network.yaml', 0, 2)}  spec:
    routingTables:
    - name: vpc
      prefixes:
${prefixes}      interfaces:
      - kind: bridgedomain
        bridgeDomainName: vpc
    bridgeDomains:
    - name: vpc
      interfaces:
      - kind: interface
        selector:
          matchExpressions:
          - {key: nephio.org/cluster-name, operator: Exists}
        attachmentType: vlan
- apiVersion: infra.nephio.org/v1alpha1
  kind: WorkloadCluster
  metadata:
    name: workload-cluster
${kptAnnotations('cluster.yaml', 0, 3)}  spec:
    clusterName: edge
`,
  ];
  let id = 4;
  for (let i = 0; i < n; i++) {
    for (const fam of ['ipv4', 'ipv6']) {
      parts.push(`- apiVersion: ipam.resource.nephio.org/v1alpha1
  kind: IPClaim
  metadata:
    name: nf-if${i}-${fam}
${kptAnnotations(`ipclaim-if${i}-${fam}.yaml`, 0, id++)}  spec:
    kind: network
    selector:
      matchLabels:
        nephio.org/address-family: ${fam}
        nephio.org/cluster-name: edge
        nephio.org/network-name: net${i % nets}
    networkInstance:
      name: vpc
  status: {}
`);
    }
    parts.push(`- apiVersion: vlan.resource.nephio.org/v1alpha1
  kind: VLANClaim
  metadata:
    name: nf-if${i}
${kptAnnotations(`vlanclaim-if${i}.yaml`, 0, id++)}  spec:
    vlanIndex:
      name: edge
  status: {}
`);
  }
  return parts.join('');
}

function benchNephio(n: number, runs: number): void {
  const input = nephioPackage(n);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = timeRun(process.execPath, [bin], input);
    if (r.status !== 0) throw new Error(`fn exited ${r.status}: ${r.stdout.slice(-800)}`);
    // the last interface of network 9: the 100th address of that cluster subnet, .1 the gateway
    if (!r.stdout.includes('prefix: 10.9.0.101/24') || !r.stdout.includes('prefix: 2001:db8:9::65/64'))
      throw new Error('unexpected allocation in the Nephio output');
    times.push(r.ms);
  }
  console.log(`BENCH fn-nephio-1k-interfaces n=${runs} ms=${f1(median(times))} interfaces=${n} claims=${3 * n}`);
}

function timeRun(cmd: string, args: string[], input: string): { ms: number; stdout: string; status: number | null } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 30, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, stdout: r.stdout, status: r.status };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f1 = (x: number): string => x.toFixed(1);

function bench1(runs: number): void {
  const input = packageList(1);
  const fn: number[] = [];
  const node: number[] = [];
  timeRun(process.execPath, [bin], input); // warm the file cache
  for (let i = 0; i < runs; i++) {
    node.push(timeRun(process.execPath, ['-e', '0'], '').ms);
    const r = timeRun(process.execPath, [bin], input);
    if (r.status !== 0) throw new Error(`fn exited ${r.status}: ${r.stdout.slice(-500)}`);
    fn.push(r.ms);
  }
  const m = median(fn);
  const b = median(node);
  console.log(`BENCH fn-1-request n=${runs} ms=${f1(m)} node_ms=${f1(b)} ratio=${(m / b).toFixed(2)}`);
}

function benchMany(n: number, runs: number): void {
  const input = packageList(n);
  const first: number[] = [];
  let rendered = '';
  for (let i = 0; i < runs; i++) {
    const r = timeRun(process.execPath, [bin], input);
    if (r.status !== 0) throw new Error(`fn exited ${r.status}: ${r.stdout.slice(-500)}`);
    first.push(r.ms);
    rendered = r.stdout;
  }
  if (!rendered.includes('prefix: 10.0.39.17/16')) throw new Error('unexpected allocation in the 10k output');
  console.log(`BENCH fn-10k-requests n=${runs} ms=${f1(median(first))} requests=${n} bytes_in=${input.length}`);
  // Re-render: what the first run wrote comes back in (results stripped).
  const again = rendered.replace(/\nresults:\n[\s\S]*$/, '\n');
  const second: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = timeRun(process.execPath, [bin], again);
    if (r.status !== 0) throw new Error(`fn exited ${r.status}`);
    second.push(r.ms);
  }
  console.log(`BENCH fn-10k-rerender n=${runs} ms=${f1(median(second))} requests=${n} bytes_in=${again.length}`);
}

function benchUnowned(n: number, runs: number): void {
  const input = packageList(n, n);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = timeRun(process.execPath, [bin], input);
    if (r.status !== 0) throw new Error(`fn exited ${r.status}: ${r.stdout.slice(-500)}`);
    if (!r.stdout.includes(`    name: config-${n - 1}\n`)) throw new Error('unowned resources missing from the output');
    times.push(r.ms);
  }
  console.log(`BENCH fn-10k-unowned n=${runs} ms=${f1(median(times))} requests=${n} unowned=${n} bytes_in=${input.length}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (wanted('fn-1-request')) bench1(Number(process.env.FN_BENCH_RUNS ?? 21));
  if (wanted('fn-10k-requests') || wanted('fn-10k-rerender')) benchMany(10_000, Number(process.env.FN_BENCH_RUNS_10K ?? 5));
  if (wanted('fn-10k-unowned')) benchUnowned(10_000, Number(process.env.FN_BENCH_RUNS_10K ?? 5));
  if (wanted('fn-nephio-1k-interfaces')) benchNephio(1_000, Number(process.env.FN_BENCH_RUNS ?? 21));
}
