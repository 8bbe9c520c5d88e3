// Local speech recognition and synthesis through sherpa-onnx (the `sherpa-onnx-node` addon, whose
// prebuilt binaries arrive as per-platform npm packages). One engine per loaded model; streams and
// syntheses share it.
//
// The addon ships JSDoc rather than TypeScript types, so the slice of it used here is declared
// below. Heavy native work goes through the addon's async calls where it has them (model loading,
// offline decoding, synthesis) so it runs off the event loop; streaming decode is synchronous in
// the addon but costs milliseconds per chunk.

import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { createResampler, type Resampler } from './resample.ts';
import type { AudioChunk, SttEngine, SttStream, TtsEngine } from './speech.ts';

interface NativeResult {
  text: string;
}
interface NativeOnlineStream {
  acceptWaveform(wave: AudioChunk): void;
  inputFinished(): void;
}
interface NativeOnlineRecognizer {
  createStream(): NativeOnlineStream;
  isReady(stream: NativeOnlineStream): boolean;
  decode(stream: NativeOnlineStream): void;
  getResult(stream: NativeOnlineStream): NativeResult;
}
interface NativeOfflineStream {
  acceptWaveform(wave: AudioChunk): void;
}
interface NativeOfflineRecognizer {
  createStream(): NativeOfflineStream;
  decodeAsync(stream: NativeOfflineStream): Promise<NativeResult>;
}
interface NativeTts {
  readonly sampleRate: number;
  readonly numSpeakers: number;
  generateAsync(request: {
    text: string;
    sid: number;
    speed: number;
    enableExternalBuffer: boolean;
    onProgress: () => number;
  }): Promise<{ samples: Float32Array; sampleRate: number }>;
}

/** The parts of sherpa-onnx-node these engines use. */
export interface SherpaModule {
  OnlineRecognizer: new (config: object) => NativeOnlineRecognizer;
  OfflineRecognizer: { createAsync(config: object): Promise<NativeOfflineRecognizer> };
  OfflineTts: { createAsync(config: object): Promise<NativeTts> };
}

/** Loads the addon; throws a readable error where no prebuilt binary exists for this platform. */
export function loadSherpa(): SherpaModule {
  try {
    return createRequire(import.meta.url)('sherpa-onnx-node') as SherpaModule;
  } catch (err) {
    const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(`sherpa-onnx is not available on ${process.platform}-${process.arch}: ${detail}`, { cause: err });
  }
}

export type SttModelType =
  | 'online-transducer'
  | 'online-ctc'
  | 'offline-transducer'
  | 'offline-zipformer-ctc'
  | 'offline-whisper'
  | 'offline-moonshine'
  | 'offline-sense-voice';

export type TtsModelType = 'vits' | 'kokoro' | 'matcha';

// Which files each model type needs, by the addon's config key; `tokens` is always needed.
const STT_FILES: Record<SttModelType, string[]> = {
  'online-transducer': ['encoder', 'decoder', 'joiner'],
  'online-ctc': ['model'],
  'offline-transducer': ['encoder', 'decoder', 'joiner'],
  'offline-zipformer-ctc': ['model'],
  'offline-whisper': ['encoder', 'decoder'],
  'offline-moonshine': ['preprocessor', 'encoder', 'uncachedDecoder', 'cachedDecoder'],
  'offline-sense-voice': ['model'],
};
const STT_CONFIG_KEY: Record<SttModelType, string> = {
  'online-transducer': 'transducer',
  'online-ctc': 'zipformer2Ctc',
  'offline-transducer': 'transducer',
  'offline-zipformer-ctc': 'zipformerCtc',
  'offline-whisper': 'whisper',
  'offline-moonshine': 'moonshine',
  'offline-sense-voice': 'senseVoice',
};
const TTS_FILES: Record<TtsModelType, string[]> = {
  vits: ['model'],
  kokoro: ['model', 'voices'],
  matcha: ['acousticModel', 'vocoder'],
};

interface ModelSpec {
  /** Shown in logs and the console. */
  id: string;
  /** Config key → absolute path, e.g. { encoder: '/models/x/encoder.onnx', tokens: '/models/x/tokens.txt' }. */
  files: Record<string, string>;
  threads?: number;
  sherpa?: SherpaModule;
  /**
   * Load the model once in a child process first. sherpa-onnx ends the whole process on some bad
   * models (missing metadata, or any load error in the synchronous streaming constructor), so
   * this turns a damaged download into a reason instead of a dead appliance. Default true.
   */
  isolateLoad?: boolean;
}

export interface SherpaSttSpec extends ModelSpec {
  type: SttModelType;
  languages?: string[];
  /** Whisper/SenseVoice language hint; default: detect. */
  language?: string;
  /** Longest utterance an offline stream buffers before refusing more audio. Default 60 s. */
  maxSeconds?: number;
}

export interface SherpaTtsSpec extends ModelSpec {
  type: TtsModelType;
  language: string;
  /** espeak-ng phoneme data for Piper, Kokoro and Matcha voices. */
  dataDir?: string;
  speaker?: number;
  /** Longest text one call speaks. Default 2000 characters. */
  maxChars?: number;
}

/** Checks every file a model type needs before the addon sees it: a clear reason, not a native crash. */
async function checkFiles(spec: ModelSpec, required: string[], extraDir?: string): Promise<void> {
  const problems: string[] = [];
  for (const key of [...required, 'tokens']) {
    const path = spec.files[key];
    if (!path) {
      problems.push(`no "${key}" file is configured`);
      continue;
    }
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) problems.push(`${key} file ${basename(path)} is missing`);
    else if (info.size === 0) problems.push(`${key} file ${basename(path)} is empty`);
  }
  if (extraDir !== undefined && !(await stat(extraDir).catch(() => null))?.isDirectory()) {
    problems.push(`data folder ${basename(extraDir)} is missing`);
  }
  if (problems.length > 0) throw new Error(`${spec.id}: ${problems.join('; ')}`);
}

type Loader = 'OnlineRecognizer' | 'OfflineRecognizer' | 'OfflineTts';
const PROBE_SCRIPT = `
const [addon, loader] = process.argv.slice(1);
const config = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
new (require(addon)[loader])(config);
`;

/** Loads the model in a throwaway process; rejects with sherpa-onnx's own last words if it dies. */
function probeLoad(loader: Loader, config: object, timeoutMs = 120_000): Promise<void> {
  const addon = createRequire(import.meta.url).resolve('sherpa-onnx-node');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', PROBE_SCRIPT, addon, loader], { stdio: ['pipe', 'ignore', 'pipe'], timeout: timeoutMs });
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => (stderr = (stderr + data.toString()).slice(-2000)));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const lines = stderr
        .split('\n')
        .map((l) => l.trim().replace(/^what\(\):\s*/, '').replace(/^\/\S+:\w+:\d+\s+/, ''))
        .filter((l) => l && !/^(at |node:|Node\.js|\^|throw |terminate called)/.test(l));
      reject(new Error(lines.slice(-2).join(' ') || `the model loader exited with ${signal ?? `code ${code}`}`));
    });
    child.stdin.end(JSON.stringify(config));
  });
}

/** Runs tasks one at a time: a native model instance is not safe to drive from two calls at once. */
function serial(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = tail.then(task, task);
    tail = run.catch(() => {});
    return run;
  };
}

const FEATURES = { sampleRate: 16000, featureDim: 80 };

/**
 * Brings a stream's chunks to the models' 16 kHz. sherpa-onnx resamples too, but it ends the
 * process when a stream's rate changes midway; here a change just starts a new resampler.
 */
function toModelRate(): { push(chunk: AudioChunk): Float32Array; flush(): Float32Array } {
  let resampler: Resampler | null = null;
  const flush = () => resampler?.flush() ?? new Float32Array(0);
  return {
    push(chunk) {
      if (resampler?.fromRate === chunk.sampleRate) return resampler.process(chunk.samples);
      const tail = flush();
      resampler = createResampler(chunk.sampleRate, FEATURES.sampleRate);
      const head = resampler.process(chunk.samples);
      if (tail.length === 0) return head;
      const joined = new Float32Array(tail.length + head.length);
      joined.set(tail);
      joined.set(head, tail.length);
      return joined;
    },
    flush,
  };
}
// Trailing silence fed before the end of a streaming utterance, so the model's lookahead
// flushes the last word.
const TAIL_PADDING_S = 0.5;

export class SherpaSttEngine implements SttEngine {
  readonly kind = 'local' as const;
  readonly model: { id: string; streaming: boolean; languages: string[] };
  readonly #online: NativeOnlineRecognizer | null;
  readonly #offline: NativeOfflineRecognizer | null;
  readonly #maxSamples: number;
  readonly #queue = serial();
  #closed = false;

  private constructor(spec: SherpaSttSpec, online: NativeOnlineRecognizer | null, offline: NativeOfflineRecognizer | null) {
    this.model = { id: spec.id, streaming: online !== null, languages: spec.languages ?? ['en'] };
    this.#online = online;
    this.#offline = offline;
    this.#maxSamples = (spec.maxSeconds ?? 60) * FEATURES.sampleRate;
  }

  static async create(spec: SherpaSttSpec): Promise<SherpaSttEngine> {
    await checkFiles(spec, STT_FILES[spec.type]);
    const sherpa = spec.sherpa ?? loadSherpa();
    const { tokens, ...files } = spec.files;
    const model: Record<string, unknown> = { ...files };
    if (spec.type === 'offline-whisper') Object.assign(model, { language: spec.language ?? '', task: 'transcribe' });
    if (spec.type === 'offline-sense-voice') Object.assign(model, { language: spec.language ?? 'auto', useInverseTextNormalization: 1 });
    const config = {
      featConfig: FEATURES,
      modelConfig: { [STT_CONFIG_KEY[spec.type]]: model, tokens, numThreads: spec.threads ?? 1, provider: 'cpu', debug: 0 },
      decodingMethod: 'greedy_search',
    };
    if (spec.type.startsWith('online-')) {
      const online = { ...config, enableEndpoint: 0 };
      if (spec.isolateLoad !== false) await probeLoad('OnlineRecognizer', online);
      return new SherpaSttEngine(spec, new sherpa.OnlineRecognizer(online), null);
    }
    if (spec.isolateLoad !== false) await probeLoad('OfflineRecognizer', config);
    return new SherpaSttEngine(spec, null, await sherpa.OfflineRecognizer.createAsync(config));
  }

  createStream(): SttStream {
    if (this.#closed) throw new Error(`${this.model.id} is closed`);
    return this.#online ? this.#onlineStream(this.#online) : this.#offlineStream(this.#offline as NativeOfflineRecognizer);
  }

  #onlineStream(recognizer: NativeOnlineRecognizer): SttStream {
    const stream = recognizer.createStream();
    const audio = toModelRate();
    let finished = false;
    let text = '';
    const push = (samples: Float32Array) => {
      stream.acceptWaveform({ samples, sampleRate: FEATURES.sampleRate });
      while (recognizer.isReady(stream)) recognizer.decode(stream);
      text = recognizer.getResult(stream).text.trim();
    };
    return {
      accept: (chunk) => {
        if (finished) throw new Error('this speech stream has finished');
        push(audio.push(chunk));
      },
      partial: () => text,
      finish: async () => {
        if (!finished) {
          finished = true;
          push(audio.flush());
          push(new Float32Array(Math.round(FEATURES.sampleRate * TAIL_PADDING_S)));
          stream.inputFinished();
          push(new Float32Array(0));
        }
        return text;
      },
    };
  }

  #offlineStream(recognizer: NativeOfflineRecognizer): SttStream {
    const audio = toModelRate();
    const pieces: Float32Array[] = [];
    let buffered = 0;
    let result: Promise<string> | null = null;
    const keep = (samples: Float32Array) => {
      buffered += samples.length;
      if (buffered > this.#maxSamples) throw new RangeError(`an utterance longer than ${this.#maxSamples / FEATURES.sampleRate} s`);
      pieces.push(samples);
    };
    return {
      accept: (chunk) => {
        if (result) throw new Error('this speech stream has finished');
        keep(audio.push(chunk));
      },
      partial: () => '',
      finish: () =>
        (result ??= this.#queue(async () => {
          keep(audio.flush());
          if (buffered === 0) return '';
          const samples = new Float32Array(buffered);
          pieces.reduce((at, piece) => (samples.set(piece, at), at + piece.length), 0);
          pieces.length = 0;
          const stream = recognizer.createStream();
          stream.acceptWaveform({ samples, sampleRate: FEATURES.sampleRate });
          return (await recognizer.decodeAsync(stream)).text.trim();
        })),
    };
  }

  async close(): Promise<void> {
    // The addon frees native memory when the recognizer is collected; closing only stops new streams.
    this.#closed = true;
  }
}

export class SherpaTtsEngine implements TtsEngine {
  readonly kind = 'local' as const;
  readonly voice: { id: string; language: string; sampleRate: number };
  readonly #tts: NativeTts;
  readonly #speaker: number;
  readonly #maxChars: number;
  readonly #queue = serial();
  #closed = false;

  private constructor(spec: SherpaTtsSpec, tts: NativeTts) {
    this.voice = { id: spec.id, language: spec.language, sampleRate: tts.sampleRate };
    this.#tts = tts;
    this.#speaker = Math.min(Math.max(0, spec.speaker ?? 0), Math.max(0, tts.numSpeakers - 1));
    this.#maxChars = spec.maxChars ?? 2000;
  }

  static async create(spec: SherpaTtsSpec): Promise<SherpaTtsEngine> {
    await checkFiles(spec, TTS_FILES[spec.type], spec.dataDir);
    const sherpa = spec.sherpa ?? loadSherpa();
    const model = { ...spec.files, ...(spec.dataDir === undefined ? {} : { dataDir: spec.dataDir }) };
    const config = { model: { [spec.type]: model, numThreads: spec.threads ?? 1, provider: 'cpu', debug: 0 }, maxNumSentences: 1 };
    if (spec.isolateLoad !== false) await probeLoad('OfflineTts', config);
    const tts = await sherpa.OfflineTts.createAsync(config);
    return new SherpaTtsEngine(spec, tts);
  }

  async synthesize(text: string, options: { signal?: AbortSignal; speed?: number } = {}): Promise<AudioChunk> {
    const { signal } = options;
    signal?.throwIfAborted();
    if (this.#closed) throw new Error(`${this.voice.id} is closed`);
    const clean = text.trim();
    if (clean.length > this.#maxChars) throw new RangeError(`text of ${clean.length} characters is longer than the ${this.#maxChars} spoken at once`);
    if (clean === '') return { samples: new Float32Array(0), sampleRate: this.voice.sampleRate };
    const speed = Math.min(3, Math.max(0.3, options.speed ?? 1));
    const audio = await this.#queue(() => {
      signal?.throwIfAborted();
      return this.#tts.generateAsync({
        text: clean,
        sid: this.#speaker,
        speed,
        enableExternalBuffer: false,
        // Returning 0 asks the addon to stop after the current sentence.
        onProgress: () => (signal?.aborted ? 0 : 1),
      });
    });
    signal?.throwIfAborted();
    return { samples: audio.samples, sampleRate: audio.sampleRate };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
