// A realtime test client: a `ws` socket speaking the OpenAI Realtime events, recording every server
// event so a test can wait for one and then look at what came before it.

import WebSocket from 'ws';
import { float32ToPcm16, resample } from '../../server/speech/resample.ts';

export type Event = Record<string, any>;

/** A connected client that records every event and can wait for one. */
export class RealtimeClient {
  readonly events: Event[] = [];
  readonly ws: WebSocket;
  #waiters: Array<() => void> = [];
  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      this.events.push(JSON.parse(data.toString()) as Event);
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }
  static async open(url: string, headers: Record<string, string>): Promise<RealtimeClient> {
    const ws = new WebSocket(url, { headers });
    const client = new RealtimeClient(ws);
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    return client;
  }
  send(event: Event): void {
    this.ws.send(JSON.stringify(event));
  }
  /** The first event from index `from` of `type` (and passing `test`), waiting for it if need be. */
  next(type: string, from = 0, timeoutMs = 20_000, test: (e: Event) => boolean = () => true): Promise<Event> {
    return this.until((e) => e['type'] === type && test(e), from, timeoutMs, type);
  }
  async until(test: (e: Event) => boolean, from = 0, timeoutMs = 20_000, what = 'matching'): Promise<Event> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find(test);
      if (found) return found;
      if (Date.now() > end) throw new Error(`no ${what} event; got ${this.events.map((e) => e['type']).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.#waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }
  close(): void {
    this.ws.close();
  }
}

/** Audio as base64 pcm16 `input_audio_buffer.append` payloads of `chunkMs` each, at `rate`. */
export function appendEvents(samples: Float32Array, fromRate: number, rate = 24_000, chunkMs = 100): Array<{ type: 'input_audio_buffer.append'; audio: string }> {
  const pcm = float32ToPcm16(fromRate === rate ? samples : resample(samples, fromRate, rate));
  const bytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const step = ((rate * chunkMs) / 1000) * 2;
  const out: Array<{ type: 'input_audio_buffer.append'; audio: string }> = [];
  for (let at = 0; at < bytes.length; at += step) out.push({ type: 'input_audio_buffer.append', audio: bytes.subarray(at, at + step).toString('base64') });
  return out;
}

/** How an upgrade was refused: its HTTP status, Retry-After and JSON error body (rejects if it was accepted). */
export function upgradeRefusal(url: string, headers: Record<string, string>): Promise<{ status: number; retryAfter: string | undefined; body: any }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        let body: unknown = null;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body });
        ws.terminate();
      });
    });
    ws.on('open', () => (ws.close(), reject(new Error('the upgrade was accepted'))));
    ws.on('error', () => {});
  });
}

/** The HTTP status an upgrade was refused with (rejects if it was accepted). */
export async function refusedWith(url: string, headers: Record<string, string>): Promise<number> {
  return (await upgradeRefusal(url, headers)).status;
}
