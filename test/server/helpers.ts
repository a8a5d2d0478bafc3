// Shared by the server tests: real servers on loopback (in process or as a child process
// running the real CLI), temporary directories, a seed space, and promisified raw clients.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { createIpam, restoreIpam } from '../../src/ipam/index.js';
import { silentLogger } from '../../src/server/log.js';
import { clientConstructor } from '../../src/protocol/load.js';
import { parseSeed } from '../../src/server/seed.js';
import { startServer, type ServerOptions } from '../../src/server/server.js';
import { MemoryStore } from '../../src/server/store/memory-store.js';

export const root = new URL('../..', import.meta.url).pathname;

export const SEED = `apiVersion: ipam.resource.nephio.org/v1alpha1
kind: NetworkInstance
metadata:
  name: vpc
spec:
  prefixes:
  - prefix: 10.0.0.0/8
  - prefix: 2001:db8::/32
---
apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPPrefix
metadata:
  name: n3
  labels:
    nephio.org/cluster-name: c1
spec:
  kind: network
  prefix: 10.0.1.1/24
  networkInstance:
    name: vpc
  network: n3
  labels:
    nephio.org/gateway: "true"
---
apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPPrefix
metadata:
  name: tiny
  labels:
    nephio.org/cluster-name: tiny
spec:
  kind: network
  prefix: 10.0.9.0/30
  networkInstance:
    name: vpc
---
apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPPrefix
metadata:
  name: pool
spec:
  kind: pool
  prefix: 10.128.0.0/16
  networkInstance:
    name: vpc
`;

const dirs: string[] = [];
export function tmp(prefix = 'ipam-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
export function cleanup(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export const createIpamFn: ServerOptions['createIpam'] = (s) => (s ? restoreIpam(s) : createIpam());

export function inProcess(over: Partial<ServerOptions> = {}) {
  return startServer({
    listen: '127.0.0.1:0',
    store: new MemoryStore(),
    createIpam: createIpamFn,
    seed: parseSeed(SEED, 'seed.yaml'),
    log: silentLogger,
    ...over,
  });
}

export interface Spawned {
  proc: ChildProcess;
  address: string;
  port: number;
  metricsPort?: number;
  logs: () => string;
  exited: Promise<number | null>;
}

/** Runs `src/cli/serve.ts` as a child process; resolves once it logs "serving". */
export function spawnServer(args: string[]): Promise<Spawned> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/serve.ts'), '--listen', '127.0.0.1:0', ...args], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 20_000);
    proc.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /"msg":"serving","address":"([^"]+)"(?:.*"metrics":"[^"]*:(\d+)")?/.exec(log);
      if (m) {
        clearTimeout(timer);
        const address = m[1]!;
        resolve({
          proc,
          address,
          port: Number(address.split(':').pop()),
          ...(m[2] ? { metricsPort: Number(m[2]) } : {}),
          logs: () => log,
          exited,
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before serving:\n${log}`));
    });
  });
}

export function writeSeed(dir: string): string {
  const f = join(dir, 'seed.yaml');
  writeFileSync(f, SEED);
  return f;
}

type Cb = (e: ServiceError | null, r: unknown) => void;

/** Promisified unary calls of one of our services (tests of the server, not of the client). */
export function raw(service: 'alloc' | 'resource' | 'admin', address: string, creds = credentials.createInsecure(), md?: Metadata) {
  const Ctor = clientConstructor(service);
  const client = new Ctor(address, creds) as Client & Record<string, (req: unknown, md: Metadata, cb: Cb) => void>;
  const call = <T = Record<string, unknown>>(method: string, req: unknown): Promise<T> =>
    new Promise((resolve, reject) => client[method]!(req, md ?? new Metadata(), (e, r) => (e ? reject(e) : resolve(r as T))));
  return { client, call, close: () => client.close() };
}

/** Every allocation whose owner starts with `ownerPrefix`, page by page (owner -> prefix). */
export async function heldAllocations(address: string, ownerPrefix: string): Promise<Map<string, string>> {
  const admin = raw('admin', address);
  const held = new Map<string, string>();
  try {
    let next = '';
    do {
      const res = await admin.call<{ allocations: { owner: string; prefix: string }[]; continue: string }>('ListAllocations', {
        ownerPrefix,
        continue: next,
      });
      for (const a of res.allocations) held.set(a.owner, a.prefix);
      next = res.continue;
    } while (next);
  } finally {
    admin.close();
  }
  return held;
}

/** The status code of a rejected call (fails the test when it resolved). */
export async function codeOf(p: Promise<unknown>): Promise<{ code: number; details: string; metadata: Metadata }> {
  try {
    await p;
  } catch (e) {
    const se = e as ServiceError;
    return { code: se.code, details: se.details, metadata: se.metadata };
  }
  throw new Error('expected the call to fail');
}
