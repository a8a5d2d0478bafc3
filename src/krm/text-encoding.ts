// The function's input bytes -> text -> output bytes, losing none. kpt sends UTF-8; a byte
// sequence that is not UTF-8 (in a resource the function does not own) is carried through as
// a lone surrogate U+DC80..U+DCFF per byte ("surrogate escape": valid UTF-8 never decodes to
// one) and written back as that same byte. A BOM, and UTF-16 input (with a BOM or detected by
// YAML's rule of NUL bytes), are read and written back the same way.

export interface Encoding {
  form: 'utf-8' | 'utf-16le' | 'utf-16be';
  bom: boolean;
}

const ESCAPED = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;
const ESCAPED_ALL = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/g;

/** Whether `text` carries bytes that were not UTF-8 (escaped as lone surrogates). */
export function hasInvalidUtf8(text: string): boolean {
  return ESCAPED.test(text);
}

/** Offset of the first escaped byte, or -1. */
export function firstInvalidUtf8(text: string): number {
  const m = ESCAPED.exec(text);
  return m ? m.index : -1;
}

export function decodeInput(buf: Buffer): { text: string; encoding: Encoding } {
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe)
    return { text: utf16(buf.subarray(2), 'le'), encoding: { form: 'utf-16le', bom: true } };
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff)
    return { text: utf16(buf.subarray(2), 'be'), encoding: { form: 'utf-16be', bom: true } };
  // YAML 1.2, 5.2: without a BOM, a NUL first or second byte means UTF-16
  if (buf.length >= 2 && buf.length % 2 === 0 && buf[0] === 0 && buf[1] !== 0)
    return { text: utf16(buf, 'be'), encoding: { form: 'utf-16be', bom: false } };
  if (buf.length >= 2 && buf.length % 2 === 0 && buf[0] !== 0 && buf[1] === 0)
    return { text: utf16(buf, 'le'), encoding: { form: 'utf-16le', bom: false } };
  const bom = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf;
  return { text: utf8(bom ? buf.subarray(3) : buf), encoding: { form: 'utf-8', bom } };
}

export function encodeOutput(text: string, enc: Encoding): Buffer {
  if (enc.form === 'utf-8') {
    const body = hasInvalidUtf8(text) ? unescapeBytes(text) : Buffer.from(text, 'utf8');
    return enc.bom ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]) : body;
  }
  const le = Buffer.from(text, 'utf16le');
  if (enc.form === 'utf-16be') le.swap16();
  if (!enc.bom) return le;
  return Buffer.concat([Buffer.from(enc.form === 'utf-16le' ? [0xff, 0xfe] : [0xfe, 0xff]), le]);
}

function utf16(buf: Buffer, order: 'le' | 'be'): string {
  const b = Buffer.from(buf.subarray(0, buf.length - (buf.length % 2)));
  if (order === 'be') b.swap16();
  return b.toString('utf16le');
}

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 to text; bytes that are not UTF-8 become U+DC80 + (byte - 0x80). */
function utf8(buf: Buffer): string {
  try {
    return strict.decode(buf);
  } catch {
    // slow path, only for input that is not UTF-8
  }
  let out = '';
  let run = 0;
  let i = 0;
  while (i < buf.length) {
    const n = sequenceLength(buf, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += buf.toString('utf8', run, i) + String.fromCharCode(0xdc00 + buf[i]);
    i++;
    run = i;
  }
  return out + buf.toString('utf8', run, buf.length);
}

/** Length of the valid UTF-8 sequence at `i` (RFC 3629: no overlongs, no surrogates), or 0. */
function sequenceLength(b: Buffer, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return continues(b, i, 1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) return threeBytes(b, i, c);
  if (c >= 0xf0 && c <= 0xf4) return fourBytes(b, i, c);
  return 0;
}

/** Whether the `k` bytes after `i` are continuation bytes (10xxxxxx). */
function continues(b: Buffer, i: number, k: number): boolean {
  for (let j = 1; j <= k; j++) if (i + j >= b.length || (b[i + j] & 0xc0) !== 0x80) return false;
  return true;
}

/** A sequence led by E0..EF: 3, or 0 for an overlong form (E0 80..9F) or a surrogate (ED A0..BF). */
function threeBytes(b: Buffer, i: number, c: number): number {
  if (!continues(b, i, 2)) return 0;
  const c1 = b[i + 1];
  if (c === 0xe0 && c1 < 0xa0) return 0;
  if (c === 0xed && c1 >= 0xa0) return 0;
  return 3;
}

/** A sequence led by F0..F4: 4, or 0 for an overlong form (F0 80..8F) or past U+10FFFF (F4 90..BF). */
function fourBytes(b: Buffer, i: number, c: number): number {
  if (!continues(b, i, 3)) return 0;
  const c1 = b[i + 1];
  if (c === 0xf0 && c1 < 0x90) return 0;
  if (c === 0xf4 && c1 >= 0x90) return 0;
  return 4;
}

function unescapeBytes(text: string): Buffer {
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of text.matchAll(ESCAPED_ALL)) {
    parts.push(Buffer.from(text.slice(last, m.index), 'utf8'), Buffer.from([m[0].charCodeAt(0) - 0xdc00]));
    last = m.index + 1;
  }
  parts.push(Buffer.from(text.slice(last), 'utf8'));
  return Buffer.concat(parts);
}
