/// <reference lib="dom" />
// The web view with 100,000 allocations and a VLAN index 95% taken: what a page load costs, in
// a real browser (Debian chromium) timed from inside the page, apart from the browser's own
// start, and as the HTTP calls the page makes. Prints
//   BENCH web-browser-launch n=<runs> ms=<median> (chromium started by playwright-core)
//   BENCH web-page-load-100k n=<runs> ms=<median> drawn=<median> load=<median> driver=<median>
//         ms: navigation start to the first frame after the page drew its data (painted);
//         drawn: to the page's script having drawn it; load: to the load event's end (all
//         from the page's own clock); driver: the same load as the test driver sees it
//         (page.goto until the data is shown, with its round trips to chromium)
//   BENCH web-page-load-empty n=<runs> ms=... (the same for a page of one paragraph and one
//         script: what chromium takes for any page on this machine)
//   BENCH web-api-100k n=<runs> ms=<median> (the one request of a page load: the page with its
//         script, stylesheet and first data)
//   BENCH web-filter-owner-100k / web-filter-selector-100k n=<runs> ms=<median>
//   BENCH web-vlan-map-4096 n=<runs> ms=<median> fetch=<median> taken=<ids> (a click on an
//         index's Map until its 4096 cells are drawn and painted; fetch: its request)
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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
const LAUNCHES = 5;
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
// a VLAN index mostly taken: an operator's range, 60 blocks of 8, single ids up to 95%
const index = { name: 'edge1' };
const VLAN_TAKEN = Math.floor(4096 * 0.95);
await server.core.mutate((tx) => {
  tx.applyVlanIndex({ index, owner: 'ops|default/VLANIndex/edge1' });
  tx.applyVlanDefinition({ index, range: '3000:3099', owner: 'ops|default/VLAN/reserved-range' });
  for (let i = 0; i < 60; i++) tx.allocateVlan({ index, range: '8', owner: `pkg-${i % 10}|default/VLANClaim/trunk-${i}` });
  for (let i = 0; 3 + 100 + 60 * 8 + i < VLAN_TAKEN; i++)
    tx.allocateVlan({ index, owner: `pkg-${i % 10}|default/VLANClaim/if-${i}`, ...(i % 3 === 0 ? { claim: `bd-${i}` } : {}) });
});
const web = `http://127.0.0.1:${server.httpPort}/`;
// chromium's own share: a page of one paragraph whose one script marks it drawn
const bare = createServer((_, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(
    '<!doctype html><title>empty</title><p>empty</p><script>document.body.setAttribute("data-loaded", performance.now().toFixed(1))</script>',
  );
});
await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
const empty = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}
const get = (path: string) => fetch(`${web}${path}`).then((r) => r.arrayBuffer());

/** A few warm-up rounds, then RUNS measured ones; `fn` answers its figures (ms first). */
async function series(name: string, fn: () => Promise<Record<string, number>>, runs = RUNS, warm = 3): Promise<void> {
  if (!wanted(name)) return;
  for (let i = 0; i < warm; i++) await fn();
  const got: Record<string, number[]> = {};
  for (let i = 0; i < runs; i++) for (const [k, v] of Object.entries(await fn())) (got[k] ??= []).push(v);
  const fields = Object.entries(got).map(([k, xs]) => `${k}=${median(xs).toFixed(1)}`);
  console.log(`BENCH ${name} n=${runs} ${fields.join(' ')}`);
}
const wall = async (fn: () => Promise<unknown>) => ({ ms: await timed(fn) });

try {
  await series('web-api-100k', () => wall(() => get('')));
  await series('web-filter-owner-100k', () => wall(() => get('api/allocations?owner=claim-99999&limit=50')));
  await series('web-filter-selector-100k', () => wall(() => get('api/allocations?selector=nephio.org/cluster-name%3Dc7&limit=50')));
  await series(
    'web-browser-launch',
    async () => {
      let browser;
      const ms = await timed(async () => (browser = await launch()));
      await browser!.close();
      return { ms };
    },
    LAUNCHES,
    1,
  );
  if (wanted('web-page-load') || wanted('web-vlan-map-4096')) {
    const browser = await launch();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // the bench's own probe, run in the page before its script: the first frame after the page
    // marks its data drawn (body[data-loaded])
    await page.addInitScript(() => {
      new MutationObserver((_, o) => {
        if (!document.body?.hasAttribute('data-loaded')) return;
        o.disconnect();
        requestAnimationFrame(() => setTimeout(() => document.documentElement.setAttribute('data-painted', performance.now().toFixed(1))));
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-loaded'] });
    });
    const pageLoad = async (url: string) => {
      const driver = await timed(async () => {
        await page.goto(url);
        await page.waitForSelector('body[data-loaded]');
      });
      await page.waitForSelector('html[data-painted]');
      const inPage = await page.evaluate(() => ({
        painted: Number(document.documentElement.getAttribute('data-painted')),
        drawn: Number(document.body.getAttribute('data-loaded')),
        load: (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).loadEventEnd,
      }));
      // the view opens its event stream after drawing: let it settle before the next load
      if (url === web) {
        await page.waitForSelector('#live.on');
        await page.waitForTimeout(100);
      }
      return { ms: inPage.painted, drawn: inPage.drawn, load: inPage.load, driver };
    };
    await series('web-page-load-empty', () => pageLoad(empty));
    await series('web-page-load-100k', () => pageLoad(web));
    await series('web-vlan-map-4096', () =>
      page.evaluate(async () => {
        // drawn from nothing, as when an index is first opened (a change redraws changed cells only)
        const grid = document.getElementById('vlan-grid')!;
        grid.replaceChildren();
        const drawn = new Promise<void>((resolve) => {
          const o = new MutationObserver(() => {
            o.disconnect();
            resolve();
          });
          o.observe(grid, { childList: true });
        });
        performance.clearResourceTimings();
        const t = performance.now();
        document.querySelector<HTMLButtonElement>('#vlan-indexes tr[data-index="default/edge1"] button')!.click();
        await drawn;
        // the frame that lays out and paints the cells
        await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
        const ms = performance.now() - t;
        const fetched = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).find((e) =>
          e.name.includes('/api/vlan?'),
        );
        return { ms, fetch: fetched ? fetched.responseEnd - fetched.startTime : NaN, taken: grid.querySelectorAll('.v:not(.free)').length };
      }),
    );
    await browser.close();
  }
} finally {
  bare.close();
  await server.shutdown();
}
