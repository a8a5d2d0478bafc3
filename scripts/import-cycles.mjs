#!/usr/bin/env node
// `npm run lint` step: the import graph of the TypeScript sources has no cycles. Type-only
// imports count too: a cycle of types is still two modules that cannot be read one at a time.
// Reads each file's imports with the TypeScript compiler's pre-processor (no type checking),
// resolves the relative ones and reports every strongly connected component.
//   node scripts/import-cycles.mjs [dir...]     (default: src test bench scripts)
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const dirs = process.argv.length > 2 ? process.argv.slice(2) : ['src', 'test', 'bench', 'scripts'];

function* sources(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(p).isDirectory()) yield* sources(p);
    else if (/\.(ts|mts|mjs|js)$/.test(name) && !name.endsWith('.d.ts')) yield p;
  }
}

/** `./x.js` from `file` -> the source file it names, or undefined (packages, missing files). */
function resolveImport(file, spec) {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(file), spec);
  const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), base + '.ts', join(base, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

const graph = new Map();
for (const d of dirs) {
  for (const file of sources(resolve(root, d))) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const deps = new Set();
    for (const ref of info.importedFiles) {
      const to = resolveImport(file, ref.fileName);
      if (to) deps.add(to);
    }
    graph.set(file, deps);
  }
}

// Tarjan's strongly connected components, iterative (deep import chains must not overflow).
let counter = 0;
const index = new Map();
const low = new Map();
const onStack = new Set();
const stack = [];
const cycles = [];
for (const start of graph.keys()) {
  if (index.has(start)) continue;
  const work = [[start, [...(graph.get(start) ?? [])], 0]];
  index.set(start, counter);
  low.set(start, counter++);
  stack.push(start);
  onStack.add(start);
  while (work.length > 0) {
    const frame = work[work.length - 1];
    const [v, deps] = frame;
    if (frame[2] < deps.length) {
      const w = deps[frame[2]++];
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        index.set(w, counter);
        low.set(w, counter++);
        stack.push(w);
        onStack.add(w);
        work.push([w, [...graph.get(w)], 0]);
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
      continue;
    }
    work.pop();
    if (work.length > 0) {
      const parent = work[work.length - 1][0];
      low.set(parent, Math.min(low.get(parent), low.get(v)));
    }
    if (low.get(v) === index.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v).has(v)) cycles.push(component);
    }
  }
}

if (cycles.length > 0) {
  for (const c of cycles)
    console.error(
      `import cycle: ${c
        .map((f) => relative(root, f))
        .sort()
        .join(' <-> ')}`,
    );
  console.error(`${cycles.length} import cycle(s): move the shared types to the module both depend on, or depend on a narrower interface`);
  process.exit(1);
}
console.log(`import graph: ${graph.size} files, no cycles`);
