import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { openEmbeddings, type EmbeddingsProvider } from '../embeddings/provider.ts';
import { openParser } from '../ingest/isolate.ts';
import type { ParsePool } from '../ingest/pool.ts';
import { ocrAvailable } from '../ingest/ocr.ts';
import type { LlmEngine } from '../llm/llm.ts';
import { openLlms, type LlmProvider } from '../llm/provider.ts';
import type { Logger } from '../logger.ts';
import type { RealtimeSpeech } from '../realtime/session.ts';
import { openSpeechEngines } from '../speech/open-speech.ts';
import { openSpeechRouter, type SpeechRouter } from '../speech/router.ts';
import { openTurnModel, type TurnModel } from '../speech/smart-turn.ts';
import { loadSileroVadModel, type SileroVadModel } from '../speech/vad.ts';
import type { Store } from '../store/store.ts';
import type { PortRegistry } from './registry.ts';

/** The models and workers answers, search and voice run on; each missing one comes with a reason. */
export interface Engines {
  embeddings: EmbeddingsProvider;
  llm: LlmProvider;
  speech: RealtimeSpeech;
  /** Cloud speech endpoints, if configured; each organisation's policy decides whether its sessions use them. */
  speechRouter: SpeechRouter;
  parser: ParsePool;
}

export interface EngineContext {
  config: Config;
  log: Logger;
  clock: Clock;
  registry: PortRegistry;
  /** The embedding cache lives in the store. */
  store: Store;
  /** A local LLM engine to use instead of looking in MODELS_DIR (tests drive the agent through the whole stack with it). */
  localLlm?: LlmEngine | null | undefined;
}

/**
 * Opens the engines through the port registry, so /readyz lists them with the ports. A missing
 * model degrades its engine, never the instance: search goes keyword-only, answers extractive,
 * voice off.
 */
export async function openEngines(context: EngineContext): Promise<Engines> {
  const { config, log, clock, registry, store } = context;

  const embeddings = await registry.open('embeddings', async () => {
    const embeddings = await openEmbeddings(config, store, log.child({ component: 'embeddings' }));
    return {
      port: embeddings,
      kind: 'onnxruntime',
      check: async () => {
        const status = embeddings.status();
        return status.available ? { state: 'ok', message: status.model ?? '' } : { state: 'degraded', message: status.reason ?? 'no model' };
      },
      close: () => embeddings.close(),
    };
  });

  await registry.open('ocr', async () => {
    const languages = config.OCR_LANGUAGES.split('+');
    const ocr = config.OCR_ENABLED ? await ocrAvailable(languages) : { ok: false, reason: 'OCR_ENABLED=false' };
    if (!ocr.ok) log.warn({ reason: ocr.reason }, 'OCR unavailable: scanned pages and images will fail with no_text');
    return {
      port: ocr,
      kind: 'tesseract.js',
      check: async () => (ocr.ok ? { state: 'ok', message: languages.join('+') } : { state: 'degraded', message: ocr.reason ?? 'unavailable' }),
    };
  });

  const llm = await registry.open('llm', async () => {
    const llm = await openLlms(config, clock, log.child({ component: 'llm' }), context.localLlm !== undefined ? { local: context.localLlm } : undefined);
    return {
      port: llm,
      kind: [llm.local ? 'local' : null, llm.cloud ? llm.cloud.name : null].filter(Boolean).join('+') || 'none',
      check: async () => (llm.local ? { state: 'ok', message: llm.local.model.id } : { state: 'degraded', message: llm.localReason ?? 'no local LLM' }),
      close: () => llm.close(),
    };
  });

  const { speech, speechRouter } = await registry.open('voice', async () => {
    const speech = await openSpeech(config, log.child({ component: 'speech' }));
    speech.turn = speech.vad ? await openTurn(config, log.child({ component: 'speech' })) : null;
    const speechRouter = openSpeechRouter(config, speech, log.child({ component: 'speech' }), clock);
    return {
      port: { speech, speechRouter },
      kind: [speech.vad ? 'silero' : null, speech.stt ? speech.stt.model.id : null, speech.tts ? speech.tts.voice.id : null].filter(Boolean).join('+') || 'none',
      check: async () => {
        const missing = [speech.vad ? null : speech.vadReason, speech.stt ? null : speech.sttReason, speech.tts ? null : speech.ttsReason].filter(Boolean);
        return missing.length ? { state: 'degraded', message: missing.join('; ') } : { state: 'ok' };
      },
      close: async () => void (await Promise.allSettled([speech.vad?.close(), speech.turn?.close(), speech.stt?.close(), speech.tts?.close(), speechRouter.close()])),
    };
  });

  const parser = await registry.open('parser', () => {
    const parser = openParser({ concurrency: config.INGEST_CONCURRENCY });
    return { port: parser, kind: 'worker threads', close: () => parser.close() };
  });

  return { embeddings, llm, speech, speechRouter, parser };
}

/** One VAD model and one set of speech engines serve every realtime session; missing ones come with a reason. */
async function openSpeech(config: Config, log: Logger): Promise<RealtimeSpeech> {
  let vad: SileroVadModel | null = null;
  let vadReason: string | undefined;
  try {
    vad = await loadSileroVadModel();
  } catch (err) {
    vadReason = `the Silero VAD model could not be loaded: ${err instanceof Error ? err.message : String(err)}`;
    log.warn({ reason: vadReason }, 'no voice activity detection');
  }
  const engines = await openSpeechEngines({ modelsDir: config.modelsDir, manifestPath: config.manifestPath, espeakDataDir: config.espeakDataDir, log, ...(config.STT_MODEL ? { stt: config.STT_MODEL } : {}), ...(config.TTS_MODEL ? { tts: config.TTS_MODEL } : {}) });
  return { vad, vadReason, ...engines };
}

/** The end-of-turn model for semantic_vad; optional: without it, pauses are judged by their words alone. */
async function openTurn(config: Config, log: Logger): Promise<TurnModel | null> {
  const { model, reason } = await openTurnModel(config.modelsDir);
  if (reason) log.info({ reason }, 'no turn model');
  return model;
}
