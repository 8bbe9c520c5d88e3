// The blob port: original uploaded files, content-addressed by SHA-256. Content addressing makes
// writes idempotent (a retried upload or a duplicate in another knowledge base is stored once)
// and lets a reader verify what it got.

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

export class BlobTooLargeError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`file is larger than ${limit} bytes`);
    this.name = 'BlobTooLargeError';
    this.limit = limit;
  }
}
