// Errors of reading YAML, and the limits that keep hostile input from exhausting the stack or
// the clock: nesting depth (both readers recurse per level) and alias expansion (a few
// anchors that refer to each other expand exponentially).

export class YamlSyntaxError extends Error {
  override readonly name: string = 'YamlSyntaxError';
  constructor(
    message: string,
    /** Offset of the error in the parsed text, when known. */
    readonly offset?: number,
  ) {
    super(message);
  }
}

/** Valid YAML that the function refuses to read (too deep, too many aliases). */
export class YamlLimitError extends YamlSyntaxError {
  override readonly name = 'YamlLimitError';
}

/** Deepest nesting of collections read; far beyond any Kubernetes resource. */
export const MAX_DEPTH = 1000;
/** Alias references one document may resolve. */
export const MAX_ALIASES = 1000;
/** Nodes a document may expand to through its aliases. */
export const MAX_EXPANDED_NODES = 200_000;

export function tooDeep(offset?: number): YamlLimitError {
  return new YamlLimitError(`collections nested more than ${MAX_DEPTH} levels deep`, offset);
}

/**
 * An upper bound of the nesting depth of a YAML text, without parsing it: block indentation
 * levels, compact `- - ` dashes and flow brackets each count one (quotes are skipped roughly).
 * Checked before the yaml library reads a text: its composer recurses once per level.
 */
export function checkDepth(text: string): void {
  const indents: number[] = [];
  let flow = 0;
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = n;
    let i = pos;
    while (i < end && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
    if (i < end && text.charCodeAt(i) !== 35) {
      const ind = i - pos;
      while (indents.length > 0 && indents[indents.length - 1] > ind) indents.pop();
      if (indents.length === 0 || indents[indents.length - 1] < ind) indents.push(ind);
      let dashes = 0;
      let quote = 0;
      for (let j = i; j < end; j++) {
        const c = text.charCodeAt(j);
        if (quote) {
          if (c === quote) quote = 0;
          else if (c === 92 && quote === 34) j++;
          continue;
        }
        if (c === 34 || c === 39) quote = c;
        else if (c === 91 || c === 123) {
          if (indents.length + dashes + ++flow > MAX_DEPTH) throw tooDeep(j);
        } else if (c === 93 || c === 125) flow = Math.max(0, flow - 1);
        else if (c === 45 && (j + 1 === end || text.charCodeAt(j + 1) === 32) && (j === i || text.charCodeAt(j - 1) === 32)) dashes++;
        else if (c === 35 && j > i && text.charCodeAt(j - 1) === 32) break;
      }
      if (indents.length + dashes + flow > MAX_DEPTH) throw tooDeep(pos);
    }
    pos = end + 1;
  }
}
