import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import { loadConfig } from '../../server/config.ts';
import { BackupService } from '../../server/backup/service.ts';
import { createLogger } from '../../server/logger.ts';
import { systemClock } from '../../server/clock.ts';
import { admin } from '../helpers/admin.ts';
import { valueOf } from '../helpers/metrics.ts';
import { type Client, setUp, signedIn } from '../helpers/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The operator's whole round trip: data in, a backup taken while requests run, DATA_DIR wiped,
// restored with `npm run admin -- restore <the path backup printed>`, and a server on it finds
// every login, document, original, search hit and conversation as they were. A damaged backup
// is named by verify-backup and refused by restore.

const PW = 'a sufficiently long password';
const DOCS = [
  { name: 'lathe.md', bytes: '# Workshop safety\n\nAlways remove the chuck key before starting the lathe.' },
  { name: 'leave.md', bytes: '# Leave\n\nAnnual leave is booked through the rota office two weeks ahead.' },
  { name: 'doors.md', bytes: '# Fire doors\n\nFire doors stay closed; never wedge them open, even in summer.' },
];
const QUERIES = ['chuck key lathe', 'annual leave rota', 'fire doors wedge'];
const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

describe('backup and restore', () => {
  let root: string;
  let dataDir: string;
  let env: Record<string, string>;
  let server: TestServer;
  let owner: Client;
  let kbId: string;
  let noiseKb: string;
  let before_: Awaited<ReturnType<typeof snapshot>>;
  let backupPath: string;

  /** What a person sees: documents with their originals' hashes, search hits, conversations. */
  async function snapshot(base: string) {
    const ada = await signedIn(base, 'ada@riverside.test', 'correct horse battery staple');
    const vic = await signedIn(base, 'vic@riverside.test', PW);
    const documents = [];
    for (const d of (await ada.get(`/api/v1/kbs/${kbId}/documents`)).json.documents as Array<Record<string, any>>) {
      const file = await fetch(`${base}/api/v1/kbs/${kbId}/documents/${d['id']}/file`, { headers: { cookie: ada.cookie! } });
      assert.equal(file.status, 200, `original of ${d['name']}`);
      documents.push({ id: d['id'], name: d['name'], status: d['status'], original: sha256(new Uint8Array(await file.arrayBuffer())) });
    }
    const hits = [];
    for (const query of QUERIES) {
      const res = (await vic.post(`/api/v1/kbs/${kbId}/search`, { query, mode: 'keyword' })).json.hits as Array<Record<string, any>>;
      hits.push(res.map((h) => ({ document: h['documentName'], text: sha256(String(h['text'])) })));
    }
    const conversations = [];
    for (const who of [ada, vic]) {
      for (const c of (await who.get('/api/v1/conversations')).json.conversations as Array<{ id: string }>) {
        const full = (await who.get(`/api/v1/conversations/${c.id}`)).json;
        conversations.push(sha256(JSON.stringify(full)));
      }
    }
    return { documents: documents.sort((a, b) => a.id.localeCompare(b.id)), hits, conversations: conversations.sort() };
  }

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'lectern-backup-'));
    dataDir = path.join(root, 'data');
    await writeFile(path.join(root, 'backup.key'), randomBytes(32).toString('hex'));
    await writeFile(path.join(root, 'data.key'), randomBytes(32).toString('hex'));
    env = { DATA_DIR: dataDir, BACKUP_KEY_FILE: path.join(root, 'backup.key'), DATA_KEY_FILE: path.join(root, 'data.key'), BACKUP_SCHEDULE: 'off', LIMIT_UPLOADS_PER_MINUTE: '0', MODELS_DIR: path.join(root, 'models'), LOG_LEVEL: 'silent' };
    server = await startTestServer({ dataDir, env });
    owner = (await setUp(server.url)).owner;
    assert.equal((await owner.post('/api/v1/users', { name: 'Vic Viewer', email: 'vic@riverside.test', role: 'viewer', password: PW })).status, 201);
    kbId = (await owner.post('/api/v1/kbs', { name: 'Operations' })).json.id;
    noiseKb = (await owner.post('/api/v1/kbs', { name: 'Arriving during the backup' })).json.id;
    assert.equal((await owner.upload(kbId, DOCS)).status, 202);
    await owner.settle(kbId);
    const vic = await signedIn(server.url, 'vic@riverside.test', PW);
    await owner.post(`/api/v1/kbs/${kbId}/ask`, { question: 'What must be removed before starting the lathe?' });
    await vic.post(`/api/v1/kbs/${kbId}/ask`, { question: 'How is leave booked?' });
  });
  after(async () => {
    await server?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('backs up while requests run, and restores into an empty DATA_DIR a server finds everything in', async (t) => {
    before_ = await snapshot(server.url);
    assert.equal(before_.documents.length, 3);
    assert.ok(before_.hits.every((h) => h.length > 0), 'every query has hits');
    assert.ok(before_.conversations.length >= 2, 'both conversations');

    // Requests during the backup: reads everywhere, uploads into another knowledge base.
    let busy = true;
    let served = 0;
    const load = (async () => {
      for (let i = 0; busy; i++) {
        const replies = await Promise.all([
          owner.post(`/api/v1/kbs/${kbId}/search`, { query: QUERIES[i % 3], mode: 'keyword' }),
          owner.upload(noiseKb, [{ name: `note-${i}.md`, bytes: `# Note ${i}\n\nWritten while the backup ran, number ${i}.` }]),
        ]);
        assert.deepEqual(replies.map((r) => r.status), [200, 202]);
        served += 2;
      }
    })();
    const backup = await admin(['backup'], env);
    busy = false;
    await load;
    assert.equal(backup.code, 0, backup.stderr);
    backupPath = backup.stdout.trim().split('\n').at(-1)!;
    assert.ok(path.isAbsolute(backupPath) && existsSync(path.join(backupPath, 'manifest.json')), `last line is the backup's path: ${backupPath}`);
    assert.equal(path.dirname(backupPath), path.join(root, 'backups'), 'BACKUP_DIR defaults to beside DATA_DIR');
    assert.ok(served >= 2, `requests were served during the backup (${served})`);
    const manifest = JSON.parse(await readFile(path.join(backupPath, 'manifest.json'), 'utf8'));
    t.diagnostic(`${served} requests served during the backup; ${manifest.files.length} files, ${Object.keys(manifest.counts).length} tables, ${manifest.counts.documents} documents`);
    assert.equal(manifest.store, 'embedded');
    assert.equal(manifest.counts.users, 2);
    assert.ok(manifest.counts.documents >= 3);
    assert.ok(manifest.dataKeyId && manifest.sealedWith, 'DATA_DIR sealed, backup sealed');
    // Encrypted: no original's text appears in the backup's files.
    for (const f of manifest.files) assert.ok(!(await readFile(path.join(backupPath, f.path), 'latin1')).includes('chuck key'), `${f.path} is sealed`);

    const running = await admin(['restore', backupPath], env);
    assert.equal(running.code, 75, 'refused while the server holds DATA_DIR');
    await server.close();
    const notEmpty = await admin(['restore', backupPath], env);
    assert.equal(notEmpty.code, 1);
    assert.match(notEmpty.stderr, /not empty/);

    await rm(dataDir, { recursive: true, force: true });
    const restored = await admin(['restore', backupPath], env);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /all matching the manifest/);

    server = await startTestServer({ dataDir, env });
    const after_ = await snapshot(server.url);
    assert.deepEqual(after_, before_, 'every login, document, original, search hit and conversation as before');
    // The documents that arrived during the backup are there with their originals, or not at all.
    const noise = await (await signedIn(server.url, 'ada@riverside.test', 'correct horse battery staple')).settle(noiseKb);
    for (const d of noise) {
      const file = await fetch(`${server.url}/api/v1/kbs/${noiseKb}/documents/${d['id']}/file`, { headers: { cookie: owner.withBase(server.url).cookie ?? '' } });
      assert.notEqual(file.status, 500, `original of ${d['name']}`);
    }
  });

  it('verify-backup passes a whole backup and names the file of a damaged one; restore refuses it', async () => {
    const good = await admin(['verify-backup', backupPath], env);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /is whole: \d+ files .* match their checksums; \d+ collections, \d+ documents, match the manifest/);
    const listed = await admin(['list-backups'], env);
    assert.equal(listed.code, 0);
    assert.match(listed.stdout, new RegExp(`verified .*${path.basename(backupPath)}`));

    const damaged = path.join(root, 'backups', '2020-01-01T00-00-00.000Z');
    await cp(backupPath, damaged, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(damaged, 'manifest.json'), 'utf8'));
    const original = manifest.files.find((f: { path: string }) => f.path.startsWith('files/'));
    const file = path.join(damaged, original.path);
    const bytes = await readFile(file);
    bytes[bytes.length >> 1]! ^= 0xff;
    await writeFile(file, bytes);
    const bad = await admin(['verify-backup', damaged], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, new RegExp(`damaged: ${original.path.replaceAll('/', '\\/')}: its SHA-256 differs from the manifest`));

    const { BACKUP_KEY_FILE: _key, ...withoutKey } = env;
    const refusedBackup = await admin(['backup'], withoutKey);
    assert.equal(refusedBackup.code, 78, 'no key, no backup');
    assert.match(refusedBackup.stderr, /set BACKUP_KEY_FILE .* or BACKUP_ENCRYPTION=off/);
    await writeFile(path.join(root, 'other.key'), randomBytes(32).toString('hex'));
    const wrongKey = await admin(['verify-backup', backupPath], { ...env, BACKUP_KEY_FILE: path.join(root, 'other.key') });
    assert.equal(wrongKey.code, 78);
    assert.match(wrongKey.stderr, /encrypted under backup key [0-9a-f]{16}, and BACKUP_KEY_FILE holds key [0-9a-f]{16}/);

    const elsewhere = path.join(root, 'other-data');
    await mkdir(elsewhere);
    const refused = await admin(['restore', damaged], { ...env, DATA_DIR: elsewhere });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /damaged, nothing was restored/);
    assert.ok(!existsSync(path.join(elsewhere, 'store')), 'DATA_DIR left as it was');
  });
});

describe('backups from the console', () => {
  let root: string;
  let server: TestServer;
  let owner: Client;
  let env: Record<string, string>;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'lectern-backups-api-'));
    await writeFile(path.join(root, 'backup.key'), randomBytes(32).toString('hex'));
    await writeFile(path.join(root, 'restic.password'), 'a restic repository password');
    const repository = path.join(root, 'restic');
    execFileSync('restic', ['init', '--quiet', '--no-cache'], { env: { PATH: process.env['PATH'] ?? '', RESTIC_REPOSITORY: repository, RESTIC_PASSWORD_FILE: path.join(root, 'restic.password') } });
    env = { BACKUP_KEY_FILE: path.join(root, 'backup.key'), BACKUP_DIR: path.join(root, 'backups'), BACKUP_SCHEDULE: 'daily@03:00', RESTIC_REPOSITORY: repository, RESTIC_PASSWORD_FILE: path.join(root, 'restic.password') };
    server = await startTestServer({ dataDir: path.join(root, 'data'), env });
    owner = (await setUp(server.url)).owner;
    assert.equal((await owner.post('/api/v1/users', { name: 'Ann Admin', email: 'ann@riverside.test', role: 'admin', password: PW })).status, 201);
  });
  after(async () => {
    await server?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('the instance owner runs one now and follows it; it is copied to restic; status, readiness and metrics show it', async () => {
    const ann = await signedIn(server.url, 'ann@riverside.test', PW);
    assert.equal((await ann.get('/api/v1/system/backups')).status, 403, 'an organisation admin is not the instance owner');
    assert.equal((await ann.post('/api/v1/system/backups')).status, 403);
    const empty = (await owner.get('/api/v1/system/backups')).json;
    assert.deepEqual([empty.backups, empty.lastSuccess, empty.problem, empty.offsite], [[], null, null, true]);
    assert.match(empty.nextRun, /T03:00:00.000Z$/);

    const started = await owner.post('/api/v1/system/backups');
    assert.equal(started.status, 202);
    let report;
    for (const end = Date.now() + 60_000; ; ) {
      report = (await owner.get('/api/v1/system/backups')).json;
      if (report.job.stage === 'done' || report.job.stage === 'failed' || Date.now() > end) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(report.job.id, started.json.id);
    assert.equal(report.job.stage, 'done', report.job.message);
    assert.equal(report.backups.length, 1);
    assert.equal(report.backups[0].verified, null);
    assert.match(report.lastSuccess.message, /off-site: restic snapshot [0-9a-f]{8,64}/);
    const snapshots = JSON.parse(execFileSync('restic', ['snapshots', '--json', '--no-cache'], { env: { PATH: process.env['PATH'] ?? '', RESTIC_REPOSITORY: env['RESTIC_REPOSITORY']!, RESTIC_PASSWORD_FILE: env['RESTIC_PASSWORD_FILE']! } }).toString());
    assert.equal(snapshots.length, 1);
    assert.ok(snapshots[0].tags.includes(report.backups[0].name), 'the restic snapshot is tagged with the backup');

    // The weekly drill, run as the schedule runs it: recorded in the store for the console and the metrics.
    const config = loadConfig({ DATA_DIR: server.dataDir, ...env });
    const drill = await new BackupService({ config, store: server.store, clock: systemClock, log: createLogger({ level: 'silent' }) }).drill();
    assert.equal(drill?.ok, true, drill?.message ?? '');
    const after_ = (await owner.get('/api/v1/system/backups')).json;
    assert.equal(after_.lastDrill.ok, true);
    assert.equal(after_.backups[0].verified.ok, true);
    const ready = (await owner.get('/readyz')).json.components.find((c: { name: string }) => c.name === 'backups');
    assert.equal(`${ready.kind}:${ready.state}`, 'local+restic:ok');
    const metrics = (await owner.get('/metrics')).text;
    assert.equal(valueOf(metrics, 'lectern_backup_last_success_timestamp_seconds'), Date.parse(report.lastSuccess.at) / 1000);
    assert.equal(valueOf(metrics, 'lectern_backup_drill_success'), 1);
  });

  it('refuses to run without a backup key, saying what to set', async () => {
    const bare = await startTestServer();
    try {
      const c = (await setUp(bare.url)).owner;
      const refused = await c.post('/api/v1/system/backups');
      assert.equal(refused.status, 409);
      assert.equal(refused.json.error.code, 'backups_not_configured');
      assert.match(refused.json.error.message, /BACKUP_KEY_FILE/);
    } finally {
      await bare.close();
    }
  });
});
