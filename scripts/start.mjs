#!/usr/bin/env node
// npm start: renders the example package examples/upf with the built-in
// backend in a temporary copy and prints what was allocated and injected. Uses the real
// `kpt fn render` when kpt is on PATH; otherwise it runs the function the way kpt would
// (a ResourceList on stdin) so that the example works without kpt too.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'ipam-injector');

function newest(dir) {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

// Build when the bundle is missing or older than the sources.
const bundle = join(root, 'dist', 'ipam-injector.mjs');
if (!existsSync(bundle) || statSync(bundle).mtimeMs < newest(join(root, 'src'))) {
  const b = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}

const tmp = mkdtempSync(join(tmpdir(), 'ipam-injector-example-'));
const pkg = join(tmp, 'upf');
cpSync(join(root, 'examples', 'upf'), pkg, { recursive: true, filter: (src) => !src.endsWith('/.expected') });

/** The package's YAML files, Kptfile first (what kpt reads). */
function packageFiles() {
  const list = (dir) => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? list(join(dir, n)) : [join(dir, n)]));
  return [
    'Kptfile',
    ...list(pkg)
      .map((p) => relative(pkg, p))
      .filter((f) => /\.ya?ml$/.test(f))
      .sort(),
  ];
}

/** Without kpt: build the ResourceList kpt would send, run the function, read its output. */
function renderWithoutKpt() {
  const items = [];
  let fnConfig;
  const kptfile = parse(readFileSync(join(pkg, 'Kptfile'), 'utf8'));
  const configPath = kptfile.pipeline?.mutators?.[0]?.configPath;
  for (const f of packageFiles()) {
    parseAllDocuments(readFileSync(join(pkg, f), 'utf8')).forEach((d, index) => {
      const o = d.toJS();
      if (f === configPath) fnConfig = o;
      o.metadata ??= {};
      o.metadata.annotations = { ...o.metadata.annotations, 'config.kubernetes.io/path': f, 'config.kubernetes.io/index': String(index) };
      items.push(o);
    });
  }
  const input = JSON.stringify({ apiVersion: 'config.kubernetes.io/v1', kind: 'ResourceList', items, functionConfig: fnConfig });
  const r = spawnSync(process.execPath, [bin], { input, encoding: 'utf8' });
  const out = parse(r.stdout ?? '');
  return { ok: r.status === 0, items: out?.items ?? [], results: out?.results ?? [], log: r.stderr };
}

function renderWithKpt() {
  const env = { ...process.env, PATH: `${join(root, 'bin')}:${process.env.PATH}` };
  const resultsDir = join(tmp, 'results');
  const r = spawnSync('kpt', ['fn', 'render', pkg, '--allow-exec', '--results-dir', resultsDir], { encoding: 'utf8', env });
  const items = [];
  for (const f of packageFiles()) {
    for (const d of parseAllDocuments(readFileSync(join(pkg, f), 'utf8'))) items.push(d.toJS());
  }
  let results = [];
  if (existsSync(join(resultsDir, 'results.yaml'))) {
    results = (parse(readFileSync(join(resultsDir, 'results.yaml'), 'utf8')).items ?? []).flatMap((i) => i.results ?? []);
  }
  return { ok: r.status === 0, items, results, log: `${r.stdout}${r.stderr}` };
}

const haveKpt = spawnSync('kpt', ['version'], { encoding: 'utf8' }).status === 0;
const out = haveKpt ? renderWithKpt() : renderWithoutKpt();
console.log(
  `Rendered the example package ${haveKpt ? 'with kpt fn render --allow-exec' : '(kpt not found: ran the function on a ResourceList)'} in ${pkg}\n`,
);
for (const r of out.results) console.log(`  [${r.severity}] ${r.message}`);
if (!out.ok) {
  console.log(out.log);
  process.exit(1);
}
const claims = out.items.filter((i) => i.kind === 'IPClaim' || i.kind === 'IPAllocation');
console.log('\nAllocated:');
const w = Math.max(...claims.map((c) => c.metadata.name.length));
for (const c of claims) {
  const s = c.status ?? {};
  console.log(
    `  ${c.kind} ${c.metadata.name.padEnd(w)}  ${String(s.prefix ?? '-').padEnd(20)} ${s.gateway ? `gateway ${s.gateway}` : ''}`.trimEnd(),
  );
}
console.log('\nInjected:');
for (const i of out.items) {
  if (i.kind === 'ConfigMap')
    for (const [k, v] of Object.entries(i.data ?? {})) console.log(`  ConfigMap ${i.metadata.name} data.${k} = ${v}`);
  if (i.kind === 'NFDeployment') {
    for (const itf of i.spec?.interfaces ?? [])
      console.log(`  NFDeployment ${i.metadata.name} ${itf.name}: ${itf.ipv4?.address} via ${itf.ipv4?.gateway}`);
  }
}
const kf = out.items.find((i) => i.kind === 'Kptfile');
console.log(`\nKptfile conditions: ${(kf?.status?.conditions ?? []).length} (the package remembers what it holds)`);
if (!process.env.KEEP_EXAMPLE) rmSync(tmp, { recursive: true, force: true });
else console.log(`kept ${pkg}`);
