import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, OWNER, setUp } from './helpers/client.ts';
import { runServerToExit, startServerProcess } from './helpers/process.ts';

const SHARED = path.resolve(import.meta.dirname, '../../shared/docs');

describe('the server process', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'lectern-proc-'));
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  it('keeps an acknowledged write through kill -9', async () => {
    const first = await startServerProcess({ DATA_DIR: dataDir });
    const { owner } = await setUp(first.url);
    const created = await owner.post('/api/v1/users', { email: 'durable@riverside.test', name: 'Dee', role: 'viewer', password: 'survives a kill -9 signal' });
    assert.equal(created.status, 201);
    first.child.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');

    const second = await startServerProcess({ DATA_DIR: dataDir });
    try {
      const login = await new Client(second.url).post('/api/v1/auth/login', { email: 'durable@riverside.test', password: 'survives a kill -9 signal' });
      assert.equal(login.status, 200);
      assert.equal(login.json.user.id, created.json.user.id);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });

  it('shuts down gracefully on SIGTERM: finishes in-flight requests, closes the store, exits 0', async () => {
    const server = await startServerProcess({ DATA_DIR: dataDir });
    // A login costs an Argon2 verify, so it is still in flight when the signal lands.
    const inflight = new Client(server.url).post('/api/v1/auth/login', { email: OWNER.email, password: OWNER.password });
    await new Promise((r) => setTimeout(r, 5));
    server.child.kill('SIGTERM');
    const reply = await inflight;
    assert.equal(reply.status, 200);
    const { code } = await server.exited;
    assert.equal(code, 0);
    const steps = server.lines.filter((l) => l['msg'] === 'stopped').map((l) => l['step']);
    assert.deepEqual(steps, ['http', 'organisation deletions', 'retention purge', 'session purge', 'backups', 'queue', 'parser', 'voice', 'llm', 'embeddings', 'search', 'store', 'tracing']);
  });

  it('lists every configuration problem at once and exits 78', async () => {
    const secret = path.join(dataDir, 'missing-secret');
    const { code, stderr } = await runServerToExit({ PORT: 'eighty', LOG_LEVEL: 'loud', PUBLIC_URL: 'ftp://x', SETUP_TOKEN_FILE: secret });
    assert.equal(code, 78);
    for (const name of ['PORT', 'LOG_LEVEL', 'PUBLIC_URL', 'SETUP_TOKEN_FILE']) assert.match(stderr, new RegExp(`- ${name}`), stderr);
  });

  it('exits 78 with one line naming DATA_DIR when it cannot hold data', async () => {
    const blocker = path.join(dataDir, 'a-file');
    await writeFile(blocker, '');
    const { code, stderr } = await runServerToExit({ DATA_DIR: path.join(blocker, 'data') });
    assert.equal(code, 78);
    assert.deepEqual(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, /^lectern: DATA_DIR .*a-file\/data is not usable: ENOTDIR/);
  });

  it('creates every file and folder under DATA_DIR for its own user alone', async () => {
    const fresh = await mkdtemp(path.join(os.tmpdir(), 'lectern-proc-'));
    try {
      const server = await startServerProcess({ DATA_DIR: fresh, OCR_ENABLED: 'false' });
      const { owner } = await setUp(server.url);
      const kbId = (await owner.post('/api/v1/kbs', { name: 'Modes' })).json.id as string;
      await owner.upload(kbId, [{ name: 'modes.txt', bytes: 'Only the service account reads this.' }]);
      await owner.settle(kbId);
      server.child.kill('SIGTERM');
      await server.exited;
      const open: string[] = [];
      for (const entry of readdirSync(fresh, { recursive: true, withFileTypes: true })) {
        const file = path.join(entry.parentPath, entry.name);
        if ((statSync(file).mode & 0o077) !== 0) open.push(`${path.relative(fresh, file)} ${(statSync(file).mode & 0o777).toString(8)}`);
      }
      assert.equal(statSync(fresh).mode & 0o777, 0o700);
      assert.ok(existsSync(path.join(fresh, 'store', 'lectern.sqlite')));
      assert.deepEqual(open, []);
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });

  it('reads secrets from *_FILE', async () => {
    const secretFile = path.join(dataDir, 'setup-token');
    await writeFile(secretFile, 'file-secret-0123456789abcdef\n');
    const fresh = await mkdtemp(path.join(os.tmpdir(), 'lectern-proc-'));
    const server = await startServerProcess({ DATA_DIR: fresh, SETUP_TOKEN_FILE: secretFile });
    try {
      const c = new Client(server.url);
      assert.equal((await c.post('/api/v1/setup', OWNER)).status, 403);
      assert.equal((await c.post('/api/v1/setup', { ...OWNER, setupToken: 'file-secret-0123456789abcdef' })).status, 201);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      await rm(fresh, { recursive: true, force: true });
    }
  });

  it('resumes unfinished documents after kill -9 during ingestion', { skip: existsSync(SHARED) ? false : 'shared test material absent' }, async () => {
    const fresh = await mkdtemp(path.join(os.tmpdir(), 'lectern-proc-'));
    try {
      const first = await startServerProcess({ DATA_DIR: fresh, OCR_ENABLED: 'false' });
      const { owner } = await setUp(first.url);
      const kbId = (await owner.post('/api/v1/kbs', { name: 'Crash test' })).json.id as string;
      const names = ['pdf/cancer-council-understanding-breast-cancer-76p.pdf', 'pdf/ibm-redpaper-redp5110-db2-rcac-sampled-18p.pdf', 'pdf/gao-23-106826-cybersecurity-2p.pdf', 'markdown/github-community-guidelines.md'];
      const up = await owner.upload(kbId, names.map((n) => ({ name: path.basename(n), bytes: readFileSync(path.join(SHARED, n)) })));
      assert.equal(up.status, 202);
      // Kill the server while the first document is mid-pipeline.
      for (let i = 0; i < 600; i++) {
        const docs = (await owner.get(`/api/v1/kbs/${kbId}/documents`)).json.documents as Array<{ status: string }>;
        if (docs.some((d) => d.status === 'processing')) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      first.child.kill('SIGKILL');
      await first.exited;

      const second = await startServerProcess({ DATA_DIR: fresh, OCR_ENABLED: 'false' });
      try {
        const again = new Client(second.url);
        again.cookie = owner.cookie;
        const before = (await again.get(`/api/v1/kbs/${kbId}/documents`)).json.documents as Array<{ status: string }>;
        assert.ok(before.some((d) => d.status !== 'ready'), 'some documents were unfinished at the kill');
        const docs = await again.settle(kbId, 180_000);
        assert.deepEqual(docs.map((d) => d['status']), ['ready', 'ready', 'ready', 'ready']);
        assert.ok(second.lines.some((l) => l['msg'] === 'taking over a job whose process stopped renewing its lease'), 'the interrupted job was resumed once its lease ran out');
        const hit = (await again.post(`/api/v1/kbs/${kbId}/search`, { query: 'shoulder stiffness gentle exercises', mode: 'keyword' })).json.hits[0];
        assert.equal(hit.documentName, 'cancer-council-understanding-breast-cancer-76p.pdf');
      } finally {
        second.child.kill('SIGTERM');
        await second.exited;
      }
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });
});
