// Scalar reading and writing shared by the fast block reader and the `yaml`-library path,
// so that both resolve a plain scalar to the same value and quote new values the same way.

export type ScalarValue = string | number | boolean | null;

const INT = /^[-+]?(?:0|[1-9][0-9]*)$/;
const HEX = /^0x[0-9a-fA-F]+$/;
const OCT = /^0o[0-7]+$/;
const FLOAT = /^[-+]?(?:(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+)$/;

/** The core schema's words: null, booleans, infinities and not-a-number. */
const WORDS = new Map<string, ScalarValue>([
  ...['~', 'null', 'Null', 'NULL'].map((w): [string, ScalarValue] => [w, null]),
  ...['true', 'True', 'TRUE'].map((w): [string, ScalarValue] => [w, true]),
  ...['false', 'False', 'FALSE'].map((w): [string, ScalarValue] => [w, false]),
  ...['.inf', '+.inf', '.Inf', '+.Inf', '.INF', '+.INF'].map((w): [string, ScalarValue] => [w, Infinity]),
  ...['-.inf', '-.Inf', '-.INF'].map((w): [string, ScalarValue] => [w, -Infinity]),
  ...['.nan', '.NaN', '.NAN'].map((w): [string, ScalarValue] => [w, NaN]),
]);

const LONGEST_WORD = Math.max(...[...WORDS.keys()].map((w) => w.length));

/** By first character: 0 a string, WORD_START a word may start there, NUMBER_START a number or a word. */
const WORD_START = 1;
const NUMBER_START = 2;
const FIRST = new Uint8Array(128);
for (const c of '~nNtTfF') FIRST[c.charCodeAt(0)] = WORD_START;
for (const c of '-+.0123456789') FIRST[c.charCodeAt(0)] = NUMBER_START;

/**
 * Resolves a plain (unquoted) scalar like the YAML 1.2 core schema. Values whose meaning
 * differs between YAML versions (`0755`, `yes`, dates) stay strings: the function never
 * interprets them, and they are written back as they came.
 */
export function resolvePlain(s: string): ScalarValue {
  if (s === '') return null;
  // Fast exit for the common case: plain words are strings.
  const first = FIRST[s.charCodeAt(0)];
  if (!first) return s;
  if (s.length <= LONGEST_WORD) {
    const word = WORDS.get(s);
    if (word !== undefined) return word;
  }
  return first === NUMBER_START ? resolveNumber(s) : s;
}

function resolveNumber(s: string): ScalarValue {
  if (INT.test(s)) return Number(s);
  if (HEX.test(s)) return parseInt(s.slice(2), 16);
  if (OCT.test(s)) return parseInt(s.slice(2), 8);
  if (FLOAT.test(s)) return Number(s);
  return s;
}

// Plain strings that YAML 1.1 readers (kyaml, go-yaml) would take for something else.
// Numbers (ints with `_`, octal `0755`, one-dot floats, exponents), sexagesimal `1:20`,
// hex/binary, dates and timestamps. Dotted quads like 10.0.1.2 are strings for every reader.
const YAML11_SPECIAL =
  /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|<<|=|[-+]?[0-9][0-9_]*|[-+]?[0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|0[xXbBoO][0-9a-fA-F_]+|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const SAFE_PLAIN = /^[A-Za-z0-9_./][A-Za-z0-9_./:@=+-]*(?: [A-Za-z0-9_./:@=+(),-]+)*$/;

/** True when `s` can be written as a plain scalar and read back as the same string by any YAML 1.1/1.2 reader. */
export function isSafePlainString(s: string): boolean {
  if (s.length === 0 || s.length > 200) return false;
  if (!SAFE_PLAIN.test(s)) return false;
  if (s.includes(': ') || s.endsWith(':')) return false;
  if (resolvePlain(s) !== s) return false;
  return !YAML11_SPECIAL.test(s);
}

/** A double-quoted YAML scalar (JSON string syntax is a subset of YAML's double-quoted style). */
export function doubleQuote(s: string): string {
  return JSON.stringify(s);
}

/** Formats a value for a single-line YAML position. Strings are quoted when needed. */
export function formatScalar(v: ScalarValue): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : doubleQuote(String(v));
  return isSafePlainString(v) ? v : doubleQuote(v);
}

/** Formats a string in the style the old value used, so quoting survives an update. */
export function formatStringLike(v: string, style: 'plain' | 'single' | 'double' | string): string {
  if (style === 'double') return doubleQuote(v);
  if (style === 'single' && !/[\n\r]/.test(v)) return `'${v.replace(/'/g, "''")}'`;
  return formatScalar(v);
}
