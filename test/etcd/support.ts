// Shared by the etcd tests and the etcd benchmark: `ipam-injector serve --store etcd` replicas
// as real processes (the built bundle, bin/ipam-injector), and reading the store's keys
// straight from etcd.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { oneSubnetSeed } from '../support/seed.js';

export const root = new URL('../..', import.meta.url).pathname;
export const BIN = join(root, 'bin/ipam-injector');

/** One network instance with one subnet that every client allocates from. */
export const SEED = oneSubnetSeed('shared', '10.1.0.0/16');

export function writeSeed(dir: string, text = SEED): string {
  const f = join(dir, 'seed.yaml');
  writeFileSync(f, text);
  return f;
}

export interface Replica {
  proc: ChildProcess;
  address: string;
  metricsPort?: number;
  /** peer address (--peer-listen) */
  peer?: string;
  logs(): string;
  exited: Promise<number | null>;
}

/** Starts `bin/ipam-injector serve --store etcd ...`; resolves once it serves. */
export function startReplica(endpoints: string[], extra: string[] = [], timeoutMs = 60_000): Promise<Replica> {
  if (!existsSync(join(root, 'dist/ipam-injector.mjs')))
    throw new Error('dist/ipam-injector.mjs is missing: run npm run build (npm test does)');
  const args = ['serve', '--listen', '127.0.0.1:0', '--store', 'etcd', '--etcd-endpoints', endpoints.join(','), ...extra];
  // IPAM_REPLICA_NODE_ARGS: extra node flags for the replicas (e.g. --cpu-prof to profile them)
  const nodeArgs = (process.env.IPAM_REPLICA_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, BIN, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(proc);
  let log = '';
  const exited = new Promise<number | null>((r) =>
    proc.on('exit', (code, signal) => {
      live.delete(proc);
      r(code ?? (signal ? -1 : null));
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica did not start within ${timeoutMs} ms:\n${log}`)), timeoutMs);
    proc.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.length > 2_000_000) log = log.slice(-1_000_000);
      const m = /"msg":"serving","address":"([^"]+)"(?:.*"metrics":"[^"]*:(\d+)")?/.exec(log);
      if (m) {
        clearTimeout(timer);
        const peer = /"msg":"forwarding","peer":"([^"]+)"/.exec(log)?.[1];
        resolve({
          proc,
          address: m[1]!,
          ...(m[2] ? { metricsPort: Number(m[2]) } : {}),
          ...(peer ? { peer } : {}),
          logs: () => log,
          exited,
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`replica exited with ${code} before serving:\n${log}`));
    });
  });
}

export async function stopReplica(r: Replica, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  r.proc.kill(signal);
  return r.exited;
}

// Replicas still running when the test process ends (a failed assertion) are killed.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** The peer address of the replica holding a network instance's write lease, if any. */
export async function leaseHolder(endpoints: string[], instance = 'default/vpc', prefix = '/ipam'): Promise<string | undefined> {
  const client = new Etcd3({ hosts: endpoints, dialTimeout: 2000 });
  try {
    const v = await client.get(`${prefix}/lease/ni/${instance}`).string();
    return v ? (JSON.parse(v) as { a: string }).a : undefined;
  } finally {
    client.close();
  }
}

/** owner -> allocated prefix, read from the owner keys in etcd (not through any replica). */
export async function allocationsInEtcd(endpoints: string[], prefix = '/ipam'): Promise<Map<string, string>> {
  const client = new Etcd3({ hosts: endpoints, dialTimeout: 2000 });
  try {
    const kvs = await client.getAll().prefix(`${prefix}/own/`).buffers();
    const out = new Map<string, string>();
    for (const [key, value] of Object.entries(kvs)) {
      const v = JSON.parse(value.toString()) as { a?: { prefix: string } };
      if (v.a) out.set(key.slice(`${prefix}/own/`.length), v.a.prefix);
    }
    return out;
  } finally {
    client.close();
  }
}
