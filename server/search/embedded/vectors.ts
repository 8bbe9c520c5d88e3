// The vectors of one shard, in memory: row `doc` of one contiguous Float32Array holds the vector
// of the shard's document number `doc`. Exact cosine (vectors are unit length, so a dot product)
// over the shard's live rows: cost follows the knowledge base searched, and results are exact.

import { TopK } from '../topk.ts';

export interface VectorCandidate {
  doc: number;
  cosine: number;
}

/** Throws when `vector` cannot live beside vectors of `expected` dimensions (null: any). */
export function checkVector(vector: Float32Array, expected: number | null): void {
  if (vector.length === 0) throw new RangeError('chunk vector is empty');
  if (expected !== null && vector.length !== expected) {
    throw new RangeError(`chunk vector has ${vector.length} dimensions, the other vectors ${expected}`);
  }
}

export class ShardVectors {
  #dimension: number | null = null;
  #data = new Float32Array(0);
  #has = new Uint8Array(0);
  #count = 0;

  get dimension(): number | null {
    return this.#dimension;
  }

  get count(): number {
    return this.#count;
  }

  set(doc: number, vector: Float32Array): void {
    if (this.#count === 0) this.#dimension = vector.length;
    const dim = this.#dimension!;
    this.#grow(doc + 1, dim);
    this.#data.set(vector, doc * dim);
    if (!this.#has[doc]) this.#count++;
    this.#has[doc] = 1;
  }

  delete(doc: number): void {
    if (doc >= this.#has.length || !this.#has[doc]) return;
    this.#has[doc] = 0;
    const dim = this.#dimension!;
    this.#data.fill(0, doc * dim, (doc + 1) * dim);
    if (--this.#count === 0) this.#dimension = null;
  }

  /** The k best rows by cosine among those `accept` admits, best first (ties: lower `order` first). */
  topK(query: Float32Array, k: number, accept: (doc: number) => boolean, order: (doc: number) => string): VectorCandidate[] {
    const top = new TopK<VectorCandidate>(k, (a, b) => a.cosine > b.cosine || (a.cosine === b.cosine && order(a.doc) < order(b.doc)));
    const dim = this.#dimension;
    if (dim === null || query.length !== dim) return [];
    const data = this.#data;
    const has = this.#has;
    for (let doc = 0; doc < has.length; doc++) {
      if (!has[doc] || !accept(doc)) continue;
      let dot = 0;
      const base = doc * dim;
      for (let i = 0; i < dim; i++) dot += data[base + i]! * query[i]!;
      top.offer({ doc, cosine: dot });
    }
    return top.sorted();
  }

  #grow(rows: number, dim: number): void {
    if (rows <= this.#has.length) return;
    const capacity = Math.max(rows, Math.ceil(this.#has.length * 1.5), 64);
    const data = new Float32Array(capacity * dim);
    data.set(this.#data);
    this.#data = data;
    const has = new Uint8Array(capacity);
    has.set(this.#has);
    this.#has = has;
  }
}
