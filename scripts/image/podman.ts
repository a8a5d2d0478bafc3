// A private podman/buildah setup for this machine: its own storage and config under one
// temporary folder (nothing in /var/lib/containers or /etc/containers changes), the settings
// that hybrid cgroups and fixed resource limits need (see ../shared/CONTAINERS.md), and a
// cleanup that unmounts and removes everything it made.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type StorageDriver = 'overlay' | 'vfs';

export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

export interface Podman {
  /** Everything podman writes lives under here. */
  readonly dir: string;
  /** Environment for podman, buildah and `KPT_FN_RUNTIME=podman kpt ...`. */
  readonly env: NodeJS.ProcessEnv;
  readonly driver: StorageDriver;
  /** Runs `podman ARGS`; throws with podman's stderr when it fails, unless `allowFailure`. */
  podman(args: string[], opts?: RunOptions): CommandResult;
  buildah(args: string[], opts?: RunOptions): CommandResult;
  cleanup(): void;
  /** Leave the setup for later use: later runs will not sweep it as abandoned. */
  keep(): void;
}

export interface RunOptions {
  input?: string;
  allowFailure?: boolean;
  cwd?: string;
  timeoutMs?: number;
}

/** Tools the image tests need; returns a sentence naming what is missing, or null. */
export function missingContainerTools(): string | null {
  const missing = ['podman', 'buildah', 'runc', 'kpt'].filter((t) => !onPath(t));
  if (missing.length === 0) return null;
  const apt = missing.filter((t) => t !== 'kpt');
  return (
    `missing ${missing.join(', ')} on PATH` + (apt.length ? ` (install with: apt-get install -y ${apt.join(' ')}; .ci/run does this)` : '')
  );
}

export function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Creates the private setup. The storage driver is overlay when the kernel can mount it in the
 * chosen folder (much faster: no full copy of the rootfs per layer or container), else vfs.
 * `IPAM_PODMAN_DRIVER=vfs|overlay` forces one.
 */
export function createPodman(opts: { dir?: string; driver?: StorageDriver } = {}): Podman {
  sweepAbandoned();
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), PREFIX));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, OWNER), `${process.pid}\n`);
  const forced = opts.driver ?? (process.env.IPAM_PODMAN_DRIVER as StorageDriver | undefined);
  let driver: StorageDriver = forced ?? 'overlay';
  writeConfig(dir, driver);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
    // buildah puts build scratch space under TMPDIR.
    TMPDIR: join(dir, 'tmp'),
  };
  const p = makePodman(dir, env, () => driver);
  if (!forced && !overlayWorks(p)) {
    wipeStorage(dir);
    driver = 'vfs';
    writeConfig(dir, driver);
  }
  return p;
}

function makePodman(dir: string, env: NodeJS.ProcessEnv, driver: () => StorageDriver): Podman {
  const run = (tool: string, args: string[], o: RunOptions = {}): CommandResult => {
    const started = process.hrtime.bigint();
    const spawnOpts: SpawnSyncOptions = {
      env,
      cwd: o.cwd,
      input: o.input,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      timeout: o.timeoutMs ?? 300_000,
    };
    const r = spawnSync(tool, args, spawnOpts);
    const result: CommandResult = {
      status: r.status ?? -1,
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? '') + (r.error ? `\n${r.error.message}` : ''),
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    };
    if (result.status !== 0 && !o.allowFailure) {
      throw new Error(`${tool} ${args.join(' ')} exited ${result.status}:\n${tail(result.stderr || result.stdout)}`);
    }
    return result;
  };
  return {
    dir,
    env,
    get driver() {
      return driver();
    },
    podman: (args, o) => run('podman', args, o),
    buildah: (args, o) => run('buildah', args, o),
    cleanup: () => {
      // Containers left running by a failed test would keep layers mounted.
      run('podman', ['rm', '--all', '--force', '--time', '0'], { allowFailure: true, timeoutMs: 30_000 });
      wipeStorage(dir);
      rmSync(dir, { recursive: true, force: true });
    },
    keep: () => rmSync(join(dir, OWNER), { force: true }),
  };
}

const PREFIX = 'ipam-podman-';
const OWNER = 'owner.pid';

/**
 * Removes setups whose owning process is gone. A test killed while podman runs (spawnSync
 * holds back its signal handlers) cannot clean up after itself; the next run does.
 */
function sweepAbandoned(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir()).filter((n) => n.startsWith(PREFIX));
  } catch {
    return;
  }
  for (const name of names) {
    const dir = join(tmpdir(), name);
    let pid: number;
    try {
      pid = Number(readFileSync(join(dir, OWNER), 'utf8').trim());
    } catch {
      continue; // not ours, or still being created
    }
    if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
    wipeStorage(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function writeConfig(dir: string, driver: StorageDriver): void {
  for (const sub of ['tmp', 'run', 'graph', 'networks']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(
    join(dir, 'containers.conf'),
    [
      '[containers]',
      'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      '[engine]',
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `tmp_dir = "${join(dir, 'tmp')}"`,
      `image_copy_tmp_dir = "${join(dir, 'tmp')}"`,
      '[network]',
      `network_config_dir = "${join(dir, 'networks')}"`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'storage.conf'),
    ['[storage]', `driver = "${driver}"`, `runroot = "${join(dir, 'run')}"`, `graphroot = "${join(dir, 'graph')}"`, ''].join('\n'),
  );
}

/** Mounts an empty scratch container: the one thing overlay needs from the kernel here. */
function overlayWorks(p: Podman): boolean {
  const from = p.buildah(['from', '--pull-never', 'scratch'], { allowFailure: true, timeoutMs: 30_000 });
  if (from.status !== 0) return false;
  const ctr = from.stdout.trim();
  const mount = p.buildah(['mount', ctr], { allowFailure: true, timeoutMs: 30_000 });
  p.buildah(['rm', ctr], { allowFailure: true, timeoutMs: 30_000 });
  return mount.status === 0;
}

/** Unmounts whatever is still mounted below `dir` (deepest first), then removes storage. */
function wipeStorage(dir: string): void {
  const mounts = existsSync('/proc/self/mountinfo')
    ? readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .map((l) => l.split(' ')[4])
        .filter((m): m is string => !!m && (m === dir || m.startsWith(dir + '/')))
    : [];
  for (const m of mounts.sort((a, b) => b.length - a.length)) {
    spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  }
  for (const sub of ['graph', 'run', 'tmp']) rmSync(join(dir, sub), { recursive: true, force: true });
}

function tail(s: string, lines = 30): string {
  return s.trim().split('\n').slice(-lines).join('\n');
}
