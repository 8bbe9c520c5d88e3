import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Middleware } from 'koa';
import { failed, tracer } from './spans.ts';

/**
 * A server span per request, named by the route pattern once the router has matched it
 * (`GET /api/v1/kbs/:kbId`), never by the raw path, which holds ids; the spans of the work it does
 * (search, LLM, speech) are its children.
 */
export function traceRequests(routeOf: (path: string) => string): Middleware {
  return async (ctx, next) => {
    const parent = propagation.extract(context.active(), ctx.headers);
    const span = tracer.startSpan(ctx.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': ctx.method } }, parent);
    try {
      await context.with(trace.setSpan(parent, span), next);
    } catch (err) {
      failed(span, err);
      throw err;
    } finally {
      const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? routeOf(ctx.path);
      span.updateName(`${ctx.method} ${route}`);
      span.setAttributes({ 'http.route': route, 'http.response.status_code': ctx.status });
      if (ctx.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}
