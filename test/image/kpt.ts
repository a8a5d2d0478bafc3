// Small helpers for tests that run real kpt on temporary packages.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

export interface KptRun {
  status: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

export function kpt(args: string[], env: NodeJS.ProcessEnv = process.env, input?: string): KptRun {
  const started = process.hrtime.bigint();
  const r = spawnSync('kpt', args, { env, encoding: 'utf8', input, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  return {
    status: r.status ?? -1,
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '') + (r.error ? `\n${r.error.message}` : ''),
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}

/** Writes `files` (relative path -> text) into a new folder under `parent` (or /tmp). */
export function writePackage(files: Record<string, string>, parent?: string, name = 'pkg'): string {
  const dir = join(parent ?? mkdtempSync(join(tmpdir(), 'ipam-pkg-')), name);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

export function copyPackage(src: string, dest: string): string {
  cpSync(src, dest, { recursive: true });
  return dest;
}

/** Every file of a package: relative path -> content. */
export function readPackage(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}
