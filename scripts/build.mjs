#!/usr/bin/env node
// Bundles the CLI into dist/ so that `bin/ipam-injector` starts fast: one ESM file for the
// function path, with gRPC code split into chunks loaded only by grpc mode and `serve`.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { functionHelp } from './function-help.mjs';

const root = new URL('..', import.meta.url).pathname;
const entry = `${root}src/cli/main.ts`;
if (!existsSync(entry)) {
  console.log('build: src/cli/main.ts not there yet, nothing to bundle');
  process.exit(0);
}

// Packages that read their own .proto files relative to __dirname at run time stay in
// node_modules (the image copies what the bundle imports); everything else is inlined.
const external = ['@grpc/grpc-js', '@grpc/proto-loader', '@grpc/reflection', 'grpc-health-check', 'etcd3'];

// Build into a fresh folder and swap it in, so no stale chunk survives and a process
// that is running the old bundle keeps a complete one until the swap.
const out = `${root}dist.build-${process.pid}`;
rmSync(out, { recursive: true, force: true });
await build({
  // the file store's compaction worker is started by file name (see compactor.ts)
  entryPoints: { 'ipam-injector': entry, 'compact-worker': `${root}src/server/store/compact-worker.ts` },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  external,
  outExtension: { '.js': '.mjs' },
  // Bundled CommonJS code calls require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  // `ipam-injector --help`: the function's documentation from the README
  define: {
    __FN_HELP__: JSON.stringify(functionHelp(readFileSync(`${root}README.md`, 'utf8'))),
    __VERSION__: JSON.stringify(JSON.parse(readFileSync(`${root}package.json`, 'utf8')).version),
  },
  logLevel: 'warning',
});
// The web view's page (serve --http): its script bundled for browsers, beside its two files.
const web = `${root}src/server/web/client/`;
mkdirSync(`${out}/web`, { recursive: true });
await build({
  entryPoints: [`${web}app.ts`],
  outfile: `${out}/web/app.js`,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  logLevel: 'warning',
});
for (const f of ['index.html', 'app.css']) copyFileSync(`${web}${f}`, `${out}/web/${f}`);
const old = `${root}dist.old-${process.pid}`;
if (existsSync(`${root}dist`)) renameSync(`${root}dist`, old);
renameSync(out, `${root}dist`);
rmSync(old, { recursive: true, force: true });
