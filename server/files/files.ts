// The blob port: original uploaded files, content-addressed by SHA-256. Content addressing makes
// writes idempotent (a retried upload or a duplicate in another knowledge base is stored once)
// and lets a reader verify what it got.

import { createHash } from 'node:crypto';

export interface BlobInfo {
  sha256: string;
  size: number;
}

export interface BlobStore {
  readonly kind: string;
  /** Streams `source` into the store; resolves once the bytes are durable. Refuses more than `maxBytes`. */
  put(source: AsyncIterable<Uint8Array>, options: { maxBytes: number }): Promise<BlobInfo>;
  read(sha256: string): Promise<Uint8Array>;
  stream(sha256: string): Promise<NodeJS.ReadableStream>;
  has(sha256: string): Promise<boolean>;
  delete(sha256: string): Promise<void>;
  ping(): Promise<void>;
}

/**
 * `source` passed through while it is hashed and counted, for a store to write: its name (the
 * SHA-256) and size are known once the last chunk has gone by. Past `maxBytes` the stream fails
 * with BlobTooLargeError, so the store discards what it wrote.
 */
export function measured(source: AsyncIterable<Uint8Array>, maxBytes: number): { chunks: AsyncIterable<Uint8Array>; sha256(): string; size(): number } {
  const hash = createHash('sha256');
  let size = 0;
  const chunks = (async function* () {
    for await (const chunk of source) {
      size += chunk.byteLength;
      if (size > maxBytes) throw new BlobTooLargeError(maxBytes);
      hash.update(chunk);
      yield chunk;
    }
  })();
  return { chunks, sha256: () => hash.digest('hex'), size: () => size };
}

export class BlobTooLargeError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`file is larger than ${limit} bytes`);
    this.name = 'BlobTooLargeError';
    this.limit = limit;
  }
}
