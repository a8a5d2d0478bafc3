// Stand-in base images for machines that cannot pull `node:20-bookworm-slim`: built FROM
// scratch out of the host's own node binary and the shared libraries `ldd` lists for it (at the
// same paths, so the dynamic loader finds them without an ld.so.cache), `/tmp`, and an
// /etc/passwd + /etc/group with root and nobody (kpt runs functions `--user nobody`).
//   <slim>  node (+ util-linux's flock, which the real base has too): the runtime base
//   <build> slim + npm (and /usr/bin/env for npm's shebang): the Dockerfile's build stage
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, linkSync, mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Podman } from './podman.js';

export interface Standin {
  slim: string;
  build: string;
  seconds: number;
}

export function standinTags(nodeVersion = process.versions.node): { slim: string; build: string } {
  const major = nodeVersion.split('.')[0];
  return { slim: `localhost/node-standin:${major}-slim`, build: `localhost/node-standin:${major}-build` };
}

export function buildStandin(p: Podman, nodeBinary = process.execPath): Standin {
  const started = process.hrtime.bigint();
  const tags = standinTags();
  const ctx = join(p.dir, 'standin');
  rmSync(ctx, { recursive: true, force: true });

  // slim: node + its libraries + /tmp + users.
  const slimRoot = join(ctx, 'slim', 'rootfs');
  place(realpathSync(nodeBinary), join(slimRoot, 'usr/local/bin/node'));
  for (const lib of sharedLibraries(nodeBinary)) place(realpathSync(lib), join(slimRoot, lib));
  // util-linux's flock, as in every Debian base: serve locks its data directory with it
  const flock = realpathSync('/usr/bin/flock');
  place(flock, join(slimRoot, 'usr/bin/flock'));
  for (const lib of sharedLibraries(flock)) place(realpathSync(lib), join(slimRoot, lib));
  mkdirSync(join(slimRoot, 'tmp'), { recursive: true });
  chmodSync(join(slimRoot, 'tmp'), 0o1777);
  mkdirSync(join(slimRoot, 'etc'), { recursive: true });
  writeFileSync(
    join(slimRoot, 'etc/passwd'),
    'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
  );
  writeFileSync(join(slimRoot, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  writeFileSync(
    join(ctx, 'slim', 'Containerfile'),
    [
      'FROM scratch',
      'COPY rootfs/ /',
      `ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_VERSION=${process.versions.node}`,
      'CMD ["node"]',
      '',
    ].join('\n'),
  );
  buildContext(p, join(ctx, 'slim'), tags.slim);

  // build: + npm, laid out as in the official images, + env for `#!/usr/bin/env node`.
  const buildRoot = join(ctx, 'build', 'rootfs');
  cpSync(npmDirectory(), join(buildRoot, 'usr/local/lib/node_modules/npm'), { recursive: true, dereference: true });
  mkdirSync(join(buildRoot, 'usr/local/bin'), { recursive: true });
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(buildRoot, 'usr/local/bin/npm'));
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(buildRoot, 'usr/local/bin/npx'));
  const env = realpathSync('/usr/bin/env');
  place(env, join(buildRoot, 'usr/bin/env'));
  for (const lib of sharedLibraries(env)) place(realpathSync(lib), join(buildRoot, lib));
  mkdirSync(join(buildRoot, 'root'), { recursive: true });
  writeFileSync(join(ctx, 'build', 'Containerfile'), [`FROM ${tags.slim}`, 'COPY rootfs/ /', ''].join('\n'));
  buildContext(p, join(ctx, 'build'), tags.build);

  rmSync(ctx, { recursive: true, force: true });
  return { ...tags, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/** Absolute paths of the shared objects (and loader) that `ldd` lists for a binary. */
export function sharedLibraries(binary: string): string[] {
  const r = spawnSync('ldd', [binary], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ldd ${binary} failed: ${r.stderr || r.stdout}`);
  if (/not found/.test(r.stdout)) throw new Error(`ldd ${binary}: a library is missing:\n${r.stdout}`);
  const libs = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const m = /(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (m) libs.add(m[1]);
  }
  if (libs.size === 0) throw new Error(`ldd ${binary}: no libraries listed (a static binary needs no stand-in)`);
  return [...libs];
}

function npmDirectory(): string {
  const r = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' });
  const dir = join(r.stdout.trim(), 'npm');
  if (r.status !== 0) throw new Error(`npm root -g failed: ${r.stderr}`);
  return dir;
}

function buildContext(p: Podman, dir: string, tag: string): void {
  p.podman(['build', '--layers=false', '--isolation', 'chroot', '--pull=never', '-t', tag, dir]);
}

/** Hard link when the build context is on the same file system (node is ~100 MB), else copy. */
function place(src: string, dest: string): void {
  mkdirSync(dirname(dest), { recursive: true });
  try {
    linkSync(src, dest);
  } catch {
    copyFileSync(src, dest);
  }
}
