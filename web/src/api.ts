// Typed client for the Lectern HTTP API. Every call goes through `request` so that error
// shaping, the session cookie and the "signed out elsewhere" signal live in one place.

// Server types shared with the client: `import type` only, so nothing of the server reaches the bundle.
import type { z } from 'zod';
import type { SignInResponse } from '../../server/auth/schema.ts';
import type { KbHit } from '../../server/kb/search.ts';
import type { AnswerUsage as ServerAnswerUsage, Citation as ServerCitation, EngineChoice } from '../../server/agent/types.ts';
import type { UsageRow as ServerUsageRow } from '../../server/usage/ledger.ts';
import type { LimitReport as ServerLimitReport } from '../../server/limits/rate-limits.ts';
import type { LimitKey as ServerLimitKey, LimitValues as ServerLimitValues } from '../../server/limits/values.ts';
import type { presentConversation, VoiceMetrics as ServerVoiceMetrics } from '../../server/conversations/conversations.ts';
import type { RemovedCitation } from '../../server/conversations/redact.ts';
import type { Retention } from '../../server/retention/policy.ts';
import type { DocumentStage, DocumentStatus, presentDocument } from '../../server/documents/documents.ts';

export type Role = 'owner' | 'admin' | 'editor' | 'viewer';
export type ApiKeyRole = Exclude<Role, 'owner'>;

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  organisationId: string;
  instanceOwner: boolean;
  disabled: boolean;
  createdAt: string;
  lastLoginAt: string | null;
  /** A reset password: they must choose a new one at their next sign-in. */
  mustChangePassword: boolean;
  /** Signs in in two steps, with a code from an authenticator app. */
  totpEnabled: boolean;
}

export interface Organisation {
  id: string;
  name: string;
}

export interface Me {
  user: User;
  organisation: Organisation;
  /** The session may do only this until it is done (the console shows that screen alone). */
  restriction?: SessionRestriction | null;
}

/** `password_change` after a password reset; `totp_enrolment` where the organisation requires two-step sign-in. */
export type SessionRestriction = 'password_change' | 'totp_enrolment';

/**
 * The password step's answer: a session; with two-step sign-in on, the token for the code step; or,
 * when the password opens accounts in several organisations, which ones (sign in again naming one).
 */
export type SignInResult = z.output<typeof SignInResponse>;

export interface TotpStatus {
  enabled: boolean;
  enabledAt: string | null;
  settingUp: boolean;
  recoveryCodesLeft: number;
}

/** What re-confirms you before two-step sign-in is turned off or its recovery codes replaced. */
export type Reauthentication = { code: string } | { password: string };

export interface PasswordReset {
  user: User;
  /** Generated, shown this once; null when the admin chose it. */
  temporaryPassword: string | null;
  sessionsEnded: number;
}

export interface ApiKey {
  id: string;
  name: string;
  role: ApiKeyRole;
  prefix: string;
  createdAt: string;
  createdBy: { id: string; name: string } | null;
  lastUsedAt: string | null;
}

export interface CreatedApiKey {
  id: string;
  name: string;
  role: ApiKeyRole;
  prefix: string;
  createdAt: string;
  key: string;
}

export interface AuditEntry {
  id: string;
  at: string;
  action: string;
  outcome: 'success' | 'failure';
  actor: { type: 'user' | 'apiKey' | 'anonymous' | 'system'; id: string | null; name: string | null };
  target: { type: string; id: string; name: string | null } | null;
  ip: string | null;
  details: Record<string, unknown> | null;
}

/** Audit listing filters; empty ones are left out. `from` inclusive, `to` exclusive, ISO times. */
export type AuditQuery = {
  actor?: string;
  action?: string;
  from?: string;
  to?: string;
  outcome?: 'success' | 'failure';
};

function auditSearch(query: Record<string, string | number | undefined>): URLSearchParams {
  return new URLSearchParams(Object.entries(query).flatMap(([k, v]) => (v === undefined || v === '' ? [] : [[k, String(v)]])));
}

export interface OrganisationSummary {
  id: string;
  name: string;
  createdAt: string;
  userCount: number;
  /** Set while it is being deleted: since when, and the step it is at. */
  deleting: { since: string; step: string } | null;
}

export interface ErrorDetail {
  path: string;
  message: string;
}

interface ApiErrorInit {
  status: number;
  code: string;
  message: string;
  traceId?: string | null;
  details?: ErrorDetail[];
  retryAfter?: number | null;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly traceId: string | null;
  readonly details: ErrorDetail[];
  readonly retryAfter: number | null;

  constructor(init: ApiErrorInit) {
    super(init.message);
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code;
    this.traceId = init.traceId ?? null;
    this.details = init.details ?? [];
    this.retryAfter = init.retryAfter ?? null;
  }

  /** Message for the field named `path`, matching the server's dotted zod paths. */
  detailFor(path: string): string | undefined {
    return this.details.find((d) => d.path === path)?.message;
  }
}

/** Normalises anything thrown (network failure, bug, API error) so the UI has one shape to render. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError({ status: 0, code: 'client_error', message });
}

let unauthenticatedHandler: (() => void) | null = null;
let restrictedHandler: (() => void) | null = null;

/** The session hook registers here so a session restricted under it (e.g. two-step sign-in became required) shows what it must do. */
export function onRestricted(handler: (() => void) | null): void {
  restrictedHandler = handler;
}

const RESTRICTED_CODES = new Set(['password_change_required', 'totp_enrolment_required']);

/** The session hook registers here so a 401 from any call (an expired cookie) sends the user to sign in. */
export function onUnauthenticated(handler: (() => void) | null): void {
  unauthenticatedHandler = handler;
}

function parseRetryAfter(header: string | null): number | null {
  if (header === null) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(1, Math.ceil(seconds));
  // Retry-After may also be an HTTP date.
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(1, Math.ceil((at - Date.now()) / 1000));
}

function errorFromResponse(res: Response, payload: unknown): ApiError {
  const body = (payload as { error?: Partial<ApiErrorInit> } | null)?.error;
  const retryAfter = parseRetryAfter(res.headers.get('Retry-After'));
  let message = body?.message ?? `The server answered ${res.status} ${res.statusText}.`;
  if (res.status === 429 && retryAfter !== null) {
    message = `Too many attempts, try again in ${retryAfter} second${retryAfter === 1 ? '' : 's'}.`;
  }
  return new ApiError({
    status: res.status,
    code: body?.code ?? `http_${res.status}`,
    message,
    traceId: body?.traceId ?? null,
    details: Array.isArray(body?.details) ? body.details : [],
    retryAfter,
  });
}

/** Sends a request and returns the response if it succeeded; every failure becomes an ApiError. */
async function send(method: string, path: string, init: { body?: unknown; accept?: string; signal?: AbortSignal } = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: init.accept ?? 'application/json' };
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal ?? null,
    });
  } catch (err) {
    // The caller cancelled: let it see its own AbortError rather than a network failure.
    if (init.signal?.aborted) throw err;
    throw new ApiError({ status: 0, code: 'network', message: 'Cannot reach the server. Check the connection and try again.' });
  }
  if (res.ok) return res;
  const error = errorFromResponse(res, await res.json().catch(() => null));
  if (error.code === 'unauthenticated') unauthenticatedHandler?.();
  if (RESTRICTED_CODES.has(error.code)) restrictedHandler?.();
  throw error;
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await send(method, path, { body });
  if (res.status === 204) return undefined as T;
  return (await res.json().catch(() => null)) as T;
}

const id = (value: string) => encodeURIComponent(value);

export interface SetupInput {
  organisation: string;
  name: string;
  email: string;
  password: string;
  /** Only when the operator configured SETUP_TOKEN. */
  setupToken?: string;
}

export interface NewUserInput {
  email: string;
  name: string;
  role: Role;
  password: string;
}

export interface NewOrganisationInput {
  name: string;
  admin: { name: string; email: string; password: string };
}

export type RetrievalMode = 'hybrid' | 'keyword' | 'vector';

export interface KbSettings {
  /** Target chunk size in tokens. */
  chunkSize: number;
  chunkOverlap: number;
  retrievalMode: RetrievalMode;
  embeddingModel: string | null;
}

export interface EmbeddingsStatus {
  available: boolean;
  model: string | null;
  reason: string | null;
}

export interface Kb {
  id: string;
  name: string;
  description: string;
  createdAt: string;
  updatedAt: string;
  settings: KbSettings;
  stats: { documents: number; ready: number; processing: number; failed: number; chunks: number };
  embeddings: EmbeddingsStatus;
}

export type DocStatus = DocumentStatus;
export type DocStage = DocumentStage;

export type Doc = ReturnType<typeof presentDocument>;

export interface UploadedDoc {
  id: string;
  name: string;
  status: DocStatus;
  /** Identical content was already in the KB; the entry is the existing document. */
  duplicate: boolean;
}

export type BlockKind = 'heading' | 'paragraph' | 'list-item' | 'table-row' | 'code' | 'caption';

export interface ContentBlock {
  kind: BlockKind;
  text: string;
  level: number | null;
  page: number | null;
  /** Character offsets into the document text (blocks joined by "\n\n"). */
  start: number;
  end: number;
}

export interface DocContent {
  documentId: string;
  format: string | null;
  pages: { number: number; label: string | null }[] | null;
  blocks: ContentBlock[];
}

export interface Chunk {
  id: string;
  documentId: string;
  documentName: string;
  /** The first and last page the chunk's text touches. */
  firstPage: number | null;
  lastPage: number | null;
  /** Where each of those pages begins in `text`. */
  pages: SearchHit['pages'];
  headings: string[];
  text: string;
  start: number;
  end: number;
}

/** The server's hit type: one contract, checked by the compiler on both sides. */
export type SearchHit = KbHit;

export interface SearchResult {
  hits: SearchHit[];
  mode: RetrievalMode;
  tookMs: number;
  embeddings: EmbeddingsStatus;
}

export interface KbPatch {
  name?: string;
  description?: string;
  settings?: Partial<Omit<KbSettings, 'embeddingModel'>>;
}

/** A citation; once its document is deleted, only its number, `removed`, and no quote, page or name. */
export type Citation = (ServerCitation & { removed?: false }) | RemovedCitation;

export type AnswerMode = 'generative' | 'extractive';

/** Which engine answered and why (the policy, a fallback and its cause, no model installed…). */
export type AnswerEngine = EngineChoice;

export type AnswerUsage = ServerAnswerUsage;

export interface Answer {
  conversationId: string;
  messageId: string;
  answer: string;
  mode: AnswerMode;
  /** Why the answer stopped early: the token limit, or the engine failing mid-answer. */
  incomplete: AnswerIncomplete;
  citations: Citation[];
  engine: AnswerEngine;
  usage: AnswerUsage;
}

export type AnswerIncomplete = 'length' | 'interrupted' | 'truncated' | null;

export interface AskInput {
  question: string;
  conversationId?: string;
  documentIds?: string[];
}

/** A knowledge-base search the model ran while answering (the `search` stream event). */
export interface AskSearch {
  query: string;
  documentIds?: string[];
  k: number;
  hits: number;
}

export interface Feedback {
  rating: 'up' | 'down';
  comment: string | null;
  at: string;
  by: string | null;
}

export type Conversation = ReturnType<typeof presentConversation>;

/** A spoken turn's timings (ms) and audio, stored with its answer; null where the turn had no such step. */
export type VoiceMetrics = ServerVoiceMetrics;

export interface Message {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  createdAt: string;
  status: 'complete' | 'cancelled' | 'failed';
  mode: AnswerMode | null;
  incomplete: AnswerIncomplete;
  searches: Array<{ query: string; hits: number; documentIds?: string[] }>;
  citations: Citation[];
  engine: AnswerEngine | null;
  usage: AnswerUsage | null;
  shownChunkIds: string[];
  sentToCloud: boolean;
  promptVersion: string | null;
  feedback: Feedback | null;
  /** Set on answers given by voice (the realtime socket). */
  voice: VoiceMetrics | null;
}

export interface ConversationDetail extends Conversation {
  messages: Message[];
}

export type LlmPolicy = 'local-only' | 'local-then-cloud' | 'cloud-first';

export interface Settings {
  llmPolicy: LlmPolicy;
  engines: {
    local: { installed: boolean; model: string | null; reason: string | null };
    cloud: { configured: boolean; name: string | null; model: string | null; host: string | null };
  };
  security: SecuritySettings;
  /** Rate limits and quotas in force (per user or API key; the organisation gets `organisationMultiplier` times each). */
  limits: LimitValues;
  limitDefaults: LimitValues;
  /** Days kept in force (null: for ever), and the instance's defaults. */
  retention: Retention;
  retentionDefaults: Retention;
}

export type { Retention };
/** Days, null (for ever) or "default" (the instance's default again). */
export type RetentionPatch = { [K in keyof Retention]?: number | null | 'default' };

export type LimitKey = ServerLimitKey;
export type LimitValues = ServerLimitValues;

/** One limit as it applies to you; `organisation` figures are for admins only (null otherwise). */
export type LimitUse = Omit<ServerLimitReport, 'organisation' | 'refusedToday'> & {
  organisation: ServerLimitReport['organisation'] | null;
  refusedToday: { caller: number; organisation: number | null };
};

/** Sign-in rules of the organisation. */
export interface SecuritySettings {
  /** Members without two-step sign-in must set it up right after signing in. */
  requireTotp: boolean;
}

export type UsageGroup = 'day' | 'user' | 'kb' | 'engine';

/** Keys: a day (YYYY-MM-DD, UTC), a user id or `apiKey:<id>`, a knowledge-base id, or an engine name. */
export type UsageRow = ServerUsageRow;

export interface UsageReport {
  groupBy: UsageGroup;
  from: string;
  to: string;
  rows: UsageRow[];
}

export type ModelRole = 'llm' | 'embeddings' | 'stt' | 'tts' | 'vad';

export interface ModelsStatus {
  roles: {
    role: ModelRole;
    using: string | null;
    note: string;
    installed: { id: string; name: string }[];
    missing: { id: string; name: string; profiles: string[]; missingFiles: string[] }[];
  }[];
  fetchCommand: string;
}

export const api = {
  setupStatus: () => request<{ needed: boolean; tokenRequired: boolean }>('GET', '/setup'),
  setup: (input: SetupInput) => request<Me>('POST', '/setup', input),
  login: (input: { email: string; password: string; organisationId?: string }) => request<SignInResult>('POST', '/auth/login', input),
  completeSignIn: (input: { token: string; code: string } | { token: string; recoveryCode: string }) =>
    request<{ user: User; restriction: SessionRestriction | null }>('POST', '/auth/login/second-factor', input),
  totpStatus: () => request<TotpStatus>('GET', '/auth/totp'),
  totpSetup: () => request<{ secret: string; uri: string }>('POST', '/auth/totp/setup'),
  totpConfirm: (code: string) => request<{ recoveryCodes: string[] }>('POST', '/auth/totp/confirm', { code }),
  totpDisable: (proof: Reauthentication) => request<void>('POST', '/auth/totp/disable', proof),
  totpRecoveryCodes: (proof: Reauthentication) => request<{ recoveryCodes: string[] }>('POST', '/auth/totp/recovery-codes', proof),
  logout: () => request<void>('POST', '/auth/logout'),
  changePassword: (input: { currentPassword: string; newPassword: string }) => request<void>('POST', '/auth/password', input),
  me: () => request<Me>('GET', '/me'),

  listUsers: () => request<{ users: User[] }>('GET', '/users'),
  createUser: (input: NewUserInput) => request<{ user: User }>('POST', '/users', input),
  updateUser: (userId: string, patch: { name?: string; role?: Role; disabled?: boolean }) =>
    request<{ user: User }>('PATCH', `/users/${id(userId)}`, patch),
  deleteUser: (userId: string) => request<void>('DELETE', `/users/${id(userId)}`),
  resetPassword: (userId: string, input: { password?: string; removeTotp?: boolean }) => request<PasswordReset>('POST', `/users/${id(userId)}/reset-password`, input),

  listApiKeys: () => request<{ apiKeys: ApiKey[] }>('GET', '/api-keys'),
  createApiKey: (input: { name: string; role: ApiKeyRole }) => request<CreatedApiKey>('POST', '/api-keys', input),
  revokeApiKey: (keyId: string) => request<void>('DELETE', `/api-keys/${id(keyId)}`),

  listAudit: (query: AuditQuery & { limit: number; before?: string | undefined }) =>
    request<{ entries: AuditEntry[]; nextCursor: string | null }>('GET', `/audit?${auditSearch(query).toString()}`),
  auditActions: () => request<{ actions: string[]; groups: string[] }>('GET', '/audit/actions'),
  /** A download link for the audit log the filters select (the browser sends the session cookie). */
  auditExportUrl: (query: AuditQuery, format: 'csv' | 'jsonl') => `/api/v1/audit/export?${auditSearch({ ...query, format }).toString()}`,

  listOrganisations: () => request<{ organisations: OrganisationSummary[] }>('GET', '/organisations'),
  createOrganisation: (input: NewOrganisationInput) =>
    request<{ organisation: OrganisationSummary; admin: User }>('POST', '/organisations', input),
  deleteOrganisation: (orgId: string, confirm: string) => request<{ organisation: OrganisationSummary }>('DELETE', `/organisations/${id(orgId)}`, { confirm }),

  listKbs: () => request<{ kbs: Kb[] }>('GET', '/kbs'),
  createKb: (input: { name: string; description?: string }) => request<Kb>('POST', '/kbs', input),
  getKb: (kbId: string) => request<Kb>('GET', `/kbs/${id(kbId)}`),
  updateKb: (kbId: string, patch: KbPatch) => request<Kb>('PATCH', `/kbs/${id(kbId)}`, patch),
  deleteKb: (kbId: string) => request<void>('DELETE', `/kbs/${id(kbId)}`),
  reindexKb: (kbId: string) => request<{ documents: number }>('POST', `/kbs/${id(kbId)}/reindex`),

  listDocuments: (kbId: string) => request<{ documents: Doc[] }>('GET', `/kbs/${id(kbId)}/documents`),
  getDocument: (kbId: string, docId: string) => request<Doc>('GET', `/kbs/${id(kbId)}/documents/${id(docId)}`),
  deleteDocument: (kbId: string, docId: string) => request<void>('DELETE', `/kbs/${id(kbId)}/documents/${id(docId)}`),
  reprocessDocument: (kbId: string, docId: string) => request<Doc>('POST', `/kbs/${id(kbId)}/documents/${id(docId)}/reprocess`),
  documentContent: (kbId: string, docId: string) => request<DocContent>('GET', `/kbs/${id(kbId)}/documents/${id(docId)}/content`),
  getChunk: (kbId: string, chunkId: string) => request<Chunk>('GET', `/kbs/${id(kbId)}/chunks/${id(chunkId)}`),
  search: (kbId: string, input: { query: string; k?: number; mode?: RetrievalMode }) =>
    request<SearchResult>('POST', `/kbs/${id(kbId)}/search`, input),

  /** The answer as server-sent events; read `body` with readSse. Aborting `signal` stops the answer. */
  askStream: (kbId: string, input: AskInput, signal: AbortSignal) =>
    send('POST', `/kbs/${id(kbId)}/ask`, { body: input, accept: 'text/event-stream', signal }),
  listConversations: (kbId: string, limit = 50) =>
    request<{ conversations: Conversation[] }>('GET', `/conversations?kbId=${id(kbId)}&limit=${limit}`),
  getConversation: (conversationId: string) => request<ConversationDetail>('GET', `/conversations/${id(conversationId)}`),
  deleteConversation: (conversationId: string) => request<void>('DELETE', `/conversations/${id(conversationId)}`),
  sendFeedback: (conversationId: string, messageId: string, input: { rating: Feedback['rating']; comment?: string }) =>
    request<Message>('POST', `/conversations/${id(conversationId)}/messages/${id(messageId)}/feedback`, input),

  getSettings: () => request<Settings>('GET', '/settings'),
  updateSecurity: (security: SecuritySettings) => request<Settings>('PATCH', '/settings', { security }),
  updateSettings: (patch: { llmPolicy?: LlmPolicy; limits?: Partial<Record<LimitKey, number | null>>; retention?: RetentionPatch }) => request<Settings>('PATCH', '/settings', patch),
  usageLimits: () => request<{ limits: LimitValues; usage: LimitUse[] }>('GET', '/usage/limits'),
  usage: (query: { groupBy: UsageGroup; from: string; to: string }) =>
    request<UsageReport>('GET', `/usage?${new URLSearchParams(query).toString()}`),
  systemModels: () => request<ModelsStatus>('GET', '/system/models'),
};

export const canManageUsers = (user: User): boolean => user.role === 'owner' || user.role === 'admin';

/** Editors and above may change knowledge bases; viewers only read and search. */
export const canEditContent = (user: User): boolean => user.role !== 'viewer';

/** Downloads (plain links: the browser streams them to disk with the session cookie). */
export const organisationExportUrl = '/api/v1/organisation/export';
export const myConversationsExportUrl = '/api/v1/me/conversations/export';
export const documentFileUrl = (kbId: string, docId: string): string => `/api/v1/kbs/${id(kbId)}/documents/${id(docId)}/file`;
export const kbEventsUrl = (kbId: string): string => `/api/v1/kbs/${id(kbId)}/events`;

export interface Upload {
  done: Promise<UploadedDoc[]>;
  abort(): void;
}

/**
 * Sends files in one multipart request. XMLHttpRequest rather than fetch because only it reports
 * upload progress; `onProgress` gets the bytes of the request body sent so far.
 */
export function uploadDocuments(kbId: string, files: readonly File[], onProgress: (sent: number, total: number) => void): Upload {
  const xhr = new XMLHttpRequest();
  const done = new Promise<UploadedDoc[]>((resolve, reject) => {
    const body = new FormData();
    for (const file of files) body.append('files', file, file.name);
    xhr.open('POST', `/api/v1/kbs/${id(kbId)}/documents`);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.responseType = 'text';
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.total);
    xhr.onerror = () => reject(new ApiError({ status: 0, code: 'network', message: 'The upload was interrupted. Check the connection and try again.' }));
    xhr.onabort = () => reject(new ApiError({ status: 0, code: 'aborted', message: 'The upload was cancelled.' }));
    xhr.onload = () => {
      let payload: unknown = null;
      try {
        payload = JSON.parse(xhr.responseText);
      } catch {
        // Not JSON (a proxy's error page): errorFromResponse falls back to the status line.
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve((payload as { documents: UploadedDoc[] }).documents);
        return;
      }
      const retryAfter = xhr.getResponseHeader('Retry-After');
      const res = new Response(null, { status: xhr.status, statusText: xhr.statusText, headers: retryAfter ? { 'Retry-After': retryAfter } : {} });
      const error = errorFromResponse(res, payload);
      if (error.code === 'unauthenticated') unauthenticatedHandler?.();
      reject(error);
    };
    xhr.send(body);
  });
  return { done, abort: () => xhr.abort() };
}
