// Typed client for the Lectern HTTP API. Every call goes through `request` so that error
// shaping, the session cookie and the "signed out elsewhere" signal live in one place.

import type {
  ApiKeyRole,
  ApiKeys,
  AuditActions,
  AuditPage,
  Chunk,
  ConversationDetail,
  Conversations,
  CreatedApiKey,
  CreatedOrganisation,
  DeletingOrganisation,
  Doc,
  DocContent,
  Docs,
  ErrorDetail,
  Feedback,
  Kb,
  Kbs,
  KbSettings,
  LimitKey,
  LimitsAndUse,
  LlmPolicy,
  Me,
  MeAnswer,
  Message,
  ModelsStatus,
  ModelDownload,
  ModelDownloads,
  HealthReport,
  DiskStatus,
  SystemHistory,
  Backups,
  BackupJob,
  OrganisationList,
  PasswordReset,
  RecoveryCodes,
  Reindexing,
  Retention,
  RetrievalMode,
  Role,
  SearchResult,
  SecuritySettings,
  SessionStarted,
  Settings,
  SetupDone,
  SetupState,
  SignInResult,
  TotpKey,
  TotpStatus,
  UploadedDoc,
  UploadedDocs,
  UsageGroup,
  UsageReport,
  User,
  UserAnswer,
  UserList,
} from './api-types.ts';

export type * from './api-types.ts';

/** What re-confirms you before two-step sign-in is turned off or its recovery codes replaced. */
export type Reauthentication = { code: string } | { password: string };

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
  /** Only when setup needs one (`tokenRequired`): configured by the operator or printed in the server log. */
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

export interface KbPatch {
  name?: string;
  description?: string;
  settings?: Partial<Omit<KbSettings, 'embeddingModel'>>;
}

export interface AskInput {
  question: string;
  conversationId?: string;
  documentIds?: string[];
}

/** Days, null (for ever) or "default" (the instance's default again). */
export type RetentionPatch = { [K in keyof Retention]?: number | null | 'default' };

/** The console is for people: an API key's answer to /me (no user) is no session it can use. */
async function me(): Promise<Me> {
  const { user, organisation, restriction } = await request<MeAnswer>('GET', '/me');
  if (!user) throw new ApiError({ status: 403, code: 'forbidden', message: 'The console is for people: sign in with your email and password.' });
  return { user, organisation, restriction: restriction ?? null };
}

export const api = {
  setupStatus: () => request<SetupState>('GET', '/setup'),
  setup: (input: SetupInput) => request<SetupDone>('POST', '/setup', input),
  login: (input: { email: string; password: string; organisationId?: string }) => request<SignInResult>('POST', '/auth/login', input),
  completeSignIn: (input: { token: string; code: string } | { token: string; recoveryCode: string }) =>
    request<SessionStarted>('POST', '/auth/login/second-factor', input),
  totpStatus: () => request<TotpStatus>('GET', '/auth/totp'),
  totpSetup: () => request<TotpKey>('POST', '/auth/totp/setup'),
  totpConfirm: (code: string) => request<RecoveryCodes>('POST', '/auth/totp/confirm', { code }),
  totpDisable: (proof: Reauthentication) => request<void>('POST', '/auth/totp/disable', proof),
  totpRecoveryCodes: (proof: Reauthentication) => request<RecoveryCodes>('POST', '/auth/totp/recovery-codes', proof),
  logout: () => request<void>('POST', '/auth/logout'),
  changePassword: (input: { currentPassword: string; newPassword: string }) => request<void>('POST', '/auth/password', input),
  me,

  listUsers: () => request<UserList>('GET', '/users'),
  createUser: (input: NewUserInput) => request<UserAnswer>('POST', '/users', input),
  updateUser: (userId: string, patch: { name?: string; role?: Role; disabled?: boolean }) =>
    request<UserAnswer>('PATCH', `/users/${id(userId)}`, patch),
  deleteUser: (userId: string) => request<void>('DELETE', `/users/${id(userId)}`),
  resetPassword: (userId: string, input: { password?: string; removeTotp?: boolean }) => request<PasswordReset>('POST', `/users/${id(userId)}/reset-password`, input),

  listApiKeys: () => request<ApiKeys>('GET', '/api-keys'),
  createApiKey: (input: { name: string; role: ApiKeyRole }) => request<CreatedApiKey>('POST', '/api-keys', input),
  revokeApiKey: (keyId: string) => request<void>('DELETE', `/api-keys/${id(keyId)}`),

  listAudit: (query: AuditQuery & { limit: number; before?: string | undefined }) =>
    request<AuditPage>('GET', `/audit?${auditSearch(query).toString()}`),
  auditActions: () => request<AuditActions>('GET', '/audit/actions'),
  /** A download link for the audit log the filters select (the browser sends the session cookie). */
  auditExportUrl: (query: AuditQuery, format: 'csv' | 'jsonl') => `/api/v1/audit/export?${auditSearch({ ...query, format }).toString()}`,

  listOrganisations: () => request<OrganisationList>('GET', '/organisations'),
  createOrganisation: (input: NewOrganisationInput) =>
    request<CreatedOrganisation>('POST', '/organisations', input),
  deleteOrganisation: (orgId: string, confirm: string) => request<DeletingOrganisation>('DELETE', `/organisations/${id(orgId)}`, { confirm }),

  listKbs: () => request<Kbs>('GET', '/kbs'),
  createKb: (input: { name: string; description?: string }) => request<Kb>('POST', '/kbs', input),
  getKb: (kbId: string) => request<Kb>('GET', `/kbs/${id(kbId)}`),
  updateKb: (kbId: string, patch: KbPatch) => request<Kb>('PATCH', `/kbs/${id(kbId)}`, patch),
  deleteKb: (kbId: string) => request<void>('DELETE', `/kbs/${id(kbId)}`),
  reindexKb: (kbId: string) => request<Reindexing>('POST', `/kbs/${id(kbId)}/reindex`),

  listDocuments: (kbId: string) => request<Docs>('GET', `/kbs/${id(kbId)}/documents`),
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
    request<Conversations>('GET', `/conversations?kbId=${id(kbId)}&limit=${limit}`),
  getConversation: (conversationId: string) => request<ConversationDetail>('GET', `/conversations/${id(conversationId)}`),
  deleteConversation: (conversationId: string) => request<void>('DELETE', `/conversations/${id(conversationId)}`),
  sendFeedback: (conversationId: string, messageId: string, input: { rating: Feedback['rating']; comment?: string }) =>
    request<Message>('POST', `/conversations/${id(conversationId)}/messages/${id(messageId)}/feedback`, input),

  getSettings: () => request<Settings>('GET', '/settings'),
  updateSecurity: (security: SecuritySettings) => request<Settings>('PATCH', '/settings', { security }),
  updateSettings: (patch: { llmPolicy?: LlmPolicy; limits?: Partial<Record<LimitKey, number | null>>; retention?: RetentionPatch; voice?: Settings['voice'] }) => request<Settings>('PATCH', '/settings', patch),
  usageLimits: () => request<LimitsAndUse>('GET', '/usage/limits'),
  usage: (query: { groupBy: UsageGroup; from: string; to: string }) =>
    request<UsageReport>('GET', `/usage?${new URLSearchParams(query).toString()}`),
  systemModels: () => request<ModelsStatus>('GET', '/system/models'),
  modelDownloads: () => request<ModelDownloads>('GET', '/system/models/downloads'),
  downloadModel: (id: string) => request<ModelDownload>('POST', `/system/models/${encodeURIComponent(id)}/download`),
  systemHealth: () => request<HealthReport>('GET', '/system/health'),
  systemDisk: () => request<DiskStatus>('GET', '/system/disk'),
  systemHistory: (minutes: number) => request<SystemHistory>('GET', `/system/history?minutes=${minutes}`),
  backups: () => request<Backups>('GET', '/system/backups'),
  startBackup: () => request<BackupJob>('POST', '/system/backups'),
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
        resolve((payload as UploadedDocs).documents);
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
