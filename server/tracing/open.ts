import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Logger } from '../logger.ts';

export interface TracingOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL; traces go to `<endpoint>/v1/traces`. */
  endpoint: string | undefined;
  serviceName: string;
  version: string;
  log: Logger;
}

export interface Tracing {
  /** Where spans go, or null when tracing is off. */
  url: string | null;
  /** Sends what is buffered (shutdown, tests). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Registers the OpenTelemetry SDK for the process when an OTLP endpoint is configured: spans
 * batched and sent as OTLP/HTTP JSON, parents followed through async calls, and a `traceparent`
 * header from a proxy honoured so Lectern's spans join the proxy's trace. Off, it registers
 * nothing and the API stays a no-op.
 */
export function openTracing(options: TracingOptions): Tracing {
  if (!options.endpoint) return { url: null, flush: async () => {}, close: async () => {} };
  const url = `${options.endpoint.replace(/\/+$/, '')}/v1/traces`;
  const exporter = new OTLPTraceExporter({ url });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName, 'service.version': options.version }),
    spanProcessors: [new BatchSpanProcessor({ exporter })],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  options.log.info({ url }, 'traces are sent to an OTLP collector');
  return {
    url,
    flush: () => provider.forceFlush(),
    close: async () => {
      await provider.shutdown().catch((err: unknown) => options.log.warn({ err }, 'could not send the last traces'));
      // Unregistered, so a later server in the same process (tests) starts from the no-op API.
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
