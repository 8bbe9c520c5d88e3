// One knowledge base's search index in memory: its chunks numbered densely, two fields of
// postings (the chunk's headings and words; the document name) and its vectors. Statistics —
// document counts, document frequencies, average lengths — are the shard's own, so one tenant's
// scores and latency never depend on another's data.

import { TopK } from '../topk.ts';
import { TermDictionary } from './dictionary.ts';
import { FieldPostings, type FieldTermIds } from './postings.ts';
import { ShardVectors, type VectorCandidate } from './vectors.ts';

// BM25+ (Lv & Zhai), with MiniSearch's defaults, which the SciFact numbers were tuned on.
const K1 = 1.2;
const B = 0.7;
const DELTA = 0.5;
// The file name is weaker evidence than the chunk's own words and headings (it is repeated on
// every chunk of the document), so it counts for half.
const NAME_WEIGHT = 0.5;

export interface ShardEntry {
  id: string;
  documentId: string;
  body: FieldTermIds;
  name: FieldTermIds;
  vector: Float32Array | undefined;
}

export interface KeywordCandidate {
  doc: number;
  /** Plain BM25+ sum over the query's terms. */
  score: number;
  /** How many distinct query terms the chunk holds. */
  matched: number;
}

/** A query term with how often the query says it (a repeated word weighs more). */
export interface QueryTerm {
  term: string;
  weight: number;
}

export class Shard {
  readonly id: number;
  readonly organisationId: string;
  readonly kbId: string;
  readonly dictionary = new TermDictionary();
  readonly body = new FieldPostings();
  readonly name = new FieldPostings();
  readonly vectors = new ShardVectors();

  #next = 0;
  #live = new Uint8Array(0);
  #ids: string[] = [];
  #documents = new Int32Array(0);
  #bodyLength = new Uint32Array(0);
  #nameLength = new Uint32Array(0);
  readonly #byId = new Map<string, number>();
  readonly #documentSlots = new Map<string, number>();
  /** Live chunks per document slot, so a slot empties when its document is gone. */
  #slotChunks: number[] = [];
  // Scratch space for scoring, reused by every query (searches never interleave: they are synchronous).
  #scores = new Float64Array(0);
  #lastTerm = new Int32Array(0);
  #matched = new Uint8Array(0);
  liveCount = 0;

  constructor(id: number, organisationId: string, kbId: string) {
    this.id = id;
    this.organisationId = organisationId;
    this.kbId = kbId;
  }

  readonly isLive = (doc: number): boolean => this.#live[doc] === 1;

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  chunkId(doc: number): string {
    return this.#ids[doc]!;
  }

  /** The shard's number for each of `documentIds` it holds (unknown ones are left out). */
  documentSlots(documentIds: readonly string[]): Set<number> {
    const slots = new Set<number>();
    for (const id of documentIds) {
      const slot = this.#documentSlots.get(id);
      if (slot !== undefined) slots.add(slot);
    }
    return slots;
  }

  documentSlot(doc: number): number {
    return this.#documents[doc]!;
  }

  add(entry: ShardEntry): number {
    if (this.#byId.has(entry.id)) throw new Error(`chunk ${entry.id} is already in the shard; remove it first`);
    const doc = this.#next++;
    this.#grow(doc + 1);
    let slot = this.#documentSlots.get(entry.documentId);
    if (slot === undefined) {
      slot = this.#slotChunks.length;
      this.#documentSlots.set(entry.documentId, slot);
      this.#slotChunks.push(0);
    }
    this.#slotChunks[slot]!++;
    this.#live[doc] = 1;
    this.#ids[doc] = entry.id;
    this.#documents[doc] = slot;
    this.#bodyLength[doc] = entry.body.length;
    this.#nameLength[doc] = entry.name.length;
    this.#byId.set(entry.id, doc);
    this.body.add(doc, entry.body);
    this.name.add(doc, entry.name);
    if (entry.vector) this.vectors.set(doc, entry.vector);
    this.liveCount++;
    return doc;
  }

  /**
   * Removes a chunk given the term numbers it was indexed with (the caller reads them from
   * storage). Returns those numbers, for `release` once any chunk replacing it is in.
   */
  remove(id: string, documentId: string, terms: { body: Uint32Array; name: Uint32Array }): Uint32Array[] {
    const doc = this.#byId.get(id);
    if (doc === undefined) return [];
    this.#byId.delete(id);
    this.#live[doc] = 0;
    this.liveCount--;
    this.body.remove({ ids: terms.body, length: this.#bodyLength[doc]! }, this.isLive);
    this.name.remove({ ids: terms.name, length: this.#nameLength[doc]! }, this.isLive);
    this.vectors.delete(doc);
    const slot = this.#documents[doc]!;
    if (--this.#slotChunks[slot]! === 0 && this.#documentSlots.get(documentId) === slot) this.#documentSlots.delete(documentId);
    return [terms.body, terms.name];
  }

  /** Of `candidates`, the terms no live chunk holds: they leave the dictionary, and are returned. */
  release(candidates: Iterable<Uint32Array>): number[] {
    const unused: number[] = [];
    for (const field of candidates) {
      for (const term of field) {
        if (this.body.holds(term) || this.name.holds(term) || this.dictionary.term(term) === undefined) continue;
        this.dictionary.forget(term);
        unused.push(term);
      }
    }
    return unused;
  }

  /** Terms the dictionary holds that no live chunk does (left behind by an interrupted deletion). */
  unusedTerms(): number[] {
    const unused: number[] = [];
    this.dictionary.forEachId((term) => {
      if (!this.body.holds(term) && !this.name.holds(term)) unused.push(term);
    });
    for (const term of unused) this.dictionary.forget(term);
    return unused;
  }

  /**
   * BM25+ over both fields, term at a time into per-chunk accumulators, then the k best chunks
   * `accept` admits (ties broken by chunk id, so results are deterministic).
   */
  keyword(query: readonly QueryTerm[], k: number, accept: (doc: number) => boolean): KeywordCandidate[] {
    const n = this.liveCount;
    if (n === 0 || query.length === 0) return [];
    const scores = this.#scores;
    const lastTerm = this.#lastTerm;
    const matched = this.#matched;
    const touched: number[] = [];
    const live = this.#live;
    query.forEach(({ term: word, weight }, t) => {
      const term = this.dictionary.id(word);
      if (term === undefined) return;
      for (const [field, lengths, fieldWeight] of [
        [this.body, this.#bodyLength, 1],
        [this.name, this.#nameLength, NAME_WEIGHT],
      ] as const) {
        const list = field.list(term);
        if (!list || list.live === 0) continue;
        const idf = Math.log(1 + (n - list.live + 0.5) / (list.live + 0.5));
        const scale = weight * fieldWeight * idf;
        const average = field.totalLength / n || 1;
        const { docs, tfs, length } = list;
        for (let i = 0; i < length; i++) {
          const doc = docs[i]!;
          if (live[doc] === 0) continue;
          const tf = tfs[i]!;
          const score = scale * (DELTA + (tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * lengths[doc]!) / average)));
          if (matched[doc] === 0) touched.push(doc);
          if (lastTerm[doc] !== t + 1) {
            lastTerm[doc] = t + 1;
            matched[doc]!++;
          }
          scores[doc]! += score;
        }
      }
    });
    const ids = this.#ids;
    const top = new TopK<KeywordCandidate>(k, (a, b) => a.score > b.score || (a.score === b.score && ids[a.doc]! < ids[b.doc]!));
    for (const doc of touched) {
      if (accept(doc)) top.offer({ doc, score: scores[doc]!, matched: matched[doc]! });
      scores[doc] = 0;
      lastTerm[doc] = 0;
      matched[doc] = 0;
    }
    return top.sorted();
  }

  vector(query: Float32Array, k: number, accept: (doc: number) => boolean): VectorCandidate[] {
    return this.vectors.topK(query, k, (doc) => this.#live[doc] === 1 && accept(doc), (doc) => this.#ids[doc]!);
  }

  #grow(size: number): void {
    if (size <= this.#live.length) return;
    const capacity = Math.max(size, Math.ceil(this.#live.length * 1.5), 64);
    const grow = <A extends Uint8Array | Uint32Array | Int32Array | Float64Array>(from: A, make: (n: number) => A): A => {
      const to = make(capacity);
      to.set(from);
      return to;
    };
    this.#live = grow(this.#live, (c) => new Uint8Array(c));
    this.#documents = grow(this.#documents, (c) => new Int32Array(c));
    this.#bodyLength = grow(this.#bodyLength, (c) => new Uint32Array(c));
    this.#nameLength = grow(this.#nameLength, (c) => new Uint32Array(c));
    this.#scores = new Float64Array(capacity);
    this.#lastTerm = new Int32Array(capacity);
    this.#matched = new Uint8Array(capacity);
  }
}

/**
 * Loads a shard from its stored chunks: entries are collected first and counted per term, so
 * every posting list is allocated once at its final size instead of growing by copies.
 */
export class ShardLoad {
  readonly shard: Shard;
  readonly #entries: ShardEntry[] = [];
  #body: Uint32Array = new Uint32Array(1024);
  #name: Uint32Array = new Uint32Array(1024);

  constructor(shard: Shard) {
    this.shard = shard;
  }

  add(entry: ShardEntry): void {
    this.#entries.push(entry);
    this.#body = count(this.#body, entry.body.ids);
    this.#name = count(this.#name, entry.name.ids);
  }

  /** Indexes what was collected, `pause`-ing every `batch` entries so the event loop keeps turning. */
  async finish(batch: number, pause: () => Promise<unknown>): Promise<Shard> {
    await this.shard.body.reserve(this.#body, batch * 4, pause);
    await this.shard.name.reserve(this.#name, batch * 4, pause);
    for (let i = 0; i < this.#entries.length; i++) {
      if (i > 0 && i % batch === 0) await pause();
      this.shard.add(this.#entries[i]!);
    }
    this.#entries.length = 0;
    return this.shard;
  }
}

function count(counts: Uint32Array, ids: Uint32Array): Uint32Array {
  let out = counts;
  for (const id of ids) {
    if (id >= out.length) {
      const grown = new Uint32Array(Math.max(id + 1, out.length * 2));
      grown.set(out);
      out = grown;
    }
    out[id]!++;
  }
  return out;
}
