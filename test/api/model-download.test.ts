import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { setUp, signedIn, type Client } from '../helpers/client.ts';
import { startModelHub, type ModelHub } from '../helpers/model-hub.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The System page's download button (#12, item 7): the instance owner asks the server to fetch a
// model of the manifest; the server downloads it (sha256-checked) into MODELS_DIR and reports the
// bytes in place while it runs, so the page can draw a progress bar.

const PW = 'a sufficiently long password';
let dir: string;
let hub: ModelHub;
let server: TestServer;
let owner: Client;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lectern-hub-'));
  hub = await startModelHub(dir, [
    { id: 'tiny-llm', name: 'Tiny LLM', role: 'llm', bytes: 400_000 },
    { id: 'tampered', name: 'Tampered embeddings', role: 'embeddings', bytes: 50_000, wrongHash: true },
  ]);
  server = await startTestServer({ env: { MODELS_MANIFEST: hub.manifestPath, TTS_MODEL: 'off', STT_MODEL: 'off' } });
  ({ owner } = await setUp(server.url));
});
after(async () => {
  await server.close();
  await hub.close();
  await rm(dir, { recursive: true, force: true });
});

async function follow(id: string): Promise<{ states: string[]; bytes: number[]; last: Record<string, unknown> }> {
  const states: string[] = [];
  const bytes: number[] = [];
  for (let i = 0; i < 200; i++) {
    const list = (await owner.get('/api/v1/system/models/downloads')).json.downloads as Array<Record<string, unknown>>;
    const d = list.find((x) => x.model === id);
    assert.ok(d, `${id} is listed`);
    states.push(d.state as string);
    bytes.push(d.bytes as number);
    if (d.state === 'done' || d.state === 'failed') return { states, bytes, last: d };
    await sleep(50);
  }
  throw new Error(`${id} did not finish`);
}

test('the owner downloads a missing model and sees its progress; then it is installed', async () => {
  const before_ = (await owner.get('/api/v1/system/models')).json;
  const llm = before_.roles.find((r: { role: string }) => r.role === 'llm');
  assert.deepEqual(llm.missing.map((m: { id: string; sizeBytes: number }) => [m.id, m.sizeBytes]), [['tiny-llm', 400_000]]);

  const started = await owner.post('/api/v1/system/models/tiny-llm/download', {});
  assert.equal(started.status, 202, started.text);
  assert.equal(started.json.totalBytes, 400_000);
  const again = await owner.post('/api/v1/system/models/tiny-llm/download', {});
  assert.equal(again.status, 202);
  assert.match(again.json.state, /queued|running/, 'a second click joins the download under way');

  const { states, bytes, last } = await follow('tiny-llm');
  assert.equal(last.state, 'done', JSON.stringify(last));
  assert.equal(last.bytes, 400_000);
  assert.ok(states.includes('running'));
  assert.ok(bytes.some((n) => n > 0 && n < 400_000), `progress was seen part-way: ${bytes.join(',')}`);
  assert.deepEqual(bytes, [...bytes].sort((a, b) => a - b), 'bytes only grow');
  const onDisk = await readFile(path.join(server.dataDir, 'models', 'tiny-llm', 'model.bin'));
  assert.ok(onDisk.equals(hub.files.get('tiny-llm/model.bin')!));

  const after_ = (await owner.get('/api/v1/system/models')).json;
  const llmAfter = after_.roles.find((r: { role: string }) => r.role === 'llm');
  assert.deepEqual(llmAfter.installed.map((m: { id: string }) => m.id), ['tiny-llm']);
  assert.deepEqual(llmAfter.missing, []);
  assert.ok(server.logs.some((l) => l.msg === 'model downloaded' && l.model === 'tiny-llm'));
});

test('a file whose sha256 does not match is refused and not installed', async () => {
  assert.equal((await owner.post('/api/v1/system/models/tampered/download', {})).status, 202);
  const { last } = await follow('tampered');
  assert.equal(last.state, 'failed');
  assert.match(String(last.error), /model\.bin: rejected: sha256 [0-9a-f]{64}, expected [0-9a-f]{64}/);
  const models = (await owner.get('/api/v1/system/models')).json;
  assert.deepEqual(models.roles.find((r: { role: string }) => r.role === 'embeddings').missing.map((m: { id: string }) => m.id), ['tampered']);
});

test('unknown models are 404; only the instance owner may download', async () => {
  const unknown = await owner.post('/api/v1/system/models/no-such-model/download', {});
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.error.code, 'not_found');
  assert.equal((await owner.post('/api/v1/system/models/bad$id/download', {})).status, 404, 'a malformed id is an unknown one');

  assert.equal((await owner.post('/api/v1/users', { email: 'adam@riverside.test', name: 'Adam Admin', role: 'admin', password: PW })).status, 201);
  const admin = await signedIn(server.url, 'adam@riverside.test', PW);
  assert.equal((await admin.post('/api/v1/system/models/tiny-llm/download', {})).status, 403);
  assert.equal((await admin.get('/api/v1/system/models/downloads')).status, 403);
});
