// uvu's `test`, but an error with a structured `details` property (IpamError, and any other
// error that carries an object there) fails readably. uvu's reporter treats `details` as a
// ready-made assertion diff and calls `details.split`, which throws inside the reporter: the
// failing test then prints nothing at all and the process still exits 0.
import { test as uvuTest } from 'uvu';

type Context = Record<string, unknown>;
type Body = (context: Context) => unknown;

/** The same failure as a plain Error uvu can print: code, message, details as JSON, stack. */
export function readableError(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const details = (e as { details?: unknown }).details;
  // uvu's own assertion errors carry a string or `false` there: left alone
  if (details === null || typeof details !== 'object') return e;
  const code = (e as { code?: unknown }).code;
  const out = new Error(`${e.name}${code === undefined ? '' : ' ' + String(code)}: ${e.message}\n    details: ${JSON.stringify(details)}`, {
    cause: e,
  });
  out.stack = out.message.split('\n')[0] + '\n' + (e.stack ?? '').split('\n').slice(1).join('\n');
  return out;
}

const guarded = (body: Body) => async (context: Context) => {
  try {
    await body(context);
  } catch (e) {
    throw readableError(e);
  }
};

export interface Test {
  (name: string, body: Body): void;
  only(name: string, body: Body): void;
  skip(name?: string, body?: Body): void;
  after(hook: () => unknown): void;
  run(): void;
}

/** How a test file says it skipped something: one line per skip, which scripts/test.mjs
 *  collects and repeats above its final `N passed, N failed, N skipped` line. */
export function skipLine(name: string, reason: string): string {
  return `SKIP "${name}": ${reason.replace(/\s+/g, ' ').trim()}`;
}

/** Registers `name` as skipped (uvu counts it) and prints why. */
export function skipTest(name: string, reason: string): void {
  console.log(skipLine(name, reason));
  uvuTest.skip(name);
}

export const test: Test = Object.assign((name: string, body: Body) => uvuTest(name, guarded(body)), {
  only: (name: string, body: Body) => uvuTest.only(name, guarded(body)),
  skip: (name?: string, body?: Body) => uvuTest.skip(name, body && guarded(body)),
  after: (hook: () => unknown) => uvuTest.after(async () => void (await hook())),
  run: () => uvuTest.run(),
});
