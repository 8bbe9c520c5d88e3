// Finds the local LLM in MODELS_DIR and loads it. As with embeddings, a missing or broken model
// is an expected state of a fresh appliance: the caller gets no engine and a sentence saying why
// and what to run, and answers fall back to quoted passages (or the cloud, where policy allows).
// Reasons name MODELS_DIR rather than its absolute path: they reach the console and API clients.
//
// `model` is a manifest id (files in MODELS_DIR/<id>/), or the name of a GGUF of the operator's
// own in MODELS_DIR ("my-model.gguf" or "my-model"), or a folder holding one.

import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_MANIFEST_PATH } from '../embeddings/open.ts';
import type { Logger } from '../logger.ts';
import type { LlmEngine } from './llm.ts';
import { LocalLlmEngine } from './llama.ts';

export interface OpenLocalLlmOptions {
  modelsDir: string;
  /** Manifest id or GGUF name; default: the manifest's default LLM. */
  model?: string;
  threads?: number;
  /** Tokens per sequence; default the manifest entry's, else 4096. */
  contextSize?: number;
  queueLimit?: number;
  /** Conversations generated at once; default 2. */
  sequences?: number;
  log?: Logger;
  manifestPath?: string;
}

export interface OpenedLocalLlm {
  engine: LlmEngine | null;
  /** Why there is no engine, for logs and the console. */
  reason?: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const GGUF_MAGIC = 'GGUF';

const llmSchema = z.object({
  /** The file to load; for a split model its first shard. Default: the entry's first .gguf file. */
  file: z.string().optional(),
  contextSize: z.int().positive().optional(),
  toolCalling: z.boolean().default(false),
});

const manifestSchema = z.object({
  defaults: z.record(z.string(), z.string()).default({}),
  models: z.array(
    z.object({
      id: z.string(),
      role: z.string(),
      profiles: z.array(z.string()).default([]),
      llm: llmSchema.optional(),
      files: z.array(z.object({ path: z.string(), size: z.int().positive().nullable().default(null) })).default([]),
    }),
  ),
});

type Manifest = z.infer<typeof manifestSchema>;

interface Located {
  id: string;
  /** Absolute path of the GGUF to load. */
  path: string;
  /** The same, relative to MODELS_DIR, for messages. */
  shown: string;
  contextSize?: number | undefined;
  toolCalling: boolean;
}

const sizeOf = (path: string) => stat(path).then(
  (s) => (s.isFile() ? s.size : null),
  () => null,
);
const isFile = async (path: string) => (await sizeOf(path)) !== null;

async function readManifest(path: string): Promise<Manifest | string> {
  try {
    const parsed = manifestSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    return parsed.success ? parsed.data : `the model manifest is unusable: ${z.prettifyError(parsed.error)}`;
  } catch (err) {
    return `the model manifest cannot be read: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** A GGUF of the operator's own: `name`, `name.gguf`, or the one GGUF in folder `name`. */
async function findOwnGguf(modelsDir: string, name: string): Promise<string | null> {
  for (const candidate of [name, `${name}.gguf`]) if (/\.gguf$/i.test(candidate) && (await isFile(join(modelsDir, candidate)))) return candidate;
  const inFolder = await readdir(join(modelsDir, name)).catch(() => [] as string[]);
  // A split model's first shard is the one to load; llama.cpp finds the others beside it.
  const ggufs = inFolder.filter((f) => /\.gguf$/i.test(f) && !/-0000[2-9]-of-\d+\.gguf$/i.test(f)).sort();
  return ggufs.length === 1 && ggufs[0] ? `${name}/${ggufs[0]}` : null;
}

async function locate(options: OpenLocalLlmOptions, modelsDir: string): Promise<Located | { reason: string }> {
  const manifest = await readManifest(options.manifestPath ?? DEFAULT_MANIFEST_PATH);
  if (typeof manifest === 'string') return { reason: manifest };
  const id = options.model ?? manifest.defaults.llm;
  if (!id) return { reason: 'the model manifest names no default LLM: set LLM_MODEL' };
  if (!NAME.test(id)) return { reason: `"${id}" is not a valid model id or GGUF file name` };

  const entry = manifest.models.find((m) => m.id === id);
  if (!entry) {
    const own = await findOwnGguf(modelsDir, id);
    if (!own) return { reason: `LLM ${id} is neither in the model manifest nor a GGUF in MODELS_DIR: put ${id}.gguf there, or name a manifest model` };
    return { id: id.replace(/\.gguf$/i, ''), path: join(modelsDir, own), shown: own, toolCalling: false };
  }
  if (entry.role !== 'llm') return { reason: `${id} is not an LLM (the model manifest lists it as ${entry.role})` };
  const file = entry.llm?.file ?? entry.files.find((f) => /\.gguf$/i.test(f.path))?.path;
  if (!file) return { reason: `the model manifest lists no GGUF file for ${id}` };
  const profile = entry.profiles[0];
  const command = `npm run models -- ${profile ? `--profile ${profile}` : `--only ${id}`}`;
  for (const f of entry.files) {
    const size = await sizeOf(join(modelsDir, id, f.path));
    if (size === null) return { reason: `LLM ${id} is not installed in MODELS_DIR: run ${command}` };
    if (f.size !== null && size !== f.size) {
      return { reason: `MODELS_DIR/${id}/${f.path} is ${size} bytes, not the ${f.size} the model manifest pins (incomplete download?): run ${command}` };
    }
  }
  return { id, path: join(modelsDir, id, file), shown: `${id}/${file}`, contextSize: entry.llm?.contextSize, toolCalling: entry.llm?.toolCalling ?? false };
}

async function hasGgufMagic(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(4), 0, 4, 0);
    return bytesRead === 4 && buffer.toString('latin1') === GGUF_MAGIC;
  } finally {
    await handle.close();
  }
}

/** Never throws for a missing, unknown or unloadable model: those come back as `reason`. */
export async function openLocalLlm(options: OpenLocalLlmOptions): Promise<OpenedLocalLlm> {
  const modelsDir = resolve(options.modelsDir);
  const fail = (reason: string): OpenedLocalLlm => {
    options.log?.warn({ reason }, 'no local LLM');
    return { engine: null, reason };
  };
  const located = await locate(options, modelsDir);
  if ('reason' in located) return fail(located.reason);
  if (!(await hasGgufMagic(located.path).catch(() => false))) return fail(`MODELS_DIR/${located.shown} is not a GGUF file (damaged or incomplete download?)`);

  const contextSize = options.contextSize ?? located.contextSize;
  const started = performance.now();
  try {
    const engine = await LocalLlmEngine.create({
      modelPath: located.path,
      id: located.id,
      toolCalling: located.toolCalling,
      ...(options.threads === undefined ? {} : { threads: options.threads }),
      ...(contextSize === undefined ? {} : { contextSize }),
      ...(options.queueLimit === undefined ? {} : { queueLimit: options.queueLimit }),
      ...(options.sequences === undefined ? {} : { sequences: options.sequences }),
      ...(options.log ? { log: options.log } : {}),
    });
    const loadMs = Math.round(performance.now() - started);
    options.log?.info({ model: engine.model.id, contextSize: engine.model.contextSize, toolCalling: engine.model.toolCalling, chatFormat: engine.chatFormat, loadMs }, 'local LLM loaded');
    return { engine };
  } catch (err) {
    const detail = (err instanceof Error ? err.message : String(err)).replaceAll(modelsDir, 'MODELS_DIR');
    return fail(`LLM ${located.id} (MODELS_DIR/${located.shown}) could not be loaded: ${detail}`);
  }
}
