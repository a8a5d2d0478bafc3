// What the function writes: the ResourceList with its results, and the exit code. A failed
// run writes every item as it came; the output is never an empty or partial list.
import { joinResourceList, type ResourceListText } from './resource-list.js';
import { renderResults, type Result } from './results.js';

export interface FunctionOutput {
  stdout: string;
  exitCode: number;
  results: Result[];
}

/** A step's answer: its value, or the results that end the run (the input goes out as it came). */
export type StepResult<T> = { ok: true; value: T } | { ok: false; results: Result[] };

export const stop = (results: Result[]): { ok: false; results: Result[] } => ({ ok: false, results });

/** Results for a failed run: the input as it came, plus the results. */
export function failed(input: string, rl: ResourceListText | null, results: Result[]): FunctionOutput {
  if (!rl) {
    // Not a ResourceList at all: report without items (kpt writes nothing on exit 1).
    const text = 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n' + renderResults(results);
    return { stdout: text, exitCode: 1, results };
  }
  return written(
    rl,
    rl.items.map((i) => i.text),
    results,
    1,
  );
}

/** The list with these item texts and the input's results followed by ours. */
export function written(rl: ResourceListText, itemTexts: string[], results: Result[], exitCode = 0): FunctionOutput {
  return { stdout: joinResourceList(rl, itemTexts, renderResults([...rl.results, ...results])), exitCode, results };
}

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
