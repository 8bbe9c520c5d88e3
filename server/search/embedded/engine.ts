// The embedded search index: one shard per knowledge base (its own postings, statistics and
// vectors, so no tenant's data touches another's results or latency), kept in SQLite tables and
// held in memory for ranking. Writes go to SQLite first, in one transaction per call, and then
// to memory; a restart reads the rows back shard by shard while the server already answers.

import type { DatabaseSync } from 'node:sqlite';
import { openSqlite, placeholders, Statements, transaction as inTransaction, WalEraser } from '../../sqlite/connection.ts';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from '../../logger.ts';
import { ANALYZER_VERSION, createAnalyzer } from '../analyzer.ts';
import { cosineScore, DEFAULT_SEMANTIC_RATIO, fuse, HYBRID_DEPTH, type Ranked } from '../fusion.ts';
import type { ChunkRecord, SearchIndex, SearchMode, SearchRequest, SearchResponse } from '../search.ts';
import { fieldTerms, type FieldTermIds, type FieldTerms } from './postings.ts';
import { hitKey, keywordHits, queryTerms, toHits, usableVector, vectorHits, type Hit } from './ranking.ts';
import { Shard, ShardLoad } from './shard.ts';
import { checkVector } from './vectors.ts';
import { blobIds, blobVector, FORMAT_VERSION, idsBlob, SCHEMA, SEEKS, vectorBlob, type ChunkRecordFields, type ChunkRow } from './tables.ts';

export interface EmbeddedSearchOptions {
  /** SQLite file holding the index (the store's own file by default), or null for memory only. */
  file: string | null;
  /** How a chunk's stored record (its text) is sealed at rest; stored as it is by default. */
  records?: { seal(json: string): string; open(stored: string): string };
}

export interface EmbeddedSearchDeps {
  log?: Logger;
}

export interface EmbeddedSearch extends SearchIndex {
  readonly kind: 'embedded';
}

const MAX_LIMIT = 100;
/** Rows read per turn of the event loop while loading a shard. */
const LOAD_BATCH = 500;
/** Chunks analysed per turn of the event loop while upserting. */
const ANALYSE_BATCH = 64;
/** Chunks written per SQLite transaction while upserting. */
const WRITE_BATCH = 64;

function requireOrganisation(filter: { organisationId: string } | undefined): void {
  if (!filter || typeof filter.organisationId !== 'string' || filter.organisationId === '') {
    throw new TypeError('a search filter must name the organisation');
  }
}

function validateChunk(chunk: ChunkRecord): void {
  const strings = [chunk?.id, chunk?.organisationId, chunk?.kbId, chunk?.documentId];
  const ok =
    strings.every((v) => typeof v === 'string' && v !== '') &&
    typeof chunk.documentName === 'string' &&
    typeof chunk.text === 'string' &&
    Array.isArray(chunk.headings) &&
    chunk.headings.every((h) => typeof h === 'string') &&
    (chunk.vector === undefined || chunk.vector instanceof Float32Array);
  if (!ok) throw new TypeError(`invalid chunk record ${String((chunk as Partial<ChunkRecord> | null)?.id)}`);
}

function openDatabase(file: string | null): DatabaseSync {
  const db = openSqlite(file);
  db.exec(SCHEMA);
  return db;
}

export async function createEmbeddedSearch(options: EmbeddedSearchOptions, deps: EmbeddedSearchDeps = {}): Promise<EmbeddedSearch> {
  const { log } = deps;
  const analyzer = createAnalyzer();
  const sealed = options.records ?? { seal: (json: string) => json, open: (stored: string) => stored };
  let db: DatabaseSync | null = openDatabase(options.file);
  const sql = new Statements(() => database());

  const shards = new Map<number, Shard>();
  const shardIds = new Map<string, number>();
  const loading = new Map<number, Promise<Shard>>();
  const shardKey = (organisationId: string, kbId: string): string => `${organisationId}\u0000${kbId}`;
  let mutations: Promise<unknown> = Promise.resolve();
  // Deleted text stays in the write-ahead log's older frames until it is truncated.
  const eraser = new WalEraser(() => (closed ? null : db));
  let closed = false;

  function meta(key: string): string | null {
    return sql.all<{ value: string }>('SELECT value FROM search_meta WHERE key = ?', key)[0]?.value ?? null;
  }
  function setMeta(key: string, value: string | null): void {
    if (value === null) sql.run('DELETE FROM search_meta WHERE key = ?', key);
    else sql.run('INSERT INTO search_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', key, value);
  }

  function transaction<T>(work: () => T): T {
    return inTransaction(database(), work);
  }

  function database(): DatabaseSync {
    if (closed || db === null) throw new Error('search index is closed');
    return db;
  }

  // An index of another format, or analysed by another analyzer, cannot be read or trusted:
  // start it afresh and forget the recorded generation, so the application rebuilds it from the store.
  if (meta('format') !== String(FORMAT_VERSION) || meta('analyzer') !== String(ANALYZER_VERSION)) {
    if (meta('format') !== null) log?.warn({ format: meta('format'), analyzer: meta('analyzer') }, 'search index format changed; it will be rebuilt');
    database().exec('DROP TABLE IF EXISTS search_chunks; DROP TABLE IF EXISTS search_terms; DROP TABLE IF EXISTS search_shards;');
    database().exec(SCHEMA);
    transaction(() => {
      setMeta('generation', null);
      setMeta('format', String(FORMAT_VERSION));
      setMeta('analyzer', String(ANALYZER_VERSION));
    });
  }
  for (const row of sql.all<{ id: number; organisation_id: string; kb_id: string }>('SELECT id, organisation_id, kb_id FROM search_shards')) {
    shardIds.set(shardKey(row.organisation_id, row.kb_id), row.id);
  }

  // Every shard is read into memory in the background, one after another, so the server answers
  // at once; a search meanwhile loads (or waits for) just the shard it needs.
  let preloaded = 0;
  const preloading = shardIds.size;
  let preloadDone = false;
  const preload = (async () => {
    await nextTurn();
    for (const [key, id] of shardIds) {
      if (closed) return;
      const [organisationId, kbId] = key.split('\u0000') as [string, string];
      await shardFor(id, organisationId, kbId);
      preloaded++;
    }
  })()
    .catch((err: unknown) => log?.error({ err }, 'search index could not be loaded'))
    .finally(() => (preloadDone = true));

  /** Reads a shard's rows into memory, a batch per turn of the event loop. */
  async function load(id: number, organisationId: string, kbId: string): Promise<Shard> {
    const loader = new ShardLoad(new Shard(id, organisationId, kbId), sql.all<{ n: number }>(SEEKS.shardChunks, id)[0]?.n ?? 0);
    for (let last = -1; ; await nextTurn()) {
      const terms = sql.all<{ id: number; value: string }>(SEEKS.shardTerms, id, last, LOAD_BATCH * 4);
      for (const { id: term, value } of terms) loader.shard.dictionary.restore(term, value);
      if (terms.length < LOAD_BATCH * 4) break;
      last = terms.at(-1)!.id;
    }
    let after = -1;
    for (;;) {
      const rows = sql.all<ChunkRow>(SEEKS.shardRows, id, after, LOAD_BATCH);
      for (const row of rows) {
        loader.add({
          id: row.id,
          documentId: row.document_id,
          body: { ids: row.body_terms, tfs: row.body_tfs, length: row.body_length },
          name: { ids: row.name_terms, tfs: row.name_tfs, length: row.name_length },
          vector: blobVector(row.vector),
        });
      }
      if (rows.length < LOAD_BATCH) break;
      after = rows.at(-1)!.row;
      await nextTurn();
      if (closed) break;
    }
    const shard = await loader.finish(LOAD_BATCH, nextTurn);
    if (!closed) dropTerms(id, shard.unusedTerms());
    return shard;
  }

  function shardFor(id: number, organisationId: string, kbId: string): Promise<Shard> {
    const loaded = shards.get(id);
    if (loaded) return Promise.resolve(loaded);
    let pending = loading.get(id);
    if (!pending) {
      pending = load(id, organisationId, kbId).then((shard) => {
        shards.set(id, shard);
        loading.delete(id);
        return shard;
      });
      loading.set(id, pending);
    }
    return pending;
  }

  /** The shards a filter names — one knowledge base, or every one of the organisation — as [kbId, shard id]. */
  function named(filter: { organisationId: string; kbId?: string | undefined }): Array<[string, number]> {
    const prefix = shardKey(filter.organisationId, '');
    const out: Array<[string, number]> = [];
    for (const [key, id] of shardIds) {
      if (filter.kbId !== undefined ? key === shardKey(filter.organisationId, filter.kbId) : key.startsWith(prefix)) out.push([key.slice(prefix.length), id]);
    }
    return out;
  }

  /** The named shards, loaded. */
  function shardsOf(filter: { organisationId: string; kbId?: string | undefined }): Promise<Shard[]> {
    return Promise.all(named(filter).map(([kbId, id]) => shardFor(id, filter.organisationId, kbId)));
  }

  async function ensureShard(organisationId: string, kbId: string): Promise<Shard> {
    const key = shardKey(organisationId, kbId);
    let id = shardIds.get(key);
    if (id === undefined) {
      sql.run('INSERT OR IGNORE INTO search_shards (organisation_id, kb_id) VALUES (?, ?)', organisationId, kbId);
      id = sql.all<{ id: number }>('SELECT id FROM search_shards WHERE organisation_id = ? AND kb_id = ?', organisationId, kbId)[0]!.id;
      shardIds.set(key, id);
      shards.set(id, new Shard(id, organisationId, kbId));
    }
    return shardFor(id, organisationId, kbId);
  }

  /** Runs mutations one after another: a large upsert yields between batches, and others wait for it. */
  function exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = mutations.then(() => {
      database();
      return work();
    });
    mutations = run.catch(() => undefined);
    return run;
  }

  /**
   * Removes chunks from memory, given their rows (read before the rows were deleted), and returns
   * how to release the terms they leave unused — after any chunks replacing them are added.
   */
  function forget(id: number, rows: ReadonlyArray<Pick<ChunkRow, 'id' | 'document_id' | 'body_terms' | 'name_terms'>>): () => void {
    const shard = shards.get(id);
    if (!shard) {
      // A shard still loading may or may not have read these rows: remove them once it is done.
      void loading.get(id)?.then(() => forget(id, rows)());
      return () => undefined;
    }
    const candidates = rows.flatMap((row) => shard.remove(row.id, row.document_id, { body: blobIds(row.body_terms), name: blobIds(row.name_terms) }));
    return () => dropTerms(id, shard.release(candidates));
  }

  /** Deletes dictionary entries no chunk uses any more, so a deleted document's words leave the disk too. */
  function dropTerms(shard: number, ids: readonly number[]): void {
    if (ids.length === 0 || closed) return;
    transaction(() => {
      for (let i = 0; i < ids.length; i += 500) {
        const part = ids.slice(i, i + 500);
        sql.run(`DELETE FROM search_terms WHERE shard = ? AND id IN (${placeholders(part.length)})`, shard, ...part);
      }
    });
  }

  function deleteShard(shard: { id: number; organisationId: string; kbId: string }): number {
    const n = sql.run('DELETE FROM search_chunks WHERE shard = ?', shard.id);
    sql.run('DELETE FROM search_terms WHERE shard = ?', shard.id);
    sql.run('DELETE FROM search_shards WHERE id = ?', shard.id);
    return n;
  }

  function dropShardsFromMemory(ids: readonly number[]): void {
    for (const id of ids) {
      shards.delete(id);
      for (const [key, value] of shardIds) if (value === id) shardIds.delete(key);
    }
  }

  interface Analysed {
    chunk: ChunkRecord;
    body: FieldTerms;
    name: FieldTerms;
  }

  async function analyse(batch: readonly ChunkRecord[]): Promise<Analysed[]> {
    const out: Analysed[] = [];
    for (let i = 0; i < batch.length; i++) {
      if (i > 0 && i % ANALYSE_BATCH === 0) await nextTurn();
      const chunk = batch[i]!;
      out.push({
        chunk,
        body: fieldTerms(analyzer.analyze(`${chunk.headings.join('\n')}\n${chunk.text}`)),
        name: fieldTerms(analyzer.analyze(chunk.documentName)),
      });
    }
    return out;
  }

  function insertRow(shard: number, chunk: ChunkRecord, body: FieldTermIds, name: FieldTermIds): void {
    const { documentName, headings, page, pageEnd, pages, start, end, text } = chunk;
    const record: ChunkRecordFields = { documentName, headings, page, pageEnd, pages, start, end, text };
    sql.run(
      'INSERT INTO search_chunks (shard, id, document_id, record, body_terms, body_tfs, body_length, name_terms, name_tfs, name_length, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      shard,
      chunk.id,
      chunk.documentId,
      sealed.seal(JSON.stringify(record)),
      idsBlob(body.ids),
      body.tfs,
      body.length,
      idsBlob(name.ids),
      name.tfs,
      name.length,
      vectorBlob(chunk.vector),
    );
  }

  /** Writes analysed chunks: their rows in one transaction, then the shards in memory. */
  async function write(analysed: readonly Analysed[]): Promise<void> {
    const targets = new Map<string, Shard>();
    for (const { chunk } of analysed) {
      const key = shardKey(chunk.organisationId, chunk.kbId);
      if (!targets.has(key)) targets.set(key, await ensureShard(chunk.organisationId, chunk.kbId));
    }
    // Terms are numbered in memory first; if the write fails, the new numbers are forgotten again.
    const added = new Map<Shard, Array<{ id: number; term: string }>>();
    const numbered = analysed.map(({ chunk, body, name }) => {
      const shard = targets.get(shardKey(chunk.organisationId, chunk.kbId))!;
      const fresh = added.get(shard) ?? [];
      added.set(shard, fresh);
      const ids = (field: FieldTerms): FieldTermIds => ({ ids: shard.dictionary.intern(field.terms, fresh), tfs: field.tfs, length: field.length });
      return { chunk, shard, body: ids(body), name: ids(name) };
    });
    // Chunks replaced under the same id may sit in any shard (a chunk can move between knowledge bases).
    const replaced = new Map<number, ChunkRow[]>();
    try {
      transaction(() => {
        for (const [shard, terms] of added) {
          for (const { id, term } of terms) sql.run('INSERT INTO search_terms (shard, id, term) VALUES (?, ?, ?)', shard.id, id, term);
        }
        for (const { chunk, shard, body, name } of numbered) {
          const old = sql.all<ChunkRow & { shard: number }>(SEEKS.chunkById, chunk.id)[0];
          if (old) {
            sql.run('DELETE FROM search_chunks WHERE row = ?', old.row);
            replaced.set(old.shard, [...(replaced.get(old.shard) ?? []), old]);
          }
          insertRow(shard.id, chunk, body, name);
        }
      });
    } catch (err) {
      for (const [shard, terms] of added) for (const { id } of terms) shard.dictionary.forget(id);
      throw err;
    }
    const releases = [...replaced].map(([id, rows]) => forget(id, rows));
    for (const { chunk, shard, body, name } of numbered) shard.add({ id: chunk.id, documentId: chunk.documentId, body, name, vector: chunk.vector });
    for (const release of releases) release();
    if (replaced.size > 0) eraser.schedule();
  }

  function records(ids: readonly string[]): Map<string, { documentId: string; fields: ChunkRecordFields }> {
    if (ids.length === 0) return new Map();
    const rows = sql.all<{ id: string; document_id: string; record: string }>(SEEKS.records(ids.length), ...ids);
    return new Map(rows.map((r) => [r.id, { documentId: r.document_id, fields: JSON.parse(sealed.open(r.record)) as ChunkRecordFields }]));
  }

  const index: EmbeddedSearch = {
    kind: 'embedded',

    upsert(batch) {
      return exclusive(async () => {
        await Promise.all(loading.values());
        const dimensions = new Map<string, number>();
        for (const chunk of batch) {
          validateChunk(chunk);
          if (!chunk.vector) continue;
          const key = shardKey(chunk.organisationId, chunk.kbId);
          const id = shardIds.get(key);
          const shard = id === undefined ? undefined : await shardFor(id, chunk.organisationId, chunk.kbId);
          checkVector(chunk.vector, shard?.vectors.dimension ?? dimensions.get(key) ?? null);
          dimensions.set(key, chunk.vector.length);
        }
        // Slices of a large batch are written one transaction at a time, so neither analysis nor
        // SQLite holds the event loop for long; the generation recorded afterwards covers them all.
        for (let start = 0; start < batch.length; start += WRITE_BATCH) {
          if (start > 0) await nextTurn();
          await write(await analyse(batch.slice(start, start + WRITE_BATCH)));
        }
      });
    },

    delete(filter) {
      return exclusive(async () => {
        requireOrganisation(filter);
        const targets = await shardsOf(filter);
        if (targets.length === 0) return 0;
        let n = 0;
        if (filter.documentId === undefined) {
          n = transaction(() => targets.reduce((sum, shard) => sum + deleteShard(shard), 0));
          dropShardsFromMemory(targets.map((s) => s.id));
        } else {
          const documentId = filter.documentId;
          const gone = transaction(() =>
            targets.map((shard) => {
              const rows = sql.all<ChunkRow>(SEEKS.documentRows, shard.id, documentId);
              sql.run('DELETE FROM search_chunks INDEXED BY search_chunks_document WHERE shard = ? AND document_id = ?', shard.id, documentId);
              return { shard, rows };
            }),
          );
          for (const { shard, rows } of gone) {
            forget(shard.id, rows)();
            n += rows.length;
          }
        }
        if (n > 0) eraser.schedule();
        return n;
      });
    },

    async count(filter) {
      requireOrganisation(filter);
      const ids = named(filter).map(([, id]) => id);
      if (ids.length === 0) return 0;
      const where = `shard IN (${placeholders(ids.length)})${filter.documentId !== undefined ? ' AND document_id = ?' : ''}`;
      const params = filter.documentId !== undefined ? [...ids, filter.documentId] : ids;
      return sql.all<{ n: number }>(`SELECT count(*) AS n FROM search_chunks WHERE ${where}`, ...params)[0]?.n ?? 0;
    },

    async search(request: SearchRequest): Promise<SearchResponse> {
      database();
      const started = performance.now();
      requireOrganisation(request.filter);
      const limit = Math.min(MAX_LIMIT, Math.max(1, Math.floor(request.limit) || 1));
      const list = await shardsOf(request.filter);
      const vector = request.mode === 'keyword' ? null : usableVector(list, request.vector, log);
      const mode: SearchMode = vector ? request.mode : 'keyword';
      const terms = queryTerms(analyzer, request.query);
      let ranked: Ranked<Hit>[];
      if (vector === null) ranked = keywordHits(list, terms, limit, request.filter);
      else if (mode === 'vector') ranked = vectorHits(list, vector, limit, request.filter).map(({ item, cosine }) => ({ item, score: cosineScore(cosine) }));
      else {
        const ratio = Math.min(1, Math.max(0, request.semanticRatio ?? DEFAULT_SEMANTIC_RATIO));
        ranked = fuse(keywordHits(list, terms, HYBRID_DEPTH, request.filter), vectorHits(list, vector, HYBRID_DEPTH, request.filter), ratio, hitKey);
      }
      const hits = toHits(ranked.slice(0, limit), new Set(terms.map((t) => t.term)), records, analyzer);
      return { hits, mode, tookMs: performance.now() - started };
    },

    async generation() {
      database();
      const value = meta('generation');
      return value === null ? null : Number(value);
    },

    setGeneration(value) {
      return exclusive(async () => {
        if (!Number.isInteger(value)) throw new TypeError('generation must be an integer');
        setMeta('generation', String(value));
      });
    },

    clear() {
      return exclusive(async () => {
        await Promise.all(loading.values());
        transaction(() => {
          sql.run('DELETE FROM search_chunks');
          sql.run('DELETE FROM search_terms');
          sql.run('DELETE FROM search_shards');
          setMeta('generation', null);
        });
        shards.clear();
        shardIds.clear();
        eraser.schedule();
      });
    },

    progress() {
      if (preloadDone) return { ready: true, message: `${shards.size} knowledge bases in memory` };
      return { ready: false, message: `loading knowledge bases into memory: ${preloaded} of ${preloading}` };
    },

    async ping() {
      database().prepare('SELECT 1').get();
    },

    close() {
      return exclusive(async () => {
        closed = true;
        await preload;
        await Promise.allSettled(loading.values());
        eraser.cancel();
        db?.close();
        db = null;
      });
    },
  };
  return index;
}
