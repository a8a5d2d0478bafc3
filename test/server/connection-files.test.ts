// Files the grpc backend's options name (token, CA, client certificate): one that cannot be
// read is an error naming the option and the path, never a bare ENOENT; through the function,
// an error result on the function config.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createGrpcBackend } from '../../src/backends/grpc.js';
import { createBackend } from '../../src/backends/index.js';
import { runFunction } from '../../src/krm/run.js';
import { KPTFILE, SPACE, claim, list } from '../support/resource-list.js';

const dir = mkdtempSync(join(tmpdir(), 'ipam-conn-'));
const missing = join(dir, 'missing.pem');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('accepted');
};

test('a missing token, CA or client certificate file names the option (or the variable) and the path', () => {
  const base = { address: '127.0.0.1:1', package: 'p' };
  assert.is(
    refusal(() => createGrpcBackend({ ...base, tokenFile: missing })),
    `tokenFile: cannot read "${missing}": no such file (ENOENT)`,
  );
  assert.is(
    refusal(() => createGrpcBackend({ ...base, tlsCa: missing })),
    `tlsCa: cannot read "${missing}": no such file (ENOENT)`,
  );
  assert.is(
    refusal(() => createGrpcBackend({ ...base, tlsCert: missing, tlsKey: missing })),
    `tlsKey: cannot read "${missing}": no such file (ENOENT)`,
  );
  assert.is(
    refusal(() => createGrpcBackend({ ...base, tokenFile: dir })),
    `tokenFile: cannot read "${dir}": it is a directory (EISDIR)`,
  );
  const env = { IPAM_INJECTOR_TOKEN_FILE: missing, IPAM_INJECTOR_TLS_CA: missing };
  assert.is(
    refusal(() => createGrpcBackend({ ...base, env: { IPAM_INJECTOR_TLS_CA: missing } })),
    `IPAM_INJECTOR_TLS_CA: cannot read "${missing}": no such file (ENOENT)`,
  );
  assert.match(
    refusal(() => createGrpcBackend({ ...base, env })),
    /^IPAM_INJECTOR_/,
  );
});

test('through the function: an error result on the function config, the package unchanged', async () => {
  const input = list(
    { Kptfile: KPTFILE, 'space.yaml': SPACE, 'c.yaml': claim('a') },
    `apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  backend: grpc
  address: 127.0.0.1:1
  package: p
  tokenFile: ${missing}
`,
  );
  const out = await runFunction(input, (cfg) => createBackend(cfg.backend, cfg.backendOptions));
  assert.is(out.exitCode, 1);
  const results = (parse(out.stdout).results ?? []) as { severity: string; message: string; field?: { path: string } }[];
  const err = results.find((r) => r.severity === 'error')!;
  assert.is(err.message, `backend grpc: tokenFile: cannot read "${missing}": no such file (ENOENT)`);
  assert.is(err.field?.path, 'functionConfig');
  assert.equal(parse(out.stdout).items, parse(input).items);
});

test.run();
