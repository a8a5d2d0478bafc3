// The KRM function entry: ResourceList on stdin, ResourceList on stdout, exit 1 on errors.
// stdin and stdout are used through their file descriptors: creating process.stdin/stdout
// streams loads and sets up more of Node than a one-request run costs.
import { readFileSync, writeSync } from 'node:fs';
import { createBackend } from '../backends/index.js';
import { runFunction } from '../krm/run.js';

async function readStdin(): Promise<string> {
  try {
    return readFileSync(0, 'utf8');
  } catch (e) {
    // A non-blocking stdin (a terminal, some pipes) answers EAGAIN: read it as a stream.
    if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
}

async function write(text: string): Promise<void> {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  try {
    while (off < buf.length) off += writeSync(1, buf, off, buf.length - off);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    const rest = buf.subarray(off);
    await new Promise<void>((resolve, reject) => process.stdout.write(rest, (err) => (err ? reject(err) : resolve())));
  }
}

export async function main(): Promise<number> {
  const input = await readStdin();
  const out = await runFunction(input, (cfg) => createBackend(cfg.backend, cfg.backendOptions));
  await write(out.stdout);
  if (out.exitCode !== 0) {
    // kpt shows results from stdout; stderr helps when the function runs on its own.
    for (const r of out.results) if (r.severity === 'error') process.stderr.write(`error: ${r.message}\n`);
  }
  return out.exitCode;
}
