// The KRM function entry: ResourceList on stdin, ResourceList on stdout, exit 1 on errors.
// stdin and stdout are used through their file descriptors: creating process.stdin/stdout
// streams loads and sets up more of Node than a one-request run costs.
import { readFileSync, writeSync } from 'node:fs';
import { createBackend } from '../backends/index.js';
import { runFunction } from '../krm/run.js';
import { decodeInput, encodeOutput } from '../krm/text-encoding.js';

async function readStdin(): Promise<Buffer> {
  try {
    return readFileSync(0);
  } catch (e) {
    // A non-blocking stdin (a terminal, some pipes) answers EAGAIN: read it as a stream.
    if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
}

async function write(buf: Buffer): Promise<void> {
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
  // Bytes that are not UTF-8 (and a BOM, or UTF-16) go out as they came: see text-encoding.ts.
  const { text, encoding } = decodeInput(await readStdin());
  const out = await runFunction(text, (cfg) => createBackend(cfg.backend, cfg.backendOptions));
  await write(encodeOutput(out.stdout, encoding));
  if (out.exitCode !== 0) {
    // kpt shows results from stdout; stderr helps when the function runs on its own.
    for (const r of out.results) if (r.severity === 'error') process.stderr.write(`error: ${r.message}\n`);
  }
  return out.exitCode;
}
