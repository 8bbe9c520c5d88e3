import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { startTestServer } from '../helpers/server.ts';
import { type Client, setUp } from '../helpers/client.ts';

// The search index lives in the store's SQLite file, beside the chunks it is derived from. Lost,
// outdated or of another format, it is rebuilt from the store while the server already answers.

describe('search index recovery', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('rebuilds an index that lost its rows or its generation, and removes an earlier version snapshot', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lectern-rebuild-'));
    dirs.push(dataDir);
    let server = await startTestServer({ dataDir });
    const { owner } = await setUp(server.url);
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Policies' })).json.id as string;
    await owner.upload(kbId, [{ name: 'fire.txt', bytes: 'Fire doors must stay closed at all times.\n\nAssemble at the car park.' }]);
    await owner.settle(kbId);
    const query = async (c: Client) => (await c.post(`/api/v1/kbs/${kbId}/search`, { query: 'fire doors', mode: 'keyword' })).json.hits.map((h: { documentName: string }) => h.documentName);
    assert.deepEqual(await query(owner), ['fire.txt']);
    await server.close();
    assert.deepEqual(await readdir(dataDir).then((names) => names.filter((n) => n === 'search')), [], 'no search directory: the index is in the store file');

    const storeFile = path.join(dataDir, 'store', 'lectern.sqlite');
    const tamper = (sql: string) => {
      const db = new DatabaseSync(storeFile);
      db.exec(sql);
      db.close();
    };
    tamper("DELETE FROM search_chunks; DELETE FROM search_terms; DELETE FROM search_meta WHERE key = 'generation';");
    // What an earlier version left: a snapshot holding text. It is stale, so it goes.
    await mkdir(path.join(dataDir, 'search'));
    await writeFile(path.join(dataDir, 'search', 'chunks-3.ndjson'), '{"text":"Fire doors must stay closed"}\n');
    server = await startTestServer({ dataDir });
    const again = owner.withBase(server.url);
    assert.deepEqual(await query(again), ['fire.txt'], 'rebuilt once the index has lost its rows and generation');
    assert.ok(server.logs.some((l) => l['msg'] === 'search index rebuilt'));
    assert.ok(server.logs.some((l) => l['msg'] === 'removed the search snapshot of an earlier version; the index is rebuilt from the store'));
    assert.deepEqual(await readdir(path.join(dataDir, 'search')), []);
    await server.close();

    tamper("UPDATE search_meta SET value = '0' WHERE key = 'format'");
    server = await startTestServer({ dataDir });
    assert.deepEqual(await query(again.withBase(server.url)), ['fire.txt'], 'rebuilt after a format change');
    await server.close();
  });
});
