import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FRENCH_LINES, textScan } from '../../server/ingest/ocr/scan-fixture.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Client, setUp } from '../helpers/client.ts';

// A knowledge base chooses the languages its scans are read in, among those installed; English
// (the server default here) and French ship as npm packages.
describe('OCR languages per knowledge base', () => {
  let server: TestServer;
  let owner: Client;
  before(async () => {
    server = await startTestServer({ env: { OCR_LANGUAGES: 'eng' } });
    owner = (await setUp(server.url)).owner;
  });
  after(() => server.close());

  it('refuses a language that is not installed, naming those that are', async () => {
    const refused = await owner.post('/api/v1/kbs', { name: 'Библиотека', settings: { ocrLanguages: ['rus'] } });
    assert.equal(refused.status, 400);
    const detail = refused.json.error.details.find((d: { path: string }) => d.path === 'settings.ocrLanguages');
    assert.match(detail.message, /OCR language "rus" is not installed; installed: eng, fra\b/);
    const kb = (await owner.post('/api/v1/kbs', { name: 'Default' })).json;
    assert.deepEqual(kb.settings.ocrLanguages, null);
    assert.deepEqual(kb.ocr, { default: ['eng'], installed: ['eng', 'fra'] });
    assert.equal((await owner.patch(`/api/v1/kbs/${kb.id}`, { settings: { ocrLanguages: ['eng', 'tlh'] } })).status, 400);
    assert.equal((await owner.patch(`/api/v1/kbs/${kb.id}`, { settings: { ocrLanguages: ['../eng'] } })).status, 400);
    assert.equal((await owner.patch(`/api/v1/kbs/${kb.id}`, { settings: { ocrLanguages: [] } })).status, 400);
    await owner.delete(`/api/v1/kbs/${kb.id}`);
  });

  it('reads a French scan with French data in a knowledge base set to French, and with English data elsewhere', async () => {
    const french = (await owner.post('/api/v1/kbs', { name: 'Français', settings: { ocrLanguages: ['fra'] } })).json;
    assert.deepEqual(french.settings.ocrLanguages, ['fra']);
    const english = (await owner.post('/api/v1/kbs', { name: 'English' })).json;
    const scan = textScan(FRENCH_LINES);
    const text: Record<string, string> = {};
    for (const kb of [french, english]) {
      assert.equal((await owner.upload(kb.id, [{ name: 'avis.png', bytes: scan, type: 'image/png' }])).status, 202);
      const [doc] = await owner.settle(kb.id);
      assert.equal(doc?.['status'], 'ready', JSON.stringify(doc));
      const hits = (await owner.post(`/api/v1/kbs/${kb.id}/search`, { query: 'médecins hôpital', mode: 'keyword' })).json.hits;
      text[kb.name] = hits[0]?.text ?? '';
    }
    for (const word of ['élèves', 'être', 'bibliothèque', 'reçoivent', 'théâtre']) {
      assert.ok(text['Français']!.includes(word), `"${word}" in ${JSON.stringify(text['Français'])}`);
      assert.ok(!text['English']!.includes(word), `English data misreads "${word}": ${JSON.stringify(text['English'])}`);
    }
    // Switching the English one to French and re-indexing reads its scan again, right this time.
    assert.equal((await owner.patch(`/api/v1/kbs/${english.id}`, { settings: { ocrLanguages: ['eng', 'fra'] } })).status, 200);
    assert.equal((await owner.post(`/api/v1/kbs/${english.id}/reindex`, {})).status, 202);
    await owner.settle(english.id);
    const again = (await owner.post(`/api/v1/kbs/${english.id}/search`, { query: 'médecins hôpital', mode: 'keyword' })).json.hits;
    assert.match(again[0]?.text ?? '', /bibliothèque.*reçoivent/s);
  });
});
