// Command-line conventions of bin/ipam-injector (the bundle), for every command: --help and
// --version exit 0 and say what the command does; the function's --help is its documentation
// (what `kpt fn doc` shows); a terminal or an empty stdin gets a clear message; errors are one
// line; `get` finds its server from the flag, IPAM_INJECTOR_ADDRESS or the default.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { cleanup, tmp, writeSeed } from '../server/helpers.js';
import { BACKEND_SETTINGS } from '../../src/backends/settings.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/ipam-injector');
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('IPAM_INJECTOR_')));
const run = (args: string[], input = '', extraEnv: Record<string, string> = {}) =>
  spawnSync(process.execPath, [bin, ...args], { input, encoding: 'utf8', timeout: 30_000, env: { ...env, ...extraEnv } });
const runAsync = (
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const c = spawn(process.execPath, [bin, ...args], { env: { ...env, ...extraEnv } });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });

test('every command: --help and --version exit 0; help says what the command does', () => {
  for (const cmd of [[], ['fn'], ['serve'], ['get']]) {
    const h = run([...cmd, '--help']);
    assert.is(h.status, 0, `${cmd.join(' ')} --help: ${h.stderr}`);
    assert.is(h.stderr, '');
    const v = run([...cmd, '--version']);
    assert.is(v.status, 0, `${cmd.join(' ')} --version: ${v.stderr}`);
    assert.is(v.stdout, `ipam-injector ${version}\n`);
  }
  assert.match(run(['serve', '--help']).stdout, /^ipam-injector serve: the shared IPAM server/);
  assert.match(run(['get', '--help']).stdout, /^ipam-injector get: list what an IPAM server .* holds/);
  assert.match(run(['get', '--help']).stdout, /-o, --output table\|wide\|yaml\|json/);
});

test('the function --help is its documentation: the README overview, usage, every config key, the examples', () => {
  const h = run(['--help']).stdout;
  assert.equal(run(['fn', '--help']).stdout, h);
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  assert.ok(h.includes('allocates IP addresses for the IP allocation requests in a kpt package'), 'overview');
  for (const heading of ['KPT FN EVAL', 'KPT FN RENDER', 'FUNCTIONCONFIG', 'FIELD PATHS', 'GRPC BACKEND SETTINGS'])
    assert.ok(h.includes(`\n${heading}\n`), heading);
  // every key of the README's config tables
  const section = readme.slice(readme.indexOf('## FunctionConfig'), readme.indexOf('## What the function reads'));
  const keys = [...section.matchAll(/^\| `(\w+)`/gm)].map((m) => m[1]!);
  assert.ok(keys.length >= 10, keys.join(' '));
  for (const k of keys) assert.ok(h.includes(`\`${k}\``), `--help lacks ${k}`);
  // the gRPC settings table names every setting the backend takes
  const grpcTable = section.slice(section.indexOf('### gRPC backend settings'));
  for (const k of BACKEND_SETTINGS.grpc!) assert.ok(grpcTable.includes(`\`${k}\``), `README's gRPC settings lack ${k}`);
  for (const ex of ['examples/upf', 'examples/ipclaim-simple', 'examples/release', 'examples/injection-nad-json'])
    assert.ok(h.includes(ex), ex);
  assert.not.match(h, /<!--|```/);
});

test('usage errors of every command are one line that says where the flags are listed, exit 2', () => {
  for (const [args, want] of [
    [['serve', '--no-such-flag'], /^serve: Unknown option '--no-such-flag'.* \(ipam-injector serve --help lists the flags\)\n$/],
    [['get', 'prefixes', '--no-such-flag'], /^get: Unknown option '--no-such-flag'.* \(ipam-injector get --help lists the flags\)\n$/],
    [
      ['get'],
      /^get: say what to list: allocations, prefixes, network-instances, vlan-indexes or vlan-claims \(ipam-injector get --help\)\n$/,
    ],
    [['frobnicate'], /^ipam-injector: unknown command "frobnicate" \(ipam-injector --help lists the commands\)\n$/],
  ] as const) {
    const r = run([...args]);
    assert.is(r.status, 2, args.join(' '));
    assert.match(r.stderr, want);
  }
});

test('the function: an empty stdin and stray arguments get a clear message, not a YAML error', () => {
  const empty = run([], '');
  assert.is(empty.status, 1);
  const results = parse(empty.stdout).results;
  assert.match(results[0].message, /^no input: the function reads a ResourceList on stdin \(kpt fn eval and kpt fn render send one\)/);
  assert.not.match(empty.stderr, /not a mapping/);
  const stray = run(['fn', 'dryRun=true'], '');
  assert.is(stray.status, 2);
  assert.match(stray.stderr, /^ipam-injector fn: unexpected argument "dryRun=true": the function takes its config from the ResourceList/);
  assert.is(stray.stderr.trim().split('\n').length, 1);
});

/** The bundled server on a free port; resolves once it serves. */
async function serveBundled(args: string[]) {
  const server = spawn(process.execPath, [bin, 'serve', '--listen', '127.0.0.1:0', ...args], { env });
  const out = { log: '' };
  server.stderr.on('data', (d) => (out.log += d));
  const exited = new Promise<number | null>((r) => server.on('exit', r));
  const address = await new Promise<string>((ok, ko) => {
    const t = setTimeout(() => ko(new Error(out.log)), 30_000);
    server.stderr.on('data', () => {
      const m = /"msg":"serving","address":"([^"]+)"/.exec(out.log);
      if (m) {
        clearTimeout(t);
        ok(m[1]!);
      }
    });
  });
  return { server, exited, address };
}

test('serve on a taken port: exit 1 and one JSON line naming the address, no grpc-js line', async () => {
  const first = await serveBundled(['--store', 'memory']);
  try {
    const second = await runAsync(['serve', '--store', 'memory', '--listen', first.address]);
    assert.is(second.status, 1);
    const lines = second.stderr.trim().split('\n');
    for (const l of lines) assert.ok(l.startsWith('{'), `not a JSON log line: ${l}`);
    const last = JSON.parse(lines.at(-1)!);
    assert.is(last.level, 'error');
    assert.is(last.error, `cannot listen on ${first.address}: address already in use`);
  } finally {
    first.server.kill('SIGTERM');
  }
  assert.is(await first.exited, 0);
});

test('get: --server, else IPAM_INJECTOR_ADDRESS, else 127.0.0.1:9090; -o wide adds labels; errors are one line', async () => {
  const dir = tmp();
  const { server, exited, address } = await serveBundled(['--store', 'memory', '--seed', writeSeed(dir)]);
  try {
    const byEnv = await runAsync(['get', 'prefixes'], { IPAM_INJECTOR_ADDRESS: address });
    assert.is(byEnv.status, 0, byEnv.stderr);
    const byFlag = await runAsync(['get', 'prefixes', '--server', address], { IPAM_INJECTOR_ADDRESS: '127.0.0.1:1' });
    assert.is(byFlag.stdout, byEnv.stdout);
    const wide = await runAsync(['get', 'prefixes', '-o', 'wide'], { IPAM_INJECTOR_ADDRESS: address });
    assert.is(wide.status, 0, wide.stderr);
    const lines = wide.stdout.trim().split('\n');
    assert.match(lines[0]!, /\s+OWNER\s+LABELS$/);
    assert.ok(
      lines.some((l) => /10\.0\.1\.0\/24 .*nephio\.org\/network-name=n3/.test(l)),
      wide.stdout,
    );
    const verbose = await runAsync(['get', 'prefixes', '-v'], { IPAM_INJECTOR_ADDRESS: address });
    assert.is(verbose.status, 0, verbose.stderr);
    assert.match(verbose.stderr, /^get: \/ipaminjector\.admin\.v1\.Admin\/List\w+ OK \d+\.\d ms$/m);
    assert.not.match(byEnv.stderr, /ipaminjector/, 'quiet without -v');
    const bad = await runAsync(['get', 'prefixes', '-o', 'xml'], { IPAM_INJECTOR_ADDRESS: address });
    assert.is(bad.status, 2);
    assert.is(bad.stderr, 'get: -o must be table, wide, yaml or json, not "xml"\n');
  } finally {
    server.kill('SIGTERM');
  }
  assert.is(await exited, 0);
  const down = await runAsync(['get', 'allocations', '--timeout', '1s'], { IPAM_INJECTOR_ADDRESS: address });
  assert.is(down.status, 1);
  assert.is(down.stderr.trim().split('\n').length, 1, down.stderr);
  assert.match(down.stderr, new RegExp(`^get: get allocations from ${address.replace(/\./g, '\\.')}: UNAVAILABLE: `));
  assert.not.match(down.stderr, /Resolution note|Error: connect/);
  // no flag, no environment: the address serve listens on by default
  const byDefault = await runAsync(['get', 'allocations', '--timeout', '1s']);
  if (byDefault.status !== 0) assert.match(byDefault.stderr, /^get: get allocations from 127\.0\.0\.1:9090: /);
});

test.after(() => cleanup());
test.run();
