// Every examples/<case>/ package, the way its README runs it: a copy rendered by the real
// `kpt fn render --allow-exec` with bin/ on the PATH. What the function changed (`git diff` of
// the copy) must be .expected/diff.patch, as in the kpt functions catalog; a second render
// must change nothing. metadata.yaml must list exactly these examples, and each has a README.
// UPDATE_EXAMPLES=1 npm test -- examples rewrites the diffs: review them before committing.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const examples = join(root, 'examples');
const update = process.env.UPDATE_EXAMPLES === '1';
const env = { ...process.env, PATH: `${join(root, 'bin')}:${process.env.PATH}` };

if (spawnSync('kpt', ['version']).status !== 0) throw new Error('kpt is not on PATH: the examples run under the real kpt');

const cases = readdirSync(examples)
  .filter((c) => statSync(join(examples, c)).isDirectory())
  .sort();

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', ['-c', 'user.name=example', '-c', 'user.email=example@example.com', '-c', 'core.autocrlf=false', ...args], {
    cwd,
    encoding: 'utf8',
  });
  assert.is(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function render(pkg: string): { status: number | null; out: string } {
  const r = spawnSync('kpt', ['fn', 'render', pkg, '--allow-exec'], { encoding: 'utf8', env });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

for (const name of cases) {
  test(`examples/${name}: kpt fn render on a copy gives .expected/diff.patch, and again nothing`, () => {
    const dir = join(examples, name);
    const tmp = mkdtempSync(join(tmpdir(), `ipam-example-${name}-`));
    try {
      const pkg = join(tmp, name);
      cpSync(dir, pkg, { recursive: true, filter: (src) => !src.endsWith('/.expected') });
      git(pkg, 'init', '-q');
      git(pkg, 'add', '-A');
      git(pkg, 'commit', '-q', '-m', 'example');
      const r = render(pkg);
      assert.is(r.status, 0, `kpt fn render ${name}\n${r.out}`);
      git(pkg, 'add', '-A');
      const diff = git(pkg, 'diff', '--cached');
      const want = join(dir, '.expected', 'diff.patch');
      if (update) {
        mkdirSync(join(dir, '.expected'), { recursive: true });
        writeFileSync(want, diff);
        return;
      }
      assert.ok(existsSync(want), `${name}: .expected/diff.patch is missing (UPDATE_EXAMPLES=1 writes it)`);
      assert.fixture(diff, readFileSync(want, 'utf8'));
      git(pkg, 'commit', '-q', '-m', 'rendered');
      const again = render(pkg);
      assert.is(again.status, 0, again.out);
      git(pkg, 'add', '-A');
      assert.is(git(pkg, 'diff', '--cached', '--stat'), '', 'a second render changed the package');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}

test('each example has a README that runs it, and .krmignore keeps .expected out of the package', () => {
  for (const name of cases) {
    const readme = join(examples, name, 'README.md');
    assert.ok(existsSync(readme), `examples/${name}/README.md`);
    assert.match(
      readFileSync(readme, 'utf8'),
      new RegExp(`kpt fn render [^\\n]*--allow-exec`),
      `examples/${name}/README.md runs kpt fn render`,
    );
    assert.match(readFileSync(join(examples, name, '.krmignore'), 'utf8'), /^\.expected$/m, `examples/${name}/.krmignore`);
  }
});

test('metadata.yaml lists every example, and only those', () => {
  const meta = parse(readFileSync(join(root, 'metadata.yaml'), 'utf8'));
  const listed = (meta.examplePackageURLs as string[]).map((u) => /(?:^|\/)examples\/([^/]+)$/.exec(u)?.[1]);
  assert.equal(listed.slice().sort(), cases);
  assert.ok(meta.image && meta.description && meta.tags.includes('mutator') && meta.license, 'image, description, tags, license');
});

test.run();
