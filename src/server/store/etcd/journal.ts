// The journal: per network instance, what one transaction changed there, written with the
// instance's revision key so that other replicas can replay it (follower.ts). Its value is
// JSON, with one-letter keys because one is written per instance per transaction
// (docs/persisted-formats.md lists every persisted format):
//   {"w": writer (replica) id,
//    "t": the transaction's id (the revision key's new value),
//    "b": the revision key's value it compared ("" : the key did not exist),
//    "c": [[commit seq, records], ...]  complete commits, in commit order (records: ops.ts),
//    "m": commit seq                    instead of "c": a chunk of a commit too large for one
//                                       transaction; its records come with the last chunk}
// The writer id comes first, so that a replica recognises its own journals by their first
// bytes without parsing them.
import type { Op } from '../ops.js';

/** A decoded journal. The wire keys (above) are this codec's alone. */
export interface Journal {
  /** writer (replica process) id */
  writer: string;
  /** transaction id (the revision key's new value) */
  txn: string;
  /** the revision key's value the transaction compared ('' : it did not exist) */
  basis: string;
  /** complete commits: [commit seq, records] in commit order */
  commits?: [number, Op[]][];
  /** a chunk of the commit with this seq, more to follow (no records yet) */
  chunkOf?: number;
}

/** The journal as it is stored. */
interface JournalWire {
  w: string;
  t: string;
  b: string;
  c?: [number, Op[]][];
  m?: number;
}

/** A complete commit as it goes into a journal: its records already JSON. */
export interface JournalEntry {
  seq: number;
  opsJson: string;
}

/** The first bytes of every journal `writer` writes. */
export const journalMark = (writer: string): Buffer => Buffer.from(`{"w":"${writer}"`);

/** Built as text: the records are already JSON (commit() encodes them once). */
export function encodeJournal(writer: string, id: string, basis: string, complete: JournalEntry[], chunkOf?: number): Buffer {
  let text = `{"w":"${writer}","t":"${id}","b":${JSON.stringify(basis)}`;
  if (complete.length) text += `,"c":[${complete.map((c) => `[${c.seq},${c.opsJson}]`).join(',')}]`;
  if (chunkOf !== undefined) text += `,"m":${chunkOf}`;
  return Buffer.from(text + '}');
}

export const isMarked = (value: Buffer, mark: Buffer): boolean => value.subarray(0, mark.length).equals(mark);

/** Parses a journal; throws when the value is not one. */
export function decodeJournal(value: Buffer): Journal {
  const j = JSON.parse(value.toString()) as JournalWire;
  if (typeof j !== 'object' || j === null || typeof j.w !== 'string' || typeof j.t !== 'string' || typeof j.b !== 'string') {
    throw new Error('not a journal: needs string fields w, t and b');
  }
  if (j.c !== undefined && !Array.isArray(j.c)) throw new Error('not a journal: c is not a list');
  const journal: Journal = { writer: j.w, txn: j.t, basis: j.b };
  if (j.c !== undefined) journal.commits = j.c;
  if (j.m !== undefined) journal.chunkOf = j.m;
  return journal;
}

/** The records of a group of journals (one transaction, several instances), in commit order. */
export function recordsOf(journals: Journal[]): Op[][] {
  // one instance: its commits come in commit order, as the writer made it
  if (journals.length === 1 && ascending(journals[0]!.commits ?? [])) return (journals[0]!.commits ?? []).map((c) => c[1]);
  const bySeq = new Map<number, Op[]>();
  for (const j of journals) for (const [seq, ops] of j.commits ?? []) bySeq.set(seq, ops);
  return [...bySeq.entries()].sort((a, b) => a[0] - b[0]).map(([, ops]) => ops);
}

function ascending(commits: [number, Op[]][]): boolean {
  for (let i = 1; i < commits.length; i++) if (!(commits[i - 1]![0] < commits[i]![0])) return false;
  return true;
}
