import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { cryptoRandom, systemClock, type Clock, type Random } from './clock.ts';
import type { Config } from './config.ts';
import { EventStreams } from './http/sse.ts';
import type { Logger } from './logger.ts';
import { migrate } from './migrations.ts';
import { Readiness } from './ops/health.ts';
import type { Lifecycle } from './ops/lifecycle.ts';
import type { LlmEngine } from './llm/llm.ts';
import { openEngines } from './ports/engines.ts';
import { openPorts, openQueue } from './ports/open.ts';
import { PortRegistry } from './ports/registry.ts';
import { createServices } from './services.ts';
import { scheduleRetention } from './retention/retention.ts';
import type { RealtimeDeps } from './realtime/server.ts';
import { openPrometheusMetrics } from './metrics/prometheus.ts';
import { openBackups } from './backup/open.ts';
import { timedQueue } from './queue/timed.ts';
import { ModelDownloads } from './models/downloads.ts';
import { openTracing } from './tracing/open.ts';
import { VERSION } from './version.ts';

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
 * Everything between configuration and a listening socket: ports → engines → queue → services →
 * app, each opened through the port registry, which registers its readiness check and shutdown
 * step (run in reverse). `main.ts` and the tests both start here.
 */
export async function createAppliance(config: Config, log: Logger, lifecycle: Lifecycle, options: ApplianceOptions = {}) {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? cryptoRandom;
  const readiness = new Readiness();
  const registry = new PortRegistry({ lifecycle, readiness, log: log.child({ component: 'ports' }) });
  // First opened, last closed: the spans of everything shutting down still reach the collector.
  await registry.open('tracing', () => {
    const tracing = openTracing({ endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: config.OTEL_SERVICE_NAME, version: VERSION, log: log.child({ component: 'tracing' }) });
    return { port: tracing, kind: tracing.url ? 'otlp-http' : 'off', close: () => tracing.close() };
  });
  // One registry per appliance: what the domains record, served at /metrics.
  const metrics = await registry.open('metrics', () => ({ port: openPrometheusMetrics({ clock }), kind: 'prometheus' }));
  const ports = await openPorts({ config, log, clock, random, registry });
  const { store, index } = ports;
  const { embeddings, llm, speech, speechRouter, parser } = await openEngines({ config, log, clock, registry, store, localLlm: options.localLlm });
  const queue = await openQueue({ config, log, clock, random, registry }, ports);

  const services = createServices({
    config,
    log,
    clock,
    random,
    store,
    index,
    blobs: ports.blobs,
    quarantine: ports.quarantine,
    scanner: ports.scanner,
    queue,
    bus: ports.bus,
    embeddings: () => embeddings.engine(),
    embeddingsStatus: () => embeddings.status(),
    parse: (input, limits, onProgress, signal) => parser.parse(input, limits, onProgress, signal),
    llm,
    counters: ports.limits.counters,
    revocations: ports.revocations,
    throttle: ports.limits.throttle,
    codeThrottle: ports.limits.codeThrottle,
    metrics: metrics.recorder,
  });
  const ran = await migrate(store, services.db, clock, log);
  log.info({ store: store.kind, migrations: ran }, 'store ready');
  // Listening beyond loopback before setup: whoever arrives first must not claim the box.
  const setupToken = await services.auth.issueSetupToken(random);
  if (setupToken) log.warn(`setup token ${setupToken}: HOST ${config.HOST} is reachable from other machines, so first-run setup asks for this one-time token (enter it on the console's setup page). It is printed only here and stops working once setup is done; set SETUP_TOKEN_FILE to choose your own`);

  // The server answers while the index catches up with the store; searches and index writes wait for it.
  const searchReady = services.sync.reconcile((message) => ports.searchReconciling(message)).then(
    () => ports.searchReconciling(null),
    (err: unknown) => {
      ports.searchReconciling('could not be brought up to date with the store; see the log');
      log.error({ err }, 'search index reconciliation failed');
    },
  );
  services.pipeline.register(timedQueue(queue, metrics.recorder.jobs));
  // Read when Prometheus scrapes, from the parts that own them.
  metrics.watch({ queue: () => queue.counts(), engines: () => llm.router.status(), readiness: () => readiness.report(), dataDir: config.dataDir });
  // Opened after the store, so its schedule stops (a running backup finishing) before the store closes.
  const backups = await openBackups({ config, log, clock, store, registry });
  metrics.watch({ backups: async () => backups.health() });
  const requeued = await services.documents.requeueUnfinished();
  if (requeued > 0) log.info({ documents: requeued }, 'unfinished documents queued again');
  await queue.start();

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

  const downloads = new ModelDownloads({ modelsDir: config.modelsDir, manifestPath: config.manifestPath, mirrorUrl: config.MODELS_MIRROR_URL, clock, log: log.child({ component: 'models' }) });
  const streams = new EventStreams({ bus: ports.bus, revocations: services.revocations, credentialHolds: (principal) => services.auth.holds(principal) });
  const { app, openapi } = createApp({
    config,
    log,
    clock,
    services,
    readiness,
    streams,
    blobs: ports.blobs,
    llm,
    embeddingEngine: () => embeddings.engine(),
    metrics,
    speech,
    backups,
    downloads,
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
    voiceAnswerSeconds: async (organisationId) => (await services.organisations.settings(organisationId)).voice.answerSeconds,
    minSpeechMs: config.VAD_MIN_SPEECH_MS,
    turnDetection: config.REALTIME_TURN_DETECTION,
    log,
    random,
    publicUrl: config.PUBLIC_URL,
    limits: { resumeMs: config.REALTIME_RESUME_SECONDS * 1000, maxSessions: config.REALTIME_MAX_SESSIONS },
    rateLimits: services.limits,
    detachedSessions: ports.detachedSessions,
    metrics: metrics.recorder.voice,
  };
  /** Settles once the search index agrees with the store and is in memory (tests wait for it; the server does not). */
  const ready = searchReady.then(async () => {
    while (!index.progress().ready) await new Promise((resolve) => setTimeout(resolve, 20));
  });
  return { app, openapi, services, store, readiness, streams, queue, index, llm, speech, realtime, ready, metrics };
}

/**
 * Listens and registers the graceful stop: stop accepting, end long-lived streams, let in-flight
 * requests finish (idle keep-alive sockets are closed at once), and cut what is still open after
 * the timeout. The stop runs before every other shutdown step, even when the listener was opened
 * before the parts it serves (main.ts listens first, so /healthz answers while they open).
 */
export async function listen(
  handler: http.RequestListener,
  options: { port: number; host: string; shutdownTimeoutMs: number; readiness: Pick<Readiness, 'drain'>; onClose?: () => Promise<void> | void },
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
      // Keep-alive sockets turn idle as their last response ends; close each as soon as it does.
      const sweep = setInterval(() => server.closeIdleConnections(), 25);
      const timer = setTimeout(() => server.closeAllConnections(), options.shutdownTimeoutMs);
      // Awaited here, so long-lived sessions are wound down (and kept for resuming) while the ports
      // they write to are still open: this step runs before every other.
      await Promise.all([closed, options.onClose?.()]);
      clearInterval(sweep);
      clearTimeout(timer);
    },
    { first: true },
  );
  return { server, port: (server.address() as AddressInfo).port };
}
