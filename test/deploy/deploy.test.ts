// The server's deployment package (deploy/): fetched and rendered with real kpt, built with
// real kustomize (kubectl kustomize), checked for the wiring a cluster would otherwise catch
// late (selectors, named ports, env references, mounts, probes, security), checked against
// the flags `serve` really accepts, and its server command run against a real etcd.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse } from 'yaml';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { kpt, readPackage } from '../image/kpt.js';
import { freePorts, requireEtcd, startEtcd } from '../support/etcd.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const deploy = join(repo, 'deploy');
const work = mkdtempSync(join(tmpdir(), 'ipam-deploy-test-'));
process.once('exit', () => rmSync(work, { recursive: true, force: true }));

// kustomize's output is walked ad hoc; each field read is asserted on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;
type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: Loose;
};

const RESOURCES = [
  'ConfigMap/ipam-injector-server',
  'Deployment/ipam-injector-server',
  'Namespace/ipam-system',
  'PodDisruptionBudget/ipam-injector-server',
  'Service/ipam-injector-server',
  'ServiceAccount/ipam-injector-server',
];
const COMPONENTS = ['tls', 'mtls', 'etcd-tls', 'peer-tls', 'token', 'seed'];

test('kpt pkg get fetches it from git, kpt fn render leaves it unchanged, kpt live init prepares it', () => {
  const pkg = fetchPackage('get');
  const fetched = readPackage(pkg);
  const source = readPackage(deploy);
  for (const [file, text] of Object.entries(source)) {
    if (file === 'Kptfile') continue;
    assert.is(withoutUpstreamIds(fetched[file] ?? ''), text, `${file} arrives unchanged (but for kpt's upstream ids)`);
  }
  const kptfile = parse(fetched.Kptfile) as { upstreamLock?: { git?: { commit?: string; directory?: string } } };
  assert.match(kptfile.upstreamLock?.git?.commit ?? '', /^[0-9a-f]{40}$/, 'upstream commit recorded');
  assert.is(kptfile.upstreamLock?.git?.directory, '/deploy');

  const before = readPackage(pkg);
  const render = kpt(['fn', 'render', pkg]);
  assert.is(render.status, 0, `kpt fn render failed:\n${render.stderr}`);
  assert.equal(readPackage(pkg), before, 'rendering changes nothing: the files are in kpt’s own form');

  // What kpt sees as the package: the resources, not the kustomize components (.krmignore).
  const src = kpt(['fn', 'source', pkg]);
  assert.is(src.status, 0, src.stderr);
  const items = (parse(src.stdout) as { items: Obj[] }).items;
  const seen = items
    .filter((i) => !isLocalConfig(i))
    .map((i) => `${i.kind}/${i.metadata.name}`)
    .sort();
  assert.equal(seen, RESOURCES);
  assert.ok(
    items.some((i) => i.kind === 'Kustomization' && isLocalConfig(i)),
    'kustomization.yaml is local-config',
  );

  const init = kpt(['live', 'init', pkg]);
  assert.is(init.status, 0, `kpt live init failed:\n${init.stderr}`);
  assert.ok(existsSync(join(pkg, 'resourcegroup.yaml')), 'inventory written for kpt live apply');
});

test('the base: two replicas, gRPC health probes, locked-down pods, every reference resolves', () => {
  const objs = kustomize(deploy);
  assert.equal(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort(), RESOURCES);
  for (const o of objs) if (o.kind !== 'Namespace') assert.is(o.metadata.namespace, 'ipam-system', `${o.kind} namespace`);

  const d = one(objs, 'Deployment');
  assert.is(d.spec.replicas, 2);
  const c = d.spec.template.spec.containers[0];
  assert.is(c.args[0], 'serve');
  assert.ok(c.args.includes('--store=etcd'));
  assert.ok(c.args.includes('--etcd-endpoints=$(ETCD_ENDPOINTS)'));
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    assert.equal(c[probe].grpc, { port: 9090 }, `${probe} uses gRPC health on the gRPC port`);
  }
  assert.ok(listenPort(c.args, '--listen') === 9090, 'the probes target the port the server listens on');

  // Non-root as the image's own user, nothing writable but /tmp, nothing privileged.
  const dockerUser = /^USER\s+(\d+):(\d+)$/m.exec(readFileSync(join(repo, 'Dockerfile'), 'utf8'));
  assert.ok(dockerUser, 'the Dockerfile sets a numeric USER');
  const pod = d.spec.template.spec;
  assert.is(pod.securityContext.runAsNonRoot, true);
  assert.is(String(pod.securityContext.runAsUser), dockerUser![1]);
  assert.is(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
  assert.is(pod.automountServiceAccountToken, false);
  assert.equal(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  const tls = pod.volumes.filter((v: Loose) => v.secret);
  assert.equal(
    tls.map((v: Loose) => [v.secret.secretName, v.secret.optional]),
    [
      ['ipam-injector-server-tls', true],
      ['ipam-injector-etcd-client', true],
      ['ipam-injector-peer-tls', true],
    ],
    'TLS secrets are mounted but optional: pods start without them',
  );

  assertWiring(objs);
});

test('components: TLS, mTLS, etcd TLS, peer TLS, tokens, seed, with namespace, image and replicas overrides', () => {
  const base = fetchPackage('overlay-base');
  const overlay = join(work, 'overlay');
  mkdirSync(overlay, { recursive: true });
  writeFileSync(
    join(overlay, 'kustomization.yaml'),
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'namespace: ipam-prod',
      'resources:',
      '- ../overlay-base',
      'components:',
      ...COMPONENTS.map((c) => `- ../overlay-base/components/${c}`),
      'images:',
      '- name: ipam-injector',
      '  newName: registry.example.com/ipam-injector',
      '  newTag: 0.2.0',
      'replicas:',
      '- name: ipam-injector-server',
      '  count: 3',
      '',
    ].join('\n'),
  );
  assert.ok(existsSync(base));
  const objs = kustomize(overlay);
  for (const o of objs)
    assert.is(o.kind === 'Namespace' ? o.metadata.name : o.metadata.namespace, 'ipam-prod', `${o.kind}/${o.metadata.name}`);
  const d = one(objs, 'Deployment');
  const pod = d.spec.template.spec;
  const c = pod.containers[0];
  assert.is(d.spec.replicas, 3);
  assert.is(c.image, 'registry.example.com/ipam-injector:0.2.0');
  for (const flag of [
    '--tls-cert=',
    '--tls-key=',
    '--client-ca=',
    '--etcd-ca=',
    '--etcd-cert=',
    '--etcd-key=',
    '--peer-cert=',
    '--peer-key=',
    '--peer-ca=',
    '--token-file=',
    '--seed=',
  ]) {
    assert.ok(
      c.args.some((a: string) => a.startsWith(flag)),
      `${flag} set`,
    );
  }
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    assert.equal(c[probe].httpGet, { path: '/healthz', port: 'metrics' }, `${probe}: kubelet gRPC probes cannot speak TLS`);
  }
  const secrets = Object.fromEntries(
    pod.volumes.filter((v: Loose) => v.secret).map((v: Loose) => [v.secret.secretName, v.secret.optional ?? false]),
  );
  assert.equal(secrets, {
    'ipam-injector-server-tls': false,
    'ipam-injector-etcd-client': false,
    'ipam-injector-peer-tls': false,
    'ipam-injector-server-tokens': false,
  });
  const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'ipam-injector-server')!;
  for (const url of cm.data.ETCD_ENDPOINTS.split(',')) assert.match(url, /^https:\/\//, 'etcd over TLS');

  // The seed ConfigMap carries a content hash, is what the volume references, and parses.
  const seed = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('ipam-injector-seed-'));
  assert.ok(seed, 'generated seed ConfigMap');
  assert.ok(
    pod.volumes.some((v: Loose) => v.configMap?.name === seed!.metadata.name),
    'seed volume refers to the hashed name',
  );
  const kinds = parseAllDocuments(seed!.data['seed.yaml']).map((doc) => (doc.toJS() as Obj).kind);
  assert.equal(kinds, ['NetworkInstance', 'IPPrefix']);

  assertWiring(objs);
});

test('every serve flag the package uses is one `ipam-injector serve` accepts', () => {
  const help = spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'src/cli/main.ts'), 'serve', '--help'], {
    encoding: 'utf8',
    cwd: repo,
  });
  assert.is(help.status, 0, `serve --help failed: ${help.stderr}`);
  const accepted = new Set([...help.stdout.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]));
  const base = one(kustomize(deploy), 'Deployment').spec.template.spec.containers[0].args as string[];
  const componentArgs = COMPONENTS.flatMap((c) =>
    [...readFileSync(join(deploy, 'components', c, 'kustomization.yaml'), 'utf8').matchAll(/value: (--[a-z0-9-]+)=/g)].map((m) => m[1]),
  );
  const used = [
    ...new Set([...base.filter((a) => a.startsWith('--')), ...componentArgs].map((a) => a.replace(/^--/, '').replace(/=.*$/, ''))),
  ];
  const unknown = used.filter((f) => !accepted.has(f));
  assert.equal(unknown, [], `flags the server does not accept (serve --help lists: ${[...accepted].join(', ')})`);
});

if (requireEtcd(test)) {
  test('the Deployment’s server command runs against a real etcd and reports SERVING over gRPC health', async () => {
    const etcd = await startEtcd({ members: 1 });
    const objs = kustomize(deploy);
    const c = one(objs, 'Deployment').spec.template.spec.containers[0];
    const cm = objs.find((o) => o.kind === 'ConfigMap')!;
    const [grpcPort, metricsPort, peerPort] = await freePorts(3);
    // The pod's environment, with the cluster's names swapped for this machine's loopback.
    const env: Record<string, string> = { ...cm.data, ETCD_ENDPOINTS: etcd.endpoints.join(','), POD_IP: '127.0.0.1' };
    const args = (c.args as string[]).map((a) =>
      a
        .replace(/\$\(([A-Z_]+)\)/g, (_, v: string) => env[v] ?? `$(${v})`)
        .replace('--listen=0.0.0.0:9090', `--listen=127.0.0.1:${grpcPort}`)
        .replace('--metrics=0.0.0.0:9091', `--metrics=127.0.0.1:${metricsPort}`)
        .replace('--peer-listen=0.0.0.0:9092', `--peer-listen=127.0.0.1:${peerPort}`)
        .replace('--peer-advertise=127.0.0.1:9092', `--peer-advertise=127.0.0.1:${peerPort}`),
    );
    assert.not.ok(
      args.some((a) => a.includes('0.0.0.0')),
      'nothing listens outside loopback',
    );
    const server = spawn(process.execPath, [join(repo, 'bin/ipam-injector'), ...args], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    server.stdout.on('data', (d) => (log += d));
    server.stderr.on('data', (d) => (log += d));
    const exited = new Promise<number | null>((r) => server.once('exit', (code) => r(code)));
    try {
      const status = await healthUntilServing(`127.0.0.1:${grpcPort}`, exited, 20_000);
      assert.is(status, 'SERVING', `health: ${status}\nserver log:\n${log}`);
      server.kill('SIGTERM');
      assert.is(await exited, 0, `SIGTERM exits 0\nserver log:\n${log}`);
    } finally {
      server.kill('SIGKILL');
      await etcd.stop();
    }
  });
}

/** Cross-references a cluster would reject or silently break on. */
function assertWiring(objs: Obj[]): void {
  const d = one(objs, 'Deployment');
  const pod = d.spec.template.spec;
  const labels = d.spec.template.metadata.labels as Record<string, string>;
  const matches = (sel: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);
  assert.ok(matches(d.spec.selector.matchLabels), 'Deployment selector matches its pods');
  assert.ok(matches(one(objs, 'Service').spec.selector), 'Service selects the pods');
  assert.ok(matches(one(objs, 'PodDisruptionBudget').spec.selector.matchLabels), 'PDB selects the pods');
  assert.ok(
    objs.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === pod.serviceAccountName),
    'ServiceAccount exists',
  );

  const c = pod.containers[0];
  const portNames = new Set((c.ports as { name: string }[]).map((p) => p.name));
  for (const p of one(objs, 'Service').spec.ports)
    assert.ok(portNames.has(p.targetPort), `Service port ${p.name} targets a named container port`);
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    const port = c[probe].grpc?.port ?? c[probe].httpGet?.port;
    assert.ok(
      portNames.has(port) || (c.ports as { containerPort: number }[]).some((p) => p.containerPort === port),
      `${probe} port ${port} is a container port`,
    );
  }
  const envNames = new Set((c.env as { name: string }[]).map((e) => e.name));
  for (const a of c.args as string[])
    for (const m of a.matchAll(/\$\(([A-Za-z_]+)\)/g)) assert.ok(envNames.has(m[1]), `$(${m[1]}) is defined in env`);
  for (const e of c.env as { name: string; valueFrom?: { configMapKeyRef?: { name: string; key: string } } }[]) {
    const ref = e.valueFrom?.configMapKeyRef;
    if (!ref) continue;
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === ref.name);
    assert.ok(cm && ref.key in cm.data, `env ${e.name}: ConfigMap ${ref.name} has key ${ref.key}`);
  }
  const volumes = new Set((pod.volumes as { name: string }[]).map((v) => v.name));
  const mounts = c.volumeMounts as { name: string; mountPath: string }[];
  for (const m of mounts) assert.ok(volumes.has(m.name), `mount ${m.mountPath} has a volume`);
  // Every file the server is pointed at lies in a mounted volume.
  for (const a of c.args as string[]) {
    const file = /^--[a-z-]+=(\/.+)$/.exec(a)?.[1];
    if (file)
      assert.ok(
        mounts.some((m) => file.startsWith(m.mountPath + '/')),
        `${a}: ${file} is inside a mounted volume`,
      );
  }
}

function fetchPackage(name: string): string {
  // A git repository holding deploy/, as users would fetch it from the project's repository.
  const src = join(work, `${name}-repo`);
  cpSync(deploy, join(src, 'deploy'), { recursive: true });
  const git = (...args: string[]) => {
    const r = spawnSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd: src, encoding: 'utf8' });
    assert.is(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  };
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'deploy package');
  const dest = join(work, name);
  const r = kpt(['pkg', 'get', `file://${src}.git/deploy@main`, dest]);
  assert.is(r.status, 0, `kpt pkg get failed:\n${r.stderr}`);
  return dest;
}

/** Drops what kpt pkg get adds for later merges: upstream-identifier annotations, kpt-merge comments. */
function withoutUpstreamIds(text: string): string {
  return text
    .replace(/^(\s*metadata:) # kpt-merge: .*$/gm, '$1')
    .replace(/^( *)annotations:\n\1  internal\.kpt\.dev\/upstream-identifier: .*\n(?!\1  )/gm, '')
    .replace(/^ *internal\.kpt\.dev\/upstream-identifier: .*\n/gm, '');
}

function kustomize(dir: string): Obj[] {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  assert.is(r.status, 0, `kubectl kustomize ${dir} failed:\n${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
}

function one(objs: Obj[], kind: string): Obj {
  const found = objs.filter((o) => o.kind === kind);
  assert.is(found.length, 1, `one ${kind}`);
  return found[0];
}

function isLocalConfig(o: Obj): boolean {
  return (o.metadata as { annotations?: Record<string, string> }).annotations?.['config.kubernetes.io/local-config'] === 'true';
}

function listenPort(args: string[], flag: string): number {
  const v = args.find((a) => a.startsWith(`${flag}=`))?.split('=')[1] ?? '';
  return Number(v.split(':').pop());
}

async function healthUntilServing(address: string, exited: Promise<number | null>, timeoutMs: number): Promise<string> {
  const Client = grpc.makeGenericClientConstructor(healthService as grpc.ServiceDefinition, 'Health');
  const client = new Client(address, grpc.credentials.createInsecure());
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const status = await new Promise<string>((resolve) => {
        (client as unknown as { check: (req: object, opts: object, cb: (e: Error | null, r?: { status: string }) => void) => void }).check(
          { service: '' },
          { deadline: Date.now() + 1000 },
          (e, r) => resolve(e ? `error: ${e.message}` : String(r?.status)),
        );
      });
      if (status === 'SERVING' || done || Date.now() > deadline) return done ? `server exited (${status})` : status;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    client.close();
  }
}

test.run();
