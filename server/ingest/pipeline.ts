import type { Clock } from '../clock.ts';
import type { DocumentDoc, DocumentService, DocumentStage } from '../documents/documents.ts';
import { INGEST_JOB } from '../documents/documents.ts';
import type { EmbeddingEngine } from '../embeddings/embeddings.ts';
import type { BlobStore } from '../files/files.ts';
import type { KbDoc } from '../kb/knowledge-bases.ts';
import type { Logger } from '../logger.ts';
import type { Job, JobContext, JobQueue } from '../queue/queue.ts';
import type { Collection } from '../store/store.ts';
import { tenantCollection } from '../store/tenant.ts';
import type { ChunkDoc, SearchSync } from '../search/sync.ts';
import { encodeVector } from '../embeddings/vectors.ts';
import { approximateTokens, chunkDocument, positionBlocks } from './chunker.ts';
import { IngestError, type ParseLimits, type ParsedDocument, type ParseProgress, type ParseStage } from './types.ts';

export type ParseFn = (input: { bytes: Uint8Array; filename: string }, limits: ParseLimits, onProgress: ParseProgress, signal: AbortSignal) => Promise<ParsedDocument>;

export interface IngestPayload {
  documentId: string;
  organisationId: string;
}

export interface PipelineDeps {
  documents: DocumentService;
  kbs: Collection<KbDoc>;
  blobs: BlobStore;
  sync: SearchSync;
  parse: ParseFn;
  limits: ParseLimits;
  /** The embedding engine, or null when no model is installed (chunks are then keyword-only). */
  embeddings: () => EmbeddingEngine | null;
  clock: Clock;
  log: Logger;
}

// Where each stage sits on the document's single 0..1 progress bar. OCR, when needed, dominates.
const SPAN: Record<Exclude<DocumentStage, 'queued' | 'ready' | 'failed'>, [number, number]> = {
  parsing: [0.02, 0.3],
  ocr: [0.05, 0.55],
  chunking: [0.55, 0.6],
  embedding: [0.6, 0.92],
  indexing: [0.92, 0.99],
};
const PROGRESS_INTERVAL_MS = 250;
const EMBED_BATCH = 32;

interface ProgressReporter {
  stage(stage: keyof typeof SPAN, fraction: number): Promise<void>;
  stop(): void;
}

/** Turns a queued document into indexed chunks: parse (isolated) → chunk → embed → index. */
export class IngestPipeline {
  readonly #d: PipelineDeps;

  constructor(deps: PipelineDeps) {
    this.#d = deps;
  }

  register(queue: JobQueue): void {
    queue.handle<IngestPayload>(INGEST_JOB, (job, ctx) => this.run(job, ctx), {
      onFailed: async (job, err) => {
        const code = err instanceof IngestError ? err.code : 'internal';
        const message = err instanceof IngestError ? err.message : 'Processing failed repeatedly; the details are in the server log.';
        await this.#d.documents.update(job.payload.organisationId, job.payload.documentId, { status: 'failed', stage: 'failed', error: { code, message } });
      },
    });
  }

  async run(job: Job<IngestPayload>, { signal }: JobContext): Promise<void> {
    const { organisationId, documentId } = job.payload;
    const log = this.#d.log.child({ documentId, attempt: job.attempt });
    const doc = await this.#d.documents.find(organisationId, documentId);
    if (!doc) return; // deleted while queued
    const kb = await tenantCollection(this.#d.kbs, organisationId).findOne({ _id: doc.kbId });
    if (!kb) return;
    const started = performance.now();
    const progress = this.#progressReporter(doc);
    try {
      await progress.stage('parsing', 0);
      const bytes = await this.#d.blobs.read(doc.sha256);
      const onParse: ParseProgress = (stage: ParseStage, fraction: number) => void progress.stage(stage, fraction);
      const parsed = await this.#d.parse({ bytes, filename: doc.name }, this.#d.limits, onParse, signal);
      await this.#index(doc, kb, parsed, progress, signal, log);
      log.info({ ms: Math.round(performance.now() - started), format: parsed.format }, 'document ready');
    } catch (err) {
      if (signal.aborted) throw err;
      if (err instanceof IngestError && !err.retryable) {
        log.info({ code: err.code, reason: err.message }, 'document failed');
        await this.#d.documents.update(organisationId, documentId, { status: 'failed', stage: 'failed', error: { code: err.code, message: err.message } });
        return;
      }
      // Transient or unexpected: the queue retries with backoff, then calls onFailed.
      log.warn({ err }, 'document processing failed');
      throw err;
    } finally {
      progress.stop();
    }
  }

  async #index(doc: DocumentDoc, kb: KbDoc, parsed: ParsedDocument, progress: ProgressReporter, signal: AbortSignal, log: Logger): Promise<void> {
    const { text, blocks } = positionBlocks(parsed.blocks);
    if (text.trim().length === 0) throw new IngestError('no_text', 'No text could be extracted from this file.');
    await this.#d.documents.saveText({ _id: doc._id, organisationId: doc.organisationId, kbId: doc.kbId, pages: parsed.pages ?? null, blocks });

    await progress.stage('chunking', 0);
    const engine = this.#d.embeddings();
    const chunks = chunkDocument(parsed, {
      chunkSize: kb.settings.chunkSize,
      chunkOverlap: kb.settings.chunkOverlap,
      countTokens: engine ? (t) => engine.countTokens(t) : approximateTokens,
    });

    const vectors: Array<Float32Array | null> = chunks.map(() => null);
    if (engine) {
      await progress.stage('embedding', 0);
      for (let i = 0; i < chunks.length; i += EMBED_BATCH) {
        signal.throwIfAborted();
        const batch = chunks.slice(i, i + EMBED_BATCH);
        const embedded = await engine.embedDocuments(batch.map((c) => [...c.headings, c.text].join('\n')), signal);
        embedded.forEach((v, j) => (vectors[i + j] = v));
        await progress.stage('embedding', Math.min(1, (i + batch.length) / chunks.length));
      }
    } else if (chunks.length > 0) {
      log.debug('no embedding model: chunks are keyword-only');
    }

    await progress.stage('indexing', 0);
    signal.throwIfAborted();
    const chunkDocs: ChunkDoc[] = chunks.map((c, i) => ({
      _id: `${doc._id}-${c.index}`,
      organisationId: doc.organisationId,
      kbId: doc.kbId,
      documentId: doc._id,
      documentName: doc.name,
      index: c.index,
      text: c.text,
      headings: c.headings,
      page: c.page,
      pageEnd: c.pageEnd,
      pages: c.pages,
      start: c.start,
      end: c.end,
      tokens: c.tokens,
      vector: vectors[i] ? encodeVector(vectors[i]) : null,
      embeddingModel: vectors[i] ? (engine?.model.id ?? null) : null,
    }));
    await this.#d.sync.replaceDocument({ organisationId: doc.organisationId, documentId: doc._id }, chunkDocs);
    progress.stop();
    await this.#d.documents.update(doc.organisationId, doc._id, {
      status: 'ready',
      stage: 'ready',
      progress: 1,
      error: null,
      mimeType: parsed.mimeType,
      format: parsed.format,
      encoding: parsed.encoding ?? null,
      pages: parsed.pages?.length ?? null,
      chunks: chunkDocs.length,
      ocr: parsed.pages?.some((p) => p.ocr) ?? parsed.format === 'image',
      warnings: parsed.warnings,
    });
  }

  /** Writes stage changes at once and progress within a stage at most every 250 ms. */
  #progressReporter(doc: DocumentDoc): ProgressReporter {
    let lastWrite = 0;
    let current: DocumentStage = doc.stage;
    let stopped = false;
    const update = (stage: DocumentStage, progress: number) =>
      this.#d.documents.update(doc.organisationId, doc._id, { status: 'processing', stage, progress: Math.round(progress * 1000) / 1000 });
    return {
      stage: async (stage: keyof typeof SPAN, fraction: number) => {
        if (stopped) return;
        const now = this.#d.clock.now().getTime();
        if (stage === current && now - lastWrite < PROGRESS_INTERVAL_MS) return;
        const [from, to] = SPAN[stage];
        current = stage;
        lastWrite = now;
        await update(stage, from + (to - from) * Math.max(0, Math.min(1, fraction)));
      },
      stop: () => {
        stopped = true;
      },
    };
  }
}
