// Fuzz: generated hostile ResourceLists through the BUILT function (bin/ipam-injector, as kpt
// runs it). Aliases, deep nesting, odd scalars, names with "/" and unicode, bytes that are not
// UTF-8, a BOM, UTF-16 and CRLF. For every input: an answer in time, never an empty stdout,
// exit 0 or 1 as the input deserves, every item the function does not own present byte for
// byte and in order, and on exit 1 the whole input echoed. Bounded: FUZZ_RUNS runs (default
// 40) and FUZZ_SECONDS seconds (default 25), whichever comes first.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = join(fileURLToPath(new URL('../..', import.meta.url)), 'bin/ipam-injector');
const RUNS = Number(process.env.FUZZ_RUNS) || 40;
const SECONDS = Number(process.env.FUZZ_SECONDS) || 25;

interface Piece {
  /** What it is, for a failure report (the bytes can be megabytes). */
  label: string;
  bytes: Buffer;
  /** The function reads (and may write) it. */
  owned: boolean;
  /** The run must fail because of it. */
  fails: boolean;
}

const HEAD = 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n';
const piece = (label: string, bytes: Buffer, owned: boolean, fails: boolean): Piece =>
  ({ label, bytes, owned, fails, [fc.toStringMethod]: () => `${label}${owned ? ' (owned)' : ''}${fails ? ' (fails)' : ''}` }) as Piece;
const text = (s: string, owned = false, fails = false, label = s.length > 120 ? s.slice(0, 117) + '...' : s): Piece =>
  piece(label, Buffer.from(s, 'utf8'), owned, fails);

const SPACE = [
  text('- apiVersion: kpt.dev/v1\n  kind: Kptfile\n  metadata:\n    name: pkg\n', true),
  text(
    '- apiVersion: ipam.resource.nephio.org/v1alpha1\n  kind: NetworkInstance\n  metadata: {name: vpc}\n  spec:\n    prefixes:\n    - prefix: 10.0.0.0/8\n',
    true,
  ),
  text(
    '- apiVersion: ipam.resource.nephio.org/v1alpha1\n  kind: IPPrefix\n  metadata:\n    name: lan\n  spec: {kind: network, prefix: 10.0.1.0/24, networkInstance: {name: vpc}}\n',
    true,
  ),
];

const oddScalar = fc.constantFrom(
  '0755',
  'yes',
  'no',
  '1e2',
  '1500.0',
  '12345678901234567890',
  '~',
  'null',
  "''",
  '""',
  '"\\u2028"',
  "'it''s'",
  '2021-01-01',
  '0x1F',
  '.inf',
  '-',
  '"a: b"',
  '"#x"',
  '日本語',
  'é',
  '"\\t"',
  '|\n      line\n      two',
);
const name = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
  fc.constantFrom('a/b', 'x/IPClaim/y', 'ünï', '名前', 'a.b.c', '__proto__'),
);

/** A ConfigMap the function does not own, with odd keys and values. */
const configMap = fc
  .tuple(name, fc.array(fc.tuple(fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,8}$/), oddScalar), { maxLength: 6 }), fc.boolean())
  .map(([n, data, flow]): Piece => {
    const uniq = [...new Map(data).entries()];
    const head = `- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: ${JSON.stringify(n)}\n`;
    if (flow && uniq.every(([, v]) => !v.includes('\n')))
      return text(head + `  data: {${uniq.map(([k, v]) => `${k}: ${v}`).join(', ')}}\n`);
    return text(head + (uniq.length ? '  data:\n' + uniq.map(([k, v]) => `    ${k}: ${v}\n`).join('') : ''));
  });

/** Nesting, flow or block, sometimes past the limit (then the run fails). */
const deep = fc.tuple(fc.integer({ min: 1, max: 1200 }), fc.boolean(), fc.boolean()).map(([d, flow, owned]): Piece => {
  const depth = flow ? d * 3 : d;
  const kind = owned ? 'apiVersion: ipam.resource.nephio.org/v1alpha1\n  kind: IPClaim' : 'apiVersion: v1\n  kind: ConfigMap';
  let body: string;
  if (flow) body = `  x: ${'['.repeat(depth)}${']'.repeat(depth)}\n`;
  else {
    body = '  x:\n';
    for (let i = 0; i < depth; i++) body += ' '.repeat(4 + 2 * i) + `k${i}:` + (i === depth - 1 ? ' v\n' : '\n');
  }
  // past 1000 levels is refused; an owned claim also fails for its missing spec
  return text(
    `- ${kind}\n  metadata:\n    name: deep\n${body}`,
    owned,
    depth > 990 || owned,
    `${flow ? 'flow' : 'block'} nesting ${depth} in ${owned ? 'IPClaim' : 'ConfigMap'}`,
  );
});

/** Anchors referring to each other: harmless in a resource only checked, capped in one that is read. */
const aliases = fc.tuple(fc.integer({ min: 1, max: 9 }), fc.boolean()).map(([levels, owned]): Piece => {
  let anchors = '    a0: &a0 [x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i < levels; i++)
    anchors += `    a${i}: &a${i} [${Array(9)
      .fill(`*a${i - 1}`)
      .join(', ')}]\n`;
  const kind = owned ? 'apiVersion: ipam.resource.nephio.org/v1alpha1\n  kind: IPClaim' : 'apiVersion: v1\n  kind: ConfigMap';
  // 9^levels nodes once expanded: over the caps from 4 levels (the owned claim fails anyway: no spec)
  return text(
    `- ${kind}\n  metadata:\n    name: bomb\n  extra:\n${anchors}`,
    owned,
    owned,
    `${levels} alias levels in ${owned ? 'IPClaim' : 'ConfigMap'}`,
  );
});

const claim = fc.tuple(name, fc.option(fc.constantFrom('[c2]', '{a: b}', '7', 'c1'), { nil: undefined })).map(([n, label]): Piece => {
  // a "/" in a name, or a label that is not a string, is an error; other oddities may fail (no space) or pass
  const fails = n.includes('/') || (label !== undefined && label !== 'c1' && label !== '7');
  const labels = label === undefined ? '' : `    labels:\n      nephio.org/cluster: ${label}\n`;
  return text(
    `- apiVersion: ipam.resource.nephio.org/v1alpha1\n  kind: IPClaim\n  metadata:\n    name: ${JSON.stringify(n)}\n${labels}  spec:\n    kind: network\n    networkInstance: {name: vpc}\n`,
    true,
    fails || label === '7',
  );
});

/** Bytes that are not UTF-8 inside a value. */
const notUtf8 = fc
  .tuple(
    fc.uint8Array({ minLength: 1, maxLength: 4 }).map((a) => Buffer.from(a.map((b) => 0x80 | b))),
    fc.boolean(),
  )
  .map(([junk, owned]): Piece => {
    const kind = owned ? 'apiVersion: ipam.resource.nephio.org/v1alpha1\n  kind: IPClaim' : 'apiVersion: v1\n  kind: ConfigMap';
    const bytes = Buffer.concat([Buffer.from(`- ${kind}\n  metadata:\n    name: raw\n  data:\n    x: "`), junk, Buffer.from('"\n')]);
    return piece(`bytes ${junk.toString('hex')} in ${owned ? 'IPClaim' : 'ConfigMap'}`, bytes, owned, owned);
  });

function isUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

const pieces = fc.array(fc.oneof({ weight: 3, arbitrary: configMap }, deep, aliases, claim, notUtf8), { minLength: 1, maxLength: 6 });
const framing = fc.constantFrom('utf-8', 'bom', 'crlf', 'utf-16le', 'utf-16be');

function frame(items: Piece[], how: string): { input: Buffer; itemBytes: Buffer[] } {
  const crlf = (b: Buffer) => (how === 'crlf' ? Buffer.from(b.toString('latin1').replace(/\n/g, '\r\n'), 'latin1') : b);
  const enc = (b: Buffer): Buffer => {
    if (how === 'utf-16le') return Buffer.from(b.toString('utf8'), 'utf16le');
    if (how === 'utf-16be') return Buffer.from(b.toString('utf8'), 'utf16le').swap16();
    return crlf(b);
  };
  const body = Buffer.concat([enc(Buffer.from(HEAD)), ...items.map((p) => enc(p.bytes))]);
  const bom =
    how === 'bom' ? Buffer.from([0xef, 0xbb, 0xbf]) : how === 'utf-16le' && items.length % 2 ? Buffer.from([0xff, 0xfe]) : Buffer.alloc(0);
  return { input: Buffer.concat([bom, body]), itemBytes: items.map((p) => enc(p.bytes)) };
}

test('generated hostile ResourceLists: an answer in time, never empty, every item it does not own unchanged, exit codes as deserved', () => {
  const started = Date.now();
  let runs = 0;
  fc.assert(
    fc.property(pieces, fc.boolean(), framing, (generated, withSpace, how0) => {
      const items = withSpace ? [...SPACE, ...generated] : generated;
      // UTF-16 carries text; bytes that are not UTF-8 only go with UTF-8 framings
      const how = how0.startsWith('utf-16') && items.some((p) => !isUtf8(p.bytes)) ? 'utf-8' : how0;
      const { input, itemBytes } = frame(items, how);
      const r = spawnSync(process.execPath, [bin], { input, timeout: 20_000, maxBuffer: 256 << 20 });
      runs++;
      try {
        check(r, input, items, itemBytes, how);
      } catch (e) {
        const out = r.stdout.toString('utf8');
        throw new Error(
          `${(e as Error).message}\n  framing ${how}, exit ${r.status}\n  stdout tail: ${out.slice(-600)}\n  stderr: ${r.stderr.toString().slice(0, 600)}`,
        );
      }
    }),
    {
      numRuns: RUNS,
      interruptAfterTimeLimit: SECONDS * 1000,
      markInterruptAsFailure: false,
      includeErrorInReport: true,
      ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}),
    },
  );
  assert.ok(runs >= Math.min(RUNS, 5), `only ${runs} runs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

function check(
  r: ReturnType<typeof spawnSync> & { stdout: Buffer; stderr: Buffer },
  input: Buffer,
  items: Piece[],
  itemBytes: Buffer[],
  how: string,
): void {
  assert.is(r.error, undefined, `no answer: ${r.error?.message}`);
  assert.ok(r.stdout.length > 0, `empty stdout; stderr: ${r.stderr}`);
  assert.ok(r.status === 0 || r.status === 1, `exit ${r.status}; stderr: ${r.stderr}`);
  const mustFail = items.some((p) => p.fails);
  if (mustFail) assert.is(r.status, 1, 'a hostile item must fail the run');
  if (r.status === 1) {
    assert.ok(r.stdout.subarray(0, input.length).equals(input), 'on exit 1 the input is echoed byte for byte');
  } else {
    let at = 0;
    itemBytes.forEach((b, i) => {
      if (items[i].owned) return;
      const found = r.stdout.indexOf(b, at);
      assert.ok(found >= at, `item ${i} is not in the output unchanged and in order`);
      at = found + b.length;
    });
  }
  const outText =
    how === 'utf-16le'
      ? r.stdout.toString('utf16le')
      : how === 'utf-16be'
        ? Buffer.from(r.stdout).swap16().toString('utf16le')
        : r.stdout.toString('latin1');
  assert.match(outText, /(^|\n)results:\r?\n/, 'results are written');
}

test.run();
