// The local embedding engine: a sentence-embedding ONNX model (bge-small, multilingual-e5, MiniLM)
// run by onnxruntime-node on the CPU, tokenised by the model's own tokenizer.json.
//
// Inference runs in a worker thread. onnxruntime-node 1.30's `session.run` returns a promise but
// executes synchronously on the calling thread (its backend wraps the native call in setImmediate),
// and a batch of 16 long passages through bge-small is on the order of 10^11 floating-point
// operations, seconds of CPU on a small VPS: on the main thread that would stall every HTTP
// request. The worker owns the session (so loading a 130 MB model does not block either) and does
// pooling and normalisation, so only token ids go in and finished vectors come out. Tokenisation
// stays here because `countTokens` is synchronous, and one copy of the tokenizer is enough
// (multilingual-e5's 250k-piece vocabulary costs seconds and a couple of hundred MB to build).
//
// This file is also the worker's entry point: loaded in a worker started by `OrtWorker`, it serves
// that session (see the end of the file).

import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import { Tokenizer } from '@huggingface/tokenizers';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { EmbeddingEngine, EmbeddingModelInfo } from './embeddings.ts';

export type Pooling = 'cls' | 'mean';

/** What the engine needs to know about a model beyond its files (from the manifest or lectern.json). */
export interface EmbeddingModelSpec extends EmbeddingModelInfo {
  pooling: Pooling;
  /** Prepended to queries, e.g. "query: " (e5) or bge's retrieval instruction. */
  queryPrefix: string;
  /** Prepended to passages, e.g. "passage: " (e5); empty for bge. */
  passagePrefix: string;
}

export interface OnnxEngineOptions {
  /** Holds model.onnx and tokenizer.json. */
  modelDir: string;
  model: EmbeddingModelSpec;
  /** onnxruntime intra-op threads; default half the cores. */
  threads?: number;
  /** Texts per inference call; default 16. */
  batchSize?: number;
}

export const MODEL_FILE = 'model.onnx';
export const TOKENIZER_FILE = 'tokenizer.json';
const WORKER_ROLE = 'lectern-onnx-embedding-worker';
const CLOSE_TIMEOUT_MS = 10_000;

/** Half the cores, at least one: embedding shares the box with the web server, OCR and speech. */
export function defaultThreads(cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / 2));
}

interface WorkerInit {
  role: typeof WORKER_ROLE;
  modelPath: string;
  threads: number;
  pooling: Pooling;
}

interface RunRequest {
  type: 'run';
  /** Row-major [rows, cols] token ids and attention mask. */
  ids: BigInt64Array<ArrayBuffer>;
  mask: BigInt64Array<ArrayBuffer>;
  rows: number;
  cols: number;
}

type ToWorker = RunRequest | { type: 'close' };

type FromWorker =
  | { type: 'ready'; dimensions: number | null }
  | { type: 'failed'; message: string }
  | { type: 'result'; vectors: Float32Array<ArrayBuffer>; dimensions: number }
  | { type: 'error'; message: string };

/**
 * The part of @huggingface/tokenizers used here. Its published .d.ts files use extensionless
 * relative imports, which TypeScript's nodenext resolution cannot follow, so its own types
 * degrade to `any`; this keeps the calls checked.
 */
interface TextTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  token_to_id(token: string): number | undefined;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class OnnxEmbeddingEngine implements EmbeddingEngine {
  readonly kind = 'onnx';
  readonly model: EmbeddingModelInfo;
  readonly #spec: EmbeddingModelSpec;
  readonly #tokenizer: TextTokenizer;
  readonly #worker: OrtWorker;
  readonly #batchSize: number;
  readonly #padId: number;
  /** The special tokens the tokenizer's post-processor puts around a single text. */
  readonly #head: number[];
  readonly #tail: number[];

  private constructor(spec: EmbeddingModelSpec, tokenizer: TextTokenizer, padId: number, worker: OrtWorker, batchSize: number) {
    this.#spec = spec;
    this.model = { id: spec.id, dimensions: spec.dimensions, maxTokens: spec.maxTokens };
    this.#tokenizer = tokenizer;
    this.#padId = padId;
    this.#worker = worker;
    this.#batchSize = batchSize;
    [this.#head, this.#tail] = specialTokensAround(tokenizer);
    if (this.#head.length + this.#tail.length >= spec.maxTokens) throw new Error(`maxTokens ${spec.maxTokens} leaves no room for text`);
  }

  /** Loads the tokenizer and the model; rejects with the reason when either is unusable. */
  static async create(options: OnnxEngineOptions): Promise<OnnxEmbeddingEngine> {
    const json = JSON.parse(await readFile(join(options.modelDir, TOKENIZER_FILE), 'utf8')) as {
      padding?: { pad_id?: number } | null;
    };
    const tokenizer: TextTokenizer = new Tokenizer(json, {});
    const padId = json.padding?.pad_id ?? tokenizer.token_to_id('[PAD]') ?? tokenizer.token_to_id('<pad>') ?? 0;
    const { worker, dimensions } = await OrtWorker.start({
      role: WORKER_ROLE,
      modelPath: join(options.modelDir, MODEL_FILE),
      threads: options.threads ?? defaultThreads(),
      pooling: options.model.pooling,
    });
    try {
      if (dimensions !== null && dimensions !== options.model.dimensions) {
        throw new Error(`the model outputs ${dimensions}-dimensional vectors, its metadata says ${options.model.dimensions}`);
      }
      return new OnnxEmbeddingEngine(options.model, tokenizer, padId, worker, Math.max(1, options.batchSize ?? 16));
    } catch (err) {
      await worker.close();
      throw err;
    }
  }

  embedDocuments(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    return this.#embed(
      texts.map((text) => this.#spec.passagePrefix + text),
      false,
      signal,
    );
  }

  async embedQuery(text: string, signal?: AbortSignal): Promise<Float32Array> {
    const [vector] = await this.#embed([this.#spec.queryPrefix + text], true, signal);
    if (!vector) throw new Error('no vector for the query');
    return vector;
  }

  countTokens(text: string): number {
    return this.#tokenizer.encode(text, { add_special_tokens: false }).ids.length;
  }

  close(): Promise<void> {
    return this.#worker.close();
  }

  /** Token ids with the model's special tokens, the text truncated to fit maxTokens. */
  #encode(text: string): number[] {
    const room = this.#spec.maxTokens - this.#head.length - this.#tail.length;
    const ids = this.#tokenizer.encode(text, { add_special_tokens: false }).ids;
    return [...this.#head, ...ids.slice(0, room), ...this.#tail];
  }

  async #embed(texts: string[], urgent: boolean, signal: AbortSignal | undefined): Promise<Float32Array[]> {
    signal?.throwIfAborted();
    // Batching texts of similar length keeps padding (wasted compute) low. Sorting by characters
    // rather than tokens lets each batch be tokenised just before it runs, so the main thread
    // never tokenises a whole ingest run in one go.
    const order = texts.map((_, i) => i).sort((a, b) => (texts[b]?.length ?? 0) - (texts[a]?.length ?? 0));
    const out: Float32Array[] = [];
    for (let start = 0; start < order.length; start += this.#batchSize) {
      signal?.throwIfAborted();
      const indices = order.slice(start, start + this.#batchSize);
      const request = pack(
        indices.map((i) => this.#encode(texts[i] ?? '')),
        this.#padId,
      );
      const { vectors, dimensions } = await this.#worker.run(request, urgent, signal);
      if (dimensions !== this.model.dimensions) {
        throw new Error(`${this.model.id} returned ${dimensions}-dimensional vectors, expected ${this.model.dimensions}`);
      }
      indices.forEach((index, row) => {
        out[index] = vectors.slice(row * dimensions, (row + 1) * dimensions);
      });
    }
    return out;
  }
}

/** Finds where the post-processor (e.g. "[CLS] $A [SEP]") puts a text among its special tokens. */
function specialTokensAround(tokenizer: TextTokenizer): [number[], number[]] {
  const plain = tokenizer.encode('a', { add_special_tokens: false }).ids;
  const full = tokenizer.encode('a').ids;
  for (let at = 0; at + plain.length <= full.length; at++) {
    if (plain.every((id, i) => full[at + i] === id)) return [full.slice(0, at), full.slice(at + plain.length)];
  }
  throw new Error('the tokenizer does not keep a text contiguous between its special tokens');
}

function pack(sequences: number[][], padId: number): RunRequest {
  const rows = sequences.length;
  const cols = Math.max(...sequences.map((s) => s.length));
  const ids = new BigInt64Array(rows * cols).fill(BigInt(padId));
  const mask = new BigInt64Array(rows * cols);
  sequences.forEach((sequence, row) => {
    sequence.forEach((id, col) => {
      ids[row * cols + col] = BigInt(id);
      mask[row * cols + col] = 1n;
    });
  });
  return { type: 'run', ids, mask, rows, cols };
}

/**
 * Pools [rows, cols, dim] hidden states into one unit vector per row: the first token's state
 * (CLS) or the mean over the positions the attention mask keeps. A [rows, dim] output is taken
 * as already pooled.
 */
export function poolAndNormalise(
  hidden: Float32Array,
  dims: readonly number[],
  mask: BigInt64Array,
  pooling: Pooling,
): Float32Array<ArrayBuffer> {
  const pooled = dims.length === 2;
  const [rows = 0, cols = 1, dim = 0] = pooled ? [dims[0], 1, dims[1]] : dims;
  if (dims.length < 2 || dims.length > 3 || hidden.length !== rows * cols * dim) {
    throw new Error(`unexpected model output shape [${dims.join(', ')}]`);
  }
  const out = new Float32Array(rows * dim);
  for (let row = 0; row < rows; row++) {
    const target = out.subarray(row * dim, (row + 1) * dim);
    if (pooled || pooling === 'cls') {
      target.set(hidden.subarray(row * cols * dim, row * cols * dim + dim));
    } else {
      let kept = 0;
      for (let col = 0; col < cols; col++) {
        if (mask[row * cols + col] === 0n) continue;
        kept++;
        const offset = (row * cols + col) * dim;
        for (let d = 0; d < dim; d++) target[d] = (target[d] ?? 0) + (hidden[offset + d] ?? 0);
      }
      if (kept > 0) for (let d = 0; d < dim; d++) target[d] = (target[d] ?? 0) / kept;
    }
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += (target[d] ?? 0) ** 2;
    norm = Math.sqrt(norm);
    if (norm > 0) for (let d = 0; d < dim; d++) target[d] = (target[d] ?? 0) / norm;
  }
  return out;
}

// ---- main-thread side of the worker ----

interface Job {
  request: RunRequest;
  resolve(result: { vectors: Float32Array; dimensions: number }): void;
  reject(err: unknown): void;
}

/**
 * One worker holding one session, fed one batch at a time. Queries go ahead of queued document
 * batches, so a search stays responsive while a large upload is being embedded. A worker that
 * dies fails only the batch it was running; the next batch starts a fresh one.
 */
class OrtWorker {
  readonly #init: WorkerInit;
  #worker: Promise<Worker> | null;
  #current: Job | null = null;
  readonly #urgent: Job[] = [];
  readonly #normal: Job[] = [];
  #closed = false;

  private constructor(init: WorkerInit, worker: Worker) {
    this.#init = init;
    this.#worker = Promise.resolve(this.#adopt(worker));
  }

  static async start(init: WorkerInit): Promise<{ worker: OrtWorker; dimensions: number | null }> {
    const { worker, dimensions } = await spawn(init);
    return { worker: new OrtWorker(init, worker), dimensions };
  }

  run(request: RunRequest, urgent: boolean, signal?: AbortSignal): Promise<{ vectors: Float32Array; dimensions: number }> {
    if (this.#closed) return Promise.reject(new Error('the embedding engine is closed'));
    return new Promise((resolve, reject) => {
      const queue = urgent ? this.#urgent : this.#normal;
      const onAbort = () => {
        const at = queue.indexOf(job);
        if (at < 0) return;
        queue.splice(at, 1);
        reject(signal?.reason);
      };
      const job: Job = {
        request,
        resolve: (result) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(result);
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(job);
      this.#pump();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const job of [...this.#urgent.splice(0), ...this.#normal.splice(0)]) job.reject(new Error('the embedding engine is closed'));
    const worker = await this.#worker?.catch(() => null);
    if (!worker) return;
    worker.ref();
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage({ type: 'close' } satisfies ToWorker);
    const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  #adopt(worker: Worker): Worker {
    worker.on('message', (message: FromWorker) => {
      const job = this.#current;
      if (!job || (message.type !== 'result' && message.type !== 'error')) return;
      this.#current = null;
      if (message.type === 'result') job.resolve({ vectors: message.vectors, dimensions: message.dimensions });
      else job.reject(new Error(message.message));
      this.#pump();
    });
    worker.on('error', () => {
      // The exit that follows reports it; without a listener the error would crash the process.
    });
    worker.on('exit', (code) => {
      if (this.#closed) return;
      this.#worker = null;
      const job = this.#current;
      this.#current = null;
      job?.reject(new Error(`the embedding worker stopped unexpectedly (exit code ${code})`));
      this.#pump();
    });
    worker.unref();
    return worker;
  }

  #pump(): void {
    if (this.#current || this.#closed) return;
    const job = this.#urgent.shift() ?? this.#normal.shift();
    if (!job) {
      void this.#worker?.then((worker) => worker.unref(), () => {});
      return;
    }
    this.#current = job;
    this.#worker ??= spawn(this.#init).then(({ worker }) => this.#adopt(worker));
    this.#worker.then(
      (worker) => {
        // Referenced while a batch is out, so a script awaiting a result is not ended early.
        worker.ref();
        worker.postMessage(job.request, [job.request.ids.buffer, job.request.mask.buffer]);
      },
      (err: unknown) => {
        this.#worker = null;
        this.#current = null;
        job.reject(err);
        this.#pump();
      },
    );
  }
}

function spawn(init: WorkerInit): Promise<{ worker: Worker; dimensions: number | null }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: init });
    const settle = (err: Error | null, dimensions: number | null = null) => {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      if (err) {
        void worker.terminate();
        reject(err);
      } else resolve({ worker, dimensions });
    };
    const onMessage = (message: FromWorker) =>
      message.type === 'ready'
        ? settle(null, message.dimensions)
        : settle(new Error(message.type === 'failed' ? message.message : `unexpected ${message.type} from the worker`));
    const onError = (err: Error) => settle(err);
    const onExit = (code: number) => settle(new Error(`the embedding worker exited with code ${code} while loading`));
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  });
}

// ---- worker side ----

type Ort = typeof import('onnxruntime-node');

interface SessionPlan {
  output: string;
  /** Inputs to feed, and whether each takes int32 instead of int64. */
  inputs: Map<string, 'int32' | 'int64'>;
  dimensions: number | null;
}

const KNOWN_INPUTS = new Set(['input_ids', 'attention_mask', 'token_type_ids']);

function planSession(session: InferenceSession): SessionPlan {
  const inputs = new Map<string, 'int32' | 'int64'>();
  for (const meta of session.inputMetadata) {
    if (!KNOWN_INPUTS.has(meta.name)) throw new Error(`the model has an input "${meta.name}" that a sentence encoder does not take`);
    const type = meta.isTensor ? meta.type : 'non-tensor';
    if (type !== 'int64' && type !== 'int32') throw new Error(`the model's input "${meta.name}" is ${type}, not int64`);
    inputs.set(meta.name, type);
  }
  if (!inputs.has('input_ids')) throw new Error('the model has no input_ids input');
  const output = session.outputNames.includes('last_hidden_state') ? 'last_hidden_state' : session.outputNames[0];
  const meta = session.outputMetadata.find((m) => m.name === output);
  if (!output || !meta) throw new Error('the model has no outputs');
  const last = meta.isTensor ? meta.shape.at(-1) : undefined;
  return { output, inputs, dimensions: typeof last === 'number' ? last : null };
}

async function infer(ort: Ort, session: InferenceSession, plan: SessionPlan, init: WorkerInit, request: RunRequest): Promise<FromWorker> {
  const dims = [request.rows, request.cols];
  const values: Record<string, BigInt64Array> = {
    input_ids: request.ids,
    attention_mask: request.mask,
    token_type_ids: new BigInt64Array(request.ids.length),
  };
  const feeds: Record<string, Tensor> = {};
  for (const [name, type] of plan.inputs) {
    const data = values[name] ?? new BigInt64Array(request.ids.length);
    feeds[name] = type === 'int64' ? new ort.Tensor('int64', data, dims) : new ort.Tensor('int32', Int32Array.from(data, Number), dims);
  }
  const results = await session.run(feeds, [plan.output]);
  const hidden = results[plan.output];
  if (!hidden || hidden.type !== 'float32') throw new Error(`the model's output is ${hidden?.type ?? 'missing'}, not float32`);
  const vectors = poolAndNormalise(hidden.data as Float32Array, hidden.dims, request.mask, init.pooling);
  for (const tensor of Object.values(results)) tensor.dispose();
  return { type: 'result', vectors, dimensions: hidden.dims.at(-1) ?? 0 };
}

async function serve(port: MessagePort, init: WorkerInit): Promise<void> {
  let ort: Ort;
  let session: InferenceSession;
  let plan: SessionPlan;
  try {
    ort = await import('onnxruntime-node');
    session = await ort.InferenceSession.create(init.modelPath, {
      executionProviders: ['cpu'],
      intraOpNumThreads: init.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
    plan = planSession(session);
  } catch (err) {
    port.postMessage({ type: 'failed', message: messageOf(err) } satisfies FromWorker);
    port.close();
    return;
  }
  port.postMessage({ type: 'ready', dimensions: plan.dimensions } satisfies FromWorker);
  // One message at a time: a close must not release the session under a batch still running.
  let chain = Promise.resolve();
  port.on('message', (message: ToWorker) => {
    chain = chain.then(async () => {
      if (message.type === 'close') {
        await session.release();
        port.close();
        return;
      }
      const reply = await infer(ort, session, plan, init, message).catch(
        (err: unknown): FromWorker => ({ type: 'error', message: messageOf(err) }),
      );
      port.postMessage(reply, reply.type === 'result' ? [reply.vectors.buffer] : []);
    });
  });
}

function isWorkerInit(value: unknown): value is WorkerInit {
  return typeof value === 'object' && value !== null && (value as { role?: unknown }).role === WORKER_ROLE;
}

if (!isMainThread && parentPort && isWorkerInit(workerData)) void serve(parentPort, workerData);
