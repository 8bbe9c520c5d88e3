// The metrics port: what the domains record, in their own words. They depend on these small
// interfaces, never on prom-client, so a domain stays testable without a registry and the
// Prometheus names live in one file (prometheus.ts). `noMetrics` records nothing.

/** Engine kinds as the usage ledger names them; the label of every LLM metric. */
export type EngineKind = 'local' | 'cloud' | 'extractive';

export interface HttpMetrics {
  /** One finished request: `route` is the pattern that matched (`/api/v1/kbs/:kbId`), never the raw path. */
  request(method: string, route: string, status: number, seconds: number): void;
}

export interface JobMetrics {
  /** One run of a job handler, from taking it to its outcome. */
  finished(type: string, outcome: 'done' | 'failed' | 'aborted', seconds: number): void;
}

export interface IngestMetrics {
  /** Time spent in one pipeline stage of one document (parsing, ocr, chunking, embedding, indexing). */
  stage(stage: string, seconds: number): void;
  /** A document that reached `ready` (with its page count, when it has pages) or failed for good. */
  document(outcome: 'ready' | 'failed', pages: number): void;
}

export interface SearchMetrics {
  /** One knowledge-base search in the mode it actually ran (keyword, semantic, hybrid). */
  search(mode: string, seconds: number): void;
}

export interface LlmMetrics {
  /** One answer: its engine kind, time to first token, tokens generated and generation time. */
  generation(engine: EngineKind, firstTokenSeconds: number | null, completionTokens: number, totalSeconds: number): void;
  /** One answer from a cloud engine, with its estimated cost (in the currency of the price table). */
  cloudCall(engine: string, cost: number): void;
}

export interface VoiceMetrics {
  sessionOpened(): void;
  sessionClosed(): void;
  /** One spoken turn's latencies from the end of speech, in ms (null: that step did not happen). */
  turn(latency: { transcriptMs: number | null; firstTokenMs: number | null; firstAudioMs: number | null }): void;
}

/**
 * What backups report. The backup scheduler calls `lastSuccess` after each backup written (and at
 * start, with the newest backup it finds), and `drill` after each restore drill.
 */
export interface BackupMetrics {
  lastSuccess(at: Date): void;
  drill(ok: boolean, at: Date): void;
}

/** Every recorder, one bag handed to whoever does the work. */
export interface MetricsRecorder {
  http: HttpMetrics;
  jobs: JobMetrics;
  ingest: IngestMetrics;
  search: SearchMetrics;
  llm: LlmMetrics;
  voice: VoiceMetrics;
  backups: BackupMetrics;
}

const nothing = () => {};

/** Records nothing: for code run outside a server (tests, operator commands). */
export const noMetrics: MetricsRecorder = {
  http: { request: nothing },
  jobs: { finished: nothing },
  ingest: { stage: nothing, document: nothing },
  search: { search: nothing },
  llm: { generation: nothing, cloudCall: nothing },
  voice: { sessionOpened: nothing, sessionClosed: nothing, turn: nothing },
  backups: { lastSuccess: nothing, drill: nothing },
};
