import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Client, setUp, signedIn } from '../helpers/client.ts';

const PW = 'a sufficiently long password';

const MANUAL = `# Pump maintenance manual

## Filters

Replace the intake filter every 500 operating hours. A clogged filter reduces flow and overheats the motor.

## Belts

Check belt tension monthly. The drive belt should deflect 12 mm under thumb pressure.

- Loosen the motor mounting bolts
- Adjust the tensioner
- Tighten to 25 Nm
`;

const POLICY = 'Visitors must sign in at reception.\n\nAll visitors wear a badge at all times.\n\nEscort visitors in clinical areas.';

describe('knowledge bases and documents API', () => {
  let server: TestServer;
  let owner: Client;
  let kbId: string;
  before(async () => {
    server = await startTestServer({ env: { UPLOAD_MAX_FILE_MB: '1', UPLOAD_MAX_FILES: '5' } });
    owner = (await setUp(server.url)).owner;
  });
  after(() => server.close());

  it('creates, lists, reads and updates knowledge bases; viewers read only', async () => {
    const created = await owner.post('/api/v1/kbs', { name: 'Maintenance', description: 'Pump manuals' });
    assert.equal(created.status, 201);
    kbId = created.json.id;
    assert.deepEqual(created.json.settings, { chunkSize: 350, chunkOverlap: 50, retrievalMode: 'hybrid', embeddingModel: null, ocrLanguages: null });
    assert.deepEqual(created.json.stats, { documents: 0, ready: 0, processing: 0, failed: 0, chunks: 0 });
    assert.equal(typeof created.json.embeddings.available, 'boolean');
    assert.equal((await owner.get('/api/v1/kbs')).json.kbs.length, 1);
    const renamed = await owner.patch(`/api/v1/kbs/${kbId}`, { name: 'Pump maintenance' });
    assert.equal(renamed.json.name, 'Pump maintenance');
    assert.equal((await owner.patch(`/api/v1/kbs/${kbId}`, { settings: { chunkSize: 100, chunkOverlap: 200 } })).status, 400);
    assert.equal((await owner.patch(`/api/v1/kbs/${kbId}`, { settings: { embeddingModel: 'some-other-model' } })).status, 400);

    await owner.post('/api/v1/users', { email: 'viewer@riverside.test', name: 'V', role: 'viewer', password: PW });
    const viewer = await signedIn(server.url, 'viewer@riverside.test', PW);
    assert.equal((await viewer.get(`/api/v1/kbs/${kbId}`)).status, 200);
    assert.equal((await viewer.post('/api/v1/kbs', { name: 'X' })).status, 403);
    assert.equal((await viewer.upload(kbId, [{ name: 'a.txt', bytes: 'hello' }])).status, 403);
    assert.equal((await viewer.delete(`/api/v1/kbs/${kbId}`)).status, 403);
  });

  it('ingests uploads in the background and finds passages with their offsets', async () => {
    const up = await owner.upload(kbId, [
      { name: 'manual.md', bytes: MANUAL, type: 'text/markdown' },
      { name: 'visitors.txt', bytes: POLICY },
    ]);
    assert.equal(up.status, 202);
    assert.deepEqual(up.json.documents.map((d: { name: string; status: string; duplicate: boolean }) => [d.name, d.status, d.duplicate]), [
      ['manual.md', 'queued', false],
      ['visitors.txt', 'queued', false],
    ]);
    const docs = await owner.settle(kbId);
    for (const d of docs) {
      assert.equal(d['status'], 'ready', JSON.stringify(d));
      assert.equal(d['stage'], 'ready');
      assert.equal(d['progress'], 1);
      assert.ok(d['chunks'] > 0);
    }
    const manual = docs.find((d) => d['name'] === 'manual.md')!;
    assert.equal(manual['format'], 'markdown');
    assert.equal(manual['sha256'], createHash('sha256').update(MANUAL).digest('hex'));

    const dup = await owner.upload(kbId, [{ name: 'copy-of-manual.md', bytes: MANUAL }]);
    assert.deepEqual(dup.json.documents, [{ id: manual['id'], name: 'manual.md', status: 'ready', duplicate: true }]);

    const found = await owner.post(`/api/v1/kbs/${kbId}/search`, { query: 'how tight should the drive belt be', mode: 'keyword' });
    assert.equal(found.status, 200);
    assert.equal(found.json.mode, 'keyword');
    const top = found.json.hits[0];
    assert.equal(top.documentName, 'manual.md');
    assert.deepEqual(top.headings, ['Pump maintenance manual', 'Belts']);
    assert.ok(top.matchedTerms.some((t: string) => /belt/i.test(t)), JSON.stringify(top.matchedTerms));
    assert.ok(top.score > 0 && top.score <= 1);

    const content = await owner.get(`/api/v1/kbs/${kbId}/documents/${manual['id']}/content`);
    const text = (content.json.blocks as Array<{ text: string }>).map((b) => b.text).join('\n\n');
    assert.ok(text.slice(top.start, top.end).includes('deflect 12 mm'), 'the hit offsets point at the passage');
    const chunk = await owner.get(`/api/v1/kbs/${kbId}/chunks/${top.chunkId}`);
    assert.equal(chunk.json.text, top.text);

    const file = await fetch(`${server.url}/api/v1/kbs/${kbId}/documents/${manual['id']}/file`, { headers: { cookie: owner.cookie! } });
    assert.equal(file.status, 200);
    assert.match(file.headers.get('content-disposition') ?? '', /attachment/);
    assert.equal(await file.text(), MANUAL);
  });

  it('reports failures per document without affecting the others', async () => {
    const up = await owner.upload(kbId, [
      { name: 'binary.bin', bytes: new Uint8Array([0, 1, 2, 3, 0, 0, 255, 254, 0, 7, 8, 9]) },
      { name: 'empty.txt', bytes: '   \n\n  ' },
      { name: 'fine.txt', bytes: 'Fire doors must stay closed.' },
    ]);
    assert.equal(up.status, 202);
    const docs = await owner.settle(kbId);
    const by = (name: string) => docs.find((d) => d['name'] === name)!;
    assert.equal(by('binary.bin')['status'], 'failed');
    assert.equal(by('binary.bin')['error'].code, 'unsupported_type');
    assert.equal(by('empty.txt')['status'], 'failed');
    assert.equal(by('empty.txt')['error'].code, 'no_text');
    assert.equal(by('fine.txt')['status'], 'ready');
    assert.equal((await new Client(server.url).get('/readyz')).status, 200);
  });

  it('refuses bad uploads with clear errors', async () => {
    const notMultipart = await owner.post(`/api/v1/kbs/${kbId}/documents`, { files: 'x' });
    assert.equal(notMultipart.status, 415);
    const none = await owner.request('POST', `/api/v1/kbs/${kbId}/documents`, new FormData());
    assert.equal(none.status, 400);
    const big = await owner.upload(kbId, [{ name: 'big.txt', bytes: 'x'.repeat(1024 * 1024 + 10) }]);
    assert.equal(big.status, 413);
    assert.equal(big.json.error.code, 'too_large');
    const many = await owner.upload(kbId, Array.from({ length: 6 }, (_, i) => ({ name: `f${i}.txt`, bytes: `file ${i}` })));
    assert.equal(many.status, 413);
    const wrongField = new FormData();
    wrongField.append('attachment', new Blob(['x']), 'x.txt');
    assert.equal((await owner.request('POST', `/api/v1/kbs/${kbId}/documents`, wrongField)).status, 400);
    const garbage = await owner.request('POST', `/api/v1/kbs/${kbId}/documents`, '--xyz\r\nbroken', { 'content-type': 'multipart/form-data; boundary=xyz' });
    assert.ok([400, 413].includes(garbage.status), `garbage multipart → ${garbage.status}`);
    // A client that drops the connection mid-upload leaves nothing behind and harms nobody.
    await new Promise<void>((resolve) => {
      const req = request(`${server.url}/api/v1/kbs/${kbId}/documents`, {
        method: 'POST',
        headers: { cookie: owner.cookie!, origin: server.url, 'content-type': 'multipart/form-data; boundary=cut', 'content-length': '100000' },
      });
      req.on('error', () => resolve());
      req.write('--cut\r\nContent-Disposition: form-data; name="files"; filename="half.txt"\r\n\r\nhalf of a file');
      setTimeout(() => req.destroy(), 100);
    });
    assert.equal((await owner.get('/api/v1/me')).status, 200, 'the server is still serving');
    const names = (await owner.get(`/api/v1/kbs/${kbId}/documents`)).json.documents.map((d: { name: string }) => d.name);
    assert.ok(!names.includes('big.txt') && !names.includes('half.txt') && !names.some((n: string) => /^f\d\.txt$/.test(n)), 'a refused request records nothing');
  });

  it('indexes a text file whose only line looks like a heading, rather than ending ready with nothing', async () => {
    assert.equal((await owner.upload(kbId, [{ name: 'sign.txt', bytes: 'WARD 7 VISITING HOURS 14:00 TO 20:00\n' }])).status, 202);
    const sign = (await owner.settle(kbId)).find((d) => d['name'] === 'sign.txt')!;
    assert.deepEqual([sign['status'], sign['chunks']], ['ready', 1]);
    const hit = (await owner.post(`/api/v1/kbs/${kbId}/search`, { query: 'ward visiting hours', mode: 'keyword' })).json.hits[0];
    assert.equal(hit.documentId, sign['id']);
  });

  it('pushes live document updates over server-sent events', async () => {
    const res = await fetch(`${server.url}/api/v1/kbs/${kbId}/events`, { headers: { cookie: owner.cookie! } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    const seen: string[] = [];
    const reading = (async () => {
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += new TextDecoder().decode(value);
        for (const m of buf.matchAll(/event: document\ndata: (.*)\n\n/g)) seen.push((JSON.parse(m[1]!) as { stage: string }).stage);
        if (seen.includes('ready')) return;
      }
    })();
    await owner.upload(kbId, [{ name: 'live.txt', bytes: 'Hand hygiene before and after every patient contact.' }]);
    // Cleared once the stream has its answer: a pending timer would hold the test file open for 30 s.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no ready event; saw ${seen.join(',')}`)), 30_000)));
    await Promise.race([reading, timeout]).finally(() => clearTimeout(timer));
    await reader.cancel();
    assert.equal(seen[0], 'queued');
    assert.ok(seen.includes('parsing'));
    assert.equal(seen.at(-1), 'ready');
  });

  it('reprocesses, deletes documents and knowledge bases, and their chunks leave the index', async () => {
    const docs = (await owner.get(`/api/v1/kbs/${kbId}/documents`)).json.documents as Array<{ id: string; name: string }>;
    const visitors = docs.find((d) => d.name === 'visitors.txt')!;
    assert.equal((await owner.post(`/api/v1/kbs/${kbId}/documents/${visitors.id}/reprocess`)).status, 202);
    await owner.settle(kbId);
    const before = await owner.post(`/api/v1/kbs/${kbId}/search`, { query: 'visitors badge', mode: 'keyword' });
    assert.equal(before.json.hits[0].documentId, visitors.id);
    assert.equal((await owner.delete(`/api/v1/kbs/${kbId}/documents/${visitors.id}`)).status, 204);
    const afterDelete = await owner.post(`/api/v1/kbs/${kbId}/search`, { query: 'visitors badge', mode: 'keyword' });
    assert.ok(afterDelete.json.hits.every((h: { documentId: string }) => h.documentId !== visitors.id));
    assert.equal((await owner.get(`/api/v1/kbs/${kbId}/documents/${visitors.id}`)).status, 404);

    const reindex = await owner.post(`/api/v1/kbs/${kbId}/reindex`);
    assert.equal(reindex.status, 202);
    await owner.settle(kbId);
    assert.ok((await owner.post(`/api/v1/kbs/${kbId}/search`, { query: 'drive belt', mode: 'keyword' })).json.hits.length > 0);

    assert.equal((await owner.delete(`/api/v1/kbs/${kbId}`)).status, 204);
    assert.equal((await owner.get(`/api/v1/kbs/${kbId}`)).status, 404);
    assert.equal((await owner.post(`/api/v1/kbs/${kbId}/search`, { query: 'drive belt' })).status, 404);
  });

  it('isolates knowledge bases between organisations', async () => {
    const kb = (await owner.post('/api/v1/kbs', { name: 'Private' })).json;
    await owner.upload(kb.id, [{ name: 'secret.txt', bytes: 'The vault code is kept in the safe.' }]);
    const [doc] = await owner.settle(kb.id);
    await owner.post('/api/v1/organisations', { name: 'Other clinic', admin: { name: 'Bo', email: 'bo@other.test', password: PW } });
    const bo = await signedIn(server.url, 'bo@other.test', PW);
    assert.deepEqual((await bo.get('/api/v1/kbs')).json.kbs, []);
    for (const [method, path] of [
      ['GET', `/api/v1/kbs/${kb.id}`],
      ['GET', `/api/v1/kbs/${kb.id}/documents`],
      ['GET', `/api/v1/kbs/${kb.id}/documents/${doc!['id']}`],
      ['GET', `/api/v1/kbs/${kb.id}/documents/${doc!['id']}/file`],
      ['GET', `/api/v1/kbs/${kb.id}/documents/${doc!['id']}/content`],
      ['GET', `/api/v1/kbs/${kb.id}/events`],
      ['DELETE', `/api/v1/kbs/${kb.id}/documents/${doc!['id']}`],
      ['DELETE', `/api/v1/kbs/${kb.id}`],
    ] as const) {
      assert.equal((await bo.request(method, path)).status, 404, `${method} ${path}`);
    }
    assert.equal((await bo.post(`/api/v1/kbs/${kb.id}/search`, { query: 'vault code' })).status, 404);
    assert.equal((await bo.upload(kb.id, [{ name: 'x.txt', bytes: 'x' }])).status, 404);
    const boKb = (await bo.post('/api/v1/kbs', { name: 'Mine' })).json;
    await bo.upload(boKb.id, [{ name: 'mine.txt', bytes: 'Nothing about vaults here, only the vault code word.' }]);
    await bo.settle(boKb.id);
    const hits = (await bo.post(`/api/v1/kbs/${boKb.id}/search`, { query: 'vault code', mode: 'keyword' })).json.hits;
    assert.ok(hits.every((h: { documentName: string }) => h.documentName === 'mine.txt'));
  });
});
