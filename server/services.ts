import { ApiKeyService } from './api-keys/api-keys.ts';
import { AuditLog } from './audit/audit.ts';
import { AuthService } from './auth/auth.ts';
import type { Revocations } from './auth/revocation.ts';
import { SessionService } from './auth/sessions.ts';
import type { LoginThrottle } from './auth/throttle.ts';
import { LoginChallenges } from './auth/login-challenges.ts';
import { TwoFactorService } from './auth/two-factor.ts';
import type { Clock, Random } from './clock.ts';
import type { Config } from './config.ts';
import { collections } from './db.ts';
import { DocumentService } from './documents/documents.ts';
import type { EmbeddingEngine } from './embeddings/embeddings.ts';
import type { EventBus } from './events/bus.ts';
import type { BlobStore } from './files/files.ts';
import type { MalwareScanner } from './scan/scanner.ts';
import { IngestPipeline, type ParseFn } from './ingest/pipeline.ts';
import type { ParseLimits } from './ingest/types.ts';
import { KnowledgeBaseService } from './kb/knowledge-bases.ts';
import { KbSearch, type EmbeddingsStatus } from './kb/search.ts';
import type { Logger } from './logger.ts';
import { OrganisationService } from './organisations/organisations.ts';
import type { JobQueue } from './queue/queue.ts';
import type { SearchIndex } from './search/search.ts';
import { SearchSync } from './search/sync.ts';
import type { Store } from './store/store.ts';
import { UserService } from './users/users.ts';
import { Agent } from './agent/agent.ts';
import { AnswerService } from './conversations/answer.ts';
import { ConversationService } from './conversations/conversations.ts';
import type { LlmProvider } from './llm/provider.ts';
import { UsageLedger } from './usage/ledger.ts';
import { ClientSecrets } from './realtime/client-secrets.ts';
import { createAnalyzer } from './search/analyzer.ts';
import { UserErasure } from './retention/user-erasure.ts';
import { DocumentErasure } from './retention/document-erasure.ts';
import { RetentionService } from './retention/retention.ts';
import { retentionDefaults } from './retention/policy.ts';
import { OrganisationDeletions } from './organisations/deletion.ts';
import { Exports } from './export/export.ts';
import type { Counters } from './limits/counters.ts';
import { RateLimits } from './limits/rate-limits.ts';
import { limitDefaults } from './limits/values.ts';
import { isLoopbackHost } from './http/loopback.ts';
import type { MetricsRecorder } from './metrics/recorder.ts';

/** Infrastructure behind the ports, each opened by the port registry (server/ports/) from configuration. */
export interface Infrastructure {
  store: Store;
  index: SearchIndex;
  blobs: BlobStore;
  /** Where infected originals are moved, out of reach of every route. */
  quarantine: BlobStore;
  /** Scans uploads before parsing (CLAMAV_URL); null: no scanning. */
  scanner: MalwareScanner | null;
  queue: JobQueue;
  bus: EventBus;
  /** The embedding engine in use, or null with the reason in `embeddingsStatus`. */
  embeddings: () => EmbeddingEngine | null;
  embeddingsStatus: () => EmbeddingsStatus;
  parse: ParseFn;
  llm: LlmProvider;
  /** Where rate limits and quotas are counted: in memory, or in Redis (REDIS_URL). */
  counters: Counters;
  /** Counts failed passwords per account and address. */
  throttle: LoginThrottle;
  /** Counts two-step sign-in codes per user as `throttle` counts passwords per account (same limits). */
  codeThrottle: LoginThrottle;
  /** Revocation notices, to this process's sockets and streams or every process's (REDIS_URL). */
  revocations: Revocations;
  /** Where the domains record what they measure (the process's metrics registry). */
  metrics: MetricsRecorder;
}

export interface ServiceDeps extends Infrastructure {
  config: Config;
  log: Logger;
  clock: Clock;
  random: Random;
}

export function parseLimits(config: Config): ParseLimits {
  const mb = 1024 * 1024;
  return {
    maxBytes: config.UPLOAD_MAX_FILE_MB * mb,
    maxPages: config.INGEST_MAX_PAGES,
    maxTextChars: config.INGEST_MAX_TEXT_MB * mb,
    maxUncompressedBytes: config.INGEST_MAX_UNCOMPRESSED_MB * mb,
    timeoutMs: config.INGEST_TIMEOUT_SECONDS * 1000,
    maxMemoryMb: config.INGEST_MAX_MEMORY_MB,
    ocr: config.OCR_ENABLED,
    ocrLanguages: config.OCR_LANGUAGES.split('+'),
  };
}

/** Wires the domain services together; no service constructs another. */
export function createServices(deps: ServiceDeps) {
  const { config, log, store, clock, random } = deps;
  const db = collections(store, config.dataKeys);
  const audit = new AuditLog({ audit: db.audit, clock, random, log: log.child({ component: 'audit' }) });
  const { revocations } = deps;
  const sessions = new SessionService({
    sessions: db.sessions,
    clock,
    random,
    revocations,
    ttlMs: config.SESSION_TTL_HOURS * 3_600_000,
    maxLifetimeMs: config.SESSION_MAX_HOURS * 3_600_000,
  });
  // Declared below with the services it erases from; called only once requests arrive.
  const users = new UserService({ users: db.users, sessions, audit, clock, random, erasure: { eraseUser: (user) => userErasure.eraseUser(user) } });
  const organisations = new OrganisationService({ organisations: db.organisations, users, audit, clock, random });
  const apiKeys = new ApiKeyService({ apiKeys: db.apiKeys, audit, clock, random, revocations });
  const twoFactor = new TwoFactorService({
    users: db.users,
    sessions,
    throttle: deps.codeThrottle,
    audit,
    clock,
    random,
    issuer: 'Lectern',
    required: async (organisationId) => (await organisations.settings(organisationId)).security?.requireTotp === true,
  });
  const auth = new AuthService({
    db,
    users,
    organisations,
    sessions,
    apiKeys,
    audit,
    clock,
    twoFactor,
    challenges: new LoginChallenges({ challenges: db.loginChallenges, clock, random }),
    setupGuard: { token: config.SETUP_TOKEN, fromFile: config.setupTokenFromFile, reachable: !isLoopbackHost(config.HOST) },
    throttle: deps.throttle,
  });

  const sync = new SearchSync({ index: deps.index, chunks: db.chunks, counters: db.counters, pending: db.searchPending, log: log.child({ component: 'search' }) });
  const kbs = new KnowledgeBaseService({ kbs: db.kbs, clock, random });
  const conversations = new ConversationService({ conversations: db.conversations, messages: db.messages, clock, random });
  const documents = new DocumentService({
    documents: db.documents,
    texts: db.documentTexts,
    blobs: deps.blobs,
    quarantine: deps.quarantine,
    malwareScanning: deps.scanner !== null,
    queue: deps.queue,
    bus: deps.bus,
    sync,
    clock,
    random,
    log: log.child({ component: 'documents' }),
    maxAttempts: config.INGEST_MAX_ATTEMPTS,
    // Declared below; called only once documents are deleted.
    erasure: { forgetDocument: (...args) => documentErasure.forgetDocument(...args), forgetDocuments: (...args) => documentErasure.forgetDocuments(...args) },
  });
  const pipeline = new IngestPipeline({
    documents,
    kbs: db.kbs,
    blobs: deps.blobs,
    sync,
    parse: deps.parse,
    limits: parseLimits(config),
    embeddings: deps.embeddings,
    scanner: deps.scanner,
    audit,
    clock,
    log: log.child({ component: 'ingest' }),
    metrics: deps.metrics.ingest,
  });
  // One analyzer (and so one word cache) for knowledge-base search and the agent.
  const analyzer = createAnalyzer();
  const search = new KbSearch({ index: deps.index, chunks: db.chunks, embeddings: deps.embeddings, embeddingsStatus: deps.embeddingsStatus, analyzer, metrics: deps.metrics.search });
  const ledger = new UsageLedger({
    usage: db.usage,
    clock,
    random,
    prices: { inputPerMTok: config.CLOUD_LLM_PRICE_INPUT_PER_MTOK, outputPerMTok: config.CLOUD_LLM_PRICE_OUTPUT_PER_MTOK },
    metrics: deps.metrics.llm,
  });
  const agent = new Agent({ gateway: deps.llm.router, clock, log: log.child({ component: 'agent' }), analyzer });
  const answers = new AnswerService({ agent, kbs, search, conversations, organisations, ledger, audit, log: log.child({ component: 'answers' }) });
  const limits = new RateLimits({ counters: deps.counters, defaults: limitDefaults(config), overridesOf: async (id) => (await organisations.get(id))?.settings?.limits, clock });
  const clientSecrets = new ClientSecrets({ secrets: db.realtimeSecrets, clock, random, minterHolds: (principal) => auth.holds(principal) });
  revocations.subscribe((notice) => {
    clientSecrets.forget(notice).catch((err: unknown) => log.warn({ err, scope: notice.scope }, 'could not delete the client secrets of a revoked credential'));
  });
  const documentErasure = new DocumentErasure({ conversations, audit: db.audit });
  const userErasure = new UserErasure({ conversations, audit: db.audit, usage: db.usage, apiKeys: db.apiKeys, clientSecrets: db.realtimeSecrets });
  const retention = new RetentionService({
    organisations: db.organisations,
    conversations,
    audit: db.audit,
    usage: db.usage,
    auditLog: audit,
    defaults: retentionDefaults(config),
    clock,
    log: log.child({ component: 'retention' }),
  });
  const organisationDeletions = new OrganisationDeletions({ organisations: db.organisations, db, kbs, documents, conversations, sync, revocations, audit, clock, log: log.child({ component: 'organisations' }) });
  const exports = new Exports({ db, documents, conversations, audit, clock, log: log.child({ component: 'export' }) });
  return { db, audit, revocations, sessions, users, organisations, apiKeys, auth, twoFactor, sync, kbs, documents, pipeline, search, conversations, ledger, answers, clientSecrets, limits, retention, organisationDeletions, exports };
}

export type Services = ReturnType<typeof createServices>;
