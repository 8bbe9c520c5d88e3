import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { CloudLlmEngine } from './cloud.ts';
import type { LlmEngine } from './llm.ts';
import { openLocalLlm } from './open-local.ts';
import { LlmRouter } from './router.ts';

export interface LlmProvider {
  router: LlmRouter;
  local: LlmEngine | null;
  /** Why there is no local engine, for the console and /system/models. */
  localReason: string | null;
  cloud: LlmEngine | null;
  close(): Promise<void>;
}

/**
 * The instance's LLM engines: the local model from MODELS_DIR (when installed) and the cloud
 * endpoint (when configured), behind the policy router. Which one an answer may use is each
 * organisation's policy; configuring a cloud endpoint sends nothing anywhere by itself.
 */
export async function openLlms(config: Config, clock: Clock, log: Logger, engines?: { local: LlmEngine | null }): Promise<LlmProvider> {
  const { engine: local, reason } = engines ? { engine: engines.local, reason: undefined } : await openLocalLlm({
    modelsDir: config.modelsDir,
    manifestPath: config.manifestPath,
    ...(config.LLM_MODEL ? { model: config.LLM_MODEL } : {}),
    ...(config.LLM_THREADS ? { threads: config.LLM_THREADS } : {}),
    ...(config.LLM_CONTEXT_SIZE ? { contextSize: config.LLM_CONTEXT_SIZE } : {}),
    queueLimit: config.LLM_QUEUE_LIMIT,
    log,
  });
  const cloud =
    config.CLOUD_LLM_URL && config.CLOUD_LLM_MODEL
      ? new CloudLlmEngine({
          name: `cloud:${config.CLOUD_LLM_NAME}`,
          baseUrl: config.CLOUD_LLM_URL,
          model: config.CLOUD_LLM_MODEL,
          ...(config.CLOUD_LLM_API_KEY ? { apiKey: config.CLOUD_LLM_API_KEY } : {}),
          flavour: config.CLOUD_LLM_FLAVOUR,
          ...(config.CLOUD_LLM_API_VERSION ? { apiVersion: config.CLOUD_LLM_API_VERSION } : {}),
          timeouts: { connectMs: config.CLOUD_LLM_CONNECT_TIMEOUT_MS, firstTokenMs: config.CLOUD_LLM_FIRST_TOKEN_TIMEOUT_MS, totalMs: config.CLOUD_LLM_TOTAL_TIMEOUT_MS },
          retries: { attempts: 3, baseDelayMs: 500, maxDelayMs: 8_000 },
          log: log.child({ engine: `cloud:${config.CLOUD_LLM_NAME}` }),
        })
      : null;
  const router = new LlmRouter({ local, cloud: cloud ? [cloud] : [], log, clock });
  return {
    router,
    local,
    localReason: local ? null : (reason ?? 'no local LLM installed'),
    cloud,
    close: async () => {
      await Promise.allSettled([local?.close(), cloud?.close()]);
    },
  };
}
