// Real etcd clusters for tests: 1 or 3 members of Debian's `etcd-server` on free loopback
// ports, fresh data directories, waits for health, kills/restarts members, finds the leader,
// and removes everything at the end (also when the test process exits without stopping it).
//
//   const etcd = await startEtcd({ members: 3 });
//   const client = new Etcd3({ hosts: etcd.endpoints });
//   await etcd.kill(await etcd.leader()); ... await etcd.restart(member); ... await etcd.stop();
//
// Tests that need etcd call `requireEtcd(test)` first: without etcd they say so, as a
// skipped test locally and as a failing one under CI=true.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { skipTest } from './uvu.js';

export interface EtcdMember {
  readonly name: string;
  /** `http://127.0.0.1:PORT` for clients. */
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  /** etcd's member id, as the decimal string etcd's JSON gateway prints; known once healthy. */
  id: string;
  /** Whether the process is running (killed/stopped members are not). */
  readonly running: boolean;
  /** The last lines etcd wrote (for failure messages). */
  log(): string;
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** Client URLs of all members (running or not), for `new Etcd3({ hosts })`. */
  readonly endpoints: string[];
  /** The member that is leader now, as the running members agree; waits for an election. */
  leader(timeoutMs?: number): Promise<EtcdMember>;
  /** Members that are running and not the leader. */
  followers(timeoutMs?: number): Promise<EtcdMember[]>;
  /** SIGKILL by default (a crash); resolves when the process is gone. */
  kill(member: EtcdMember, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a killed member again on its own data directory and ports; waits until healthy. */
  restart(member: EtcdMember, timeoutMs?: number): Promise<void>;
  /** Resolves when every running member reports healthy (it has a leader and can serve reads). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Kills every member and removes the data directories. Safe to call twice. */
  stop(): Promise<void>;
}

export interface EtcdOptions {
  members?: 1 | 3;
  /** Raft timing (etcd's defaults: 100 ms heartbeat, 1000 ms election). */
  heartbeatMs?: number;
  electionMs?: number;
  /** How long to wait for the cluster to become healthy. */
  timeoutMs?: number;
}

const ETCD = process.env.ETCD_BIN ?? 'etcd';

/** A sentence that says what is missing for etcd tests, or null when etcd can run. */
export function etcdMissing(): string | null {
  const r = spawnSync(ETCD, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    return `etcd is not installed (${ETCD} not runnable): apt-get install -y etcd-server etcd-client (.ci/run installs them)`;
  }
  return null;
}

export function etcdVersion(): string {
  const r = spawnSync(ETCD, ['--version'], { encoding: 'utf8' });
  return /etcd Version:\s*(\S+)/.exec(r.stdout)?.[1] ?? 'unknown';
}

interface UvuTest {
  (name: string, fn: () => void | Promise<void>): void;
  skip(name: string, fn?: () => void | Promise<void>): void;
}

/**
 * Gate for a test file that needs etcd. Returns true when etcd is there. Otherwise it registers
 * one test named after the missing tool that fails under CI=true and is skipped elsewhere, and
 * prints why, so a missing etcd is never a silent pass. Usage:
 *   if (requireEtcd(test)) { test('...', async () => ...); } test.run();
 */
export function requireEtcd(test: UvuTest): boolean {
  const missing = etcdMissing();
  if (!missing) return true;
  if (process.env.CI === 'true' || process.env.CI === '1') {
    test(`etcd is available: ${missing}`, () => {
      throw new Error(missing);
    });
  } else {
    skipTest('etcd is available', `the etcd tests did not run: ${missing}`);
  }
  return false;
}

// Every cluster started by this process, stopped if the process exits first (also on Ctrl-C or
// a runner's SIGTERM, which skip 'exit' handlers unless caught).
const live = new Set<Cluster>();
process.once('exit', () => {
  for (const c of live) c.stopSync();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const c of live) c.stopSync();
    process.kill(process.pid, signal);
  });
}

export async function startEtcd(opts: EtcdOptions = {}): Promise<EtcdCluster> {
  const missing = etcdMissing();
  if (missing) throw new Error(missing);
  let lastError: unknown;
  // A port picked as free can be taken by another process before etcd binds it: try again.
  for (let attempt = 0; attempt < 3; attempt++) {
    const cluster = new Cluster(opts, await freePorts((opts.members ?? 1) * 2));
    live.add(cluster);
    try {
      cluster.startAll();
      await cluster.waitHealthy(opts.timeoutMs ?? 30_000);
      return cluster;
    } catch (e) {
      lastError = e;
      await cluster.stop();
      if (!/address already in use/i.test(String(e))) break;
    }
  }
  throw lastError;
}

class Member implements EtcdMember {
  id = '';
  proc: ChildProcess | null = null;
  /** Set when a test killed it on purpose: its exit is not a start failure. */
  killed = false;
  exited: Promise<void> = Promise.resolve();
  private lines: string[] = [];
  constructor(
    readonly name: string,
    readonly clientUrl: string,
    readonly peerUrl: string,
    readonly dataDir: string,
  ) {}
  get running(): boolean {
    return this.proc !== null;
  }
  log(): string {
    return this.lines.join('\n');
  }
  record(chunk: string): void {
    for (const l of chunk.split('\n')) if (l.trim()) this.lines.push(l);
    if (this.lines.length > 60) this.lines.splice(0, this.lines.length - 60);
  }
}

class Cluster implements EtcdCluster {
  readonly members: Member[];
  private readonly token = `ipam-test-${randomBytes(6).toString('hex')}`;
  private readonly root: string;
  private stopped = false;

  constructor(
    private readonly opts: EtcdOptions,
    ports: number[],
  ) {
    this.root = mkdtempSync(join(tmpdir(), 'ipam-etcd-'));
    const n = opts.members ?? 1;
    this.members = Array.from({ length: n }, (_, i) => {
      const name = `m${i + 1}`;
      const dir = mkdtempSync(join(this.root, `${name}-`));
      return new Member(name, `http://127.0.0.1:${ports[2 * i]}`, `http://127.0.0.1:${ports[2 * i + 1]}`, dir);
    });
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  startAll(): void {
    for (const m of this.members) this.spawn(m);
  }

  private spawn(m: Member): void {
    const initialCluster = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(',');
    const args = [
      '--name',
      m.name,
      '--data-dir',
      m.dataDir,
      '--listen-client-urls',
      m.clientUrl,
      '--advertise-client-urls',
      m.clientUrl,
      '--listen-peer-urls',
      m.peerUrl,
      '--initial-advertise-peer-urls',
      m.peerUrl,
      '--initial-cluster',
      initialCluster,
      '--initial-cluster-token',
      this.token,
      '--initial-cluster-state',
      'new',
      '--heartbeat-interval',
      String(this.opts.heartbeatMs ?? 100),
      '--election-timeout',
      String(this.opts.electionMs ?? 1000),
      '--logger',
      'zap',
      '--log-level',
      'warn',
    ];
    // etcd also reads ETCD_* variables as flags, and refuses ones that clash with flags.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_')));
    const proc = spawn(ETCD, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.setEncoding('utf8').on('data', (d: string) => m.record(d));
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => m.record(d));
    m.proc = proc;
    m.exited = new Promise<void>((resolve) => {
      proc.once('exit', () => {
        if (m.proc === proc) m.proc = null;
        resolve();
      });
      proc.once('error', (e) => {
        m.record(`spawn error: ${e.message}`);
        if (m.proc === proc) m.proc = null;
        resolve();
      });
    });
  }

  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = this.members.filter((m) => m.running);
      const dead = this.members.find((m) => !m.running && !m.killed && !this.stopped);
      if (dead) throw new Error(`etcd member ${dead.name} exited while starting:\n${dead.log()}`);
      const states = await Promise.all(running.map((m) => this.status(m)));
      if (running.length > 0 && states.every((s) => s && s.healthy)) {
        running.forEach((m, i) => (m.id = states[i]!.id));
        return;
      }
      if (Date.now() > deadline) {
        const detail = this.members.map((m) => `--- ${m.name} (${m.running ? 'running' : 'not running'})\n${m.log()}`);
        throw new Error(`etcd cluster not healthy within ${timeoutMs} ms\n${detail.join('\n')}`);
      }
      await sleep(100);
    }
  }

  /** Health (a leader and a served read) and identity of one member, or null when unreachable. */
  private async status(m: Member): Promise<{ healthy: boolean; id: string; leader: string } | null> {
    try {
      const health = await fetchJson(`${m.clientUrl}/health`, undefined, 2000);
      const st = await fetchJson(`${m.clientUrl}/v3/maintenance/status`, '{}', 2000);
      const header = st.header as { member_id?: string } | undefined;
      return {
        healthy: health.health === 'true',
        id: String(header?.member_id ?? ''),
        leader: String(st.leader ?? '0'),
      };
    } catch {
      return null;
    }
  }

  async leader(timeoutMs = 15_000): Promise<Member> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = this.members.filter((m) => m.running);
      const states = await Promise.all(running.map((m) => this.status(m)));
      running.forEach((m, i) => {
        if (states[i]?.id) m.id = states[i]!.id;
      });
      const views = states.filter((s) => s && s.leader !== '0').map((s) => s!.leader);
      // A leader all reachable members agree on, and that is itself running.
      if (views.length === running.length && views.length > 0 && views.every((v) => v === views[0])) {
        const leader = running.find((m) => m.id === views[0]);
        if (leader) return leader;
      }
      if (Date.now() > deadline) throw new Error(`no etcd leader agreed on within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  async followers(timeoutMs?: number): Promise<Member[]> {
    const leader = await this.leader(timeoutMs);
    return this.members.filter((m) => m.running && m !== leader);
  }

  async kill(member: EtcdMember, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const m = this.own(member);
    if (!m.proc) return;
    m.killed = true;
    m.proc.kill(signal);
    await m.exited;
  }

  async restart(member: EtcdMember, timeoutMs = 30_000): Promise<void> {
    const m = this.own(member);
    if (m.running) throw new Error(`etcd member ${m.name} is still running`);
    m.killed = false;
    this.spawn(m);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.status(m);
      if (s?.healthy) return;
      if (!m.running) throw new Error(`etcd member ${m.name} exited on restart:\n${m.log()}`);
      if (Date.now() > deadline) throw new Error(`etcd member ${m.name} not healthy ${timeoutMs} ms after restart:\n${m.log()}`);
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.members.map((m) => this.kill(m)));
    rmSync(this.root, { recursive: true, force: true });
    live.delete(this);
  }

  /** For process exit: no awaiting possible. */
  stopSync(): void {
    this.stopped = true;
    for (const m of this.members) m.proc?.kill('SIGKILL');
    rmSync(this.root, { recursive: true, force: true });
  }

  private own(member: EtcdMember): Member {
    const m = this.members.find((x) => x === member);
    if (!m) throw new Error(`${member.name} is not a member of this cluster`);
    return m;
  }
}

async function fetchJson(url: string, body: string | undefined, timeoutMs: number): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    body,
    headers: body === undefined ? undefined : { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  return (await res.json()) as Record<string, unknown>;
}

/** Distinct loopback ports that were free a moment ago (all held open together, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
