// The last day, minute by minute, for the console's System page: a chart of how the box has been
// doing without a Prometheus to ask. It listens to the same recorder calls Prometheus does (it
// wraps the recorder), keeps one small bucket per minute in a ring, and forgets what is older.

import type { Clock } from '../clock.ts';
import type { MetricsRecorder } from './recorder.ts';

export const HISTORY_MINUTES = 24 * 60;
/** Durations kept per minute for its percentile; past this, a minute keeps a fair sample. */
const SAMPLES = 256;

export interface HistoryPoint {
  /** The minute's start, ISO 8601. */
  at: string;
  /** API requests (/api and /v1) answered in the minute, and how many with 5xx. */
  requests: number;
  serverErrors: number;
  /** 95th percentile of their durations, ms; null without requests. */
  p95Ms: number | null;
  /** Answers generated (any engine, extractive included). */
  answers: number;
  /** Median time from the end of speech to the first audio of spoken turns, ms; null without turns. */
  firstAudioMs: number | null;
  /** Documents that became ready, and their pages. */
  documents: number;
  pages: number;
}

interface Bucket {
  minute: number;
  requests: number;
  serverErrors: number;
  durations: number[];
  answers: number;
  turns: number;
  firstAudio: number[];
  documents: number;
  pages: number;
}

const percentile = (values: readonly number[], p: number): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!);
};

export class MetricsHistory {
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #ring: Array<Bucket | undefined> = Array.from({ length: HISTORY_MINUTES });

  constructor(parts: { clock: Clock; random?: () => number }) {
    this.#clock = parts.clock;
    this.#random = parts.random ?? Math.random;
  }

  #bucket(): Bucket {
    const minute = Math.floor(this.#clock.now().getTime() / 60_000);
    const slot = minute % HISTORY_MINUTES;
    let bucket = this.#ring[slot];
    if (bucket?.minute !== minute) {
      bucket = { minute, requests: 0, serverErrors: 0, durations: [], answers: 0, turns: 0, firstAudio: [], documents: 0, pages: 0 };
      this.#ring[slot] = bucket;
    }
    return bucket;
  }

  /** Keeps a uniform sample of at most SAMPLES values (reservoir sampling). */
  #sample(values: number[], seen: number, value: number): void {
    if (values.length < SAMPLES) values.push(value);
    else {
      const i = Math.floor(this.#random() * seen);
      if (i < SAMPLES) values[i] = value;
    }
  }

  /** `inner` with every call also counted here. */
  wrap(inner: MetricsRecorder): MetricsRecorder {
    return {
      ...inner,
      http: {
        request: (method, route, status, seconds) => {
          inner.http.request(method, route, status, seconds);
          if (!route.startsWith('/api/') && !route.startsWith('/v1/')) return;
          const bucket = this.#bucket();
          bucket.requests++;
          if (status >= 500) bucket.serverErrors++;
          this.#sample(bucket.durations, bucket.requests, seconds * 1000);
        },
      },
      llm: {
        ...inner.llm,
        generation: (engine, firstTokenSeconds, completionTokens, totalSeconds) => {
          inner.llm.generation(engine, firstTokenSeconds, completionTokens, totalSeconds);
          this.#bucket().answers++;
        },
      },
      voice: {
        ...inner.voice,
        turn: (latency) => {
          inner.voice.turn(latency);
          if (latency.firstAudioMs !== null) {
            const bucket = this.#bucket();
            bucket.turns++;
            this.#sample(bucket.firstAudio, bucket.turns, latency.firstAudioMs);
          }
        },
      },
      ingest: {
        ...inner.ingest,
        document: (outcome, pages) => {
          inner.ingest.document(outcome, pages);
          if (outcome !== 'ready') return;
          const bucket = this.#bucket();
          bucket.documents++;
          bucket.pages += pages;
        },
      },
    };
  }

  /** One point per minute of the last `minutes` (oldest first), minutes without activity included as zeros. */
  points(minutes = HISTORY_MINUTES): HistoryPoint[] {
    const now = Math.floor(this.#clock.now().getTime() / 60_000);
    const span = Math.min(HISTORY_MINUTES, Math.max(1, minutes));
    const out: HistoryPoint[] = [];
    for (let minute = now - span + 1; minute <= now; minute++) {
      const b = this.#ring[minute % HISTORY_MINUTES];
      const live = b?.minute === minute ? b : undefined;
      out.push({
        at: new Date(minute * 60_000).toISOString(),
        requests: live?.requests ?? 0,
        serverErrors: live?.serverErrors ?? 0,
        p95Ms: percentile(live?.durations ?? [], 0.95),
        answers: live?.answers ?? 0,
        firstAudioMs: percentile(live?.firstAudio ?? [], 0.5),
        documents: live?.documents ?? 0,
        pages: live?.pages ?? 0,
      });
    }
    return out;
  }
}
