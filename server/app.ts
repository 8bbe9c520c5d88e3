import path from 'node:path';
import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import { apiKeyRoutes } from './api-keys/routes.ts';
import { auditRoutes } from './audit/routes.ts';
import { authenticate, csrfGuard, type CookiePolicy } from './auth/middleware.ts';
import { authRoutes } from './auth/routes.ts';
import { totpRoutes } from './auth/totp-routes.ts';
import type { Config } from './config.ts';
import { errors } from './errors.ts';
import type { AppState } from './http/context.ts';
import { docsCss, renderDocsPage } from './http/docs-page.ts';
import { errorHandler, liveness, requestContext, securityHeaders } from './http/middleware.ts';
import { buildOpenApi } from './http/openapi.ts';
import { mount } from './http/route.ts';
import { serveConsole } from './http/static.ts';
import type { Logger } from './logger.ts';
import type { Readiness } from './ops/health.ts';
import { organisationRoutes } from './organisations/routes.ts';
import type { Services } from './services.ts';
import { userRoutes } from './users/routes.ts';
import { kbRoutes } from './kb/routes.ts';
import { documentRoutes } from './documents/routes.ts';
import { installedLanguages } from './ingest/ocr/languages.ts';
import type { EventStreams } from './http/sse.ts';
import type { BlobStore } from './files/files.ts';
import type { Clock } from './clock.ts';
import { conversationRoutes } from './conversations/routes.ts';
import type { EmbeddingEngine } from './embeddings/embeddings.ts';
import type { LlmProvider } from './llm/provider.ts';
import { openAiOperations, openAiRouter } from './openai/routes.ts';
import { settingsRoutes } from './organisations/settings-routes.ts';
import { exportRoutes } from './export/routes.ts';
import { retentionDefaults } from './retention/policy.ts';
import { systemRoutes, type RoleInUse } from './system/routes.ts';
import { backupRoutes } from './backup/routes.ts';
import type { BackupService } from './backup/service.ts';
import { usageRoutes } from './usage/routes.ts';
import { realtimeRoutes } from './realtime/routes.ts';
import type { RealtimeSpeech } from './realtime/session.ts';
import { httpMetrics, metricsEndpoint } from './metrics/http.ts';
import type { PrometheusMetrics } from './metrics/prometheus.ts';
import type { ModelDownloads } from './models/downloads.ts';
import { traceRequests } from './tracing/http.ts';
import { VERSION } from './version.ts';

export interface AppDeps {
  config: Config;
  log: Logger;
  services: Services;
  readiness: Readiness;
  streams: EventStreams;
  blobs: BlobStore;
  clock: Clock;
  llm: LlmProvider;
  embeddingEngine: () => EmbeddingEngine | null;
  /** The process's metrics: requests are timed into it, and /metrics serves it. */
  metrics: Pick<PrometheusMetrics, 'recorder' | 'scrape' | 'history'>;
  /** The voice engines realtime sessions use, for what /system/models says of them; none in tests that build the app alone. */
  speech?: RealtimeSpeech;
  /** Built-in backups (server/backup/); absent in apps built without them. */
  backups?: BackupService;
  /** Model downloads started from the System page. */
  downloads: ModelDownloads;
  /** The built console; `web/dist` of the repository unless a test says otherwise. */
  webRoot?: string;
}

const API_BASE = '/api/v1';
const repoRoot = path.resolve(import.meta.dirname, '..');

const isApiPath = (p: string) => p === '/api' || p.startsWith('/api/') || p.startsWith('/v1/') || p === '/healthz' || p === '/readyz' || p === '/metrics';

/** Builds the Koa application. It does not listen: `main.ts` does, and tests use port 0. */
export function createApp({ config, log, services, readiness, streams, blobs, clock, llm, embeddingEngine, metrics, speech, backups, downloads, webRoot = path.join(repoRoot, 'web', 'dist') }: AppDeps) {
  // Koa reads the client address from the right of X-Forwarded-For, at most this many entries in:
  // the rightmost ones were appended by our own proxies, anything further left by the client.
  const app = new Koa<AppState>({ proxy: config.TRUST_PROXY > 0, maxIpsCount: config.TRUST_PROXY });
  // Koa would print errors itself; the error handler has already logged them with the request id.
  app.silent = true;
  const cookies: CookiePolicy = { forceSecure: config.PUBLIC_URL?.startsWith('https:') ?? false };

  const routes = [
    ...authRoutes(services.auth, cookies),
    ...totpRoutes(services.auth, services.twoFactor),
    ...userRoutes(services.users),
    ...apiKeyRoutes(services.apiKeys),
    ...organisationRoutes(services.organisations, services.users, services.organisationDeletions),
    ...exportRoutes(services.exports),
    ...auditRoutes(services.audit),
    ...kbRoutes({
      audit: services.audit,
      conversations: services.conversations,
      kbs: services.kbs,
      documents: services.documents,
      search: services.search,
      embeddingsStatus: () => services.search.embeddingsStatus(),
      embeddingModel: config.EMBEDDING_MODEL,
      ocrLanguages: { default: config.OCR_LANGUAGES.split('+'), installed: () => installedLanguages() },
    }),
    ...documentRoutes({
      audit: services.audit,
      kbs: services.kbs,
      documents: services.documents,
      blobs,
      streams,
      upload: { maxFileBytes: config.UPLOAD_MAX_FILE_MB * 1024 * 1024, maxFiles: config.UPLOAD_MAX_FILES },
    }),
    ...conversationRoutes({ answers: services.answers, conversations: services.conversations, audit: services.audit }),
    ...usageRoutes(services.ledger, clock, services.limits),
    ...settingsRoutes(services.organisations, () => ({
      local: { installed: llm.local !== null, model: llm.local?.model.id ?? null, reason: llm.localReason },
      cloud: {
        configured: llm.cloud !== null,
        name: llm.cloud?.name ?? null,
        model: llm.cloud?.model.id ?? null,
        host: config.CLOUD_LLM_URL ? new URL(config.CLOUD_LLM_URL).host : null,
      },
    }), services.limits, retentionDefaults(config)),
    ...realtimeRoutes({ secrets: services.clientSecrets, kbs: services.kbs }),
    ...systemRoutes({ dataDir: config.dataDir, modelsDir: config.modelsDir, manifestPath: config.manifestPath, inUse: () => modelsInUse(llm, services, speech), readiness, history: metrics.history, downloads }),
    ...(backups ? backupRoutes(backups) : []),
  ];
  const openapi = buildOpenApi(routes, { version: VERSION, basePath: API_BASE, external: openAiOperations });
  const docsHtml = renderDocsPage(openapi);

  const api = new Router<AppState>({ prefix: API_BASE });
  api.use(csrfGuard(config.PUBLIC_URL));
  // DELETE too: deleting an organisation is confirmed by its name in the body.
  const parseJson = bodyParser({ enableTypes: ['json'], jsonLimit: config.BODY_LIMIT, jsonStrict: true, encoding: 'utf-8', parsedMethods: ['POST', 'PUT', 'PATCH', 'DELETE'] });
  const resolvePrincipal = authenticate(services.auth, cookies);
  api.use(parseJson);
  api.use(resolvePrincipal);
  api.get('/openapi.json', (ctx) => {
    ctx.body = openapi;
  });
  mount(api, routes, { limits: services.limits });

  // The OpenAI-compatible API authenticates by API key only, so it needs no CSRF guard.
  const compat = openAiRouter({
    before: [parseJson, resolvePrincipal],
    answers: services.answers,
    kbs: services.kbs,
    organisations: services.organisations,
    gateway: llm.router,
    localModels: () => (llm.local ? [llm.local.model.id] : []),
    embeddings: embeddingEngine,
    clock,
    limits: services.limits,
  });

  const ops = new Router<AppState>();
  ops.get('/readyz', async (ctx) => {
    const report = await readiness.report();
    ctx.set('cache-control', 'no-store');
    ctx.status = report.status === 'ready' ? 200 : 503;
    // The component inventory (engines, model names, queue counts) is for the operator: a probe on
    // the host itself, or the instance owner through /api/v1/system/health. Anyone else learns
    // only whether to send traffic.
    ctx.body = fromThisHost(ctx) ? report : { status: report.status };
  });
  ops.get('/metrics', metricsEndpoint({ token: config.METRICS_TOKEN, fromThisHost, scrape: () => metrics.scrape() }));
  ops.get('/api/docs', (ctx) => {
    ctx.type = 'html';
    ctx.body = docsHtml;
  });
  ops.get('/api/docs.css', (ctx) => {
    ctx.type = 'css';
    ctx.body = docsCss;
  });

  app.use(liveness());
  // Outermost, so the request's log line is written inside its span and carries its trace id.
  if (config.OTEL_EXPORTER_OTLP_ENDPOINT) app.use(traceRequests((p) => (isApiPath(p) ? 'unmatched' : 'console')));
  // Probes and Prometheus' scrapes come every few seconds, and the console's files with every page:
  // at info they would bury the requests that matter. Failures are logged whatever the path.
  app.use(requestContext(log, { quiet: (ctx) => ctx.status < 400 && (ctx.path === '/healthz' || ctx.path === '/readyz' || ctx.path === '/metrics' || !isApiPath(ctx.path)) }));
  app.use(httpMetrics(metrics.recorder.http, (p) => (isApiPath(p) ? 'unmatched' : 'console')));
  app.use(errorHandler({ bodyLimit: config.BODY_LIMIT }));
  app.use(securityHeaders());
  app.use(async (ctx, next) => {
    await next();
    // Runs after the routers and allowedMethods had their say, so 405 still wins over 404.
    if (ctx.status === 404 && ctx.body == null && isApiPath(ctx.path)) throw errors.notFound('endpoint');
  });
  app.use(ops.routes());
  app.use(api.routes());
  app.use(api.allowedMethods({ throw: true }));
  app.use(compat.routes());
  app.use(compat.allowedMethods({ throw: true }));
  app.use(serveConsole(webRoot, isApiPath));
  return { app, openapi };
}

/** A request from this machine that no proxy forwarded (a proxy on the host would connect from loopback too). */
function fromThisHost(ctx: { req: { socket: { remoteAddress?: string | undefined }; headers: Record<string, unknown> } }): boolean {
  const address = ctx.req.socket.remoteAddress ?? '';
  const loopback = address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
  return loopback && ctx.req.headers['x-forwarded-for'] === undefined && ctx.req.headers['forwarded'] === undefined;
}

function modelsInUse(llm: LlmProvider, services: Services, speech: RealtimeSpeech | undefined): RoleInUse {
  const embeddings = services.search.embeddingsStatus();
  return {
    llm: llm.local
      ? { using: `local:${llm.local.model.id}`, note: llm.cloud ? `cloud fallback ${llm.cloud.name} where an organisation's policy allows it` : 'local only' }
      : { using: llm.cloud?.name ?? null, note: `${llm.localReason ?? 'no local LLM'}; answers are extractive (quoted passages)${llm.cloud ? ` unless a policy allows ${llm.cloud.name}` : ''}` },
    embeddings: embeddings.available ? { using: embeddings.model, note: 'hybrid search' } : { using: null, note: `${embeddings.reason ?? 'no embedding model'}; search is keyword-only` },
    stt: speech?.stt
      ? { using: `${speech.stt.kind}:${speech.stt.model.id}`, note: speech.stt.model.streaming ? 'voice input, transcribed as it is spoken' : 'voice input, transcribed per utterance' }
      : { using: null, note: `${speech?.sttReason ?? 'no speech-to-text model'}; voice input is unavailable` },
    tts: speech?.tts
      ? { using: `${speech.tts.kind}:${speech.tts.voice.id}`, note: speech.ttsReason ?? 'spoken answers' }
      : { using: null, note: speech?.ttsReason ?? 'no voice; answers are text only' },
    vad: speech?.vad
      ? { using: 'local:silero-vad-v5', note: 'hands-free turns: detects the end of speech' }
      : { using: null, note: `${speech?.vadReason ?? 'no voice activity detection'}; voice turns are push-to-talk only` },
  };
}
