import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createApp } from './app.ts';
import { cryptoRandom, systemClock, type Clock, type Random } from './clock.ts';
import type { Config } from './config.ts';
import { openEmbeddings } from './embeddings/provider.ts';
import { LocalEventBus } from './events/bus.ts';
import { DiskBlobStore } from './files/disk.ts';
import { confirmDataKey, rotateCommand } from './crypto/key-record.ts';
import { EventStreams } from './http/sse.ts';
import { openParser } from './ingest/isolate.ts';
import { ocrAvailable } from './ingest/ocr.ts';
import type { Logger } from './logger.ts';
import { migrate } from './migrations.ts';
import { Readiness } from './ops/health.ts';
import type { Lifecycle } from './ops/lifecycle.ts';
import { EmbeddedQueue } from './queue/embedded.ts';
import { openSearchIndex } from './search/open.ts';
import { openLlms } from './llm/provider.ts';
import type { LlmEngine } from './llm/llm.ts';
import { createServices } from './services.ts';
import { scheduleRetention } from './retention/retention.ts';
import { openScanner, scannerCheck } from './scan/open.ts';
import { collections } from './db.ts';
import { memoryCounters } from './limits/counters.ts';
import { openRedisPorts } from './redis/open.ts';
import { newId } from './auth/tokens.ts';
import { openStore, sqliteFileOf } from './store/open.ts';
import { openSpeechEngines } from './speech/open-speech.ts';
import { openSpeechRouter } from './speech/router.ts';
import { loadSileroVadModel, type SileroVadModel } from './speech/vad.ts';
import type { RealtimeSpeech } from './realtime/session.ts';
import type { RealtimeDeps } from './realtime/server.ts';

export interface ApplianceOptions {
  clock?: Clock;
  random?: Random;
  webRoot?: string;
  /** A local LLM engine to use instead of looking in MODELS_DIR (tests drive the agent through the whole stack with it). */
  localLlm?: LlmEngine | null;
  /** Delay before the first retention purge (tests run it at once); then it runs daily. */
  retentionFirstRunMs?: number;
}

const SESSION_PURGE_INTERVAL_MS = 60 * 60 * 1000;
/** The retention purge runs a minute after start (not in the rush of starting), then daily. */
const RETENTION_FIRST_RUN_MS = 60_000;
const RETENTION_INTERVAL_MS = 24 * 60 * 60 * 1000;

/**
 * Everything between configuration and a listening socket: store → search → engines → services →
 * app, each resource registering its shutdown step (run in reverse). `main.ts` and the tests
 * both start here.
 */
export async function createAppliance(config: Config, log: Logger, lifecycle: Lifecycle, options: ApplianceOptions = {}) {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? cryptoRandom;
  const readiness = new Readiness();

  const store = await openStore(config, log.child({ component: 'store' }));
  lifecycle.onShutdown('store', () => store.close());
  readiness.add({ name: 'store', kind: store.kind, check: async () => (await store.ping(), { state: 'ok' }) });
  // DATA_DIR must be encrypted under the configured data key (or not at all) before anything reads it.
  if (await confirmDataKey(collections(store, config.dataKeys).meta, config.dataKeys, clock.now().toISOString())) {
    log.info({ dataKey: config.dataKeys?.current.id }, `encryption at rest turned on; anything stored before stays readable, unencrypted, until \`${rotateCommand}\` seals it`);
  }

  const blobs = new DiskBlobStore(path.join(config.dataDir, 'files'), { keys: config.dataKeys });
  readiness.add({ name: 'files', kind: blobs.kind, check: async () => (await blobs.ping(), { state: 'ok' }) });
  // Infected originals move here, out of the files any route serves.
  const quarantine = new DiskBlobStore(path.join(config.dataDir, 'quarantine'), { keys: config.dataKeys });
  const scanner = openScanner(config);
  if (scanner) readiness.add(scannerCheck(scanner));

  const index = await openSearchIndex(config, log.child({ component: 'search' }), { storeFile: sqliteFileOf(store) });
  lifecycle.onShutdown('search index', () => index.close());
  // Null once the index agrees with the store; until then, what is being done about it.
  let reconciling: string | null = 'comparing with the store';
  readiness.add({
    name: 'search',
    kind: index.kind,
    check: async () => {
      await index.ping();
      const progress = index.progress();
      if (reconciling !== null) return { state: 'loading', message: reconciling };
      return progress.ready ? { state: 'ok' } : { state: 'loading', message: progress.message };
    },
  });

  const embeddings = await openEmbeddings(config, store, log.child({ component: 'embeddings' }));
  lifecycle.onShutdown('embeddings', () => embeddings.close());
  readiness.add({
    name: 'embeddings',
    kind: 'onnxruntime',
    check: async () => {
      const status = embeddings.status();
      // Missing model: search still works keyword-only, so the instance stays ready.
      return status.available ? { state: 'ok', message: status.model ?? '' } : { state: 'degraded', message: status.reason ?? 'no model' };
    },
  });

  const ocrLanguages = config.OCR_LANGUAGES.split('+');
  const ocr = config.OCR_ENABLED ? await ocrAvailable(ocrLanguages) : { ok: false, reason: 'OCR_ENABLED=false' };
  if (!ocr.ok) log.warn({ reason: ocr.reason }, 'OCR unavailable: scanned pages and images will fail with no_text');
  readiness.add({
    name: 'ocr',
    kind: 'tesseract.js',
    // Without OCR, text documents still work; scans fail with a reason. Degraded, not down.
    check: async () => (ocr.ok ? { state: 'ok', message: ocrLanguages.join('+') } : { state: 'degraded', message: ocr.reason ?? 'unavailable' }),
  });

  const llm = await openLlms(config, clock, log.child({ component: 'llm' }), options.localLlm !== undefined ? { local: options.localLlm } : undefined);
  lifecycle.onShutdown('llm', () => llm.close());
  readiness.add({
    name: 'llm',
    kind: [llm.local ? 'local' : null, llm.cloud ? llm.cloud.name : null].filter(Boolean).join('+') || 'none',
    // Without an LLM, answers are extractive: degraded, still ready.
    check: async () =>
      llm.local ? { state: 'ok', message: llm.local.model.id } : { state: 'degraded', message: llm.localReason ?? 'no local LLM' },
  });

  const speech = await openSpeech(config, log.child({ component: 'speech' }));
  // Cloud speech endpoints, if configured; each organisation's policy decides whether its sessions use them.
  const speechRouter = openSpeechRouter(config, speech, log.child({ component: 'speech' }), clock);
  lifecycle.onShutdown('speech', async () => {
    await Promise.allSettled([speech.vad?.close(), speech.stt?.close(), speech.tts?.close(), speechRouter.close()]);
  });
  readiness.add({
    name: 'voice',
    kind: [speech.vad ? 'silero' : null, speech.stt ? speech.stt.model.id : null, speech.tts ? speech.tts.voice.id : null].filter(Boolean).join('+') || 'none',
    // Voice is an extra on top of text: missing parts degrade it, they never make the instance unready.
    check: async () => {
      const missing = [speech.vad ? null : speech.vadReason, speech.stt ? null : speech.sttReason, speech.tts ? null : speech.ttsReason].filter(Boolean);
      return missing.length ? { state: 'degraded', message: missing.join('; ') } : { state: 'ok' };
    },
  });

  const parser = openParser({ concurrency: config.INGEST_CONCURRENCY });
  lifecycle.onShutdown('parser', () => parser.close());

  const db = collections(store, config.dataKeys);
  const queue = new EmbeddedQueue({ jobs: db.jobs, clock, log: log.child({ component: 'queue' }), newId: () => newId(random), concurrency: config.INGEST_CONCURRENCY });
  readiness.add({
    name: 'queue',
    kind: queue.kind,
    check: async () => {
      const c = await queue.counts();
      return { state: 'ok', message: `${c.pending} pending, ${c.running} running, ${c.failed} failed` };
    },
  });

  // With REDIS_URL, rate limits, the login throttle, live events and revocation notices are shared
  // by every process on that Redis; without, they stay in this one.
  const redis = config.REDIS_URL ? await openRedisPorts({ ...config, REDIS_URL: config.REDIS_URL }, log.child({ component: 'redis' })) : null;
  if (redis) {
    // Steps run in reverse: Redis closes after the queue and the listener stop, before the store.
    lifecycle.onShutdown('redis', () => redis.close());
    readiness.add(redis.check);
  }
  log.info({ bus: redis ? 'redis' : 'local', counters: redis ? 'redis' : 'memory', revocations: redis ? 'redis' : 'local', loginThrottle: redis ? 'redis' : 'memory' }, 'shared state ports chosen');
  const bus = redis?.bus ?? new LocalEventBus();
  const counters = redis?.counters ?? memoryCounters;
  const services = createServices({
    config,
    log,
    clock,
    random,
    store,
    index,
    blobs,
    quarantine,
    scanner,
    queue,
    bus,
    embeddings: () => embeddings.engine(),
    embeddingsStatus: () => embeddings.status(),
    parse: (input, limits, onProgress, signal) => parser.parse(input, limits, onProgress, signal),
    llm,
    counters,
    ...(redis ? { revocations: redis.revocations, throttle: redis.throttle, codeThrottle: redis.codeThrottle } : {}),
  });
  const ran = await migrate(store, services.db, clock, log);
  log.info({ store: store.kind, migrations: ran }, 'store ready');

  // The server answers while the index catches up with the store; searches and index writes wait for it.
  const searchReady = services.sync.reconcile((message) => (reconciling = message)).then(
    () => void (reconciling = null),
    (err: unknown) => {
      reconciling = 'could not be brought up to date with the store; see the log';
      log.error({ err }, 'search index reconciliation failed');
    },
  );
  services.pipeline.register(queue);
  const requeued = await services.documents.requeueUnfinished();
  if (requeued > 0) log.info({ documents: requeued }, 'unfinished documents queued again');
  await queue.start();
  // Registered after the store's step, so it runs before it: running jobs stop while the store is open.
  lifecycle.onShutdown('job queue', () => queue.stop());

  const purge = setInterval(() => {
    services.sessions.purgeExpired().then(
      (n) => n > 0 && log.info({ purged: n }, 'expired sessions removed'),
      (err: unknown) => log.warn({ err }, 'session purge failed'),
    );
  }, SESSION_PURGE_INTERVAL_MS);
  purge.unref();
  lifecycle.onShutdown('session purge', () => clearInterval(purge));
  // Registered after the store's step, so they stop (between batches) before the store closes.
  const retention = scheduleRetention(services.retention, { firstRunMs: options.retentionFirstRunMs ?? RETENTION_FIRST_RUN_MS, intervalMs: RETENTION_INTERVAL_MS, log: log.child({ component: 'retention' }) });
  lifecycle.onShutdown('retention purge', () => retention.stop());
  lifecycle.onShutdown('organisation deletions', () => services.organisationDeletions.stop());
  // A deletion cut short by a restart goes on once the index agrees with the store (it deletes from both).
  void searchReady.then(async () => {
    const resumed = await services.organisationDeletions.resume();
    if (resumed > 0) log.info({ organisations: resumed }, 'unfinished organisation deletions resumed');
  }).catch((err: unknown) => log.error({ err }, 'could not resume organisation deletions'));

  const streams = new EventStreams({ bus, revocations: services.revocations, credentialHolds: (principal) => services.auth.holds(principal) });
  const { app, openapi } = createApp({
    config,
    log,
    clock,
    services,
    readiness,
    streams,
    blobs,
    llm,
    embeddingEngine: () => embeddings.engine(),
    ...(options.webRoot ? { webRoot: options.webRoot } : {}),
  });
  const realtime: RealtimeDeps = {
    auth: services.auth,
    revocations: services.revocations,
    clientSecrets: services.clientSecrets,
    kbs: services.kbs,
    conversations: services.conversations,
    answers: services.answers,
    speech,
    speechFor: async (acting) => {
      const { llmPolicy } = await services.organisations.settings(acting.principal.organisationId);
      // A spoken answer is synthesised sentence by sentence: one entry per role and minute of a
      // session says that voice data left the box without an entry per sentence.
      const audited = new Map<string, number>();
      return speechRouter.engines(llmPolicy, {
        onUse: (use) => {
          if (!use.sentToCloud) return;
          const now = clock.now().getTime();
          if (now - (audited.get(use.role) ?? -Infinity) < 60_000) return;
          audited.set(use.role, now);
          void services.audit
            .recordFor(acting, { action: 'speech.cloud', outcome: 'success', target: null, details: { role: use.role, engine: use.engine, ...(use.fallback ? { fallback: use.fallback } : {}) } })
            .catch((err: unknown) => log.warn({ err }, 'could not audit a cloud speech call'));
        },
      });
    },
    minSpeechMs: config.VAD_MIN_SPEECH_MS,
    log,
    random,
    publicUrl: config.PUBLIC_URL,
    limits: { resumeMs: config.REALTIME_RESUME_SECONDS * 1000, maxSessions: config.REALTIME_MAX_SESSIONS },
    rateLimits: services.limits,
  };
  /** Settles once the search index agrees with the store and is in memory (tests wait for it; the server does not). */
  const ready = searchReady.then(async () => {
    while (!index.progress().ready) await new Promise((resolve) => setTimeout(resolve, 20));
  });
  return { app, openapi, services, store, readiness, streams, queue, index, llm, speech, realtime, ready };
}

/** One VAD model and one set of speech engines serve every realtime session; missing ones come with a reason. */
async function openSpeech(config: Config, log: Logger): Promise<RealtimeSpeech> {
  let vad: SileroVadModel | null = null;
  let vadReason: string | undefined;
  try {
    vad = await loadSileroVadModel();
  } catch (err) {
    vadReason = `the Silero VAD model could not be loaded: ${err instanceof Error ? err.message : String(err)}`;
    log.warn({ reason: vadReason }, 'no voice activity detection');
  }
  const engines = await openSpeechEngines({ modelsDir: config.modelsDir, espeakDataDir: config.espeakDataDir, log, ...(config.STT_MODEL ? { stt: config.STT_MODEL } : {}), ...(config.TTS_MODEL ? { tts: config.TTS_MODEL } : {}) });
  return { vad, vadReason, ...engines };
}

/**
 * Listens and registers the graceful stop: stop accepting, end long-lived streams, let in-flight
 * requests finish (idle keep-alive sockets are closed at once), and cut what is still open after
 * the timeout. The stop runs before every other shutdown step, even when the listener was opened
 * before the parts it serves (main.ts listens first, so /healthz answers while they open).
 */
export async function listen(
  handler: http.RequestListener,
  options: { port: number; host: string; shutdownTimeoutMs: number; readiness: Pick<Readiness, 'drain'>; onClose?: () => void },
  lifecycle: Lifecycle,
): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer({ requestTimeout: 5 * 60_000, headersTimeout: 30_000 }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  lifecycle.onShutdown(
    'http',
    async () => {
      options.readiness.drain();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      options.onClose?.();
      // Keep-alive sockets turn idle as their last response ends; close each as soon as it does.
      const sweep = setInterval(() => server.closeIdleConnections(), 25);
      const timer = setTimeout(() => server.closeAllConnections(), options.shutdownTimeoutMs);
      await closed;
      clearInterval(sweep);
      clearTimeout(timer);
    },
    { first: true },
  );
  return { server, port: (server.address() as AddressInfo).port };
}
