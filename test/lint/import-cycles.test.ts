// scripts/import-cycles.mjs (run by `npm run lint`): the repository's import graph has no
// cycles, and a cycle, type-only imports included, is reported with the files in it.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from '../server/helpers.js';

const script = `${root}scripts/import-cycles.mjs`;

test('the repository has no import cycles', () => {
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
});

test('a type-only cycle is an error naming both files; an import of a third file is not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ipam-cycles-'));
  try {
    writeFileSync(join(dir, 'a.ts'), "import type { B } from './b.js';\nexport interface A { b: B }\n");
    writeFileSync(
      join(dir, 'b.ts'),
      "import type { A } from './a.js';\nimport { c } from './c.js';\nexport interface B { a: A }\nexport const x = c;\n",
    );
    writeFileSync(join(dir, 'c.ts'), 'export const c = 1;\n');
    const bad = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
    assert.is(bad.status, 1);
    assert.match(bad.stderr, /import cycle: .*a\.ts <-> .*b\.ts/);
    assert.not.match(bad.stderr, /c\.ts/);
    writeFileSync(join(dir, 'b.ts'), "import { c } from './c.js';\nexport interface B { n: number }\nexport const x = c;\n");
    const good = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
    assert.is(good.status, 0, good.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
