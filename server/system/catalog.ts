import { stat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

export const modelRoles = ['llm', 'embeddings', 'stt', 'tts', 'vad'] as const;
export type ModelRole = (typeof modelRoles)[number];

// Only what the status report needs; scripts/fetch-models.ts validates the manifest in full.
const entry = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  role: z.string(),
  profiles: z.array(z.string()).default([]),
  files: z.array(z.looseObject({ path: z.string(), size: z.number().nullable().optional() })),
});
const manifest = z.looseObject({ models: z.array(entry) });

export interface ModelFileState {
  id: string;
  name: string;
  profiles: string[];
  /** Every file present with the size the manifest pins. */
  installed: boolean;
  missingFiles: string[];
  /** All its files together; null when the manifest leaves a size open. */
  sizeBytes: number | null;
}

/** Which manifest models are present in MODELS_DIR, role by role. Files are checked by size (hashes are the fetch script's job). */
export async function scanModels(modelsDir: string, manifestPath: string): Promise<Record<ModelRole, ModelFileState[]>> {
  const parsed = manifest.parse(JSON.parse(await readFile(manifestPath, 'utf8')));
  const out = Object.fromEntries(modelRoles.map((r) => [r, [] as ModelFileState[]])) as Record<ModelRole, ModelFileState[]>;
  for (const model of parsed.models) {
    if (!(modelRoles as readonly string[]).includes(model.role)) continue;
    const missingFiles: string[] = [];
    for (const file of model.files) {
      const size = await stat(path.join(modelsDir, model.id, file.path)).then((s) => s.size, () => null);
      if (size === null || (typeof file.size === 'number' && size !== file.size)) missingFiles.push(file.path);
    }
    const sizes = model.files.map((f) => f.size ?? null);
    const sizeBytes = sizes.every((n) => n !== null) ? sizes.reduce<number>((a, n) => a + (n ?? 0), 0) : null;
    out[model.role as ModelRole].push({ id: model.id, name: model.name ?? model.id, profiles: model.profiles, installed: missingFiles.length === 0, missingFiles, sizeBytes });
  }
  return out;
}
