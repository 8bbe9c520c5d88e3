// The embedding engine port: text in, unit-length vectors out. The local implementation runs a
// sentence-embedding ONNX model through onnxruntime-node; with no model installed there is no
// engine and search runs keyword-only.

export interface EmbeddingModelInfo {
  /** Stable id, used as the cache key's model part and shown in the console, e.g. "bge-small-en-v1.5". */
  id: string;
  dimensions: number;
  /** Longest input in tokens; longer texts are truncated by the tokenizer. */
  maxTokens: number;
}

/** Whether embeddings are available, and if not why: search says so rather than failing. */
export interface EmbeddingsStatus {
  available: boolean;
  model: string | null;
  reason: string | null;
}

export interface EmbeddingEngine {
  readonly kind: string;
  readonly model: EmbeddingModelInfo;
  /** Documents/passages (some models prefix "passage: "). Batched internally; order preserved. */
  embedDocuments(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
  /** Queries (some models prefix "query: " or an instruction). */
  embedQuery(text: string, signal?: AbortSignal): Promise<Float32Array>;
  /** Token count with this model's tokenizer, for chunk sizing. */
  countTokens(text: string): number;
  close(): Promise<void>;
}
