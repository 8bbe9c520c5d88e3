// How a document's bytes reach its parser. Text formats read them a piece at a time, so a file
// far over the text limit is refused after the limit's worth of it, not after all of it is in
// memory; PDF, DOCX and images need them whole. A pooled worker is handed either the bytes
// (transferred) or a message port on which the main thread streams them from the blob store
// a batch at a time, on request, so neither thread ever holds the whole of a streamed file.

import type { MessagePort } from 'node:worker_threads';
import { IngestError, type ByteStream, type ParseInput } from './types.ts';

/** Bytes handed to a text decoder at a time, and sent to a worker per message. */
export const PIECE_BYTES = 1 << 20;
/** The prefix read first: the format is sniffed and a text's encoding decided on it. */
export const HEAD_BYTES = 1 << 20;

/** The bytes of one document, read once from the start: a prefix to sniff, then pieces or the whole. */
export class ByteSource {
  readonly size: number;
  readonly #bytes: Uint8Array | undefined;
  readonly #open: (() => Promise<ByteStream>) | undefined;
  #stream: AsyncIterator<Uint8Array | string> | undefined;
  /** Pieces read ahead by `head`, handed out again first. */
  readonly #buffered: Uint8Array[] = [];
  #taken = false;
  #whole: Promise<Uint8Array> | undefined;
  /** Bytes handed out by `pieces` so far. */
  read = 0;

  constructor(input: ParseInput) {
    if ('bytes' in input) {
      this.#bytes = input.bytes;
      this.size = input.bytes.byteLength;
    } else {
      this.#open = input.stream;
      this.size = input.size;
    }
  }

  async #next(): Promise<Uint8Array | undefined> {
    this.#stream ??= (await (this.#open as () => Promise<ByteStream>)())[Symbol.asyncIterator]();
    const { done, value } = await this.#stream.next();
    return done ? undefined : bytesOf(value);
  }

  /** The first `length` bytes (fewer when the file is shorter). */
  async head(length: number): Promise<Uint8Array> {
    if (this.#bytes) return this.#bytes.subarray(0, length);
    let have = this.#buffered.reduce((n, b) => n + b.byteLength, 0);
    while (have < length) {
      const piece = await this.#next();
      if (!piece) break;
      this.#buffered.push(piece);
      have += piece.byteLength;
    }
    return concat(this.#buffered, Math.min(have, length));
  }

  /** Every byte from the start, a piece (at most about PIECE_BYTES) at a time. Only one pass. */
  async *pieces(): AsyncGenerator<Uint8Array> {
    this.#take();
    if (this.#bytes) {
      for (let at = 0; at < this.#bytes.byteLength; at += PIECE_BYTES) {
        const piece = this.#bytes.subarray(at, at + PIECE_BYTES);
        this.read += piece.byteLength;
        yield piece;
      }
      return;
    }
    try {
      for (let piece = this.#buffered.shift() ?? (await this.#next()); piece; piece = this.#buffered.shift() ?? (await this.#next())) {
        this.read += piece.byteLength;
        yield piece;
      }
    } finally {
      await this.#stream?.return?.();
    }
  }

  /** The whole file as one buffer, for formats that cannot be read in pieces; read once, then kept. */
  async all(): Promise<Uint8Array> {
    if (this.#bytes) return this.#bytes;
    this.#whole ??= this.#readAll();
    return this.#whole;
  }

  async #readAll(): Promise<Uint8Array> {
    const whole = new Uint8Array(this.size);
    let at = 0;
    for await (const piece of this.pieces()) {
      if (at + piece.byteLength > this.size) throw new IngestError('internal', `The stored file is longer than its recorded ${this.size} bytes`);
      whole.set(piece, at);
      at += piece.byteLength;
    }
    if (at !== this.size) throw new IngestError('internal', `The stored file has ${at} of its recorded ${this.size} bytes`);
    return whole;
  }

  #take(): void {
    if (this.#taken) throw new Error('a ByteSource is read once');
    this.#taken = true;
  }
}

const bytesOf = (chunk: Uint8Array | string): Uint8Array => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk);

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1 && (parts[0] as Uint8Array).byteLength === length) return parts[0] as Uint8Array;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    if (at >= length) break;
    const take = part.subarray(0, length - at);
    out.set(take, at);
    at += take.byteLength;
  }
  return out;
}

/** Worker → main: send the next batch. Main → worker: a batch, the end, or why reading failed. */
export type FeedRequest = 'more';
export type FeedReply = { piece: Uint8Array } | { end: true } | { error: string };

/**
 * Main-thread side: answers each request on `port` with the next batch (about PIECE_BYTES) of
 * the stream `open` returns, opened at the first request. `close` ends the stream whether or
 * not the worker read it all; `failure` is what reading threw, for the caller to report rather
 * than the worker's view of it.
 */
export function feedBytes(port: MessagePort, open: () => Promise<ByteStream>): { close(): void; failure(): unknown } {
  let stream: AsyncIterator<Uint8Array | string> | undefined;
  let failure: unknown;
  let closed = false;
  let queue = Promise.resolve();
  const send = async (): Promise<void> => {
    try {
      if (!stream) {
        const opened = (await open())[Symbol.asyncIterator]();
        if (closed) return void (await opened.return?.());
        stream = opened;
      }
      const parts: Uint8Array[] = [];
      let length = 0;
      while (length < PIECE_BYTES) {
        const { done, value } = await stream.next();
        if (done) break;
        const bytes = bytesOf(value);
        parts.push(bytes);
        length += bytes.byteLength;
      }
      if (closed) return;
      if (length === 0) return port.postMessage({ end: true } satisfies FeedReply);
      // Always a fresh buffer of its own, so it can be transferred rather than copied.
      const piece = parts.length === 1 ? new Uint8Array(parts[0] as Uint8Array) : concat(parts, length);
      port.postMessage({ piece } satisfies FeedReply, [piece.buffer as ArrayBuffer]);
    } catch (error) {
      failure ??= error;
      if (!closed) port.postMessage({ error: (error as Error).message ?? String(error) } satisfies FeedReply);
    }
  };
  port.on('message', () => {
    queue = queue.then(send);
  });
  return {
    close() {
      if (closed) return;
      closed = true;
      port.close();
      // After the batch in flight, if any: a stream's iterator ends (and closes its file) on return().
      queue = queue.then(() => void stream?.return?.()).catch(() => undefined);
    },
    failure: () => failure,
  };
}

/**
 * Worker side: the bytes fed on `port`, as a stream. The next batch is asked for as soon as one
 * arrives, so the main thread reads it while this one is parsed.
 */
export async function* receiveBytes(port: MessagePort): AsyncGenerator<Uint8Array> {
  const inbox: FeedReply[] = [];
  let wake: (() => void) | undefined;
  port.on('message', (reply: FeedReply) => {
    inbox.push(reply);
    wake?.();
  });
  const next = async (): Promise<FeedReply> => {
    while (inbox.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return inbox.shift() as FeedReply;
  };
  try {
    port.postMessage('more' satisfies FeedRequest);
    for (;;) {
      const reply = await next();
      if ('end' in reply) return;
      if ('error' in reply) throw new IngestError('internal', `The stored file could not be read: ${reply.error}`, { retryable: true });
      port.postMessage('more' satisfies FeedRequest);
      yield reply.piece;
    }
  } finally {
    port.close();
  }
}
