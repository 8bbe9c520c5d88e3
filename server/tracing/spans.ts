// Spans, for the parts of the server whose time matters (HTTP, ingestion stages, search, LLM, STT,
// TTS). Through @opentelemetry/api only: until ./open.ts registers an exporter (OTLP endpoint
// configured) every span is the API's no-op, so code may trace unconditionally at no real cost.
//
// What goes into attributes is what an operator needs to find slow work — routes, engines, modes,
// counts, ids — never a question, an answer, a transcript or a document's text: traces leave the
// box for whatever collector the operator points them at.

import { SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

export const tracer = trace.getTracer('lectern');

/**
 * Runs `work` inside a span (the parent of the spans it starts); a throw marks the span failed.
 * `root` starts a trace of its own, for work that outlives whatever was active when it was queued.
 */
export async function inSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>, options: { root?: boolean } = {}): Promise<T> {
  return tracer.startActiveSpan(name, { attributes, root: options.root ?? false }, async (span) => {
    try {
      return await work(span);
    } catch (err) {
      failed(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

export function failed(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/**
 * A span for work timed elsewhere, that just ended after `ms` (an ingestion stage, a generation the
 * usage ledger accounts for): it starts `ms` ago, under whatever span is active now. `events` are
 * offsets in ms from its start, e.g. the first token.
 */
export function pastSpan(name: string, ms: number, attributes: Attributes, events: Record<string, number | null> = {}): void {
  const end = Date.now();
  const start = end - ms;
  const span = tracer.startSpan(name, { attributes, startTime: start });
  for (const [event, at] of Object.entries(events)) if (at !== null) span.addEvent(event, start + at);
  span.end(end);
}

/** The active span's ids, for log lines: a trace found in the collector leads to its log, and back. */
export function activeTraceIds(): { traceId: string; spanId: string } | null {
  const span = trace.getActiveSpan();
  if (!span) return null;
  const { traceId, spanId, traceFlags } = span.spanContext();
  // Sampled out or the no-op span: nothing in the collector to find.
  return traceFlags & 1 ? { traceId, spanId } : null;
}
