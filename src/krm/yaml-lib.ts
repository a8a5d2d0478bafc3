// The `yaml` library, loaded only when a run needs it (a resource the fast reader does not
// take, an injection, an unusual ResourceList layout). Most runs never load it, which keeps
// the function's start close to Node's own.
import type * as YamlModule from 'yaml';

export type Yaml = typeof YamlModule;

let lib: Yaml | undefined;

/** Thrown by code that needs the library before it is loaded; callers load it and retry. */
export class NeedYaml extends Error {
  override readonly name = 'NeedYaml';
}

export function Y(): Yaml {
  if (!lib) throw new NeedYaml('yaml library not loaded');
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

/** Runs `fn`; if it needed the library, loads it and runs `fn` again (fn must be repeatable). */
export async function withYaml<T>(fn: () => T): Promise<T> {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof NeedYaml)) throw e;
    await loadYaml();
    return fn();
  }
}
