// Naming an item that is not valid YAML. The function reads every item (owned or not) so
// that a broken resource fails the run instead of passing through; such an item cannot be
// parsed, so what the result says about it comes from line patterns in its raw text: kind,
// apiVersion and name when they are written plainly, kpt's path/index annotations, and the
// line of the error in the input.
import type { Item } from './item.js';
import { ANN_INDEX, ANN_INTERNAL_INDEX, ANN_INTERNAL_PATH, ANN_PACKAGE_PATH, ANN_PATH, LEGACY_ANN_PATH, type Meta } from './resource.js';
import { YamlLimitError, type YamlSyntaxError } from './yaml-limits.js';

const ANNOTATIONS = [ANN_PATH, ANN_INDEX, ANN_INTERNAL_PATH, ANN_INTERNAL_INDEX, ANN_PACKAGE_PATH, LEGACY_ANN_PATH];
const VALUE = `('[^'\\n]*'|"[^"\\n]*"|[^\\s,}#'"][^\\s,}#]*)`;
const annotationRes = new Map(
  ANNOTATIONS.map((k) => [k, new RegExp(`(?:^|[\\s{,])["']?${k.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}["']?:[ \\t]*${VALUE}`, 'm')]),
);

function unquote(v: string): string {
  return (v.startsWith("'") && v.endsWith("'")) || (v.startsWith('"') && v.endsWith('"')) ? v.slice(1, -1) : v;
}

/** metadata.name written as `metadata:` + `name: x` on the next lines, or `metadata: {name: x`. */
function roughName(text: string, dash: number): string | undefined {
  const flow = new RegExp(`^(?: {${dash}}- | {${dash + 2}})metadata:[ \\t]*\\{[ \\t]*name:[ \\t]*${VALUE}`, 'm').exec(text);
  if (flow) return unquote(flow[1]);
  const block = new RegExp(
    `^(?: {${dash}}- | {${dash + 2}})metadata:[ \\t]*\\n(?:(?: {${dash + 4},}.*)?\\n)*? {${dash + 4}}name:[ \\t]*${VALUE}`,
    'm',
  ).exec(text);
  return block ? unquote(block[1]) : undefined;
}

/** What can be told about an item from its text alone (for results naming it). */
export function roughMeta(item: Item): Meta {
  const annotations: Record<string, string> = {};
  for (const [k, re] of annotationRes) {
    const m = re.exec(item.text);
    if (m) annotations[k] = unquote(m[1]);
  }
  return {
    apiVersion: item.quickApiVersion() ?? '',
    kind: item.quickKind() ?? '',
    name: roughName(item.text, item.dash) ?? '',
    labels: {},
    annotations,
  };
}

/** "line L, column C of the input" for an error in an item, when both offsets are known. */
export function inputPosition(input: string, item: Item, err: YamlSyntaxError): string | undefined {
  if (item.offset === undefined || err.offset === undefined) return undefined;
  // the library may point just past the item's last line (an unclosed collection)
  return lineColumn(input, item.offset + Math.min(err.offset, Math.max(0, item.original.trimEnd().length - 1)));
}

/** "line L, column C of the input" of the item's dash, when its offset is known. */
export function itemPosition(input: string, item: Item): string | undefined {
  return item.offset === undefined ? undefined : lineColumn(input, item.offset + item.dash);
}

export function lineColumn(input: string, offset: number): string {
  let at = offset;
  if (at > input.length) at = input.length;
  let line = 1;
  let lineStart = 0;
  for (let i = input.indexOf('\n'); i >= 0 && i < at; i = input.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `line ${line}, column ${at - lineStart + 1} of the input`;
}

/** The message of a syntax error result. */
export function syntaxMessage(input: string, item: Item, m: Meta, err: YamlSyntaxError): string {
  const what = [
    m.kind && (m.name ? `${m.kind} ${m.name}` : m.kind),
    (m.annotations[ANN_INTERNAL_PATH] ?? m.annotations[ANN_PATH] ?? m.annotations[LEGACY_ANN_PATH]) &&
      `in ${m.annotations[ANN_INTERNAL_PATH] ?? m.annotations[ANN_PATH] ?? m.annotations[LEGACY_ANN_PATH]}`,
  ]
    .filter(Boolean)
    .join(' ');
  const pos = inputPosition(input, item, err);
  const verdict = err instanceof YamlLimitError ? 'is refused' : 'is not valid YAML';
  return `item ${item.index} of the ResourceList${what ? ` (${what})` : ''} ${verdict}${pos ? ` at ${pos}` : ''}: ${err.message}`;
}
