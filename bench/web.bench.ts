// The web view with 100,000 allocations held: what one page load costs, in a real browser
// (Debian chromium) and as the HTTP calls the page makes. Prints
//   BENCH web-page-load-100k n=<runs> ms=<median> (navigation to the page showing its data)
//   BENCH web-api-100k n=<runs> ms=<median> (session, tree and the first page of allocations)
//   BENCH web-filter-owner-100k n=<runs> ms=<median> (a part of an owner's name: a full scan)
//   BENCH web-filter-selector-100k n=<runs> ms=<median>
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { launch } from '../test/web/browser.js';
import { createIpam, restoreIpam } from '../src/ipam/index.js';
import { silentLogger } from '../src/server/log.js';
import { parseSeed } from '../src/server/seed.js';
import { startServer } from '../src/server/server.js';
import { MemoryStore } from '../src/server/store/memory-store.js';
import { oneSubnetSeed } from '../test/support/seed.js';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(`${root}dist/web/index.html`)) spawnSync(process.execPath, [`${root}scripts/build.mjs`], { stdio: 'inherit' });
const N = Number(process.env.BENCH_WEB_N ?? 100_000);
const RUNS = 15;
const filters = (process.env.BENCH_FILTER ?? '').split(',').filter(Boolean);
const wanted = (name: string) => filters.length === 0 || filters.some((f) => name.includes(f));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const server = await startServer({
  listen: '127.0.0.1:0',
  http: '127.0.0.1:0',
  store: new MemoryStore(),
  createIpam: (s) => (s ? restoreIpam(s) : createIpam()),
  seed: parseSeed(oneSubnetSeed('lan', '10.0.0.1/14'), 'seed.yaml'),
  log: silentLogger,
});
for (let done = 0; done < N; done += 5000) {
  await server.core.mutate((tx) => {
    for (let i = done; i < Math.min(N, done + 5000); i++) {
      tx.allocate({
        owner: `pkg-${i % 100}|default/IPClaim/claim-${i}`,
        networkInstance: { name: 'vpc' },
        kind: 'network',
        selector: { matchLabels: { role: 'lan' } },
        labels: { 'nephio.org/cluster-name': `c${i % 50}` },
      });
    }
  });
}
const web = `http://127.0.0.1:${server.httpPort}/`;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}
const get = (path: string) => fetch(`${web}${path}`).then((r) => r.arrayBuffer());

async function series(name: string, fn: () => Promise<unknown>, extra = ''): Promise<void> {
  if (!wanted(name)) return;
  for (let i = 0; i < 3; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) ms.push(await timed(fn));
  console.log(`BENCH ${name} n=${RUNS} ms=${median(ms).toFixed(1)} allocations=${N}${extra}`);
}

try {
  await series('web-api-100k', () =>
    Promise.all([get(''), get('app.js'), get('app.css'), get('api/session'), get('api/tree'), get('api/allocations?offset=0&limit=50')]),
  );
  await series('web-filter-owner-100k', () => get('api/allocations?owner=claim-99999&limit=50'));
  await series('web-filter-selector-100k', () => get('api/allocations?selector=nephio.org/cluster-name%3Dc7&limit=50'));
  if (wanted('web-page-load-100k')) {
    const browser = await launch();
    const page = await browser.newPage();
    await series('web-page-load-100k', async () => {
      await page.goto(web);
      await page.waitForSelector('body[data-loaded]');
    });
    await browser.close();
  }
} finally {
  await server.shutdown();
}
