// Builds the function's image from the repository's real Dockerfile with podman, offline:
// the Dockerfile's `npm ci` reads a private copy of the host's npm cache and runs with
// npm_config_offline=true, so the build never reaches a registry (when the cache lacks a
// document, one `npm ci --prefer-offline` on the host fills it and the build runs again).
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Podman } from './podman.js';

export interface FunctionImage {
  tag: string;
  seconds: number;
  /** Seconds of the podman build alone (without warming the npm cache). */
  buildSeconds: number;
}

export interface FunctionImageOptions {
  /** Build context: the repository root (with Dockerfile and .dockerignore). */
  context: string;
  tag: string;
  buildImage: string;
  runtimeImage: string;
}

export function buildFunctionImage(p: Podman, o: FunctionImageOptions): FunctionImage {
  const started = process.hrtime.bigint();
  const cache = join(p.dir, 'npm-cache');
  copyNpmCache(cache);
  const args = [
    'build',
    // One committed image per stage instead of one per instruction: far less copying.
    '--layers=false',
    '--isolation',
    'chroot',
    '--pull=never',
    '--volume',
    `${cache}:/root/.npm`,
    '--build-arg',
    'npm_config_offline=true',
    '--build-arg',
    `BUILD_IMAGE=${o.buildImage}`,
    '--build-arg',
    `RUNTIME_IMAGE=${o.runtimeImage}`,
    '--tag',
    o.tag,
    '--file',
    join(o.context, 'Dockerfile'),
    o.context,
  ];
  try {
    let build = p.podman(args, { allowFailure: true });
    if (build.status !== 0 && /ENOTCACHED/.test(build.stdout + build.stderr)) {
      // The host's cache lacks a packument the lockfile needs (it was filled by `npm install
      // NAME`, which fetches other documents than `npm ci`): fill it once, then build again.
      warmNpmCache(o.context);
      copyNpmCache(cache);
      build = p.podman(args, { allowFailure: true });
    }
    if (build.status !== 0) {
      throw new Error(`podman build of ${o.tag} failed (exit ${build.status}):\n${lastLines(build.stdout + '\n' + build.stderr)}`);
    }
    return { tag: o.tag, buildSeconds: build.seconds, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

function hostNpmCache(): string {
  const dir = spawnSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).stdout.trim();
  if (!dir) throw new Error('npm config get cache printed nothing');
  return dir;
}

/** A copy, not a bind mount of the host's cache: the build runs npm as root in a container. */
function copyNpmCache(into: string): void {
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true });
  const src = join(hostNpmCache(), '_cacache');
  if (existsSync(src)) cpSync(src, join(into, '_cacache'), { recursive: true });
}

/** `npm ci --prefer-offline` into a throwaway folder: puts the lockfile's packuments in the cache. */
export function warmNpmCache(context: string): void {
  const scratch = mkdtempSync(join(tmpdir(), 'ipam-npm-warm-'));
  try {
    for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(context, f), join(scratch, f));
    const warm = spawnSync('npm', ['ci', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: scratch,
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (warm.status !== 0) throw new Error(`warming the npm cache failed:\n${warm.stderr || warm.stdout}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function lastLines(s: string, n = 40): string {
  return s.trim().split('\n').slice(-n).join('\n');
}

export interface ImageFacts {
  sizeBytes: number;
  user: string;
  entrypoint: string[];
  /** Paths under /app in the image, relative, sorted. */
  appFiles: string[];
  /** Top-level directories of the image's file system. */
  rootEntries: string[];
}

/** Reads the image's config and its /app tree by mounting the image (root only). */
export function inspectImage(p: Podman, tag: string): ImageFacts {
  const raw = JSON.parse(p.podman(['image', 'inspect', tag]).stdout) as Array<{
    Size: number;
    Config: { User?: string; Entrypoint?: string[] };
  }>;
  const info = raw[0];
  const mount = p.podman(['image', 'mount', tag]).stdout.trim();
  try {
    const app = join(mount, 'app');
    const list = existsSync(app) ? spawnSync('find', ['.', '-mindepth', '1'], { cwd: app, encoding: 'utf8' }).stdout : '';
    const top = readdirSync(mount).sort();
    return {
      sizeBytes: info.Size,
      user: info.Config.User ?? '',
      entrypoint: info.Config.Entrypoint ?? [],
      appFiles: list
        .split('\n')
        .filter(Boolean)
        .map((f) => f.replace(/^\.\//, ''))
        .sort(),
      rootEntries: top,
    };
  } finally {
    p.podman(['image', 'unmount', tag], { allowFailure: true });
  }
}
