import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { errors } from '../errors.ts';
import type { HttpMetrics } from './recorder.ts';

/**
 * Times every request under the route pattern that answered it (@koa/router's `_matchedRoute`),
 * so `/api/v1/kbs/abc` and `/api/v1/kbs/def` are one series; a path no route matched is named by
 * `unmatched` (the console's pages and assets, a 404) rather than by itself.
 */
export function httpMetrics(metrics: HttpMetrics, unmatched: (path: string) => string): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const route = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
      metrics.request(ctx.method, typeof route === 'string' ? route : unmatched(ctx.path), ctx.status, (performance.now() - started) / 1000);
    }
  };
}

/** Digests of equal length, so comparing them takes the same time whatever the token given. */
const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * GET /metrics: with METRICS_TOKEN, only for `Authorization: Bearer <token>`; without it, only for
 * a request from the host itself (a Prometheus on the box, or an SSH tunnel).
 */
export function metricsEndpoint(options: {
  token: string | undefined;
  fromThisHost: (ctx: Parameters<Middleware>[0]) => boolean;
  scrape: () => Promise<{ contentType: string; body: string }>;
}): Middleware {
  const expected = options.token === undefined ? null : digest(options.token);
  return async (ctx) => {
    if (expected) {
      const given = /^Bearer (.+)$/i.exec(ctx.get('authorization'))?.[1] ?? '';
      if (!timingSafeEqual(digest(given), expected)) throw errors.metricsToken();
    } else if (!options.fromThisHost(ctx)) {
      throw errors.metricsLoopbackOnly();
    }
    const { contentType, body } = await options.scrape();
    ctx.set('cache-control', 'no-store');
    ctx.type = contentType;
    ctx.body = body;
  };
}
