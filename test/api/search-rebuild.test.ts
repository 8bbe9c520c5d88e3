import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { startTestServer } from '../helpers/server.ts';
import { type Client, setUp } from '../helpers/client.ts';

// The search index is derived data: lost or damaged, it is rebuilt from the store at start.

describe('search index recovery', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('rebuilds a deleted or corrupt index from the store', async () => {
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

    await rm(path.join(dataDir, 'search'), { recursive: true, force: true });
    server = await startTestServer({ dataDir });
    const again = owner.withBase(server.url);
    assert.deepEqual(await query(again), ['fire.txt'], 'rebuilt after deletion');
    assert.ok(server.logs.some((l) => l['msg'] === 'search index rebuilt'));
    await server.close();

    for (const file of await readdir(path.join(dataDir, 'search'))) await writeFile(path.join(dataDir, 'search', file), 'garbage');
    server = await startTestServer({ dataDir });
    assert.deepEqual(await query(again.withBase(server.url)), ['fire.txt'], 'rebuilt after corruption');
    await server.close();
  });
});
