import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, OWNER, setUp } from './helpers/client.ts';
import { runServerToExit, startServerProcess } from './helpers/process.ts';

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
    assert.deepEqual(steps, ['http', 'session purge', 'store']);
  });

  it('lists every configuration problem at once and exits 78', async () => {
    const secret = path.join(dataDir, 'missing-secret');
    const { code, stderr } = await runServerToExit({ PORT: 'eighty', LOG_LEVEL: 'loud', PUBLIC_URL: 'ftp://x', SETUP_TOKEN_FILE: secret });
    assert.equal(code, 78);
    for (const name of ['PORT', 'LOG_LEVEL', 'PUBLIC_URL', 'SETUP_TOKEN_FILE']) assert.match(stderr, new RegExp(`- ${name}`), stderr);
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
});
