import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Store } from '../store/store.ts';
import { CachedEmbeddingEngine } from './cache.ts';
import type { EmbeddingEngine, EmbeddingsStatus } from './embeddings.ts';
import { openEmbeddingEngine } from './open.ts';

export interface EmbeddingsProvider {
  engine(): EmbeddingEngine | null;
  status(): EmbeddingsStatus;
  close(): Promise<void>;
}

/**
 * The instance's embedding engine (EMBEDDING_MODEL from MODELS_DIR) behind a content-hash cache,
 * or a clear reason why there is none. Without one, documents are indexed keyword-only and search
 * says so; nothing fails.
 */
export async function openEmbeddings(config: Config, store: Store, log: Logger): Promise<EmbeddingsProvider> {
  const { engine: raw, reason } = await openEmbeddingEngine({
    modelsDir: config.modelsDir,
    manifestPath: config.manifestPath,
    model: config.EMBEDDING_MODEL,
    log,
    ...(config.EMBEDDING_THREADS ? { threads: config.EMBEDDING_THREADS } : {}),
  });
  if (!raw) {
    // Every signed-in user sees this reason; the server's paths stay in the log.
    const shown = (reason ?? `embedding model ${config.EMBEDDING_MODEL} is not installed`).replaceAll(config.modelsDir, 'MODELS_DIR');
    const status: EmbeddingsStatus = { available: false, model: null, reason: shown };
    return { engine: () => null, status: () => status, close: async () => undefined };
  }
  const engine = new CachedEmbeddingEngine(raw, store, { keys: config.dataKeys });
  const status: EmbeddingsStatus = { available: true, model: raw.model.id, reason: null };
  return { engine: () => engine, status: () => status, close: () => engine.close() };
}
