// The page's files, read once at start from the build output (dist/web/, made by
// scripts/build.mjs). Everything the page needs is here: no CDN, no font download.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Asset {
  type: string;
  body: Buffer;
}

const FILES: Record<string, string> = {
  /** A template: the server puts the page's first data in it (boot.ts). */
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/app.css': 'app.css',
};

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** Beside the bundle (dist/web/), or, when running from source, in the repository's dist/. */
function assetDir(): string {
  const candidates = [new URL('./web/', import.meta.url), new URL('../../../dist/web/', import.meta.url)].map((u) => fileURLToPath(u));
  const dir = candidates.find((d) => existsSync(`${d}index.html`));
  if (!dir) throw new Error(`web view: its files are not built (looked in ${candidates.join(', ')}); run npm run build`);
  return dir;
}

export function loadAssets(): Map<string, Asset> {
  const dir = assetDir();
  const out = new Map<string, Asset>();
  for (const [path, file] of Object.entries(FILES)) {
    out.set(path, { type: TYPES[file.split('.').pop()!]!, body: readFileSync(`${dir}${file}`) });
  }
  return out;
}
