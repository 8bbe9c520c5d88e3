// Typed client for the Lectern HTTP API. Every call goes through `request` so that error
// shaping, the session cookie and the "signed out elsewhere" signal live in one place.

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
}

export interface Organisation {
  id: string;
  name: string;
}

export interface Me {
  user: User;
  organisation: Organisation;
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
  actor: { type: 'user' | 'apiKey' | 'anonymous'; id: string | null; name: string | null };
  target: { type: string; id: string; name: string | null } | null;
  ip: string | null;
  details: Record<string, unknown> | null;
}

export interface OrganisationSummary {
  id: string;
  name: string;
  createdAt: string;
  userCount: number;
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

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError({ status: 0, code: 'network', message: 'Cannot reach the server. Check the connection and try again.' });
  }
  if (res.status === 204) return undefined as T;
  const payload: unknown = await res.json().catch(() => null);
  if (res.ok) return payload as T;
  const error = errorFromResponse(res, payload);
  if (error.code === 'unauthenticated') unauthenticatedHandler?.();
  throw error;
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

export const api = {
  setupStatus: () => request<{ needed: boolean; tokenRequired: boolean }>('GET', '/setup'),
  setup: (input: SetupInput) => request<Me>('POST', '/setup', input),
  login: (input: { email: string; password: string }) => request<{ user: User }>('POST', '/auth/login', input),
  logout: () => request<void>('POST', '/auth/logout'),
  changePassword: (input: { currentPassword: string; newPassword: string }) => request<void>('POST', '/auth/password', input),
  me: () => request<Me>('GET', '/me'),

  listUsers: () => request<{ users: User[] }>('GET', '/users'),
  createUser: (input: NewUserInput) => request<{ user: User }>('POST', '/users', input),
  updateUser: (userId: string, patch: { name?: string; role?: Role; disabled?: boolean }) =>
    request<{ user: User }>('PATCH', `/users/${id(userId)}`, patch),
  deleteUser: (userId: string) => request<void>('DELETE', `/users/${id(userId)}`),

  listApiKeys: () => request<{ apiKeys: ApiKey[] }>('GET', '/api-keys'),
  createApiKey: (input: { name: string; role: ApiKeyRole }) => request<CreatedApiKey>('POST', '/api-keys', input),
  revokeApiKey: (keyId: string) => request<void>('DELETE', `/api-keys/${id(keyId)}`),

  listAudit: (limit: number) => request<{ entries: AuditEntry[] }>('GET', `/audit?limit=${limit}`),

  listOrganisations: () => request<{ organisations: OrganisationSummary[] }>('GET', '/organisations'),
  createOrganisation: (input: NewOrganisationInput) =>
    request<{ organisation: OrganisationSummary; admin: User }>('POST', '/organisations', input),
};

export const canManageUsers = (user: User): boolean => user.role === 'owner' || user.role === 'admin';
