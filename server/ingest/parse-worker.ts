// Worker entry for ./isolate.ts: parses one document and reports back by message. It runs under
// V8 resource limits and may be terminated at any moment; it holds nothing that needs cleanup.

import { enableCompileCache } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerReply, WorkerRequest } from './isolate.ts';
import type { OcrEngine } from './parse.ts';
import { IngestError, type ParseLimits } from './types.ts';

// Every worker is a fresh isolate that would otherwise re-compile the parsers (and strip their
// types) for each document; V8's on-disk code cache cuts that part of startup by about 100 ms.
enableCompileCache();

/** OCR loads only when enabled; when its components do not load on this machine, OCR is unavailable. */
async function loadOcr(limits: ParseLimits): Promise<{ ocr?: OcrEngine; ocrUnavailableReason?: string }> {
  if (!limits.ocr) return {};
  const ocr = await import('./ocr.ts');
  const { ok, reason } = await ocr.ocrAvailable(limits.ocrLanguages);
  return ok ? { ocr } : { ocrUnavailableReason: reason ?? 'unknown reason' };
}

async function main(port: NonNullable<typeof parentPort>, request: WorkerRequest): Promise<void> {
  const reply = (message: WorkerReply) => port.postMessage(message);
  try {
    const ocrOptions = await loadOcr(request.limits);
    const { parseDocument } = await import('./parse.ts');
    const document = await parseDocument({ bytes: request.bytes, filename: request.filename }, request.limits, {
      onProgress: (stage, fraction) => reply({ type: 'progress', stage, fraction }),
      ...ocrOptions,
    });
    reply({ type: 'result', document });
  } catch (error) {
    const failure =
      error instanceof IngestError
        ? error
        : new IngestError('internal', `The parser failed unexpectedly: ${(error as Error).message}`);
    reply({ type: 'error', code: failure.code, message: failure.message, retryable: failure.retryable });
  }
}

if (parentPort) await main(parentPort, workerData as WorkerRequest);
