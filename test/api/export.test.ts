import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ZipReader } from '../../server/ingest/zip.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { type Client, setUp, signedIn } from '../helpers/client.ts';

// An organisation admin downloads everything of the organisation as one ZIP, streamed; a person
// downloads their own conversations. Both are audited; neither carries a secret.

const PW = 'a sufficiently long password';
const SAFETY = '# Workshop safety\n\nAlways remove the chuck key before starting the lathe.';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const lines = (bytes: Uint8Array | undefined) =>
  new TextDecoder()
    .decode(bytes)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);

describe('export', () => {
  let server: TestServer;
  let owner: Client;
  let viewer: Client;
  let kbId: string;
  let documentId: string;
  before(async () => {
    server = await startTestServer();
    owner = (await setUp(server.url)).owner;
    assert.equal((await owner.post('/api/v1/users', { name: 'Vic Viewer', email: 'vic@riverside.test', role: 'viewer', password: PW })).status, 201);
    viewer = await signedIn(server.url, 'vic@riverside.test', PW);
    assert.equal((await owner.post('/api/v1/api-keys', { name: 'Backup job', role: 'viewer' })).status, 201);
    kbId = (await owner.post('/api/v1/kbs', { name: 'Operations' })).json.id;
    documentId = (await owner.upload(kbId, [{ name: 'safety.md', bytes: SAFETY }])).json.documents[0].id;
    await owner.settle(kbId);
    await owner.post(`/api/v1/kbs/${kbId}/ask`, { question: 'What must be removed before starting the lathe?' });
    await viewer.post(`/api/v1/kbs/${kbId}/ask`, { question: 'Is there a chuck key?' });
  });
  after(() => server.close());

  it('streams the whole organisation as a ZIP whose manifest counts and hashes every entry, with no secret in it', async () => {
    const res = await fetch(`${server.url}/api/v1/organisation/export`, { headers: { cookie: owner.cookie! } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/zip');
    assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename="lectern-export-\d{4}-\d{2}-\d{2}\.zip"/);
    assert.equal(res.headers.get('content-length'), null, 'streamed, not built in memory first');
    const zip = new ZipReader(new Uint8Array(await res.arrayBuffer()), 100 * 1024 * 1024);

    const manifest = JSON.parse(new TextDecoder().decode(zip.read('manifest.json'))) as Record<string, any>;
    assert.equal(manifest['format'], 'lectern-organisation-export');
    assert.deepEqual(
      [...zip.entries.keys()].sort(),
      [...manifest['entries'].map((e: { name: string }) => e.name), 'manifest.json'].sort(),
      'the manifest lists every other entry',
    );
    for (const entry of manifest['entries'] as Array<{ name: string; bytes: number; sha256: string }>) {
      const bytes = zip.read(entry.name)!;
      assert.equal(bytes.length, entry.bytes, entry.name);
      assert.equal(sha256(bytes), entry.sha256, entry.name);
    }
    assert.deepEqual(manifest['counts'], { users: 2, apiKeys: 1, knowledgeBases: 1, documents: 1, originals: 1, conversations: 2, auditEntries: manifest['counts'].auditEntries, usageRecords: 2 });

    const [doc] = lines(zip.read('documents.jsonl'));
    assert.equal(doc!['id'], documentId);
    assert.equal(new TextDecoder().decode(zip.read(doc!['original'])), SAFETY, 'the original, as uploaded');
    const conversations = lines(zip.read('conversations.jsonl'));
    assert.ok(conversations.every((c) => c['messages'].length === 2 && c['messages'][1].citations.length > 0));
    const users = zip.read('users.jsonl')!;
    const keys = zip.read('api-keys.jsonl')!;
    for (const secret of ['passwordHash', '$argon2', 'totpSecret', 'totpPendingSecret', 'totpRecovery', 'secretHash']) {
      assert.ok(!new TextDecoder().decode(users).includes(secret), `users.jsonl holds no ${secret}`);
      assert.ok(!new TextDecoder().decode(keys).includes(secret), `api-keys.jsonl holds no ${secret}`);
    }
    assert.deepEqual(lines(users).map((u) => u['email']).sort(), ['ada@riverside.test', 'vic@riverside.test']);
    const audit = lines(zip.read('audit.jsonl'));
    assert.ok(audit.some((e) => e['action'] === 'export' && e['details'].scope === 'organisation'), 'the export itself is audited');
    assert.deepEqual(audit.map((e) => e['at']), audit.map((e) => e['at']).sort(), 'oldest first');
  });

  it('is for admins; a person downloads only their own conversations', async () => {
    assert.equal((await viewer.get('/api/v1/organisation/export')).status, 403);
    const mine = await viewer.get('/api/v1/me/conversations/export');
    assert.equal(mine.status, 200);
    assert.match(mine.headers.get('content-type') ?? '', /application\/x-ndjson/);
    const conversations = lines(new TextEncoder().encode(mine.text));
    assert.equal(conversations.length, 1);
    assert.equal(conversations[0]!['title'], 'Is there a chuck key?');
    assert.equal(conversations[0]!['messages'][0].content, 'Is there a chuck key?');
    // An admin's own export is theirs too, not the organisation's.
    const owners = lines(new TextEncoder().encode((await owner.get('/api/v1/me/conversations/export')).text));
    assert.deepEqual(owners.map((c) => c['title']), ['What must be removed before starting the lathe?']);
    const audit = (await owner.get('/api/v1/audit?limit=500')).json.entries as Array<Record<string, any>>;
    assert.ok(audit.some((e) => e['action'] === 'export' && e['details'].scope === 'own conversations' && e['actor'].name === 'vic@riverside.test'));
  });
});
