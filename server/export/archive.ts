import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ZipFile } from 'yazl';

// A ZIP archive written as it is read: each entry streams from its source into the archive and
// on to the client, one entry at a time, so an export of any size holds about one buffer of it in
// memory. Every entry's size and SHA-256 are taken as it passes, for the manifest written last.

export interface ArchivedEntry {
  name: string;
  bytes: number;
  sha256: string;
}

/** Raised into a writer when the reader went away (the client closed the download). */
export class ArchiveAbandoned extends Error {
  constructor() {
    super('the archive was abandoned by its reader');
    this.name = 'ArchiveAbandoned';
  }
}

export class ZipArchive {
  readonly #zip = new ZipFile();
  readonly #mtime: Date;
  readonly entries: ArchivedEntry[] = [];
  /** The archive's bytes: hand this to the response. */
  readonly output: Readable;
  #finished = false;
  readonly #abandoned: Promise<never>;

  constructor(mtime: Date) {
    this.#mtime = mtime;
    this.output = this.#zip.outputStream as Readable;
    this.#zip.on('error', (err: Error) => this.output.destroy(err));
    this.#abandoned = new Promise((_, reject) => this.output.once('close', () => !this.#finished && reject(new ArchiveAbandoned())));
    // Rejections are awaited per entry; this one may never be awaited.
    this.#abandoned.catch(() => undefined);
  }

  /** Streams `source` into the archive as `name`; resolves once the archive has taken all of it. */
  async add(name: string, source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>): Promise<ArchivedEntry> {
    const hash = createHash('sha256');
    let bytes = 0;
    const counted = (async function* () {
      for await (const chunk of source) {
        const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        hash.update(buffer);
        bytes += buffer.byteLength;
        yield buffer;
      }
    })();
    const input = Readable.from(counted, { objectMode: false });
    const consumed = new Promise<void>((resolve, reject) => {
      input.once('end', resolve);
      input.once('error', reject);
    });
    this.#zip.addReadStreamLazy(name, { mtime: this.#mtime }, (cb) => cb(null, input));
    try {
      await Promise.race([consumed, this.#abandoned]);
    } catch (err) {
      input.destroy();
      throw err;
    }
    const entry = { name, bytes, sha256: hash.digest('hex') };
    this.entries.push(entry);
    return entry;
  }

  /** Adds the last entry (not listed in `entries`, as a manifest cannot hash itself) and ends the archive. */
  finish(lastName: string, last: string): void {
    this.#finished = true;
    this.#zip.addBuffer(Buffer.from(last), lastName, { mtime: this.#mtime });
    this.#zip.end();
  }

  /** Ends the archive unfinished (the reader sees a truncated download, not a valid archive). */
  fail(err: Error): void {
    this.output.destroy(err);
  }
}

/** One JSON value per line. */
export async function* jsonLines<T>(values: AsyncIterable<T>, present: (value: T) => unknown = (v) => v): AsyncGenerator<string> {
  for await (const value of values) yield `${JSON.stringify(present(value))}\n`;
}
