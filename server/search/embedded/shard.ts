// One knowledge base's search index in memory: its chunks numbered densely, two fields of
// postings (the chunk's headings and words; the document name) and its vectors. Statistics —
// document counts, document frequencies, average lengths — are the shard's own, so one tenant's
// scores and latency never depend on another's data.

import { TopK } from '../topk.ts';
import { TermDictionary } from './dictionary.ts';
import { FieldPostings, type FieldTermIds, type TermList } from './postings.ts';
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

interface FieldPlan {
  list: TermList;
  lengths: Uint32Array;
  /** Query weight × field weight × idf. */
  scale: number;
  average: number;
}

interface TermPlan {
  /** The term's 1-based position in the query: marks the chunks that hold it. */
  mark: number;
  fields: FieldPlan[];
  /** The most this term can add to one chunk's score. */
  bound: number;
}

/** The first index at or after `from` whose doc is ≥ `doc` (`length` when none): exponential, then binary search. */
function gallop(docs: Uint32Array, length: number, from: number, doc: number): number {
  if (from >= length || docs[from]! >= doc) return from;
  let step = 1;
  let low = from;
  let high = from + 1;
  while (high < length && docs[high]! < doc) {
    low = high;
    step *= 2;
    high = from + step;
  }
  high = Math.min(high, length);
  // docs[low] < doc; the answer lies in (low, high].
  while (low + 1 < high) {
    const mid = (low + high) >>> 1;
    if (docs[mid]! < doc) low = mid;
    else high = mid;
  }
  return high;
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
   * BM25+ over both fields, term at a time into per-chunk accumulators, with MaxScore pruning:
   * terms go rarest (highest possible contribution) first, and once the contributions still to
   * come cannot lift a chunk that matched nothing yet above the k-th score so far, the remaining
   * (common, long) lists are only probed for the chunks still in the running. The result is the
   * exhaustive top k, ties broken by chunk id; only the work differs.
   */
  keyword(query: readonly QueryTerm[], k: number, accept: (doc: number) => boolean): KeywordCandidate[] {
    const n = this.liveCount;
    if (n === 0 || query.length === 0 || k <= 0) return [];
    const plans = this.#plan(query, n);
    const touched: number[] = [];
    let remaining = plans.reduce((sum, p) => sum + p.bound, 0);
    let best = 0;
    let threshold = 0;
    let next = 0;
    for (; next < plans.length; next++) {
      if (touched.length >= k && remaining < best) {
        threshold = this.#kth(touched, k, accept);
        if (remaining < threshold) break;
      }
      best = Math.max(best, this.#accumulate(plans[next]!, touched));
      remaining -= plans[next]!.bound;
    }
    if (next < plans.length) {
      const scores = this.#scores;
      const running = touched.filter((doc) => accept(doc) && scores[doc]! + remaining >= threshold).sort((x, y) => x - y);
      for (; next < plans.length; next++) this.#probe(plans[next]!, running);
    }
    const ids = this.#ids;
    const top = new TopK<KeywordCandidate>(k, (a, b) => a.score > b.score || (a.score === b.score && ids[a.doc]! < ids[b.doc]!));
    for (const doc of touched) {
      if (accept(doc)) top.offer({ doc, score: this.#scores[doc]!, matched: this.#matched[doc]! });
      this.#scores[doc] = 0;
      this.#lastTerm[doc] = 0;
      this.#matched[doc] = 0;
    }
    return top.sorted();
  }

  /** Each query term's posting lists with their BM25+ weights and the most one chunk can gain from it; highest first. */
  #plan(query: readonly QueryTerm[], n: number): TermPlan[] {
    const plans: TermPlan[] = [];
    query.forEach(({ term: word, weight }, index) => {
      const term = this.dictionary.id(word);
      if (term === undefined) return;
      const fields: FieldPlan[] = [];
      let bound = 0;
      for (const [postings, lengths, fieldWeight] of [
        [this.body, this.#bodyLength, 1],
        [this.name, this.#nameLength, NAME_WEIGHT],
      ] as const) {
        const list = postings.list(term);
        if (!list || list.live === 0) continue;
        const scale = weight * fieldWeight * Math.log(1 + (n - list.live + 0.5) / (list.live + 0.5));
        fields.push({ list, lengths, scale, average: postings.totalLength / n || 1 });
        // tf(k1 + 1) / (tf + k1(…)) stays below k1 + 1 whatever the tf and length.
        bound += scale * (DELTA + K1 + 1);
      }
      if (fields.length > 0) plans.push({ mark: index + 1, fields, bound });
    });
    return plans.sort((a, b) => b.bound - a.bound || a.mark - b.mark);
  }

  #gain(field: FieldPlan, i: number, doc: number): number {
    const tf = field.list.tfs[i]!;
    return field.scale * (DELTA + (tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * field.lengths[doc]!) / field.average)));
  }

  #credit(doc: number, mark: number, gain: number): void {
    if (this.#lastTerm[doc] !== mark) {
      this.#lastTerm[doc] = mark;
      this.#matched[doc]!++;
    }
    this.#scores[doc]! += gain;
  }

  /** Adds a term's contribution to every live chunk in its lists; returns the best score reached. */
  #accumulate(plan: TermPlan, touched: number[]): number {
    let best = 0;
    for (const field of plan.fields) {
      const { docs, length } = field.list;
      for (let i = 0; i < length; i++) {
        const doc = docs[i]!;
        if (this.#live[doc] === 0) continue;
        if (this.#matched[doc] === 0) touched.push(doc);
        this.#credit(doc, plan.mark, this.#gain(field, i, doc));
        if (this.#scores[doc]! > best) best = this.#scores[doc]!;
      }
    }
    return best;
  }

  /** Adds a term's contribution to `running` chunks only (ascending), galloping through its sorted lists. */
  #probe(plan: TermPlan, running: readonly number[]): void {
    for (const field of plan.fields) {
      const { docs, length } = field.list;
      let at = 0;
      for (const doc of running) {
        at = gallop(docs, length, at, doc);
        if (at >= length) break;
        if (docs[at] === doc) this.#credit(doc, plan.mark, this.#gain(field, at, doc));
      }
    }
  }

  /** The k-th best score among the accepted chunks touched so far. */
  #kth(touched: readonly number[], k: number, accept: (doc: number) => boolean): number {
    const top = new TopK<number>(k, (a, b) => a > b);
    for (const doc of touched) if (accept(doc)) top.offer(this.#scores[doc]!);
    return top.size < k ? 0 : top.floor!;
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


/** One stored chunk as loading reads it: term numbers as raw little-endian bytes. */
export interface StoredChunk {
  id: string;
  documentId: string;
  body: { ids: Uint8Array; tfs: Uint8Array; length: number };
  name: { ids: Uint8Array; tfs: Uint8Array; length: number };
  vector: Float32Array | undefined;
}

/** A field's term numbers and frequencies, chunk after chunk, in one allocation. */
class FlatField {
  ids: Uint32Array;
  tfs: Uint8Array;
  starts: Uint32Array;
  lengths: Uint32Array;
  used = 0;
  counts: Uint32Array = new Uint32Array(1024);

  /** Sized for `chunks` chunks; the postings arrays grow to what the chunks read so far project for all of them. */
  constructor(chunks: number) {
    this.ids = new Uint32Array(4096);
    this.tfs = new Uint8Array(4096);
    this.starts = new Uint32Array(chunks + 1);
    this.lengths = new Uint32Array(chunks);
  }

  add(chunk: number, field: StoredChunk['body']): void {
    const n = field.ids.byteLength >>> 2;
    if (this.used + n > this.ids.length) this.#grow(Math.max(this.used + n, Math.ceil(((this.used + n) / (chunk + 1)) * this.lengths.length * 1.1)));
    if (chunk >= this.lengths.length) this.#growChunks(chunk + 1);
    // The stored bytes were written from a Uint32Array on this machine: copy them as they are.
    new Uint8Array(this.ids.buffer, this.used * 4, n * 4).set(field.ids.subarray(0, n * 4));
    this.tfs.set(field.tfs.subarray(0, n), this.used);
    for (let i = this.used; i < this.used + n; i++) {
      const id = this.ids[i]!;
      if (id >= this.counts.length) {
        const grown = new Uint32Array(Math.max(id + 1, this.counts.length * 2));
        grown.set(this.counts);
        this.counts = grown;
      }
      this.counts[id]!++;
    }
    this.starts[chunk] = this.used;
    this.lengths[chunk] = field.length;
    this.used += n;
    this.starts[chunk + 1] = this.used;
  }

  view(chunk: number): FieldTermIds {
    const from = this.starts[chunk]!;
    const to = this.starts[chunk + 1]!;
    return { ids: this.ids.subarray(from, to), tfs: this.tfs.subarray(from, to), length: this.lengths[chunk]! };
  }

  #grow(postings: number): void {
    const ids = new Uint32Array(Math.max(postings, Math.ceil(this.ids.length * 1.5)));
    ids.set(this.ids.subarray(0, this.used));
    const tfs = new Uint8Array(ids.length);
    tfs.set(this.tfs.subarray(0, this.used));
    this.ids = ids;
    this.tfs = tfs;
  }

  #growChunks(chunks: number): void {
    const size = Math.max(chunks, this.lengths.length * 2);
    const starts = new Uint32Array(size + 1);
    starts.set(this.starts);
    const lengths = new Uint32Array(size);
    lengths.set(this.lengths);
    this.starts = starts;
    this.lengths = lengths;
  }
}

/**
 * Loads a shard from its stored chunks: their term numbers are copied into one array per field
 * and counted per term, then every posting list is carved out of one allocation at its final
 * size. Few, large arrays load faster and leave less behind than one pair per chunk and term.
 */
export class ShardLoad {
  readonly shard: Shard;
  readonly #ids: string[] = [];
  readonly #documents: string[] = [];
  readonly #vectors: Array<Float32Array | undefined> = [];
  readonly #body: FlatField;
  readonly #name: FlatField;

  /** `chunks`: how many the shard holds, as counted before loading. */
  constructor(shard: Shard, chunks: number) {
    this.shard = shard;
    this.#body = new FlatField(chunks);
    this.#name = new FlatField(chunks);
  }

  add(chunk: StoredChunk): void {
    const n = this.#ids.length;
    this.#ids.push(chunk.id);
    this.#documents.push(chunk.documentId);
    this.#vectors.push(chunk.vector);
    this.#body.add(n, chunk.body);
    this.#name.add(n, chunk.name);
  }

  /** Indexes what was collected, `pause`-ing every `batch` chunks so the event loop keeps turning. */
  async finish(batch: number, pause: () => Promise<unknown>): Promise<Shard> {
    this.shard.body.reserve(this.#body.counts);
    this.shard.name.reserve(this.#name.counts);
    for (let i = 0; i < this.#ids.length; i++) {
      if (i > 0 && i % batch === 0) await pause();
      this.shard.add({ id: this.#ids[i]!, documentId: this.#documents[i]!, body: this.#body.view(i), name: this.#name.view(i), vector: this.#vectors[i] });
    }
    return this.shard;
  }
}
