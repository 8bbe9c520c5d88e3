import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Clock, Random } from '../clock.ts';
import type { EventBus } from '../events/bus.ts';
import type { BlobInfo, BlobStore } from '../files/files.ts';
import type { Logger } from '../logger.ts';
import type { JobQueue } from '../queue/queue.ts';
import type { Collection } from '../store/store.ts';
import { isDuplicateKeyError } from '../store/store.ts';
import { tenantCollection } from '../store/tenant.ts';
import type { SearchSync } from '../search/sync.ts';
import { errors } from '../errors.ts';
import { newId } from '../auth/tokens.ts';
import type { IngestErrorCode, PageInfo } from '../ingest/types.ts';
import type { PositionedBlock } from '../ingest/chunker.ts';
import { joinTextParts, textParts } from './text-parts.ts';
import type { z } from 'zod';
import type { Document } from './schema.ts';

export const documentStages = ['queued', 'parsing', 'ocr', 'chunking', 'embedding', 'indexing', 'ready', 'failed'] as const;
export type DocumentStage = (typeof documentStages)[number];
export const documentStatuses = ['queued', 'processing', 'ready', 'failed'] as const;
export type DocumentStatus = (typeof documentStatuses)[number];

export interface DocumentDoc {
  _id: string;
  organisationId: string;
  kbId: string;
  name: string;
  mimeType: string;
  size: number;
  sha256: string;
  status: DocumentStatus;
  stage: DocumentStage;
  progress: number;
  error: { code: IngestErrorCode; message: string } | null;
  pages: number | null;
  chunks: number | null;
  format: string | null;
  encoding: string | null;
  ocr: boolean;
  warnings: string[];
  /** The malware scanner's verdict on the original; absent on records from before scanning existed. */
  scan?: DocumentScan | null;
  /** Why a queued document is not moving yet (e.g. waiting for the malware scanner); null otherwise. */
  statusMessage?: string | null;
  uploadedBy: string | null;
  createdAt: string;
  updatedAt: string;
}

// A type, not an interface: store updates take JSON values, and only type literals are known to be one.
/** An infected original is quarantined: moved out of the served files, never parsed, never served. */
export type DocumentScan = {
  result: 'clean' | 'infected';
  /** The signature the scanner named, for an infected file. */
  signature: string | null;
  at: string;
};

/** The extracted text of a document, block by block with offsets: what the document view shows. */
export interface DocumentTextDoc {
  _id: string;
  organisationId: string;
  kbId: string;
  pages: PageInfo[] | null;
  blocks: PositionedBlock[];
  /** As stored, a text is split in parts (see text-parts.ts): which document, and which part. */
  documentId?: string;
  part?: number;
}

export interface UploadedFile {
  name: string;
  declaredType: string;
  blob: BlobInfo;
}

export const INGEST_JOB = 'ingest';
export const ingestJobId = (documentId: string) => `ingest:${documentId}`;
export const kbTopic = (organisationId: string, kbId: string) => `kb:${organisationId}:${kbId}`;

export function presentDocument(d: DocumentDoc): z.input<typeof Document> {
  return {
    id: d._id,
    kbId: d.kbId,
    name: d.name,
    mimeType: d.mimeType,
    size: d.size,
    sha256: d.sha256,
    status: d.status,
    stage: d.stage,
    progress: d.progress,
    error: d.error,
    pages: d.pages,
    chunks: d.chunks,
    format: d.format,
    encoding: d.encoding,
    ocr: d.ocr,
    warnings: d.warnings,
    scan: d.scan ?? null,
    statusMessage: d.statusMessage ?? null,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

export interface DocumentServiceDeps {
  documents: Collection<DocumentDoc>;
  texts: Collection<DocumentTextDoc>;
  blobs: BlobStore;
  /** Where infected originals are moved: a blob store no route serves from. */
  quarantine: BlobStore;
  /** Whether uploads are scanned for malware: then only originals the scanner called clean are served. */
  malwareScanning: boolean;
  queue: JobQueue;
  bus: EventBus;
  sync: SearchSync;
  clock: Clock;
  random: Random;
  log: Logger;
  maxAttempts: number;
  /** What else holds a deleted document's words (answers that quoted it, entries that named it): told to forget it. */
  erasure: {
    forgetDocument(organisationId: string, kbId: string, documentId: string): Promise<void>;
    /** A whole knowledge base's documents: its conversations go with it, so only what outlives it forgets them. */
    forgetDocuments(organisationId: string, documentIds: readonly string[]): Promise<void>;
  };
}

/** Documents of knowledge bases: their records, originals, extracted text and processing state. */
export class DocumentService {
  readonly #d: DocumentServiceDeps;

  constructor(deps: DocumentServiceDeps) {
    this.#d = deps;
  }

  #scoped(organisationId: string): Collection<DocumentDoc> {
    return tenantCollection(this.#d.documents, organisationId);
  }

  #now(): string {
    return this.#d.clock.now().toISOString();
  }

  #publish(doc: DocumentDoc): void {
    this.#d.bus.publish(kbTopic(doc.organisationId, doc.kbId), 'document', presentDocument(doc));
  }

  async #enqueue(doc: DocumentDoc): Promise<void> {
    await this.#d.queue.enqueue(INGEST_JOB, { documentId: doc._id, organisationId: doc.organisationId }, { jobId: ingestJobId(doc._id), maxAttempts: this.#d.maxAttempts });
  }

  /** Stores an original without recording a document (for tools that bypass the HTTP upload). */
  blobsPut(source: AsyncIterable<Uint8Array>, maxBytes = Number.MAX_SAFE_INTEGER): Promise<BlobInfo> {
    return this.#d.blobs.put(source, { maxBytes });
  }

  /** Records each uploaded file and queues it; identical content already in the knowledge base is reported, not added. */
  async add(organisationId: string, kbId: string, files: UploadedFile[], uploadedBy: string | null): Promise<Array<{ doc: DocumentDoc; duplicate: boolean }>> {
    const results: Array<{ doc: DocumentDoc; duplicate: boolean }> = [];
    for (const [i, file] of files.entries()) {
      // Each file costs a few durable commits: let other requests (health checks, searches) in between files.
      if (i > 0) await nextTurn();
      const existing = await this.#scoped(organisationId).findOne({ kbId, sha256: file.blob.sha256 });
      if (existing) {
        // The upload just stored these bytes again; a quarantined file must not stay among the served ones.
        if (existing.scan?.result === 'infected') await this.#releaseBlob(existing.sha256);
        results.push({ doc: existing, duplicate: true });
        continue;
      }
      const now = this.#now();
      const doc: DocumentDoc = {
        _id: newId(this.#d.random),
        organisationId,
        kbId,
        name: file.name,
        mimeType: file.declaredType,
        size: file.blob.size,
        sha256: file.blob.sha256,
        status: 'queued',
        stage: 'queued',
        progress: 0,
        error: null,
        pages: null,
        chunks: null,
        format: null,
        encoding: null,
        ocr: false,
        warnings: [],
        scan: null,
        statusMessage: null,
        uploadedBy,
        createdAt: now,
        updatedAt: now,
      };
      try {
        await this.#scoped(organisationId).insertOne(doc);
      } catch (err) {
        // The same file twice in one request, or a concurrent upload of it.
        if (!isDuplicateKeyError(err)) throw err;
        const winner = await this.#scoped(organisationId).findOne({ kbId, sha256: file.blob.sha256 });
        if (winner) results.push({ doc: winner, duplicate: true });
        continue;
      }
      await this.#enqueue(doc);
      this.#publish(doc);
      results.push({ doc, duplicate: false });
    }
    return results;
  }

  async stats(organisationId: string, kbId: string): Promise<{ documents: number; ready: number; processing: number; failed: number; chunks: number }> {
    const docs = await this.#scoped(organisationId).find({ kbId }, { projection: { status: 1, chunks: 1 } }).toArray();
    const count = (status: DocumentStatus | DocumentStatus[]) => docs.filter((d) => ([] as DocumentStatus[]).concat(status).includes(d.status)).length;
    return {
      documents: docs.length,
      ready: count('ready'),
      processing: count(['queued', 'processing']),
      failed: count('failed'),
      chunks: docs.reduce((n, d) => n + (d.status === 'ready' ? (d.chunks ?? 0) : 0), 0),
    };
  }

  list(organisationId: string, kbId: string): Promise<DocumentDoc[]> {
    return this.#scoped(organisationId).find({ kbId }, { sort: { createdAt: -1, _id: 1 } }).toArray();
  }

  async get(organisationId: string, kbId: string, id: string): Promise<DocumentDoc> {
    const doc = await this.#scoped(organisationId).findOne({ _id: id, kbId });
    if (!doc) throw errors.notFound('document');
    return doc;
  }

  /** For the pipeline: the document regardless of knowledge base, or null once deleted. */
  find(organisationId: string, id: string): Promise<DocumentDoc | null> {
    return this.#scoped(organisationId).findOne({ _id: id });
  }

  async content(organisationId: string, kbId: string, id: string): Promise<DocumentTextDoc> {
    await this.get(organisationId, kbId, id);
    const texts = tenantCollection(this.#d.texts, organisationId);
    const first = await texts.findOne({ _id: id });
    if (!first) throw errors.conflict('This document has no extracted text yet.');
    return joinTextParts(first, await texts.find({ documentId: id, part: { $gt: 0 } }).toArray());
  }

  /** Stores a document's extracted text, part by part, in place of what an earlier run stored. */
  async saveText(text: DocumentTextDoc): Promise<void> {
    await this.#removeText(text.organisationId, text._id);
    for (const part of textParts(text)) await tenantCollection(this.#d.texts, text.organisationId).insertOne(part);
  }

  async #removeText(organisationId: string, id: string): Promise<void> {
    const texts = tenantCollection(this.#d.texts, organisationId);
    await texts.deleteMany({ documentId: id });
    await texts.deleteOne({ _id: id });
  }

  /** Applies a processing update and tells live listeners. Null when the document was deleted meanwhile. */
  async update(organisationId: string, id: string, changes: Partial<Omit<DocumentDoc, '_id' | 'organisationId' | 'kbId'>>): Promise<DocumentDoc | null> {
    const doc = await this.#scoped(organisationId).findOneAndUpdate({ _id: id }, { $set: { ...changes, updatedAt: this.#now() } }, { returnDocument: 'after' });
    if (doc) this.#publish(doc);
    return doc;
  }

  async reprocess(organisationId: string, kbId: string, id: string): Promise<DocumentDoc> {
    const existing = await this.get(organisationId, kbId, id);
    // Its original is out of reach of the pipeline: delete the document and upload the file again to rescan it.
    if (existing.scan?.result === 'infected') throw errors.quarantined(existing.scan.signature ?? 'malware');
    // A run in progress would finish with the old settings; stop it and start over.
    await this.#d.queue.cancel(ingestJobId(id));
    const doc = await this.update(organisationId, id, { status: 'queued', stage: 'queued', progress: 0, error: null });
    if (!doc) throw errors.notFound('document');
    await this.#enqueue(doc);
    return doc;
  }

  async reindexKb(organisationId: string, kbId: string): Promise<number> {
    const docs = (await this.list(organisationId, kbId)).filter((d) => d.scan?.result !== 'infected');
    for (const doc of docs) await this.reprocess(organisationId, kbId, doc._id);
    return docs.length;
  }

  async remove(organisationId: string, kbId: string, id: string): Promise<void> {
    const doc = await this.get(organisationId, kbId, id);
    await this.#d.queue.cancel(ingestJobId(id));
    await this.#d.sync.remove({ organisationId, documentId: id });
    // Out of the index first, so no new answer quotes it while earlier ones are rewritten.
    await this.#d.erasure.forgetDocument(organisationId, kbId, id);
    await this.#removeText(organisationId, id);
    await this.#scoped(organisationId).deleteOne({ _id: id });
    await this.#releaseBlob(doc.sha256);
    this.#d.bus.publish(kbTopic(organisationId, kbId), 'deleted', { id });
  }

  async removeKb(organisationId: string, kbId: string): Promise<void> {
    const docs = await this.list(organisationId, kbId);
    for (const doc of docs) await this.#d.queue.cancel(ingestJobId(doc._id));
    await this.#d.sync.remove({ organisationId, kbId });
    await tenantCollection(this.#d.texts, organisationId).deleteMany({ kbId });
    await this.#scoped(organisationId).deleteMany({ kbId });
    await this.#d.erasure.forgetDocuments(organisationId, docs.map((d) => d._id));
    for (const sha256 of new Set(docs.map((d) => d.sha256))) await this.#releaseBlob(sha256);
  }

  /**
   * Originals of a refused upload that no document refers to. (An upload of the same bytes running
   * at the same moment may not have recorded its document yet; it then fails with its original
   * missing rather than keep a file nobody asked to keep.)
   */
  async discardUnused(sha256s: readonly string[]): Promise<void> {
    for (const sha256 of new Set(sha256s)) await this.#releaseBlob(sha256);
  }

  /**
   * Originals are content-addressed and may be shared by documents in several knowledge bases: the
   * served copy goes once no document but quarantined ones refers to it, the quarantined copy once
   * no quarantined one does.
   */
  async #releaseBlob(sha256: string): Promise<void> {
    const left = await this.#d.documents.find({ sha256 }, { projection: { scan: 1 } }).toArray();
    const quarantined = left.filter((d) => d.scan?.result === 'infected').length;
    if (quarantined === left.length) await this.#d.blobs.delete(sha256);
    if (quarantined === 0) await this.#d.quarantine.delete(sha256);
  }

  /**
   * The scanner found `signature`: the document fails, whatever an earlier run extracted from it
   * goes, and its original moves to the quarantine (copied first, so a crash in between leaves it
   * in both places, never in neither). Null when the document was deleted meanwhile.
   */
  async quarantine(organisationId: string, id: string, signature: string): Promise<DocumentDoc | null> {
    const doc = await this.find(organisationId, id);
    if (!doc) return null;
    if (!(await this.#d.quarantine.has(doc.sha256))) {
      const copied = await this.#d.quarantine.put(bytesOf(await this.#d.blobs.stream(doc.sha256)), { maxBytes: Number.MAX_SAFE_INTEGER });
      if (copied.sha256 !== doc.sha256) throw new Error(`quarantine copy of ${doc.sha256} hashed to ${copied.sha256}`);
    }
    await this.#d.sync.remove({ organisationId, documentId: id });
    await this.#removeText(organisationId, id);
    const updated = await this.update(organisationId, id, {
      status: 'failed',
      stage: 'failed',
      progress: 0,
      error: { code: 'infected', message: `The malware scanner found ${signature}. The file was quarantined and not processed.` },
      scan: { result: 'infected', signature, at: this.#now() },
      statusMessage: null,
      chunks: null,
      pages: null,
    });
    await this.#releaseBlob(doc.sha256);
    return updated;
  }

  async openFile(organisationId: string, kbId: string, id: string): Promise<{ doc: DocumentDoc; stream: NodeJS.ReadableStream }> {
    const doc = await this.get(organisationId, kbId, id);
    if (doc.scan?.result === 'infected') throw errors.quarantined(doc.scan.signature ?? 'malware');
    if (this.#d.malwareScanning && doc.scan?.result !== 'clean') throw errors.notScanned();
    return { doc, stream: await this.#d.blobs.stream(doc.sha256) };
  }

  /** After a restart: documents whose job was never queued (a crash between record and enqueue) get one. */
  async requeueUnfinished(): Promise<number> {
    const stuck = await this.#d.documents.find({ status: { $in: ['queued', 'processing'] } }).toArray();
    for (const doc of stuck) await this.#enqueue(doc);
    return stuck.length;
  }
}

/** A file stream as the bytes a blob store takes. */
async function* bytesOf(stream: NodeJS.ReadableStream): AsyncIterable<Uint8Array> {
  for await (const chunk of stream) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}
