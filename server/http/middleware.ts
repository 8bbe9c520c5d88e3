import { randomUUID } from 'node:crypto';
import type { Middleware, Context } from 'koa';
import { AppError, errors, toErrorBody } from '../errors.ts';
import { logContext, type Logger } from '../logger.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Accepts a sane incoming `x-request-id` (so a proxy's id follows the request) or makes one, and
 * logs each request when it ends. Requests `quiet` says are routine (health probes, the console's
 * files) are logged at debug only: a probe every few seconds and a page's assets would otherwise
 * bury the requests that matter, and cost a synchronous write each.
 */
export function requestContext(log: Logger, options: { quiet?: (ctx: Context) => boolean } = {}): Middleware {
  // The request line is built here from fields that hold no secret (method, path, address, status),
  // so it skips redaction: matching the wildcard paths costs about five times the rest of the line,
  // on every request. Everything else logged while serving goes through `log`, redacted.
  const requestLog = log.child({}, { redact: { paths: [] } });
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    // The logger's mixin adds the request id from the async context below: a child binding it too
    // would write it twice on every line.
    ctx.state.log = log;
    ctx.set('x-request-id', requestId);
    const started = performance.now();
    await logContext.run({ reqId: requestId }, async () => {
      try {
        await next();
      } finally {
        const level = options.quiet?.(ctx) ? 'debug' : 'info';
        if (requestLog.isLevelEnabled(level)) {
          const ms = Math.round((performance.now() - started) * 10) / 10;
          requestLog[level]({ req: { method: ctx.method, path: ctx.path, ip: ctx.ip }, res: { status: ctx.status }, ms }, 'request');
        }
      }
    });
  };
}

/**
 * GET /healthz, answered ahead of every other middleware: a liveness probe asks only whether the
 * process answers, every few seconds, so it skips the request id, the log line, the metrics and
 * the headers meant for pages; what it costs is what a probe should cost.
 */
export function liveness(): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== '/healthz' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx.set({ 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    ctx.body = { status: 'ok' };
  };
}

// Errors raised by Koa and its body parser carry `status`/`type`; they are translated to the
// catalogue so clients see one error shape whatever layer refused the request.
function fromHttpError(err: unknown, bodyLimit: string): unknown {
  if (err instanceof AppError || typeof err !== 'object' || err === null) return err;
  const e = err as { status?: number; type?: string; expose?: boolean; message?: string };
  // co-body marks every body it could not parse with status 400 and the raw `body` — including a
  // well-formed one that names `__proto__`, which it refuses.
  if (e.type === 'entity.parse.failed' || (e.status === 400 && ('body' in e || /JSON/i.test(e.message ?? '')))) return errors.invalidJson();
  if (e.status === 413 || e.type === 'entity.too.large') return errors.payloadTooLarge(bodyLimit);
  if (e.status === 415) return errors.unsupportedMediaType();
  if (e.status === 405 || e.status === 501) return errors.methodNotAllowed();
  if (e.status === 404) return errors.notFound();
  if (e.status && e.status >= 400 && e.status < 500 && e.expose) return new AppError(e.status, 'bad_request', e.message ?? 'Bad request.');
  return err;
}

/** The one place where a thrown value becomes an HTTP response. */
export function errorHandler(options: { bodyLimit: string }): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (thrown) {
      const err = fromHttpError(thrown, options.bodyLimit);
      const { status, body, headers, expected } = toErrorBody(err, ctx.state.requestId ?? 'unknown');
      const log: Logger = ctx.state.log;
      if (expected && status < 500) log.info({ code: body.error.code, status }, body.error.message);
      else log.error({ err: thrown }, 'request failed');
      ctx.status = status;
      ctx.set(headers);
      ctx.set('cache-control', 'no-store');
      ctx.body = body;
    }
  };
}

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

export function securityHeaders(): Middleware {
  return async (ctx, next) => {
    ctx.set({
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'same-origin',
      'cross-origin-opener-policy': 'same-origin',
      'permissions-policy': 'microphone=(self), camera=(), geolocation=()',
    });
    await next();
  };
}

/** The origin this server is reached at: PUBLIC_URL when configured, else what the request says. */
export function ownOrigin(ctx: Context, publicUrl: string | undefined): string {
  return publicUrl ? new URL(publicUrl).origin : `${ctx.protocol}://${ctx.host}`;
}
