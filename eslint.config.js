// `npm run lint`: correctness rules and function length/complexity limits (formatting is
// prettier's, the import graph scripts/import-cycles.mjs's). Run by .ci/run before the tests.
// The correctness rules are the ones that would have caught the profiling leftovers that once
// shipped in the server (a global array, /tmp dumps, `any`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// node:fs functions that write, create, move or delete. Only the store (under --data) and the
// CLI's explicit outputs may use them; tests, benchmarks and scripts make their own temp trees.
const fsWrites = [
  'appendFile',
  'appendFileSync',
  'chmod',
  'chmodSync',
  'chown',
  'chownSync',
  'copyFile',
  'copyFileSync',
  'cp',
  'cpSync',
  'createWriteStream',
  'fdatasync',
  'fdatasyncSync',
  'fsync',
  'fsyncSync',
  'ftruncate',
  'ftruncateSync',
  'link',
  'linkSync',
  'mkdir',
  'mkdirSync',
  'mkdtemp',
  'mkdtempSync',
  'open',
  'openSync',
  'rename',
  'renameSync',
  'rm',
  'rmSync',
  'rmdir',
  'rmdirSync',
  'symlink',
  'symlinkSync',
  'truncate',
  'truncateSync',
  'unlink',
  'unlinkSync',
  'write',
  'writeFile',
  'writeFileSync',
  'writeSync',
  'writev',
  'writevSync',
  'promises',
];
const fsWriteImports = {
  paths: ['fs', 'node:fs', 'fs/promises', 'node:fs/promises'].map((name) => ({
    name,
    importNames: fsWrites,
    message: "Only src/server/store (under --data) and the CLI's outputs write files; see eslint.config.js.",
  })),
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/protocol/descriptors.gen.ts', 'fixtures/**', 'example/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        clearImmediate: 'readonly',
        queueMicrotask: 'readonly',
        performance: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        AbortController: 'readonly',
        structuredClone: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-debugger': 'error',
      'no-regex-spaces': 'off', // style, not correctness
      // Process-wide state hidden from every signature: the leftovers hung arrays off globalThis.
      'no-restricted-globals': [
        'error',
        { name: 'globalThis', message: 'No process-wide globals; pass state explicitly (measure through /metrics).' },
        { name: 'global', message: 'No process-wide globals; pass state explicitly (measure through /metrics).' },
      ],
    },
  },
  {
    // Type-aware rules need the TypeScript program (tsconfig.json includes src, test, bench, scripts).
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    // Short functions: a reader follows one function on one screen. Blank and comment lines
    // do not count. The thresholds are what the code meets, with no exceptions.
    files: ['src/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }],
      complexity: ['error', 20],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: {
      // The server logs through log.ts, the function writes through its ResourceList.
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: [
      'src/server/store/**', // the durable store: everything it writes is under --data
      'src/cli/fn.ts', // writes the ResourceList to stdout (fd 1)
    ],
    rules: {
      'no-restricted-imports': ['error', fsWriteImports],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportExpression[source.value=/^(node:)?fs(.promises)?$/]',
          message: "No dynamic import of node:fs here: only src/server/store and the CLI's outputs write files.",
        },
      ],
    },
  },
);
