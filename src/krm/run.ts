// The function: ResourceList text in, ResourceList text and an exit code out. A pipeline of
// steps, each with typed input and output (each its own module):
//   read (read-package.ts) -> plan (plan.ts) -> backend (ask-backend.ts)
//     -> apply (apply.ts; dry-run.ts instead under dryRun) -> write (function-output.ts)
// Any error result leaves every resource as it came (the input items are echoed) and exits 1;
// the output is never an empty or partial list.
import { applyAnswers } from './apply.js';
import { askBackend, type BackendFactory } from './ask-backend.js';
import { backendConfig } from './backend-config.js';
import { dryRunResults } from './dry-run.js';
import { failed, message, written, type FunctionOutput } from './function-output.js';
import { planRun } from './plan.js';
import { readFunctionConfig, readPackage, splitInput } from './read-package.js';
import type { ResourceListText } from './resource-list.js';
import { result } from './results.js';

export type { BackendFactory, FunctionOutput };

export async function runFunction(input: string, createBackend: BackendFactory): Promise<FunctionOutput> {
  // CRLF input is read as LF and written back as CRLF: every line ending as it came.
  const crlf = crlfOnly(input);
  const out = await guarded(crlf ? input.replace(/\r\n/g, '\n') : input, createBackend);
  return crlf ? { ...out, stdout: out.stdout.replace(/\n/g, '\r\n') } : out;
}

/** Every line ends in CRLF and no other CR appears (mixed endings take the slow, normalizing path). */
function crlfOnly(text: string): boolean {
  let pairs = 0;
  for (let i = text.indexOf('\r'); i >= 0; i = text.indexOf('\r', i + 1)) {
    if (text.charCodeAt(i + 1) !== 10) return false;
    pairs++;
  }
  if (pairs === 0) return false;
  let lf = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lf++;
  return lf === pairs;
}

async function guarded(input: string, createBackend: BackendFactory): Promise<FunctionOutput> {
  let split: ResourceListText | null = null;
  try {
    return await run(input, createBackend, (rl) => (split = rl));
  } catch (err) {
    // A defect or an exhausted resource: still the input as it came, with the reason.
    return failed(input, split, [result('error', `internal error: ${message(err)}`)]);
  }
}

async function run(input: string, createBackend: BackendFactory, onSplit: (rl: ResourceListText) => void): Promise<FunctionOutput> {
  const split = await splitInput(input);
  if (split.ok) onSplit(split.value);
  else return failed(input, split.rl, split.results);
  const rl = split.value;
  const cfg = readFunctionConfig(rl);
  if (!cfg.ok) return failed(input, rl, cfg.results);
  const pkg = await readPackage(input, rl);
  if (!pkg.ok) return failed(input, rl, pkg.results);
  const plan = planRun(pkg.value, cfg.value);
  const answers = await askBackend(pkg.value, plan, backendConfig(cfg.value, pkg.value, process.env), createBackend);
  if (!answers.ok) return failed(input, rl, answers.results);
  if (cfg.value.dryRun) {
    const results = [...answers.value.results, ...dryRunResults(pkg.value, plan, answers.value)];
    return written(
      rl,
      rl.items.map((i) => i.text),
      results,
    );
  }
  const applied = await applyAnswers(pkg.value, plan, cfg.value, answers.value);
  if (!applied.ok) return failed(input, rl, applied.results);
  return written(
    rl,
    pkg.value.items.map((i) => i.text),
    applied.value,
  );
}
