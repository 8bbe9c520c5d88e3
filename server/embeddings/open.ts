// Finds the configured embedding model in MODELS_DIR and opens it. A missing or broken model is
// an expected state of a fresh appliance, not a crash: the caller gets no engine and a sentence
// saying why (and what to run), and search stays keyword-only.

import { access, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Logger } from '../logger.ts';
import type { EmbeddingEngine } from './embeddings.ts';
import { defaultThreads, MODEL_FILE, OnnxEmbeddingEngine, TOKENIZER_FILE, type EmbeddingModelSpec } from './onnx.ts';

/** The manifest shipped with the code (not in MODELS_DIR, which may live elsewhere). */
export const DEFAULT_MANIFEST_PATH = fileURLToPath(new URL('../../models/manifest.json', import.meta.url));
/** Describes a model that is not in the manifest; same shape as a manifest entry. */
export const METADATA_FILE = 'lectern.json';

const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const embeddingSchema = z.object({
  dimensions: z.int().positive(),
  maxTokens: z.int().min(8),
  pooling: z.enum(['cls', 'mean']),
  queryPrefix: z.string().default(''),
  passagePrefix: z.string().default(''),
});

const entrySchema = z.object({
  id: z.string(),
  role: z.string(),
  profiles: z.array(z.string()).default([]),
  embedding: embeddingSchema.optional(),
});

const manifestSchema = z.object({
  defaults: z.record(z.string(), z.string()).default({}),
  models: z.array(entrySchema),
});

export interface OpenEmbeddingOptions {
  modelsDir: string;
  /** Model id (a folder in modelsDir); default: the manifest's default embedding model. */
  model?: string;
  threads?: number;
  batchSize?: number;
  log?: Logger;
  manifestPath?: string;
}

export interface OpenedEmbeddingEngine {
  engine: EmbeddingEngine | null;
  /** Why there is no engine, for logs and the console. */
  reason?: string;
}

type Resolved = { spec: EmbeddingModelSpec; dir: string } | { reason: string };

/** The file's validated content, or why it could not be had. */
async function readJson<T>(path: string, schema: z.ZodType<T>): Promise<{ data: T } | { error: string }> {
  try {
    const parsed = schema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    return parsed.success ? { data: parsed.data } : { error: z.prettifyError(parsed.error) };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

const exists = (path: string) => access(path).then(
  () => true,
  () => false,
);

async function resolveModel(options: OpenEmbeddingOptions, modelsDir: string): Promise<Resolved> {
  const manifestPath = options.manifestPath ?? DEFAULT_MANIFEST_PATH;
  const read = await readJson(manifestPath, manifestSchema);
  if ('error' in read) return { reason: `the model manifest ${manifestPath} is unusable: ${read.error}` };
  const manifest = read.data;
  const id = options.model ?? manifest.defaults.embeddings;
  if (!id) return { reason: `the model manifest ${manifestPath} names no default embedding model` };
  if (!MODEL_ID.test(id)) return { reason: `"${id}" is not a valid model id` };

  const dir = join(modelsDir, id);
  const entry = manifest.models.find((m) => m.id === id);
  if (entry && !entry.embedding) return { reason: `${id} is a ${entry.role} model, not an embedding model` };
  const missing = [];
  for (const file of [MODEL_FILE, TOKENIZER_FILE]) if (!(await exists(join(dir, file)))) missing.push(file);
  if (missing.length > 0) {
    const profile = entry?.profiles[0];
    const hint = entry
      ? `run npm run models -- ${profile ? `--profile ${profile}` : `--only ${id}`}`
      : `put ${MODEL_FILE}, ${TOKENIZER_FILE} and ${METADATA_FILE} in ${dir}`;
    return { reason: `embedding model ${id} is not installed in ${modelsDir}: ${hint}` };
  }
  if (entry?.embedding) return { dir, spec: { id, ...entry.embedding } };

  const local = await readJson(join(dir, METADATA_FILE), z.object({ embedding: embeddingSchema }));
  if ('error' in local) {
    return { reason: `embedding model ${id} is not in the model manifest, and ${join(dir, METADATA_FILE)} does not describe it: ${local.error}` };
  }
  return { dir, spec: { id, ...local.data.embedding } };
}

/** Never throws for a missing, unknown or unloadable model: those come back as `reason`. */
export async function openEmbeddingEngine(options: OpenEmbeddingOptions): Promise<OpenedEmbeddingEngine> {
  const modelsDir = resolve(options.modelsDir);
  const resolved = await resolveModel(options, modelsDir);
  if ('reason' in resolved) {
    options.log?.warn({ reason: resolved.reason }, 'no embedding model: search is keyword-only');
    return { engine: null, reason: resolved.reason };
  }
  const { spec, dir } = resolved;
  const threads = options.threads ?? defaultThreads();
  const started = performance.now();
  try {
    const engine = await OnnxEmbeddingEngine.create({ modelDir: dir, model: spec, threads, batchSize: options.batchSize });
    const loadMs = Math.round(performance.now() - started);
    options.log?.info({ model: spec.id, dimensions: spec.dimensions, pooling: spec.pooling, threads, loadMs }, 'embedding model loaded');
    return { engine };
  } catch (err) {
    const reason = `embedding model ${spec.id} in ${dir} could not be loaded: ${err instanceof Error ? err.message : String(err)}`;
    options.log?.warn({ reason }, 'no embedding model: search is keyword-only');
    return { engine: null, reason };
  }
}
