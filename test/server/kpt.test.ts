// The function under the real kpt (`kpt fn eval --exec`) with backend=grpc against our
// server: every fixture gives the same package and results as the builtin backend did
// (fixtures/<case>/.expected), through the admin Batch protocol, and the fixtures without
// lookups or selector expressions through alloc and resource too. A second run against the
// same server changes nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse, stringify } from 'yaml';
import { inProcess, root } from './helpers.js';

const bin = join(root, 'bin/ipam-injector');
const fixtures = join(root, 'fixtures');
if (spawnSync('kpt', ['version']).status !== 0) throw new Error('kpt is not on PATH: these tests run the function under the real kpt');
if (!existsSync(join(root, 'dist/ipam-injector.mjs'))) throw new Error('dist/ is not built: run npm run build (npm test does)');

function files(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (name === '.expected') continue;
    if (statSync(p).isDirectory()) out.push(...files(p, base));
    else out.push(relative(base, p));
  }
  return out;
}
const snapshot = (dir: string) => Object.fromEntries(files(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));

/** kpt fn eval arguments for the case's own config plus backend=grpc settings. */
function configArgs(pkg: string, evalArgs: string[] | undefined, grpc: Record<string, string>, tmp: string): string[] {
  const extra = Object.entries(grpc).map(([k, v]) => `${k}=${v}`);
  if (evalArgs) return ['--', ...evalArgs, ...extra];
  const kf = join(pkg, 'Kptfile');
  const mut = existsSync(kf)
    ? (parse(readFileSync(kf, 'utf8'))?.pipeline?.mutators ?? []).find((m: { exec?: string }) => m.exec === 'ipam-injector')
    : undefined;
  if (mut?.configPath) {
    const cfg = parse(readFileSync(join(pkg, mut.configPath), 'utf8'));
    if (cfg.kind === 'ConfigMap') cfg.data = { ...cfg.data, ...grpc };
    else cfg.spec = { ...cfg.spec, ...grpc };
    const f = join(tmp, 'fn-config.yaml');
    writeFileSync(f, stringify(cfg));
    return ['--fn-config', f];
  }
  return ['--', ...Object.entries(mut?.configMap ?? {}).map(([k, v]) => `${k}=${v}`), ...extra];
}

/** Async: the server under test runs in this process and must keep answering meanwhile. */
async function evalPkg(pkg: string, results: string, args: string[]) {
  mkdirSync(results, { recursive: true });
  const child = spawn('kpt', ['fn', 'eval', pkg, '--exec', bin, '--results-dir', results, ...args]);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const status = await new Promise<number | null>((r) => child.on('close', r));
  const f = join(results, 'results.yaml');
  const list = existsSync(f) ? parse(readFileSync(f, 'utf8')) : {};
  return { status, out, results: (list.items ?? []).flatMap((i: { results?: unknown[] }) => i.results ?? []) };
}

interface CaseConfig {
  exitCode?: number;
  evalArgs?: string[];
}

// Protocols alloc and resource carry no read-only lookups (alloc) and no selector
// expressions (alloc), and the function sends VLAN claims and Nephio Networks through admin
// only: those cases run through admin only.
const ADMIN_ONLY = new Set([
  'dry-run',
  'get-lookup',
  'nephio-free5gc-amf',
  'nephio-free5gc-upf',
  'nephio-interface-package',
  'nephio-oai-cuup',
  'nephio-ueransim',
  'vlan-interface-fn',
]);

const cases = readdirSync(fixtures)
  .filter((c) => existsSync(join(fixtures, c, '.expected')))
  .sort();

for (const name of cases) {
  const dir = join(fixtures, name);
  const cfgFile = join(dir, '.expected/config.yaml');
  const cfg: CaseConfig = existsSync(cfgFile) ? (parse(readFileSync(cfgFile, 'utf8')) ?? {}) : {};
  const protocols = ADMIN_ONLY.has(name) || name.startsWith('error-') ? ['admin'] : ['admin', 'alloc', 'resource'];
  for (const protocol of protocols) {
    test(`${name} via grpc (${protocol}): same as the builtin backend, and a re-run changes nothing`, async () => {
      const srv = await inProcess({ seed: undefined });
      const tmp = mkdtempSync(join(tmpdir(), `ipam-kpt-${name}-`));
      try {
        const pkg = join(tmp, 'pkg');
        cpSync(dir, pkg, { recursive: true, filter: (src) => !src.endsWith('/.expected') });
        const input = snapshot(pkg);
        const grpc = { backend: 'grpc', address: srv.address, protocol, package: `fixture-${name}` };
        const r = await evalPkg(pkg, join(tmp, 'r1'), configArgs(pkg, cfg.evalArgs, grpc, tmp));
        assert.is(r.status, cfg.exitCode ?? 0, r.out);
        const expectedDir = join(dir, '.expected/package');
        const want = existsSync(expectedDir) ? snapshot(expectedDir) : input;
        const got = snapshot(pkg);
        assert.equal(Object.keys(got), Object.keys(want));
        for (const f of Object.keys(want)) assert.fixture(got[f]!, want[f]!);
        const wantResults = parse(readFileSync(join(dir, '.expected/results.yaml'), 'utf8')) ?? [];
        // A server also gives back what a failed run newly took, and says so in warnings; the
        // builtin backend holds nothing beyond the run. Those warnings aside, the same results.
        const givenBack = /^released \S+ again: the run failed/;
        const kept = (r.results as { message?: string }[]).filter((x) => !givenBack.test(x.message ?? ''));
        assert.equal(kept, wantResults, 'results');
        if (r.status === 0) {
          const again = await evalPkg(pkg, join(tmp, 'r2'), configArgs(pkg, cfg.evalArgs, grpc, tmp));
          assert.is(again.status, 0, again.out);
          const after = snapshot(pkg);
          for (const f of Object.keys(got)) assert.fixture(after[f]!, got[f]!, `a second run changed ${f}`);
        }
      } finally {
        rmSync(tmp, { recursive: true, force: true });
        await srv.shutdown();
      }
    });
  }
}

test.run();
