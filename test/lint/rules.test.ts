// The lint rules catch what once shipped in the server: a global array appended on every
// call, dumps written to /tmp, `any`, a floating promise. Each snippet is linted as if it
// were the named file, with the repository's own eslint.config.js.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { ESLint } from 'eslint';
import { root } from '../server/helpers.js';

const eslint = new ESLint({ cwd: root });

async function ruleIds(code: string, file: string): Promise<string[]> {
  const [res] = await eslint.lintText(code, { filePath: `${root}${file}` });
  return res!.messages.map((m) => m.ruleId ?? m.message);
}

test('a global written from a service is an error (globalThis and `any`)', async () => {
  const ids = await ruleIds(
    'export function f(): void {\n  ((globalThis as any).__ph ??= []).push(1);\n}\n',
    'src/server/services/admin.ts',
  );
  assert.ok(ids.includes('no-restricted-globals'), ids.join());
  assert.ok(ids.includes('@typescript-eslint/no-explicit-any'), ids.join());
});

test('a file written outside the store is an error, also from serve.ts and by dynamic import', async () => {
  const stat = "import { writeFileSync } from 'node:fs';\nexport const dump = (s: string): void => writeFileSync('/tmp/phases.json', s);\n";
  assert.ok((await ruleIds(stat, 'src/cli/serve.ts')).includes('no-restricted-imports'));
  assert.ok((await ruleIds(stat, 'src/server/core.ts')).includes('no-restricted-imports'));
  const ns = "import * as fs from 'node:fs/promises';\nexport const dump = (s: string): Promise<void> => fs.writeFile('/tmp/x', s);\n";
  assert.ok((await ruleIds(ns, 'src/server/metrics.ts')).includes('no-restricted-imports'));
  const dyn = "export async function dump(s: string): Promise<void> {\n  (await import('node:fs')).writeFileSync('/tmp/x', s);\n}\n";
  assert.ok((await ruleIds(dyn, 'src/server/metrics.ts')).includes('no-restricted-syntax'));
  // the store writes under --data, and reading is allowed anywhere
  assert.equal(await ruleIds(stat, 'src/server/store/file-store.ts'), []);
  assert.equal(
    await ruleIds(
      "import { readFileSync } from 'node:fs';\nexport const r = (p: string): string => readFileSync(p, 'utf8');\n",
      'src/server/core.ts',
    ),
    [],
  );
});

test('console.log outside the CLI, debugger and a floating promise are errors', async () => {
  assert.ok((await ruleIds("console.log('x');\n", 'src/server/core.ts')).includes('no-console'));
  assert.equal(await ruleIds("console.log('x');\n", 'src/cli/get.ts'), []);
  assert.ok((await ruleIds('export function f(): void {\n  debugger;\n}\n', 'src/ipam/ipam.ts')).includes('no-debugger'));
  const floating = 'async function g(): Promise<void> {}\nexport function f(): void {\n  g();\n}\n';
  assert.ok((await ruleIds(floating, 'src/server/core.ts')).includes('@typescript-eslint/no-floating-promises'));
});

/** The files of src the function length limit does not apply to (none: issue 13). */
async function exceptedFiles(): Promise<string[]> {
  const files = readdirSync(`${root}src`, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  const out: string[] = [];
  for (const f of files) {
    const config = (await eslint.calculateConfigForFile(`${root}src/${f}`)) as { rules?: Record<string, unknown> } | undefined;
    const rule = config?.rules?.['max-lines-per-function'];
    if (rule === 'off' || rule === 0 || (Array.isArray(rule) && (rule[0] === 'off' || rule[0] === 0))) out.push(`src/${f}`);
  }
  return out;
}

test('a long or branchy function anywhere in src is an error: no file is excepted', async () => {
  const long = `export function f(): number {\n  let x = 0;\n${'  x++;\n'.repeat(60)}  return x;\n}\n`;
  assert.ok((await ruleIds(long, 'src/krm/plan.ts')).includes('max-lines-per-function'));
  const branches = Array.from({ length: 20 }, (_, i) => `  if (a === ${i}) return ${i};\n`).join('');
  const branchy = `export function f(a: number): number {\n${branches}  return -1;\n}\n`;
  assert.ok((await ruleIds(branchy, 'src/krm/plan.ts')).includes('complexity'));
  assert.equal(await exceptedFiles(), []);
  // tests are long lists of cases: the limit is for src
  assert.not.ok((await ruleIds(long, 'test/krm/run.test.ts')).includes('max-lines-per-function'));
});

test.run();
