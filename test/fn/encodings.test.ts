// The built function (as kpt runs it) keeps every byte it does not own: bytes that are not
// UTF-8, a BOM, UTF-16, CRLF line endings and flow style; invalid UTF-8 in a resource it owns
// is an error naming the item and line.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = join(fileURLToPath(new URL('../..', import.meta.url)), 'bin/ipam-injector');
const run = (input: Buffer) => spawnSync(process.execPath, [bin], { input });

const HEAD = 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n';
const SPACE = `- apiVersion: ipam.resource.nephio.org/v1alpha1
  kind: NetworkInstance
  metadata: {name: vpc}
  spec:
    prefixes:
    - prefix: 10.0.0.0/8
- apiVersion: ipam.resource.nephio.org/v1alpha1
  kind: IPPrefix
  metadata:
    name: lan
  spec: {kind: network, prefix: 10.0.1.0/24, networkInstance: {name: vpc}}
`;
const CLAIM = `- apiVersion: ipam.resource.nephio.org/v1alpha1
  kind: IPClaim
  metadata:
    name: a
  spec:
    kind: network
    networkInstance: {name: vpc}
`;
const STATUS = '  status:\n    prefix: 10.0.1.1/24\n';
const bytes = (...parts: (string | number[] | Buffer)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

test('bytes that are not UTF-8 in a resource the function does not own come out as they went in', () => {
  const cm = bytes(
    '- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c\n  data:\n    x: "caf',
    [0xe9],
    ' ',
    [0xff, 0xfe, 0xc0, 0xaf, 0xed, 0xa0, 0x80],
    ' ok"\n',
  );
  const r = run(bytes(HEAD, SPACE, CLAIM, cm));
  assert.is(r.status, 0, r.stdout.toString());
  const expected = bytes(HEAD, SPACE, CLAIM, STATUS, cm);
  assert.ok(r.stdout.subarray(0, expected.length).equals(expected), r.stdout.toString('latin1'));
  assert.ok(r.stdout.subarray(expected.length).toString().startsWith('results:\n'));
});

test('bytes that are not UTF-8 in a resource the function reads: an error naming the item and line, input echoed byte for byte', () => {
  const [before, after] = CLAIM.split('    name: a\n');
  const claim = bytes(before, '    name: a\n    labels: {x: "', [0xff], '"}\n', after);
  const input = bytes(HEAD, SPACE, claim);
  const r = run(input);
  assert.is(r.status, 1);
  assert.ok(r.stdout.subarray(0, input.length).equals(input));
  assert.match(r.stdout.toString(), /item 2 of the ResourceList \(IPClaim a\) is not valid UTF-8 at line 19, column \d+ of the input/);
});

test('CRLF input keeps CRLF and its flow maps: only the status lines are new', () => {
  const cm = '- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n  data: {x: y}\n';
  const crlf = (s: string) => s.replace(/\n/g, '\r\n');
  const r = run(Buffer.from(crlf(HEAD + SPACE + CLAIM + cm)));
  assert.is(r.status, 0, r.stdout.toString());
  const out = r.stdout.toString();
  assert.ok(out.startsWith(crlf(HEAD + SPACE + CLAIM + STATUS + cm)), out);
  assert.not.match(out, /[^\r]\n/, 'every line ends in CRLF, results included');
});

test('a UTF-8 BOM and UTF-16 (with or without a BOM) come back in the same encoding', () => {
  const plain = HEAD + SPACE + CLAIM;
  const bom = run(bytes([0xef, 0xbb, 0xbf], plain));
  assert.is(bom.status, 0, bom.stdout.toString());
  assert.ok(bom.stdout.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])));
  assert.ok(
    bom.stdout
      .subarray(3)
      .toString()
      .startsWith(plain + STATUS),
  );
  const le = run(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(plain, 'utf16le')]));
  assert.is(le.status, 0);
  assert.ok(le.stdout.subarray(0, 2).equals(Buffer.from([0xff, 0xfe])));
  assert.ok(
    le.stdout
      .subarray(2)
      .toString('utf16le')
      .startsWith(plain + STATUS),
  );
  const be = Buffer.from(plain, 'utf16le').swap16();
  const r = run(be);
  assert.is(r.status, 0);
  assert.ok(
    Buffer.from(r.stdout)
      .swap16()
      .toString('utf16le')
      .startsWith(plain + STATUS),
  );
});

test.run();
