// Scale benchmark: one knowledge base grown to 25k, 50k and 100k chunks through the real server
// (a child process, driven over HTTP like any client), measured at each stage against the
// numbers of the pre-rebuild search engine and the goals at 100k. Printed by
// `npm run bench:retrieval` after the ingestion table; also runs on its own:
//   node scripts/bench-scale.ts [--scale-stages=25000,50000,100000]
//
// The corpus is generated: seeded, perturbed replicas of the BEIR SciFact abstracts, one Markdown
// heading + paragraph per abstract, so each abstract becomes about one chunk. Search is measured
// with the 300 SciFact test queries.
//
// Skip it with --no-scale or BENCH_SCALE=off. Environment:
//   BENCH_SCALE                      stage sizes in chunks (default 25000,50000,100000); --scale-stages wins
//   BENCH_SCALE_MODELS_DIR           models for the server (default: an empty folder, so keyword-only)
//   BENCH_SCALE_MODE                 keyword | vector | hybrid (default keyword)
//   BENCH_SCALE_CLIENTS              concurrent clients (default 8)
//   BENCH_SCALE_CONCURRENT_SECONDS   how long the concurrent clients run (default 20)
//   BENCH_SCALE_INGEST_TIMEOUT_S     longest one stage's ingestion may take (default 7200)

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { seeded } from '../test/fixtures/seeded.ts';
import { NO_RATE_LIMITS } from '../server/limits/testing.ts';

const root = resolve(import.meta.dirname, '..');
const SCIFACT = resolve(root, '../shared/bench/scifact');
const SERVER_MAIN = join(root, 'server/main.ts');

const DEFAULT_STAGES = [25_000, 50_000, 100_000];
/** 20 replicas of 5,183 abstracts in 728 files, as the pre-rebuild measurement had it. */
const ABSTRACTS_PER_FILE = 142;
/** The largest chunk the API allows (tokens ≈ characters / 4): nearly every abstract fits in one. */
const CHUNK_SIZE = 2048;
const UPLOAD_BATCH = 25;
const WARM_UP_QUERIES = 10;
const CLK_TCK = clockTicks();

const SECOND = 1_000;
const REQUEST_TIMEOUT_MS = 60 * SECOND;
const READY_TIMEOUT_MS = 300 * SECOND;
const STOP_TIMEOUT_MS = 60 * SECOND;
const SETTLE_TIMEOUT_MS = 180 * SECOND;
const STALL_TIMEOUT_MS = 600 * SECOND;

const int = (n: number) => Math.round(n).toLocaleString('en');
const ms1 = (n: number) => (n < 100 ? n.toFixed(1) : int(n));
const sec = (ms: number) => (ms / SECOND).toFixed(1);

/** Measured on this machine before the search rebuild: keyword mode, 728 files, one KB. */
const PRE_REBUILD = {
  cpuPerQuery: [
    { chunks: 26_000, ms: 105 },
    { chunks: 52_000, ms: 229 },
    { chunks: 78_000, ms: 351 },
    { chunks: 104_000, ms: 535 },
  ],
  /** Everything else was measured at 103,609 chunks only. */
  full: {
    chunks: 103_609,
    p50: '309–442',
    p99: '800–1,600',
    concurrentQps: '2.4–2.9',
    concurrentP99: '6,000–7,700',
    rssAfterIngest: '1,300',
    stop: '11.8',
    healthz: 'no answer until ready',
    readyz: '16.5 (52 with keyword index rebuild)',
    rssIdle: '1,800',
  },
};

const GOALS = { p99Ms: 50, concurrentQps: 40, rssMb: 600, readyzS: 5 };
/** A stage this close to 100k is judged against the goals. */
const GOAL_STAGE_MIN = 95_000;

export interface ScaleOptions {
  stages: number[];
  modelsDir: string | null;
  mode: 'keyword' | 'vector' | 'hybrid';
  clients: number;
  concurrentSeconds: number;
  ingestTimeoutMs: number;
}

/** The options from the command line and environment, or null when the section is skipped. */
export function scaleOptions(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): ScaleOptions | null {
  if (argv.includes('--no-scale') || env.BENCH_SCALE === 'off' || env.BENCH_SCALE === '0') return null;
  const flagIndex = argv.findIndex((a) => a === '--scale-stages' || a.startsWith('--scale-stages='));
  const flag = flagIndex < 0 ? undefined : argv[flagIndex]!.includes('=') ? argv[flagIndex]!.split('=')[1] : argv[flagIndex + 1];
  const spec = flag ?? env.BENCH_SCALE;
  const stages = spec ? spec.split(',').map((s) => Number(s.trim().replace(/_/g, ''))) : DEFAULT_STAGES;
  if (stages.some((n) => !Number.isInteger(n) || n < 100) || stages.some((n, i) => i > 0 && n <= stages[i - 1]!)) {
    throw new Error(`scale stages must be increasing whole numbers of chunks, at least 100 (got ${spec})`);
  }
  const mode = env.BENCH_SCALE_MODE ?? 'keyword';
  if (mode !== 'keyword' && mode !== 'vector' && mode !== 'hybrid') throw new Error('BENCH_SCALE_MODE must be keyword, vector or hybrid');
  return {
    stages,
    modelsDir: env.BENCH_SCALE_MODELS_DIR ? resolve(env.BENCH_SCALE_MODELS_DIR) : null,
    mode,
    clients: positive(env.BENCH_SCALE_CLIENTS, 8, 'BENCH_SCALE_CLIENTS'),
    concurrentSeconds: positive(env.BENCH_SCALE_CONCURRENT_SECONDS, 20, 'BENCH_SCALE_CONCURRENT_SECONDS'),
    ingestTimeoutMs: positive(env.BENCH_SCALE_INGEST_TIMEOUT_S, 7_200, 'BENCH_SCALE_INGEST_TIMEOUT_S') * SECOND,
  };
}

function positive(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got ${raw})`);
  return n;
}

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

// ---------------------------------------------------------------------------------------------
// Corpus

interface Abstract {
  title: string;
  text: string;
}

function readJsonl<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

function loadScifact(): { abstracts: Abstract[]; queries: string[] } {
  if (!existsSync(join(SCIFACT, 'qrels/test.tsv'))) throw new Error(`SciFact not found at ${SCIFACT} (expected ../shared/bench/scifact beside the repository)`);
  const abstracts = [1, 2, 3].flatMap((part) => readJsonl<Abstract>(join(SCIFACT, `corpus.part${part}.jsonl`)));
  const text = new Map(readJsonl<{ _id: string; text: string }>(join(SCIFACT, 'queries.jsonl')).map((q) => [q._id, q.text]));
  const ids = new Set(
    readFileSync(join(SCIFACT, 'qrels/test.tsv'), 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.split('\t')[0]?.trim() ?? '')
      .filter(Boolean),
  );
  return { abstracts, queries: [...ids].map((id) => text.get(id) ?? '').filter(Boolean) };
}

/**
 * Drops, replaces (with a word from elsewhere in the corpus) or swaps about 3% of the words each,
 * so replicas are distinct documents with near-identical term statistics.
 */
function perturb(text: string, random: () => number, vocabulary: readonly string[]): string {
  const words = text.split(' ');
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const roll = random();
    if (roll < 0.03) continue;
    if (roll < 0.06) out.push(vocabulary[Math.floor(random() * vocabulary.length)]!);
    else if (roll < 0.09 && i + 1 < words.length) out.push(words[++i]!, words[i - 1]!);
    else out.push(words[i]!);
  }
  return out.join(' ');
}

/** Writes enough Markdown files for `total` abstracts; returns them in upload order with their abstract counts. */
async function writeCorpus(dir: string, abstracts: readonly Abstract[], total: number): Promise<Array<{ path: string; abstracts: number }>> {
  const vocabulary = abstracts.slice(0, 500).flatMap((a) => a.text.split(' '));
  const files: Array<{ path: string; abstracts: number }> = [];
  let written = 0;
  for (let replica = 0; written < total; replica++) {
    // Replica 0 is SciFact itself; the others differ from it and from each other.
    const random = seeded(replica + 1);
    const copy = replica === 0 ? abstracts : abstracts.map((a) => ({ title: perturb(a.title, random, vocabulary), text: perturb(a.text, random, vocabulary) }));
    for (let i = 0; i < copy.length && written < total; i += ABSTRACTS_PER_FILE) {
      const part = copy.slice(i, Math.min(i + ABSTRACTS_PER_FILE, i + total - written));
      const path = join(dir, `scifact-r${String(replica).padStart(2, '0')}-${String(i / ABSTRACTS_PER_FILE).padStart(3, '0')}.md`);
      await writeFile(path, part.map((a) => `# ${a.title}\n\n${a.text}\n`).join('\n'));
      files.push({ path, abstracts: part.length });
      written += part.length;
    }
  }
  return files;
}

// ---------------------------------------------------------------------------------------------
// The server process

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolvePort(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The real `server/main.ts` as a child process, with what the bench reads from /proc about it. */
class ServerProcess {
  readonly env: Record<string, string>;
  child: ChildProcess | null = null;
  base = '';
  #exit: string | null = null;
  #tail: string[] = [];

  constructor(env: Record<string, string>) {
    this.env = env;
  }

  get pid(): number {
    if (!this.child?.pid || this.#exit) throw new Error(`the server is not running${this.#exit ? ` (${this.#exit})` : ''}${this.output()}`);
    return this.child.pid;
  }

  /** Starts it and measures, from the spawn, when /healthz and /readyz first answer 200. */
  async start(): Promise<{ healthzMs: number; readyzMs: number }> {
    const port = await freePort();
    this.base = `http://127.0.0.1:${port}`;
    this.#exit = null;
    const spawned = performance.now();
    const child = spawn(process.execPath, [SERVER_MAIN], { env: { ...this.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) stream?.on('data', (d: Buffer) => this.#keep(d.toString()));
    child.once('exit', (code, signal) => (this.#exit = `exited with ${signal ?? code}`));
    child.once('error', (err) => (this.#exit = `failed to start: ${err.message}`));
    process.stderr.write(`scale: server pid ${child.pid} on ${this.base}\n`);
    const [healthz, readyz] = await Promise.all([this.#firstOk('/healthz', spawned), this.#firstOk('/readyz', spawned)]);
    return { healthzMs: healthz, readyzMs: readyz };
  }

  /** SIGTERM and the time until the process is gone; SIGKILL after STOP_TIMEOUT_MS. */
  async stop(): Promise<{ ms: number; killed: boolean }> {
    const child = this.child;
    if (!child || this.#exit) return { ms: 0, killed: false };
    const started = performance.now();
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const killed = await Promise.race([gone.then(() => false), sleep(STOP_TIMEOUT_MS).then(() => true)]);
    if (killed) {
      child.kill('SIGKILL');
      await gone;
    }
    this.child = null;
    return { ms: performance.now() - started, killed };
  }

  /** Last resort, also from a process exit handler: must be synchronous. */
  kill(): void {
    if (this.child && !this.#exit) this.child.kill('SIGKILL');
  }

  cpuMs(): number {
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the line.
    const fields = readFileSync(`/proc/${this.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  }

  rssMb(): number {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
    return Number(match?.[1] ?? NaN) / 1024;
  }

  /** Waits until the server uses under 5% of a core over two seconds, so background work (index flushes) is done. */
  async settle(): Promise<boolean> {
    const end = performance.now() + SETTLE_TIMEOUT_MS;
    while (performance.now() < end) {
      const before = this.cpuMs();
      await sleep(2 * SECOND);
      if (this.cpuMs() - before < 100) return true;
    }
    return false;
  }

  output(): string {
    return this.#tail.length ? `\n--- server output (last lines) ---\n${this.#tail.join('\n')}` : '';
  }

  #keep(text: string): void {
    this.#tail.push(...text.split('\n').filter(Boolean));
    this.#tail.splice(0, Math.max(0, this.#tail.length - 30));
  }

  async #firstOk(path: string, since: number): Promise<number> {
    const end = since + READY_TIMEOUT_MS;
    while (performance.now() < end) {
      if (this.#exit) throw new Error(`the server ${this.#exit} before ${path} answered${this.output()}`);
      try {
        const res = await fetch(this.base + path, { signal: AbortSignal.timeout(5 * SECOND) });
        await res.arrayBuffer();
        if (res.ok) return performance.now() - since;
      } catch {
        // Not listening yet, or too busy to answer: try again.
      }
      await sleep(25);
    }
    throw new Error(`${path} did not answer 200 within ${READY_TIMEOUT_MS / SECOND} s${this.output()}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The HTTP API

class Api {
  readonly server: ServerProcess;
  cookie: string | null = null;
  bearer: string | null = null;

  constructor(server: ServerProcess) {
    this.server = server;
  }

  async call<T>(method: string, path: string, body?: unknown, expect = 200): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    if (this.cookie) headers.cookie = this.cookie;
    // The console's CSRF check wants the origin on a cookie-authenticated change.
    if (method !== 'GET') headers.origin = this.server.base;
    if (body !== undefined && !(body instanceof FormData)) headers['content-type'] = 'application/json';
    const res = await fetch(this.server.base + path, {
      method,
      headers,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      ...(body === undefined ? {} : { body: body instanceof FormData ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status !== expect) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    const session = res.headers.getSetCookie().find((c) => c.startsWith('lectern_session='));
    if (session) this.cookie = session.split(';')[0]!;
    return (text ? JSON.parse(text) : null) as T;
  }
}

interface KbStats {
  documents: number;
  ready: number;
  processing: number;
  failed: number;
  chunks: number;
}

/** First-run setup, then an API key (so the session cookie never matters again) and the knowledge base. */
async function prepare(api: Api, mode: ScaleOptions['mode']): Promise<string> {
  await api.call('POST', '/api/v1/setup', { organisation: 'Bench', name: 'Bench Owner', email: 'bench@example.org', password: 'correct horse battery staple' }, 201);
  const { key } = await api.call<{ key: string }>('POST', '/api/v1/api-keys', { name: 'scale bench', role: 'admin' }, 201);
  api.bearer = key;
  api.cookie = null;
  const kb = await api.call<{ id: string }>('POST', '/api/v1/kbs', { name: 'scale', settings: { chunkSize: CHUNK_SIZE, retrievalMode: mode } }, 201);
  return kb.id;
}

async function upload(api: Api, kbId: string, paths: readonly string[]): Promise<void> {
  const form = new FormData();
  for (const path of paths) form.append('files', new Blob([await readFile(path)], { type: 'text/markdown' }), basename(path));
  await api.call('POST', `/api/v1/kbs/${kbId}/documents`, form, 202);
}

const stats = async (api: Api, kbId: string) => (await api.call<{ stats: KbStats }>('GET', `/api/v1/kbs/${kbId}`)).stats;

/** Uploads `paths` and waits until every document is processed; fails on a stall, a timeout or a failed document. */
async function ingest(api: Api, kbId: string, paths: readonly string[], target: number, timeoutMs: number): Promise<{ chunks: number; seconds: number }> {
  const before = await stats(api, kbId);
  const started = performance.now();
  for (let i = 0; i < paths.length; i += UPLOAD_BATCH) await upload(api, kbId, paths.slice(i, i + UPLOAD_BATCH));
  let last = before;
  let progressAt = performance.now();
  const progress = progressLine();
  for (;;) {
    await sleep(SECOND);
    const now = await stats(api, kbId);
    const elapsed = performance.now() - started;
    progress(`scale: ingesting towards ${int(target)} chunks: ${int(now.chunks)} (${now.ready}/${now.documents} documents, ${(elapsed / SECOND).toFixed(0)} s)`, now.processing === 0);
    if (now.failed > 0) throw new Error(`${now.failed} documents failed: ${await failures(api, kbId)}`);
    if (now.processing === 0) return { chunks: now.chunks, seconds: elapsed / SECOND };
    if (now.chunks !== last.chunks || now.ready !== last.ready) progressAt = performance.now();
    if (performance.now() - progressAt > STALL_TIMEOUT_MS) throw new Error(`ingestion made no progress for ${STALL_TIMEOUT_MS / SECOND} s`);
    if (elapsed > timeoutMs) throw new Error(`ingestion of the stage took over ${timeoutMs / SECOND} s (BENCH_SCALE_INGEST_TIMEOUT_S)`);
    last = now;
  }
}

/** Rewrites one line on a terminal; in a log, writes a line every 30 s and the last one. */
function progressLine(): (text: string, last: boolean) => void {
  let writtenAt = performance.now();
  return (text, last) => {
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${text}   ${last ? '\n' : ''}`);
    } else if (last || performance.now() - writtenAt >= 30 * SECOND) {
      process.stderr.write(`${text}\n`);
      writtenAt = performance.now();
    }
  };
}

async function failures(api: Api, kbId: string): Promise<string> {
  const { documents } = await api.call<{ documents: Array<{ name: string; status: string; error: { code: string; message: string } | null }> }>('GET', `/api/v1/kbs/${kbId}/documents`);
  return documents
    .filter((d) => d.status === 'failed')
    .slice(0, 5)
    .map((d) => `${d.name}: ${d.error?.code} ${d.error?.message}`)
    .join('; ');
}

// ---------------------------------------------------------------------------------------------
// Measurements

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN;

async function search(api: Api, kbId: string, query: string, mode: ScaleOptions['mode']): Promise<number> {
  const started = performance.now();
  const result = await api.call<{ hits: unknown[]; mode: string }>('POST', `/api/v1/kbs/${kbId}/search`, { query, k: 10, mode });
  const ms = performance.now() - started;
  if (result.mode !== mode) throw new Error(`search ran as ${result.mode}, not ${mode}`);
  return ms;
}

/** Every query once, one after another: latency and the server's CPU time per query. */
async function sequential(api: Api, server: ServerProcess, kbId: string, queries: readonly string[], mode: ScaleOptions['mode']) {
  for (const q of queries.slice(0, WARM_UP_QUERIES)) await search(api, kbId, q, mode);
  const latencies: number[] = [];
  const cpuBefore = server.cpuMs();
  for (const q of queries) latencies.push(await search(api, kbId, q, mode));
  const cpuPerQuery = (server.cpuMs() - cpuBefore) / queries.length;
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), cpuPerQuery };
}

/** `clients` clients, each sending its next query as soon as the last one is answered, for `seconds`. */
async function concurrent(api: Api, kbId: string, queries: readonly string[], mode: ScaleOptions['mode'], clients: number, seconds: number) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const end = started + seconds * SECOND;
  const client = async () => {
    while (performance.now() < end) latencies.push(await search(api, kbId, queries[next++ % queries.length]!, mode));
  };
  await Promise.all(Array.from({ length: clients }, client));
  const elapsed = (performance.now() - started) / SECOND;
  latencies.sort((a, b) => a - b);
  return { qps: latencies.length / elapsed, p99: percentile(latencies, 0.99), queries: latencies.length };
}

interface StageResult {
  target: number;
  chunks: number;
  ingestChunks: number;
  ingestSeconds: number;
  cpuPerQuery: number;
  p50: number;
  p99: number;
  concurrent: { qps: number; p99: number; queries: number };
  rssAfterIngest: number;
  stop: { ms: number; killed: boolean };
  healthzMs: number;
  readyzMs: number;
  rssIdle: number;
  notes: string[];
}

async function measureStage(api: Api, server: ServerProcess, kbId: string, queries: readonly string[], options: ScaleOptions, ingested: { chunks: number; seconds: number; target: number; added: number }): Promise<StageResult> {
  const notes: string[] = [];
  if (!(await server.settle())) notes.push('the server was still busy after ingestion when measuring began');
  const rssAfterIngest = server.rssMb();
  process.stderr.write(`scale: ${int(ingested.chunks)} chunks: sequential queries\n`);
  const seq = await sequential(api, server, kbId, queries, options.mode);
  process.stderr.write(`scale: ${int(ingested.chunks)} chunks: ${options.clients} concurrent clients for ${options.concurrentSeconds} s\n`);
  const conc = await concurrent(api, kbId, queries, options.mode, options.clients, options.concurrentSeconds);
  process.stderr.write(`scale: ${int(ingested.chunks)} chunks: restart\n`);
  const stop = await server.stop();
  const { healthzMs, readyzMs } = await server.start();
  if (!(await server.settle())) notes.push('the server was still busy after the restart when idle RSS was read');
  const rssIdle = server.rssMb();
  return {
    target: ingested.target,
    chunks: ingested.chunks,
    ingestChunks: ingested.added,
    ingestSeconds: ingested.seconds,
    ...seq,
    concurrent: conc,
    rssAfterIngest,
    stop,
    healthzMs,
    readyzMs,
    rssIdle,
    notes,
  };
}

// ---------------------------------------------------------------------------------------------
// Report


function verdict(judged: boolean, ok: boolean): string {
  if (!judged) return '';
  return ok ? ' ✓' : ' ✗';
}

function printStage(r: StageResult, index: number, options: ScaleOptions): void {
  const judged = r.chunks >= GOAL_STAGE_MIN;
  // Pre-rebuild numbers beside a stage only where they were measured at a comparable size.
  const cpuThen = PRE_REBUILD.cpuPerQuery.find((p) => Math.abs(p.chunks - r.chunks) / p.chunks <= 0.15);
  const full = Math.abs(PRE_REBUILD.full.chunks - r.chunks) / PRE_REBUILD.full.chunks <= 0.15 ? PRE_REBUILD.full : null;
  const then = (value?: string) => (full && value ? `${value} (at 104k)` : '—');
  const rows: Array<[string, string, string, string]> = [
    [`ingestion, this stage (chunks/s)`, `${int(r.ingestChunks / r.ingestSeconds)} (${int(r.ingestChunks)} chunks in ${r.ingestSeconds.toFixed(0)} s)`, '—', ''],
    [`CPU per query, k=10 (ms)`, ms1(r.cpuPerQuery), cpuThen ? `${cpuThen.ms} (at ${cpuThen.chunks / 1000}k)` : '—', ''],
    ['sequential p50 / p99 (ms)', `${ms1(r.p50)} / ${ms1(r.p99)}${verdict(judged, r.p99 <= GOALS.p99Ms)}`, then(full ? `${full.p50} / ${full.p99}` : undefined), `p99 ≤ ${GOALS.p99Ms}`],
    [`${options.clients} clients: queries/s`, `${r.concurrent.qps.toFixed(1)}${verdict(judged, r.concurrent.qps >= GOALS.concurrentQps)} (${int(r.concurrent.queries)} queries)`, then(full?.concurrentQps), `≥ ${GOALS.concurrentQps}`],
    [`${options.clients} clients: p99 (ms)`, ms1(r.concurrent.p99), then(full?.concurrentP99), ''],
    ['RSS after ingestion (MB)', `${int(r.rssAfterIngest)}${verdict(judged, r.rssAfterIngest <= GOALS.rssMb)}`, then(full?.rssAfterIngest), `≤ ${GOALS.rssMb}`],
    ['graceful stop (s)', `${sec(r.stop.ms)}${r.stop.killed ? ' (killed)' : ''}`, then(full?.stop), ''],
    ['restart → /healthz 200 (s)', sec(r.healthzMs), then(full?.healthz), ''],
    ['restart → /readyz 200 (s)', `${sec(r.readyzMs)}${verdict(judged, r.readyzMs <= GOALS.readyzS * SECOND)}`, then(full?.readyz), `≤ ${GOALS.readyzS}`],
    ['RSS idle after restart (MB)', `${int(r.rssIdle)}${verdict(judged, r.rssIdle <= GOALS.rssMb)}`, then(full?.rssIdle), `≤ ${GOALS.rssMb}`],
  ];
  console.log(`\n### Stage ${index + 1} of ${options.stages.length}: ${int(r.chunks)} chunks (target ${int(r.target)})\n`);
  console.log('| measure | now | pre-rebuild | goal at 100k |');
  console.log('| --- | --- | --- | --- |');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  for (const note of r.notes) console.log(`\nnote: ${note}`);
}

function treeState(): string {
  try {
    const head = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    // Read-only: no index refresh, so a colleague's commit never meets our lock.
    const dirty = execFileSync('git', ['-C', root, '--no-optional-locks', 'status', '--porcelain', '--', 'server'], { encoding: 'utf8' }).trim();
    return `${head}${dirty ? ', with uncommitted changes in server/' : ''}`;
  } catch {
    return 'unknown revision';
  }
}

// ---------------------------------------------------------------------------------------------

export async function benchScale(options: ScaleOptions): Promise<void> {
  const { abstracts, queries } = loadScifact();
  const work = await mkdtemp(join(tmpdir(), 'lectern-bench-scale-'));
  const modelsDir = options.modelsDir ?? join(work, 'models');
  const server = new ServerProcess({
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    DATA_DIR: join(work, 'data'),
    MODELS_DIR: modelsDir,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...NO_RATE_LIMITS,
  });
  // The child must never outlive the bench, however the bench ends.
  const killOnExit = () => server.kill();
  const killOnSignal = (signal: NodeJS.Signals) => {
    server.kill();
    rmSync(work, { recursive: true, force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', killOnExit);
  process.once('SIGINT', killOnSignal);
  process.once('SIGTERM', killOnSignal);
  try {
    await mkdir(modelsDir, { recursive: true });
    const corpusDir = join(work, 'corpus');
    await mkdir(corpusDir);
    const files = await writeCorpus(corpusDir, abstracts, options.stages.at(-1)!);
    process.stderr.write(`scale: ${files.length} Markdown files for ${int(files.reduce((n, f) => n + f.abstracts, 0))} abstracts in ${corpusDir}\n`);

    console.log(`\n## Scale: one knowledge base, ${options.mode} search (k=10) through the HTTP API\n`);
    console.log(`Server: server/main.ts at ${treeState()}, ${options.modelsDir ? `MODELS_DIR ${options.modelsDir}` : 'no models (keyword only)'}, default settings.`);
    console.log(`Corpus: ${files.length} Markdown files of perturbed SciFact replicas (${ABSTRACTS_PER_FILE} abstracts each, chunk size ${CHUNK_SIZE}).`);
    console.log(`Queries: the ${queries.length} SciFact test queries (after ${WARM_UP_QUERIES} warm-up); ${options.clients} clients for ${options.concurrentSeconds} s; CPU is the server process's own (/proc), per query.`);
    console.log(`Pre-rebuild: measured on this machine before the search rebuild (keyword mode, 728 files, ${int(PRE_REBUILD.full.chunks)} chunks); — where nothing was measured at a comparable size. ✓/✗: goal met, judged at ≥ ${int(GOAL_STAGE_MIN)} chunks.`);

    await server.start();
    const api = new Api(server);
    const kbId = await prepare(api, options.mode);
    let stage = 0;
    let uploaded = 0;
    let abstractsUploaded = 0;
    let chunks = 0;
    for (const target of options.stages) {
      const batch: string[] = [];
      while (uploaded < files.length && abstractsUploaded < target) {
        batch.push(files[uploaded]!.path);
        abstractsUploaded += files[uploaded++]!.abstracts;
      }
      const done = await ingest(api, kbId, batch, target, options.ingestTimeoutMs);
      // Printed as soon as measured, so a failure at a later stage keeps the earlier ones.
      printStage(await measureStage(api, server, kbId, queries, options, { ...done, target, added: done.chunks - chunks }), stage++, options);
      chunks = done.chunks;
    }
  } finally {
    await server.stop().catch(() => server.kill());
    process.off('exit', killOnExit);
    process.off('SIGINT', killOnSignal);
    process.off('SIGTERM', killOnSignal);
    await rm(work, { recursive: true, force: true });
  }
}

/** The section as bench-retrieval runs it: skipped on --no-scale or BENCH_SCALE=off. */
export async function runScaleSection(argv: readonly string[] = process.argv): Promise<void> {
  const options = scaleOptions(argv);
  if (!options) {
    console.log('\nscale: skipped (--no-scale or BENCH_SCALE=off)');
    return;
  }
  await benchScale(options);
}

if (import.meta.main) {
  runScaleSection().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
