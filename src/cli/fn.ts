// The KRM function entry: ResourceList on stdin, ResourceList on stdout, exit 1 on errors.
import { createBackend } from '../backends/index.js';
import { runFunction } from '../krm/run.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function write(text: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(text, (err) => (err ? reject(err) : resolve())));
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
