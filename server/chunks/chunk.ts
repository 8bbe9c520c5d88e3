// A chunk is the unit that ingestion produces, the store keeps, the search index ranks and a
// citation points at. Its shape lives here, below all of them, so none imports another's module.

/** Where a page begins inside a chunk's text. */
export interface ChunkPage {
  /** 1-based page in the file. */
  number: number;
  /** The printed page label when the document defines one (e.g. "iv", "A-3"), else null. */
  label: string | null;
  /** Character offset into the chunk's `text` where this page's text begins (0 for the first). */
  offset: number;
}

/** What the chunker makes of a document: text with its place in the document. */
export interface Chunk {
  /** 0-based position in the document. */
  index: number;
  text: string;
  headings: string[];
  /** 1-based page where the chunk starts, or null for unpaged formats. */
  page: number | null;
  /** 1-based page where the chunk ends (same as page for single-page chunks), or null. */
  pageEnd: number | null;
  /**
   * Every page the chunk's text touches, in order, with the offset where each begins; empty for
   * unpaged formats. A chunk crossing a page break says exactly where the break falls.
   */
  pages: ChunkPage[];
  /** Character offsets into the document's extracted text: the passage a citation points at. */
  start: number;
  end: number;
  tokens: number;
}

/** A chunk as the store keeps it: the source of truth the search index is rebuilt from. */
export interface ChunkDoc extends Chunk {
  _id: string;
  organisationId: string;
  kbId: string;
  documentId: string;
  documentName: string;
  /** Base64 of the Float32Array embedding, or null when no model produced one. */
  vector: string | null;
  embeddingModel: string | null;
}
