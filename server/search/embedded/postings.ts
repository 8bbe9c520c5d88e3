// The inverted index of one field of one shard, in memory: a term dictionary and, per term, the
// documents holding it with their term frequencies in growable typed arrays. Documents are the
// shard's dense numbers (see shard.ts). A deleted document stays in the postings until the term's
// list is mostly dead, when that list alone is compacted: no global rebuild ever stalls a search.

/** Term frequencies are clamped here; BM25 saturates long before. */
const MAX_TF = 255;
const INITIAL_CAPACITY = 4;

export class TermList {
  docs: Uint32Array;
  tfs: Uint8Array;
  length = 0;
  /** Documents in the list that are still live (the term's document frequency). */
  live = 0;

  /** A list with room for `capacity` postings, or empty in the given arrays (parts of a larger allocation). */
  constructor(capacity = INITIAL_CAPACITY, docs?: Uint32Array, tfs?: Uint8Array) {
    this.docs = docs ?? new Uint32Array(capacity);
    this.tfs = tfs ?? new Uint8Array(capacity);
  }

  push(doc: number, tf: number): void {
    if (this.length === this.docs.length) {
      const capacity = Math.max(INITIAL_CAPACITY, this.length * 2);
      const docs = new Uint32Array(capacity);
      const tfs = new Uint8Array(capacity);
      docs.set(this.docs);
      tfs.set(this.tfs);
      this.docs = docs;
      this.tfs = tfs;
    }
    this.docs[this.length] = doc;
    this.tfs[this.length] = Math.min(MAX_TF, tf);
    this.length++;
    this.live++;
  }

  /** Drops dead documents once they outnumber the live ones, keeping scans proportional to live data. */
  removed(isLive: (doc: number) => boolean): void {
    this.live--;
    if (this.live * 2 >= this.length) return;
    let kept = 0;
    for (let i = 0; i < this.length; i++) {
      const doc = this.docs[i]!;
      if (!isLive(doc)) continue;
      this.docs[kept] = doc;
      this.tfs[kept] = this.tfs[i]!;
      kept++;
    }
    this.length = kept;
    if (kept * 4 < this.docs.length && this.docs.length > INITIAL_CAPACITY) {
      this.docs = this.docs.slice(0, Math.max(INITIAL_CAPACITY, kept * 2));
      this.tfs = this.tfs.slice(0, this.docs.length);
    }
  }
}

/** The distinct terms of one field of one chunk with their frequencies, as analysed. */
export interface FieldTerms {
  terms: string[];
  tfs: Uint8Array;
  /**
   * BM25's field length: the number of distinct terms (MiniSearch's measure, which the SciFact
   * and page-citation results were tuned on; the token count ranks no better).
   */
  length: number;
}

/** The same, with each term replaced by its number in the shard's dictionary: what is stored and indexed. */
export interface FieldTermIds {
  ids: Uint32Array;
  tfs: Uint8Array;
  length: number;
}

export function fieldTerms(analyzed: readonly string[]): FieldTerms {
  const counts = new Map<string, number>();
  for (const term of analyzed) counts.set(term, (counts.get(term) ?? 0) + 1);
  const terms = [...counts.keys()];
  const tfs = new Uint8Array(terms.length);
  terms.forEach((term, i) => (tfs[i] = Math.min(MAX_TF, counts.get(term)!)));
  return { terms, tfs, length: terms.length };
}

/** Postings per slab from which new terms' first lists are cut. */
const SLAB = 16_384;

export class FieldPostings {
  /** Indexed by term number. */
  readonly #lists: Array<TermList | undefined> = [];
  // Most new terms stay rare: their first few postings are cut from a shared slab rather than
  // each getting two buffers of its own, which cost more than the postings they hold.
  #slabDocs = new Uint32Array(0);
  #slabTfs = new Uint8Array(0);
  #slabUsed = 0;
  /** Sum of the field lengths of live documents, for BM25's average length. */
  totalLength = 0;

  list(term: number): TermList | undefined {
    return this.#lists[term];
  }

  /**
   * Before a bulk load: every term's list, empty, at its final size (`counts[term]` postings),
   * all carved out of one allocation. A list that outgrows its part later gets arrays of its own.
   */
  reserve(counts: Uint32Array): void {
    let total = 0;
    for (const n of counts) total += n;
    const docs = new Uint32Array(total);
    const tfs = new Uint8Array(total);
    let offset = 0;
    for (let term = 0; term < counts.length; term++) {
      const n = counts[term]!;
      if (n === 0 || this.#lists[term]) continue;
      this.#lists[term] = new TermList(0, docs.subarray(offset, offset + n), tfs.subarray(offset, offset + n));
      offset += n;
    }
  }

  #newList(): TermList {
    if (this.#slabUsed + INITIAL_CAPACITY > this.#slabDocs.length) {
      this.#slabDocs = new Uint32Array(SLAB);
      this.#slabTfs = new Uint8Array(SLAB);
      this.#slabUsed = 0;
    }
    const from = this.#slabUsed;
    this.#slabUsed += INITIAL_CAPACITY;
    return new TermList(0, this.#slabDocs.subarray(from, this.#slabUsed), this.#slabTfs.subarray(from, this.#slabUsed));
  }

  /** Whether any live document holds the term in this field. */
  holds(term: number): boolean {
    return (this.#lists[term]?.live ?? 0) > 0;
  }

  add(doc: number, field: FieldTermIds): void {
    const { ids, tfs } = field;
    for (let i = 0; i < ids.length; i++) {
      const term = ids[i]!;
      let list = this.#lists[term];
      if (!list) list = this.#lists[term] = this.#newList();
      list.push(doc, tfs[i]!);
    }
    this.totalLength += field.length;
  }

  /** Called after the shard marked `doc` dead. */
  remove(field: Pick<FieldTermIds, 'ids' | 'length'>, isLive: (doc: number) => boolean): void {
    for (const term of field.ids) {
      const list = this.#lists[term];
      if (!list) continue;
      list.removed(isLive);
      if (list.live === 0) this.#lists[term] = undefined;
    }
    this.totalLength -= field.length;
  }
}
