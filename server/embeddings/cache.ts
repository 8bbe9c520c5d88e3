// A content-addressed cache in front of any embedding engine. Re-indexing a knowledge base, or a
// document uploaded twice, or a question asked again, costs a store lookup instead of inference.
// The key covers the model id and whether the text is a query or a passage, since both change
// the vector; the text itself is hashed, never stored. With encryption at rest on, the hash is
// keyed (HMAC under a key derived from the data key): a plain hash would let whoever holds a copy
// of DATA_DIR confirm a guessed question or passage.

import { createHash, createHmac } from 'node:crypto';
import type { Keyring } from '../crypto/data-key.ts';
import { decodeVector, encodeVector } from './vectors.ts';
import type { Collection, Store } from '../store/store.ts';
import type { EmbeddingEngine, EmbeddingModelInfo } from './embeddings.ts';

export const EMBEDDING_CACHE_COLLECTION = 'embedding_cache';

export interface EmbeddingCacheDocument {
  _id: string;
  /** The Float32Array's bytes (little-endian), base64. */
  v: string;
  /** When it was computed, ISO-8601: lets a janitor drop entries of models no longer used. */
  at: string;
}

type Kind = 'query' | 'passage';

/** Bounds the size of one `$in` lookup. */
const LOOKUP_CHUNK = 500;

export function embeddingCacheKey(modelId: string, kind: Kind, text: string, secret: Buffer | null = null): string {
  return (secret ? createHmac('sha256', secret) : createHash('sha256')).update(`${modelId}\0${kind}\0${text}`).digest('hex');
}

export class CachedEmbeddingEngine implements EmbeddingEngine {
  readonly kind: string;
  readonly model: EmbeddingModelInfo;
  readonly #inner: EmbeddingEngine;
  readonly #cache: Collection<EmbeddingCacheDocument>;
  readonly #now: () => Date;
  readonly #secret: Buffer | null;

  constructor(inner: EmbeddingEngine, store: Store, options: { now?: () => Date; keys?: Keyring | null } = {}) {
    this.#inner = inner;
    this.kind = `${inner.kind}+cache`;
    this.model = inner.model;
    this.#cache = store.collection<EmbeddingCacheDocument>(EMBEDDING_CACHE_COLLECTION);
    this.#now = options.now ?? (() => new Date());
    this.#secret = options.keys ? options.keys.current.derive('lectern embedding cache v1') : null;
  }

  embedDocuments(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    return this.#embed('passage', texts, signal);
  }

  async embedQuery(text: string, signal?: AbortSignal): Promise<Float32Array> {
    const [vector] = await this.#embed('query', [text], signal);
    if (!vector) throw new Error('no vector for the query');
    return vector;
  }

  countTokens(text: string): number {
    return this.#inner.countTokens(text);
  }

  /** Closes the inner engine; the store belongs to the caller. */
  close(): Promise<void> {
    return this.#inner.close();
  }

  async #embed(kind: Kind, texts: readonly string[], signal: AbortSignal | undefined): Promise<Float32Array[]> {
    const keys = texts.map((text) => embeddingCacheKey(this.model.id, kind, text, this.#secret));
    const found = await this.#lookup([...new Set(keys)]);

    // Each distinct missing text is embedded once, however often it repeats in the input.
    const missing = new Map<string, string>();
    keys.forEach((key, i) => {
      if (!found.has(key)) missing.set(key, texts[i] ?? '');
    });
    if (missing.size > 0) {
      const missingKeys = [...missing.keys()];
      const computed =
        kind === 'query'
          ? [await this.#inner.embedQuery(missing.values().next().value ?? '', signal)]
          : await this.#inner.embedDocuments([...missing.values()], signal);
      const at = this.#now().toISOString();
      await Promise.all(
        missingKeys.map((key, i) => {
          const vector = computed[i];
          if (!vector) throw new Error(`${this.#inner.kind} returned ${computed.length} vectors for ${missing.size} texts`);
          found.set(key, vector);
          return this.#cache.replaceOne({ _id: key }, { _id: key, v: encodeVector(vector), at }, { upsert: true });
        }),
      );
    }
    return keys.map((key) => found.get(key) ?? new Float32Array(0));
  }

  async #lookup(keys: string[]): Promise<Map<string, Float32Array>> {
    const found = new Map<string, Float32Array>();
    for (let start = 0; start < keys.length; start += LOOKUP_CHUNK) {
      const docs = await this.#cache.find({ _id: { $in: keys.slice(start, start + LOOKUP_CHUNK) } }).toArray();
      for (const doc of docs) {
        const vector = decodeVector(doc.v);
        // A vector of the wrong length (a truncated write, a model swapped under the same id) is a miss.
        if (vector.length === this.model.dimensions) found.set(doc._id, vector);
      }
    }
    return found;
  }
}
