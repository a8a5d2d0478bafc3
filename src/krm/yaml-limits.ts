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
  const depth = new DepthBound(text);
  const n = text.length;
  for (let pos = 0; pos < n;) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = n;
    depth.line(pos, end);
    pos = end + 1;
  }
}

/** The depth bound line by line: the open indentation levels, and the flow brackets still open. */
class DepthBound {
  private readonly indents: number[] = [];
  private flow = 0;

  constructor(private readonly text: string) {}

  /** The line from `pos` to `end`; throws when it may nest deeper than MAX_DEPTH. */
  line(pos: number, end: number): void {
    const text = this.text;
    let i = pos;
    while (i < end && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
    if (i === end || text.charCodeAt(i) === 35) return;
    const levels = this.indentLevels(i - pos);
    const dashes = this.content(i, end, levels);
    if (levels + dashes + this.flow > MAX_DEPTH) throw tooDeep(pos);
  }

  /** The block levels open at indentation `ind` (deeper ones close). */
  private indentLevels(ind: number): number {
    const indents = this.indents;
    while (indents.length > 0 && indents[indents.length - 1] > ind) indents.pop();
    if (indents.length === 0 || indents[indents.length - 1] < ind) indents.push(ind);
    return indents.length;
  }

  /** Counts the line's compact dashes and follows its flow brackets, outside quotes and comments. */
  private content(i: number, end: number, levels: number): number {
    const text = this.text;
    let dashes = 0;
    for (let j = i; j < end; j++) {
      const c = text.charCodeAt(j);
      if (c === 34 || c === 39) j = closingQuote(text, j + 1, end, c);
      else if (c === 91 || c === 123) {
        if (levels + dashes + ++this.flow > MAX_DEPTH) throw tooDeep(j);
      } else if (c === 93 || c === 125) this.flow = Math.max(0, this.flow - 1);
      else if (c === 45 && (j + 1 === end || text.charCodeAt(j + 1) === 32) && (j === i || text.charCodeAt(j - 1) === 32)) dashes++;
      else if (c === 35 && j > i && text.charCodeAt(j - 1) === 32) break;
    }
    return dashes;
  }
}

/** The offset of the quote that closes one opened before `from` (`end` when the line has none). */
function closingQuote(text: string, from: number, end: number, quote: number): number {
  for (let k = from; k < end; k++) {
    const c = text.charCodeAt(k);
    if (c === quote) return k;
    if (c === 92 && quote === 34) k++;
  }
  return end;
}
