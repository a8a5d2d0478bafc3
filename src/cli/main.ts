// ipam-injector: with no arguments (or `fn`) the KRM function, reading a ResourceList on
// stdin. `serve` and `get` are loaded on demand, so the function never loads gRPC code.
import { isatty } from 'node:tty';
import { main as fn } from './fn.js';

const USAGE = `usage: ipam-injector [fn]           KRM function: ResourceList on stdin, result on stdout
       ipam-injector serve [flags]    shared IPAM server (gRPC); serve --help
       ipam-injector get KIND [flags] list what a server holds (allocations, prefixes, network
                                      instances, VLAN indexes, VLAN claims); get --help
       ipam-injector --help | --version`;

declare const __FN_HELP__: string | undefined;
/** The function's documentation (the README's Overview, Usage, FunctionConfig, Examples; made
 *  by scripts/build.mjs), which `kpt fn doc --image` shows. */
const HELP = `${USAGE}\n\n${typeof __FN_HELP__ === 'string' ? __FN_HELP__ : 'The function is documented in README.md.\n'}`;

const SUBCOMMANDS = ['serve', 'get'];

type CommandModule = { main(argv: string[]): Promise<number> | number };

async function loadCommand(name: string): Promise<CommandModule | string> {
  let mod: Partial<CommandModule>;
  try {
    // A template literal: esbuild bundles the command modules that exist (one chunk each).
    mod = (await import(`./${name}.ts`)) as Partial<CommandModule>;
  } catch (e) {
    const msg = (e as Error).message;
    if (/not found in bundle|Cannot find module|ERR_MODULE_NOT_FOUND/.test(`${msg} ${(e as { code?: string }).code}`)) {
      return `ipam-injector ${name} is not available in this build`;
    }
    return `ipam-injector ${name}: failed to load (${msg})`;
  }
  if (typeof mod.main !== 'function') return `ipam-injector ${name}: the command module has no main()`;
  return mod as CommandModule;
}

const isHelp = (a: string | undefined) => a === '-h' || a === '--help' || a === 'help';
const isVersion = (a: string | undefined) => a === '--version' || a === 'version';

async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'fn') {
    const arg = cmd === undefined ? undefined : rest[0];
    if (isHelp(arg)) return print(HELP);
    if (isVersion(arg)) return print(versionLine());
    if (arg !== undefined) {
      process.stderr.write(
        `ipam-injector fn: unexpected argument "${arg}": the function takes its config from the ResourceList (ipam-injector --help)\n`,
      );
      return 2;
    }
    if (isatty(0)) {
      // a person at a terminal, not kpt: say what the function wants instead of waiting
      process.stderr.write(
        'ipam-injector: the KRM function reads a ResourceList on stdin (kpt fn eval and kpt fn render send one); ipam-injector --help says more\n',
      );
      return 2;
    }
    return fn();
  }
  if (isHelp(cmd)) return print(HELP);
  if (isVersion(cmd)) return print(versionLine());
  if (SUBCOMMANDS.includes(cmd)) {
    if (rest.includes('--version')) return print(versionLine());
    const mod = await loadCommand(cmd);
    if (typeof mod === 'string') {
      process.stderr.write(mod + '\n');
      return 2;
    }
    return mod.main(rest);
  }
  process.stderr.write(`ipam-injector: unknown command "${cmd}" (ipam-injector --help lists the commands)\n`);
  return 2;
}

declare const __VERSION__: string | undefined;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.1.0';
const versionLine = () => `ipam-injector ${VERSION}\n`;

function print(text: string): number {
  process.stdout.write(text);
  return 0;
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`ipam-injector: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
