#!/usr/bin/env node
// Bundles the CLI into dist/ so that `bin/ipam-injector` starts fast: one ESM file for the
// function path, with gRPC code split into chunks loaded only by grpc mode and `serve`.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const entry = `${root}src/cli/main.ts`;
if (!existsSync(entry)) {
  console.log('build: src/cli/main.ts not there yet, nothing to bundle');
  process.exit(0);
}
await build({
  entryPoints: { 'ipam-injector': entry },
  outdir: `${root}dist`,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  outExtension: { '.js': '.mjs' },
  // grpc-js and friends are CommonJS and call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});
