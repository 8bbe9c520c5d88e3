import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { activeTraceIds, inSpan, pastSpan } from './spans.ts';

describe('spans', () => {
  const exporter = new InMemorySpanExporter();
  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
  });
  after(() => {
    trace.disable();
    context.disable();
  });

  it('nests the spans work starts under its span, and marks a throw as an error', async () => {
    exporter.reset();
    await assert.rejects(
      inSpan('outer', { 'lectern.kb.id': 'kb1' }, async () => {
        await inSpan('inner', {}, async () => {
          assert.ok(activeTraceIds(), 'log lines get the ids inside a span');
        });
        throw new Error('disk full');
      }),
      /disk full/,
    );
    const [inner, outer] = exporter.getFinishedSpans();
    assert.equal(inner?.name, 'inner');
    assert.equal(inner?.parentSpanContext?.spanId, outer?.spanContext().spanId);
    assert.equal(outer?.status.code, SpanStatusCode.ERROR);
    assert.equal(outer?.status.message, 'disk full');
    assert.equal(outer?.attributes['lectern.kb.id'], 'kb1');
    assert.equal(activeTraceIds(), null, 'outside any span');
  });

  it('a root span starts a trace of its own', async () => {
    exporter.reset();
    await inSpan('request', {}, () => inSpan('job', {}, async () => {}, { root: true }));
    const [job, request] = exporter.getFinishedSpans();
    assert.notEqual(job?.spanContext().traceId, request?.spanContext().traceId);
  });

  it('a past span ends now, began `ms` ago and places its events at their offsets', () => {
    exporter.reset();
    const before = Date.now();
    pastSpan('llm generate', 800, { tokens: 12 }, { 'first token': 150, 'never happened': null });
    const [span] = exporter.getFinishedSpans();
    const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;
    assert.ok(span);
    assert.ok(Math.abs(ms(span.endTime) - ms(span.startTime) - 800) < 1);
    assert.ok(ms(span.endTime) >= before - 1);
    assert.deepEqual(span.events.map((e) => e.name), ['first token']);
    assert.ok(Math.abs(ms(span.events[0]!.time) - ms(span.startTime) - 150) < 1);
  });
});
