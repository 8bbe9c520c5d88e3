// Worker entry for the parse pool (./pool.ts): parses one document at a time, as each request
// arrives, and reports back by message under the request's id. It runs under V8 resource limits
// and may be terminated at any moment; it holds nothing that needs cleanup.

import { enableCompileCache } from 'node:module';
import { getHeapStatistics } from 'node:v8';
import { parentPort } from 'node:worker_threads';
import type { OcrEngine } from './parse.ts';
import type { WorkerReply, WorkerRequest } from './pool.ts';
import { receiveBytes } from './source.ts';
import { IngestError, type ParseInput, type ParseLimits } from './types.ts';

// V8's on-disk code cache spares each new worker re-compiling the parsers (and stripping their
// types): about 100 ms of its startup. It covers only what is imported after this call, hence
// the dynamic import below.
enableCompileCache();
// Loaded while the worker waits for its first document, not when that document arrives.
const { parseDocument } = await import('./parse.ts');

/** OCR loads only when enabled; when its components do not load on this machine, OCR is unavailable. */
async function loadOcr(limits: ParseLimits): Promise<{ ocr?: OcrEngine; ocrUnavailableReason?: string }> {
  if (!limits.ocr) return {};
  const ocr = await import('./ocr.ts');
  const { ok, reason } = await ocr.ocrAvailable(limits.ocrLanguages);
  return ok ? { ocr } : { ocrUnavailableReason: reason ?? 'unknown reason' };
}

const heapMb = () => getHeapStatistics().used_heap_size / (1024 * 1024);

async function parse(port: NonNullable<typeof parentPort>, request: WorkerRequest): Promise<void> {
  const { id } = request;
  const reply = (message: WorkerReply) => port.postMessage(message);
  try {
    const ocrOptions = await loadOcr(request.limits);
    const { file, filename } = request;
    const input: ParseInput = 'bytes' in file ? { filename, bytes: file.bytes } : { filename, size: file.size, stream: async () => receiveBytes(file.port) };
    const document = await parseDocument(input, request.limits, {
      onProgress: (stage, fraction) => reply({ id, type: 'progress', stage, fraction }),
      ...ocrOptions,
    });
    reply({ id, type: 'result', document, heapMb: heapMb() });
  } catch (error) {
    const failure =
      error instanceof IngestError
        ? error
        : new IngestError('internal', `The parser failed unexpectedly: ${(error as Error).message}`);
    reply({ id, type: 'error', code: failure.code, message: failure.message, retryable: failure.retryable, heapMb: heapMb() });
  }
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (request: WorkerRequest) => void parse(port, request));
}
