import { z } from 'zod';
import { blockKinds } from '../ingest/types.ts';
import { documentStages, documentStatuses } from './documents.ts';

export const Document = z
  .object({
    id: z.string(),
    kbId: z.string(),
    name: z.string(),
    mimeType: z.string(),
    size: z.number(),
    sha256: z.string(),
    status: z.enum(documentStatuses),
    stage: z.enum(documentStages),
    progress: z.number().min(0).max(1),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    pages: z.number().nullable(),
    chunks: z.number().nullable(),
    format: z.string().nullable(),
    encoding: z.string().nullable(),
    ocr: z.boolean(),
    warnings: z.array(z.string()),
    scan: z
      .object({ result: z.enum(['clean', 'infected']), signature: z.string().nullable(), at: z.string() })
      .nullable()
      .describe('The malware scanner\'s verdict on the original (CLAMAV_URL); `infected` originals are quarantined and never served. Null when not scanned.'),
    statusMessage: z.string().nullable().describe('Why a queued document is not moving yet, e.g. waiting for the malware scanner.'),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Document' });

export const DocumentList = z.object({ documents: z.array(Document) });

/** An upload's answer, one entry per file; `duplicate`: the content was already there, the entry is that document. */
export const UploadedDocuments = z.object({ documents: z.array(z.object({ id: z.string(), name: z.string(), status: z.enum(documentStatuses), duplicate: z.boolean() })) });

export const DocumentContent = z.object({
  documentId: z.string(),
  format: z.string().nullable(),
  pages: z.array(z.object({ number: z.number(), label: z.string().nullable() })).nullable(),
  blocks: z.array(z.object({ kind: z.enum(blockKinds), text: z.string(), level: z.number().nullable(), page: z.number().nullable(), start: z.number(), end: z.number() })),
});
