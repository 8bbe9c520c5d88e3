import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { createAppliance, listen } from '../server/appliance.ts';
import { loadConfig } from '../server/config.ts';
import { NO_RATE_LIMITS } from '../server/limits/testing.ts';
import type { DocumentDoc } from '../server/documents/documents.ts';
import { createLogger } from '../server/logger.ts';
import { Lifecycle } from '../server/ops/lifecycle.ts';
import { setUp } from '../test/helpers/client.ts';

// Ingestion throughput through the real appliance (worker-isolated parsing, OCR, chunking,
// embedding when a model is installed, indexing) on the documents in ../shared/docs. Printed by
// `npm run bench:retrieval` after the retrieval table, followed by many small documents (one
// SciFact abstract each) to show the per-document overhead and how responsive the server stays.
// Alone: `node scripts/bench-ingest.ts [--small [--concurrency N]]`.

const DOCS = path.resolve(import.meta.dirname, '../../shared/docs');
const SCIFACT = path.resolve(import.meta.dirname, '../../shared/bench/scifact');

export async function benchIngestion(options: { modelsDir?: string } = {}): Promise<void> {
  if (!existsSync(DOCS)) {
    console.log(`\ningestion: skipped — ${DOCS} is absent`);
    return;
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'lectern-bench-ingest-'));
  const log = createLogger({ level: 'silent' });
  const lifecycle = new Lifecycle(log);
  try {
    const config = loadConfig({ DATA_DIR: dataDir, MODELS_DIR: options.modelsDir ?? path.resolve('models'), LOG_LEVEL: 'silent', INGEST_CONCURRENCY: '1' });
    const { services, index } = await createAppliance(config, log, lifecycle);
    const { organisation } = await services.organisations.createWithFirstUser('Bench', { name: 'Bench', email: 'bench@example.org', password: 'bench password 123' }, { role: 'owner', instanceOwner: true });
    const kb = await services.kbs.create(organisation._id, { name: 'bench' });
    const files: Array<{ name: string; bytes: Buffer }> = [];
    for (const dir of await readdir(DOCS)) for (const name of await readdir(path.join(DOCS, dir))) files.push({ name: `${dir}/${name}`, bytes: await readFile(path.join(DOCS, dir, name)) });

    const started = performance.now();
    const uploaded = [];
    for (const f of files) uploaded.push({ name: f.name, declaredType: 'application/octet-stream', blob: await services.documents.blobsPut(Readable.from([f.bytes])) });
    await services.documents.add(organisation._id, kb._id, uploaded, null);
    let docs: DocumentDoc[] = [];
    for (;;) {
      docs = await services.documents.list(organisation._id, kb._id);
      if (docs.every((d) => d.status === 'ready' || d.status === 'failed')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - started) / 1000;

    const ready = docs.filter((d) => d.status === 'ready');
    const pages = ready.reduce((n, d) => n + (d.pages ?? 0), 0);
    const chunks = ready.reduce((n, d) => n + (d.chunks ?? 0), 0);
    const ocrDocs = ready.filter((d) => d.ocr);
    console.log(`\n## Ingestion of ../shared/docs (${files.length} files, one at a time, OCR ${config.OCR_ENABLED ? 'on' : 'off'}, embeddings ${services.search.embeddingsStatus().available ? 'on' : 'off'})\n`);
    console.log('| files | ready | failed | pages (PDF) | chunks | seconds | pages/s | chunks/s |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    console.log(`| ${files.length} | ${ready.length} | ${docs.length - ready.length} | ${pages} | ${chunks} | ${seconds.toFixed(1)} | ${(pages / seconds).toFixed(2)} | ${(chunks / seconds).toFixed(1)} |`);
    console.log(`\nOCR'd documents: ${ocrDocs.map((d) => `${d.name} (${d.pages} pages)`).join(', ') || 'none'}`);
    console.log(`failed (expected: the hostile ones): ${docs.filter((d) => d.status === 'failed').map((d) => `${d.name}: ${d.error?.code}`).join('; ')}`);
    console.log(`chunks in the search index: ${await index.count({ organisationId: organisation._id })}`);
  } finally {
    await lifecycle.shutdown('bench done');
    await rm(dataDir, { recursive: true, force: true });
  }
  await benchSmallDocuments(options);
}

/** The first `count` SciFact abstracts as Markdown files: the title as a heading, then the abstract. */
async function scifactDocuments(count: number): Promise<Array<{ name: string; bytes: Buffer }>> {
  const files: Array<{ name: string; bytes: Buffer }> = [];
  for (const part of ['corpus.part1.jsonl', 'corpus.part2.jsonl', 'corpus.part3.jsonl']) {
    for (const line of (await readFile(path.join(SCIFACT, part), 'utf8')).split('\n')) {
      if (files.length === count) return files;
      if (!line.trim()) continue;
      const { _id, title, text } = JSON.parse(line) as { _id: string; title: string; text: string };
      files.push({ name: `scifact-${_id}.md`, bytes: Buffer.from(`# ${title}\n\n${text}\n`, 'utf8') });
    }
  }
  return files;
}

// Asks /healthz every ~20 ms from a thread of its own, so a stalled server loop shows as a slow
// answer instead of also delaying the probe that should measure it. Each sample is [sent at (ms
// since the epoch), latency ms].
const PROBE = `
const { parentPort, workerData } = require('node:worker_threads');
const samples = [];
let running = true;
parentPort.on('message', () => { running = false; });
(async () => {
  while (running) {
    const started = performance.now();
    const res = await fetch(workerData.url);
    await res.arrayBuffer();
    const ms = performance.now() - started;
    samples.push([performance.timeOrigin + started, ms]);
    await new Promise((r) => setTimeout(r, Math.max(0, 20 - ms)));
  }
  parentPort.postMessage(samples);
})();
`;

function probeHealth(url: string): { stop(): Promise<Array<[number, number]>> } {
  const worker = new Worker(PROBE, { eval: true, workerData: { url } });
  const samples = new Promise<Array<[number, number]>>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    stop: async () => {
      worker.postMessage('stop');
      const result = await samples;
      await worker.terminate();
      return result;
    },
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

/**
 * 1,000 one-abstract documents uploaded over HTTP to the appliance, 50 to a request: documents/s,
 * CPU per document, /healthz latency during the upload and ingestion, and the main thread's
 * longest event-loop stall.
 */
export async function benchSmallDocuments(options: { modelsDir?: string; count?: number; concurrency?: number } = {}): Promise<void> {
  if (!existsSync(SCIFACT)) {
    console.log(`\nsmall documents: skipped — ${SCIFACT} is absent`);
    return;
  }
  const files = await scifactDocuments(options.count ?? 1000);
  const dataDir = await mkdtemp(path.join(tmpdir(), 'lectern-bench-small-'));
  const log = createLogger({ level: 'silent' });
  const lifecycle = new Lifecycle(log);
  try {
    const config = loadConfig({
      DATA_DIR: dataDir,
      MODELS_DIR: options.modelsDir ?? path.resolve('models'),
      LOG_LEVEL: 'silent',
      ...NO_RATE_LIMITS,
      ...(options.concurrency ? { INGEST_CONCURRENCY: String(options.concurrency) } : {}),
    });
    const appliance = await createAppliance(config, log, lifecycle);
    const { services } = appliance;
    const { port } = await listen(appliance.app.callback(), { port: 0, host: '127.0.0.1', shutdownTimeoutMs: 1000, readiness: appliance.readiness }, lifecycle);
    const base = `http://127.0.0.1:${port}`;
    const { owner } = await setUp(base);
    const kbId = (await owner.post('/api/v1/kbs', { name: 'small' })).json.id as string;

    const probe = probeHealth(`${base}/healthz`);
    await new Promise((r) => setTimeout(r, 200)); // the probe's first (cold) request is not the ingestion's doing
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const cpu = process.cpuUsage();
    const mainCpu = process.threadCpuUsage();
    const started = performance.now();
    // As the console would send them: requests of at most UPLOAD_MAX_FILES, processing starting meanwhile.
    for (let i = 0; i < files.length; i += config.UPLOAD_MAX_FILES) {
      const reply = await owner.upload(kbId, files.slice(i, i + config.UPLOAD_MAX_FILES).map((f) => ({ ...f, type: 'text/markdown' })));
      if (reply.status !== 202) throw new Error(`upload failed: ${reply.status} ${reply.text}`);
    }
    const uploadSeconds = (performance.now() - started) / 1000;
    const uploadsEnded = performance.timeOrigin + performance.now();
    // Counting jobs is cheap; listing the documents every 100 ms would itself stall the loop.
    for (let c = await appliance.queue.counts(); c.pending + c.running > 0; c = await appliance.queue.counts()) await new Promise((r) => setTimeout(r, 100));
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const usedMain = process.threadCpuUsage(mainCpu);
    delay.disable();
    const samples = await probe.stop();
    const latencies = samples.map(([, ms]) => ms).sort((a, b) => a - b);
    const ingesting = samples.filter(([at]) => at > uploadsEnded).map(([, ms]) => ms).sort((a, b) => a - b);
    const stats = (await owner.get(`/api/v1/kbs/${kbId}`)).json.stats as { documents: number; ready: number; failed: number; chunks: number };

    const perDocument = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000 / files.length;
    const ms = (v: number) => v.toFixed(1);
    console.log(`\n## Ingestion of ${files.length} small documents (one SciFact abstract each as Markdown, ${config.INGEST_CONCURRENCY} at a time, embeddings ${services.search.embeddingsStatus().available ? 'on' : 'off'})\n`);
    console.log('| documents | ready | failed | chunks | seconds | documents/s | CPU ms/document | of it main thread | /healthz p50 | p99 | max | longest stall |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    console.log(
      `| ${stats.documents} | ${stats.ready} | ${stats.failed} | ${stats.chunks} | ${seconds.toFixed(1)} | ${(files.length / seconds).toFixed(1)} | ${ms(perDocument(used))} | ${ms(perDocument(usedMain))} | ` +
        `${ms(percentile(latencies, 50))} | ${ms(percentile(latencies, 99))} | ${ms(latencies.at(-1) ?? NaN)} | ${ms(delay.max / 1e6)} |`,
    );
    console.log(`\nCPU: the whole process's (every thread) and the main thread's, per document. /healthz was asked ${latencies.length} times, every ~20 ms from another thread; the stall is the main thread's longest event-loop delay.`);
    console.log(
      `The ${Math.ceil(files.length / config.UPLOAD_MAX_FILES)} upload requests took the first ${uploadSeconds.toFixed(1)} s; after them (ingestion alone) /healthz p50 ${ms(percentile(ingesting, 50))}, ` +
        `p99 ${ms(percentile(ingesting, 99))}, max ${ms(ingesting.at(-1) ?? NaN)} ms (${ingesting.length} samples).`,
    );
  } finally {
    await lifecycle.shutdown('bench done');
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  if (process.argv.includes('--small')) {
    const at = process.argv.indexOf('--concurrency');
    await benchSmallDocuments(at > 0 ? { concurrency: Number(process.argv[at + 1]) } : {});
  } else await benchIngestion();
}
