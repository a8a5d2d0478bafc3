// Figures for the function's image: build time, size, and what a run costs through the
// container vs. exec. Prints BENCH lines.
//   node --import tsx scripts/image/measure.ts [--runs 10]
// Builds in a private podman setup under /tmp and removes it at the end. Needs root (image
// mount), podman, buildah, runc and kpt; run `npm run build` first for the --exec figures.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createPodman, missingContainerTools } from './podman.js';
import { buildStandin } from './standin.js';
import { buildFunctionImage, inspectImage } from './function-image.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const runs = Math.max(1, Number(values.runs));
const missing = missingContainerTools();
if (missing) {
  console.error(`measure: ${missing}`);
  process.exit(1);
}

const repo = fileURLToPath(new URL('../..', import.meta.url));
const TAG = 'localhost/ipam-injector:measure';
const work = mkdtempSync(join(tmpdir(), 'ipam-measure-'));
const p = createPodman();
try {
  const base = buildStandin(p);
  const image = buildFunctionImage(p, { context: repo, tag: TAG, buildImage: base.build, runtimeImage: base.slim });
  const size = inspectImage(p, TAG).sizeBytes;
  const baseSize = inspectImage(p, base.slim).sizeBytes;
  console.log(
    `BENCH image-build standin_s=${base.seconds.toFixed(2)} function_s=${image.seconds.toFixed(2)} podman_build_s=${image.buildSeconds.toFixed(2)} storage=${p.driver}`,
  );
  console.log(`BENCH image-size total_mb=${mb(size)} node_base_mb=${mb(baseSize)} function_layer_mb=${mb(size - baseSize)}`);

  // One request: the per-run overhead is what differs between the ways of running.
  const pkg = join(work, 'pkg');
  mkdirSync(pkg);
  writeFileSync(join(pkg, 'Kptfile'), 'apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: measure\n');
  writeFileSync(
    join(pkg, 'ipam.yaml'),
    [
      'apiVersion: ipam.resource.nephio.org/v1alpha1',
      'kind: NetworkInstance',
      'metadata: {name: vpc}',
      'spec: {prefixes: [{prefix: 10.0.0.0/8}]}',
      '---',
      'apiVersion: ipam.resource.nephio.org/v1alpha1',
      'kind: IPPrefix',
      'metadata: {name: n3, labels: {nephio.org/network-name: n3}}',
      'spec: {kind: network, prefix: 10.0.1.1/24, networkInstance: {name: vpc}}',
      '---',
      'apiVersion: ipam.resource.nephio.org/v1alpha1',
      'kind: IPClaim',
      'metadata: {name: upf-n3}',
      'spec: {kind: network, selector: {matchLabels: {nephio.org/network-name: n3}}, networkInstance: {name: vpc}}',
      '',
    ].join('\n'),
  );
  const env = { ...p.env, KPT_FN_RUNTIME: 'podman' };
  const timeKpt = (how: string[]) =>
    timed(runs, (i) => {
      const copy = join(work, `run-${how[0]}-${i}`);
      cpSync(pkg, copy, { recursive: true });
      return () => spawnSync('kpt', ['fn', 'eval', copy, ...how], { env, encoding: 'utf8' });
    });
  report('kpt-eval-image', timeKpt(['--image', TAG]));
  report('kpt-eval-exec', timeKpt(['--exec', join(repo, 'bin/ipam-injector')]));

  // Without kpt: the container's own start vs. node's.
  const list = spawnSync('kpt', ['fn', 'source', pkg], { encoding: 'utf8' }).stdout;
  report(
    'podman-run-fn',
    timed(
      runs,
      () => () =>
        spawnSync('podman', ['run', '--rm', '-i', '--network', 'none', '--user', 'nobody', TAG], {
          env: p.env,
          input: list,
          encoding: 'utf8',
        }),
    ),
  );
  report(
    'node-fn',
    timed(runs, () => () => spawnSync(process.execPath, [join(repo, 'bin/ipam-injector')], { input: list, encoding: 'utf8' })),
  );
  report(
    'node-e0',
    timed(runs, () => () => spawnSync(process.execPath, ['-e', '0'], { encoding: 'utf8' })),
  );
} finally {
  p.cleanup();
  rmSync(work, { recursive: true, force: true });
}

type Result = { status: number | null; stderr: string };

/** Times `runs` runs; `prepare(i)` does untimed setup and returns the timed action. */
function timed(n: number, prepare: (i: number) => () => Result): number[] {
  const secs: number[] = [];
  for (let i = 0; i < n; i++) {
    const action = prepare(i);
    const t = process.hrtime.bigint();
    const r = action();
    secs.push(Number(process.hrtime.bigint() - t) / 1e9);
    if (r.status !== 0) throw new Error(`run ${i} failed (exit ${r.status}):\n${r.stderr}`);
  }
  return secs.sort((a, b) => a - b);
}

function report(name: string, secs: number[]): void {
  const median = secs[Math.floor(secs.length / 2)];
  console.log(
    `BENCH ${name} n=${secs.length} median_s=${median.toFixed(3)} min_s=${secs[0].toFixed(3)} max_s=${secs[secs.length - 1].toFixed(3)}`,
  );
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(2);
}
