import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { admin } from '../helpers/admin.ts';
import { type Client, setUp, signedIn } from '../helpers/client.ts';
import { ferretdbMissing, startFerretDB, testDatabase, type FerretDB } from '../helpers/ferretdb.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The full stack's backup (MONGODB_URL), against FerretDB: a logical dump of every collection and
// the GridFS originals through the driver, restored into an empty database, where a new server
// (with an empty DATA_DIR of its own) finds every login, document, original and conversation.

const PW = 'a sufficiently long password';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('backup and restore on MongoDB (FerretDB)', { skip: ferretdbMissing() }, () => {
  let ferret: FerretDB;
  let root: string;
  let server: TestServer;
  let owner: Client;
  let kbId: string;
  let env: Record<string, string>;

  async function snapshot(base: string) {
    const ada = await signedIn(base, 'ada@riverside.test', 'correct horse battery staple');
    const vic = await signedIn(base, 'vic@riverside.test', PW);
    const documents = [];
    for (const d of (await ada.get(`/api/v1/kbs/${kbId}/documents`)).json.documents as Array<Record<string, any>>) {
      const file = await fetch(`${base}/api/v1/kbs/${kbId}/documents/${d['id']}/file`, { headers: { cookie: ada.cookie! } });
      assert.equal(file.status, 200);
      documents.push({ id: d['id'], name: d['name'], status: d['status'], original: sha256(new Uint8Array(await file.arrayBuffer())) });
    }
    const conversations = [];
    for (const c of (await vic.get('/api/v1/conversations')).json.conversations as Array<{ id: string }>) conversations.push((await vic.get(`/api/v1/conversations/${c.id}`)).json);
    return { documents, conversations };
  }

  before(async () => {
    ferret = await startFerretDB();
    root = await mkdtemp(path.join(os.tmpdir(), 'lectern-backup-mongo-'));
    await writeFile(path.join(root, 'backup.key'), randomBytes(32).toString('hex'));
    env = { DATA_DIR: path.join(root, 'data'), MODELS_DIR: path.join(root, 'models'), MONGODB_URL: ferret.url, BACKUP_KEY_FILE: path.join(root, 'backup.key'), BACKUP_SCHEDULE: 'off', TTS_MODEL: 'off' };
    server = await startTestServer({ dataDir: env['DATA_DIR'], env });
    owner = (await setUp(server.url)).owner;
    assert.equal((await owner.post('/api/v1/users', { name: 'Vic Viewer', email: 'vic@riverside.test', role: 'viewer', password: PW })).status, 201);
    kbId = (await owner.post('/api/v1/kbs', { name: 'Operations' })).json.id;
    await owner.upload(kbId, [
      { name: 'lathe.md', bytes: '# Workshop safety\n\nAlways remove the chuck key before starting the lathe.' },
      { name: 'leave.md', bytes: '# Leave\n\nAnnual leave is booked through the rota office two weeks ahead.' },
    ]);
    await owner.settle(kbId);
    await (await signedIn(server.url, 'vic@riverside.test', PW)).post(`/api/v1/kbs/${kbId}/ask`, { question: 'How is leave booked?' });
  });
  after(async () => {
    await server?.close();
    await ferret?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('dumps every collection and the GridFS originals, and restores them into an empty database a server finds everything in', async () => {
    const before_ = await snapshot(server.url);
    assert.equal(before_.documents.length, 2);
    assert.equal(before_.conversations.length, 1);

    const backup = await admin(['backup'], env);
    assert.equal(backup.code, 0, backup.stderr);
    const folder = backup.stdout.trim().split('\n').at(-1)!;
    const manifest = JSON.parse(await readFile(path.join(folder, 'manifest.json'), 'utf8'));
    assert.equal(manifest.store, 'mongodb');
    assert.equal(manifest.counts['users'], 2);
    assert.equal(manifest.counts['files.files'], 2, 'both originals, from GridFS');
    assert.ok(manifest.files.some((f: { path: string }) => f.path === 'mongodb/indexes.json'));

    const verified = await admin(['verify-backup', folder], env);
    assert.equal(verified.code, 0, verified.stderr);

    const busy = await admin(['restore', folder], env);
    assert.equal(busy.code, 1, 'the live database is not empty');
    assert.match(busy.stderr, /is not empty/);
    await server.close();

    const restoredEnv = { ...env, MONGODB_URL: ferret.urlFor(testDatabase()), DATA_DIR: path.join(root, 'data-restored') };
    const restored = await admin(['restore', folder], restoredEnv);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /all matching the manifest/);

    server = await startTestServer({ dataDir: restoredEnv.DATA_DIR, env: restoredEnv });
    assert.deepEqual(await snapshot(server.url), before_, 'every login, document, original and conversation as before');
    // The migrations created the indexes once; the dump brought them back (unique ones included).
    const client = await MongoClient.connect(restoredEnv.MONGODB_URL);
    try {
      const indexes = await client.db().collection('users').indexes();
      assert.ok(indexes.some((i) => i.unique === true && JSON.stringify(i.key) === JSON.stringify({ organisationId: 1, email: 1 })), JSON.stringify(indexes));
    } finally {
      await client.close();
    }
  });
});
