// A command's flags as one table: name, type, default, environment variable and its line in
// --help. parseFlags reads argv with node:util parseArgs; flagUsage renders the help lines, so
// a flag and its documentation are written in one place.
import { parseArgs } from 'node:util';

export interface Flag {
  name: string;
  type: 'string' | 'boolean';
  short?: string;
  default?: string | boolean;
  /** Read when the flag is absent or empty, before the default. */
  env?: string;
  /** The value's placeholder in --help (`--name ARG`). */
  arg?: string;
  /** The left column in --help when it is not `--name ARG` (several flags on one line). */
  usage?: string;
  /** The description in --help, `\n` between its lines; a flag without one is not listed, one with `''` alone. */
  help?: string;
}

/** Each flag's value: strings (undefined when absent, unless defaulted) and booleans. */
export type FlagValues<T extends readonly Flag[]> = {
  [F in T[number] as F['name']]: F['type'] extends 'boolean' ? boolean | undefined : string | undefined;
};

/** Reads argv by the table; throws parseArgs' error (unknown flag, missing value, unwanted positional). */
export function parseFlags<T extends readonly Flag[]>(
  flags: T,
  argv: string[],
  { allowPositionals, env = process.env }: { allowPositionals: boolean; env?: NodeJS.ProcessEnv },
): { values: FlagValues<T>; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean }> = {};
  for (const f of flags) {
    options[f.name] = {
      type: f.type,
      ...(f.short ? { short: f.short } : {}),
      ...(f.default !== undefined && !f.env ? { default: f.default } : {}),
    };
  }
  const parsed = parseArgs({ args: argv, options, allowPositionals });
  const values: Record<string, string | boolean | undefined> = parsed.values;
  for (const f of flags) if (f.env) values[f.name] = values[f.name] || env[f.env] || f.default;
  return { values: values as FlagValues<T>, positionals: parsed.positionals };
}

/** The flags' lines in --help, descriptions starting at `column`. */
export function flagUsage(flags: readonly Flag[], column: number): string {
  const lines: string[] = [];
  const indent = ' '.repeat(column);
  for (const f of flags) {
    if (f.help === undefined) continue;
    const left = `  ${f.usage ?? flagSpelling(f)}`;
    const [first = '', ...more] = f.help.split('\n');
    if (first === '') lines.push(left);
    else if (left.length + 2 <= column) lines.push(left.padEnd(column) + first);
    else lines.push(left, indent + first);
    for (const line of more) lines.push(indent + line);
  }
  return lines.join('\n');
}

function flagSpelling(f: Flag): string {
  return `${f.short ? `-${f.short}, ` : ''}--${f.name}${f.arg ? ` ${f.arg}` : ''}`;
}
