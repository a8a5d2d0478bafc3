// Docs that are true: every `sh`/`shell`/`bash` code block of every tracked Markdown file runs
// as written, and every relative link resolves.
//
// The blocks of one file run in order, each with `bash -e -o pipefail`, from the root of a
// fresh copy of the repository (its tracked files committed to a git repository of their own,
// node_modules and the built dist/ linked in) with the copy's bin/ first on the PATH. A block
// must exit 0 (or the code in `<!-- doc-test: exit N -->` on the line before it) and leave
// every tracked file of the copy as it was (the blocks see only the copy: a block that edits
// what it was given, say a fixture, fails here instead of breaking the next `npm test`).
// `<!-- doc-test: skip "reason" -->` on the line before a block skips it, reported with the
// reason: for the few blocks that need a cluster, a registry or a server left running.
import { skipTest, test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const BLOCK_TIMEOUT_MS = 180_000;

const git = (cwd: string, ...args: string[]) => {
  const r = spawnSync('git', ['-c', 'user.name=docs', '-c', 'user.email=docs@example.com', ...args], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} in ${cwd}: ${r.stderr}`);
  return r.stdout;
};

const tracked = git(root, 'ls-files', '-z')
  .split('\0')
  .filter((f) => f && existsSync(join(root, f)));
const markdown = tracked.filter((f) => f.endsWith('.md'));
const only = process.env.DOC;

export interface Block {
  line: number;
  lang: string;
  code: string;
  skip?: string;
  exit: number;
}

/** Fenced code blocks with their annotation (the closest non-blank line above the fence). */
export function codeBlocks(text: string): Block[] {
  const lines = text.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[2]!;
    let end = i + 1;
    while (end < lines.length && !lines[end]!.trimStart().startsWith(fence)) end++;
    let above = i - 1;
    while (above >= 0 && lines[above]!.trim() === '') above--;
    const note = above >= 0 ? /^<!--\s*doc-test:\s*(.*?)\s*-->$/.exec(lines[above]!.trim())?.[1] : undefined;
    const block: Block = { line: i + 1, lang: open[3]!.toLowerCase(), code: lines.slice(i + 1, end).join('\n'), exit: 0 };
    if (note !== undefined) {
      const skip = /^skip\s+"(.+)"$/.exec(note);
      const exit = /^exit\s+(\d+)$/.exec(note);
      if (skip) block.skip = skip[1];
      else if (exit) block.exit = Number(exit[1]);
      else throw new Error(`line ${above + 1}: unknown doc-test annotation "${note}" (skip "reason" | exit N)`);
    }
    out.push(block);
    i = end;
  }
  return out;
}

const RUNNABLE = new Set(['sh', 'shell', 'bash']);

/** A copy of the repository's tracked files, committed, with node_modules and dist linked. */
function copyRepository(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'ipam-docs-')), 'ipam-injector');
  mkdirSync(dir);
  for (const f of tracked) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(root, f), join(dir, f));
  }
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'copy');
  // linked after the commit: installed and built, not part of the repository
  for (const linked of ['node_modules', 'dist']) if (existsSync(join(root, linked))) symlinkSync(join(root, linked), join(dir, linked));
  return dir;
}

/** Tracked files a block changed or deleted (untracked new files are its own business). */
const changedTracked = (dir: string) => git(dir, 'status', '--porcelain', '--untracked-files=no').trim();

const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('IPAM_INJECTOR_')));

for (const file of markdown.filter((f) => !only || f.includes(only))) {
  const blocks = codeBlocks(readFileSync(join(root, file), 'utf8')).filter((b) => RUNNABLE.has(b.lang));
  if (blocks.length === 0) continue;
  let copy: string | undefined;
  for (const b of blocks) {
    const name = `${file}:${b.line} runs as written`;
    if (b.skip) {
      skipTest(name, b.skip);
      continue;
    }
    test(name, () => {
      copy ??= copyRepository();
      const r = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', b.code], {
        cwd: copy,
        encoding: 'utf8',
        timeout: BLOCK_TIMEOUT_MS,
        env: { ...env, PATH: `${join(copy, 'bin')}:${env.PATH}` },
      });
      const out = `--- block (${file}:${b.line}) ---\n${b.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
      assert.is(r.status, b.exit, `exit code${r.error ? ` (${r.error.message})` : ''}\n${out}`);
      assert.is(changedTracked(copy), '', `the block changed tracked files of the repository\n${out}`);
    });
  }
  test.after(() => {
    if (copy) rmSync(dirname(copy), { recursive: true, force: true });
  });
}

// ---- links ----

/** GitHub's anchors of a Markdown file's headings. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fence: string | undefined;
  for (const line of text.split('\n')) {
    const f = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (f && (!fence || f.startsWith(fence))) {
      fence = fence ? undefined : f;
      continue;
    }
    if (fence) continue;
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const base = h[1]!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of text.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) out.add(m[1]!);
  return out;
}

/** Link targets outside code: inline `[text](target)` and reference definitions `[x]: target`. */
export function links(text: string): { target: string; line: number }[] {
  const out: { target: string; line: number }[] = [];
  let fence: string | undefined;
  text.split('\n').forEach((line, i) => {
    const f = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (f && (!fence || f.startsWith(fence))) {
      fence = fence ? undefined : f;
      return;
    }
    if (fence) return;
    const prose = line.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ target: m[1]!, line: i + 1 });
    const ref = /^\s*\[[^\]]+\]:\s*(\S+)/.exec(prose);
    if (ref) out.push({ target: ref[1]!, line: i + 1 });
  });
  return out;
}

test('every relative link in every Markdown file resolves, file and #anchor, inside the repository', () => {
  const problems: string[] = [];
  for (const file of markdown) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const { target, line } of links(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const at = `${file}:${line}: ${target}`;
      const [path, anchor] = target.split('#') as [string, string | undefined];
      if (path.startsWith('/')) {
        problems.push(`${at}: an absolute path; link relative to the file`);
        continue;
      }
      const resolved = path ? normalize(join(dirname(file), decodeURIComponent(path))) : file;
      if (resolved.startsWith('..')) {
        problems.push(`${at}: points outside the repository`);
        continue;
      }
      const abs = join(root, resolved);
      if (!existsSync(abs)) {
        problems.push(`${at}: ${resolved} does not exist`);
        continue;
      }
      if (!tracked.some((t) => t === resolved || t.startsWith(`${resolved}/`))) {
        problems.push(`${at}: ${resolved} is not tracked by git`);
        continue;
      }
      if (anchor !== undefined && statSync(abs).isFile()) {
        if (!resolved.endsWith('.md')) continue;
        if (!anchors(readFileSync(abs, 'utf8')).has(anchor)) problems.push(`${at}: no heading "#${anchor}" in ${resolved}`);
      }
    }
  }
  assert.equal(problems, []);
});

test('the link checker knows GitHub anchors and skips code', () => {
  const text =
    '# A `b`, C!\n## Container image, Porch\n## gRPC backend settings\n## Dup\n## Dup\n```sh\n# not a heading [x](nowhere.md)\n```\nsee [y](here.md#a-b-c) `[z](no.md)`\n[r]: ref.md\n';
  assert.equal([...anchors(text)], ['a-b-c', 'container-image-porch', 'grpc-backend-settings', 'dup', 'dup-1']);
  assert.equal(
    links(text).map((l) => l.target),
    ['here.md#a-b-c', 'ref.md'],
  );
  const blocks = codeBlocks(
    '<!-- doc-test: skip "why" -->\n```sh\nfalse\n```\n\n<!-- doc-test: exit 1 -->\n\n```bash\nexit 1\n```\n```text\nx\n```\n',
  );
  assert.equal(
    blocks.map((b) => [b.lang, b.skip, b.exit]),
    [
      ['sh', 'why', 0],
      ['bash', undefined, 1],
      ['text', undefined, 0],
    ],
  );
});

test.run();
