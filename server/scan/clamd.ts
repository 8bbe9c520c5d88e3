import net from 'node:net';
import { ScanError, ScannerUnavailableError, type MalwareScanner, type ScanVerdict } from './scanner.ts';

// clamd's INSTREAM protocol, spoken directly: `zINSTREAM\0`, the file as chunks each prefixed by
// its length (4 bytes, big-endian), a zero-length chunk, then one NUL-terminated reply. It is
// small enough to own; the npm clients (clamscan, @internxt/scan) wrap it in far more code
// (spawning binaries, temp files, their own config) and hide the one distinction ingestion needs:
// "unreachable, try later" versus "answered with an error".

/** Frames stay small so a slow daemon pushes back (socket backpressure) long before memory grows. */
const FRAME_BYTES = 64 * 1024;
const DEFAULT_PING_TIMEOUT_MS = 1_500;

export interface ClamdOptions {
  /** `unix:///run/clamav/clamd.ctl` or `tcp://host:3310`. */
  url: string;
  /** The whole exchange (connect, send, verdict) must finish within this. */
  timeoutMs: number;
  pingTimeoutMs?: number;
}

/** The socket a CLAMAV_URL names; throws on anything else. */
export function clamdTarget(url: string): net.NetConnectOpts {
  const u = new URL(url);
  if (u.protocol === 'unix:') {
    if (u.host !== '' || !u.pathname || u.pathname === '/') throw new Error('a unix socket URL looks like unix:///run/clamav/clamd.ctl');
    return { path: decodeURIComponent(u.pathname) };
  }
  if (u.protocol === 'tcp:') {
    if (!u.hostname || !u.port) throw new Error('a TCP URL names its host and port, like tcp://127.0.0.1:3310');
    return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(u.port) };
  }
  throw new Error('only unix:// and tcp:// URLs reach clamd');
}

/** Reads clamd's INSTREAM reply. */
export function parseReply(reply: string): ScanVerdict {
  if (reply === 'stream: OK') return { outcome: 'clean' };
  const found = /^stream: (.+) FOUND$/.exec(reply);
  if (found?.[1]) return { outcome: 'infected', signature: found[1] };
  if (/size limit exceeded/i.test(reply)) return { outcome: 'too_large' };
  throw new ScanError(`clamd answered "${reply.slice(0, 200)}"`);
}

/** The connection broke after it was made, with no reply read: the daemon died, or refused the stream. */
class ConnectionDropped extends ScannerUnavailableError {}

export class ClamdScanner implements MalwareScanner {
  readonly kind = 'clamd';
  readonly address: string;
  readonly #target: net.NetConnectOpts;
  readonly #timeoutMs: number;
  readonly #pingTimeoutMs: number;

  constructor(options: ClamdOptions) {
    this.address = options.url;
    this.#target = clamdTarget(options.url);
    this.#timeoutMs = options.timeoutMs;
    this.#pingTimeoutMs = options.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS;
  }

  async scan(source: AsyncIterable<Uint8Array | string>, signal?: AbortSignal): Promise<ScanVerdict> {
    let sent = 0;
    let ended = false;
    try {
      const reply = await this.#exchange('INSTREAM', this.#timeoutMs, signal, async (write) => {
        for await (const piece of source) {
          const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
          for (let at = 0; at < chunk.byteLength; at += FRAME_BYTES) {
            const frame = chunk.subarray(at, at + FRAME_BYTES);
            const length = Buffer.alloc(4);
            length.writeUInt32BE(frame.byteLength);
            if (!(await write(Buffer.concat([length, frame])))) return; // clamd has already answered
            sent += frame.byteLength;
          }
        }
        ended = await write(Buffer.alloc(4)); // the zero-length chunk: end of stream
      });
      return parseReply(reply);
    } catch (err) {
      if (!(err instanceof ConnectionDropped)) throw err;
      // clamd answers a stream beyond StreamMaxLength and closes on the unsent rest; the broken
      // pipe (or, over TCP, the reset) can reach the client before that answer does, and the
      // answer is lost with the socket. A daemon that went away does not answer PING: the file
      // waits for it. One that does cut the stream short on purpose, which only its size limit does.
      await this.ping();
      if (!ended) return { outcome: 'too_large' };
      throw new ScanError(`clamd at ${this.address} closed the connection after the whole file (${sent} bytes) without a verdict`);
    }
  }

  async ping(): Promise<void> {
    const reply = await this.#exchange('PING', this.#pingTimeoutMs);
    if (reply !== 'PONG') throw new ScanError(`clamd answered PING with "${reply.slice(0, 200)}"`);
  }

  /**
   * One command on its own connection; resolves with the reply, without its NUL. clamd may answer
   * before the stream ends (the size limit) and close: the reply wins over the broken pipe that
   * follows, and `send` learns through `write` resolving false that it should stop.
   */
  #exchange(command: string, timeoutMs: number, signal?: AbortSignal, send?: (write: (bytes: Buffer) => Promise<boolean>) => Promise<void>): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      signal?.throwIfAborted();
      const socket = net.connect(this.#target);
      const received: Buffer[] = [];
      let settled = false;
      let connected = false;
      const replySoFar = () => Buffer.concat(received).toString('utf8');
      const finish = (result: { reply: string } | { error: unknown }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.destroy();
        if ('reply' in result) resolve(result.reply);
        else reject(result.error);
      };
      const unavailable = (why: string, cause?: unknown) => new ScannerUnavailableError(`clamd at ${this.address} ${why}`, { cause });
      const timer = setTimeout(() => finish({ error: unavailable(`did not answer within ${Math.round(timeoutMs / 100) / 10} s`) }), timeoutMs);
      const onAbort = () => finish({ error: signal?.reason });
      signal?.addEventListener('abort', onAbort, { once: true });

      socket.on('data', (data: Buffer) => {
        received.push(data);
        const text = replySoFar();
        const end = text.indexOf('\0');
        if (end >= 0) finish({ reply: text.slice(0, end).trim() });
      });
      socket.on('close', () => {
        const text = replySoFar().replace(/\0/g, '').trim();
        finish(text ? { reply: text } : { error: new ConnectionDropped(`clamd at ${this.address} closed the connection without an answer`) });
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        // A reply already read still counts (clamd answers, then closes on the rest of the stream).
        const text = replySoFar().replace(/\0/g, '').trim();
        if (text) finish({ reply: text });
        else if (connected) finish({ error: new ConnectionDropped(`clamd at ${this.address} dropped the connection (${err.code ?? err.message})`, { cause: err }) });
        else finish({ error: unavailable(`is unreachable (${err.code ?? err.message})`, err) });
      });

      const write = (bytes: Buffer): Promise<boolean> => {
        if (settled || socket.destroyed) return Promise.resolve(false);
        if (socket.write(bytes)) return Promise.resolve(true);
        return new Promise<boolean>((drained) => {
          const done = (ok: boolean) => () => {
            socket.off('drain', onDrain);
            socket.off('close', onClose);
            drained(ok && !settled);
          };
          const onDrain = done(true);
          const onClose = done(false);
          socket.once('drain', onDrain);
          socket.once('close', onClose);
        });
      };
      socket.once('connect', () => {
        connected = true;
        socket.write(`z${command}\0`);
        send?.(write).catch((err: unknown) => finish({ error: err }));
      });
    });
  }
}
