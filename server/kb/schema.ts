import { z } from 'zod';
import { retrievalModes } from './knowledge-bases.ts';
import { displayName, displayText } from '../http/names.ts';

export const kbName = displayName(120);
export const kbDescription = displayText(2000);

export const KbSettingsInput = z.strictObject({
  chunkSize: z.number().int().min(64).max(2048).optional(),
  chunkOverlap: z.number().int().min(0).max(512).optional(),
  retrievalMode: z.enum(retrievalModes).optional(),
  embeddingModel: z.string().max(100).nullable().optional(),
  ocrLanguages: z
    .array(z.string().regex(/^[a-z]{3}(?:_[a-z0-9]+)*$/, 'a Tesseract language code such as eng, rus or chi_sim'))
    .min(1)
    .max(8)
    .nullable()
    .optional()
    .describe('Languages scanned pages are read in (OCR), chosen from `ocr.installed`; null: the server default (OCR_LANGUAGES). Applies to documents processed from now on; re-index to read earlier scans again.'),
});

export const Embeddings = z.object({ available: z.boolean(), model: z.string().nullable(), reason: z.string().nullable() });

export const OcrLanguages = z.object({
  default: z.array(z.string()).describe('The server default (OCR_LANGUAGES), used while `settings.ocrLanguages` is null'),
  installed: z.array(z.string()).describe('Languages whose OCR data is installed: the choices for `settings.ocrLanguages`'),
});

export const Kb = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    settings: z.object({
      chunkSize: z.number(),
      chunkOverlap: z.number(),
      retrievalMode: z.enum(retrievalModes),
      embeddingModel: z.string().nullable(),
      ocrLanguages: z.array(z.string()).nullable(),
    }),
    stats: z.object({ documents: z.number(), ready: z.number(), processing: z.number(), failed: z.number(), chunks: z.number() }),
    embeddings: Embeddings,
    ocr: OcrLanguages,
  })
  .meta({ id: 'KnowledgeBase' });

export const KbList = z.object({ kbs: z.array(Kb) });

/** A re-index: how many documents were queued. */
export const Reindexed = z.object({ documents: z.number() });

export const ChunkPage = z
  .object({ number: z.number(), label: z.string().nullable(), offset: z.number().describe('Character offset in the passage text where this page begins') })
  .meta({ id: 'ChunkPage' });

export const Hit = z
  .object({
    chunkId: z.string(),
    documentId: z.string(),
    documentName: z.string(),
    page: z.number().nullable().describe('The page the best-matching passage of the chunk is on (1-based in the file); null for unpaged formats'),
    pageLabel: z.string().nullable().describe("That page's printed label (e.g. \"iv\", \"38\") when the document defines one"),
    firstPage: z.number().nullable().describe('The first page the chunk touches'),
    lastPage: z.number().nullable().describe('The last page the chunk touches'),
    pages: z.array(ChunkPage).describe('Where each page the chunk touches begins in `text`'),
    headings: z.array(z.string()),
    text: z.string(),
    score: z.number(),
    matchedTerms: z.array(z.string()),
    start: z.number(),
    end: z.number(),
  })
  .meta({ id: 'SearchHit' });

export type KbHit = z.output<typeof Hit>;

export const SearchResponse = z.object({ hits: z.array(Hit), mode: z.enum(retrievalModes), tookMs: z.number(), embeddings: Embeddings });

/** One chunk: the passage a citation points at. */
export const Chunk = z.object({
  id: z.string(),
  documentId: z.string(),
  documentName: z.string(),
  firstPage: z.number().nullable(),
  lastPage: z.number().nullable(),
  pages: z.array(ChunkPage),
  headings: z.array(z.string()),
  text: z.string(),
  start: z.number(),
  end: z.number(),
});

export const SearchBody = z.strictObject({
  query: z.string().trim().min(1).max(2000),
  k: z.number().int().min(1).max(50).default(10),
  mode: z.enum(retrievalModes).optional(),
  documentIds: z.array(z.string().max(64)).max(100).optional(),
});
