// Where Tesseract's language data comes from. Nothing is ever downloaded: a language is usable
// only if its traineddata is on disk, either as the npm package @tesseract.js-data/<code> (eng
// ships with Lectern) or in a tessdata folder such as the one Debian's tesseract-ocr-<code>
// packages fill.

import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { IngestError } from '../types.ts';

/** Debian's tesseract-ocr-<code> packages install here; consulted after the npm packages. */
export const SYSTEM_TESSDATA_DIRS: readonly string[] = ['/usr/share/tesseract-ocr/5/tessdata', '/usr/share/tesseract-ocr/4.00/tessdata'];

/** eng, chi_sim, deu_latf…: the code becomes part of a file name, so nothing path-like gets through. */
const LANGUAGE_CODE = /^[a-z]{3}(?:_[a-z0-9]+)*$/;

/**
 * Inside an npm language package, the LSTM-only "best_int" model comes first: it is what the
 * engine runs (OEM 1), 2.9 MB instead of 10.9 MB for the folder that adds the legacy model,
 * and measured faster at the same accuracy.
 */
const PACKAGE_FOLDERS = ['4.0.0_best_int', '4.0.0'];

export interface LanguageFile {
  code: string;
  /** A `<code>.traineddata` or `<code>.traineddata.gz`. */
  path: string;
}

function packageDir(code: string): string | undefined {
  try {
    return dirname(createRequire(import.meta.url).resolve(`@tesseract.js-data/${code}/package.json`));
  } catch {
    return undefined;
  }
}

function candidates(code: string, dataDirs: readonly string[]): string[] {
  const pkg = packageDir(code);
  const fromPackage = pkg ? PACKAGE_FOLDERS.map((folder) => join(pkg, folder, `${code}.traineddata.gz`)) : [];
  const fromDirs = dataDirs.flatMap((dir) => [join(dir, `${code}.traineddata`), join(dir, `${code}.traineddata.gz`)]);
  return [...fromPackage, ...fromDirs];
}

/** Finds every requested language's data, or fails naming exactly what to install. */
export function resolveLanguages(codes: readonly string[], dataDirs: readonly string[]): LanguageFile[] {
  if (codes.length === 0) throw new IngestError('internal', 'no OCR language is configured (e.g. OCR_LANGUAGES=eng)');
  const files: LanguageFile[] = [];
  for (const code of new Set(codes)) {
    if (!LANGUAGE_CODE.test(code)) throw new IngestError('internal', `"${code}" is not a Tesseract language code (like eng, deu or chi_sim)`);
    const path = candidates(code, dataDirs).find((file) => existsSync(file));
    if (!path) {
      const looked = dataDirs.length > 0 ? ` or in ${dataDirs.join(', ')}` : '';
      throw new IngestError(
        'internal',
        `OCR language "${code}" is not installed: run \`npm install @tesseract.js-data/${code}\` in the Lectern folder, ` +
          `or install Debian's tesseract-ocr-${code.replaceAll('_', '-')} package (looked for the npm package${looked})`,
      );
    }
    files.push({ code, path });
  }
  return files;
}

/** Traineddata that is not a language: orientation and script detection, and the equations model. */
const NOT_LANGUAGES = new Set(['osd', 'equ']);

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * The languages whose data is on disk (npm packages, then `dataDirs`), sorted: what a knowledge
 * base may choose among. Read afresh on each call, so a language installed later shows up.
 */
export function installedLanguages(dataDirs: readonly string[] = SYSTEM_TESSDATA_DIRS): string[] {
  const codes = new Set<string>();
  const searched = createRequire(import.meta.url).resolve.paths('@tesseract.js-data/eng') ?? [];
  for (const modules of searched) {
    for (const code of listDir(join(modules, '@tesseract.js-data'))) {
      if (LANGUAGE_CODE.test(code) && candidates(code, []).some((file) => existsSync(file))) codes.add(code);
    }
  }
  for (const dir of dataDirs) {
    for (const file of listDir(dir)) {
      const code = /^(.+)\.traineddata(?:\.gz)?$/.exec(file)?.[1];
      if (code && LANGUAGE_CODE.test(code)) codes.add(code);
    }
  }
  return [...codes].filter((code) => !NOT_LANGUAGES.has(code)).sort();
}

export interface StagedLanguages {
  /** Codes joined with "+", as Tesseract takes them. */
  langs: string;
  langPath: string;
  gzip: boolean;
  dispose(): Promise<void>;
}

/**
 * tesseract.js reads all languages from one folder, but every npm language package is a folder of
 * its own. When the requested languages live apart, they are linked side by side in a private
 * temporary folder. The links drop the .gz suffix: tesseract.js recognises gzip by its magic
 * bytes, so one file name pattern serves both kinds.
 */
export async function stageLanguages(files: readonly LanguageFile[]): Promise<StagedLanguages> {
  const langs = files.map((file) => file.code).join('+');
  const folders = new Set(files.map((file) => dirname(file.path)));
  const gzipped = new Set(files.map((file) => file.path.endsWith('.gz')));
  const [folder] = folders;
  const [gzip] = gzipped;
  if (folders.size === 1 && gzipped.size === 1 && folder !== undefined && gzip !== undefined) {
    return { langs, langPath: folder, gzip, dispose: async () => {} };
  }
  const langPath = await mkdtemp(join(tmpdir(), 'lectern-ocr-'));
  const dispose = (): Promise<void> => rm(langPath, { recursive: true, force: true });
  try {
    await Promise.all(files.map((file) => symlink(file.path, join(langPath, `${file.code}.traineddata`))));
  } catch (cause) {
    await dispose();
    throw new IngestError('internal', 'could not stage the OCR language data', { cause, retryable: true });
  }
  return { langs, langPath, gzip: false, dispose };
}
