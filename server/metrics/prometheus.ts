import { statfs } from 'node:fs/promises';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { systemClock, type Clock } from '../clock.ts';
import { MetricsHistory } from './history.ts';
import type { MetricsRecorder } from './recorder.ts';

// The Prometheus side of the metrics port: one registry per appliance (two test servers in one
// process count apart), every metric named `lectern_<what>_<unit>`, labels from small fixed sets
// (route patterns, stages, modes, engine kinds), never paths or ids. Values that already live
// elsewhere (queue depth, breaker states, readiness, free disk) are read when Prometheus scrapes,
// so they cannot go stale between scrapes.

/** What is read at scrape time; each comes from the part that owns it, attached once it exists. */
export interface MetricSources {
  queue?: () => Promise<{ pending: number; running: number; failed: number }>;
  /** One entry per LLM engine with its circuit breaker's state. */
  engines?: () => ReadonlyArray<{ name: string; kind: string; breaker: { state: 'closed' | 'open' | 'half-open' } }>;
  readiness?: () => Promise<{ status: string; components: ReadonlyArray<{ name: string; state: string }> }>;
  /** The folder whose file system's free space is reported (DATA_DIR). */
  dataDir?: string;
  /**
   * The last backup and drill as the backup service keeps them (in the store, so every process
   * reports the same). When set it wins over what was pushed through `recorder.backups`.
   */
  backups?: () => Promise<{ lastSuccessAt: Date | null; lastDrill: { ok: boolean; at: Date } | null }>;
}

export interface PrometheusMetrics {
  registry: Registry;
  /** What the domains record into: Prometheus, and the last day's history for the console. */
  recorder: MetricsRecorder;
  history: MetricsHistory;
  /** Adds what is read at scrape time (the queue, the engines…), as the parts it reads from open. */
  watch(sources: MetricSources): void;
  /** The exposition in Prometheus text format 0.0.4, with its content type. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

const PREFIX = 'lectern_';
const BREAKER_STATES = ['closed', 'half-open', 'open'] as const;
// Seconds: requests, searches and first tokens are sub-second to a few seconds; jobs and stages
// run from milliseconds (a text file) to many minutes (OCR of a long scan).
const FAST = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SLOW = [0.05, 0.25, 1, 2.5, 5, 15, 30, 60, 120, 300, 900, 1800];
const VOICE = [0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];

export function openPrometheusMetrics(parts: { clock: Clock } = { clock: systemClock }): PrometheusMetrics {
  const registry = new Registry();
  const registers = [registry];
  // Process CPU, memory, GC, handles and event-loop lag (lectern_nodejs_eventloop_lag_seconds).
  collectDefaultMetrics({ register: registry, prefix: PREFIX });

  const sources: MetricSources = {};

  const http = new Histogram({
    name: `${PREFIX}http_request_duration_seconds`,
    help: 'HTTP requests by method, route pattern and status: duration until the response was written.',
    labelNames: ['method', 'route', 'status'],
    buckets: FAST,
    registers,
  });
  const jobs = new Histogram({ name: `${PREFIX}queue_job_duration_seconds`, help: 'Background job runs by type and outcome.', labelNames: ['type', 'outcome'], buckets: SLOW, registers });
  new Gauge({
    name: `${PREFIX}queue_jobs`,
    help: 'Jobs in the queue by state (pending, running, failed), read at scrape time.',
    labelNames: ['state'],
    registers,
    async collect() {
      // A store that cannot answer is /readyz's to report; the scrape still succeeds without it.
      const counts = await sources.queue?.().catch(() => null);
      if (!counts) return;
      for (const state of ['pending', 'running', 'failed'] as const) this.set({ state }, counts[state]);
    },
  });
  const stages = new Histogram({ name: `${PREFIX}ingest_stage_duration_seconds`, help: 'Time one document spent in each ingestion stage.', labelNames: ['stage'], buckets: SLOW, registers });
  const documents = new Counter({ name: `${PREFIX}ingest_documents_total`, help: 'Documents ingested (ready) or failed for good.', labelNames: ['outcome'], registers });
  const pages = new Counter({ name: `${PREFIX}ingest_pages_total`, help: 'Pages of ingested documents (formats with pages).', registers });
  const search = new Histogram({ name: `${PREFIX}search_duration_seconds`, help: 'Knowledge-base searches by the mode they ran in.', labelNames: ['mode'], buckets: FAST, registers });
  const firstToken = new Histogram({ name: `${PREFIX}llm_first_token_seconds`, help: 'Answers: time from the request to the first generated token, by engine kind.', labelNames: ['engine'], buckets: FAST, registers });
  const tokens = new Counter({ name: `${PREFIX}llm_tokens_generated_total`, help: 'Completion tokens generated, by engine kind.', labelNames: ['engine'], registers });
  const tokenRate = new Histogram({
    name: `${PREFIX}llm_tokens_per_second`,
    help: 'Answers: completion tokens per second of generation, by engine kind.',
    labelNames: ['engine'],
    buckets: [1, 2, 5, 10, 20, 40, 80, 160],
    registers,
  });
  const cloudCalls = new Counter({ name: `${PREFIX}cloud_llm_calls_total`, help: 'Answers generated by a cloud engine, by engine name.', labelNames: ['engine'], registers });
  const cloudCost = new Counter({
    name: `${PREFIX}cloud_llm_cost_total`,
    help: 'Estimated cost of cloud answers, in the currency of CLOUD_LLM_PRICE_INPUT_PER_MTOK / _OUTPUT_PER_MTOK.',
    labelNames: ['engine'],
    registers,
  });
  new Gauge({
    name: `${PREFIX}llm_breaker_state`,
    help: 'Circuit breaker of each LLM engine: 1 for the state it is in (closed, half-open, open), else 0.',
    labelNames: ['engine', 'kind', 'state'],
    registers,
    collect() {
      this.reset();
      for (const engine of sources.engines?.() ?? []) {
        for (const state of BREAKER_STATES) this.set({ engine: engine.name, kind: engine.kind, state }, engine.breaker.state === state ? 1 : 0);
      }
    },
  });
  const sessions = new Gauge({ name: `${PREFIX}realtime_sessions`, help: 'Realtime (voice) sessions open on this process.', registers });
  const voice = new Histogram({
    name: `${PREFIX}voice_turn_latency_seconds`,
    help: 'Spoken turns: time from the end of speech to the transcript, the first token and the first audio.',
    labelNames: ['phase'],
    buckets: VOICE,
    registers,
  });
  // The three backup gauges are collected side by side in one scrape: they share one read.
  let backupRead: { at: number; read: Promise<Awaited<ReturnType<NonNullable<MetricSources['backups']>>> | null> } | null = null;
  const readBackups = () => {
    if (!sources.backups) return null;
    if (!backupRead || performance.now() - backupRead.at > 1_000) backupRead = { at: performance.now(), read: sources.backups().catch(() => null) };
    return backupRead.read;
  };
  const backupSuccess = new Gauge({
    name: `${PREFIX}backup_last_success_timestamp_seconds`,
    help: 'When the last backup was written (Unix time); 0: none yet.',
    registers,
    async collect() {
      const read = await readBackups();
      if (read) this.set(read.lastSuccessAt ? read.lastSuccessAt.getTime() / 1000 : 0);
    },
  });
  const drillAt = new Gauge({
    name: `${PREFIX}backup_drill_timestamp_seconds`,
    help: 'When the last restore drill ran (Unix time); 0: none yet.',
    registers,
    async collect() {
      const read = await readBackups();
      if (read) this.set(read.lastDrill ? read.lastDrill.at.getTime() / 1000 : 0);
    },
  });
  const drillOk = new Gauge({
    name: `${PREFIX}backup_drill_success`,
    help: 'Whether the last restore drill passed (1) or failed (0); 0 before the first drill too (see its timestamp).',
    registers,
    async collect() {
      const read = await readBackups();
      if (read) this.set(read.lastDrill?.ok ? 1 : 0);
    },
  });
  new Gauge({
    name: `${PREFIX}ready`,
    help: 'Whether /readyz would answer 200 (1) or not (0), read at scrape time.',
    registers,
    async collect() {
      if (sources.readiness) this.set((await sources.readiness()).status === 'ready' ? 1 : 0);
    },
  });
  const disk = { free: 0, size: 0 };
  const readDisk = async () => {
    if (!sources.dataDir) return;
    const fs = await statfs(sources.dataDir).catch(() => null);
    if (!fs) return;
    // bavail: what an unprivileged process (Lectern) may still write.
    disk.free = fs.bavail * fs.bsize;
    disk.size = fs.blocks * fs.bsize;
  };
  new Gauge({
    name: `${PREFIX}data_dir_free_bytes`,
    help: 'Free space on the file system holding DATA_DIR, for Lectern (blocks available to unprivileged users).',
    registers,
    async collect() {
      await readDisk();
      this.set(disk.free);
    },
  });
  new Gauge({
    name: `${PREFIX}data_dir_size_bytes`,
    help: 'Size of the file system holding DATA_DIR.',
    registers,
    async collect() {
      await readDisk();
      this.set(disk.size);
    },
  });

  const seconds = (ms: number | null) => (ms === null ? null : ms / 1000);
  const recorder: MetricsRecorder = {
    http: { request: (method, route, status, s) => http.observe({ method, route, status: String(status) }, s) },
    jobs: { finished: (type, outcome, s) => jobs.observe({ type, outcome }, s) },
    ingest: {
      stage: (stage, s) => stages.observe({ stage }, s),
      document: (outcome, n) => {
        documents.inc({ outcome });
        if (n > 0) pages.inc(n);
      },
    },
    search: { search: (mode, s) => search.observe({ mode }, s) },
    llm: {
      generation: (engine, firstTokenS, completionTokens, totalS) => {
        if (firstTokenS !== null) firstToken.observe({ engine }, firstTokenS);
        tokens.inc({ engine }, completionTokens);
        // The rate of the generation proper: from the first token on, where there was one.
        const generating = totalS - (firstTokenS ?? 0);
        if (completionTokens > 1 && generating > 0) tokenRate.observe({ engine }, completionTokens / generating);
      },
      cloudCall: (engine, cost) => {
        cloudCalls.inc({ engine });
        cloudCost.inc({ engine }, cost);
      },
    },
    voice: {
      sessionOpened: () => sessions.inc(),
      sessionClosed: () => sessions.dec(),
      turn: ({ transcriptMs, firstTokenMs, firstAudioMs }) => {
        for (const [phase, ms] of [['transcript', transcriptMs], ['first_token', firstTokenMs], ['first_audio', firstAudioMs]] as const) {
          const s = seconds(ms);
          if (s !== null && s >= 0) voice.observe({ phase }, s);
        }
      },
    },
    backups: {
      lastSuccess: (at) => backupSuccess.set(at.getTime() / 1000),
      drill: (ok, at) => {
        drillOk.set(ok ? 1 : 0);
        drillAt.set(at.getTime() / 1000);
      },
    },
  };

  const history = new MetricsHistory({ clock: parts.clock });
  return {
    registry,
    recorder: history.wrap(recorder),
    history,
    watch: (more) => void Object.assign(sources, more),
    scrape: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}
