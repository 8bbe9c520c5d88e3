// The malware scanner port: what ingestion asks before it lets a file anywhere near a parser.
// clamd (ClamAV's daemon) is the one implementation; the verdicts and failures below are the
// whole vocabulary the pipeline needs, whatever engine answers.

/** What a scanner can say about a file it read to the end, or stopped reading at its limit. */
export type ScanVerdict =
  | { outcome: 'clean' }
  | { outcome: 'infected'; signature: string }
  /** Beyond what the scanner accepts (clamd's StreamMaxLength): nothing is known about the file. */
  | { outcome: 'too_large' };

export interface MalwareScanner {
  readonly kind: string;
  /** Where it is reached, for messages to operators (never carries a secret). */
  readonly address: string;
  /** Streams `source` (a blob store's stream) to the scanner; the file is never held in memory whole. */
  scan(source: AsyncIterable<Uint8Array | string>, signal?: AbortSignal): Promise<ScanVerdict>;
  /** Resolves when the scanner answers; for readiness. */
  ping(): Promise<void>;
}

/** The scanner could not be reached, or did not answer in time: try later, and never skip the scan. */
export class ScannerUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ScannerUnavailableError';
  }
}

/** The scanner answered, but with an error instead of a verdict. */
export class ScanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScanError';
  }
}
