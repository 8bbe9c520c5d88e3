// Finds the configured speech models in MODELS_DIR and opens them. As with the LLM and
// embeddings, a missing or broken model is an expected state of a fresh appliance: the caller gets
// no engine (or a lesser one) and a sentence saying why and what to run. Speech output degrades in
// steps: the configured neural voice, else espeak-ng, else text only.
//
// Reasons name MODELS_DIR rather than its absolute path: they reach the console and API clients.
// A model is a manifest entry (files in MODELS_DIR/<id>/), or a folder of the operator's own
// described by MODELS_DIR/<id>/lectern.json in the same shape.
//
// Piper voices phonemize with espeak-ng and need its data folder. sherpa-onnx publishes that folder
// only inside archives the fetch script does not unpack, so when the voice's own folder is absent
// the system's copy (Debian's espeak-ng-data, which espeak-ng pulls in) stands in: sherpa-onnx's
// embedded espeak-ng reads it, since both carry phoneme data version 0x14801. Data of another
// version is refused at load ("Wrong version of espeak-ng-data"), and the isolated load turns that
// into a reason. espeak-ng is initialised once per process, so the first folder a process loads a
// voice with is the one every later voice in it uses.

import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { findEspeakNgData, isEspeakNgData } from '../config.ts';
import { DEFAULT_MANIFEST_PATH, METADATA_FILE } from '../embeddings/open.ts';
import type { Logger } from '../logger.ts';
import { probeEspeakTts, type EspeakOptions } from './espeak.ts';
import { SherpaSttEngine, SherpaTtsEngine, type SherpaModule } from './sherpa.ts';
import type { SttEngine, TtsEngine } from './speech.ts';

export interface OpenSpeechOptions {
  modelsDir: string;
  /** STT model id; default the manifest's `defaults.stt`, else its first STT model. 'off' disables. */
  stt?: string;
  /** TTS model id; default likewise. 'espeak' skips the neural voice; 'off' disables speech output. */
  tts?: string;
  log?: Logger;
  manifestPath?: string;
  threads?: number;
  /** The fallback voice's settings (voice, binary). */
  espeak?: EspeakOptions;
  /** Injected addon, for platforms where the package resolves elsewhere. */
  sherpa?: SherpaModule;
  /**
   * espeak-ng data for voices whose own data folder (the entry's `tts.dataDir`) is not in
   * MODELS_DIR: config's ESPEAK_NG_DATA_DIR. Default: the system's, if found; null: none.
   */
  espeakDataDir?: string | null;
}

export interface OpenedSpeech {
  stt: SttEngine | null;
  /** Why there is no STT engine. */
  sttReason?: string;
  tts: TtsEngine | null;
  /** Why there is no TTS engine, or why it is espeak-ng rather than the configured voice. */
  ttsReason?: string;
  /** The espeak-ng data folder the voice phonemizes with, for voices that need one. */
  ttsData?: { dir: string; source: 'model' | 'system' };
}

const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
// Relative, no `..`: a model description must not point outside its folder.
const RELATIVE = z.string().regex(/^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/);
const files = z.record(z.string(), RELATIVE);

const entrySchema = z.object({
  id: z.string(),
  role: z.string(),
  profiles: z.array(z.string()).default([]),
  languages: z.array(z.string()).optional(),
  stt: z
    .object({
      type: z.enum(['online-transducer', 'online-ctc', 'offline-transducer', 'offline-zipformer-ctc', 'offline-whisper', 'offline-moonshine', 'offline-sense-voice']),
      files,
    })
    .optional(),
  tts: z
    .object({
      type: z.enum(['vits', 'kokoro', 'matcha']),
      files,
      dataDir: RELATIVE.optional(),
      language: z.string().optional(),
      speaker: z.int().min(0).optional(),
    })
    .optional(),
});
const manifestSchema = z.object({ defaults: z.record(z.string(), z.string()).default({}), models: z.array(entrySchema) });
type Entry = z.infer<typeof entrySchema>;
type Role = 'stt' | 'tts';

const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));
const LABEL: Record<Role, string> = { stt: 'STT model', tts: 'TTS voice' };

/** A failure whose message is the whole reason, worded for the operator. */
class Unusable extends Error {}

async function readJson<T>(path: string, schema: z.ZodType<T>, what: string): Promise<T | { error: string }> {
  try {
    const parsed = schema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    return parsed.success ? parsed.data : { error: `${what} is unusable: ${z.prettifyError(parsed.error)}` };
  } catch (err) {
    const detail = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : describe(err);
    return { error: `${what} cannot be read: ${detail}` };
  }
}

/** The entry for `role`, from the manifest or the model folder's own lectern.json. */
async function findEntry(role: Role, wanted: string | undefined, options: OpenSpeechOptions, modelsDir: string): Promise<Entry | { reason: string }> {
  const manifest = await readJson(options.manifestPath ?? DEFAULT_MANIFEST_PATH, manifestSchema, 'the model manifest');
  if ('error' in manifest) return { reason: manifest.error };
  const id = wanted ?? manifest.defaults[role] ?? manifest.models.find((m) => m.role === role)?.id;
  if (!id) return { reason: `the model manifest lists no ${LABEL[role]}` };
  if (!MODEL_ID.test(id)) return { reason: `"${id}" is not a valid model id` };
  let entry: Entry | undefined = manifest.models.find((m) => m.id === id);
  if (!entry) {
    const own = await readJson(join(modelsDir, id, METADATA_FILE), entrySchema, `MODELS_DIR/${id}/${METADATA_FILE}`);
    if ('error' in own) return { reason: `${LABEL[role]} ${id} is neither in the model manifest nor described by ${METADATA_FILE} in MODELS_DIR/${id} (${own.error})` };
    entry = { ...own, id };
  }
  if (entry.role !== role || !entry[role]) return { reason: `${id} is not a${role === 'stt' ? 'n STT model' : ' TTS voice'} (it is listed as ${entry.role})` };
  return entry;
}

const installHint = (entry: Entry) => `npm run models -- ${entry.profiles[0] ? `--profile ${entry.profiles[0]}` : `--only ${entry.id}`}`;

/** Opens one sherpa-onnx engine; every failure comes back as a reason. */
async function openSherpa<T>(
  role: Role,
  wanted: string | undefined,
  options: OpenSpeechOptions,
  open: (entry: Entry, files: Record<string, string>, dir: string) => Promise<T>,
): Promise<{ engine: T } | { reason: string }> {
  const modelsDir = resolve(options.modelsDir);
  const entry = await findEntry(role, wanted, options, modelsDir);
  if ('reason' in entry) return entry;
  const dir = join(modelsDir, entry.id);
  const block = entry[role] as { files: Record<string, string> };
  const paths = Object.fromEntries(Object.entries(block.files).map(([key, file]) => [key, join(dir, file)]));
  try {
    return { engine: await open(entry, paths, dir) };
  } catch (err) {
    if (err instanceof Unusable) return { reason: err.message };
    const detail = describe(err).replaceAll(modelsDir, 'MODELS_DIR');
    const missing = /is missing|is empty/.test(detail);
    return {
      reason: missing
        ? `${LABEL[role]} ${entry.id} is not installed in MODELS_DIR (${detail}): run ${installHint(entry)}`
        : `${LABEL[role]} ${entry.id} (MODELS_DIR/${entry.id}) could not be loaded: ${detail}`,
    };
  }
}

async function openStt(options: OpenSpeechOptions): Promise<{ stt: SttEngine | null; sttReason?: string }> {
  if (options.stt === 'off') return { stt: null, sttReason: 'speech recognition is turned off' };
  const opened = await openSherpa('stt', options.stt, options, (entry, files) => {
    const stt = entry.stt as NonNullable<Entry['stt']>;
    return SherpaSttEngine.create({
      id: entry.id,
      type: stt.type,
      files,
      ...(entry.languages ? { languages: entry.languages } : {}),
      ...(options.threads ? { threads: options.threads } : {}),
      ...(options.sherpa ? { sherpa: options.sherpa } : {}),
    });
  });
  return 'engine' in opened ? { stt: opened.engine } : { stt: null, sttReason: opened.reason };
}

const isDir = async (path: string) => (await stat(path).catch(() => null))?.isDirectory() === true;
const isFile = async (path: string) => (await stat(path).catch(() => null))?.isFile() === true;

/**
 * The espeak-ng data a voice phonemizes with: its own folder in MODELS_DIR, else the system's.
 * With neither, an installed voice gets a reason saying what to install; a voice that is not
 * downloaded yet gets its own folder, so the file check asks for the download first.
 */
async function espeakData(entry: Entry, dataDir: string, files: Record<string, string>, dir: string, options: OpenSpeechOptions): Promise<NonNullable<OpenedSpeech['ttsData']>> {
  const own = join(dir, dataDir);
  if (await isDir(own)) return { dir: own, source: 'model' };
  const configured = options.espeakDataDir;
  const system = configured === undefined ? findEspeakNgData() : configured;
  if (system !== null && isEspeakNgData(system)) return { dir: system, source: 'system' };
  const checks = await Promise.all(Object.values(files).map(isFile));
  if (checks.includes(false)) return { dir: own, source: 'model' };
  const nothing = configured ? `ESPEAK_NG_DATA_DIR (${configured}) holds no espeak-ng data` : 'no system espeak-ng data was found';
  throw new Unusable(
    `${LABEL.tts} ${entry.id} needs espeak-ng's phoneme data: MODELS_DIR/${entry.id}/${dataDir} is missing and ${nothing}. ` +
      `Install Debian's espeak-ng-data (apt-get install espeak-ng-data), set ESPEAK_NG_DATA_DIR to an espeak-ng-data folder, ` +
      `or unpack sherpa-onnx's espeak-ng-data.tar.bz2 into MODELS_DIR/${entry.id}/`,
  );
}

async function openTts(options: OpenSpeechOptions): Promise<Pick<OpenedSpeech, 'tts' | 'ttsReason' | 'ttsData'>> {
  if (options.tts === 'off') return { tts: null, ttsReason: 'speech output is turned off: answers are text only' };
  let why = 'the espeak-ng voice was chosen';
  if (options.tts !== 'espeak') {
    let data: OpenedSpeech['ttsData'];
    const opened = await openSherpa('tts', options.tts, options, async (entry, files, dir) => {
      const tts = entry.tts as NonNullable<Entry['tts']>;
      data = tts.dataDir ? await espeakData(entry, tts.dataDir, files, dir, options) : undefined;
      return SherpaTtsEngine.create({
        id: entry.id,
        type: tts.type,
        files,
        language: tts.language ?? entry.languages?.[0] ?? 'en',
        ...(data ? { dataDir: data.dir } : {}),
        ...(tts.speaker === undefined ? {} : { speaker: tts.speaker }),
        ...(options.threads ? { threads: options.threads } : {}),
        ...(options.sherpa ? { sherpa: options.sherpa } : {}),
      });
    });
    if ('engine' in opened) return { tts: opened.engine, ...(data ? { ttsData: data } : {}) };
    why = opened.reason;
  }
  const espeak = await probeEspeakTts(options.espeak);
  if (espeak.engine) return { tts: espeak.engine, ttsReason: `${why}; speaking with espeak-ng instead` };
  return { tts: null, ttsReason: `${why}, and ${espeak.reason}: answers are text only` };
}

/** Never throws for a missing, unknown or unloadable model: those come back as reasons. */
export async function openSpeechEngines(options: OpenSpeechOptions): Promise<OpenedSpeech> {
  const started = performance.now();
  const [stt, tts] = await Promise.all([openStt(options), openTts(options)]);
  const log = options.log;
  if (stt.stt) log?.info({ model: stt.stt.model.id, streaming: stt.stt.model.streaming }, 'speech recognition ready');
  else log?.warn({ reason: stt.sttReason }, 'no speech recognition');
  if (tts.tts) {
    const whose = tts.ttsData?.source === 'system' ? "the system's; the voice's own folder is absent" : "the voice's own";
    const espeakData = tts.ttsData ? `${tts.ttsData.dir} (${whose})` : undefined;
    log?.[tts.ttsReason ? 'warn' : 'info']({ voice: tts.tts.voice.id, kind: tts.tts.kind, reason: tts.ttsReason, espeakData }, 'speech output ready');
  } else {
    log?.warn({ reason: tts.ttsReason }, 'no speech output');
  }
  log?.debug({ ms: Math.round(performance.now() - started) }, 'speech engines opened');
  return { ...stt, ...tts };
}
