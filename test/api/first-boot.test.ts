import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { admin } from '../helpers/admin.ts';
import { Client, OWNER, setUp } from '../helpers/client.ts';
import { runServerToExit, startServerProcess, type ServerProcess } from '../helpers/process.ts';

// Issue #12, safe first boot: a server reachable by others is not claimable by whoever arrives
// first, one DATA_DIR has one server, and `.env` configures it. Real processes throughout.

const LIGHT = { OCR_ENABLED: 'false', TTS_MODEL: 'off', STT_MODEL: 'off' };

async function stop(server: ServerProcess): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGTERM');
  await server.exited;
}

/** Every file under `dir`, read as bytes, joined: to look for a secret that must not be there. */
function everything(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(path.join(e.parentPath, e.name)).toString('latin1'))
    .join('\n');
}

describe('safe first boot', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'lectern-boot-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('on 0.0.0.0 without a configured token, setup needs the one-time token the log printed, which is gone once setup is done', async () => {
    const dataDir = path.join(root, 'reachable');
    const server = await startServerProcess({ DATA_DIR: dataDir, HOST: '0.0.0.0', ...LIGHT });
    let token: string;
    try {
      const printed = server.lines.filter((l) => String(l['msg']).startsWith('setup token '));
      assert.equal(printed.length, 1, 'one line carries the token');
      assert.equal(printed[0]!['level'], 'warn');
      token = /^setup token (\S+):/.exec(String(printed[0]!['msg']))![1]!;
      assert.match(String(printed[0]!['msg']), /setup page/);

      const c = new Client(server.url);
      assert.deepEqual((await c.get('/api/v1/setup')).json, { needed: true, tokenRequired: true, tokenSource: 'log' });
      const without = await c.post('/api/v1/setup', OWNER);
      assert.equal(without.status, 403);
      assert.equal(without.json.error.code, 'invalid_setup_token');
      assert.equal((await c.post('/api/v1/setup', { ...OWNER, setupToken: `${token}x` })).status, 403);
      assert.ok(!everything(dataDir).includes(token), 'the token is not stored in plaintext');
      assert.equal((await c.post('/api/v1/setup', { ...OWNER, setupToken: token })).status, 201);
      assert.deepEqual((await c.get('/api/v1/setup')).json, { needed: false, tokenRequired: true, tokenSource: 'log' });
      assert.equal((await c.post('/api/v1/setup', { ...OWNER, setupToken: token })).status, 409);
    } finally {
      await stop(server);
    }
    const again = await startServerProcess({ DATA_DIR: dataDir, HOST: '0.0.0.0', ...LIGHT });
    try {
      assert.ok(!again.lines.some((l) => /setup token/.test(String(l['msg']))), 'no token once setup is done');
      assert.ok(!everything(dataDir).includes(token));
    } finally {
      await stop(again);
    }
  });

  it('on 127.0.0.1 without a configured token, setup stays open', async () => {
    const server = await startServerProcess({ DATA_DIR: path.join(root, 'loopback'), HOST: '127.0.0.1', ...LIGHT });
    try {
      assert.ok(!server.lines.some((l) => /setup token/.test(String(l['msg']))));
      const c = new Client(server.url);
      assert.deepEqual((await c.get('/api/v1/setup')).json, { needed: true, tokenRequired: false, tokenSource: null });
      assert.equal((await c.post('/api/v1/setup', OWNER)).status, 201);

      // The request log (issue #12, item 8): probes and the console's files at debug, API requests at info.
      for (const path of ['/healthz', '/readyz', '/', '/users']) await c.get(path);
      await c.get('/api/v1/me');
      const requests = async () => {
        for (let i = 0; i < 100 && !server.lines.some((l) => l['msg'] === 'request' && (l['req'] as { path: string }).path === '/api/v1/me'); i++) await new Promise((r) => setTimeout(r, 20));
        return server.lines.filter((l) => l['msg'] === 'request').map((l) => (l['req'] as { path: string }).path);
      };
      assert.deepEqual(await requests(), ['/api/v1/setup', '/api/v1/setup', '/api/v1/me']);
    } finally {
      await stop(server);
    }
  });

  it('refuses a second process on the same DATA_DIR with one line and exit 75, and starts again after kill -9', async () => {
    const dataDir = path.join(root, 'locked');
    const first = await startServerProcess({ DATA_DIR: dataDir, ...LIGHT });
    try {
      await setUp(first.url);
      const second = await runServerToExit({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', ...LIGHT });
      assert.equal(second.code, 75, second.stderr);
      assert.equal(second.stderr.trim().split('\n').length, 1, second.stderr);
      assert.equal(second.stderr.trim(), `lectern: DATA_DIR ${dataDir} is in use by another Lectern process (pid ${first.child.pid}); stop it first, or give this one another DATA_DIR`);
      // Operator commands safe while the server runs do not take the lock.
      const reset = await admin(['reset-password', OWNER.email], { DATA_DIR: dataDir, ...LIGHT });
      assert.equal(reset.code, 0, reset.stderr);
    } finally {
      first.child.kill('SIGKILL');
      await first.exited;
    }
    // Nothing to clean up after the kill: the lock went with the process, and no pid file stayed behind.
    assert.deepEqual(readdirSync(dataDir).filter((name) => name.startsWith('lectern.')), ['lectern.lock']);
    const third = await startServerProcess({ DATA_DIR: dataDir, ...LIGHT });
    try {
      assert.equal((await new Client(third.url).get('/healthz')).status, 200);
    } finally {
      await stop(third);
    }
  });

  describe('.env in the working directory', () => {
    let cwd: string;
    before(async () => {
      cwd = await mkdtemp(path.join(root, 'cwd-'));
      await writeFile(path.join(cwd, '.env'), '# the operator\'s settings\nDATA_DIR=from-dotenv\nexport SETUP_TOKEN="dotenv-token-0123456789"\n\n');
    });

    it('configures the server', async () => {
      const server = await startServerProcess({ ...LIGHT }, { cwd });
      try {
        assert.ok(existsSync(path.join(cwd, 'from-dotenv', 'store', 'lectern.sqlite')), 'DATA_DIR came from .env');
        const c = new Client(server.url);
        assert.deepEqual((await c.get('/api/v1/setup')).json, { needed: true, tokenRequired: true, tokenSource: 'environment' });
        assert.equal((await c.post('/api/v1/setup', OWNER)).status, 403);
        assert.equal((await c.post('/api/v1/setup', { ...OWNER, setupToken: 'dotenv-token-0123456789' })).status, 201);
      } finally {
        await stop(server);
      }
    });

    it('yields to the real environment', async () => {
      const dataDir = path.join(root, 'env-wins');
      const server = await startServerProcess({ DATA_DIR: dataDir, SETUP_TOKEN: 'environment-token-0123456789', ...LIGHT }, { cwd });
      try {
        assert.ok(existsSync(path.join(dataDir, 'store', 'lectern.sqlite')));
        const c = new Client(server.url);
        assert.equal((await c.post('/api/v1/setup', { ...OWNER, setupToken: 'dotenv-token-0123456789' })).status, 403);
        assert.equal((await c.post('/api/v1/setup', { ...OWNER, setupToken: 'environment-token-0123456789' })).status, 201);
      } finally {
        await stop(server);
      }
    });

    it('refuses a malformed .env with one line and exit 78, for the server and the admin command alike', async () => {
      const bad = await mkdtemp(path.join(root, 'bad-'));
      await writeFile(path.join(bad, '.env'), 'LOG_LEVEL=warn\nDATA_DIR /srv/lectern\n');
      const server = await runServerToExit({}, { cwd: bad });
      assert.equal(server.code, 78);
      assert.equal(server.stderr, `lectern: ${path.join(bad, '.env')} line 2 is not NAME=value or a # comment\n`);
      const cli = await admin(['status'], {}, { cwd: bad });
      assert.equal(cli.code, 78);
      assert.equal(cli.stderr, `lectern admin: ${path.join(bad, '.env')} line 2 is not NAME=value or a # comment\n`);
    });
  });
});
