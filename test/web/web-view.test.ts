/// <reference lib="dom" />
// The web view in a real browser (Debian chromium through playwright-core) against a real
// `serve` with tokens on, seeded with a space and filled through the function under the real
// kpt: the tree's utilization, filtering, a render showing up live, owner names rendered as
// text, and no data without a token.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
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
    await render();
    const md = new Metadata();
    md.set('authorization', `Bearer ${ADMIN}`);
    const admin = raw('admin', server.address, undefined, md);
    await admin.call('Allocate', {
      owner: `evil|${XSS}`,
      networkInstance: { name: 'vpc' },
      kind: 'network',
      selector: { matchLabels: { 'nephio.org/cluster-name': 'c1' } },
      labels: { note: '<b>x</b>' },
    });
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
    for (const path of ['api/tree', 'api/allocations', 'api/subnet?networkInstance=vpc&prefix=10.0.1.0/24', 'api/events']) {
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
    assert.match(csp, "script-src 'self'");
    await page.context().close();
  });

  test('the tree shows the utilization of each prefix, exactly', async () => {
    const page = await signedIn(ADMIN);
    const subnet = page.locator('div.node[data-prefix="10.0.1.0/24"] .numbers');
    // network address, broadcast, gateway 10.0.1.1, two claims of the package, one admin allocation
    assert.match(await subnet.innerText(), /^6 used \/ 256 \(2\.34%\), 250 free, largest free \/26$/);
    const v6 = page.locator('div.node[data-prefix="2001:db8::/32"] .numbers');
    assert.match(await v6.innerText(), /^0 used \/ 2\^96 \(0%\), 2\^96 free, largest free \/32$/);
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

  test('owner names and labels from users render as text, never as markup', async () => {
    const page = await signedIn(ADMIN);
    const owner = page.locator('#alloc-rows td.owner', { hasText: 'onerror' });
    assert.is(await owner.innerText(), XSS);
    assert.is(await page.locator('#alloc-rows img').count(), 0);
    assert.is(await page.locator('#alloc-rows b').count(), 0);
    assert.is(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
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
    await page.context().close();
  });
}

test.run();
