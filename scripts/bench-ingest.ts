import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createAppliance } from '../server/appliance.ts';
import { loadConfig } from '../server/config.ts';
import type { DocumentDoc } from '../server/documents/documents.ts';
import { createLogger } from '../server/logger.ts';
import { Lifecycle } from '../server/ops/lifecycle.ts';

// Ingestion throughput through the real appliance (worker-isolated parsing, OCR, chunking,
// embedding when a model is installed, indexing) on the documents in ../shared/docs. Printed by
// `npm run bench:retrieval` after the retrieval table.

const DOCS = path.resolve(import.meta.dirname, '../../shared/docs');

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
}

if (import.meta.main) await benchIngestion();
