// The function's container image, built from the real Dockerfile (stand-in node base, podman,
// offline) and run the ways users run it: `kpt fn eval --image`, `kpt fn render` with an
// `image:` pipeline (what Porch does), a locked-down `podman run`, and `serve` in a container.
// One image is built once and shared by every case.
import { test } from 'uvu';
import { skipTest } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { createPodman, missingContainerTools, type Podman } from '../../scripts/image/podman.js';
import { buildStandin } from '../../scripts/image/standin.js';
import { buildFunctionImage, inspectImage, type ImageFacts } from '../../scripts/image/function-image.js';
import { copyPackage, kpt, readPackage, writePackage } from './kpt.js';
import { PACKAGE, FN_CONFIG, UNKNOWN_INSTANCE } from './package.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const TAG = 'localhost/ipam-injector:test';
const work = mkdtempSync(join(tmpdir(), 'ipam-image-test-'));
let podman: Podman | undefined;
let facts: ImageFacts | undefined;

// Storage holds overlay mounts: remove it however the process ends (Ctrl-C, a runner's SIGTERM).
function cleanupAll(): void {
  podman?.cleanup();
  podman = undefined;
  rmSync(work, { recursive: true, force: true });
}
process.once('exit', cleanupAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    cleanupAll();
    process.kill(process.pid, signal);
  });
}

const missing = missingContainerTools();
if (missing) {
  if (process.env.CI === 'true' || process.env.CI === '1') {
    test(`container tools are available: ${missing}`, () => {
      throw new Error(`the image tests cannot run: ${missing}`);
    });
  } else {
    skipTest('container tools are available', `the image tests did not run: ${missing}`);
  }
} else {
  test.after(() => {
    podman?.cleanup();
    podman = undefined;
  });

  test('image builds from the real Dockerfile: bundle only, no dev dependencies, uid 65534', () => {
    podman = createPodman();
    const base = buildStandin(podman);
    const image = buildFunctionImage(podman, { context: repo, tag: TAG, buildImage: base.build, runtimeImage: base.slim });
    facts = inspectImage(podman, TAG);
    const baseFacts = inspectImage(podman, base.slim);
    console.log(
      `image: stand-in bases ${base.seconds.toFixed(1)}s, function image ${image.seconds.toFixed(1)}s ` +
        `(podman build ${image.buildSeconds.toFixed(1)}s); ${(facts.sizeBytes / 1e6).toFixed(1)} MB, ` +
        `of which ${((facts.sizeBytes - baseFacts.sizeBytes) / 1e6).toFixed(2)} MB above the node base; storage ${podman.driver}`,
    );

    assert.is(facts.user, '65534:65534');
    assert.equal(facts.entrypoint, ['node', '/app/bin/ipam-injector']);
    for (const f of ['bin/ipam-injector', 'dist/ipam-injector.mjs', 'package.json']) {
      assert.ok(facts.appFiles.includes(f), `/app/${f} is in the image`);
    }
    assert.is(JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).type, 'module');
    const unwanted = facts.appFiles.filter((f) => /^(src|test|scripts|bench|fixtures|proto)\/|\.map$|\.ts$/.test(f));
    assert.equal(unwanted, [], 'no sources, tests or source maps in the image');
    // Only production packages, and only those the bundle does not inline (today: none).
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    const modules = facts.appFiles.filter((f) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(f) && !/^node_modules\/@[^/]+$/.test(f));
    const dev = modules.filter((m) => m.replace('node_modules/', '') in pkg.devDependencies);
    assert.equal(dev, [], 'no dev dependencies in the image');
    if (modules.length) console.log(`image node_modules: ${modules.join(', ')}`);
    // The runtime base adds nothing but node: no npm, no shell.
    assert.not.ok(baseFacts.rootEntries.includes('bin'), 'no /bin (no shell) in the runtime base');
  });

  test('kpt fn eval --image allocates, and matches kpt fn eval --exec byte for byte', () => {
    const env = requireImage();
    const src = writePackage(PACKAGE, work, 'eval-src');
    const viaImage = copyPackage(src, join(work, 'eval-image'));
    const viaExec = copyPackage(src, join(work, 'eval-exec'));
    const fnConfig = writePackage({ 'fn-config.yaml': FN_CONFIG }, work, 'eval-config');

    const img = kpt(['fn', 'eval', viaImage, '--image', TAG, '--fn-config', join(fnConfig, 'fn-config.yaml')], env);
    assert.is(img.status, 0, `kpt fn eval --image failed:\n${img.stderr}`);
    const exe = kpt(['fn', 'eval', viaExec, '--exec', join(repo, 'bin/ipam-injector'), '--fn-config', join(fnConfig, 'fn-config.yaml')]);
    assert.is(exe.status, 0, `kpt fn eval --exec failed:\n${exe.stderr}`);
    console.log(`kpt fn eval: --image ${img.seconds.toFixed(2)}s, --exec ${exe.seconds.toFixed(2)}s`);

    assertAllocated(viaImage);
    assert.equal(readPackage(viaImage), readPackage(viaExec), 'container and exec give the same package');
  });

  test('kpt fn render with an image: pipeline allocates, records conditions, and re-renders unchanged', () => {
    const env = requireImage();
    const pkg = writePackage(
      {
        ...PACKAGE,
        Kptfile: PACKAGE.Kptfile + `pipeline:\n  mutators:\n  - image: ${TAG}\n    configPath: fn-config.yaml\n`,
        'fn-config.yaml': FN_CONFIG,
      },
      work,
      'render',
    );
    const first = kpt(['fn', 'render', pkg], env);
    assert.is(first.status, 0, `kpt fn render failed:\n${first.stderr}`);
    assertAllocated(pkg);
    const kptfile = docs(join(pkg, 'Kptfile'))[0] as { status: { conditions: { type: string; status: string }[] } };
    assert.equal(
      kptfile.status.conditions.map((c) => `${c.type}=${c.status}`),
      [
        'ipam.nephio.org.IPAMAllocation.upf-n3.default.Injected=True',
        'ipam.nephio.org.IPAMAllocation.smf-n3.default.Injected=True',
        'ipam.resource.nephio.org/v1alpha1.IPClaim.upf-n4=True',
      ],
    );
    const before = readPackage(pkg);
    const second = kpt(['fn', 'render', pkg], env);
    assert.is(second.status, 0, `second kpt fn render failed:\n${second.stderr}`);
    assert.equal(readPackage(pkg), before, 'a second render changes nothing');
  });

  test('an error in the container exits non-zero with a result naming the resource; package unchanged', () => {
    const env = requireImage();
    const pkg = writePackage({ ...PACKAGE, 'bad.yaml': UNKNOWN_INSTANCE }, work, 'error');
    const before = readPackage(pkg);
    const r = kpt(['fn', 'eval', pkg, '--image', TAG], env);
    assert.is.not(r.status, 0, 'kpt reports the failure');
    assert.match(r.stderr, /\[error\]/);
    assert.match(r.stderr, /lost-n3/, 'the result names the failing request');
    assert.match(r.stderr, /vpc-nowhere/, 'and the unknown network instance');
    assert.equal(readPackage(pkg), before, 'package unchanged');
  });

  test("kpt fn doc --image prints the function's documentation (its --help: the README's Overview, Usage, FunctionConfig, Examples)", () => {
    const env = requireImage();
    const r = kpt(['fn', 'doc', '--image', TAG], env);
    assert.is(r.status, 0, r.stderr);
    for (const part of ['allocates IP addresses', 'KPT FN RENDER', 'FUNCTIONCONFIG', 'examples/upf'])
      assert.ok(r.stdout.includes(part), `kpt fn doc shows ${part}`);
  });

  test('locked down as in a restricted pod: read-only root, no capabilities, no network, nobody', () => {
    const p = requirePodman();
    const input = resourceList(PACKAGE['alloc.yaml'] + '---\n' + PACKAGE['space.yaml']);
    const r = p.podman(
      [
        'run',
        '--rm',
        '-i',
        '--network',
        'none',
        '--read-only',
        '--cap-drop',
        'ALL',
        '--security-opt',
        'no-new-privileges',
        '--user',
        '65534:65534',
        TAG,
      ],
      { input, allowFailure: true },
    );
    assert.is(r.status, 0, `function failed in a locked-down container:\n${r.stderr}`);
    const out = parseAllDocuments(r.stdout)[0].toJS() as { items: { metadata: { name: string }; status?: { prefix: string } }[] };
    const got = Object.fromEntries(out.items.filter((i) => i.status).map((i) => [i.metadata.name, i.status!.prefix]));
    assert.equal(got, { 'upf-n3': '10.0.1.2/24', 'smf-n3': '10.0.1.3/24' });
  });

  test('serve runs in the image: seeded, answers get, stops cleanly on SIGTERM', async () => {
    const p = requirePodman();
    const seedDir = writePackage({ 'space.yaml': PACKAGE['space.yaml'] }, work, 'seed');
    chmodSync(work, 0o755);
    chmodSync(seedDir, 0o755);
    chmodSync(join(seedDir, 'space.yaml'), 0o644);
    const name = `ipam-serve-${process.pid}`;
    p.podman([
      'run',
      '-d',
      '--name',
      name,
      '--network',
      'none',
      '--read-only',
      '--cap-drop',
      'ALL',
      '--volume',
      `${seedDir}:/seed:ro`,
      '--tmpfs',
      '/data:rw,size=16m,mode=1777',
      TAG,
      'serve',
      '--listen',
      '127.0.0.1:9090',
      '--data',
      '/data',
      '--seed',
      '/seed/space.yaml',
      '--metrics',
      '127.0.0.1:9091',
    ]);
    try {
      // Inside the container's own network namespace: the server is reachable only there.
      const get = await eventually(() => {
        const state = p.podman(['inspect', '--format', '{{.State.Status}}', name]).stdout.trim();
        if (state !== 'running') {
          throw new Stop(`serve exited in the container (${state}):\n${p.podman(['logs', name], { allowFailure: true }).stderr}`);
        }
        const r = p.podman(
          ['exec', name, 'node', '/app/bin/ipam-injector', 'get', 'network-instances', '--server', '127.0.0.1:9090', '-o', 'json'],
          { allowFailure: true },
        );
        if (r.status !== 0)
          throw new Error(
            `get failed (exit ${r.status}): ${r.stderr}\nserver log:\n${p.podman(['logs', name], { allowFailure: true }).stderr}`,
          );
        return r.stdout;
      }, 20_000);
      assert.match(get, /vpc-ran/, 'the seeded network instance is served');
      const health = p.podman(
        [
          'exec',
          name,
          'node',
          '-e',
          "fetch('http://127.0.0.1:9091/healthz').then(r => r.text().then(t => { console.log(r.status, t); process.exit(r.ok ? 0 : 1); }))",
        ],
        { allowFailure: true },
      );
      assert.is(health.status, 0, `healthz: ${health.stdout} ${health.stderr}`);
      p.podman(['stop', '--time', '10', name]);
      const exit = p.podman(['inspect', '--format', '{{.State.ExitCode}}', name]).stdout.trim();
      assert.is(exit, '0', 'graceful shutdown exits 0 on SIGTERM');
    } finally {
      p.podman(['rm', '--force', '--time', '0', name], { allowFailure: true });
    }
  });
}

function requirePodman(): Podman {
  if (!podman || !facts) throw new Error('the image was not built (see the first test)');
  return podman;
}

function requireImage(): NodeJS.ProcessEnv {
  return { ...requirePodman().env, KPT_FN_RUNTIME: 'podman' };
}

function docs(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS());
}

function assertAllocated(pkg: string): void {
  const byName = (file: string) =>
    Object.fromEntries(
      (docs(join(pkg, file)) as { metadata: { name: string }; status?: { prefix?: string; gateway?: string } }[]).map((d) => [
        d.metadata.name,
        d.status,
      ]),
    );
  const alloc = byName('alloc.yaml');
  assert.equal(alloc['upf-n3'], { prefix: '10.0.1.2/24', gateway: '10.0.1.1' });
  assert.equal(alloc['smf-n3'], { prefix: '10.0.1.3/24', gateway: '10.0.1.1' });
  assert.equal(byName('claim.yaml')['upf-n4'], { prefix: '172.16.5.2/24', gateway: '172.16.5.1' });
  const config = readFileSync(join(pkg, 'config.yaml'), 'utf8');
  assert.match(config, /n3-address: 10\.0\.1\.2\n/, 'address injected into the ConfigMap');
  assert.match(config, /mode: 0755 /, '0755 survives unquoted');
  assert.match(config, /^# consumer of the addresses/, 'comments survive');
}

function resourceList(yamlText: string): string {
  const items = parseAllDocuments(yamlText).map((d) => d.toJS());
  return stringify({ apiVersion: 'config.kubernetes.io/v1', kind: 'ResourceList', items });
}

/** Thrown inside `eventually` to give up at once. */
class Stop extends Error {}

async function eventually<T>(fn: () => T, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return fn();
    } catch (e) {
      if (e instanceof Stop || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

test.run();
