import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Client, setUp, signedIn } from '../helpers/client.ts';
import { REMOVED_NOTE } from '../../server/conversations/redact.ts';

// What users delete leaves the disk: a unique marker written into a document (its text and its
// name) is found under DATA_DIR while the document exists, and nowhere — store, search index,
// free pages, write-ahead log, original files — within a minute of deleting it. The same for the
// answers that quoted a deleted document, for a deleted user's questions, name and email, and for
// everything of a deleted organisation.

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

const newMarker = () => `erasure${randomBytes(6).toString('hex')}mark`;
const PW = 'a sufficiently long password';

/** Asks the knowledge base a question; the answer (JSON). */
async function ask(client: Client, kbId: string, question: string) {
  const r = await client.post(`/api/v1/kbs/${kbId}/ask`, { question });
  assert.equal(r.status, 200, r.text);
  return r.json as { conversationId: string; answer: string; citations: Array<{ documentId: string; quote: string }> };
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
  it('answers that quoted a deleted document show the citation as removed, in everyone’s conversations, and its text leaves the disk', async () => {
    const marker = newMarker();
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Night shift' })).json.id as string;
    const viewerEmail = `viewer-${marker.slice(-10)}@riverside.test`;
    assert.equal((await owner.post('/api/v1/users', { name: 'Vera Viewer', email: viewerEmail, role: 'viewer', password: PW })).status, 201);
    const viewer = await signedIn(server.url, viewerEmail, PW);
    const up = await owner.upload(kbId, [
      { name: 'incidents.txt', bytes: markerDocument(marker) },
      { name: 'doors.txt', bytes: 'Fire doors stay closed on the night shift.\n\nVisitors sign in at reception.' },
    ]);
    const documentId = (up.json.documents as Array<{ id: string; name: string }>).find((d) => d.name === 'incidents.txt')!.id;
    await owner.settle(kbId);
    // The questions do not name the marker: only the answers carry it, quoted from the document.
    const answers = [await ask(owner, kbId, 'What procedure was followed on the night shift?'), await ask(viewer, kbId, 'Who gets an escalated finding?')];
    for (const a of answers) {
      assert.ok(a.answer.includes(marker), `the extractive answer quotes the document: ${a.answer}`);
      assert.ok(a.citations.some((c) => c.documentId === documentId && c.quote.includes(marker)));
    }

    assert.equal((await owner.delete(`/api/v1/kbs/${kbId}/documents/${documentId}`)).status, 204);
    for (const [a, client] of [[answers[0]!, owner], [answers[1]!, viewer]] as const) {
      const conversation = (await client.get(`/api/v1/conversations/${a.conversationId}`)).json;
      const answer = conversation.messages.find((m: { role: string }) => m.role === 'assistant');
      assert.ok(!answer.content.includes(marker), answer.content);
      assert.ok(answer.content.includes(REMOVED_NOTE), answer.content);
      const removed = answer.citations.filter((c: { documentId: string }) => c.documentId === documentId);
      assert.ok(removed.length > 0);
      for (const c of removed) assert.deepEqual({ removed: c.removed, quote: c.quote, documentName: c.documentName, page: c.page }, { removed: true, quote: null, documentName: null, page: null });
      for (const c of answer.citations.filter((c: { documentId: string }) => c.documentId !== documentId)) assert.equal(c.removed, false);
    }
    assert.deepEqual(await erased(server.dataDir, marker), []);
  });

  it('a deleted user’s questions, name and email leave the disk; the audit log keeps the entries as “deleted user <id>”, the usage counts and their API keys stay', async () => {
    const marker = newMarker();
    const email = `${marker}@riverside.test`;
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Policies' })).json.id as string;
    await owner.upload(kbId, [{ name: 'intake.txt', bytes: 'New patients complete the intake form at reception.' }]);
    await owner.settle(kbId);
    const created = await owner.post('/api/v1/users', { name: `Uma ${marker}`, email, role: 'admin', password: PW });
    assert.equal(created.status, 201, created.text);
    const userId = created.json.user.id as string;
    assert.equal((await new Client(server.url).post('/api/v1/auth/login', { email, password: 'not the password at all' })).status, 401);
    const uma = await signedIn(server.url, email, PW);
    const key = await uma.post('/api/v1/api-keys', { name: 'Intake kiosk', role: 'viewer' });
    assert.equal(key.status, 201, key.text);
    await ask(uma, kbId, `Does the ${marker} form go to reception?`);
    // Feedback on someone else's answer is theirs too.
    const owners = await ask(owner, kbId, 'Where is the intake form completed?');
    const answerId = ((await owner.get(`/api/v1/conversations/${owners.conversationId}`)).json.messages as Array<{ id: string; role: string }>).find((m) => m.role === 'assistant')!.id;
    const rated = await uma.post(`/api/v1/conversations/${owners.conversationId}/messages/${answerId}/feedback`, { rating: 'down', comment: `Ask ${marker} instead` });
    assert.equal(rated.status, 200, rated.text);
    assert.ok((await filesHolding(server.dataDir, marker)).length > 0, 'the marker is on disk while the user exists');

    const deleted = await owner.delete(`/api/v1/users/${userId}`);
    assert.equal(deleted.status, 204, deleted.text);
    assert.equal((await uma.get('/api/v1/me')).status, 401);
    const audit = (await owner.get('/api/v1/audit?limit=500')).json.entries as Array<Record<string, any>>;
    assert.ok(!JSON.stringify(audit).includes(marker), 'no audit entry names the user');
    const label = `deleted user ${userId}`;
    const deletion = audit.find((e) => e['action'] === 'user.delete' && e['target']?.id === userId)!;
    assert.equal(deletion['target'].name, label);
    assert.equal(deletion['details'].conversations, 1);
    assert.equal(deletion['details'].feedbackRemoved, 1);
    const kept = (await owner.get(`/api/v1/conversations/${owners.conversationId}`)).json.messages as Array<{ role: string; feedback: unknown }>;
    assert.equal(kept.find((m) => m.role === 'assistant')!.feedback, null, 'the owner keeps the answer, not the deleted user\'s rating of it');
    assert.equal(deletion['details'].apiKeysKept, 1);
    assert.ok(audit.some((e) => e['actor']?.id === userId && e['actor'].name === label), 'what they did is still on record');
    const keys = (await owner.get('/api/v1/api-keys')).json.apiKeys as Array<{ name: string; createdBy: { id: string; name: string } | null }>;
    assert.deepEqual(keys.find((k) => k.name === 'Intake kiosk')?.createdBy, { id: userId, name: label });
    const usage = (await owner.get('/api/v1/usage?groupBy=user')).json.rows as Array<{ key: string; messages: number }>;
    assert.ok(!usage.some((r) => r.key === userId), 'usage no longer names the user');
    assert.ok(usage.some((r) => r.key === 'unknown' && r.messages >= 1), 'their usage still counts');
    assert.deepEqual(await erased(server.dataDir, marker), []);
  });
});

describe('deleting an organisation', () => {
  it('removes everything of it — proven by a marker grep over DATA_DIR once the server stops — keeps a file another organisation shares, and leaves one entry in the instance owner’s audit log', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lectern-org-erasure-'));
    const server = await startTestServer({ dataDir });
    const marker = newMarker();
    try {
      const { owner } = await setUp(server.url);
      const shared = 'Both organisations keep this page: the evacuation route passes the car park.';
      const ownKb = (await owner.post('/api/v1/kbs', { name: 'Riverside' })).json.id as string;
      const ownDoc = (await owner.upload(ownKb, [{ name: 'evacuation.txt', bytes: shared }])).json.documents[0].id as string;

      const made = await owner.post('/api/v1/organisations', { name: 'Harbour Practice', admin: { name: 'Hal Admin', email: 'hal@harbour.test', password: PW } });
      assert.equal(made.status, 201, made.text);
      const orgId = made.json.organisation.id as string;
      const hal = await signedIn(server.url, 'hal@harbour.test', PW);
      const kbId = (await hal.post('/api/v1/kbs', { name: 'Harbour incidents' })).json.id as string;
      await hal.upload(kbId, [
        { name: 'incidents.txt', bytes: markerDocument(marker) },
        { name: 'evacuation.txt', bytes: shared },
      ]);
      await hal.settle(kbId);
      await owner.settle(ownKb);
      const key = (await hal.post('/api/v1/api-keys', { name: 'Harbour kiosk', role: 'viewer' })).json.key as string;
      const quoted = await ask(hal, kbId, 'What procedure was followed on the night shift?');
      assert.ok(quoted.answer.includes(marker) && quoted.citations.some((c) => c.quote.includes(marker)), 'an answer quotes the marker');
      await ask(hal, kbId, `Who handles a ${marker} finding?`);
      const events = await fetch(`${server.url}/api/v1/kbs/${kbId}/events`, { headers: { cookie: hal.cookie! } });
      assert.equal(events.status, 200);
      assert.ok((await filesHolding(dataDir, marker)).length > 0, 'the marker is on disk while the organisation exists');

      // Only the instance owner, never their own organisation, and only with its name.
      assert.equal((await hal.request('DELETE', `/api/v1/organisations/${orgId}`, { confirm: 'Harbour Practice' })).status, 403);
      assert.equal((await owner.request('DELETE', `/api/v1/organisations/${orgId}`, { confirm: 'Harbour' })).status, 400);
      const ownOrg = (await owner.get('/api/v1/me')).json.organisation.id as string;
      assert.equal((await owner.request('DELETE', `/api/v1/organisations/${ownOrg}`, { confirm: 'Riverside Clinic' })).status, 409);

      const started = await owner.request('DELETE', `/api/v1/organisations/${orgId}`, { confirm: 'Harbour Practice' });
      assert.equal(started.status, 202, started.text);
      assert.ok(started.json.organisation.deleting, 'it is marked while the deletion runs');
      // Its people's open streams end at once (the organisation's revocation notice).
      assert.match(await events.text(), /event: revoked/);
      const deadline = Date.now() + 60_000;
      while ((await owner.get('/api/v1/organisations')).json.organisations.some((o: { id: string }) => o.id === orgId)) {
        assert.ok(Date.now() < deadline, 'the deletion finished within a minute');
        await sleep(100);
      }
      assert.equal((await hal.get('/api/v1/me')).status, 401);
      assert.equal((await new Client(server.url).request('GET', '/api/v1/kbs', undefined, { authorization: `Bearer ${key}` })).status, 401);
      const entry = ((await owner.get('/api/v1/audit?limit=500')).json.entries as Array<Record<string, any>>).find((e) => e['action'] === 'organisation.delete');
      assert.equal(entry?.['target'].id, orgId);
      assert.equal(entry?.['details'].documents, 2);
      const file = await owner.get(`/api/v1/kbs/${ownKb}/documents/${ownDoc}/file`);
      assert.equal(file.status, 200, 'the original the other organisation shared is still there');
      assert.equal(file.text, shared);
    } finally {
      await server.close();
    }
    // The server stopped: the write-ahead log is checkpointed into the store and removed.
    try {
      assert.deepEqual(await filesHolding(dataDir, marker), []);
      assert.deepEqual(await filesHolding(dataDir, 'Harbour Practice'), ['store/lectern.sqlite'], 'only the instance owner’s audit entry names it');
      assert.deepEqual(await filesHolding(dataDir, 'hal@harbour.test'), []);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
