import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { BlobStore } from '../files/files.ts';
import type { AuditLog } from '../audit/audit.ts';
import { actingOf, principalOf } from '../http/context.ts';
import { idParam, route } from '../http/route.ts';
import type { EventStreams } from '../http/sse.ts';
import type { KnowledgeBaseService } from '../kb/knowledge-bases.ts';
import { kbTopic, presentDocument, type DocumentDoc, type DocumentService, type UploadedFile } from './documents.ts';
import { Document, DocumentContent, DocumentList, UploadedDocuments } from './schema.ts';
import { readUpload, type UploadLimits } from './upload.ts';

const tag = 'Documents';
const kbParams = z.object({ kbId: idParam });
const docParams = z.object({ kbId: idParam, docId: idParam });
const audited = (doc: DocumentDoc) => ({ type: 'document' as const, id: doc._id, name: doc.name });

export interface DocumentRouteDeps {
  audit: AuditLog;
  kbs: KnowledgeBaseService;
  documents: DocumentService;
  blobs: BlobStore;
  streams: EventStreams;
  upload: UploadLimits;
}

export function documentRoutes(d: DocumentRouteDeps) {
  return [
    route({
      method: 'post',
      path: '/kbs/:kbId/documents',
      summary: 'Upload documents (multipart/form-data, field `files`, repeatable); processing continues in the background',
      tag,
      access: 'editor',
      // Counted per file, once the request has been read: one request may carry many.
      limit: { name: 'uploads', perItem: true },
      params: kbParams,
      multipart: { field: 'files', description: 'One or more files of any supported type (PDF, DOCX, HTML, Markdown, text, PNG/JPEG); the type is decided by content.' },
      status: 202,
      responses: {
        202: {
          description: 'Accepted; one entry per file. `duplicate` marks content already in this knowledge base (the entry is the existing document).',
          schema: UploadedDocuments,
        },
        413: { description: 'A file is over the size limit (`too_large`) or too many files (`too_many_files`)' },
        415: { description: 'Not multipart/form-data' },
      },
      handler: async (ctx, { params, count }) => {
        const principal = principalOf(ctx);
        await d.kbs.get(principal.organisationId, params.kbId);
        const discard = (stored: readonly UploadedFile[]) => d.documents.discardUnused(stored.map((f) => f.blob.sha256));
        const files = await readUpload(ctx, d.blobs, d.upload, discard);
        await count(files.length).catch(async (err: unknown) => {
          await discard(files);
          throw err;
        });
        const added = await d.documents.add(principal.organisationId, params.kbId, files, principal.userId ?? principal.apiKeyId);
        // One entry per document created, so each can be found by its target; duplicates created nothing.
        for (const { doc } of added.filter((a) => !a.duplicate)) await d.audit.recordFor(actingOf(ctx), { action: 'document.create', target: audited(doc), details: { kbId: doc.kbId, size: doc.size } });
        return { documents: added.map(({ doc, duplicate }) => ({ id: doc._id, name: doc.name, status: doc.status, duplicate })) };
      },
    }),
    route({
      method: 'get',
      path: '/kbs/:kbId/documents',
      summary: 'Documents of a knowledge base with their processing state',
      tag,
      access: 'viewer',
      params: kbParams,
      responses: { 200: { description: 'Documents, newest first', schema: DocumentList } },
      handler: async (ctx, { params }) => {
        const organisationId = principalOf(ctx).organisationId;
        await d.kbs.get(organisationId, params.kbId);
        return { documents: (await d.documents.list(organisationId, params.kbId)).map(presentDocument) };
      },
    }),
    route({
      method: 'get',
      path: '/kbs/:kbId/documents/:docId',
      summary: 'One document with its stage, progress and failure reason',
      tag,
      access: 'viewer',
      params: docParams,
      responses: { 200: { description: 'The document', schema: Document }, 404: { description: 'No such document' } },
      handler: async (ctx, { params }) => presentDocument(await d.documents.get(principalOf(ctx).organisationId, params.kbId, params.docId)),
    }),
    route({
      method: 'delete',
      path: '/kbs/:kbId/documents/:docId',
      summary: 'Delete a document, its chunks and (when no other document shares it) its original',
      tag,
      access: 'editor',
      params: docParams,
      status: 204,
      responses: { 204: { description: 'Deleted' }, 404: { description: 'No such document' } },
      handler: async (ctx, { params }) => {
        const doc = await d.documents.get(principalOf(ctx).organisationId, params.kbId, params.docId);
        // Recorded before the rows go: removing them forgets the document's name, in this entry too.
        await d.audit.recordFor(actingOf(ctx), { action: 'document.delete', target: audited(doc), details: { kbId: doc.kbId } });
        await d.documents.remove(principalOf(ctx).organisationId, params.kbId, params.docId);
      },
    }),
    route({
      method: 'post',
      path: '/kbs/:kbId/documents/:docId/reprocess',
      summary: 'Process a document again (after a failure, or to apply new settings)',
      tag,
      access: 'editor',
      params: docParams,
      status: 202,
      responses: { 202: { description: 'Queued', schema: Document } },
      handler: async (ctx, { params }) => {
        const doc = await d.documents.reprocess(principalOf(ctx).organisationId, params.kbId, params.docId);
        await d.audit.recordFor(actingOf(ctx), { action: 'document.reprocess', target: audited(doc), details: { kbId: doc.kbId } });
        return presentDocument(doc);
      },
    }),
    route({
      method: 'get',
      path: '/kbs/:kbId/documents/:docId/file',
      summary: 'The original file as uploaded',
      tag,
      access: 'viewer',
      params: docParams,
      responses: {
        200: { description: 'The bytes, as an attachment' },
        409: { description: 'Quarantined by the malware scanner (`quarantined`), or, with scanning on, not scanned clean yet (`not_scanned`)' },
      },
      handler: async (ctx, { params }) => {
        const { doc, stream } = await d.documents.openFile(principalOf(ctx).organisationId, params.kbId, params.docId);
        // Every download is recorded (no window, unlike views): each is a copy leaving the appliance.
        await d.audit.recordFor(actingOf(ctx), { action: 'document.download', target: audited(doc), details: { kbId: doc.kbId, size: doc.size } }).catch((err: unknown) => {
          (stream as Readable).destroy();
          throw err;
        });
        ctx.set('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(doc.name)}`);
        // Served as an opaque download: never rendered inline on our origin, whatever it contains.
        ctx.type = doc.status === 'ready' ? doc.mimeType : 'application/octet-stream';
        ctx.set('x-content-type-options', 'nosniff');
        ctx.set('content-security-policy', "default-src 'none'; sandbox");
        ctx.length = doc.size;
        return stream;
      },
    }),
    route({
      method: 'get',
      path: '/kbs/:kbId/documents/:docId/content',
      summary: 'The extracted text, block by block with page numbers and character offsets',
      tag,
      access: 'viewer',
      params: docParams,
      responses: {
        200: {
          description: 'Blocks in reading order; offsets index the blocks joined by a blank line',
          schema: DocumentContent,
        },
        409: { description: 'Not processed yet (`conflict`)' },
      },
      handler: async (ctx, { params }) => {
        const organisationId = principalOf(ctx).organisationId;
        const doc = await d.documents.get(organisationId, params.kbId, params.docId);
        const text = await d.documents.content(organisationId, params.kbId, params.docId);
        await d.audit.recordViewFor(actingOf(ctx), { action: 'document.view', target: audited(doc), details: { kbId: doc.kbId } });
        return {
          documentId: doc._id,
          format: doc.format,
          pages: text.pages?.map((p) => ({ number: p.number, label: p.label ?? null })) ?? null,
          blocks: text.blocks.map((b) => ({ kind: b.kind, text: b.text, level: b.level ?? null, page: b.page ?? null, start: b.start, end: b.end })),
        };
      },
    }),
    route({
      method: 'get',
      path: '/kbs/:kbId/events',
      summary: 'Live document updates (server-sent events: `document` with the document, `deleted` with its id)',
      tag,
      access: 'viewer',
      params: kbParams,
      responses: { 200: { description: 'text/event-stream' } },
      handler: async (ctx, { params }) => {
        const organisationId = principalOf(ctx).organisationId;
        await d.kbs.get(organisationId, params.kbId);
        return d.streams.open(ctx, kbTopic(organisationId, params.kbId));
      },
    }),
  ];
}
