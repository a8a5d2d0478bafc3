/// <reference lib="dom" />
// The web view in a real browser (Debian chromium through playwright-core) against a real
// `serve` with tokens on, seeded with a space and a VLAN index and filled through the function
// under the real kpt: the tree's utilization, filtering, a render showing up live, the VLAN
// index's cells and claims, owner names rendered as text, and no data without a token.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import type { Browser, Page } from 'playwright-core';
import { parse } from 'yaml';
import { cleanup, raw, root, spawnServer, tmp, writeSeed, type Spawned } from '../server/helpers.js';
import { launch, requireChromium } from './browser.js';

const bin = join(root, 'bin/ipam-injector');
const ADMIN = 'admin-token-0123';
const EDGE = 'edge-token-0123';
const XSS = '<img src=x onerror="window.__pwned=1">';

let server: Spawned;
let web: string;
let browser: Browser;
let pkg: string;

/** A VLANClaim in cluster01: shared under a vlanClaimName, a block of ids, or one id exactly. */
function vlanClaim(name: string, spec: string, shared?: string): string {
  return `apiVersion: vlan.resource.nephio.org/v1alpha1
kind: VLANClaim
metadata:
  name: ${name}
${shared ? `  annotations:\n    specializer.nephio.org/vlanClaimName: ${shared}\n` : ''}spec:
  vlanIndex:
    name: cluster01
${spec}`;
}

function claim(name: string): string {
  return `apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPClaim
metadata:
  name: ${name}
spec:
  kind: network
  networkInstance:
    name: vpc
  selector:
    matchLabels:
      nephio.org/cluster-name: c1
`;
}

/** kpt fn eval of the package with the grpc backend, as the edge/upf package. */
async function render(): Promise<void> {
  const child = spawn('kpt', [
    'fn',
    'eval',
    pkg,
    '--exec',
    bin,
    '--',
    'backend=grpc',
    `address=${server.address}`,
    `token=${EDGE}`,
    'package=edge/upf',
  ]);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  assert.is(code, 0, out);
}

const statusOf = (file: string) => (parse(readFileSync(join(pkg, file), 'utf8')) as { status?: { prefix?: string } }).status?.prefix;
const vlanOf = (file: string) =>
  (parse(readFileSync(join(pkg, file), 'utf8')) as { status?: { vlanID?: number; vlanRange?: string } }).status ?? {};

async function openVlanIndex(page: Page, index: string): Promise<void> {
  await page.click(`#vlan-indexes tr[data-index="${index}"] button`);
  await page.waitForFunction(() => document.querySelectorAll('#vlan-map:not([hidden]) #vlan-grid .v').length === 4096);
}

async function signedIn(token: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (e) => assert.unreachable(`page error: ${e.message}`));
  await page.goto(web);
  await page.fill('#token', token);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('body[data-loaded]');
  return page;
}

if (requireChromium(test)) {
  test.before(async () => {
    const dir = tmp('ipam-web-');
    writeFileSync(join(dir, 'tokens'), `${ADMIN}\n${EDGE} edge/upf\n`);
    server = await spawnServer([
      '--store',
      'memory',
      '--seed',
      writeSeed(dir),
      '--token-file',
      join(dir, 'tokens'),
      '--http',
      '127.0.0.1:0',
    ]);
    web = /"web":"([^"]+)"/.exec(server.logs())![1]!;
    pkg = join(dir, 'pkg');
    mkdirSync(pkg);
    writeFileSync(join(pkg, 'Kptfile'), 'apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: upf\n');
    for (const n of ['n3-a', 'n3-b']) writeFileSync(join(pkg, `${n}.yaml`), claim(n));
    writeFileSync(join(pkg, 'vlan-n3.yaml'), vlanClaim('vlan-n3', '', 'vpc-ran-cluster01-bd'));
    writeFileSync(join(pkg, 'vlan-trunk.yaml'), vlanClaim('vlan-trunk', '  range: "4"\n'));
    writeFileSync(join(pkg, 'vlan-static.yaml'), vlanClaim('vlan-static', '  vlanID: 200\n'));
    const md = new Metadata();
    md.set('authorization', `Bearer ${ADMIN}`);
    const admin = raw('admin', server.address, undefined, md);
    // a network too large to draw address by address
    await admin.call('ApplyPrefix', {
      networkInstance: { name: 'vpc' },
      prefix: '2001:db8:1::/64',
      kind: 'network',
      labels: { 'nephio.org/cluster-name': 'c6' },
      owner: 'ops|default/IPPrefix/v6',
    });
    // the operator's VLAN index, and a range in it that claims without a selector never take
    await admin.call('VlanBatch', {
      package: 'ops',
      indexes: [{ ref: { name: 'cluster01' }, owner: 'default/VLANIndex/cluster01' }],
      definitions: [{ index: { name: 'cluster01' }, range: '100:109', owner: 'default/VLAN/ran-trunk' }],
    });
    await render();
    await admin.call('Allocate', {
      owner: `evil|${XSS}`,
      networkInstance: { name: 'vpc' },
      kind: 'network',
      selector: { matchLabels: { 'nephio.org/cluster-name': 'c1' } },
      labels: { note: '<b>x</b>' },
    });
    // another package shares the switch's VLAN (same vlanClaimName) and holds one of its own
    const evil = (await admin.call('VlanBatch', {
      package: 'evil',
      requests: [
        { owner: XSS, index: { name: 'cluster01' }, claim: 'vpc-ran-cluster01-bd', labels: { note: '<b>x</b>' } },
        { owner: 'default/VLANClaim/other', index: { name: 'cluster01' } },
      ],
    })) as { outcomes: { error?: unknown }[] };
    assert.equal(
      evil.outcomes.map((o) => o.error),
      [undefined, undefined],
    );
    admin.close();
    browser = await launch();
  });

  test.after(async () => {
    await browser?.close();
    server?.proc.kill('SIGTERM');
    await server?.exited;
    cleanup();
  });

  test('no data without a token: the page asks to sign in, the API answers 401', async () => {
    for (const path of [
      'api/tree',
      'api/allocations',
      'api/subnet?networkInstance=vpc&prefix=10.0.1.0/24',
      'api/vlans',
      'api/vlan?index=cluster01',
      'api/events',
    ]) {
      const res = await fetch(`${web}${path}`);
      assert.is(res.status, 401, path);
    }
    const wrong = await fetch(`${web}api/tree`, { headers: { authorization: 'Bearer not-a-token-at-all' } });
    assert.is(wrong.status, 401);
    const page = await (await browser.newContext()).newPage();
    await page.goto(web);
    await page.waitForSelector('#login:not([hidden])');
    assert.ok(await page.isHidden('#space'));
    await page.fill('#token', 'wrong-token-123');
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('login-error')?.textContent?.includes('refused'));
    const api = await fetch(`${web}api/tree`, { headers: { authorization: `Bearer ${ADMIN}` } });
    assert.is(api.status, 200, 'a bearer token works for scripts');
    const csp = api.headers.get('content-security-policy') ?? '';
    // the page's own script and stylesheet only, by their hashes: no other script runs
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/]+=*'; style-src 'sha256-[A-Za-z0-9+/]+=*';/);
    assert.not.match(csp, 'unsafe');
    // read-only: nothing but GET, and the session's own POSTs
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await fetch(`${web}api/allocations`, { method, headers: { authorization: `Bearer ${ADMIN}` } });
      assert.is(res.status, 405, method);
    }
    await page.context().close();
  });

  test('the tree shows the utilization of each prefix, exactly', async () => {
    const page = await signedIn(ADMIN);
    const subnet = page.locator('div.node[data-prefix="10.0.1.0/24"] .numbers');
    // network address, broadcast, gateway 10.0.1.1, two claims of the package, one admin allocation
    assert.match(await subnet.innerText(), /^6 used \/ 256 \(2\.34%\), 250 free, largest free \/26$/);
    // IPv6 exactly: a /64 network inside the /32 aggregate
    const v6 = page.locator('div.node[data-prefix="2001:db8::/32"] .numbers');
    const free = '79\u202f228\u202f162\u202f495\u202f817\u202f593\u202f519\u202f834\u202f398\u202f720';
    assert.is(await v6.innerText(), `2^64 used / 2^96 (0%), ${free} free, largest free /33`);
    // too large to draw: a summary instead of a grid
    await page.click('div.node[data-prefix="2001:db8:1::/64"] button:has-text("Map")');
    await page.waitForSelector('#subnet:not([hidden])');
    assert.match(
      await page.innerText('#subnet-body'),
      /^network ipv6 in default\/vpc: \d of 2\^64 addresses taken \(0%\)\n+Too large to draw address by address \(2\^64 addresses\)/,
    );
    assert.is(await page.locator('#subnet-body .cell').count(), 0);
    await page.context().close();
  });

  test('filtering finds an allocation, and its subnet link opens the address map', async () => {
    const page = await signedIn(ADMIN);
    await page.fill('#f-owner', 'n3-b');
    await page.click('#filter button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#alloc-rows tr').length === 1);
    const row = page.locator('#alloc-rows tr');
    assert.is(await row.getAttribute('data-prefix'), statusOf('n3-b.yaml'));
    assert.match(await row.innerText(), /edge\/upf/);
    await page.fill('#f-owner', '');
    await page.fill('#f-selector', 'note=<b>x</b>');
    await page.click('#filter button[type=submit]');
    await page.waitForFunction(() => document.getElementById('filter-error')?.textContent !== '');
    assert.match(await page.innerText('#filter-error'), /not a label value/);
    await page.click('#f-clear');
    await page.waitForFunction(() => document.querySelectorAll('#alloc-rows tr').length === 3);
    await page.click(`#alloc-rows tr[data-prefix="${statusOf('n3-a.yaml')}"] .subnet-link`);
    await page.waitForSelector('#subnet:not([hidden]) .grid');
    const address = statusOf('n3-a.yaml')!.split('/')[0]!;
    assert.is(await page.getAttribute(`.cell[data-address="${address}"]`, 'data-state'), 'allocated');
    assert.is(await page.getAttribute('.cell[data-address="10.0.1.1"]', 'data-state'), 'gateway');
    assert.is(await page.locator('.cell[data-state=free]').count(), 250);
    await page.context().close();
  });

  test('a new render shows up live, without a reload', async () => {
    const page = await signedIn(ADMIN);
    await page.waitForSelector('#live.on');
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    writeFileSync(join(pkg, 'n3-c.yaml'), claim('n3-c'));
    await render();
    const prefix = statusOf('n3-c.yaml')!;
    await page.waitForSelector(`#alloc-rows tr[data-prefix="${prefix}"]`, { timeout: 10_000 });
    await page.waitForFunction(() =>
      /^7 used/.test(document.querySelector('div.node[data-prefix="10.0.1.0/24"] .numbers')?.textContent ?? ''),
    );
    assert.equal(navigations, [], 'the page was not reloaded');
    await page.context().close();
  });

  test('signed in, the browser holds a session cookie, never the token; the token is in no URL or log', async () => {
    const page = await signedIn(ADMIN);
    const cookies = await page.context().cookies();
    assert.is(cookies.length, 1);
    assert.equal(
      { name: cookies[0]!.name, httpOnly: cookies[0]!.httpOnly, sameSite: cookies[0]!.sameSite, path: cookies[0]!.path },
      { name: 'ipam_session', httpOnly: true, sameSite: 'Strict', path: '/' },
    );
    assert.is.not(cookies[0]!.value, ADMIN);
    const urls: string[] = [];
    page.on('request', (r) => urls.push(r.url()));
    await page.reload();
    await page.waitForSelector('body[data-loaded]');
    await page.waitForSelector('#live.on');
    // the page drew from the data it came with, and its stream said nothing was missed
    await page.waitForTimeout(300);
    const paths = urls.map((u) => new URL(u).pathname).filter((p) => p !== '/favicon.ico');
    assert.equal(paths.sort(), ['/', '/api/events']);
    for (const u of urls) {
      assert.ok(u.startsWith(web), `${u}: everything comes from the server itself`);
      assert.not.match(u, ADMIN);
    }
    assert.not.match(await page.content(), ADMIN);
    assert.not.match(server.logs(), ADMIN);
    await page.context().close();
  });

  test('a link from another site opens the page signed in (its SameSite=Strict cookie is not sent with that navigation)', async () => {
    const page = await signedIn(ADMIN);
    const other = createServer((_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<a id="go" href="${web}">IPAM</a>`));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      // localhost and 127.0.0.1 are different sites
      await page.goto(`http://localhost:${(other.address() as AddressInfo).port}/`);
      await page.click('#go');
      await page.waitForSelector('body[data-loaded]');
      assert.ok(await page.isHidden('#login'));
      assert.match(await page.innerText('#who'), 'all packages');
    } finally {
      other.close();
      await page.context().close();
    }
  });

  test('owner names and labels from users render as text, never as markup', async () => {
    const page = await signedIn(ADMIN);
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text());
    });
    await page.reload();
    await page.waitForSelector('body[data-loaded]');
    const owner = page.locator('#alloc-rows td.owner', { hasText: 'onerror' });
    assert.is(await owner.innerText(), XSS);
    assert.is(await page.locator('#alloc-rows img').count(), 0);
    assert.is(await page.locator('#alloc-rows b').count(), 0);
    // in the data the page came with, and in a VLAN holder's detail
    assert.not.match(await page.evaluate(() => document.getElementById('boot')!.textContent!), '<');
    await openVlanIndex(page, 'default/cluster01');
    await page.click(`#vlan-grid .v[data-id="${vlanOf('vlan-n3.yaml').vlanID!}"]`);
    assert.is(await page.locator('#vlan-detail .owner', { hasText: 'onerror' }).innerText(), `evil: ${XSS}`);
    assert.is(await page.locator('#vlan-map img, #vlan-map b').count(), 0);
    assert.is(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.equal(violations, [], 'the page breaks none of its own Content-Security-Policy');
    await page.context().close();
  });

  test('a VLAN index: 4096 cells in their states, its claims listed, a selected cell names its claim and owner', async () => {
    const page = await signedIn(ADMIN);
    const row = page.locator('#vlan-indexes tr[data-index="default/cluster01"]');
    // n3 (shared with evil), evil's own id, a block of 4, id 200; the operator's 100:109; 0, 1, 4095
    assert.match(await row.innerText(), /7 claimed \(4 in blocks\), 10 defined, 3 reserved, 4076 free/);
    await openVlanIndex(page, 'default/cluster01');
    const stateOf = (id: number) => page.getAttribute(`#vlan-grid .v[data-id="${id}"]`, 'class');
    const n3 = vlanOf('vlan-n3.yaml').vlanID!;
    const [start, end] = vlanOf('vlan-trunk.yaml').vlanRange!.split(':').map(Number) as [number, number];
    assert.is(end - start, 3);
    assert.is(vlanOf('vlan-static.yaml').vlanID, 200);
    for (const [id, state] of [
      [0, 'reserved'],
      [1, 'reserved'],
      [4095, 'reserved'],
      [n3, 'allocated'],
      [start, 'range'],
      [end, 'range'],
      [200, 'allocated'],
      [100, 'defined'],
      [109, 'defined'],
      [110, 'free'],
      [4094, 'free'],
    ] as const) {
      assert.is(await stateOf(id), `v ${state}`, `id ${id}`);
    }
    assert.is(await page.locator('#vlan-grid .v.free').count(), 4076);
    assert.match(await page.innerText('#vlan-legend'), /claimed 3.*claimed block 4/s);
    // the claims are listed in id order, the shared id once with both holders
    const listed = await page
      .locator('#vlan-rows tr')
      .evaluateAll((rows) => rows.map((r) => `${r.getAttribute('data-vlan')} ${r.getAttribute('data-state')}`));
    assert.equal(listed.slice(0, 3), [`${n3} allocated`, `${start}:${end} range`, `${end + 1} allocated`]);
    assert.ok(listed.includes('100:109 defined') && listed.includes('200 allocated'), listed.join(', '));
    await page.click(`#vlan-grid .v[data-id="${n3}"]`);
    assert.is(await page.getAttribute(`#vlan-grid .v[data-id="${n3}"]`, 'class'), 'v allocated selected');
    const detail = await page.innerText('#vlan-detail');
    assert.match(detail, new RegExp(`^VLAN ${n3}: claimed`));
    assert.match(detail, 'claimed by edge/upf: default/VLANClaim/vlan-n3');
    assert.match(detail, 'shared as vlanClaimName vpc-ran-cluster01-bd');
    assert.match(detail, `with evil: ${XSS}`);
    await page.click('#vlan-rows tr[data-vlan="100:109"] .vlan-pick');
    assert.match(
      await page.innerText('#vlan-detail'),
      /^VLAN 100: defined \(VLAN resource\)\n+range 100:109 defined by ops: default\/VLAN\/ran-trunk/,
    );
    await page.click('#vlan-grid .v[data-id="4095"]');
    assert.match(await page.innerText('#vlan-detail'), /VLAN 4095: reserved\n+Never handed out/);
    await page.context().close();
  });

  test('a VLAN claim rendered while the index is open shows up live, the selection kept', async () => {
    const page = await signedIn(ADMIN);
    await page.waitForSelector('#live.on');
    await openVlanIndex(page, 'default/cluster01');
    await page.click('#vlan-grid .v[data-id="200"]');
    writeFileSync(join(pkg, 'vlan-late.yaml'), vlanClaim('vlan-late', ''));
    await render();
    const id = vlanOf('vlan-late.yaml').vlanID!;
    await page.waitForSelector(`#vlan-grid .v.allocated[data-id="${id}"]`, { timeout: 10_000 });
    await page.waitForFunction(() =>
      /8 claimed/.test(document.querySelector('#vlan-indexes tr[data-index="default/cluster01"]')?.textContent ?? ''),
    );
    assert.is(await page.getAttribute('#vlan-grid .v[data-id="200"]', 'class'), 'v allocated selected');
    assert.match(await page.innerText('#vlan-detail'), 'default/VLANClaim/vlan-static');
    await page.context().close();
  });

  test('a package token sees only its package', async () => {
    const page = await signedIn(EDGE);
    assert.match(await page.innerText('#who'), /package edge\/upf/);
    const owners = await page.locator('#alloc-rows td.owner').allInnerTexts();
    assert.ok(owners.length >= 2);
    for (const o of owners) assert.match(o, /^default\/IPClaim\/n3-/);
    const res = await page.evaluate(async () => (await fetch('/api/allocations?package=evil')).json());
    assert.equal(res, { items: [], more: false });
    // its VLAN ids with their owners; another package's as taken, without owner, claim or labels
    await openVlanIndex(page, 'default/cluster01');
    const n3 = vlanOf('vlan-n3.yaml').vlanID!;
    await page.click(`#vlan-grid .v[data-id="${n3}"]`);
    assert.match(
      await page.innerText('#vlan-detail'),
      /claimed by edge\/upf: default\/VLANClaim\/vlan-n3\n+shared as vlanClaimName vpc-ran-cluster01-bd\n+with another package$/,
    );
    const other = await page
      .locator('#vlan-rows tr[data-state="allocated"]', { hasText: 'another package', hasNotText: 'edge/upf' })
      .locator('td')
      .allInnerTexts();
    assert.equal(other.slice(1), ['claimed', 'another package', '', '']);
    assert.not.match(await page.innerText('#vlan-map'), 'evil');
    await page.context().close();
  });
}

test.run();
