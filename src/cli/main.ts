// ipam-injector: with no arguments (or `fn`) the KRM function, reading a ResourceList on
// stdin. `serve` and `get` are loaded on demand, so the function never loads gRPC code.
import { main as fn } from './fn.js';

const USAGE = `usage: ipam-injector [fn]           KRM function: ResourceList on stdin, result on stdout
       ipam-injector serve [flags]    shared IPAM server (gRPC)
       ipam-injector get KIND [flags] list allocations, prefixes or network instances of a server
       ipam-injector --help | --version`;

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

async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'fn') return fn();
  if (cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (cmd === '--version' || cmd === 'version') {
    process.stdout.write(`ipam-injector ${process.env.npm_package_version ?? VERSION}\n`);
    return 0;
  }
  if (SUBCOMMANDS.includes(cmd)) {
    const mod = await loadCommand(cmd);
    if (typeof mod === 'string') {
      process.stderr.write(mod + '\n');
      return 2;
    }
    return mod.main(rest);
  }
  process.stderr.write(`unknown command "${cmd}"\n${USAGE}\n`);
  return 2;
}

declare const __VERSION__: string | undefined;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.1.0';

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`ipam-injector: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
