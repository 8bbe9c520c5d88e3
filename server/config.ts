import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { fileURLToPath } from 'node:url';
import { isInside, Keyring, readDataKey } from './crypto/data-key.ts';

// Every setting is read once, here, and validated as a whole so that an operator sees every
// problem at boot in one message instead of fixing them one restart at a time.

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const positiveInt = z.coerce.number().int().positive();
/** A rate limit or quota; 0 counts use without refusing any. */
const limit = z.coerce.number().int().min(0).max(1_000_000);

/** Days to keep something (see server/retention/); unset: for ever. */
const retentionDays = z.coerce.number().int().min(1).max(36_500).optional();
/** An admin cannot shorten the audit log below this: what they did stays on record for a while. */
export const MIN_AUDIT_RETENTION_DAYS = 30;

/** The table in README.md is generated from these descriptions (`node scripts/config-table.ts`). */
export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080).describe('TCP port the HTTP and WebSocket server listens on.'),
  HOST: z.string().min(1).default('0.0.0.0').describe('Interface to bind. `127.0.0.1` keeps it local (e.g. behind Caddy on the same host).'),
  DATA_DIR: z.string().min(1).default('./data').describe('Where the embedded store, search index and uploaded files live. Back this up.'),
  DATA_KEY_FILE: z
    .string()
    .min(1)
    .optional()
    .describe('Encryption at rest: a file outside DATA_DIR holding a 256-bit key (64 hex digits, e.g. from `openssl rand -hex 32`). Originals, extracted text, chunks and conversations are then encrypted in DATA_DIR (see "Encryption at rest"). Unset: stored as they are.'),
  MODELS_DIR: z.string().min(1).default('./models').describe('Where downloaded models are looked for.'),
  MODELS_MANIFEST: z.string().min(1).optional().describe('The model manifest (ids, files, sha256) every model lookup and download reads. Default: the `models/manifest.json` shipped with Lectern; point it at your own to offer other models.'),
  MODELS_MIRROR_URL: z.url({ protocol: /^https?$/ }).optional().describe('A mirror that stands in for `https://huggingface.co` in the manifest\'s file URLs, for the System page\'s download button and `npm run models` (whose `--base-url` overrides it). Default: download from the hub itself.'),
  PUBLIC_URL: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('External URL of the console, e.g. `https://lectern.example.org`. Used for the CSRF origin check and to decide whether cookies are `Secure`. When unset, the request\'s own host is trusted.'),
  TRUST_PROXY: z
    .union([z.enum(['true', 'yes']).transform(() => 1), z.enum(['false', 'no']).transform(() => 0), z.coerce.number().int().min(0).max(10)])
    .prefault('false')
    .describe(
      'How many reverse proxies in front of Lectern to trust for `X-Forwarded-For`/`-Proto`: `false` (0, direct), `true` (1, e.g. Caddy), or a number. The client address is the one the outermost trusted proxy saw; entries further left are the client\'s own claims and are ignored.',
    ),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level. At `info` each API request writes one JSON line when it ends (method, path, client address, status, ms, `reqId`); readiness probes (`/readyz`), Prometheus scrapes (`/metrics`) and the console\'s files only at `debug`, and the liveness probe (`/healthz`) not at all; a failing probe, scrape or file request is logged at `info`.'),
  BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/i, 'like 1mb or 512kb').default('1mb').describe('Largest JSON request body accepted.'),
  SESSION_TTL_HOURS: positiveInt.default(24 * 14).describe('Idle lifetime of a console session; each use within the second half of it extends it (sliding expiry).'),
  SESSION_MAX_HOURS: positiveInt.default(24 * 30).describe('Absolute lifetime of a console session: however active, it ends this long after sign-in (and its sockets and event streams with it), so a stolen cookie kept busy does not live for ever.'),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: positiveInt.default(5).describe('Login attempts for one email within the window (counted before the password is checked; a success resets it) before that account is locked for the window. Two-step sign-in codes are counted per user the same way.'),
  LOGIN_MAX_FAILURES_PER_IP: positiveInt.default(20).describe('Failed logins from one IP address within the window before that address is slowed down: past it, its attempts are evaluated one at a time after a growing delay (never refused outright, since a whole clinic may share one address).'),
  LOGIN_WINDOW_SECONDS: positiveInt.default(15 * 60).describe('Throttling window and block duration for failed logins.'),
  SETUP_TOKEN: z.string().min(16).optional().describe('Secret. When set, first-run setup requires it (`setupToken` in the request), so nobody else can claim a freshly started box. Unset: on a loopback HOST (`127.0.0.1`, `::1`, `localhost`) setup is open; on any other HOST the server generates a one-time token at each start until setup is done and prints it once in its log (a `warn` line saying how to use it); only its hash is kept.'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional().describe('OpenTelemetry: base URL of an OTLP/HTTP collector (e.g. `http://otel-collector:4318`); spans of HTTP requests, jobs and ingestion stages, search, LLM generations and speech go to `<url>/v1/traces`, with ids, routes, engines and timings but never questions, answers or document text. Unset: no traces.'),
  OTEL_SERVICE_NAME: z.string().min(1).default('lectern').describe('OpenTelemetry: the `service.name` traces carry.'),
  METRICS_TOKEN: z.string().min(16).optional().describe('Secret. Bearer token Prometheus sends to scrape `GET /metrics` (`Authorization: Bearer <token>`; e.g. `openssl rand -hex 32`). Unset: `/metrics` answers only requests from the host itself, others get 401.'),
  RETENTION_CONVERSATIONS_DAYS: retentionDays.describe('Retention default: conversations (with their messages) not continued for this many days are deleted by the daily purge. Each organisation may set its own in Settings. Unset: kept until deleted.'),
  RETENTION_AUDIT_DAYS: retentionDays.refine((d) => d === undefined || d >= MIN_AUDIT_RETENTION_DAYS, `at least ${MIN_AUDIT_RETENTION_DAYS} days`).describe(`Retention default: audit entries older than this many days are deleted by the daily purge (at least ${MIN_AUDIT_RETENTION_DAYS}). Unset: kept for ever.`),
  RETENTION_USAGE_DAYS: retentionDays.describe('Retention default: usage ledger records older than this many days are deleted by the daily purge. Unset: kept for ever.'),
  BACKUP_DIR: z.string().min(1).optional().describe('Where backups are written, one folder per backup named by its UTC time. Default: `backups` beside DATA_DIR (`<DATA_DIR>/../backups`), never inside it: a backup inside DATA_DIR would be copied into every later one, and a restore needs an empty DATA_DIR. Put it on another disk, or send it off the box with RESTIC_REPOSITORY.'),
  BACKUP_KEY_FILE: z.string().min(1).optional().describe('Backups are encrypted (AES-256-GCM) under the key in this file: 64 hex digits (`openssl rand -hex 32`), outside DATA_DIR. Keep a copy off the box: without it no backup can be restored. Unset: backups are refused unless BACKUP_ENCRYPTION is `off`.'),
  BACKUP_ENCRYPTION: z.enum(['on', 'off']).default('on').describe('`off` writes backups unencrypted when BACKUP_KEY_FILE is unset (a backup holds every document and conversation in the clear: only where the backup disk is as safe as the box).'),
  BACKUP_SCHEDULE: z
    .string()
    .regex(/^(off|daily@([01]\d|2[0-3]):[0-5]\d|hourly@[0-5]\d)$/, 'off, daily@HH:MM or hourly@MM (UTC)')
    .default('daily@03:00')
    .describe('When the server backs up by itself, in UTC: `daily@03:00`, `hourly@15` (a quarter past each hour) or `off`. Processes sharing a store back up once between them. A verify of the latest backup (a restore drill) runs weekly after the Sunday backup.'),
  BACKUP_KEEP_DAILY: z.coerce.number().int().min(1).max(1_000).default(7).describe('Retention: the newest backup of each of this many most recent days is kept (at least 1: the newest backup is never deleted).'),
  BACKUP_KEEP_WEEKLY: z.coerce.number().int().min(0).max(1_000).default(4).describe('Retention: also the newest backup of each of this many most recent ISO weeks.'),
  BACKUP_KEEP_MONTHLY: z.coerce.number().int().min(0).max(1_000).default(6).describe('Retention: also the newest backup of each of this many most recent months. Older backups are deleted after each backup.'),
  RESTIC_REPOSITORY: z.string().min(1).optional().describe('Secret (it may hold credentials). Off-site copies: after each backup, `restic backup` sends it to this restic repository (`sftp:…`, `s3:…`, `b2:…`, a path; Debian\'s `restic`), which must exist (`restic init`). Needs RESTIC_PASSWORD_FILE. Unset: backups stay in BACKUP_DIR.'),
  RESTIC_PASSWORD_FILE: z.string().min(1).optional().describe('The file holding the restic repository\'s password (passed to restic as RESTIC_PASSWORD_FILE).'),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(10_000).describe('How long graceful shutdown waits for in-flight requests before closing them.'),
  UPLOAD_MAX_FILE_MB: positiveInt.default(100).describe('Largest single uploaded file.'),
  UPLOAD_MAX_FILES: positiveInt.default(50).describe('Most files in one upload request.'),
  INGEST_CONCURRENCY: positiveInt.default(1).describe('Documents processed at once (and parse workers kept). Parsing runs in worker threads off the main one; keep this below the core count so the server stays responsive.'),
  INGEST_MAX_PAGES: positiveInt.default(2_000).describe('Documents with more pages fail with `too_many_pages`.'),
  INGEST_MAX_TEXT_MB: positiveInt.default(20).describe('Extracted text beyond this fails with `too_large`, checked while the file streams in (a 99 MB text file is refused without being read whole). For HTML the markup counts too, since a page is parsed whole.'),
  INGEST_MAX_UNCOMPRESSED_MB: positiveInt.default(200).describe('Largest expansion of a compressed container (DOCX); beyond it the file is refused as a zip bomb.'),
  INGEST_TIMEOUT_SECONDS: positiveInt.default(600).describe('Wall-clock limit for parsing one document, OCR included.'),
  INGEST_MAX_MEMORY_MB: positiveInt.default(1024).describe('Heap limit of the isolated parser of one document.'),
  INGEST_MAX_ATTEMPTS: positiveInt.default(3).describe('Attempts for a document whose processing fails transiently (retried with exponential backoff).'),
  CLAMAV_URL: z
    .string()
    .regex(/^(unix:\/\/\/\S+|tcp:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5})$/, 'unix:///path/to/clamd.ctl or tcp://host:3310')
    .optional()
    .describe('ClamAV daemon that scans every uploaded file before it is parsed: `unix:///run/clamav/clamd.ctl` or `tcp://host:3310`. A file clamd reports fails with `infected` (the signature named) and its original is quarantined, never served; while clamd is unreachable, uploads wait in the queue. Unset: no scanning.'),
  CLAMAV_TIMEOUT_SECONDS: positiveInt.default(180).describe('Time allowed for clamd to take one file and answer; longer than clamd\'s own MaxScanTime (120 s by default). Past it, the scanner counts as unreachable and the file waits.'),
  REDIS_URL: z
    .url({ protocol: /^rediss?$/ })
    .optional()
    .describe('Secret (it may hold a password). Redis shared by every Lectern process, e.g. `redis://redis:6379` (`rediss://` for TLS): rate limits and the login throttle count there, live document progress and revocation notices fan out through its pub/sub, dropped voice sessions wait there to be resumed on any process, and with a shared store (MONGODB_URL) the job queue runs on it (BullMQ; keep the default `noeviction` policy), so several processes serving one store share them. `/readyz` shows it as the `redis` component. Unset: all of this stays in the process.'),
  // A pattern, not z.url: WHATWG URLs refuse a replica set's seed list (`mongodb://a:27017,b:27017/db`).
  MONGODB_URL: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\/([^\s/?#@]+@)?[^\s/?#@]+(\/[^\s?#]*)?(\?[^\s#]*)?$/, 'mongodb://[user:password@]host[:port][,host...][/database][?options] or mongodb+srv://...')
    .optional()
    .describe('Secret (it may hold a password). MongoDB that holds the store instead of the embedded SQLite file, e.g. `mongodb://lectern:<password>@mongodb:27017/lectern?authSource=admin` (`mongodb+srv://` for DNS seed lists); the database is the URL\'s path, `lectern` when it has none. Every Lectern process pointed at it shares one store; migrations run once, under a lock. `/readyz` shows it as the `store` component. Unset: the embedded store in DATA_DIR.'),
  MEILI_URL: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('Meilisearch (1.x) that holds the search index instead of the embedded one, e.g. `http://meilisearch:7700`; needs MEILI_MASTER_KEY. Each organisation gets its own index (`<MEILI_INDEX_PREFIX>_<organisation id>`), so no tenant\'s words or vectors touch another\'s ranking; a rebuild fills fresh indexes and swaps them in, so other processes keep searching meanwhile. `/readyz` shows it as the `search` component. Unset: the embedded index in DATA_DIR.'),
  MEILI_MASTER_KEY: z.string().min(1).optional().describe('Secret. Meilisearch\'s master key, or an admin API key that may manage indexes, documents, settings and tasks.'),
  MEILI_INDEX_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,100}$/, 'letters, digits and hyphens (no underscores: they separate the parts of index names)')
    .default('lectern')
    .describe('Start of every Meilisearch index name Lectern uses, so several installations can share one Meilisearch.'),
  MEILI_TASK_TIMEOUT_SECONDS: positiveInt.default(120).describe('Longest wait for one Meilisearch task (a batch of chunks, a settings change, an index swap); past it the write fails with 503 `unavailable`.'),
  OCR_ENABLED: bool.prefault('true').describe('OCR image-only PDF pages and images (offline, tesseract.js).'),
  OCR_LANGUAGES: z
    .string()
    .regex(/^[a-z_]{3,16}(\+[a-z_]{3,16})*$/, 'tesseract codes joined by +, e.g. eng+deu')
    .default('eng')
    .describe('Default OCR languages, tesseract codes joined by `+`; a knowledge base may choose others among the installed ones in its settings. English and French ship with Lectern; each other language needs `npm install @tesseract.js-data/<code>` (or Debian\'s `tesseract-ocr-<code>`).'),
  EMBEDDING_MODEL: z.string().regex(/^[A-Za-z0-9._-]+$/).default('bge-small-en-v1.5').describe('Embedding model id (a folder in MODELS_DIR). When it is missing, search is keyword-only.'),
  EMBEDDING_THREADS: positiveInt.optional().describe('onnxruntime intra-op threads for embeddings (default: half the cores).'),
  LLM_MODEL: z.string().regex(/^[A-Za-z0-9._-]+$/).optional().describe('Local LLM id (from models/manifest.json) or GGUF file name in MODELS_DIR. Default: the manifest\'s small-profile LLM. Missing: answers are extractive (quoted passages).'),
  LLM_THREADS: positiveInt.optional().describe('CPU threads for the local LLM (default: cores − 1).'),
  LLM_CONTEXT_SIZE: positiveInt.optional().describe('Context window of the local LLM, in tokens (default: the model\'s manifest entry, else 4096).'),
  LLM_QUEUE_LIMIT: positiveInt.default(8).describe('Requests that may wait for the local LLM; beyond it a request is refused (or falls back to cloud when the policy allows).'),
  STT_MODEL: z.string().regex(/^[A-Za-z0-9._-]+$/).optional().describe('Speech-to-text model id (from models/manifest.json, or a folder in MODELS_DIR with its own lectern.json); `off` disables voice input. Default: the manifest\'s small-profile STT model. Missing: voice turns get an `stt_unavailable` error naming what to install.'),
  TTS_MODEL: z.string().regex(/^[A-Za-z0-9._-]+$/).optional().describe('Voice id (as STT_MODEL); `espeak` uses espeak-ng, `off` answers realtime sessions in text only. Missing: espeak-ng when installed, else text only.'),
  ESPEAK_NG_DATA_DIR: z
    .string()
    .min(1)
    .optional()
    .describe('espeak-ng phoneme data for Piper voices whose own `espeak-ng-data` folder is not in MODELS_DIR (sherpa-onnx publishes it only in archives). Default: the first of `/usr/lib/<arch>-linux-gnu/espeak-ng-data` (Debian\'s `espeak-ng-data`, which `espeak-ng` pulls in), `/usr/share/espeak-ng-data` and `/usr/local/share/espeak-ng-data` that holds a `phontab`. The `speech output ready` log line names the folder used.'),
  VAD_MIN_SPEECH_MS: positiveInt.default(250).describe('Realtime: shorter bursts of sound (a cough, a click) never start a turn or interrupt an answer.'),
  REALTIME_RESUME_SECONDS: z.coerce.number().int().min(0).max(3_600).default(120).describe('Realtime: how long after a dropped connection a client may reconnect with `resume=<session id>` and continue the same conversation. 0 disables resuming.'),
  REALTIME_TURN_DETECTION: z.enum(['semantic_vad', 'server_vad']).default('semantic_vad').describe('Realtime: how a new session ends a spoken turn until its client chooses (`turn_detection` in session.update). `semantic_vad` ends it at the first short pause once the words (and the smart-turn-v3 model in MODELS_DIR, when installed) say the speaker has finished, waits longer when they trail off mid-sentence, and otherwise waits `silence_duration_ms` (600 ms); `server_vad` always waits `silence_duration_ms` of silence.'),
  REALTIME_MAX_SESSIONS: positiveInt.default(64).describe('Realtime: open voice sessions the server accepts at once; more are refused with 503.'),
  LIMIT_UPLOADS_PER_MINUTE: limit.default(10).describe('Rate limit: files each user (and, apart from it, each API key) may upload per minute; past it, 429 `rate_limited` with `Retry-After`. Each organisation may set its own in Settings. 0: not limited.'),
  LIMIT_SEARCHES_PER_MINUTE: limit.default(100).describe('Rate limit: knowledge-base searches per user or API key per minute (as LIMIT_UPLOADS_PER_MINUTE).'),
  LIMIT_ASKS_PER_MINUTE: limit.default(100).describe('Rate limit: questions per user or API key per minute: `ask` (JSON or streamed) and `/v1/chat/completions`.'),
  LIMIT_REALTIME_SESSIONS: limit.default(3).describe('Realtime voice sessions one user or API key may have open at once; another upgrade is refused with 429 before the WebSocket opens.'),
  LIMIT_AUDIO_MINUTES_PER_DAY: limit.default(120).describe('Voice input (audio received by realtime sessions) per user or API key per UTC day, in minutes; past it the session gets an `error` event (`rate_limited`) and is closed with 4029.'),
  LIMIT_ORGANISATION_MULTIPLIER: z.coerce.number().int().min(1).max(1_000).default(10).describe('The organisation as a whole may use this many times each per-user limit above (e.g. 10 × 10 files per minute across all its users and keys).'),
  CLOUD_LLM_URL: z.url({ protocol: /^https?$/ }).optional().describe('Base URL of an OpenAI-compatible chat endpoint (OpenAI, Azure OpenAI, Groq, a llama-server on the LAN), e.g. `https://api.openai.com/v1`. Used only by organisations whose policy allows cloud.'),
  CLOUD_LLM_MODEL: z.string().min(1).optional().describe('Model (or Azure deployment) name at CLOUD_LLM_URL.'),
  CLOUD_LLM_API_KEY: z.string().min(1).optional().describe('Secret. API key for CLOUD_LLM_URL.'),
  CLOUD_LLM_FLAVOUR: z.enum(['openai', 'azure']).default('openai').describe('`azure` sends the key as `api-key` and needs CLOUD_LLM_API_VERSION.'),
  CLOUD_LLM_API_VERSION: z.string().optional().describe('Azure OpenAI `api-version`.'),
  CLOUD_LLM_NAME: z.string().regex(/^[a-z0-9-]{1,32}$/).default('cloud').describe('Short name of the cloud endpoint, shown in answers and the ledger (`cloud:<name>`).'),
  CLOUD_LLM_CONNECT_TIMEOUT_MS: positiveInt.default(5_000).describe('Cloud LLM: time allowed until response headers.'),
  CLOUD_LLM_FIRST_TOKEN_TIMEOUT_MS: positiveInt.default(20_000).describe('Cloud LLM: time allowed until the first token.'),
  CLOUD_LLM_TOTAL_TIMEOUT_MS: positiveInt.default(120_000).describe('Cloud LLM: time allowed for a whole answer.'),
  CLOUD_LLM_PRICE_INPUT_PER_MTOK: z.coerce.number().nonnegative().default(0).describe('Cost estimate: price per million prompt tokens at the cloud endpoint (in your currency).'),
  CLOUD_LLM_PRICE_OUTPUT_PER_MTOK: z.coerce.number().nonnegative().default(0).describe('Cost estimate: price per million completion tokens at the cloud endpoint.'),
  CLOUD_STT_URL: z.url({ protocol: /^https?$/ }).optional().describe('Base URL of an OpenAI-compatible speech-to-text endpoint (`POST <url>/audio/transcriptions`: OpenAI, Azure OpenAI, Groq, a faster-whisper server on the LAN), e.g. `https://api.openai.com/v1`. Used only by organisations whose policy allows cloud: `cloud-first` prefers it, `local-then-cloud` uses it only when no local STT model is installed.'),
  CLOUD_STT_MODEL: z.string().min(1).optional().describe('Transcription model (or Azure deployment) at CLOUD_STT_URL, e.g. `whisper-1` or `gpt-4o-mini-transcribe`.'),
  CLOUD_STT_LANGUAGE: z.string().regex(/^[a-z]{2,3}$/, 'an ISO-639-1 code such as en').optional().describe('Language of the speech (ISO-639-1, e.g. `en`), sent to the cloud STT as a hint. Default: detected per utterance.'),
  CLOUD_TTS_URL: z.url({ protocol: /^https?$/ }).optional().describe('Base URL of an OpenAI-compatible text-to-speech endpoint (`POST <url>/audio/speech`), e.g. `https://api.openai.com/v1`. Policy as for CLOUD_STT_URL.'),
  CLOUD_TTS_MODEL: z.string().min(1).optional().describe('Speech model (or Azure deployment) at CLOUD_TTS_URL, e.g. `tts-1` or `gpt-4o-mini-tts`.'),
  CLOUD_TTS_VOICE: z.string().min(1).default('alloy').describe('Voice name at CLOUD_TTS_URL.'),
  CLOUD_TTS_FORMAT: z.enum(['pcm', 'wav']).default('pcm').describe('Audio asked of CLOUD_TTS_URL: `pcm` (raw 24 kHz, as OpenAI sends it) or `wav` for servers without raw PCM.'),
  CLOUD_SPEECH_API_KEY: z.string().min(1).optional().describe('Secret. API key for CLOUD_STT_URL and CLOUD_TTS_URL. Default: CLOUD_LLM_API_KEY.'),
  CLOUD_SPEECH_FLAVOUR: z.enum(['openai', 'azure']).optional().describe('`azure` sends the key as `api-key` and needs an API version. Default: CLOUD_LLM_FLAVOUR.'),
  CLOUD_SPEECH_API_VERSION: z.string().optional().describe('Azure OpenAI `api-version` for the speech endpoints. Default: CLOUD_LLM_API_VERSION.'),
  CLOUD_SPEECH_CONNECT_TIMEOUT_MS: positiveInt.default(10_000).describe('Cloud speech: time allowed until response headers (for a transcription, that includes transcribing it). Not retried; the call falls back to the local engine when the policy has one.'),
  CLOUD_SPEECH_TOTAL_TIMEOUT_MS: positiveInt.default(30_000).describe('Cloud speech: time allowed for one transcription or one sentence of speech, retries included.'),
});

/** Variables that may instead be given as `NAME_FILE=/run/secrets/...` (Docker/Compose secrets). */
export const secretNames = ['SETUP_TOKEN', 'CLOUD_LLM_API_KEY', 'CLOUD_SPEECH_API_KEY', 'REDIS_URL', 'MONGODB_URL', 'MEILI_MASTER_KEY', 'METRICS_TOKEN', 'RESTIC_REPOSITORY'] as const;

export type Config = z.output<typeof configSchema> & {
  /** DATA_DIR, MODELS_DIR and MODELS_MANIFEST resolved against the working directory. */
  dataDir: string;
  modelsDir: string;
  manifestPath: string;
  /** ESPEAK_NG_DATA_DIR resolved, else the system's espeak-ng data if found; null when there is none. */
  espeakDataDir: string | null;
  /** The key in DATA_KEY_FILE, as a keyring of one; null when encryption at rest is off. */
  dataKeys: Keyring | null;
  /** SETUP_TOKEN came from SETUP_TOKEN_FILE (the setup page says where to find it). */
  setupTokenFromFile: boolean;
};

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env, readFile: (file: string) => string = (f) => readFileSync(f, 'utf8')): Config {
  const problems: string[] = [];
  const raw: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    const file = (secretNames as readonly string[]).includes(key) ? env[`${key}_FILE`] : undefined;
    if (value !== undefined && value !== '' && file) {
      problems.push(`${key}: set either ${key} or ${key}_FILE, not both`);
      continue;
    }
    if (file) {
      try {
        // Secret files usually end with a newline that is not part of the secret.
        raw[key] = readFile(file).replace(/\r?\n$/, '');
      } catch (err) {
        problems.push(`${key}_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    } else if (value !== undefined && value !== '') {
      raw[key] = value;
    }
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
  }
  if (parsed.success && parsed.data.CLOUD_LLM_URL && !parsed.data.CLOUD_LLM_MODEL) problems.push('CLOUD_LLM_MODEL: required when CLOUD_LLM_URL is set');
  if (parsed.success && parsed.data.MEILI_URL && !parsed.data.MEILI_MASTER_KEY) problems.push('MEILI_MASTER_KEY: required when MEILI_URL is set (or MEILI_MASTER_KEY_FILE)');
  if (parsed.success && parsed.data.CLOUD_LLM_FLAVOUR === 'azure' && parsed.data.CLOUD_LLM_URL && !parsed.data.CLOUD_LLM_API_VERSION) problems.push('CLOUD_LLM_API_VERSION: required for CLOUD_LLM_FLAVOUR=azure');
  if (parsed.success) problems.push(...speechProblems(parsed.data));
  if (parsed.success && parsed.data.RESTIC_REPOSITORY && !parsed.data.RESTIC_PASSWORD_FILE) problems.push('RESTIC_PASSWORD_FILE: required when RESTIC_REPOSITORY is set');
  const dataKeys = parsed.success ? loadDataKeys(parsed.data, problems) : null;
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const data = parsed.data;
  return {
    ...data,
    dataDir: path.resolve(data.DATA_DIR),
    modelsDir: path.resolve(data.MODELS_DIR),
    manifestPath: data.MODELS_MANIFEST ? path.resolve(data.MODELS_MANIFEST) : SHIPPED_MANIFEST,
    espeakDataDir: data.ESPEAK_NG_DATA_DIR ? path.resolve(data.ESPEAK_NG_DATA_DIR) : findEspeakNgData(),
    dataKeys,
    setupTokenFromFile: Boolean(env['SETUP_TOKEN_FILE']),
  };
}

const SHIPPED_MANIFEST = fileURLToPath(new URL('../models/manifest.json', import.meta.url));

// Where distributions put espeak-ng's data: Debian and Ubuntu under the multiarch library folder
// (bookworm and later), older releases and Fedora under /usr/share, source builds under /usr/local.
const ESPEAK_NG_DATA_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/espeak-ng-data',
  '/usr/lib/aarch64-linux-gnu/espeak-ng-data',
  '/usr/lib/arm-linux-gnueabihf/espeak-ng-data',
  '/usr/share/espeak-ng-data',
  '/usr/local/share/espeak-ng-data',
];

/** Whether `dir` holds espeak-ng data: phontab is the table espeak-ng reads first, and sherpa-onnx checks for it. */
export const isEspeakNgData = (dir: string): boolean => existsSync(path.join(dir, 'phontab'));

/** The system's espeak-ng data folder, or null when none of the usual places holds one. */
export function findEspeakNgData(candidates: readonly string[] = ESPEAK_NG_DATA_CANDIDATES): string | null {
  return candidates.find(isEspeakNgData) ?? null;
}

/** The cloud speech settings that parse one by one but not together. */
function speechProblems(data: z.output<typeof configSchema>): string[] {
  const problems: string[] = [];
  if (data.CLOUD_STT_URL && !data.CLOUD_STT_MODEL) problems.push('CLOUD_STT_MODEL: required when CLOUD_STT_URL is set');
  if (data.CLOUD_TTS_URL && !data.CLOUD_TTS_MODEL) problems.push('CLOUD_TTS_MODEL: required when CLOUD_TTS_URL is set');
  const azure = (data.CLOUD_SPEECH_FLAVOUR ?? data.CLOUD_LLM_FLAVOUR) === 'azure';
  if (azure && (data.CLOUD_STT_URL || data.CLOUD_TTS_URL) && !(data.CLOUD_SPEECH_API_VERSION ?? data.CLOUD_LLM_API_VERSION)) {
    problems.push('CLOUD_SPEECH_API_VERSION: required for Azure speech endpoints (or set CLOUD_LLM_API_VERSION)');
  }
  return problems;
}

/** The data key DATA_KEY_FILE names, or null when unset; what is wrong with it joins `problems`. */
function loadDataKeys(data: z.output<typeof configSchema>, problems: string[]): Keyring | null {
  if (!data.DATA_KEY_FILE) return null;
  const file = path.resolve(data.DATA_KEY_FILE);
  if (isInside(file, data.DATA_DIR)) {
    problems.push(`DATA_KEY_FILE: ${file} is inside DATA_DIR; keep the key apart from the data it locks (a copy of DATA_DIR would carry its own key)`);
    return null;
  }
  try {
    return new Keyring(readDataKey(file));
  } catch (err) {
    problems.push(`DATA_KEY_FILE: ${(err as Error).message}`);
    return null;
  }
}
