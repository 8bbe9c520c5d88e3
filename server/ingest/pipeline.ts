import type { AuditLog } from '../audit/audit.ts';
import type { Clock } from '../clock.ts';
import type { DocumentDoc, DocumentService, DocumentStage } from '../documents/documents.ts';
import { INGEST_JOB } from '../documents/documents.ts';
import type { EmbeddingEngine } from '../embeddings/embeddings.ts';
import type { BlobStore } from '../files/files.ts';
import type { KbDoc } from '../kb/knowledge-bases.ts';
import type { Logger } from '../logger.ts';
import type { IngestMetrics } from '../metrics/recorder.ts';
import type { Job, JobContext, JobQueue } from '../queue/queue.ts';
import type { Collection } from '../store/store.ts';
import { tenantCollection } from '../store/tenant.ts';
import type { ChunkDoc, SearchSync } from '../search/sync.ts';
import { encodeVector } from '../embeddings/vectors.ts';
import { ScanError, ScannerUnavailableError, type MalwareScanner, type ScanVerdict } from '../scan/scanner.ts';
import { approximateTokens, chunkDocument, positionBlocks } from './chunker.ts';
import { IngestError, type ParseInput, type ParseLimits, type ParsedDocument, type ParseProgress, type ParseStage } from './types.ts';
import { pastSpan } from '../tracing/spans.ts';

export type ParseFn = (input: ParseInput, limits: ParseLimits, onProgress: ParseProgress, signal: AbortSignal) => Promise<ParsedDocument>;

export interface IngestPayload {
  documentId: string;
  organisationId: string;
  /** How many times this document went back to the queue because the malware scanner was unreachable. */
  scannerWaits?: number;
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
  /** Scans every original before it is parsed; null when CLAMAV_URL is not set (no scanning). */
  scanner: MalwareScanner | null;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  metrics: IngestMetrics;
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
// While the malware scanner is unreachable a document waits, however long that is: once the
// queue's own retries have run out, the document is queued again, each time further out (the
// delay doubling, up to 5 minutes), and the queue's retries start over from there.
const SCANNER_RETRY_FIRST_MS = 2_000;
const SCANNER_RETRY_MAX_MS = 5 * 60_000;
const SCANNER_WAITING = 'Waiting for the malware scanner, which is not reachable; the file is processed once it answers.';

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
        if (err instanceof ScannerUnavailableError) {
          // Never parsed unscanned, never failed for the scanner's absence: back to the queue.
          const scannerWaits = (job.payload.scannerWaits ?? 0) + 1;
          const delayMs = Math.min(SCANNER_RETRY_MAX_MS, SCANNER_RETRY_FIRST_MS * 2 ** Math.min(30, job.maxAttempts + scannerWaits - 2));
          await queue.enqueue<IngestPayload>(INGEST_JOB, { ...job.payload, scannerWaits }, { jobId: job.id, maxAttempts: job.maxAttempts, delayMs });
          return;
        }
        const code = err instanceof IngestError ? err.code : 'internal';
        const message = err instanceof IngestError ? err.message : 'Processing failed repeatedly; the details are in the server log.';
        await this.#d.documents.update(job.payload.organisationId, job.payload.documentId, { status: 'failed', stage: 'failed', error: { code, message }, statusMessage: null });
        this.#d.metrics.document('failed', 0);
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
    if (this.#d.scanner && !(await this.#scan(doc, this.#d.scanner, signal, log))) return;
    const started = performance.now();
    const progress = this.#progressReporter(doc);
    try {
      await progress.stage('parsing', 0);
      const onParse: ParseProgress = (stage: ParseStage, fraction: number) => void progress.stage(stage, fraction);
      // Streamed, not read whole: text is parsed as it is read, and stops at the text limit.
      const stream = () => this.#d.blobs.stream(doc.sha256);
      // Scans are read in the knowledge base's languages when it chose some, else the server's (OCR_LANGUAGES).
      const limits = kb.settings.ocrLanguages ? { ...this.#d.limits, ocrLanguages: kb.settings.ocrLanguages } : this.#d.limits;
      const parsed = await this.#d.parse({ filename: doc.name, size: doc.size, stream }, limits, onParse, signal);
      await this.#index(doc, kb, parsed, progress, signal, log);
      log.info({ ms: Math.round(performance.now() - started), format: parsed.format }, 'document ready');
    } catch (err) {
      if (signal.aborted) throw err;
      if (err instanceof IngestError && !err.retryable) {
        log.info({ code: err.code, reason: err.message }, 'document failed');
        await this.#d.documents.update(organisationId, documentId, { status: 'failed', stage: 'failed', error: { code: err.code, message: err.message }, statusMessage: null });
        this.#d.metrics.document('failed', 0);
        return;
      }
      // Transient or unexpected: the queue retries with backoff, then calls onFailed.
      log.warn({ err }, 'document processing failed');
      throw err;
    } finally {
      progress.stop();
    }
  }

  /**
   * Streams the original to the malware scanner before anything parses it. True when it is clean;
   * false when the document ended here (infected: quarantined; too large to scan: failed). An
   * unreachable scanner leaves the document queued and throws, so the queue tries again later.
   */
  async #scan(doc: DocumentDoc, scanner: MalwareScanner, signal: AbortSignal, log: Logger): Promise<boolean> {
    const { organisationId, _id: documentId } = doc;
    let verdict: ScanVerdict;
    try {
      verdict = await scanner.scan(await this.#d.blobs.stream(doc.sha256), signal);
    } catch (err) {
      if (signal.aborted) throw err;
      if (err instanceof ScannerUnavailableError) {
        log.warn({ scanner: scanner.address, reason: err.message }, 'malware scanner unreachable; the document waits in the queue');
        await this.#d.documents.update(organisationId, documentId, { status: 'queued', stage: 'queued', progress: 0, statusMessage: SCANNER_WAITING });
        throw err;
      }
      if (err instanceof ScanError) throw new IngestError('scan_failed', `The malware scanner could not scan this file (${err.message}); it was not processed.`, { retryable: true, cause: err });
      throw err;
    }
    const at = this.#d.clock.now().toISOString();
    if (verdict.outcome === 'clean') {
      await this.#d.documents.update(organisationId, documentId, { scan: { result: 'clean', signature: null, at }, statusMessage: null });
      return true;
    }
    if (verdict.outcome === 'too_large') {
      log.info({ size: doc.size }, 'document too large for the malware scanner');
      const message = 'This file is larger than the malware scanner accepts (clamd\'s StreamMaxLength), so it was not processed.';
      await this.#d.documents.update(organisationId, documentId, { status: 'failed', stage: 'failed', error: { code: 'too_large_to_scan', message }, statusMessage: null });
      return false;
    }
    log.warn({ signature: verdict.signature, sha256: doc.sha256 }, 'malware found; the original is quarantined');
    if (!(await this.#d.documents.quarantine(organisationId, documentId, verdict.signature))) return false;
    await this.#d.audit.record({
      organisationId,
      action: 'document.quarantine',
      actor: { type: 'system', id: null, name: `malware scanner (${scanner.kind})` },
      target: { type: 'document', id: documentId, name: doc.name },
      details: { kbId: doc.kbId, signature: verdict.signature, sha256: doc.sha256, uploadedBy: doc.uploadedBy },
    });
    return false;
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
      statusMessage: null,
      mimeType: parsed.mimeType,
      format: parsed.format,
      encoding: parsed.encoding ?? null,
      pages: parsed.pages?.length ?? null,
      chunks: chunkDocs.length,
      ocr: parsed.pages?.some((p) => p.ocr) ?? parsed.format === 'image',
      warnings: parsed.warnings,
    });
    this.#d.metrics.document('ready', parsed.pages?.length ?? 0);
  }

  /** Writes stage changes at once and progress within a stage at most every 250 ms. */
  #progressReporter(doc: DocumentDoc): ProgressReporter {
    let lastWrite = 0;
    let current: DocumentStage = doc.stage;
    let stopped = false;
    // Each stage's time, from when this run entered it to when it entered the next (or ended).
    let timed: { stage: string; since: number } | null = null;
    const timeStage = (next: string | null) => {
      const now = performance.now();
      if (timed) {
        this.#d.metrics.stage(timed.stage, (now - timed.since) / 1000);
        pastSpan(`ingest ${timed.stage}`, now - timed.since, { 'lectern.document.id': doc._id, 'lectern.kb.id': doc.kbId });
      }
      timed = next === null ? null : { stage: next, since: now };
    };
    const update = (stage: DocumentStage, progress: number) =>
      this.#d.documents.update(doc.organisationId, doc._id, { status: 'processing', stage, progress: Math.round(progress * 1000) / 1000 });
    return {
      stage: async (stage: keyof typeof SPAN, fraction: number) => {
        if (stopped) return;
        if (stage !== timed?.stage) timeStage(stage);
        const now = this.#d.clock.now().getTime();
        if (stage === current && now - lastWrite < PROGRESS_INTERVAL_MS) return;
        const [from, to] = SPAN[stage];
        current = stage;
        lastWrite = now;
        await update(stage, from + (to - from) * Math.max(0, Math.min(1, fraction)));
      },
      stop: () => {
        if (!stopped) timeStage(null);
        stopped = true;
      },
    };
  }
}
