import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setUp } from '../helpers/client.ts';
import { ferretdbMissing, startFerretDB, type FerretDB } from '../helpers/ferretdb.ts';
import { startServerProcess, type ServerProcess } from '../helpers/process.ts';
import { redisMissing, startRedis, type RedisServer } from '../helpers/redis.ts';

// Issue #11: two processes, each with its own DATA_DIR, on one MongoDB-protocol store (FerretDB)
// and one Redis job queue. An upload taken in by one process is parsed by whichever process takes
// its job, and its original is downloaded from either: the originals live in GridFS, not in the
// DATA_DIR of the process that took the upload.

describe('two processes on one MongoDB: uploaded originals', { skip: redisMissing() || ferretdbMissing() }, () => {
  let redis: RedisServer;
  let store: FerretDB;
  let a: ServerProcess;
  let b: ServerProcess;
  const dirs: string[] = [];

  before(async () => {
    [redis, store] = await Promise.all([startRedis(), startFerretDB()]);
    const start = async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'lectern-shared-blobs-'));
      dirs.push(dir);
      return startServerProcess({ DATA_DIR: dir, MONGODB_URL: store.url, REDIS_URL: redis.url, OCR_ENABLED: 'false', TTS_MODEL: 'off', STT_MODEL: 'off' });
    };
    // One after the other: the first creates and migrates the store.
    a = await start();
    b = await start();
  });
  after(async () => {
    for (const server of [a, b]) {
      server?.child.kill('SIGTERM');
      await server?.exited;
    }
    await Promise.all([redis?.stop(), store?.stop()]);
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('are parsed by either process and downloaded from the other, and kept in neither DATA_DIR', async () => {
    const { owner } = await setUp(a.url);
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Ward handbook' })).json.id as string;
    const files = Array.from({ length: 8 }, (_, i) => ({ name: `note-${i}.txt`, bytes: `Handover note ${i}: the night shift checks the drug fridge at ${i} o'clock.\n`.repeat(50), type: 'text/plain' }));
    assert.equal((await owner.upload(kbId, files)).status, 202);

    const docs = await owner.settle(kbId);
    assert.deepEqual(docs.map((d) => d['status']), files.map(() => 'ready'), JSON.stringify(docs.filter((d) => d['status'] !== 'ready')));
    // B was idle and waiting on the queue while A worked through the upload, so it took jobs too.
    assert.ok(b.lines.some((line) => line['msg'] === 'document ready'), 'the other process parsed some of the uploads');

    const onB = owner.withBase(b.url);
    for (const doc of docs) {
      const file = await onB.get(`/api/v1/kbs/${kbId}/documents/${doc['id']}/file`);
      assert.equal(file.status, 200);
      assert.equal(file.text, files.find((f) => f.name === doc['name'])!.bytes);
    }
    for (const dir of dirs) assert.deepEqual(await readdir(path.join(dir, 'files')).catch(() => []), [], `no originals under ${dir}`);
  });
});
