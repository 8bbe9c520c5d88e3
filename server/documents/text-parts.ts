import type { PositionedBlock } from '../ingest/chunker.ts';
import type { DocumentTextDoc } from './documents.ts';

// A document's extracted text is stored in parts of about PART_CHARS characters. One record for
// a 20 MB text meant one 20+ MB JSON string, its UTF-8 copy and SQLite's record buffer alive at
// once — ~140 MB on top of the upload's peak; parts keep each write small. The first part keeps
// the document's id (so texts stored before parts existed read as a single first part); the
// others are `<id>~<n>` and name their document.

const PART_CHARS = 512 * 1024;

/** Splits a text into the records it is stored as, whole blocks per part, the pages on the first. */
export function textParts(text: DocumentTextDoc): DocumentTextDoc[] {
  const parts: DocumentTextDoc[] = [];
  let blocks: PositionedBlock[] = [];
  let chars = 0;
  const flush = () => {
    const part = parts.length;
    parts.push({ _id: part === 0 ? text._id : `${text._id}~${part}`, organisationId: text.organisationId, kbId: text.kbId, documentId: text._id, part, pages: part === 0 ? text.pages : null, blocks });
    blocks = [];
    chars = 0;
  };
  for (const block of text.blocks) {
    if (chars > 0 && chars + block.text.length > PART_CHARS) flush();
    blocks.push(block);
    chars += block.text.length;
  }
  flush();
  return parts;
}

/** The whole text again from its parts, in order (a text stored before parts existed is its own first part). */
export function joinTextParts(first: DocumentTextDoc, rest: readonly DocumentTextDoc[]): DocumentTextDoc {
  const ordered = [...rest].sort((a, b) => (a.part ?? 0) - (b.part ?? 0));
  const { documentId: _documentId, part: _part, ...whole } = first;
  return { ...whole, blocks: [first.blocks, ...ordered.map((p) => p.blocks)].flat() };
}
