// Retrieval benchmark on BEIR SciFact: nDCG@10, Recall@100 and latency of the embedded search
// index in keyword mode, and in vector and hybrid modes when an embedding model is installed.
// Also reports build time, memory, the cost of a document change and of reopening. Run: node scripts/bench-retrieval.ts
//
// Environment: MODELS_DIR (default ./models), EMBEDDING_MODEL (engine's default otherwise),
// BENCH_TITLE_FIELD=headings|documentName (where a paper's title goes; default headings).

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { EmbeddingEngine } from '../server/embeddings/embeddings.ts';
import { createLogger, type Logger } from '../server/logger.ts';
import { createEmbeddedSearch } from '../server/search/embedded/engine.ts';
import { benchIngestion } from './bench-ingest.ts';
import type { ChunkRecord, SearchIndex, SearchMode } from '../server/search/search.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = resolve(root, '../shared/bench/scifact');
const ORG = 'bench';
const DEPTH = 100;

interface Doc {
  _id: string;
  title: string;
  text: string;
}

interface Row {
  mode: string;
  ndcg: number;
  recall: number;
  p50: number;
  p99: number;
  /** CPU time per query: unlike wall-clock time, unaffected by other work on a shared machine. */
  cpuP50: number;
  cpuP99: number;
}

type OpenEngine = (options: { modelsDir: string; model?: string; log?: Logger }) => Promise<{ engine: EmbeddingEngine | null; reason?: string }>;

async function readJsonl<T>(file: string): Promise<T[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

async function loadScifact(): Promise<{ corpus: Doc[]; queries: Map<string, string>; qrels: Map<string, Map<string, number>> }> {
  if (!existsSync(join(dataDir, 'qrels/test.tsv'))) {
    throw new Error(`SciFact not found at ${dataDir} (expected ../shared/bench/scifact beside the repository)`);
  }
  const corpus: Doc[] = [];
  for (const part of [1, 2, 3]) corpus.push(...(await readJsonl<Doc>(join(dataDir, `corpus.part${part}.jsonl`))));
  const queries = new Map((await readJsonl<{ _id: string; text: string }>(join(dataDir, 'queries.jsonl'))).map((q) => [q._id, q.text]));
  const qrels = new Map<string, Map<string, number>>();
  const lines = (await readFile(join(dataDir, 'qrels/test.tsv'), 'utf8')).split('\n').slice(1);
  for (const line of lines) {
    const [query, doc, score] = line.trim().split('\t');
    if (!query || !doc || score === undefined) continue;
    const judged = qrels.get(query) ?? new Map<string, number>();
    judged.set(doc, Number(score));
    qrels.set(query, judged);
  }
  return { corpus, queries, qrels };
}

/** BEIR's nDCG@k: gain = graded relevance, log2 rank discount, ideal ranking from the qrels. */
export function ndcgAt(k: number, ranked: readonly string[], judged: ReadonlyMap<string, number>): number {
  const dcg = ranked.slice(0, k).reduce((sum, id, i) => sum + (judged.get(id) ?? 0) / Math.log2(i + 2), 0);
  const ideal = [...judged.values()]
    .sort((a, b) => b - a)
    .slice(0, k)
    .reduce((sum, rel, i) => sum + rel / Math.log2(i + 2), 0);
  return ideal > 0 ? dcg / ideal : 0;
}

export function recallAt(k: number, ranked: readonly string[], judged: ReadonlyMap<string, number>): number {
  const relevant = [...judged].filter(([, rel]) => rel > 0).map(([id]) => id);
  if (relevant.length === 0) return 0;
  const top = new Set(ranked.slice(0, k));
  return relevant.filter((id) => top.has(id)).length / relevant.length;
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;

async function evaluate(
  index: SearchIndex,
  label: string,
  mode: SearchMode,
  queries: ReadonlyMap<string, string>,
  qrels: ReadonlyMap<string, ReadonlyMap<string, number>>,
  queryVectors?: ReadonlyMap<string, Float32Array>,
  limit = DEPTH,
): Promise<Row> {
  let ndcg = 0;
  let recall = 0;
  const latencies: number[] = [];
  const cpu: number[] = [];
  for (const [id, judged] of qrels) {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    const response = await index.search({ query: queries.get(id) ?? '', filter: { organisationId: ORG }, limit, mode, vector: queryVectors?.get(id) });
    const used = process.cpuUsage(cpuStarted);
    latencies.push(performance.now() - started);
    cpu.push((used.user + used.system) / 1000);
    if (response.mode !== mode) throw new Error(`${label}: ran as ${response.mode}`);
    const ranked = response.hits.map((h) => h.documentId);
    ndcg += ndcgAt(10, ranked, judged);
    recall += recallAt(DEPTH, ranked, judged);
  }
  latencies.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return {
    mode: label,
    ndcg: ndcg / qrels.size,
    recall: recall / qrels.size,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    cpuP50: percentile(cpu, 0.5),
    cpuP99: percentile(cpu, 0.99),
  };
}

async function loadEngine(log: Logger): Promise<{ engine: EmbeddingEngine | null; reason: string }> {
  // Imported by a computed path: the embeddings module may not exist yet in this checkout.
  const specifier = '../server/embeddings/open.ts';
  let openEngine: OpenEngine;
  try {
    openEngine = ((await import(specifier)) as { openEmbeddingEngine: OpenEngine }).openEmbeddingEngine;
  } catch (err) {
    return { engine: null, reason: `no embedding module (${(err as Error).message.split('\n')[0]})` };
  }
  const modelsDir = resolve(process.env.MODELS_DIR ?? join(root, 'models'));
  const model = process.env.EMBEDDING_MODEL;
  const { engine, reason } = await openEngine({ modelsDir, log, ...(model ? { model } : {}) });
  return { engine, reason: reason ?? `no embedding model installed in ${modelsDir}` };
}

/** Embeds the corpus once per model; later runs read the vectors from a cache in the temp dir. */
async function embedCorpus(engine: EmbeddingEngine, corpus: readonly Doc[]): Promise<Float32Array[]> {
  const cacheDir = join(tmpdir(), 'lectern-bench-cache');
  const cacheFile = join(cacheDir, `scifact-${engine.model.id.replace(/[^\w.-]/g, '_')}-${engine.model.dimensions}.f32`);
  const dim = engine.model.dimensions;
  if (existsSync(cacheFile)) {
    const bytes = await readFile(cacheFile);
    if (bytes.byteLength === corpus.length * dim * 4) {
      const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      return corpus.map((_, i) => all.subarray(i * dim, (i + 1) * dim));
    }
  }
  const vectors: Float32Array[] = [];
  const started = performance.now();
  for (let i = 0; i < corpus.length; i += 64) {
    vectors.push(...(await engine.embedDocuments(corpus.slice(i, i + 64).map((d) => `${d.title}\n${d.text}`))));
    process.stderr.write(`\rembedding corpus: ${vectors.length}/${corpus.length} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  process.stderr.write('\n');
  const all = new Float32Array(corpus.length * dim);
  vectors.forEach((v, i) => all.set(v, i * dim));
  await mkdir(cacheDir, { recursive: true });
  await writeFile(cacheFile, new Uint8Array(all.buffer));
  return vectors;
}

function toChunk(doc: Doc, titleField: string, vector?: Float32Array): ChunkRecord {
  return {
    id: doc._id,
    organisationId: ORG,
    kbId: 'scifact',
    documentId: doc._id,
    // SciFact has no file names. The title is the heading of the abstract, which is where a real
    // document's title lands when the chunker records its heading path.
    documentName: titleField === 'documentName' ? doc.title : '',
    headings: titleField === 'documentName' ? [] : [doc.title],
    page: null,
    pageEnd: null,
    pages: [],
    start: 0,
    end: doc.text.length,
    text: doc.text,
    vector,
  };
}

async function topTen(index: SearchIndex, sample: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const query of sample) {
    const response = await index.search({ query, filter: { organisationId: ORG }, limit: 10, mode: 'keyword' });
    out.push(response.hits.map((h) => `${h.id}:${h.score.toFixed(6)}`).join(' '));
  }
  return out;
}

function collectGarbage(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const f3 = (n: number): string => n.toFixed(3);
const ms = (n: number): string => n.toFixed(1);

/** Runs `work` and reports how long it took and the longest the event loop was held up meanwhile. */
async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number; maxStallMs: number }> {
  // A 1 ms ticker: the largest gap between its ticks is the longest stretch nothing else could run.
  let last = performance.now();
  let maxGap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  const started = performance.now();
  const value = await work();
  const elapsed = performance.now() - started;
  clearInterval(ticker);
  return { value, ms: elapsed, maxStallMs: Math.max(maxGap, performance.now() - last) };
}

async function main(): Promise<void> {
  const titleField = process.env.BENCH_TITLE_FIELD ?? 'headings';
  if (titleField !== 'headings' && titleField !== 'documentName') throw new Error('BENCH_TITLE_FIELD must be headings or documentName');
  const { corpus, queries, qrels } = await loadScifact();
  const log = createLogger({ level: 'warn' });
  const gc = collectGarbage();
  const { engine, reason } = await loadEngine(log);
  const vectors = engine ? await embedCorpus(engine, corpus) : null;

  const dir = await mkdtemp(join(tmpdir(), 'lectern-bench-'));
  try {
    gc();
    const before = process.memoryUsage();
    const file = join(dir, 'index.sqlite');
    const index = await createEmbeddedSearch({ file }, { log });
    const build = await timed(async () => {
      for (let i = 0; i < corpus.length; i += 500) {
        await index.upsert(corpus.slice(i, i + 500).map((doc, j) => toChunk(doc, titleField, vectors?.[i + j])));
      }
    });
    gc();
    const after = process.memoryUsage();

    const rows: Row[] = [await evaluate(index, 'keyword (BM25)', 'keyword', queries, qrels)];
    const short = await evaluate(index, 'keyword, limit 10', 'keyword', queries, qrels, undefined, 10);
    if (engine) {
      const queryVectors = new Map<string, Float32Array>();
      for (const id of qrels.keys()) queryVectors.set(id, await engine.embedQuery(queries.get(id) ?? ''));
      rows.push(await evaluate(index, `vector (${engine.model.id})`, 'vector', queries, qrels, queryVectors));
      rows.push(await evaluate(index, 'hybrid (ratio 0.5)', 'hybrid', queries, qrels, queryVectors));
      await engine.close();
    }

    const sample = [...qrels.keys()].slice(0, 50).map((id) => queries.get(id) ?? '');
    const expected = await topTen(index, sample);
    // What each document change costs once the index is large: a transaction of its own rows.
    const sampleDoc = corpus[0]!;
    const change = await timed(async () => {
      await index.delete({ organisationId: ORG, documentId: sampleDoc._id });
      await index.upsert([toChunk(sampleDoc, titleField, vectors?.[0])]);
      await index.setGeneration(2);
    });
    const closing = await timed(() => index.close());
    // Reopening reads the knowledge base's rows back into memory in the background; the first search waits for it.
    const reopen = await timed(async () => {
      const reopened = await createEmbeddedSearch({ file }, { log });
      await reopened.search({ query: 'warm up', filter: { organisationId: ORG, kbId: 'scifact' }, limit: 1, mode: 'keyword' });
      return reopened;
    });
    const same = (await topTen(reopen.value, sample)).filter((ids, i) => ids === expected[i]).length;
    await reopen.value.close();

    console.log(`\n## Retrieval on BEIR SciFact (${corpus.length} docs, ${qrels.size} test queries; title in ${titleField})\n`);
    console.log('| mode | nDCG@10 | Recall@100 | p50 ms | p99 ms |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const r of rows) console.log(`| ${r.mode} | ${f3(r.ndcg)} | ${f3(r.recall)} | ${ms(r.p50)} | ${ms(r.p99)} |`);
    console.log('| *BM25 Anserini flat (published)* | 0.679 | 0.925 | | |');
    console.log('| *BM25 BEIR paper, Elasticsearch (published)* | 0.665 | 0.908 | | |');
    console.log('| *all-MiniLM-L6-v2 (published)* | 0.645 | | | |');
    console.log('| *bge-small-en-v1.5 (published)* | 0.713 | | | |');
    console.log('| *multilingual-e5-small (published)* | 0.676 | | | |');
    if (!engine) console.log(`\nvector/hybrid: skipped — ${reason}`);
    console.log(`\nCPU time per query (p50/p99 ms; wall-clock above also counts waiting for a shared CPU):`);
    for (const r of [...rows, { ...short, mode: 'keyword, limit 10' }]) console.log(`- ${r.mode}: ${ms(r.cpuP50)} / ${ms(r.cpuP99)}`);
    console.log(`keyword latency at limit 10 (the answer path; each hit costs a highlighting pass): p50 ${ms(short.p50)} ms, p99 ${ms(short.p99)} ms`);
    console.log(`index build: ${(build.ms / 1000).toFixed(1)} s (longest event-loop stall ${ms(build.maxStallMs)} ms)`);
    console.log(`memory: RSS +${mb(after.rss - before.rss)}, heap +${mb(after.heapUsed - before.heapUsed)} (after GC)`);
    console.log(`one document replaced + setGeneration: ${ms(change.ms)} ms, longest stall ${ms(change.maxStallMs)} ms`);
    console.log(`close: ${ms(closing.ms)} ms, longest stall ${ms(closing.maxStallMs)} ms`);
    console.log(`reopen until the first search answers (rows read back into memory): ${ms(reopen.ms)} ms, longest stall ${ms(reopen.maxStallMs)} ms`);
    console.log(`after reopen: identical top 10 for ${same} of ${sample.length} sampled queries`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main()
  .then(() => (process.argv.includes('--no-ingest') ? undefined : benchIngestion()))
  .then(async () => (await import('./bench-scale.ts')).runScaleSection(process.argv))
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
