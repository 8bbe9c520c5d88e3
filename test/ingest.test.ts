import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { Client, setUp } from './helpers/client.ts';

// The acceptance run for ingestion: every document in ../shared/docs, normal and hostile, in one
// upload request, while the server keeps answering.

const SHARED = path.resolve(import.meta.dirname, '../../shared/docs');
const available = existsSync(SHARED);

/** Expected outcome of each hostile file: a stable failure code, or `ready` where it is legitimately readable. */
const HOSTILE: Record<string, string> = {
  'encrypted-user-password-1234.pdf': 'encrypted',
  'malformed-no-startxref.pdf': 'corrupt',
  'permissions-restricted-owner-password.pdf': 'ready',
  'scanned-image-only-4p-known-text.pdf': 'ready',
  'truncated.docx': 'corrupt',
  'xxe-external-entity.docx': 'unsafe',
  'high-expansion-15MB-xml.docx': 'ready',
};

describe('ingesting every shared document in one request', { skip: available ? false : `no ${SHARED} (shared test material absent)` }, () => {
  let server: TestServer;
  let owner: Client;
  let kbId: string;
  let docs: Array<Record<string, any>>;
  const health = { checks: 0, failures: 0, slowestMs: 0 };

  before(async () => {
    // Every shared document in one request: more files than a minute's default upload limit.
    server = await startTestServer({ env: { INGEST_CONCURRENCY: '1', LIMIT_UPLOADS_PER_MINUTE: '100' } });
    owner = (await setUp(server.url)).owner;
    kbId = (await owner.post('/api/v1/kbs', { name: 'Everything' })).json.id;
    const files = readdirSync(SHARED).flatMap((dir) => readdirSync(path.join(SHARED, dir)).map((name) => ({ name, bytes: readFileSync(path.join(SHARED, dir, name)) })));
    const up = await owner.upload(kbId, files);
    assert.equal(up.status, 202, up.text);
    assert.equal(up.json.documents.length, files.length);

    // Liveness and readiness are probed throughout: processing must never starve the server.
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const started = performance.now();
        const [live, ready] = await Promise.all([fetch(`${server.url}/healthz`), fetch(`${server.url}/readyz`)]);
        health.slowestMs = Math.max(health.slowestMs, performance.now() - started);
        health.checks++;
        if (live.status !== 200 || ready.status !== 200) health.failures++;
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    docs = await owner.settle(kbId, 8 * 60_000);
    probing = false;
    await probe;
    for (const l of server.logs.filter((l) => l['msg'] === 'document ready' || l['msg'] === 'document failed' || l['msg'] === 'job failed; will retry')) {
      process.stderr.write(`${l['time']} ${l['msg']} ${l['documentId']} ${l['ms'] ?? ''} ${l['code'] ?? ''} ${l['err'] ?? ''}\n`);
    }
  });
  after(() => server?.close());

  it('ends every normal document ready, with chunks and page numbers', () => {
    for (const d of docs.filter((d) => !(d['name'] in HOSTILE))) {
      assert.equal(d['status'], 'ready', `${d['name']}: ${JSON.stringify(d['error'])}`);
      assert.ok(d['chunks'] > 0, `${d['name']} has chunks`);
      if (d['name'].endsWith('.pdf')) assert.ok(d['pages'] > 0, `${d['name']} has pages`);
    }
    assert.equal(docs.find((d) => d['name'] === 'cancer-council-understanding-breast-cancer-76p.pdf')?.['pages'], 76);
  });

  it('ends every hostile document with its expected outcome', () => {
    for (const [name, expected] of Object.entries(HOSTILE)) {
      const d = docs.find((x) => x['name'] === name);
      assert.ok(d, name);
      const outcome = d['status'] === 'ready' ? 'ready' : d['error']?.code;
      assert.equal(outcome, expected, `${name}: ${JSON.stringify(d['error'])}`);
      if (d['status'] === 'failed') assert.ok(d['error'].message.length > 10, `${name} has a human message`);
    }
    assert.equal(docs.find((d) => d['name'] === 'scanned-image-only-4p-known-text.pdf')?.['ocr'], true);
  });

  it('stayed healthy throughout', () => {
    assert.ok(health.checks > 0);
    assert.equal(health.failures, 0, `${health.failures} of ${health.checks} probes failed`);
  });

  it('finds a sentence from one page of a PDF on that page first', async () => {
    const r = await owner.post(`/api/v1/kbs/${kbId}/search`, { query: 'Gentle exercises can help prevent or manage shoulder stiffness', mode: 'keyword' });
    const top = r.json.hits[0];
    assert.equal(top.documentName, 'cancer-council-understanding-breast-cancer-76p.pdf');
    assert.equal(top.page, 40);
    assert.equal(top.pageLabel, '38', 'the printed page label travels with the hit');
  });

  it('answers a question from one page extractively (no model installed), citing that document and page first', async () => {
    const r = await owner.post(`/api/v1/kbs/${kbId}/ask`, { question: 'What can help prevent or manage shoulder stiffness after surgery?' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.mode, 'extractive');
    const first = r.json.citations[0];
    assert.equal(first.documentName, 'cancer-council-understanding-breast-cancer-76p.pdf');
    assert.equal(first.page, 40);
    assert.equal(first.pageLabel, '38');
  });

  it("finds the scanned PDF's page-1 sentence through OCR", async () => {
    const r = await owner.post(`/api/v1/kbs/${kbId}/search`, { query: 'Docling bundles PDF document conversion to JSON and Markdown', mode: 'keyword' });
    const top = r.json.hits[0];
    assert.equal(top.documentName, 'scanned-image-only-4p-known-text.pdf');
    assert.equal(top.page, 1);
  });

  it('refuses the XXE document without ever resolving its entity', async () => {
    const d = docs.find((x) => x['name'] === 'xxe-external-entity.docx')!;
    assert.match(d['error'].message, /DOCTYPE/);
    const content = await owner.get(`/api/v1/kbs/${kbId}/documents/${d['id']}/content`);
    assert.equal(content.status, 409, 'no extracted text exists for it');
  });
});
