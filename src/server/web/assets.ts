// The page, read once at start from the build output (dist/web/, made by scripts/build.mjs) and
// served as one document: its stylesheet and script are put inside it, so that a page load is
// one request (no CDN, no font download, no second round for the files). The
// Content-Security-Policy allows exactly that stylesheet and that script, by their hashes.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Page {
  /** index.html with the stylesheet and script inside; the server adds the first data (boot.ts). */
  template: string;
  /** The CSP sources of that stylesheet and script. */
  styleHash: string;
  scriptHash: string;
}

const STYLESHEET = '<link rel="stylesheet" href="/app.css">';
const SCRIPT = '<script src="/app.js" defer></script>';

/** Beside the bundle (dist/web/), or, when running from source, in the repository's dist/. */
function assetDir(): string {
  const candidates = [new URL('./web/', import.meta.url), new URL('../../../dist/web/', import.meta.url)].map((u) => fileURLToPath(u));
  const dir = candidates.find((d) => existsSync(`${d}index.html`));
  if (!dir) throw new Error(`web view: its files are not built (looked in ${candidates.join(', ')}); run npm run build`);
  return dir;
}

const hash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

export function loadPage(): Page {
  const dir = assetDir();
  const html = readFileSync(`${dir}index.html`, 'utf8');
  const css = readFileSync(`${dir}app.css`, 'utf8');
  const js = readFileSync(`${dir}app.js`, 'utf8');
  // text that would end the element it sits in (esbuild and our CSS never write it)
  if (/<\/style/i.test(css) || /<\/script|<!--/i.test(js)) throw new Error('web view: app.css or app.js cannot be put inside the page');
  if (!html.includes(STYLESHEET) || !html.includes(SCRIPT) || !html.includes('</body>'))
    throw new Error('web view: index.html lacks its stylesheet or script');
  // the script runs last, once the page and its data block are parsed (as `defer` would)
  const template = html
    .replace(STYLESHEET, `<style>${css}</style>`)
    .replace(SCRIPT, '')
    .replace('</body>', `<script>${js}</script>\n</body>`);
  return { template, styleHash: hash(css), scriptHash: hash(js) };
}
