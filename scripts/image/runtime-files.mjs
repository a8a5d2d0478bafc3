#!/usr/bin/env node
// Collects what the function needs at run time into one folder for the image's last stage:
// bin/, dist/ (without source maps), a package.json that keeps `"type": "module"` for bin/, and
// only those production packages that the esbuild bundle still imports (plus their own
// dependencies). When the bundle inlines everything, no node_modules is written at all.
//
// Usage: node scripts/image/runtime-files.mjs <project root> <out dir>
// Runs in the Dockerfile's build stage with plain node (no dev tooling needed).
import { builtinModules } from 'node:module';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const [root, out] = process.argv.slice(2);
if (!root || !out) {
  console.error('usage: runtime-files.mjs <project root> <out dir>');
  process.exit(2);
}
const dist = join(root, 'dist');
const bin = join(root, 'bin');
for (const need of [dist, bin]) {
  if (!existsSync(need)) {
    console.error(`runtime-files: ${need} is missing (did scripts/build.mjs bundle src/cli/main.ts?)`);
    process.exit(1);
  }
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
cpSync(bin, join(out, 'bin'), { recursive: true });
cpSync(dist, join(out, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') });

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
writeFileSync(
  join(out, 'package.json'),
  JSON.stringify({ name: pkg.name, version: pkg.version, license: pkg.license, type: pkg.type, private: true }, null, 2) + '\n',
);

// Bare specifiers left in the bundle: static imports/re-exports (statements at the start of a
// line, as esbuild prints them), dynamic imports, and require() through the createRequire banner.
const builtins = new Set(builtinModules);
const patterns = [
  /^\s*(?:import|export)\s+[^'"`;]*?\bfrom\s*["']([^"']+)["']/gm,
  /^\s*import\s*["']([^"']+)["']/gm,
  /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  /(?<![\w$.])require\(\s*["']([^"']+)["']\s*\)/g,
];
const packageNamePattern = /^(@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/;
const wanted = new Set();
for (const file of listFiles(join(out, 'dist')).concat(listFiles(join(out, 'bin')))) {
  if (!/\.(mjs|cjs|js)$/.test(file) && !file.includes('/bin/')) continue;
  const text = readFileSync(file, 'utf8');
  for (const re of patterns) {
    for (const m of text.matchAll(re)) {
      const spec = m[1];
      if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) continue;
      if (builtins.has(spec) || builtins.has(spec.split('/')[0])) continue;
      const name = packageName(spec);
      if (packageNamePattern.test(name)) wanted.add(name);
    }
  }
}

// Only what package.json lists as a production dependency may ship.
const production = new Set(Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }));
for (const name of wanted) {
  if (!production.has(name)) {
    console.error(`runtime-files: the bundle imports "${name}", which is not in package.json "dependencies"`);
    process.exit(1);
  }
}

// Copy each wanted package and, transitively, its installed production dependencies.
const copied = new Set();
const queue = [...wanted];
while (queue.length) {
  const name = queue.shift();
  // Type declarations are never loaded at run time (protobufjs lists @types/node as a dependency).
  if (copied.has(name) || name.startsWith('@types/')) continue;
  const dir = join(root, 'node_modules', name);
  if (!existsSync(join(dir, 'package.json'))) {
    console.error(`runtime-files: "${name}" is needed at run time but not installed`);
    process.exit(1);
  }
  copied.add(name);
  cpSync(dir, join(out, 'node_modules', name), { recursive: true, dereference: true, filter: runtimeFile });
  const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  // Peer dependencies too: a package that shares @grpc/grpc-js with the bundle requires it itself.
  for (const dep of Object.keys({ ...meta.dependencies, ...meta.optionalDependencies, ...meta.peerDependencies })) {
    if (existsSync(join(root, 'node_modules', dep, 'package.json'))) queue.push(dep);
  }
}
console.log(
  copied.size === 0
    ? 'runtime-files: the bundle is self-contained; no node_modules in the image'
    : `runtime-files: node_modules for the image: ${[...copied].sort().join(', ')}`,
);

/** Leaves out what only editors and debuggers read (types, sources, maps, docs); keeps licenses. */
function runtimeFile(path) {
  const name = basename(path);
  if (/^(licen[cs]e|notice|copying)/i.test(name)) return true;
  return !/\.(map|ts|mts|cts|md|markdown)$/i.test(name);
}

function packageName(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function listFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}
