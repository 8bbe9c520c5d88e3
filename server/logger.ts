import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type Logger, type DestinationStream } from 'pino';
import { activeTraceIds } from './tracing/spans.ts';

export type { Logger };

/** Per-request values that every log line written while serving that request carries. */
export interface LogContext {
  reqId: string;
}

export const logContext = new AsyncLocalStorage<LogContext>();

// Secrets never reach the log, whichever object they ride on. Request bodies never do either:
// a parser's error carries the raw body (a login's password with it).
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'body',
  '*.body',
  'rawBody',
  '*.rawBody',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.setupToken',
  '*.key',
  '*.apiKey',
  '*.token',
  '*.secret',
  '*.clientSecret',
  '*.authorization',
];

export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'lectern' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      // The request id is attached through async context rather than passed around, so that
      // code deep in a service logs with it without knowing about HTTP.
      mixin: () => {
        const ctx = logContext.getStore();
        const ids = activeTraceIds();
        if (!ids) return ctx ? { reqId: ctx.reqId } : {};
        return { ...(ctx ? { reqId: ctx.reqId } : {}), traceId: ids.traceId, spanId: ids.spanId };
      },
    },
    options.destination,
  );
}
