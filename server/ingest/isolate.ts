// Parsing happens only in worker threads, so a hostile or pathological document can only hurt
// the worker parsing it: V8 heap/stack limits bound its memory, a wall-clock timer terminates it,
// and the caller's AbortSignal terminates it too. The main thread never parses, so the server
// stays responsive. Workers are pooled and reused (./pool.ts): starting a fresh one and loading
// the parsers for every document was most of the CPU a small document cost.

import { ParsePool, type PoolOptions } from './pool.ts';
import type { ParsedDocument, ParseInput, ParseLimits, ParseProgress } from './types.ts';

export { parseDocument } from './parse.ts';

/** Parses documents for the ingestion pipeline; opened once by the appliance and closed at shutdown. */
export interface Parser {
  parse(input: ParseInput, limits: ParseLimits, onProgress: ParseProgress, signal: AbortSignal): Promise<ParsedDocument>;
  close(): Promise<void>;
}

/**
 * Opens the isolated parser: `concurrency` long-lived worker threads, started as documents
 * arrive; the rest of the options tune when a worker is replaced or ended (see PoolOptions).
 */
export function openParser(options: { concurrency: number } & Omit<PoolOptions, 'size'>): ParsePool {
  const { concurrency, ...rest } = options;
  return new ParsePool({ size: concurrency, ...rest });
}

/**
 * Parses one document in a worker of its own, ended afterwards: for tools and tests that parse
 * once. The input's buffer is transferred (detached for the caller) when it is not shared with
 * other data; otherwise it is copied. Rejects with an IngestError, or with `signal.reason`.
 */
export async function parseIsolated(
  input: ParseInput,
  limits: ParseLimits,
  onProgress?: ParseProgress,
  signal?: AbortSignal,
): Promise<ParsedDocument> {
  const parser = openParser({ concurrency: 1 });
  try {
    return await parser.parse(input, limits, onProgress, signal);
  } finally {
    await parser.close();
  }
}
