import MiniSearch, { type Options as MiniSearchOptions } from 'minisearch';
import { decodeVector, encodeVector } from '../embeddings/vectors.ts';
import { mkdir, open, readdir, readFile, rename, rm, truncate, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import type { Logger } from '../logger.ts';
import { ANALYZER_VERSION, createAnalyzer, type Analyzer } from './analyzer.ts';
import type {
  ChunkRecord,
  DeleteFilter,
  SearchFilter,
  SearchHit,
  SearchIndex,
  SearchMode,
  SearchRequest,
  SearchResponse,
} from './search.ts';

// The in-process search index: MiniSearch (BM25+) for keywords, exact cosine over a contiguous
// Float32Array for vectors, Meilisearch-style hybrid on top. Everything lives in memory; `dir`
// holds a snapshot and a journal so a restart does not need a rebuild from the store.

export interface EmbeddedSearchOptions {
  /** Directory owned by the index for its snapshot files, or null for memory only. */
  dir: string | null;
  /** Quiet period after the last mutation before the journal is written. */
  flushDelayMs?: number;
  /** Longest a write waits behind a steady stream of mutations. */
  flushMaxDelayMs?: number;
  /** Journal size below which it is never folded into a new snapshot (tests lower it). */
  compactMinBytes?: number;
}

export interface EmbeddedSearchDeps {
  log?: Logger;
}

type StoredChunk = Omit<ChunkRecord, 'vector'>;

interface Scored {
  chunk: StoredChunk;
  score: number;
}

const MAX_LIMIT = 100;
/** Candidates taken from each list before hybrid fusion, whatever the requested limit. */
const HYBRID_DEPTH = 100;
const DEFAULT_SEMANTIC_RATIO = 0.5;
// The file name is weaker evidence than the chunk's own words and headings (it is repeated on
// every chunk of the document), so it counts for half.
const DOCUMENT_NAME_BOOST = 0.5;

// ---------------------------------------------------------------------------------------------
// Vectors: one growable Float32Array, row i holding the vector of rowChunks[i]. Deleting moves
// the last row into the hole so the storage stays dense and scanning never skips gaps.

interface VectorCandidate {
  chunk: StoredChunk;
  cosine: number;
}

/** Orders candidates best first: higher cosine, then id ascending so ties are deterministic. */
function better(a: VectorCandidate, b: VectorCandidate): boolean {
  return a.cosine > b.cosine || (a.cosine === b.cosine && a.chunk.id < b.chunk.id);
}

/** Bounded min-heap keeping the k best candidates; the root is the worst one kept. */
class TopK {
  readonly #k: number;
  readonly #heap: VectorCandidate[] = [];

  constructor(k: number) {
    this.#k = k;
  }

  offer(candidate: VectorCandidate): void {
    const heap = this.#heap;
    if (heap.length < this.#k) {
      heap.push(candidate);
      let i = heap.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!better(heap[parent]!, heap[i]!)) break;
        [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
        i = parent;
      }
    } else if (this.#k > 0 && better(candidate, heap[0]!)) {
      heap[0] = candidate;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let worst = i;
        if (left < heap.length && better(heap[worst]!, heap[left]!)) worst = left;
        if (right < heap.length && better(heap[worst]!, heap[right]!)) worst = right;
        if (worst === i) break;
        [heap[worst], heap[i]] = [heap[i]!, heap[worst]!];
        i = worst;
      }
    }
  }

  /** Best first. */
  sorted(): VectorCandidate[] {
    return this.#heap.sort((a, b) => (better(a, b) ? -1 : 1));
  }
}

export class VectorStore {
  #dimension: number | null = null;
  #data = new Float32Array(0);
  #rowChunks: StoredChunk[] = [];
  readonly #rows = new Map<string, number>();

  get dimension(): number | null {
    return this.#dimension;
  }

  get size(): number {
    return this.#rowChunks.length;
  }

  has(id: string): boolean {
    return this.#rows.has(id);
  }

  /** Throws when `vector` cannot live beside the vectors already stored. */
  check(vector: Float32Array, batchDimension: number | null): void {
    const expected = this.size > 0 ? this.#dimension : batchDimension;
    if (vector.length === 0) throw new RangeError('chunk vector is empty');
    if (expected !== null && vector.length !== expected) {
      throw new RangeError(`chunk vector has ${vector.length} dimensions, the other vectors ${expected}`);
    }
  }

  set(chunk: StoredChunk, vector: Float32Array): void {
    if (this.size === 0) this.#dimension = vector.length;
    const dim = this.#dimension!;
    let row = this.#rows.get(chunk.id);
    if (row === undefined) {
      row = this.#rowChunks.length;
      this.#grow(row + 1);
      this.#rows.set(chunk.id, row);
    }
    this.#rowChunks[row] = chunk;
    this.#data.set(vector, row * dim);
  }

  /** Points a stored vector at the chunk's latest record (same id, new metadata). */
  retarget(chunk: StoredChunk): void {
    const row = this.#rows.get(chunk.id);
    if (row !== undefined) this.#rowChunks[row] = chunk;
  }

  remove(id: string): void {
    const row = this.#rows.get(id);
    if (row === undefined) return;
    const last = this.#rowChunks.length - 1;
    const dim = this.#dimension!;
    if (row !== last) {
      const moved = this.#rowChunks[last]!;
      this.#data.copyWithin(row * dim, last * dim, (last + 1) * dim);
      this.#rowChunks[row] = moved;
      this.#rows.set(moved.id, row);
    }
    this.#rowChunks.pop();
    this.#rows.delete(id);
    if (this.#rowChunks.length === 0) this.#dimension = null;
  }

  clear(): void {
    this.#dimension = null;
    this.#data = new Float32Array(0);
    this.#rowChunks = [];
    this.#rows.clear();
  }

  topK(query: Float32Array, k: number, accept: (chunk: StoredChunk) => boolean): VectorCandidate[] {
    const top = new TopK(k);
    const data = this.#data;
    const dim = query.length;
    const rows = this.#rowChunks;
    for (let row = 0; row < rows.length; row++) {
      const chunk = rows[row]!;
      if (!accept(chunk)) continue;
      let dot = 0;
      const base = row * dim;
      for (let i = 0; i < dim; i++) dot += data[base + i]! * query[i]!;
      top.offer({ chunk, cosine: dot });
    }
    return top.sorted();
  }

  /** A copy of the used rows and their chunk ids, in row order. */
  export(): { ids: string[]; data: Float32Array } {
    const dim = this.#dimension ?? 0;
    return { ids: this.#rowChunks.map((c) => c.id), data: this.#data.slice(0, this.size * dim) };
  }

  #grow(rows: number): void {
    const dim = this.#dimension!;
    if (rows * dim <= this.#data.length) return;
    const next = new Float32Array(Math.max(rows, Math.ceil(this.size * 1.5), 64) * dim);
    next.set(this.#data);
    this.#data = next;
  }
}

// ---------------------------------------------------------------------------------------------
// Persistence: a snapshot plus an append-only journal of the changes made since.
//
// A snapshot is a set of data files named after its sequence number and a manifest that lists
// them with sizes and CRCs; the manifest is renamed into place last, so a crash leaves either the
// old or the new snapshot whole. Every change is appended to journal-<seq>.log (one CRC-checked
// line per record, fsynced before setGeneration resolves), so recording a generation costs the
// size of the change, not of the index. Once the journal outgrows the snapshot it is folded into
// a new one, which keeps the total written per change constant on average.

const FORMAT_VERSION = 1;
const MANIFEST = 'manifest.json';
const DATA_FILE = /^(chunks|vectors|keyword|journal)-\d+\.(ndjson|f32|json|log)(\.tmp)?$|^manifest\.json\.tmp$/;
/** Chunks serialised per turn of the event loop while writing a snapshot. */
const WRITE_BATCH = 1000;
/** Chunks indexed per turn of the event loop (about 50 ms for long chunks on a slow core). */
const INDEX_BATCH = 50;
/** A journal smaller than this is never worth folding into a new snapshot. */
const COMPACT_MIN_BYTES = 8 * 1024 * 1024;

interface FileRef {
  file: string;
  bytes: number;
  crc32: number;
}

interface Manifest {
  format: number;
  seq: number;
  /** Generation of the snapshot's contents, or null when they changed after it was recorded. */
  generation: number | null;
  chunks: FileRef & { count: number };
  vectors: (FileRef & { dimension: number; rows: number }) | null;
  /** MiniSearch's own serialisation; only written on close (see `close`). */
  keyword: (FileRef & { analyzer: number }) | null;
}

interface ChunkLine extends StoredChunk {
  /** Row in the vectors file, or -1 for a keyword-only chunk. */
  row: number;
}

type JournalRecord =
  | { op: 'upsert'; chunk: StoredChunk; vector: string | null }
  | { op: 'delete'; filter: DeleteFilter }
  | { op: 'clear' }
  | { op: 'generation'; generation: number };

const journalName = (seq: number): string => `journal-${seq}.log`;

async function writeAtomically(path: string, parts: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<FileRef> {
  const temp = `${path}.tmp`;
  const handle = await open(temp, 'w');
  let bytes = 0;
  let crc = 0;
  try {
    for await (const part of parts) {
      await handle.write(part);
      bytes += part.byteLength;
      crc = crc32(part, crc);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
  return { file: basename(path), bytes, crc32: crc };
}

async function* chunkLines(chunks: readonly StoredChunk[], rowOf: ReadonlyMap<string, number>): AsyncGenerator<Uint8Array> {
  for (let start = 0; start < chunks.length; start += WRITE_BATCH) {
    let text = '';
    for (const chunk of chunks.slice(start, start + WRITE_BATCH)) {
      const line: ChunkLine = { ...chunk, row: rowOf.get(chunk.id) ?? -1 };
      text += `${JSON.stringify(line)}\n`;
    }
    yield Buffer.from(text);
    await nextTurn();
  }
}

async function readVerified(dir: string, ref: FileRef): Promise<Buffer> {
  if (ref.file.includes('/') || !DATA_FILE.test(ref.file)) throw new Error(`bad file name ${ref.file}`);
  const data = await readFile(join(dir, ref.file));
  if (data.byteLength !== ref.bytes || crc32(data) !== ref.crc32) throw new Error(`${ref.file} is damaged`);
  return data;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isPage = (v: unknown): v is number | null => v === null || Number.isInteger(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isFileRef = (v: unknown): v is FileRef => isObject(v) && isString(v.file) && Number.isInteger(v.bytes) && Number.isInteger(v.crc32);

function isStoredChunk(v: unknown): v is StoredChunk {
  return (
    isObject(v) &&
    [v.id, v.organisationId, v.kbId, v.documentId, v.documentName, v.text].every(isString) &&
    Array.isArray(v.headings) &&
    v.headings.every(isString) &&
    isPage(v.page) &&
    isPage(v.pageEnd)
  );
}

function parseManifest(text: string): Manifest {
  const m = JSON.parse(text) as Manifest;
  if (!isObject(m) || m.format !== FORMAT_VERSION) throw new Error('unknown snapshot format');
  const ok =
    Number.isInteger(m.seq) &&
    (m.generation === null || Number.isInteger(m.generation)) &&
    isFileRef(m.chunks) &&
    Number.isInteger(m.chunks.count) &&
    (m.vectors === null || (isFileRef(m.vectors) && Number.isInteger(m.vectors.dimension) && Number.isInteger(m.vectors.rows))) &&
    (m.keyword === null || isFileRef(m.keyword));
  if (!ok) throw new Error('bad manifest');
  return m;
}

function parseChunkLine(line: string): ChunkLine {
  const c = JSON.parse(line) as unknown;
  if (!isStoredChunk(c) || !Number.isInteger((c as ChunkLine).row)) throw new Error('bad chunk line');
  return c as ChunkLine;
}

function journalLine(record: JournalRecord): string {
  const json = JSON.stringify(record);
  return `${json}\t${crc32(json).toString(16)}\n`;
}

function parseJournalLine(line: string): JournalRecord | null {
  const tab = line.lastIndexOf('\t');
  const json = line.slice(0, tab);
  if (tab < 0 || crc32(json).toString(16) !== line.slice(tab + 1)) return null;
  try {
    const r = JSON.parse(json) as JournalRecord;
    const ok =
      (r.op === 'upsert' && isStoredChunk(r.chunk) && (r.vector === null || isString(r.vector))) ||
      (r.op === 'delete' && isObject(r.filter) && isString(r.filter.organisationId)) ||
      r.op === 'clear' ||
      (r.op === 'generation' && Number.isInteger(r.generation));
    return ok ? r : null;
  } catch {
    return null;
  }
}

/**
 * The journal's records. Only the last line may be unreadable — an append the process did not
 * live to finish — and is then dropped; damage anywhere before it makes the journal unusable.
 */
function parseJournal(data: Buffer): { records: JournalRecord[]; validBytes: number } {
  const records: JournalRecord[] = [];
  let offset = 0;
  while (offset < data.byteLength) {
    const end = data.indexOf(10, offset);
    const record = end < 0 ? null : parseJournalLine(data.toString('utf8', offset, end));
    if (!record) {
      if (end < 0 || end === data.byteLength - 1) break;
      throw new Error('journal damaged before its end');
    }
    records.push(record);
    offset = end + 1;
  }
  return { records, validBytes: offset };
}

// ---------------------------------------------------------------------------------------------

function toStored(chunk: ChunkRecord): StoredChunk {
  const { id, organisationId, kbId, documentId, documentName, headings, page, pageEnd, pages, start, end, text } = chunk;
  return { id, organisationId, kbId, documentId, documentName, headings: [...headings], page, pageEnd, pages: (pages ?? []).map((p) => ({ ...p })), start: start ?? 0, end: end ?? text.length, text };
}

function requireOrganisation(filter: { organisationId: string } | undefined): void {
  if (!filter || !isString(filter.organisationId) || filter.organisationId === '') {
    throw new TypeError('a search filter must name the organisation');
  }
}

function validateChunk(chunk: ChunkRecord): void {
  const ok =
    isStoredChunk(chunk) &&
    [chunk.id, chunk.organisationId, chunk.kbId, chunk.documentId].every((v) => v !== '') &&
    (chunk.vector === undefined || chunk.vector instanceof Float32Array);
  if (!ok) throw new TypeError(`invalid chunk record ${String((chunk as Partial<ChunkRecord> | null)?.id)}`);
}

function searchPredicate(filter: SearchFilter): (chunk: StoredChunk) => boolean {
  requireOrganisation(filter);
  const { organisationId, kbId } = filter;
  const documents = filter.documentIds ? new Set(filter.documentIds) : null;
  return (c) =>
    c.organisationId === organisationId && (kbId === undefined || c.kbId === kbId) && (documents === null || documents.has(c.documentId));
}

function deletePredicate(filter: DeleteFilter): (chunk: StoredChunk) => boolean {
  requireOrganisation(filter);
  const { organisationId, kbId, documentId } = filter;
  return (c) =>
    c.organisationId === organisationId && (kbId === undefined || c.kbId === kbId) && (documentId === undefined || c.documentId === documentId);
}

const byScoreThenId = (a: Scored, b: Scored): number => b.score - a.score || (a.chunk.id < b.chunk.id ? -1 : a.chunk.id > b.chunk.id ? 1 : 0);

function miniSearchOptions(analyzer: Analyzer): MiniSearchOptions<StoredChunk> {
  return {
    idField: 'id',
    // Headings join the chunk's words in one field (like BEIR's "flat" title + text, which beat
    // a separately weighted title field on SciFact); the document name stays apart at lower weight.
    fields: ['body', 'documentName'],
    extractField: (chunk, field) =>
      field === 'body' ? `${chunk.headings.join('\n')}\n${chunk.text}` : (chunk as unknown as Record<string, unknown>)[field],
    tokenize: (text) => analyzer.analyze(text),
    // Analysis already produced final terms; MiniSearch must not lowercase or alter them.
    processTerm: (term) => term,
    searchOptions: { boost: { documentName: DOCUMENT_NAME_BOOST }, prefix: false, fuzzy: false },
  };
}

export interface EmbeddedSearch extends SearchIndex {
  readonly kind: 'embedded';
}

export async function createEmbeddedSearch(options: EmbeddedSearchOptions, deps: EmbeddedSearchDeps = {}): Promise<EmbeddedSearch> {
  const { dir, flushDelayMs = 500, flushMaxDelayMs = 5000, compactMinBytes = COMPACT_MIN_BYTES } = options;
  const { log } = deps;
  const analyzer = createAnalyzer();
  const msOptions = miniSearchOptions(analyzer);

  let keyword = new MiniSearch<StoredChunk>(msOptions);
  const chunks = new Map<string, StoredChunk>();
  const vectors = new VectorStore();
  let generation: number | null = null;
  /** Whether the contents are exactly those `generation` was recorded with. */
  let generationCurrent = false;
  let closed = false;
  let closing: Promise<void> | null = null;
  let mutations: Promise<unknown> = Promise.resolve();

  // Persistence state (unused when dir is null).
  let seq = 0;
  /** Journal lines of changes already applied in memory, not yet appended. */
  let pending: string[] = [];
  let journal: FileHandle | null = null;
  let journalBytes = 0;
  let snapshotBytes = 0;
  /** The next write must be a snapshot (fresh directory, damage found, index cleared). */
  let compactNext = false;
  /** Whether the current snapshot holds a loadable keyword index (true also under a journal). */
  let keywordOnDisk = false;
  /** Counts changes, so a snapshot knows whether anything moved while it was being written. */
  let changes = 0;
  /** Set while the journal is replayed: those changes are on disk already. */
  let replaying = false;
  let timer: NodeJS.Timeout | null = null;
  let firstPendingAt = 0;
  let writing: Promise<void> = Promise.resolve();

  /**
   * Runs mutations one after another: a large upsert yields to the event loop between batches,
   * and a delete, clear or close arriving meanwhile must wait for it rather than interleave.
   */
  function exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = mutations.then(() => {
      assertOpen();
      return work();
    });
    mutations = run.catch(() => undefined);
    return run;
  }

  // Each change is applied in memory and, with a directory, queued for the journal.
  function record(entry: JournalRecord): void {
    changes++;
    if (entry.op !== 'generation') generationCurrent = false;
    if (dir === null || replaying) return;
    if (pending.length === 0) firstPendingAt = performance.now();
    pending.push(journalLine(entry));
    scheduleFlush();
  }

  function addChunk(chunk: StoredChunk, vector: Float32Array | undefined): void {
    if (chunks.has(chunk.id)) keyword.discard(chunk.id);
    keyword.add(chunk);
    chunks.set(chunk.id, chunk);
    if (vector) vectors.set(chunk, vector);
    else vectors.remove(chunk.id);
    record({ op: 'upsert', chunk, vector: vector ? encodeVector(vector) : null });
  }

  function deleteWhere(filter: DeleteFilter): number {
    const match = deletePredicate(filter);
    const ids = [...chunks.values()].filter(match).map((c) => c.id);
    if (ids.length === 0) return 0;
    keyword.discardAll(ids);
    for (const id of ids) {
      chunks.delete(id);
      vectors.remove(id);
    }
    record({ op: 'delete', filter: { organisationId: filter.organisationId, kbId: filter.kbId, documentId: filter.documentId } });
    return ids.length;
  }

  function clearAll(): void {
    keyword = new MiniSearch<StoredChunk>(msOptions);
    chunks.clear();
    vectors.clear();
    generation = null;
    record({ op: 'clear' });
    // Everything before the clear is dead weight: start the next snapshot from the empty state.
    compactNext = true;
  }

  function recordGeneration(value: number): void {
    generation = value;
    generationCurrent = true;
    record({ op: 'generation', generation: value });
  }

  async function load(from: string): Promise<void> {
    let manifest: Manifest;
    try {
      manifest = parseManifest(await readFile(join(from, MANIFEST), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log?.warn({ err, dir: from }, 'search snapshot unreadable; starting empty');
      compactNext = true;
      return;
    }
    seq = manifest.seq;
    try {
      await loadSnapshot(from, manifest);
      await replayJournal(from);
    } catch (err) {
      log?.warn({ err, dir: from }, 'search snapshot damaged; starting empty');
      replaying = true;
      clearAll();
      replaying = false;
    }
  }

  async function loadSnapshot(from: string, manifest: Manifest): Promise<void> {
    const lines = (await readVerified(from, manifest.chunks)).toString('utf8').split('\n');
    const rows = manifest.vectors ? await readVerified(from, manifest.vectors) : null;
    const dim = manifest.vectors?.dimension ?? 0;
    const data = rows ? new Float32Array(rows.buffer.slice(rows.byteOffset, rows.byteOffset + rows.byteLength)) : null;
    if (data && data.length !== dim * manifest.vectors!.rows) throw new Error('vectors file does not match the manifest');
    const loaded: StoredChunk[] = [];
    for (const [n, line] of lines.entries()) {
      if (n % WRITE_BATCH === WRITE_BATCH - 1) await nextTurn();
      if (line === '') continue;
      const { row, ...chunk } = parseChunkLine(line);
      if (row >= 0) {
        if (!data || row >= manifest.vectors!.rows) throw new Error('chunk names a missing vector row');
        vectors.set(chunk, data.subarray(row * dim, (row + 1) * dim));
      }
      chunks.set(chunk.id, chunk);
      loaded.push(chunk);
    }
    if (loaded.length !== manifest.chunks.count) throw new Error('chunk count does not match the manifest');
    keywordOnDisk = manifest.keyword !== null && manifest.keyword.analyzer === ANALYZER_VERSION;
    if (keywordOnDisk) {
      keyword = await MiniSearch.loadJSONAsync<StoredChunk>((await readVerified(from, manifest.keyword!)).toString('utf8'), msOptions);
      if (keyword.documentCount !== loaded.length) throw new Error('keyword index does not match the chunks');
    } else {
      // No keyword index saved (not closed cleanly, or analysis changed): rebuild it from the
      // chunks, yielding between batches so a large rebuild does not stall the event loop.
      await keyword.addAllAsync(loaded, { chunkSize: INDEX_BATCH });
    }
    generation = manifest.generation;
    generationCurrent = generation !== null;
    snapshotBytes = manifest.chunks.bytes + (manifest.vectors?.bytes ?? 0);
  }

  async function replayJournal(from: string): Promise<void> {
    const path = join(from, journalName(seq));
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const { records, validBytes } = parseJournal(data);
    replaying = true;
    try {
      for (const [n, entry] of records.entries()) {
        if (n % WRITE_BATCH === WRITE_BATCH - 1) await nextTurn();
        if (entry.op === 'upsert') {
          const vector = entry.vector === null ? undefined : decodeVector(entry.vector);
          if (vector) vectors.check(vector, null);
          addChunk(entry.chunk, vector);
        } else if (entry.op === 'delete') deleteWhere(entry.filter);
        else if (entry.op === 'clear') clearAll();
        else recordGeneration(entry.generation);
      }
    } finally {
      replaying = false;
    }
    // Changes after the last generation record are not part of it (see `generation()`).
    if (!generationCurrent) generation = null;
    journalBytes = validBytes;
    if (validBytes < data.byteLength) {
      log?.warn({ dir: from, dropped: data.byteLength - validBytes }, 'search journal ended in an unfinished write; dropped it');
      await truncate(path, validBytes);
    }
  }

  function scheduleFlush(): void {
    if (closed) return;
    if (timer) clearTimeout(timer);
    const wait = Math.max(0, Math.min(flushDelayMs, firstPendingAt + flushMaxDelayMs - performance.now()));
    timer = setTimeout(() => {
      timer = null;
      flush(false).catch((err: unknown) => log?.error({ err, dir }, 'search index write failed'));
    }, wait);
    // A pending write must not keep the process alive; close() writes it anyway.
    timer.unref();
  }

  /** Makes every change so far durable; `final` also leaves a loadable keyword index behind. */
  function flush(final: boolean): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    const run = writing.then(async () => {
      if (dir === null) return;
      if (!compactNext && pending.length > 0) await appendJournal(dir);
      const outgrown = journalBytes > Math.max(compactMinBytes, snapshotBytes);
      if (compactNext || outgrown || (final && (journalBytes > 0 || !keywordOnDisk))) await writeSnapshot(dir, final);
    });
    writing = run.catch(() => undefined);
    return run;
  }

  async function appendJournal(to: string): Promise<void> {
    const lines = pending;
    pending = [];
    const text = lines.join('');
    try {
      journal ??= await open(join(to, journalName(seq)), 'a');
      await journal.write(text);
      await journal.datasync();
      journalBytes += Buffer.byteLength(text);
    } catch (err) {
      // Part of the text may have reached the file; only a new snapshot is trustworthy now.
      pending = [...lines, ...pending];
      compactNext = true;
      throw err;
    }
  }

  async function writeSnapshot(to: string, withKeyword: boolean): Promise<void> {
    // Captured synchronously: records are immutable (upsert replaces them) and the vectors are
    // copied, so the write below sees one point in time however long it takes.
    const next = seq + 1;
    const captured = pending;
    const changesAtCapture = changes;
    pending = [];
    const list = [...chunks.values()];
    const { ids, data } = vectors.export();
    const rowOf = new Map(ids.map((id, row) => [id, row]));
    const dimension = vectors.dimension;
    const recorded = generationCurrent ? generation : null;
    // MiniSearch serialises its whole index in one go (about a second for SciFact's 1.5M
    // words), so it is written only on close; after a crash it is rebuilt from the chunks.
    const keywordJson = withKeyword ? JSON.stringify(keyword) : null;
    try {
      const chunkRef = await writeAtomically(join(to, `chunks-${next}.ndjson`), chunkLines(list, rowOf));
      const vectorRef =
        dimension !== null && ids.length > 0
          ? await writeAtomically(join(to, `vectors-${next}.f32`), [new Uint8Array(data.buffer, data.byteOffset, data.byteLength)])
          : null;
      const keywordRef = keywordJson === null ? null : await writeAtomically(join(to, `keyword-${next}.json`), [Buffer.from(keywordJson)]);
      const manifest: Manifest = {
        format: FORMAT_VERSION,
        seq: next,
        generation: recorded,
        chunks: { ...chunkRef, count: list.length },
        vectors: vectorRef && dimension !== null ? { ...vectorRef, dimension, rows: ids.length } : null,
        keyword: keywordRef ? { ...keywordRef, analyzer: ANALYZER_VERSION } : null,
      };
      await writeAtomically(join(to, MANIFEST), [Buffer.from(JSON.stringify(manifest))]);
      await syncDirectory(to);
      await journal?.close();
      journal = null;
      seq = next;
      journalBytes = 0;
      snapshotBytes = chunkRef.bytes + (vectorRef?.bytes ?? 0);
      compactNext = false;
      keywordOnDisk = keywordRef !== null;
    } catch (err) {
      // The old snapshot and journal still stand; the captured changes go to that journal.
      pending = [...captured, ...pending];
      throw err;
    }
    if (changes !== changesAtCapture) scheduleFlush();
    const keep = new Set([MANIFEST, `chunks-${next}.ndjson`, `vectors-${next}.f32`, `keyword-${next}.json`, journalName(next)]);
    for (const name of await readdir(to)) {
      if (!keep.has(name) && DATA_FILE.test(name)) await rm(join(to, name), { force: true });
    }
  }

  function assertOpen(): void {
    if (closed) throw new Error('search index is closed');
  }

  function keywordList(query: string, accept: (c: StoredChunk) => boolean): Scored[] {
    const queryTerms = new Set(analyzer.analyze(query));
    if (queryTerms.size === 0) return [];
    const results = keyword.search(query, { filter: (r) => accept(chunks.get(r.id as string)!) });
    // MiniSearch multiplies each score by the number of query terms matched; dividing it back
    // out leaves plain BM25+, which ranks better (SciFact nDCG@10 0.68 against 0.65).
    const list = results.map((r) => ({ chunk: chunks.get(r.id as string)!, score: r.score / (r.queryTerms.length || 1), matched: r.queryTerms.length }));
    list.sort(byScoreThenId);
    const top = list[0];
    if (!top) return [];
    // Scores relative to the best hit, scaled by how much of the query that hit covers: a query
    // whose best match has one of five terms should not report a confident 1.0.
    const scale = top.matched / queryTerms.size / top.score;
    return list.map(({ chunk, score }) => ({ chunk, score: score * scale }));
  }

  function hybrid(keywordHits: Scored[], candidates: VectorCandidate[], ratio: number): Scored[] {
    const first = candidates[0]?.cosine ?? 0;
    const last = candidates.at(-1)?.cosine ?? 0;
    const span = first - last;
    const fused = new Map<string, Scored>();
    for (const { chunk, score } of keywordHits.slice(0, HYBRID_DEPTH)) fused.set(chunk.id, { chunk, score: (1 - ratio) * score });
    for (const { chunk, cosine } of candidates) {
      // Min-max over the candidates: cosines of unrelated texts sit well above zero for most
      // models, so only the position within this query's candidates is comparable to keywords.
      const normalised = span > 0 ? (cosine - last) / span : 1;
      const entry = fused.get(chunk.id) ?? { chunk, score: 0 };
      entry.score += ratio * normalised;
      fused.set(chunk.id, entry);
    }
    return [...fused.values()].filter((s) => s.score > 0).sort(byScoreThenId);
  }

  function toHit({ chunk, score }: Scored, queryTerms: ReadonlySet<string>): SearchHit {
    return {
      id: chunk.id,
      documentId: chunk.documentId,
      documentName: chunk.documentName,
      kbId: chunk.kbId,
      headings: [...chunk.headings],
      page: chunk.page,
      pageEnd: chunk.pageEnd,
      pages: (chunk.pages ?? []).map((p) => ({ ...p })),
      start: chunk.start,
      end: chunk.end,
      text: chunk.text,
      score: Math.min(1, Math.max(0, score)),
      matchedTerms: queryTerms.size > 0 ? analyzer.surfaceForms(chunk.text, queryTerms) : [],
    };
  }

  function usableVector(vector: Float32Array | undefined): Float32Array | null {
    if (!vector || vector.length === 0) return null;
    if (vectors.dimension !== null && vector.length !== vectors.dimension) {
      log?.warn({ query: vector.length, index: vectors.dimension }, 'query vector dimension differs from the index; searching keywords only');
      return null;
    }
    return vector;
  }

  if (dir !== null) {
    await mkdir(dir, { recursive: true });
    await load(dir);
    if (compactNext) await flush(false);
  }

  const index: EmbeddedSearch = {
    kind: 'embedded',

    upsert(batch) {
      return exclusive(async () => {
        let batchDimension: number | null = null;
        for (const chunk of batch) {
          validateChunk(chunk);
          if (chunk.vector) {
            vectors.check(chunk.vector, batchDimension);
            batchDimension = chunk.vector.length;
          }
        }
        for (let start = 0; start < batch.length; start += INDEX_BATCH) {
          if (start > 0) await nextTurn();
          for (const chunk of batch.slice(start, start + INDEX_BATCH)) addChunk(toStored(chunk), chunk.vector);
        }
      });
    },

    delete(filter) {
      return exclusive(async () => deleteWhere(filter));
    },

    async count(filter) {
      assertOpen();
      const match = deletePredicate(filter);
      let n = 0;
      for (const chunk of chunks.values()) if (match(chunk)) n++;
      return n;
    },

    async search(request: SearchRequest): Promise<SearchResponse> {
      assertOpen();
      const started = performance.now();
      const accept = searchPredicate(request.filter);
      const limit = Math.min(MAX_LIMIT, Math.max(1, Math.floor(request.limit) || 1));
      const vector = request.mode === 'keyword' ? null : usableVector(request.vector);
      const mode: SearchMode = vector ? request.mode : 'keyword';
      const queryTerms = new Set(analyzer.analyze(request.query));
      let ranked: Scored[];
      if (vector === null) {
        ranked = keywordList(request.query, accept);
      } else if (mode === 'vector') {
        ranked = vectors.topK(vector, limit, accept).map(({ chunk, cosine }) => ({ chunk, score: (1 + cosine) / 2 }));
      } else {
        const ratio = Math.min(1, Math.max(0, request.semanticRatio ?? DEFAULT_SEMANTIC_RATIO));
        ranked = hybrid(keywordList(request.query, accept), vectors.topK(vector, HYBRID_DEPTH, accept), ratio);
      }
      const hits = ranked.slice(0, limit).map((s) => toHit(s, queryTerms));
      return { hits, mode, tookMs: performance.now() - started };
    },

    async generation() {
      assertOpen();
      return generation;
    },

    setGeneration(value) {
      return exclusive(async () => {
        if (!Number.isInteger(value)) throw new TypeError('generation must be an integer');
        recordGeneration(value);
        await flush(false);
      });
    },

    clear() {
      return exclusive(async () => clearAll());
    },

    async ping() {
      assertOpen();
    },

    close() {
      // Queued behind pending mutations, so their changes make it to disk.
      closing ??= exclusive(async () => {
        closed = true;
        await flush(true);
        await journal?.close();
        journal = null;
      });
      return closing;
    },
  };
  return index;
}

async function syncDirectory(dir: string): Promise<void> {
  // The renames are durable only once the directory entry is; not every platform can open a
  // directory for syncing, and there the rename's own ordering has to do.
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* best effort */
  }
}
