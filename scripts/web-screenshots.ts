/// <reference lib="dom" />
// Takes the README's pictures of the web view: a server in this process with a small
// dual-stack space and a VLAN index filled by a few packages, photographed in Debian's chromium.
// Usage: node --import tsx scripts/web-screenshots.ts [OUT_DIR]   (default docs/)
import { launch } from '../test/web/browser.js';
import { createIpam, restoreIpam } from '../src/ipam/index.js';
import { silentLogger } from '../src/server/log.js';
import { parseSeed } from '../src/server/seed.js';
import { startServer } from '../src/server/server.js';
import { MemoryStore } from '../src/server/store/memory-store.js';

const out = process.argv[2] ?? new URL('../docs/', import.meta.url).pathname;
const SEED = `apiVersion: ipam.resource.nephio.org/v1alpha1
kind: NetworkInstance
metadata: {name: vpc-ran}
spec:
  prefixes:
  - prefix: 10.0.0.0/16
  - prefix: 2001:db8::/48
---
apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPPrefix
metadata: {name: n3-edge1, labels: {nephio.org/cluster-name: edge1}}
spec: {kind: network, prefix: 10.0.1.1/24, networkInstance: vpc-ran, labels: {nephio.org/gateway: "true"}}
---
apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPPrefix
metadata: {name: n3-edge2, labels: {nephio.org/cluster-name: edge2}}
spec: {kind: network, prefix: 10.0.2.1/24, networkInstance: vpc-ran, labels: {nephio.org/gateway: "true"}}
---
apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPPrefix
metadata: {name: n3-edge1-v6, labels: {nephio.org/cluster-name: edge1}}
spec: {kind: network, prefix: 2001:db8:0:1::1/64, networkInstance: vpc-ran, labels: {nephio.org/gateway: "true"}}
---
apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPPrefix
metadata: {name: ue-pool}
spec: {kind: pool, prefix: 10.0.128.0/17, networkInstance: vpc-ran}
`;

const server = await startServer({
  listen: '127.0.0.1:0',
  http: '127.0.0.1:0',
  store: new MemoryStore(),
  createIpam: (s) => (s ? restoreIpam(s) : createIpam()),
  seed: parseSeed(SEED, 'seed.yaml'),
  log: silentLogger,
});
const ni = { name: 'vpc-ran' };
await server.core.mutate((tx) => {
  for (const [pkg, cluster, n] of [
    ['edge1/upf', 'edge1', 40],
    ['edge1/smf', 'edge1', 12],
    ['edge2/upf', 'edge2', 25],
  ] as const) {
    for (let i = 0; i < n; i++) {
      const sel = { matchLabels: { 'nephio.org/cluster-name': cluster } };
      tx.allocate({
        owner: `${pkg}|default/IPClaim/${pkg.split('/')[1]}-n3-${i}`,
        networkInstance: ni,
        kind: 'network',
        selector: sel,
        addressFamily: 'ipv4',
        labels: { 'nephio.org/cluster-name': cluster },
      });
      if (cluster === 'edge1' && i < 8)
        tx.allocate({
          owner: `${pkg}|default/IPClaim/${pkg.split('/')[1]}-n3-v6-${i}`,
          networkInstance: ni,
          kind: 'network',
          selector: sel,
          addressFamily: 'ipv6',
        });
    }
  }
  for (let i = 0; i < 6; i++)
    tx.allocate({ owner: `edge1/upf|default/IPClaim/ue-pool-${i}`, networkInstance: ni, kind: 'pool', prefixLength: 20 });
});
// the VLAN index of cluster edge1: an operator's range, a switch VLAN shared by two packages,
// trunk blocks and interface ids
const index = { name: 'edge1' };
await server.core.mutate((tx) => {
  tx.applyVlanIndex({ index, owner: 'ops|default/VLANIndex/edge1' });
  tx.applyVlanDefinition({ index, range: '1000:1099', owner: 'ops|default/VLAN/ran-reserved' });
  for (const pkg of ['edge1/upf', 'edge1/smf']) tx.allocateVlan({ index, owner: `${pkg}|default/VLANClaim/n3`, claim: 'vpc-ran-edge1-bd' });
  for (let i = 0; i < 6; i++) tx.allocateVlan({ index, range: '16', owner: `edge1/upf|default/VLANClaim/trunk-${i}` });
  for (let i = 0; i < 300; i++)
    tx.allocateVlan({
      index,
      owner: `edge1/${i % 3 ? 'upf' : 'smf'}|default/VLANClaim/if-${i}`,
      labels: { 'nephio.org/cluster-name': 'edge1' },
    });
  tx.allocateVlan({ index, vlanID: 2000, owner: 'edge1/upf|default/VLANClaim/n6-static' });
});
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  await page.goto(`http://127.0.0.1:${server.httpPort}/`);
  await page.waitForSelector('body[data-loaded]');
  await page.screenshot({ path: `${out}web-view-tree.png` });
  await page.click('div.node[data-prefix="10.0.1.0/24"] button:has-text("Map")');
  await page.waitForSelector('#subnet:not([hidden]) .grid');
  await (await page.$('#subnet'))!.screenshot({ path: `${out}web-view-subnet.png` });
  await page.fill('#f-selector', 'nephio.org/cluster-name=edge2');
  await page.fill('#f-owner', 'n3-1');
  await page.click('#filter button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#alloc-rows tr').length < 20);
  await (await page.$('#allocations'))!.screenshot({ path: `${out}web-view-allocations.png` });
  await page.click('#vlan-indexes tr[data-index="default/edge1"] button');
  await page.click('#vlan-grid .v[data-id="2"]');
  // the map's title, legend, cells and selection, without the list of holders below
  const clip = await page.evaluate(() => {
    const top = document.getElementById('vlan-map')!.getBoundingClientRect();
    const cells = document.querySelector('#vlan-map .vlan-layout')!.getBoundingClientRect();
    return { x: top.x, y: top.y + window.scrollY, width: top.width, height: cells.bottom - top.y };
  });
  await page.screenshot({ path: `${out}web-view-vlan.png`, fullPage: true, clip });
  console.log(`wrote ${out}web-view-tree.png, web-view-subnet.png, web-view-allocations.png, web-view-vlan.png`);
} finally {
  await browser.close();
  await server.shutdown();
}
