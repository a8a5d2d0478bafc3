// The `yaml` library, loaded only when a run needs it (a resource the fast reader does not
// take, an edit it does not make, an injection, an unusual ResourceList layout). Most runs
// never load it, which keeps the function's start close to Node's own. The run decides up
// front: each fast reader and editor says whether it needs the library (a typed answer, not
// an exception), the run loads it once with loadYaml(), then reads and edits.
import type * as YamlModule from 'yaml';

export type Yaml = typeof YamlModule;

let lib: Yaml | undefined;

/** The library, for code on the library path; calling it before loadYaml() is a defect. */
export function yamlLib(): Yaml {
  if (!lib) throw new Error('internal: the yaml library was used before loadYaml()');
  return lib;
}

export async function loadYaml(): Promise<Yaml> {
  if (!lib) {
    // The bundle may hand a CommonJS module over as `default`.
    const m = (await import('yaml')) as Yaml & { default?: Yaml };
    lib = typeof m.parseDocument === 'function' ? m : m.default!;
  }
  return lib;
}

/** Loads the library when `needed` (one await, only for the runs that need it). */
export async function loadYamlIf(needed: boolean): Promise<void> {
  if (needed) await loadYaml();
}

/** What a fast reader or editor answers for text outside its subset. */
export const NEEDS_LIBRARY = Symbol('needs the yaml library');
export type NeedsLibrary = typeof NEEDS_LIBRARY;
