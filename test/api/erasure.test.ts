import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { type Client, setUp } from '../helpers/client.ts';

// What users delete leaves the disk: a unique marker written into a document (its text and its
// name) is found under DATA_DIR while the document exists, and nowhere — store, search index,
// free pages, write-ahead log, original files — within a minute of deleting it.

/** Files under `dir` whose bytes contain `marker`. */
async function filesHolding(dir: string, marker: string): Promise<string[]> {
  const needle = Buffer.from(marker);
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const bytes = await readFile(file).catch(() => null);
    if (bytes?.includes(needle)) found.push(path.relative(dir, file));
  }
  return found;
}

/** Waits up to a minute for the marker to leave every file, and returns where it still is. */
async function erased(dir: string, marker: string): Promise<string[]> {
  const deadline = Date.now() + 60_000;
  let left = await filesHolding(dir, marker);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(250);
    left = await filesHolding(dir, marker);
  }
  return left;
}

const markerDocument = (marker: string): string =>
  [`Incident report ${marker}.`, `The ${marker} procedure was followed on the night shift.`, `Escalate any ${marker} finding to the duty manager.`].join('\n\n');

describe('erasure', () => {
  let server: TestServer;
  let owner: Client;
  before(async () => {
    server = await startTestServer();
    owner = (await setUp(server.url)).owner;
  });
  after(() => server.close());

  const search = async (kbId: string, query: string) => (await owner.post(`/api/v1/kbs/${kbId}/search`, { query, mode: 'keyword' })).json.hits as unknown[];

  it('a deleted document leaves no trace of its text or name under DATA_DIR', async () => {
    const marker = `erasure${randomBytes(6).toString('hex')}mark`;
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Incidents' })).json.id as string;
    const up = await owner.upload(kbId, [
      { name: `${marker}.txt`, bytes: markerDocument(marker) },
      { name: 'keep.txt', bytes: 'Fire doors stay closed.\n\nVisitors sign in at reception.' },
    ]);
    const documentId = (up.json.documents as Array<{ id: string; name: string }>).find((d) => d.name !== 'keep.txt')!.id;
    await owner.settle(kbId);
    assert.equal((await search(kbId, marker)).length, 1);
    assert.ok((await filesHolding(server.dataDir, marker)).length > 0, 'the marker is on disk while the document exists');

    assert.equal((await owner.delete(`/api/v1/kbs/${kbId}/documents/${documentId}`)).status, 204);
    assert.deepEqual(await erased(server.dataDir, marker), []);
    assert.equal((await search(kbId, marker)).length, 0);
    assert.equal((await search(kbId, 'visitors')).length, 1, 'the other document is untouched');
  });

  it('a deleted knowledge base leaves no trace of its documents under DATA_DIR', async () => {
    const marker = `erasure${randomBytes(6).toString('hex')}mark`;
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Temporary' })).json.id as string;
    await owner.upload(kbId, [{ name: `${marker}.txt`, bytes: markerDocument(marker) }]);
    await owner.settle(kbId);
    assert.ok((await filesHolding(server.dataDir, marker)).length > 0);
    assert.equal((await owner.delete(`/api/v1/kbs/${kbId}`)).status, 204);
    assert.deepEqual(await erased(server.dataDir, marker), []);
  });
});
