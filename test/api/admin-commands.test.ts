import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { admin } from '../helpers/admin.ts';
import { Client, OWNER, setUp } from '../helpers/client.ts';

type SignedIn = Client;
import { ferretdbMissing, startFerretDB } from '../helpers/ferretdb.ts';
import { startTestServer } from '../helpers/server.ts';

// The operator command line (#12, item 4): status, create-owner, reindex and models, run as the
// operator runs them (`npm run admin -- <command>`, a child process with the server's
// environment), against real servers and DATA_DIRs.

const MANIFEST = path.resolve(import.meta.dirname, '../../models/manifest.json');

/** `npm run admin -- <args>` with `input` on its standard input, as `printf … | npm run admin -- …`. */
function adminWithInput(args: string[], env: Record<string, string>, input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.resolve(import.meta.dirname, '../../scripts/admin.ts'), ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: 'pipe' });
  child.stdin.end(input);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('npm run admin: status, create-owner, reindex, models', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const freshDir = async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lectern-admin-'));
    dirs.push(dir);
    return dir;
  };
  const envOf = (dataDir: string) => ({ DATA_DIR: dataDir, MODELS_DIR: path.join(dataDir, 'models') });
  const ingest = async (owner: SignedIn, name: string, files: Array<{ name: string; bytes: string }>) => {
    const kbId = (await owner.post('/api/v1/kbs', { name })).json.id as string;
    assert.equal((await owner.upload(kbId, files)).status, 202);
    await owner.settle(kbId);
    return kbId;
  };

  it('status: counts, documents by status, queue depth, whether a server holds DATA_DIR, disk free, models', async () => {
    const dataDir = await freshDir();
    const server = await startTestServer({ dataDir });
    try {
      const { owner } = await setUp(server.url);
      await ingest(owner, 'Policies', [
        { name: 'fire.txt', bytes: 'Fire doors must stay closed at all times.' },
        { name: 'first-aid.txt', bytes: 'The first aid kit is in the staff room.' },
      ]);
      await owner.post('/api/v1/kbs', { name: 'Empty' });
      const run = await admin(['status'], envOf(dataDir));
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /held by a running Lectern server/);
      assert.match(run.stdout, /Setup +done/);
      assert.match(run.stdout, /Counts +1 organisations, 1 users, 2 knowledge bases/);
      assert.match(run.stdout, /Documents +2 \(0 queued, 0 processing, 2 ready, 0 failed\)/);
      assert.match(run.stdout, /Queue +in the store: 0 pending, 0 running, 0 failed/);
      assert.match(run.stdout, /Disk +\d[\d.]* [kMGT]?B free of \d[\d.]* [kMGT]?B \(\d+ %\) under DATA_DIR/);
      assert.match(run.stdout, /Models +1 ready, 4 missing/);
    } finally {
      await server.close();
    }
    const stopped = await admin(['status'], envOf(dataDir));
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /no server holds it/);

    const empty = await admin(['status'], envOf(path.join(dataDir, 'nothing-here')));
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stdout, /no store yet/);
    assert.equal((await admin(['status', 'extra'], envOf(dataDir))).code, 64);
  });

  it('create-owner: sets up a fresh install from the host, once; the password is shown once and temporary, or read from stdin', async () => {
    const dataDir = await freshDir();
    const server = await startTestServer({ dataDir });
    try {
      const usage = await admin(['create-owner', '--email', OWNER.email], envOf(dataDir));
      assert.equal(usage.code, 64);
      assert.match(usage.stderr, /--email, --name and --organisation are required/);

      const run = await admin(['create-owner', '--email', OWNER.email, '--name', OWNER.name, '--organisation', OWNER.organisation], envOf(dataDir));
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /Created the organisation Riverside Clinic and its instance owner ada@riverside\.test \(Ada Owner\)/);
      const password = /Password, shown this once: (\S+)/.exec(run.stdout)?.[1];
      assert.ok(password, run.stdout);
      const login = await new Client(server.url).post('/api/v1/auth/login', { email: OWNER.email, password });
      assert.equal(login.status, 200, login.text);
      assert.equal(login.json.user.instanceOwner, true);
      assert.equal(login.json.restriction, 'password_change', 'the generated password must be changed first');
      const audit = await server.store.collection<{ _id: string; action: string; actor: { type: string; name: string } }>('audit').find({ action: 'setup' }).toArray();
      assert.equal(audit.length, 1);
      assert.equal(audit[0]!.actor.type, 'system');
      assert.match(audit[0]!.actor.name, /npm run admin -- create-owner/);

      const again = await admin(['create-owner', '--email', 'eve@elsewhere.test', '--name', 'Eve', '--organisation', 'Elsewhere'], envOf(dataDir));
      assert.equal(again.code, 1);
      assert.equal(again.stderr.trim().split('\n').length, 1, 'one line');
      assert.match(again.stderr, /setup is already done/);
      const web = await new Client(server.url).post('/api/v1/setup', { ...OWNER, email: 'eve@elsewhere.test' });
      assert.equal(web.status, 409, 'the web setup is closed too');
    } finally {
      await server.close();
    }

    const other = await freshDir();
    const second = await startTestServer({ dataDir: other });
    try {
      const weak = await adminWithInput(['create-owner', '--email', OWNER.email, '--name', OWNER.name, '--organisation', OWNER.organisation, '--password-stdin'], envOf(other), 'password\n');
      assert.equal(weak.code, 1);
      assert.match(weak.stderr, /password/i);
      const chosen = await adminWithInput(['create-owner', '--email', OWNER.email, '--name', OWNER.name, '--organisation', OWNER.organisation, '--password-stdin'], envOf(other), `${OWNER.password}\n`);
      assert.equal(chosen.code, 0, chosen.stderr);
      assert.doesNotMatch(chosen.stdout, /shown this once/);
      const login = await new Client(second.url).post('/api/v1/auth/login', { email: OWNER.email, password: OWNER.password });
      assert.equal(login.status, 200, login.text);
      assert.equal(login.json.restriction ?? null, null, 'a chosen password is not temporary');
    } finally {
      await second.close();
    }
  });

  it('reindex: rebuilds an embedded index offline, and asks a running server to rebuild at its next start', async () => {
    const dataDir = await freshDir();
    let server = await startTestServer({ dataDir });
    const { owner } = await setUp(server.url);
    const kbId = await ingest(owner, 'Policies', [{ name: 'fire.txt', bytes: 'Fire doors must stay closed at all times.\n\nAssemble at the car park.' }]);
    const query = async (c: SignedIn) => (await c.post(`/api/v1/kbs/${kbId}/search`, { query: 'fire doors', mode: 'keyword' })).json.hits.map((h: { documentName: string }) => h.documentName);
    await server.close();

    // The index loses its rows but keeps its generation: a start alone would not notice.
    const db = new DatabaseSync(path.join(dataDir, 'store', 'lectern.sqlite'));
    db.exec('DELETE FROM search_chunks; DELETE FROM search_terms;');
    db.close();
    server = await startTestServer({ dataDir });
    assert.deepEqual(await query(owner.withBase(server.url)), [], 'the index is empty and nothing rebuilt it');

    const online = await admin(['reindex'], envOf(dataDir));
    assert.equal(online.code, 0, online.stderr);
    assert.match(online.stdout, /a rebuild is requested in the store/);
    assert.match(online.stdout, /Restart the server/);
    await server.close();
    server = await startTestServer({ dataDir });
    assert.ok(server.logs.some((l) => String(l['msg']).startsWith('a rebuild of the search index was requested')));
    assert.deepEqual(await query(owner.withBase(server.url)), ['fire.txt'], 'rebuilt at the next start');
    await server.close();
    server = await startTestServer({ dataDir });
    assert.ok(!server.logs.some((l) => l['msg'] === 'search index rebuilt'), 'the request was answered once');
    await server.close();

    const wipe = new DatabaseSync(path.join(dataDir, 'store', 'lectern.sqlite'));
    wipe.exec('DELETE FROM search_chunks; DELETE FROM search_terms;');
    wipe.close();
    const offline = await admin(['reindex'], envOf(dataDir));
    assert.equal(offline.code, 0, offline.stderr);
    assert.match(offline.stdout, /Rebuilt the embedded index from the store: [1-9]\d* chunks indexed in \d+ ms/);
    server = await startTestServer({ dataDir });
    try {
      assert.ok(!server.logs.some((l) => l['msg'] === 'search index rebuilt'), 'nothing left to rebuild at start');
      assert.deepEqual(await query(owner.withBase(server.url)), ['fire.txt'], 'found again');
    } finally {
      await server.close();
    }

    const none = await admin(['reindex'], envOf(path.join(dataDir, 'nothing-here')));
    assert.equal(none.code, 1);
    assert.match(none.stderr, /DATA_DIR holds no Lectern store/);
  });

  it('models: what the configuration expects, what is installed and missing, and the command that fetches it', async () => {
    const dataDir = await freshDir();
    const modelsDir = path.join(dataDir, 'models');
    // bge-small-en-v1.5 "installed": its files at the sizes the manifest pins (sparse, no bytes written).
    const manifest = JSON.parse(await readFile(MANIFEST, 'utf8')) as { models: Array<{ id: string; files: Array<{ path: string; size: number }> }> };
    const bge = manifest.models.find((m) => m.id === 'bge-small-en-v1.5')!;
    await mkdir(path.join(modelsDir, bge.id), { recursive: true });
    for (const f of bge.files) {
      await writeFile(path.join(modelsDir, bge.id, f.path), '');
      await truncate(path.join(modelsDir, bge.id, f.path), f.size);
    }
    const env = { DATA_DIR: dataDir, MODELS_DIR: modelsDir, STT_MODEL: 'off', LLM_MODEL: 'my-own' };
    const run = await admin(['models'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /embeddings +bge-small-en-v1\.5 +installed +\[EMBEDDING_MODEL\]/);
    assert.match(run.stdout, /llm +my-own +MISSING \(not in the manifest: put my-own\.gguf .* in MODELS_DIR yourself\) +\[LLM_MODEL\]/);
    assert.match(run.stdout, /stt +- +off \(turned off \(STT_MODEL=off\)\)/);
    assert.match(run.stdout, /tts +vits-piper-en_US-amy-low +MISSING \(missing or incomplete: en_US-amy-low\.onnx, tokens\.txt\) +\[the manifest's default\]/);
    assert.match(run.stdout, /vad +silero-vad-v5 +bundled/);
    assert.match(run.stdout, /^2 installed, 2 missing\.$/m);
    assert.ok(run.stdout.includes(`Fetch the missing models with: npm run models -- --only vits-piper-en_US-amy-low --dir ${modelsDir}`), run.stdout);

    const required = await admin(['models', '--require'], env);
    assert.equal(required.code, 1);
    assert.match(required.stderr, /2 models missing: my-own, vits-piper-en_US-amy-low/);
    await writeFile(path.join(modelsDir, 'my-own.gguf'), 'GGUF');
    const satisfied = await admin(['models', '--require'], { ...env, TTS_MODEL: 'espeak' });
    assert.equal(satisfied.code, 0, satisfied.stderr);
    assert.match(satisfied.stdout, /llm +my-own +installed \(your own \(not in the manifest\)\)/);
    assert.match(satisfied.stdout, /tts +espeak +system/);
    assert.doesNotMatch(satisfied.stdout, /Fetch the missing/);
  });
});

describe('npm run admin on the full stack (MONGODB_URL): create-owner, status, reindex', { skip: ferretdbMissing() }, () => {
  it('sets up, counts and rebuilds a process\'s embedded index against a shared store', async () => {
    const ferret = await startFerretDB();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lectern-admin-mongo-'));
    let server = await startTestServer({ dataDir, env: { MONGODB_URL: ferret.url, TTS_MODEL: 'off' } });
    const env = { DATA_DIR: dataDir, MODELS_DIR: path.join(dataDir, 'models'), MONGODB_URL: ferret.url };
    try {
      const created = await admin(['create-owner', '--email', OWNER.email, '--name', OWNER.name, '--organisation', OWNER.organisation], env);
      assert.equal(created.code, 0, created.stderr);
      const password = /Password, shown this once: (\S+)/.exec(created.stdout)![1]!;
      const owner = new Client(server.url);
      assert.equal((await owner.post('/api/v1/auth/login', { email: OWNER.email, password })).status, 200);
      assert.equal((await owner.post('/api/v1/auth/password', { currentPassword: password, newPassword: OWNER.password })).status < 300, true);
      const kbId = (await owner.post('/api/v1/kbs', { name: 'Policies' })).json.id as string;
      assert.equal((await owner.upload(kbId, [{ name: 'fire.txt', bytes: 'Fire doors must stay closed at all times.' }])).status, 202);
      await owner.settle(kbId);

      const status = await admin(['status'], env);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /Store +MongoDB \(MONGODB_URL\)/);
      assert.match(status.stdout, /held by a running Lectern server/);
      assert.match(status.stdout, /Counts +1 organisations, 1 users, 1 knowledge bases/);
      assert.match(status.stdout, /Documents +1 \(0 queued, 0 processing, 1 ready, 0 failed\)/);
      assert.match(status.stdout, /Queue +in the store: 0 pending, 0 running, 0 failed/);

      const online = await admin(['reindex'], env);
      assert.equal(online.code, 0, online.stderr);
      assert.match(online.stdout, /a rebuild is requested in the store/);
      const elsewhere = await admin(['reindex'], { ...env, DATA_DIR: path.join(dataDir, 'operator') });
      assert.equal(elsewhere.code, 1);
      assert.match(elsewhere.stderr, /DATA_DIR holds no embedded search index/);
      await server.close();

      const offline = await admin(['reindex'], env);
      assert.equal(offline.code, 0, offline.stderr);
      assert.match(offline.stdout, /Rebuilt the embedded index from the store: [1-9]\d* chunks/);
      server = await startTestServer({ dataDir, env: { MONGODB_URL: ferret.url, TTS_MODEL: 'off' } });
      const hits = (await owner.withBase(server.url).post(`/api/v1/kbs/${kbId}/search`, { query: 'fire doors', mode: 'keyword' })).json.hits as Array<{ documentName: string }>;
      assert.deepEqual(hits.map((h) => h.documentName), ['fire.txt']);
    } finally {
      await server.close();
      await ferret.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

const MEILI_URL = process.env['MEILI_URL'];
describe('npm run admin -- reindex on Meilisearch (MEILI_URL)', { skip: MEILI_URL ? false : 'MEILI_URL is not set: set MEILI_URL (and MEILI_MASTER_KEY) to a Meilisearch 1.x to run it' }, () => {
  it('rebuilds while the server serves, which keeps finding the document', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lectern-admin-meili-'));
    const meili = { MEILI_URL: MEILI_URL!, MEILI_MASTER_KEY: process.env['MEILI_MASTER_KEY'] ?? '', MEILI_INDEX_PREFIX: `lectern-admin-${process.pid}-${Date.now().toString(36)}` };
    const server = await startTestServer({ dataDir, env: { ...meili, TTS_MODEL: 'off' } });
    try {
      const { owner } = await setUp(server.url);
      const kbId = await (async () => {
        const id = (await owner.post('/api/v1/kbs', { name: 'Policies' })).json.id as string;
        assert.equal((await owner.upload(id, [{ name: 'fire.txt', bytes: 'Fire doors must stay closed at all times.' }])).status, 202);
        await owner.settle(id);
        return id;
      })();
      const run = await admin(['reindex'], { DATA_DIR: dataDir, MODELS_DIR: path.join(dataDir, 'models'), ...meili });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /Rebuilt Meilisearch at \S+ from the store: [1-9]\d* chunks/);
      const hits = (await owner.post(`/api/v1/kbs/${kbId}/search`, { query: 'fire doors', mode: 'keyword' })).json.hits as Array<{ documentName: string }>;
      assert.deepEqual(hits.map((h) => h.documentName), ['fire.txt']);
    } finally {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
