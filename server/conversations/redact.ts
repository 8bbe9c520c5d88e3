import type { Citation } from '../agent/types.ts';
import { markerNumbers } from '../agent/citations.ts';
import type { MessageDoc } from './conversations.ts';

// What becomes of an answer when a document it drew on is deleted. Its citations of that document
// lose their quote, page and the document's name (a name is the document's data too) and say
// `removed`. Its text loses what came from the document:
// - an extractive answer *is* the quoted passages, so each passage of the deleted document is
//   replaced by a note (an answer that quoted only that document keeps only its intro and notes);
// - a generated answer is the model's wording, but a model copies names, codes and phrases
//   verbatim, so each sentence that cites the deleted document is replaced by the note, and the
//   sentences citing other documents stay;
// - the model call's transcript, which holds the passages as they were sent, is dropped (the next
//   turn of the conversation then builds its prompt from the answers' text, as for an old answer).

/** A citation whose document was deleted: no quote, page or name is kept. */
export type RemovedCitation = Omit<Citation, 'documentName' | 'quote' | 'page' | 'pageLabel'> & {
  documentName: null;
  quote: null;
  page: null;
  pageLabel: null;
  removed: true;
};

export type StoredCitation = Citation | RemovedCitation;

export const isRemoved = (c: StoredCitation): c is RemovedCitation => 'removed' in c && c.removed === true;

/** Stands where a passage or sentence drawn from a deleted document was. */
export const REMOVED_NOTE = '[A passage from a deleted document was removed.]';

/** The message without what came from `documentId`, or null when it drew nothing from it. */
export function withoutDocument(message: MessageDoc, documentId: string): MessageDoc | null {
  const citations = message.citations ?? [];
  const gone = citations.filter((c): c is Citation => !isRemoved(c) && c.documentId === documentId);
  // Chunk ids are `<documentId>-<index>`: the answer was shown the document even if it cited none of it.
  const shown = (message.shownChunkIds ?? []).some((id) => id.startsWith(`${documentId}-`));
  if (gone.length === 0 && !shown && !(message.searches ?? []).some((s) => s.documentIds?.includes(documentId))) return null;
  const next: MessageDoc = { ...message };
  delete next.transcript;
  // Related passages are not in the text: those of the document just go.
  if (message.related) next.related = message.related.filter((c) => c.documentId !== documentId);
  if (gone.length === 0) return next;
  const numbers = new Set(gone.map((c) => c.n));
  next.citations = citations.map((c) => (numbers.has(c.n) && !isRemoved(c) ? removedCitation(c) : c));
  const redact = (text: string) => (message.mode === 'extractive' ? withoutPassages(text, gone) : withoutSentences(text, numbers));
  next.content = redact(message.content);
  if (message.generatedContent !== undefined) next.generatedContent = redact(message.generatedContent);
  return next;
}

function removedCitation(c: Citation): RemovedCitation {
  return { n: c.n, chunkId: c.chunkId, documentId: c.documentId, documentName: null, quote: null, page: null, pageLabel: null, removed: true };
}

/**
 * An extractive answer lists `n. “quote” — source [n]`, one passage a line: each passage of the
 * deleted document becomes the note. Should a line not be found as written (an answer cut short),
 * its quote and the document's name are still taken out wherever they occur.
 */
export function withoutPassages(text: string, gone: readonly Citation[]): string {
  let out = text;
  for (const c of gone) {
    const start = out.indexOf(`${c.n}. “${c.quote}”`);
    const marker = ` [${c.n}]`;
    const end = start < 0 ? -1 : out.indexOf(marker, start);
    if (start >= 0 && end >= 0) {
      out = `${out.slice(0, start)}${c.n}. ${REMOVED_NOTE}${marker}${out.slice(end + marker.length)}`;
      continue;
    }
    if (c.quote) out = out.replaceAll(c.quote, REMOVED_NOTE);
    if (c.documentName) out = out.replaceAll(c.documentName, 'a deleted document');
  }
  return out;
}

const MARKER = /\[\s*(\d{1,3}(?:\s*[,;–—-]\s*\d{1,3})*)\s*\]/g;
/** The end of a sentence: its stop and any markers right after it ("… filter. [2]"), or a line break. */
const SENTENCE_END = /[.!?…]+(?:\s*\[[\d\s,;–—-]+\])*[.!?]*(?=\s|$)|\n/g;

/** Splits text into sentences that join back to it exactly (each keeps the space before it). */
export function sentencePieces(text: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  for (const m of text.matchAll(SENTENCE_END)) {
    const end = m.index + m[0].length;
    if (end > start) pieces.push(text.slice(start, end));
    start = end;
  }
  if (start < text.length) pieces.push(text.slice(start));
  return pieces;
}

/** A generated answer without its sentences that cite any of `numbers`; a run of them becomes one note. */
export function withoutSentences(text: string, numbers: ReadonlySet<number>): string {
  const parts: Array<string | { lead: string; cited: Set<number>; tail: string }> = [];
  for (const piece of sentencePieces(text)) {
    const cited = [...piece.matchAll(MARKER)].flatMap((m) => markerNumbers(m[1]!)).filter((n) => numbers.has(n));
    const last = parts.at(-1);
    if (cited.length === 0) {
      // Blank space between two removed sentences does not end the run.
      if (!piece.trim() && last !== undefined && typeof last !== 'string') last.tail += piece;
      else parts.push(piece);
    } else if (last !== undefined && typeof last !== 'string' && !last.tail.includes('\n')) {
      for (const n of cited) last.cited.add(n);
      last.tail = piece.endsWith('\n') ? '\n' : '';
    } else {
      parts.push({ lead: /^\s*/.exec(piece)![0], cited: new Set(cited), tail: piece.endsWith('\n') ? '\n' : '' });
    }
  }
  return parts.map((p) => (typeof p === 'string' ? p : `${p.lead}${REMOVED_NOTE} ${[...p.cited].map((n) => `[${n}]`).join('')}${p.tail}`)).join('');
}
