// The flag table (src/cli/flags.ts): parsing with defaults and environment variables, and the
// --help lines it renders (serve's and get's --help are built from it).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { flagUsage, parseFlags, type Flag } from '../../src/cli/flags.js';

const FLAGS = [
  { name: 'server', short: 's', type: 'string', env: 'ADDR', default: 'here:1', arg: 'HOST:PORT', help: 'the server' },
  { name: 'output', type: 'string', default: 'table', arg: 'table|wide|yaml|json', help: 'first line\nsecond line' },
  { name: 'token', type: 'string', usage: '--token T | --token-file F', help: 'bearer token' },
  { name: 'token-file', type: 'string' },
  { name: 'timeout', type: 'string', arg: '10s', help: '' },
  { name: 'verbose', short: 'v', type: 'boolean' },
] as const satisfies readonly Flag[];

test('a flag takes its value from argv, else its environment variable, else its default', () => {
  const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseFlags(FLAGS, argv, { allowPositionals: true, env }).values;
  assert.is(parse([]).server, 'here:1');
  assert.is(parse([], { ADDR: 'env:2' }).server, 'env:2');
  assert.is(parse(['-s', 'flag:3'], { ADDR: 'env:2' }).server, 'flag:3');
  assert.is(parse(['--server', ''], { ADDR: 'env:2' }).server, 'env:2');
  assert.is(parse([]).output, 'table');
  assert.is(parse(['--output', '']).output, '');
  assert.is(parse(['-v']).verbose, true);
  assert.is(parse([])['token-file'], undefined);
});

test('parseFlags refuses an unknown flag and, when told, a positional argument', () => {
  assert.throws(() => parseFlags(FLAGS, ['--nope'], { allowPositionals: true }), /Unknown option '--nope'/);
  assert.throws(() => parseFlags(FLAGS, ['extra'], { allowPositionals: false }), /Unexpected argument 'extra'/);
  assert.equal(parseFlags(FLAGS, ['list'], { allowPositionals: true }).positionals, ['list']);
});

test('flagUsage: one line per described flag, descriptions at the column, long left columns on their own line', () => {
  assert.is(
    flagUsage(FLAGS, 30),
    [
      '  -s, --server HOST:PORT      the server',
      '  --output table|wide|yaml|json',
      '                              first line',
      '                              second line',
      '  --token T | --token-file F  bearer token',
      '  --timeout 10s',
    ].join('\n'),
  );
});

test.run();
