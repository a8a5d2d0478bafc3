// Every fixtures/<case>/ package through the real kpt, twice:
//   kpt fn eval PKG --exec /abs/bin/ipam-injector [--fn-config F | -- k=v ...]
//   kpt fn render PKG --allow-exec      (the case's Kptfile runs `exec: ipam-injector`, on PATH)
// and compared with .expected/: package/ (the files after the function; absent for cases
// that fail, whose package must come back unchanged) and results.yaml (what the function
// reported). A successful render is rendered once more and must not change.
// .expected/config.yaml (optional): {exitCode, modes: [eval, render], evalArgs: [k=v]}.
// UPDATE_FIXTURES=1 npm test -- fixtures rewrites .expected from the eval run: review the
// diff by hand before committing it.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/ipam-injector');
const fixtures = join(root, 'fixtures');
const update = process.env.UPDATE_FIXTURES === '1';
const only = process.env.FIXTURE;

const kpt = spawnSync('kpt', ['version'], { encoding: 'utf8' });
if (kpt.status !== 0) throw new Error('kpt is not on PATH: these tests run the function under the real kpt');

interface CaseConfig {
  exitCode?: number;
  modes?: ('eval' | 'render')[];
  evalArgs?: string[];
}

/** All files under dir (relative paths), .expected excluded. */
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

function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(files(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

/** The function's config for eval, taken from the case's Kptfile pipeline entry. */
function evalConfigArgs(pkg: string, cfg: CaseConfig): string[] {
  if (cfg.evalArgs) return ['--', ...cfg.evalArgs];
  const kf = join(pkg, 'Kptfile');
  if (!existsSync(kf)) return [];
  const mut = (parse(readFileSync(kf, 'utf8'))?.pipeline?.mutators ?? []).find((m: { exec?: string }) => m.exec === 'ipam-injector');
  if (!mut) return [];
  if (mut.configPath) return ['--fn-config', join(pkg, mut.configPath)];
  if (mut.configMap) return ['--', ...Object.entries(mut.configMap).map(([k, v]) => `${k}=${v}`)];
  return [];
}

function run(mode: 'eval' | 'render', pkg: string, resultsDir: string, cfg: CaseConfig): { status: number | null; out: string } {
  mkdirSync(resultsDir, { recursive: true });
  const args =
    mode === 'eval'
      ? ['fn', 'eval', pkg, '--exec', bin, '--results-dir', resultsDir, ...evalConfigArgs(pkg, cfg)]
      : ['fn', 'render', pkg, '--allow-exec', '--results-dir', resultsDir];
  const r = spawnSync('kpt', args, { encoding: 'utf8', env: { ...process.env, PATH: `${join(root, 'bin')}:${process.env.PATH}` } });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

/** Our results from kpt's results file. */
function readResults(resultsDir: string): Record<string, unknown>[] {
  const f = join(resultsDir, 'results.yaml');
  if (!existsSync(f)) return [];
  const list = parse(readFileSync(f, 'utf8'));
  return (list.items ?? []).flatMap((i: { results?: Record<string, unknown>[] }) => i.results ?? []);
}

const cases = readdirSync(fixtures)
  .filter((c) => statSync(join(fixtures, c)).isDirectory() && (!only || c === only))
  .sort();

for (const name of cases) {
  const dir = join(fixtures, name);
  const expectedDir = join(dir, '.expected');
  const cfgFile = join(expectedDir, 'config.yaml');
  const cfg: CaseConfig = existsSync(cfgFile) ? (parse(readFileSync(cfgFile, 'utf8')) ?? {}) : {};
  const modes = cfg.modes ?? ['eval', 'render'];
  for (const mode of modes) {
    test(`${name} (kpt fn ${mode})`, () => {
      const tmp = mkdtempSync(join(tmpdir(), `ipam-fixture-${name}-`));
      try {
        const pkg = join(tmp, 'pkg');
        cpSync(dir, pkg, { recursive: true, filter: (src) => !src.endsWith('/.expected') });
        const input = snapshot(pkg);
        const r = run(mode, pkg, join(tmp, 'results'), cfg);
        const results = readResults(join(tmp, 'results'));
        const wantExit = cfg.exitCode ?? 0;
        if (update && mode === modes[0]) {
          rmSync(join(expectedDir, 'package'), { recursive: true, force: true });
          if (r.status === 0) cpSync(pkg, join(expectedDir, 'package'), { recursive: true });
          writeFileSync(join(expectedDir, 'results.yaml'), stringify(results));
          if ((r.status ?? 1) !== wantExit) writeFileSync(cfgFile, stringify({ ...cfg, exitCode: r.status }));
          return;
        }
        assert.is(r.status, wantExit, `kpt fn ${mode} exit code\n${r.out}`);
        const want = existsSync(join(expectedDir, 'package')) ? snapshot(join(expectedDir, 'package')) : input;
        const got = snapshot(pkg);
        assert.equal(Object.keys(got), Object.keys(want), 'files');
        for (const f of Object.keys(want)) assert.fixture(got[f], want[f]);
        const wantResults = existsSync(join(expectedDir, 'results.yaml'))
          ? (parse(readFileSync(join(expectedDir, 'results.yaml'), 'utf8')) ?? [])
          : [];
        assert.equal(results, wantResults, 'results');
        if (r.status === 0 && mode === 'render') {
          const again = run('render', pkg, join(tmp, 'results2'), cfg);
          assert.is(again.status, 0, again.out);
          const after = snapshot(pkg);
          for (const f of Object.keys(got)) assert.fixture(after[f], got[f], `a second render changed ${f}`);
        }
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });
  }
}

test.run();
